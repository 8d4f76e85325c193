//! The JSON-lines format of `pacer serve`: reading input lines into engine inputs and writing
//! the engine's outputs as lines. `docs/gateway.md` is the reference for both directions.
//!
//! Every input line is one JSON object; which keys it holds says what it is (`kv`: a desktop
//! request, `tel`: telephony, `admin`: an operator command, `hello`: a connection's
//! introduction, only `t`: a clock line). Unknown keys are refused, so a misspelt key is an
//! error naming it rather than a silently ignored field.

use std::borrow::Cow;
use std::io::Write;

use compact_str::CompactString;
use pacer_engine::kv::KvList;
use pacer_engine::pacing::Goal;
use pacer_engine::protocol::{CallResult, DialMode};
use pacer_engine::server::{
    AdminCommand, CallId, DialCommand, Dn, StatusKind, StatusNotification, TelephonyEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A connection's role, as its hello line names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// May say anything and hears everything (standard input, or an open loopback
    /// connection that sent no hello).
    Any,
    /// The desktop of one DN: desktop requests for that DN only; hears that DN's events.
    Desktop(Dn),
    /// The dialer / switch: telephony lines only; hears dial, route and drop lines.
    Dialer,
    /// An operator: admin lines only; hears status lines.
    Admin,
}

/// A hello line's content.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The shared secret of `--token-file` (ignored when the gateway has none).
    #[serde(default)]
    pub token: Option<String>,
    /// `desktop`, `dialer` or `admin`.
    pub role: String,
    /// The desktop's DN (role `desktop` only).
    #[serde(default)]
    pub dn: Option<String>,
}

/// What an input line asks for.
#[derive(Debug)]
pub enum Command {
    /// Only a time: advance the virtual clock.
    Clock,
    /// A desktop request from `dn`.
    Desktop {
        /// The desktop.
        dn: Dn,
        /// The request.
        kv: KvList,
    },
    /// A telephony event.
    Telephony(TelephonyEvent),
    /// An operator command.
    Admin(AdminCommand),
    /// A connection introducing itself.
    Hello(Hello),
}

/// One parsed input line.
#[derive(Debug)]
pub struct InLine {
    /// The line's time, seconds (virtual clock); `None` when absent.
    pub t: Option<f64>,
    /// What it asks for.
    pub command: Command,
}

/// A call result given by name (`"Answer"`) or by code (`33`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ResultName<'a> {
    Code(i64),
    #[serde(borrow)]
    Name(Cow<'a, str>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(default)]
    t: Option<f64>,
    #[serde(default, borrow)]
    dn: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kv: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tel: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    agent: Option<Cow<'a, str>>,
    #[serde(default)]
    call: Option<u64>,
    #[serde(default, borrow)]
    result: Option<ResultName<'a>>,
    #[serde(default, borrow)]
    user_data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    admin: Option<Cow<'a, str>>,
    #[serde(default)]
    campaign_group: Option<String>,
    #[serde(default)]
    agent_group: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    goal: Option<Goal>,
    #[serde(default)]
    application_id: Option<i64>,
    #[serde(default)]
    hello: Option<Hello>,
}

/// The largest `t` accepted: about a century of seconds.
pub const MAX_T: f64 = 3.2e9;

/// Keys each kind of line may carry besides its own (anything else is refused).
fn refuse_extra(kind: &str, extras: &[(&str, bool)]) -> Result<(), String> {
    match extras.iter().find(|(_, present)| *present) {
        Some((key, _)) => Err(format!("a {kind} line has no `{key}` key")),
        None => Ok(()),
    }
}

