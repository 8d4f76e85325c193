//! Transcript tests of the outbound server: desktop lines and telephony events in, expected
//! events out, through one `check` helper. The transcripts live in `tests/data/server/*.txt`.
//!
//! A transcript is a TOML header (the server configuration under `[config]` and the calling
//! lists as CSV under `[[lists]]`), a line `---`, then one step per line:
//!
//! - `@ 1800000000` sets the time (Unix seconds); `+ 2.5` moves it on;
//! - `> DN {json}` a desktop request from DN;
//! - `tel login DN AGENT`, `tel logout DN`, `tel ready DN`, `tel notready DN`,
//!   `tel result CALL CODE`, `tel connected CALL DN`, `tel released CALL`,
//!   `tel abandoned CALL`: telephony events;
//! - `admin load|start|stop|unload GROUP`, `admin mode GROUP MODE NAME`,
//!   `admin takeover ID`, `admin join AGENT_GROUP DN`, `admin leave AGENT_GROUP DN`;
//! - `timer`;
//! - `< DN {json}` an event expected for DN; `< dial {json}`, `< route {json}`,
//!   `< drop {json}`, `< rejected`: other outputs. Expected keys must be present with equal
//!   values (other keys may be there too); outputs must come in the order listed and every
//!   output of a step must be expected (record updates and status notifications aside);
//! - `<! DN {json}` like `<`, but the event must carry exactly these keys, no others;
//! - `= desktop DN H...` the records on a desktop; `= record H field=value...` a record in
//!   the store (`status`, `type`, `result`, `attempts`, `phone`, `sched`, `agent`);
//!   `= dnc PHONE` the phone is do-not-call.
//!
//! After every step the server's invariants are checked, every event to a desktop must decode
//! against its table (mandatory keys present, every key of the right type), and every reply to
//! a request that carried `GSW_REFERENCE_ID` must carry it too.

use std::time::Duration;

use pacer_engine::kv::{KvList, Value};
use pacer_engine::protocol::{CallResult, DialMode, Event};
use pacer_engine::records::{CallingList, RecordHandle, RecordStore};
use pacer_engine::server::{AdminCommand, CallId, Dn, Input, Output, Server, ServerConfig, TelephonyEvent};
use pacer_engine::time::Time;
use serde::Deserialize;

#[derive(Deserialize)]
struct Header {
    config: ServerConfig,
    #[serde(default)]
    lists: Vec<ListSetup>,
}

#[derive(Deserialize)]
struct ListSetup {
    name: String,
    csv: String,
}

/// An output as the transcript shows it: a tag (the DN for desktop events) and its keys.
fn render(output: &Output) -> Option<(String, KvList)> {
    let mut kv = KvList::new();
    let mut set = |k: &str, v: Value| {
        kv.set(k, v);
    };
    match output {
        Output::ToDesktop { dn, event } => Some((dn.0.to_string(), event.encode())),
        Output::Dial(dial) => {
            set("call", Value::Int(dial.call.0 as i64));
            set("phone", Value::Str(dial.phone.clone()));
            set("record", Value::Int(dial.record_handle));
            set("group", Value::Str(dial.group.clone()));
            if let Some(cpn) = &dial.cpn_digits {
                set("CPNDigits", Value::Str(cpn.clone()));
            }
            if let Some(p) = &dial.cpn_presentation {
                set("CPNPresentation", Value::Str(p.clone()));
            }
            if let Some(dn) = &dial.engaged_dn {
                set("engaged", Value::Str(dn.0.clone()));
            }
            for (key, value) in &dial.kv {
                set(key.as_str(), value.clone());
            }
            Some(("dial".into(), kv))
        }
        Output::Route { call, dn, kv: data } => {
            set("call", Value::Int(call.0 as i64));
            set("dn", Value::Str(dn.0.clone()));
            for (key, value) in data {
                set(key.as_str(), value.clone());
            }
            Some(("route".into(), kv))
        }
        Output::Drop { call } => {
            set("call", Value::Int(call.0 as i64));
            Some(("drop".into(), kv))
        }
        Output::AdminRejected(rejected) => {
            set("reason", Value::from(rejected.reason.as_str()));
            Some(("rejected".into(), kv))
        }
        Output::RecordUpdate { .. } | Output::Status(_) => None,
    }
}

fn subset(expected: &KvList, actual: &KvList) -> bool {
    expected.iter().all(|(k, v)| actual.get_by_name(k.as_str()) == Some(v))
}

fn call_id(text: &str, at: &str) -> CallId {
    CallId(text.parse().unwrap_or_else(|_| panic!("{at}: bad call id {text:?}")))
}

/// Runs the transcript `name` (a file under `tests/data/server/`).
fn check(name: &str) {
    let path = format!("{}/tests/data/server/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (header, body) = text.split_once("\n---\n").unwrap_or_else(|| panic!("{path}: no `---` line"));
    let header_line_count = header.lines().count() + 2;
    let header: Header = toml::from_str(header).unwrap_or_else(|e| panic!("{path}: header: {e}"));
    let mut store = RecordStore::new();
    for list in &header.lists {
        let list = CallingList::read_csv(list.csv.trim_start().as_bytes(), &list.name, &list.name, None)
            .unwrap_or_else(|e| panic!("{path}: list: {e}"));
        store.add_list(list).unwrap();
    }
    let mut server = Server::new(header.config, store).unwrap_or_else(|e| panic!("{path}: config: {e}"));
    let mut now = Time::from_unix_s(1_800_000_000);
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let at = format!("{path}:{}", header_line_count + i);
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        let mut reference = None;
        let input = match verb {
            "@" => {
                now = Time::from_secs_f64(rest.trim().parse().unwrap_or_else(|_| panic!("{at}: bad time")));
                None
            }
            "+" => {
                now +=
                    Duration::from_secs_f64(rest.trim().parse().unwrap_or_else(|_| panic!("{at}: bad span")));
                None
            }
            ">" => {
                let (dn, json) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}: `> DN {{json}}`"));
                let kv = KvList::from_json_str(json).unwrap_or_else(|e| panic!("{at}: {e}"));
                reference = kv.get_by_name("GSW_REFERENCE_ID").cloned().map(|r| (Dn::new(dn), r));
                Some(Input::Desktop { dn: Dn::new(dn), kv })
            }
            "tel" => {
                let event = match words.as_slice() {
                    ["login", dn, agent] => {
                        TelephonyEvent::AgentLogin { dn: Dn::new(dn), agent_id: (*agent).into() }
                    }
                    ["logout", dn] => TelephonyEvent::AgentLogout { dn: Dn::new(dn) },
                    ["ready", dn] => TelephonyEvent::AgentReady { dn: Dn::new(dn) },
                    ["notready", dn] => TelephonyEvent::AgentNotReady { dn: Dn::new(dn) },
                    ["result", call, code] => TelephonyEvent::CallResult {
                        call: call_id(call, &at),
                        result: CallResult::from_code(code.parse().unwrap()).unwrap(),
                    },
                    ["connected", call, dn] => {
                        TelephonyEvent::CallConnected { call: call_id(call, &at), dn: Dn::new(dn) }
                    }
                    ["released", call] => TelephonyEvent::CallReleased { call: call_id(call, &at) },
                    ["abandoned", call] => TelephonyEvent::CallAbandoned { call: call_id(call, &at) },
                    _ => panic!("{at}: unknown telephony step"),
                };
                Some(Input::Telephony(event))
            }
            "admin" => {
                let command = match words.as_slice() {
                    ["load", g] => AdminCommand::Load { group: g.to_string() },
                    ["start", g] => AdminCommand::Start { group: g.to_string() },
                    ["stop", g] => AdminCommand::Stop { group: g.to_string() },
                    ["unload", g] => AdminCommand::Unload { group: g.to_string() },
                    ["mode", g, mode @ ..] => AdminCommand::SetMode {
                        group: g.to_string(),
                        mode: DialMode::from_wire(&mode.join(" ")).unwrap_or_else(|| panic!("{at}: mode")),
                    },
                    ["takeover", id] => AdminCommand::TakeOver { application_id: id.parse().unwrap() },
                    ["join", ag, dn] => {
                        AdminCommand::JoinAgentGroup { agent_group: ag.to_string(), dn: Dn::new(dn) }
                    }
                    ["leave", ag, dn] => {
                        AdminCommand::LeaveAgentGroup { agent_group: ag.to_string(), dn: Dn::new(dn) }
                    }
                    _ => panic!("{at}: unknown admin step"),
                };
                Some(Input::Admin(command))
            }
            "timer" => Some(Input::Timer),
            "=" => {
                match words.as_slice() {
                    ["desktop", dn, handles @ ..] => {
                        let expected: Vec<i64> = handles.iter().map(|h| h.parse().unwrap()).collect();
                        assert_eq!(
                            server.records_on_desktop(&Dn::new(dn)),
                            expected,
                            "{at}: records on {dn}"
                        );
                    }
                    ["record", h, fields @ ..] => {
                        let record = server.store().get(RecordHandle(h.parse().unwrap())).expect("record");
                        for field in fields {
                            let (k, v) = field.split_once('=').unwrap();
                            let actual = match k {
                                "status" => record.record_status.code().to_string(),
                                "type" => record.record_type.code().to_string(),
                                "result" => record.call_result.code().to_string(),
                                "attempts" => record.attempts.to_string(),
                                "phone" => record.phone.to_string(),
                                "sched" => record.dial_sched_time.map_or("none".into(), |t| t.to_string()),
                                "agent" => record.agent_id.as_deref().unwrap_or("none").to_string(),
                                "from" => record.daily_from_s.to_string(),
                                _ => panic!("{at}: unknown record field {k}"),
                            };
                            assert_eq!(actual, *v, "{at}: record {h} field {k}");
                        }
                    }
                    ["dnc", phone] => {
                        assert!(server.dnc().is_blocked(phone, None, now), "{at}: {phone} not blocked")
                    }
                    _ => panic!("{at}: unknown assertion"),
                }
                None
            }
            "<" => panic!("{at}: expected output with no step before it"),
            _ => panic!("{at}: unknown step {verb:?}"),
        };
        let Some(input) = input else { continue };
        let mut out = Vec::new();
        server.handle(now, input, &mut out);
        let actual: Vec<(String, KvList)> = out.iter().filter_map(render).collect();
        for output in &out {
            if let Output::ToDesktop { event, .. } = output {
                let kv = event.encode();
                Event::decode(&kv).unwrap_or_else(|e| panic!("{at}: {kv} breaks its table: {e}"));
            }
        }
        let mut expected = Vec::new();
        while i < lines.len() && lines[i].trim_start().starts_with('<') {
            let line = &lines[i].trim_start()[1..];
            let (exact, line) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line.trim()),
            };
            let (tag, json) = line.split_once(' ').unwrap_or((line, "{}"));
            let kv = KvList::from_json_str(json)
                .unwrap_or_else(|e| panic!("{path}:{}: {e}", header_line_count + i));
            expected.push((header_line_count + i, tag.to_string(), kv, exact));
            i += 1;
        }
        let shown = || actual.iter().map(|(t, kv)| format!("  {t} {kv}")).collect::<Vec<_>>().join("\n");
        assert_eq!(
            actual.len(),
            expected.len(),
            "{at}: {} outputs, expected {}:\n{}",
            actual.len(),
            expected.len(),
            shown()
        );
        for ((line, tag, kv, exact), (actual_tag, actual_kv)) in expected.iter().zip(&actual) {
            assert!(
                tag == actual_tag && subset(kv, actual_kv) && (!exact || kv.len() == actual_kv.len()),
                "{path}:{line}: expected {tag} {kv}\nactual outputs:\n{}",
                shown()
            );
        }
        if let Some((dn, reference)) = reference {
            for (tag, kv) in &actual {
                if *tag == dn.0 && kv.get_by_name("GSW_USER_EVENT").is_some_and(|e| !is_unsolicited(e)) {
                    assert_eq!(
                        kv.get_by_name("GSW_REFERENCE_ID"),
                        Some(&reference),
                        "{at}: reply without the reference id"
                    );
                }
            }
        }
        server.check_invariants().unwrap_or_else(|e| panic!("{at}: {e}"));
        let lists: Vec<_> = server.store().list_ids().collect();
        server.check_none_lost(&lists).unwrap_or_else(|e| panic!("{at}: {e}"));
    }
}

/// Events a desktop may receive in the same step without being a reply.
fn is_unsolicited(event: &Value) -> bool {
    matches!(event.as_str(), Some("RecordCancel" | "ScheduledCall" | "CampaignGroupAssigned"))
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
    };
}

transcripts!(
    campaign_status,
    preview,
    errors,
    records,
    cancel_dnc,
    reschedule,
    add_record,
    predictive,
    logout,
    push_preview,
    backup,
    chains,
    conformance,
    malformed
);