/// Parses one input line. The error says what is wrong, without the line number (the caller
/// adds it).
pub fn parse(text: &str) -> Result<InLine, String> {
    let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() { format!("not a JSON object: {e}") } else { e.to_string() }
    })?;
    if let Some(t) = raw.t
        && !(t.is_finite() && (0.0..=MAX_T).contains(&t))
    {
        return Err(format!("`t` must be a number of seconds from 0 to {MAX_T:e}, got {t}"));
    }
    let kinds = [raw.kv.is_some(), raw.tel.is_some(), raw.admin.is_some(), raw.hello.is_some()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err("a line holds at most one of `kv`, `tel`, `admin`, `hello`".into());
    }
    // The keys only a telephony line and only an admin line may hold; a desktop line holds
    // neither set.
    let telephony_keys = [
        ("agent", raw.agent.is_some()),
        ("call", raw.call.is_some()),
        ("result", raw.result.is_some()),
        ("user_data", raw.user_data.is_some()),
    ];
    let admin_keys = [
        ("campaign_group", raw.campaign_group.is_some()),
        ("agent_group", raw.agent_group.is_some()),
        ("mode", raw.mode.is_some()),
        ("goal", raw.goal.is_some()),
        ("application_id", raw.application_id.is_some()),
    ];
    let command = if let Some(kv) = raw.kv {
        refuse_extra("desktop", &telephony_keys)?;
        refuse_extra("desktop", &admin_keys)?;
        let dn = raw.dn.ok_or("a desktop line needs `dn`")?;
        if dn.is_empty() {
            return Err("`dn` is empty".into());
        }
        let kv = KvList::from_json_str(kv.get()).map_err(|e| format!("`kv`: {e}"))?;
        Command::Desktop { dn: Dn(CompactString::from(dn.as_ref())), kv }
    } else if let Some(tel) = raw.tel {
        refuse_extra("telephony", &admin_keys)?;
        Command::Telephony(telephony(&tel, raw.dn, raw.agent, raw.call, raw.result, raw.user_data)?)
    } else if let Some(admin) = raw.admin {
        refuse_extra("admin", &telephony_keys)?;
        Command::Admin(admin_command(
            &admin,
            raw.campaign_group,
            raw.agent_group,
            raw.dn,
            raw.mode,
            raw.goal,
            raw.application_id,
        )?)
    } else if let Some(hello) = raw.hello {
        let any_other = raw.t.is_some()
            || raw.dn.is_some()
            || raw.agent.is_some()
            || raw.call.is_some()
            || raw.result.is_some()
            || raw.campaign_group.is_some()
            || raw.mode.is_some()
            || raw.goal.is_some();
        if any_other {
            return Err("a hello line holds only `hello`".into());
        }
        Command::Hello(hello)
    } else {
        let any_other = raw.dn.is_some()
            || raw.agent.is_some()
            || raw.call.is_some()
            || raw.result.is_some()
            || raw.user_data.is_some()
            || raw.campaign_group.is_some()
            || raw.agent_group.is_some()
            || raw.mode.is_some()
            || raw.goal.is_some()
            || raw.application_id.is_some();
        if any_other {
            return Err("a line needs one of `kv`, `tel`, `admin`, `hello` (or only `t`)".into());
        }
        if raw.t.is_none() {
            return Err("an empty object: a line needs `t`, `kv`, `tel`, `admin` or `hello`".into());
        }
        Command::Clock
    };
    Ok(InLine { t: raw.t, command })
}

fn need_dn(kind: &str, dn: Option<Cow<'_, str>>) -> Result<Dn, String> {
    match dn {
        Some(dn) if !dn.is_empty() => Ok(Dn(CompactString::from(dn.as_ref()))),
        Some(_) => Err("`dn` is empty".into()),
        None => Err(format!("{kind} needs `dn`")),
    }
}

fn need_call(kind: &str, call: Option<u64>) -> Result<CallId, String> {
    call.map(CallId).ok_or_else(|| format!("{kind} needs `call`"))
}

fn telephony(
    tel: &str,
    dn: Option<Cow<'_, str>>,
    agent: Option<Cow<'_, str>>,
    call: Option<u64>,
    result: Option<ResultName<'_>>,
    user_data: Option<&RawValue>,
) -> Result<TelephonyEvent, String> {
    const EVENTS: [&str; 8] = [
        "AgentLogin",
        "AgentLogout",
        "AgentReady",
        "AgentNotReady",
        "CallResult",
        "CallConnected",
        "CallReleased",
        "CallAbandoned",
    ];
    if !EVENTS.contains(&tel) {
        return Err(format!("`tel`: unknown event {tel:?} ({})", EVENTS.join(", ")));
    }
    let unexpected = |key: &str| format!("{tel} has no `{key}` key");
    let is_agent_event = matches!(tel, "AgentLogin" | "AgentLogout" | "AgentReady" | "AgentNotReady");
    if is_agent_event {
        if call.is_some() {
            return Err(unexpected("call"));
        }
        if result.is_some() {
            return Err(unexpected("result"));
        }
        if user_data.is_some() {
            return Err(unexpected("user_data"));
        }
        if tel != "AgentLogin" && agent.is_some() {
            return Err(unexpected("agent"));
        }
    } else {
        if agent.is_some() {
            return Err(unexpected("agent"));
        }
        if tel != "CallConnected" && dn.is_some() {
            return Err(unexpected("dn"));
        }
        if tel != "CallResult" && result.is_some() {
            return Err(unexpected("result"));
        }
        if tel != "CallReleased" && user_data.is_some() {
            return Err(unexpected("user_data"));
        }
    }
    Ok(match tel {
        "AgentLogin" => {
            let dn = need_dn(tel, dn)?;
            let agent = agent.ok_or("AgentLogin needs `agent`")?;
            if agent.is_empty() {
                return Err("`agent` is empty".into());
            }
            TelephonyEvent::AgentLogin { dn, agent_id: CompactString::from(agent.as_ref()) }
        }
        "AgentLogout" => TelephonyEvent::AgentLogout { dn: need_dn(tel, dn)? },
        "AgentReady" => TelephonyEvent::AgentReady { dn: need_dn(tel, dn)? },
        "AgentNotReady" => TelephonyEvent::AgentNotReady { dn: need_dn(tel, dn)? },
        "CallResult" => {
            let call = need_call(tel, call)?;
            let result = match result.ok_or("CallResult needs `result`")? {
                ResultName::Code(code) => CallResult::from_code(code)
                    .ok_or_else(|| format!("`result`: {code} is not a call result code"))?,
                ResultName::Name(name) => CallResult::from_label(&name).ok_or_else(|| {
                    format!(
                        "`result`: {name:?} is not a call result (e.g. \"Answer\", \"Busy\", \"No Answer\")"
                    )
                })?,
            };
            TelephonyEvent::CallResult { call, result }
        }
        "CallConnected" => {
            TelephonyEvent::CallConnected { call: need_call(tel, call)?, dn: need_dn(tel, dn)? }
        }
        "CallReleased" => {
            let call = need_call(tel, call)?;
            match user_data {
                None => TelephonyEvent::CallReleased { call },
                Some(data) => {
                    let user_data =
                        KvList::from_json_str(data.get()).map_err(|e| format!("`user_data`: {e}"))?;
                    TelephonyEvent::CallReleasedWithData { call, user_data }
                }
            }
        }
        "CallAbandoned" => TelephonyEvent::CallAbandoned { call: need_call(tel, call)? },
        other => return Err(format!("`tel`: unknown event {other:?}")),
    })
}

fn admin_command(
    admin: &str,
    group: Option<String>,
    agent_group: Option<String>,
    dn: Option<Cow<'_, str>>,
    mode: Option<String>,
    goal: Option<Goal>,
    application_id: Option<i64>,
) -> Result<AdminCommand, String> {
    const COMMANDS: [&str; 9] =
        ["load", "start", "stop", "unload", "mode", "goal", "takeover", "join", "leave"];
    if !COMMANDS.contains(&admin) {
        return Err(format!("`admin`: unknown command {admin:?} ({})", COMMANDS.join(", ")));
    }
    let unexpected = |key: &str| Err(format!("admin {admin} has no `{key}` key"));
    let takes_group = matches!(admin, "load" | "start" | "stop" | "unload" | "mode" | "goal");
    if !takes_group && group.is_some() {
        return unexpected("campaign_group");
    }
    if admin != "mode" && mode.is_some() {
        return unexpected("mode");
    }
    if admin != "goal" && goal.is_some() {
        return unexpected("goal");
    }
    if admin != "takeover" && application_id.is_some() {
        return unexpected("application_id");
    }
    let joins = matches!(admin, "join" | "leave");
    if !joins && agent_group.is_some() {
        return unexpected("agent_group");
    }
    if !joins && dn.is_some() {
        return unexpected("dn");
    }
    let group =
        || group.clone().filter(|g| !g.is_empty()).ok_or(format!("admin {admin} needs `campaign_group`"));
    Ok(match admin {
        "load" => AdminCommand::Load { group: group()? },
        "start" => AdminCommand::Start { group: group()? },
        "stop" => AdminCommand::Stop { group: group()? },
        "unload" => AdminCommand::Unload { group: group()? },
        "mode" => {
            let name = mode.clone().ok_or("admin mode needs `mode`")?;
            let mode = DialMode::from_wire(&name)
                .ok_or_else(|| format!("`mode`: {name:?} is not a dialing mode (e.g. \"Predictive\")"))?;
            AdminCommand::SetMode { group: group()?, mode }
        }
        "goal" => AdminCommand::SetGoal { group: group()?, goal: goal.ok_or("admin goal needs `goal`")? },
        "takeover" => AdminCommand::TakeOver {
            application_id: application_id.ok_or("admin takeover needs `application_id`")?,
        },
        "join" | "leave" => {
            let agent_group =
                agent_group.filter(|g| !g.is_empty()).ok_or(format!("admin {admin} needs `agent_group`"))?;
            let dn = need_dn(&format!("admin {admin}"), dn)?;
            if admin == "join" {
                AdminCommand::JoinAgentGroup { agent_group, dn }
            } else {
                AdminCommand::LeaveAgentGroup { agent_group, dn }
            }
        }
        other => return Err(format!("`admin`: unknown command {other:?}")),
    })
}

// ----- output -----

/// Appends `"t":T,` for a time in seconds, rounded to the microsecond.
fn write_t(out: &mut Vec<u8>, t: f64) {
    out.extend_from_slice(b"{\"t\":");
    let rounded = (t * 1e6).round() / 1e6;
    let mut buf = ryu_like(rounded);
    out.append(&mut buf);
    out.push(b',');
}

/// Formats a float as JSON does (through serde_json, so `30.0` and `12.5`).
fn ryu_like(v: f64) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap_or_else(|_| b"0".to_vec())
}

/// Writes a desktop event line: `{"t":…,"dn":"…","kv":{…}}` and a newline.
pub fn write_desktop(out: &mut Vec<u8>, t: f64, dn: &Dn, kv: &KvList) {
    write_t(out, t);
    out.extend_from_slice(b"\"dn\":");
    write_str(out, &dn.0);
    out.extend_from_slice(b",\"kv\":");
    kv.write_json(out);
    out.extend_from_slice(b"}\n");
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[derive(Serialize)]
struct DialBody<'a> {
    call: u64,
    phone: &'a str,
    record_handle: i64,
    campaign_group: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpn_digits: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpn_presentation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dn: Option<&'a str>,
    kv: &'a KvList,
}

/// Writes a dial line.
pub fn write_dial(out: &mut Vec<u8>, t: f64, dial: &DialCommand) {
    write_t(out, t);
    out.extend_from_slice(b"\"dial\":");
    let body = DialBody {
        call: dial.call.0,
        phone: &dial.phone,
        record_handle: dial.record_handle,
        campaign_group: &dial.group,
        cpn_digits: dial.cpn_digits.as_deref(),
        cpn_presentation: dial.cpn_presentation.as_deref(),
        dn: dial.engaged_dn.as_ref().map(|d| d.0.as_str()),
        kv: &dial.kv,
    };
    let _ = serde_json::to_writer(&mut *out, &body);
    out.extend_from_slice(b"}\n");
}

/// Writes a route line.
pub fn write_route(out: &mut Vec<u8>, t: f64, call: CallId, dn: &Dn, kv: &KvList) {
    write_t(out, t);
    out.extend_from_slice(b"\"route\":{\"call\":");
    let _ = write!(out, "{}", call.0);
    out.extend_from_slice(b",\"dn\":");
    write_str(out, &dn.0);
    out.extend_from_slice(b",\"kv\":");
    kv.write_json(out);
    out.extend_from_slice(b"}}\n");
}

/// Writes a drop line.
pub fn write_drop(out: &mut Vec<u8>, t: f64, call: CallId) {
    write_t(out, t);
    let _ = writeln!(out, "\"drop\":{{\"call\":{}}}}}", call.0);
}

/// The JSON body of a status notification (the `status` line's object and the body POSTed
/// to `--notify-url`).
#[derive(Serialize)]
pub struct StatusBody<'a> {
    /// `loaded`, `started`, `stopped`, `unloaded`, `mode_changed` or `summary`.
    pub kind: &'static str,
    /// When, Unix seconds.
    pub at: f64,
    /// Campaign group name.
    pub campaign_group: &'a str,
    /// Campaign name.
    pub campaign: &'a str,
    /// The group's state: `unloaded`, `loaded`, `running`, `stopped`.
    pub state: &'static str,
    /// Dialing mode, as the protocol names it.
    pub mode: &'static str,
    /// Members logged in.
    pub agents_logged_in: u32,
    /// Members ready.
    pub agents_ready: u32,
    /// Dials in flight.
    pub dials_in_flight: u32,
    /// Records out of their lists.
    pub records_held: u32,
    /// Dials since load.
    pub dials_total: u64,
    /// Live answers since load.
    pub answered_total: u64,
    /// Answered calls that reached no agent, since load.
    pub overdials_total: u64,
}

/// The name of a status kind in status bodies.
pub fn status_kind_name(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Loaded => "loaded",
        StatusKind::Started => "started",
        StatusKind::Stopped => "stopped",
        StatusKind::Unloaded => "unloaded",
        StatusKind::ModeChanged => "mode_changed",
        StatusKind::Summary => "summary",
    }
}

/// A status notification's JSON body.
pub fn status_body(status: &StatusNotification) -> StatusBody<'_> {
    StatusBody {
        kind: status_kind_name(status.kind),
        at: status.at.as_secs_f64(),
        campaign_group: &status.group,
        campaign: &status.campaign,
        state: status.state.name(),
        mode: status.mode.as_str(),
        agents_logged_in: status.agents_logged_in,
        agents_ready: status.agents_ready,
        dials_in_flight: status.dials_in_flight,
        records_held: status.records_held,
        dials_total: status.dials_total,
        answered_total: status.answered_total,
        overdials_total: status.overdials_total,
    }
}

/// Writes a status line: `{"t":…,"status":{…}}`.
pub fn write_status(out: &mut Vec<u8>, t: f64, status: &StatusNotification) {
    write_t(out, t);
    out.extend_from_slice(b"\"status\":");
    let _ = serde_json::to_writer(&mut *out, &status_body(status));
    out.extend_from_slice(b"}\n");
}

/// Writes an error line: `{"error":"line N: …"}`.
pub fn write_error(out: &mut Vec<u8>, line: u64, message: &str) {
    out.extend_from_slice(b"{\"error\":");
    write_str(out, &format!("line {line}: {message}"));
    out.extend_from_slice(b"}\n");
}

/// Writes a hello acknowledgement: `{"hello":{"role":…}}`.
pub fn write_welcome(out: &mut Vec<u8>, role: &Role) {
    let text = match role {
        Role::Any => "{\"hello\":{\"role\":\"any\"}}\n".to_string(),
        Role::Desktop(dn) => {
            let mut s = String::from("{\"hello\":{\"role\":\"desktop\",\"dn\":");
            s.push_str(&serde_json::to_string(dn.0.as_str()).unwrap_or_default());
            s.push_str("}}\n");
            s
        }
        Role::Dialer => "{\"hello\":{\"role\":\"dialer\"}}\n".to_string(),
        Role::Admin => "{\"hello\":{\"role\":\"admin\"}}\n".to_string(),
    };
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn reads_each_kind_of_line() {
        let l = parse(
            r#"{"t": 12.5, "dn": "7001", "kv": {"GSW_AGENT_REQ_TYPE": "ReadyTime", "GSW_READY_TIME": 5}}"#,
        )
        .unwrap();
        assert_eq!(l.t, Some(12.5));
        assert!(matches!(l.command, Command::Desktop { ref dn, ref kv } if dn.0 == "7001" && kv.len() == 2));
        let l = parse(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#).unwrap();
        assert!(matches!(l.command, Command::Telephony(TelephonyEvent::AgentLogin { .. })));
        let l = parse(r#"{"tel": "CallResult", "call": 17, "result": "Answer"}"#).unwrap();
        assert!(matches!(
            l.command,
            Command::Telephony(TelephonyEvent::CallResult { call: CallId(17), result: CallResult::Answer })
        ));
        let l = parse(r#"{"tel": "CallResult", "call": 17, "result": 6}"#).unwrap();
        assert!(matches!(
            l.command,
            Command::Telephony(TelephonyEvent::CallResult { result: CallResult::Busy, .. })
        ));
        let l =
            parse(r#"{"t": 0, "admin": "mode", "campaign_group": "Sales@Team A", "mode": "Progressive"}"#)
                .unwrap();
        assert!(matches!(
            l.command,
            Command::Admin(AdminCommand::SetMode { mode: DialMode::Progressive, .. })
        ));
        let l =
            parse(r#"{"admin": "goal", "campaign_group": "G", "goal": {"overdial_rate": 0.02}}"#).unwrap();
        assert!(matches!(
            l.command,
            Command::Admin(AdminCommand::SetGoal { goal: Goal::OverdialRate(_), .. })
        ));
        assert!(matches!(parse(r#"{"t": 30}"#).unwrap().command, Command::Clock));
        let l = parse(r#"{"hello": {"token": "s", "role": "desktop", "dn": "7001"}}"#).unwrap();
        assert!(matches!(l.command, Command::Hello(ref h) if h.role == "desktop"));
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(err("not json").starts_with("not a JSON object"), "{}", err("not json"));
        assert!(err(r#"{"t": "soon"}"#).contains("invalid type"), "{}", err(r#"{"t": "soon"}"#));
        assert!(err(r#"{"t": 1, "colour": "red"}"#).contains("unknown field `colour`"));
        assert!(err(r#"{"t": -1}"#).contains("from 0 to"));
        assert!(err(r#"{"t": 1e300}"#).contains("from 0 to"));
        assert!(err(r#"{"tel": "AgentLogin", "dn": "7001"}"#).contains("needs `agent`"));
        assert!(err(r#"{"tel": "Dance", "dn": "7001"}"#).contains("unknown event \"Dance\""));
        assert!(err(r#"{"tel": "CallResult", "call": 1, "result": "Maybe"}"#).contains("not a call result"));
        assert!(err(r#"{"dn": "7001", "kv": {"GSW_RECORD_HANDLE": 1.5}}"#).contains("GSW_RECORD_HANDLE"));
        assert!(err(r#"{"dn": "7001", "kv": {}, "tel": "AgentReady"}"#).contains("at most one"));
        assert!(err(r#"{"admin": "start"}"#).contains("needs `campaign_group`"));
        assert!(err(r#"{"admin": "fly", "campaign_group": "G"}"#).contains("unknown command"));
        assert!(
            err(r#"{"admin": "mode", "campaign_group": "G", "mode": "Warp"}"#).contains("not a dialing mode")
        );
        assert!(err("{}").contains("empty object"));
        assert!(err(r#"{"tel": "AgentReady", "dn": "7001", "call": 3}"#).contains("no `call`"));
        assert!(err("[1, 2]").contains("invalid type"), "{}", err("[1, 2]"));
    }

    #[test]
    fn writes_lines() {
        let mut out = Vec::new();
        write_drop(&mut out, 3.25, CallId(17));
        write_error(&mut out, 5, "bad");
        let mut kv = KvList::new();
        kv.set("GSW_RECORD_HANDLE", 3i64);
        write_route(&mut out, 4.0, CallId(2), &Dn::new("7001"), &kv);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"t\":3.25,\"drop\":{\"call\":17}}\n{\"error\":\"line 5: bad\"}\n\
             {\"t\":4.0,\"route\":{\"call\":2,\"dn\":\"7001\",\"kv\":{\"GSW_RECORD_HANDLE\":3}}}\n"
        );
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
