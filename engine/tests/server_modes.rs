//! Dialing modes end to end (predictive, seizing, GVP, IVR groups), status notifications and
//! the clock rule, driven through `Server::handle` with a small simulated world.

use std::time::Duration;

use pacer_engine::campaign::CampaignGroupConfig;
use pacer_engine::protocol::{CallResult, DialMode, EventBody, RecordStatus};
use pacer_engine::records::{CallingList, ListFormat, Record, RecordHandle, RecordStore};
use pacer_engine::server::{
    AdminCommand, AgentGroupConfig, CallId, DialCommand, Dn, Input, Output, Server, ServerConfig, StatusKind,
    TelephonyEvent,
};
use pacer_engine::time::Time;

const T0: i64 = 1_800_000_000;

fn store(n: i64) -> RecordStore {
    let mut list = CallingList::new("Leads", ListFormat::default());
    for i in 1..=n {
        let mut record = Record::new(i, &format!("555{i:06}"), "UTC");
        record.daily_from_s = 0;
        record.daily_till_s = 86_400;
        list.push(record).unwrap();
    }
    let mut store = RecordStore::new();
    store.add_list(list).unwrap();
    store
}

fn group(mode: DialMode) -> CampaignGroupConfig {
    let mut group = CampaignGroupConfig::new("G@A", "G", "A", &["Leads"], mode);
    group.cpn_digits = Some("8005550100".into());
    group
}

fn start(config: ServerConfig, n_records: i64) -> (Server, Vec<Output>) {
    let mut server = Server::new(config, store(n_records)).unwrap();
    let mut out = Vec::new();
    let now = Time::from_unix_s(T0);
    server.handle(now, Input::Admin(AdminCommand::Load { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Start { group: "G@A".into() }), &mut out);
    (server, out)
}

fn tel(server: &mut Server, now: Time, event: TelephonyEvent) -> Vec<Output> {
    let mut out = Vec::new();
    server.handle(now, Input::Telephony(event), &mut out);
    server.check_invariants().unwrap();
    out
}

fn dials(out: &[Output]) -> Vec<DialCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Dial(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn record_updates(out: &[Output]) -> Vec<Record> {
    out.iter()
        .filter_map(|o| match o {
            Output::RecordUpdate { record, .. } => Some(record.clone()),
            _ => None,
        })
        .collect()
}

/// A store holding one callback of `kind`, due a minute before `T0`, for `agent` if given.
fn callback_store(kind: pacer_engine::protocol::RecordType, agent: Option<&str>) -> RecordStore {
    let mut list = CallingList::new("Leads", ListFormat::default());
    let mut record = Record::new(1, "5550001", "UTC");
    record.daily_from_s = 0;
    record.daily_till_s = 86_400;
    record.record_type = kind;
    record.agent_id = agent.map(Into::into);
    record.dial_sched_time = Some(T0 - 60);
    list.push(record).unwrap();
    let mut store = RecordStore::new();
    store.add_list(list).unwrap();
    store
}

/// Loads and starts group `G@A`; returns the outputs.
fn load_and_start(server: &mut Server, now: Time) -> Vec<Output> {
    let mut out = Vec::new();
    for command in [AdminCommand::Load { group: "G@A".into() }, AdminCommand::Start { group: "G@A".into() }] {
        server.handle(now, Input::Admin(command), &mut out);
    }
    out
}

fn routes(out: &[Output]) -> Vec<(CallId, Dn)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Route { call, dn, .. } => Some((*call, dn.clone())),
            _ => None,
        })
        .collect()
}

fn login_ready(server: &mut Server, now: Time, n: usize) -> Vec<Output> {
    let mut out = Vec::new();
    for a in 0..n {
        let dn = Dn::new(&format!("{}", 1000 + a));
        out.extend(tel(
            server,
            now,
            TelephonyEvent::AgentLogin { dn: dn.clone(), agent_id: format!("a{a}").into() },
        ));
        out.extend(tel(server, now, TelephonyEvent::AgentReady { dn }));
    }
    out
}

#[test]
fn time_going_backwards_is_clamped_and_counted() {
    // (Push Preview: a group that ticks. A Preview group wakes only for its callbacks.)
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::PushPreview)]), 3);
    login_ready(&mut server, Time::from_unix_s(T0), 1);
    let later = Time::from_unix_s(T0 + 100);
    let mut out = Vec::new();
    server.handle(later, Input::Timer, &mut out);
    assert_eq!(server.clock_regressions(), 0);
    // An earlier time is clamped to the latest seen: a record given out "before" it is not
    // stale any sooner, and the count says it happened.
    server.handle(Time::from_unix_s(T0 + 50), Input::Timer, &mut out);
    assert_eq!(server.clock_regressions(), 1);
    let next = server.next_wakeup().expect("a running group wants ticks");
    assert!(next >= later, "wake-ups are never before the latest time seen");
}

#[test]
fn an_empty_running_group_wants_no_ticks_until_someone_logs_in() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Predictive)]), 100);
    let now = Time::from_unix_s(T0);
    let mut out = Vec::new();
    server.handle(now, Input::Timer, &mut out);
    assert_eq!(server.next_wakeup(), None, "nobody to pace for: a virtual clock may jump");
    let out = login_ready(&mut server, now, 2);
    assert!(!dials(&out).is_empty(), "a login paces at once");
    assert!(server.next_wakeup().is_some(), "members: the pacing tick is back");
    for a in 0..2 {
        let dn = Dn::new(&format!("{}", 1000 + a));
        tel(&mut server, now, TelephonyEvent::AgentLogout { dn });
    }
    let mut out = Vec::new();
    server.handle(now + Duration::from_secs(1), Input::Timer, &mut out);
    // Dials still in flight keep their result deadlines; the tick itself is gone.
    if let Some(next) = server.next_wakeup() {
        assert!(next > now + Duration::from_secs(60), "only the dial-result deadline is left, not a tick");
    }
}

#[test]
fn predictive_dials_routes_and_summarises() {
    let mut config = ServerConfig::new(101, vec![group(DialMode::Predictive)]);
    config.status_interval = Some(Duration::from_secs(30));
    let (mut server, _) = start(config, 5_000);
    let mut now = Time::from_unix_s(T0);
    let out = login_ready(&mut server, now, 10);
    let mut in_flight: Vec<DialCommand> = dials(&out);
    assert!(!in_flight.is_empty(), "ready agents make the predictive pacer dial");
    for dial in &in_flight {
        assert_eq!(dial.cpn_digits.as_deref(), Some("8005550100"), "caller id on every dial");
        assert!(dial.kv.get_by_name("GSW_RECORD_HANDLE").is_some());
    }
    let mut connected = 0;
    let mut dropped = 0;
    let mut summaries = 0;
    // A crude world: every third dial answers; answered calls talk 30 s.
    let mut talking: Vec<(Time, CallId, Dn)> = Vec::new();
    for round in 0..400 {
        now += Duration::from_millis(500);
        let mut out = Vec::new();
        if let Some(dial) = in_flight.pop() {
            let result = if round % 3 == 0 { CallResult::Answer } else { CallResult::NoAnswer };
            out.extend(tel(&mut server, now, TelephonyEvent::CallResult { call: dial.call, result }));
        }
        let done: Vec<(Time, CallId, Dn)> = talking.iter().filter(|t| t.0 <= now).cloned().collect();
        talking.retain(|t| t.0 > now);
        for (_, call, dn) in done {
            out.extend(tel(&mut server, now, TelephonyEvent::CallReleased { call }));
            let h = server.records_on_desktop(&dn)[0];
            let mut kv = pacer_engine::kv::KvList::new();
            kv.set("GSW_AGENT_REQ_TYPE", "RecordProcessed");
            kv.set("GSW_APPLICATION_ID", 101);
            kv.set("GSW_CAMPAIGN_NAME", "G");
            kv.set("GSW_CALLING_LIST", "Leads");
            kv.set("GSW_RECORD_HANDLE", h);
            server.handle(now, Input::Desktop { dn: dn.clone(), kv }, &mut out);
            out.extend(tel(&mut server, now, TelephonyEvent::AgentReady { dn }));
        }
        server.handle(now, Input::Timer, &mut out);
        server.check_invariants().unwrap();
        for (call, dn) in routes(&out) {
            connected += 1;
            out.extend(tel(&mut server, now, TelephonyEvent::CallConnected { call, dn: dn.clone() }));
            talking.push((now + Duration::from_secs(30), call, dn));
        }
        dropped += out.iter().filter(|o| matches!(o, Output::Drop { .. })).count();
        summaries += out
            .iter()
            .filter(|o| matches!(o, Output::Status(s) if s.kind == StatusKind::Summary && s.dials_total > 0))
            .count();
        in_flight.extend(dials(&out));
    }
    assert!(connected > 10, "answered calls reach agents ({connected})");
    assert!(summaries >= 5, "a periodic summary every 30 s ({summaries})");
    let pacer = server.pacer("G@A").expect("loaded");
    let _ = pacer.snapshot();
    // Drops are possible in predictive mode; every one is counted by the pacer.
    assert!(dropped <= connected);
}

#[test]
fn seizing_engages_an_agent_before_dialing() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::ProgressiveWithSeizing)]), 10);
    let now = Time::from_unix_s(T0);
    let out = login_ready(&mut server, now, 1);
    let first = dials(&out);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].engaged_dn, Some(Dn::new("1000")), "the agent is seized with the dial");
    assert_eq!(
        first[0].kv.get_by_name("GSW_ASSURED_HANDLE").and_then(|v| v.as_int()),
        Some(first[0].record_handle)
    );
    // A failed dial frees the agent, who is seized for the next one.
    let out =
        tel(&mut server, now, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Busy });
    let second = dials(&out);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].engaged_dn, Some(Dn::new("1000")));
    // An answer goes to the seized agent, never dropped.
    let out = tel(
        &mut server,
        now,
        TelephonyEvent::CallResult { call: second[0].call, result: CallResult::Answer },
    );
    assert_eq!(routes(&out), vec![(second[0].call, Dn::new("1000"))]);
    assert!(dials(&out).is_empty(), "no agent left to seize");
}

#[test]
fn progressive_gvp_keeps_one_call_per_free_port_without_agents() {
    let mut g = group(DialMode::ProgressiveGvp);
    g.options.gvp_ports = 3;
    let (mut server, out) = start(ServerConfig::new(101, vec![g]), 10);
    let now = Time::from_unix_s(T0);
    let first = dials(&out);
    assert_eq!(first.len(), 3, "one dial per port, no agents needed");
    let out =
        tel(&mut server, now, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Answer });
    assert_eq!(routes(&out).len(), 1, "the answered call goes to the IVR application");
    assert!(dials(&out).is_empty(), "the port is busy: still three calls in all");
    let out = tel(&mut server, now, TelephonyEvent::CallReleased { call: first[0].call });
    assert_eq!(dials(&out).len(), 1, "the port is free again");
    let h = first[0].record_handle;
    assert_eq!(server.store().get(RecordHandle(h)).unwrap().record_status, RecordStatus::Updated);
}

#[test]
fn power_gvp_overdials_ports_and_drops_what_finds_no_port() {
    let mut g = group(DialMode::PowerGvp);
    g.options.gvp_ports = 2;
    g.options.power_gvp_ratio = 2.0;
    let (mut server, out) = start(ServerConfig::new(101, vec![g]), 20);
    let now = Time::from_unix_s(T0);
    let first = dials(&out);
    assert_eq!(first.len(), 4);
    let mut drops = 0;
    for dial in &first {
        let out =
            tel(&mut server, now, TelephonyEvent::CallResult { call: dial.call, result: CallResult::Answer });
        drops += out.iter().filter(|o| matches!(o, Output::Drop { .. })).count();
    }
    assert_eq!(drops, 2, "two ports, four answers");
}

#[test]
fn ivr_group_places_are_virtual_agents() {
    let mut g = group(DialMode::Progressive);
    g.ivr_group = true;
    g.options.ivr_update_on_release = true;
    let mut config = ServerConfig::new(101, vec![g]);
    config.agent_groups.push(AgentGroupConfig {
        name: "A".into(),
        agents: vec![],
        places: vec!["7001".into()],
    });
    let (mut server, _) = start(config, 10);
    let now = Time::from_unix_s(T0);
    // A place logging in is free at once: no ready event needed.
    let out =
        tel(&mut server, now, TelephonyEvent::AgentLogin { dn: Dn::new("7001"), agent_id: "ivr1".into() });
    let first = dials(&out);
    assert_eq!(first.len(), 1);
    let out =
        tel(&mut server, now, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Answer });
    assert_eq!(routes(&out), vec![(first[0].call, Dn::new("7001"))]);
    tel(&mut server, now, TelephonyEvent::CallConnected { call: first[0].call, dn: Dn::new("7001") });
    // Desktop-protocol requests from an IVR place are refused.
    let mut kv = pacer_engine::kv::KvList::new();
    kv.set("GSW_AGENT_REQ_TYPE", "RecordProcessed");
    kv.set("GSW_APPLICATION_ID", 101);
    kv.set("GSW_CAMPAIGN_NAME", "G");
    kv.set("GSW_CALLING_LIST", "Leads");
    kv.set("GSW_RECORD_HANDLE", first[0].record_handle);
    let mut out = Vec::new();
    server.handle(now, Input::Desktop { dn: Dn::new("7001"), kv }, &mut out);
    assert!(
        matches!(&out[0], Output::ToDesktop { event, .. } if matches!(&event.body, EventBody::Error(e) if e.code.number() == 101))
    );
    // Release with user data: the record is final at once, updated from the call's data, and
    // the place dials again.
    let mut data = pacer_engine::kv::KvList::new();
    data.set("GSW_CALL_RESULT", CallResult::WrongParty.code());
    let mut out = Vec::new();
    server.handle(
        now,
        Input::Telephony(TelephonyEvent::CallReleasedWithData { call: first[0].call, user_data: data }),
        &mut out,
    );
    server.check_invariants().unwrap();
    let record = server.store().get(RecordHandle(first[0].record_handle)).unwrap();
    assert_eq!(record.record_status, RecordStatus::Updated);
    assert_eq!(record.call_result, CallResult::WrongParty);
    assert_eq!(dials(&out).len(), 1, "the place is free again");
    // Seizing modes are refused for IVR groups.
    let mut out = Vec::new();
    server.handle(
        now,
        Input::Admin(AdminCommand::SetMode { group: "G@A".into(), mode: DialMode::PredictiveWithSeizing }),
        &mut out,
    );
    assert!(out.iter().any(|o| matches!(o, Output::AdminRejected(_))));
    // Places join and leave while the group runs.
    let out =
        tel(&mut server, now, TelephonyEvent::AgentLogin { dn: Dn::new("7002"), agent_id: "ivr2".into() });
    assert!(dials(&out).is_empty(), "7002 is not in the IVR group");
    let mut out = Vec::new();
    server.handle(
        now,
        Input::Admin(AdminCommand::JoinAgentGroup { agent_group: "A".into(), dn: Dn::new("7002") }),
        &mut out,
    );
    assert_eq!(dials(&out).len(), 1, "7002 joined and is free");
}

#[test]
fn transfer_from_ivr_place_to_agent_moves_the_record() {
    let mut g = group(DialMode::Progressive);
    g.ivr_group = true;
    let mut config = ServerConfig::new(101, vec![g]);
    config.agent_groups.push(AgentGroupConfig {
        name: "A".into(),
        agents: vec![],
        places: vec!["7001".into()],
    });
    let (mut server, _) = start(config, 10);
    let now = Time::from_unix_s(T0);
    let out =
        tel(&mut server, now, TelephonyEvent::AgentLogin { dn: Dn::new("7001"), agent_id: "ivr1".into() });
    let call = dials(&out)[0].clone();
    tel(&mut server, now, TelephonyEvent::CallResult { call: call.call, result: CallResult::Answer });
    tel(&mut server, now, TelephonyEvent::CallConnected { call: call.call, dn: Dn::new("7001") });
    // An agent outside the IVR group takes the call: the record is on that desktop now, and
    // processed there by the desktop protocol.
    tel(&mut server, now, TelephonyEvent::AgentLogin { dn: Dn::new("1000"), agent_id: "alice".into() });
    tel(&mut server, now, TelephonyEvent::CallConnected { call: call.call, dn: Dn::new("1000") });
    assert_eq!(server.records_on_desktop(&Dn::new("1000")), vec![call.record_handle]);
    assert!(server.records_on_desktop(&Dn::new("7001")).is_empty());
}

#[test]
fn telephony_logout_returns_records_and_record_processed_off_finalises_at_ready() {
    let mut g = group(DialMode::Progressive);
    g.options.record_processed = false;
    let (mut server, _) = start(ServerConfig::new(101, vec![g]), 10);
    let now = Time::from_unix_s(T0);
    let out = login_ready(&mut server, now, 1);
    let dial = dials(&out)[0].clone();
    tel(&mut server, now, TelephonyEvent::CallResult { call: dial.call, result: CallResult::Answer });
    tel(&mut server, now, TelephonyEvent::CallConnected { call: dial.call, dn: Dn::new("1000") });
    tel(&mut server, now, TelephonyEvent::CallReleased { call: dial.call });
    assert_eq!(server.records_on_desktop(&Dn::new("1000")), vec![dial.record_handle]);
    // With record_processed off, after-call work ending finalises the record.
    let out = tel(&mut server, now, TelephonyEvent::AgentReady { dn: Dn::new("1000") });
    assert!(server.records_on_desktop(&Dn::new("1000")).iter().all(|&h| h != dial.record_handle));
    let record = server.store().get(RecordHandle(dial.record_handle)).unwrap();
    assert_eq!((record.record_status, record.call_result), (RecordStatus::Updated, CallResult::Answer));
    // The next dial's record goes back to the list when the agent logs out at the switch
    // mid-call.
    let next = dials(&out)[0].clone();
    tel(&mut server, now, TelephonyEvent::CallResult { call: next.call, result: CallResult::Answer });
    tel(&mut server, now, TelephonyEvent::AgentLogout { dn: Dn::new("1000") });
    assert!(server.records_on_desktop(&Dn::new("1000")).is_empty());
    tel(&mut server, now, TelephonyEvent::CallReleased { call: next.call });
    assert_eq!(server.records_held(), 0);
}

#[test]
fn lifecycle_changes_are_status_outputs() {
    let (mut server, out) = start(ServerConfig::new(101, vec![group(DialMode::Preview)]), 3);
    let kinds: Vec<StatusKind> = out
        .iter()
        .filter_map(|o| match o {
            Output::Status(s) => Some(s.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![StatusKind::Loaded, StatusKind::Started]);
    let mut out = Vec::new();
    let now = Time::from_unix_s(T0);
    server.handle(
        now,
        Input::Admin(AdminCommand::SetMode { group: "G@A".into(), mode: DialMode::Progressive }),
        &mut out,
    );
    server.handle(now, Input::Admin(AdminCommand::Stop { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Unload { group: "G@A".into() }), &mut out);
    let kinds: Vec<StatusKind> = out
        .iter()
        .filter_map(|o| match o {
            Output::Status(s) => Some(s.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![StatusKind::ModeChanged, StatusKind::Stopped, StatusKind::Unloaded]);
    assert!(server.pacer("G@A").is_none(), "an unloaded group has no pacer");
}

#[test]
fn an_answered_call_goes_to_the_longest_idle_ready_agent() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 10);
    let t0 = Time::from_unix_s(T0);
    let mut placed = login_ready(&mut server, t0, 1);
    let t1 = t0 + Duration::from_secs(5);
    placed.extend(tel(
        &mut server,
        t1,
        TelephonyEvent::AgentLogin { dn: Dn::new("1001"), agent_id: "b".into() },
    ));
    placed.extend(tel(&mut server, t1, TelephonyEvent::AgentReady { dn: Dn::new("1001") }));
    let placed = dials(&placed);
    assert_eq!(placed.len(), 2);
    // The later dial answers first: it goes to 1000, ready since t0.
    let out =
        tel(&mut server, t1, TelephonyEvent::CallResult { call: placed[1].call, result: CallResult::Answer });
    assert_eq!(routes(&out), vec![(placed[1].call, Dn::new("1000"))]);
    let out =
        tel(&mut server, t1, TelephonyEvent::CallResult { call: placed[0].call, result: CallResult::Answer });
    assert_eq!(routes(&out), vec![(placed[0].call, Dn::new("1001"))]);
}

#[test]
fn server_configuration_reads_from_toml() {
    let text = r#"
        application_id = 150
        cpn_digits = "8005550199"
        status_interval_s = 60
        backup_grace_s = 30
        [list_script_ids]
        Leads = 9
        [[agent_groups]]
        name = "Team A"
        agents = ["alice", "bob"]
        [[groups]]
        name = "Sales@Team A"
        campaign = "Sales"
        agent_group = "Team A"
        lists = ["Leads"]
        dial_mode = "Predictive with Seizing"
        pacing = { algorithm = "small_group", compliance_time = "2s" }
        options = { stale_clean_timeout_s = 1800, record_processed = false }
    "#;
    let config: ServerConfig = toml::from_str(text).unwrap();
    assert_eq!(config.application_id, 150);
    assert_eq!(config.status_interval, Some(Duration::from_secs(60)));
    assert_eq!(config.groups[0].dial_mode, DialMode::PredictiveWithSeizing);
    assert_eq!(config.groups[0].options.stale_clean_timeout, Duration::from_secs(1800));
    assert!(!config.groups[0].options.record_processed);
    assert_eq!(config.list_script_ids["Leads"], 9);
    let server = Server::new(config, store(1)).unwrap();
    assert_eq!(server.group_state("Sales@Team A"), Some(pacer_engine::campaign::GroupState::Unloaded));

    // Configurations the server refuses, with the object and the reason.
    let err =
        toml::from_str::<ServerConfig>(&text.replace("record_processed", "recordprocessed")).unwrap_err();
    assert!(err.to_string().contains("recordprocessed"), "{err}");
    let mut bad: ServerConfig = toml::from_str(text).unwrap();
    bad.groups[0].ivr_group = true;
    let err = Server::new(bad, store(1)).err().expect("IVR groups cannot seize");
    assert_eq!(err.object, "Sales@Team A");
    let mut twice: ServerConfig = toml::from_str(text).unwrap();
    twice.groups.push(twice.groups[0].clone());
    assert!(Server::new(twice, store(1)).is_err());
    assert!(Server::new(ServerConfig::new(100, vec![]), store(1)).is_err(), "application ids start at 101");
}

/// A store of `n_chains` chains of two records each, the two of a chain next to each other.
fn chained_store(n_chains: i64) -> RecordStore {
    let mut list = CallingList::new("Leads", ListFormat::default());
    for i in 1..=2 * n_chains {
        let mut record = Record::new(i, &format!("555{i:06}"), "UTC");
        (record.daily_from_s, record.daily_till_s) = (0, 86_400);
        (record.chain_id, record.chain_n) = ((i + 1) / 2, ((i + 1) % 2 + 1) as i32);
        list.push(record).unwrap();
    }
    let mut store = RecordStore::new();
    store.add_list(list).unwrap();
    store
}

#[test]
fn records_of_chains_out_are_parked_not_left_blocking_the_queue() {
    // Every second record belongs to a chain already out when retrieval reaches it: they
    // must not pile up in front of the records that can be dialed.
    let config = ServerConfig::new(101, vec![group(DialMode::Progressive)]);
    let mut server = Server::new(config, chained_store(300)).unwrap();
    let now = Time::from_unix_s(T0);
    let mut out = Vec::new();
    server.handle(now, Input::Admin(AdminCommand::Load { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Start { group: "G@A".into() }), &mut out);
    let placed = dials(&login_ready(&mut server, now, 200));
    assert_eq!(placed.len(), 200, "one dial per ready agent");
    let chain_of = |server: &Server, h: i64| server.store().get(RecordHandle(h)).unwrap().chain_id;
    let mut chains: Vec<i64> = placed.iter().map(|d| chain_of(&server, d.record_handle)).collect();
    chains.sort_unstable();
    chains.dedup();
    assert_eq!(chains.len(), 200, "one record per chain out");
    // The chain's record comes back: its sibling is dialable again, first in the queue.
    let first = &placed[0];
    let out =
        tel(&mut server, now, TelephonyEvent::CallResult { call: first.call, result: CallResult::NoAnswer });
    let next = dials(&out);
    assert_eq!(next.len(), 1);
    assert_eq!(chain_of(&server, next[0].record_handle), chain_of(&server, first.record_handle));
    assert_ne!(next[0].record_handle, first.record_handle);
}

#[test]
fn a_dial_whose_result_never_comes_is_given_up_and_its_record_dialed_again() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 1);
    let now = Time::from_unix_s(T0);
    let first = dials(&login_ready(&mut server, now, 1));
    assert_eq!(first.len(), 1);
    let h = first[0].record_handle;
    // Before the timeout (120 s by default) the dial is still in flight.
    let mut out = Vec::new();
    server.handle(now + Duration::from_secs(119), Input::Timer, &mut out);
    assert!(dials(&out).is_empty());
    assert_eq!(server.dial_results_timed_out(), 0);
    let due = server.next_wakeup().expect("a dial in flight");
    assert!(due <= now + Duration::from_secs(120), "the server wakes for the result deadline");
    // Past it: the record is back in its list, retryable, and the agent's pacing capacity
    // is free again, so the ready agent gets the record dialed anew.
    let mut out = Vec::new();
    let later = now + Duration::from_secs(121);
    server.handle(later, Input::Timer, &mut out);
    server.check_invariants().unwrap();
    assert_eq!(server.dial_results_timed_out(), 1);
    let updates = record_updates(&out);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].call_result, CallResult::UnknownCallResult);
    assert_eq!(updates[0].attempts, 1);
    let again = dials(&out);
    assert_eq!(again.len(), 1, "the freed capacity dials again");
    assert_eq!(again[0].record_handle, h);
    // The late result of the first dial changes nothing.
    let out = tel(
        &mut server,
        later,
        TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Answer },
    );
    assert!(routes(&out).is_empty());
    assert_eq!(server.pacer("G@A").unwrap().snapshot().calls.in_flight, 1);
    assert_eq!(server.pacer("G@A").unwrap().snapshot().rejected_events, 0);
}

#[test]
fn an_agent_logging_out_still_takes_the_calls_dialed_for_them() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 10);
    let now = Time::from_unix_s(T0);
    let placed = dials(&login_ready(&mut server, now, 1));
    assert_eq!(placed.len(), 1);
    // Smart logout while the dial counted on the agent is out: the engine asks to wait.
    let mut kv = pacer_engine::kv::KvList::new();
    kv.set("GSW_AGENT_REQ_TYPE", "LogOut");
    kv.set("GSW_APPLICATION_ID", 101);
    kv.set("GSW_REFERENCE_ID", 1);
    kv.set("GSW_CAMPAIGN_NAME", "G");
    let mut out = Vec::new();
    server.handle(now, Input::Desktop { dn: Dn::new("1000"), kv }, &mut out);
    assert!(
        out.iter().any(|o| matches!(o, Output::ToDesktop { event, .. } if matches!(event.body, EventBody::LogOutTime { logout_time_s, .. } if logout_time_s > 0))),
        "{out:?}"
    );
    // The call is answered: it goes to the agent, who is still there for it, not dropped.
    let later = now + Duration::from_secs(5);
    let out = tel(
        &mut server,
        later,
        TelephonyEvent::CallResult { call: placed[0].call, result: CallResult::Answer },
    );
    assert_eq!(routes(&out), vec![(placed[0].call, Dn::new("1000"))]);
    assert!(dials(&out).is_empty(), "no new dial for a leaving agent");
}

#[test]
fn an_agent_reported_ready_mid_conversation_ends_a_call_whose_release_was_lost() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 10);
    let now = Time::from_unix_s(T0);
    let placed = dials(&login_ready(&mut server, now, 1));
    let call = placed[0].call;
    let dn = Dn::new("1000");
    let out = tel(&mut server, now, TelephonyEvent::CallResult { call, result: CallResult::Answer });
    assert_eq!(routes(&out), vec![(call, dn.clone())]);
    tel(&mut server, now, TelephonyEvent::CallConnected { call, dn: dn.clone() });
    // The release never comes; the switch reports the agent ready after wrap-up.
    let later = now + Duration::from_secs(200);
    let out = tel(&mut server, later, TelephonyEvent::AgentReady { dn: dn.clone() });
    assert_eq!(server.calls_released_by_ready(), 1);
    assert_eq!(server.calls_in_progress(), 1, "the old call is over; a new one is dialed");
    assert_eq!(dials(&out).len(), 1, "the agent is paced again");
    // The late release of the old call changes nothing.
    let out = tel(&mut server, later, TelephonyEvent::CallReleased { call });
    assert!(dials(&out).is_empty());
    assert_eq!(server.calls_in_progress(), 1);
}

#[test]
fn no_port_available_puts_the_record_back_untouched_and_waits_for_a_line() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 50);
    let now = Time::from_unix_s(T0);
    let first = dials(&login_ready(&mut server, now, 2));
    assert_eq!(first.len(), 2);
    // The dialer has one line: the second dial finds none.
    let out = tel(
        &mut server,
        now,
        TelephonyEvent::CallResult { call: first[1].call, result: CallResult::NoPortAvailable },
    );
    let updates = record_updates(&out);
    assert_eq!(updates.len(), 1);
    let back = &updates[0];
    assert_eq!(back.record_status, RecordStatus::Ready, "nothing was dialed: the record stays dialable");
    assert_eq!(back.attempts, 0, "no attempt is counted for a call the dialer never placed");
    assert_eq!(back.call_result, CallResult::UnknownCallResult, "the record keeps the result it had (none)");
    // No dial at once, nor on the ticks of the next second: the dialer is full.
    assert!(dials(&out).is_empty(), "a group does not redial into a full dialer");
    for ms in (100..1000).step_by(100) {
        let mut out = Vec::new();
        server.handle(now + Duration::from_millis(ms), Input::Timer, &mut out);
        assert!(dials(&out).is_empty(), "dialed into a full dialer {ms} ms after No Port Available");
    }
    // The first call ends (busy): its line is free, and the ready agent's dial goes out.
    let later = now + Duration::from_millis(1500);
    let out =
        tel(&mut server, later, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Busy });
    assert_eq!(dials(&out).len(), 1, "both agents are ready again, but the dialer has one line");
    assert_eq!(server.pacer("G@A").unwrap().snapshot().rejected_events, 0);
    // Without a line freed, the group tries again after the back-off.
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 50);
    let first = dials(&login_ready(&mut server, now, 1));
    tel(
        &mut server,
        now,
        TelephonyEvent::CallResult { call: first[0].call, result: CallResult::NoPortAvailable },
    );
    let mut out = Vec::new();
    server.handle(now + Duration::from_millis(1100), Input::Timer, &mut out);
    let retry = dials(&out);
    assert_eq!(retry.len(), 1, "the group dials again once the back-off is over");
    assert_eq!(
        retry[0].record_handle, first[0].record_handle,
        "the record went back to the head of its list"
    );
}

#[test]
fn after_no_port_available_a_freed_line_lets_one_dial_out_until_the_cap_is_forgotten() {
    let (mut server, _) = start(ServerConfig::new(101, vec![group(DialMode::Progressive)]), 50);
    let now = Time::from_unix_s(T0);
    let first = dials(&login_ready(&mut server, now, 3));
    assert_eq!(first.len(), 3);
    // The dialer has one line: the first dial takes it, the other two are refused.
    for d in &first[1..] {
        tel(
            &mut server,
            now,
            TelephonyEvent::CallResult { call: d.call, result: CallResult::NoPortAvailable },
        );
    }
    // The first call is answered and goes to an agent: it still holds the line, so the two
    // ready agents get no dial, neither at once nor once the back-off is over.
    let t1 = now + Duration::from_secs(2);
    let out =
        tel(&mut server, t1, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Answer });
    let routed = routes(&out);
    assert_eq!(routed.len(), 1);
    assert!(dials(&out).is_empty(), "the answered call holds the dialer's only line");
    let out =
        tel(&mut server, t1, TelephonyEvent::CallConnected { call: first[0].call, dn: routed[0].1.clone() });
    assert!(dials(&out).is_empty());
    let mut out = Vec::new();
    server.handle(now + Duration::from_secs(3), Input::Timer, &mut out);
    assert!(dials(&out).is_empty(), "dialed past the line count the dialer refused at");
    // The conversation ends: its line lets exactly one dial out, not one per ready agent.
    let t2 = now + Duration::from_secs(30);
    let out = tel(&mut server, t2, TelephonyEvent::CallReleased { call: first[0].call });
    let second = dials(&out);
    assert_eq!(second.len(), 1, "one freed line, one dial");
    let mut out = Vec::new();
    server.handle(t2 + Duration::from_secs(2), Input::Timer, &mut out);
    assert!(dials(&out).is_empty());
    // A minute without a refusal: the count is forgotten and the group probes the dialer
    // again (lines may have been added), here with the other ready agent's dial.
    let mut out = Vec::new();
    server.handle(now + Duration::from_secs(61), Input::Timer, &mut out);
    assert_eq!(dials(&out).len(), 1, "the learnt line count is forgotten after a quiet minute");
    assert_eq!(server.calls_in_progress(), 2);
    assert_eq!(server.pacer("G@A").unwrap().snapshot().rejected_events, 0);
}

#[test]
fn a_routed_call_that_never_connects_is_abandoned_when_its_agent_reports_ready() {
    let mut g = group(DialMode::Progressive);
    g.pacing.compliance_time = Duration::from_secs(3600);
    let (mut server, _) = start(ServerConfig::new(101, vec![g]), 50);
    let now = Time::from_unix_s(T0);
    let first = dials(&login_ready(&mut server, now, 1));
    assert_eq!(first.len(), 1);
    let dn = Dn::new("1000");
    // The agent steps away; the call is answered and waits (compliance time: an hour).
    tel(&mut server, now, TelephonyEvent::AgentNotReady { dn: dn.clone() });
    let t1 = now + Duration::from_secs(5);
    let out =
        tel(&mut server, t1, TelephonyEvent::CallResult { call: first[0].call, result: CallResult::Answer });
    assert!(routes(&out).is_empty());
    // The customer hangs up, but the CallAbandoned is lost. The agent comes back and the
    // engine routes the call that no longer exists.
    let t2 = now + Duration::from_secs(40);
    let out = tel(&mut server, t2, TelephonyEvent::AgentReady { dn: dn.clone() });
    assert_eq!(routes(&out), vec![(first[0].call, dn.clone())]);
    assert!(dials(&out).is_empty());
    // A ready report soon after the route may be one sent while the call rang: left alone.
    let out = tel(&mut server, t2 + Duration::from_secs(2), TelephonyEvent::AgentReady { dn: dn.clone() });
    assert!(out.is_empty(), "a ready report within the grace does not end the routed call: {out:?}");
    assert_eq!(server.routed_calls_abandoned_by_ready(), 0);
    // The state audit reports the agent ready again: the call never arrived. It is counted as
    // abandoned, its record goes back, and the agent is ready for the next dial.
    let t3 = t2 + Duration::from_secs(20);
    let out = tel(&mut server, t3, TelephonyEvent::AgentReady { dn: dn.clone() });
    assert_eq!(server.routed_calls_abandoned_by_ready(), 1);
    let back = record_updates(&out);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].call_result, CallResult::Abandoned);
    assert_eq!(back[0].attempts, 1);
    let next = dials(&out);
    assert_eq!(next.len(), 1, "the agent is ready again and gets a dial");
    assert_ne!(next[0].record_handle, first[0].record_handle);
    assert_eq!(server.calls_in_progress(), 1, "only the new dial is open");
    let pacer = server.pacer("G@A").unwrap();
    assert_eq!(pacer.snapshot().rejected_events, 0, "the call is not resolved twice in the pacer");
    let overdial = pacer.overdial(t3);
    for count in [overdial.campaign, overdial.compliance, overdial.last_t, overdial.day] {
        assert_eq!((count.abandoned, count.answered), (1, 1), "one answered call, abandoned");
    }
    assert!(server.records_on_desktop(&dn).is_empty());
}

#[test]
fn an_out_of_range_pacing_setting_is_refused_at_construction() {
    let mut g = group(DialMode::Predictive);
    g.pacing.compliance_max_abandon_rate = 5.0;
    let err = Server::new(ServerConfig::new(101, vec![g]), store(1)).err().expect("refused");
    assert_eq!(err.object, "G@A");
    assert!(err.reason.contains("compliance_max_abandon_rate"), "{err}");
}

#[test]
fn a_due_callback_nobody_took_stays_a_callback_when_the_group_stops() {
    use pacer_engine::protocol::RecordType;
    // A personal callback due a minute ago, for an agent not logged in yet.
    let store = callback_store(RecordType::PersonalCallBack, Some("bob"));
    let mut server = Server::new(ServerConfig::new(101, vec![group(DialMode::Preview)]), store).unwrap();
    let now = Time::from_unix_s(T0);
    let mut out = load_and_start(&mut server, now);
    server.handle(now, Input::Timer, &mut out);
    assert_eq!(server.records_held(), 1, "due, waiting for its agent");
    // The group stops before bob comes: the callback goes back as it was, still his.
    server.handle(now, Input::Admin(AdminCommand::Stop { group: "G@A".into() }), &mut out);
    assert_eq!(server.records_held(), 0);
    let record = server.store().get(RecordHandle(1)).unwrap();
    assert_eq!(record.record_status, RecordStatus::Ready);
    assert_eq!(record.record_type, RecordType::PersonalCallBack, "still a personal callback");
    assert_eq!(record.dial_sched_time, Some(T0 - 60), "still due at the time promised");
    assert_eq!(record.agent_id.as_deref(), Some("bob"));
    // Started again, it is due again; stopped and unloaded before bob comes, it is still his.
    server.handle(now, Input::Admin(AdminCommand::Start { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Timer, &mut out);
    assert_eq!(server.records_held(), 1, "due again");
    server.handle(now, Input::Admin(AdminCommand::Stop { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Unload { group: "G@A".into() }), &mut out);
    assert_eq!(server.group_state("G@A"), Some(pacer_engine::campaign::GroupState::Unloaded));
    assert_eq!(server.records_held(), 0);
    let record = server.store().get(RecordHandle(1)).unwrap();
    assert_eq!(
        (record.record_status, record.record_type, record.dial_sched_time),
        (RecordStatus::Ready, RecordType::PersonalCallBack, Some(T0 - 60))
    );
    server.check_invariants().unwrap();
}

#[test]
fn a_predictive_callback_waits_out_no_port_available_too() {
    use pacer_engine::protocol::RecordType;
    // One campaign callback due, dialed like any record; no other record to dial.
    let store = callback_store(RecordType::CampaignCallBack, None);
    let mut g = group(DialMode::Predictive);
    g.options.predictive_callback = true;
    let mut server = Server::new(ServerConfig::new(101, vec![g]), store).unwrap();
    let now = Time::from_unix_s(T0);
    load_and_start(&mut server, now);
    login_ready(&mut server, now, 1);
    let mut out = Vec::new();
    server.handle(now, Input::Timer, &mut out);
    let first = dials(&out);
    assert_eq!(first.len(), 1, "the callback is dialed");
    tel(
        &mut server,
        now,
        TelephonyEvent::CallResult { call: first[0].call, result: CallResult::NoPortAvailable },
    );
    // The dialer is full: the ticks of the next second do not dial it into it again.
    for ms in (100..1000).step_by(100) {
        let mut out = Vec::new();
        server.handle(now + Duration::from_millis(ms), Input::Timer, &mut out);
        assert!(dials(&out).is_empty(), "redialed into a full dialer {ms} ms after No Port Available");
    }
    let mut out = Vec::new();
    server.handle(now + Duration::from_millis(1100), Input::Timer, &mut out);
    assert_eq!(dials(&out).len(), 1, "dialed again once the back-off is over");
    let record = server.store().get(RecordHandle(1)).unwrap();
    assert_eq!(record.record_type, RecordType::CampaignCallBack);
}

#[test]
fn a_callback_on_the_desktop_of_an_agent_who_logs_out_stays_a_callback() {
    use pacer_engine::protocol::RecordType;
    let store = callback_store(RecordType::PersonalCallBack, Some("a0"));
    let mut server = Server::new(ServerConfig::new(101, vec![group(DialMode::Preview)]), store).unwrap();
    let now = Time::from_unix_s(T0);
    let mut out = load_and_start(&mut server, now);
    login_ready(&mut server, now, 1);
    server.handle(now, Input::Timer, &mut out);
    assert_eq!(server.records_held(), 1, "the callback is on a0's desktop");
    // a0 leaves without dialing it: the promise stands, still a0's, still due.
    tel(&mut server, now + Duration::from_secs(5), TelephonyEvent::AgentLogout { dn: Dn::new("1000") });
    assert_eq!(server.records_held(), 0);
    let record = server.store().get(RecordHandle(1)).unwrap();
    assert_eq!(
        (record.record_status, record.record_type, record.dial_sched_time, record.agent_id.as_deref()),
        (RecordStatus::Ready, RecordType::PersonalCallBack, Some(T0 - 60), Some("a0"))
    );
    assert_eq!(record.attempts, 0);
}

#[test]
fn a_preview_group_wakes_for_its_next_callback_not_every_tick() {
    let mut list = CallingList::new("Leads", ListFormat::default());
    for i in 1..=3 {
        let mut record = Record::new(i, &format!("555{i:06}"), "UTC");
        (record.daily_from_s, record.daily_till_s) = (0, 86_400);
        if i == 2 {
            record.record_type = pacer_engine::protocol::RecordType::CampaignCallBack;
            record.dial_sched_time = Some(T0 + 3600);
        }
        list.push(record).unwrap();
    }
    let mut store = RecordStore::new();
    store.add_list(list).unwrap();
    let mut g = group(DialMode::Preview);
    g.options.agent_preview_mode_start = false;
    let stale_clean_timeout = g.options.stale_clean_timeout;
    let mut server = Server::new(ServerConfig::new(101, vec![g]), store).unwrap();
    let now = Time::from_unix_s(T0);
    let mut out = Vec::new();
    server.handle(now, Input::Admin(AdminCommand::Load { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Start { group: "G@A".into() }), &mut out);
    login_ready(&mut server, now, 1);
    // An idle preview floor: the server's next wake-up is the callback, an hour away, and
    // one timer delivers it at the second it is due.
    let mut timers = 0;
    let mut delivered = None;
    while delivered.is_none() && timers < 100 {
        let Some(at) = server.next_wakeup() else { break };
        timers += 1;
        let mut out = Vec::new();
        server.handle(at, Input::Timer, &mut out);
        server.check_invariants().unwrap();
        delivered = out.iter().find_map(|o| match o {
            Output::ToDesktop { event, .. } => match &event.body {
                EventBody::ScheduledCall(call) => Some((at, call.record.record_handle)),
                _ => None,
            },
            _ => None,
        });
    }
    assert_eq!(delivered, Some((Time::from_unix_s(T0 + 3600), RecordHandle(2).0)));
    assert_eq!(timers, 1, "woken {timers} times for one callback an hour away");
    // Nothing else is due but the record's stale deadline on the desktop: no tick.
    let stale = Time::from_unix_s(T0 + 3600) + stale_clean_timeout;
    assert_eq!(server.next_wakeup(), Some(stale));
}

#[test]
fn a_preview_callback_waiting_for_its_agent_costs_no_ticks_and_goes_out_at_their_login() {
    let mut list = CallingList::new("Leads", ListFormat::default());
    for i in 1..=2 {
        let mut record = Record::new(i, &format!("555{i:06}"), "UTC");
        (record.daily_from_s, record.daily_till_s) = (0, 86_400);
        if i == 2 {
            record.record_type = pacer_engine::protocol::RecordType::PersonalCallBack;
            record.agent_id = Some("a1".into());
            record.dial_sched_time = Some(T0 + 3600);
        }
        list.push(record).unwrap();
    }
    let mut store = RecordStore::new();
    store.add_list(list).unwrap();
    let mut g = group(DialMode::Preview);
    g.options.agent_preview_mode_start = false;
    let mut server = Server::new(ServerConfig::new(101, vec![g]), store).unwrap();
    let now = Time::from_unix_s(T0);
    let mut out = Vec::new();
    server.handle(now, Input::Admin(AdminCommand::Load { group: "G@A".into() }), &mut out);
    server.handle(now, Input::Admin(AdminCommand::Start { group: "G@A".into() }), &mut out);
    // a0 is in; a1, whose callback it is, is not.
    login_ready(&mut server, now, 1);
    let due = Time::from_unix_s(T0 + 3600);
    assert_eq!(server.next_wakeup(), Some(due));
    let mut out = Vec::new();
    server.handle(due, Input::Timer, &mut out);
    server.check_invariants().unwrap();
    assert!(
        !out.iter().any(|o| matches!(o, Output::ToDesktop { event, .. } if matches!(event.body, EventBody::ScheduledCall(_)))),
        "a personal callback goes to its own agent only"
    );
    assert_eq!(server.next_wakeup(), None, "nothing to wake for until a1 comes");
    // a1 logs in two hours later: the callback goes out with the login.
    let dn = Dn::new("1001");
    let out = tel(
        &mut server,
        due + Duration::from_secs(7200),
        TelephonyEvent::AgentLogin { dn: dn.clone(), agent_id: "a1".into() },
    );
    let delivered: Vec<i64> = out
        .iter()
        .filter_map(|o| match o {
            Output::ToDesktop { dn: to, event } if *to == dn => match &event.body {
                EventBody::ScheduledCall(call) => Some(call.record.record_handle),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![2]);
    assert_eq!(server.records_on_desktop(&dn), vec![2]);
}

#[test]
fn a_shift_runs_from_each_start_and_ends_with_the_stop() {
    let mut g = group(DialMode::Predictive);
    g.pacing.shift_length = Duration::from_secs(8 * 3600);
    let config = ServerConfig::new(101, vec![g]);
    let mut server = Server::new(config, store(10)).unwrap();
    let mut out = Vec::new();
    let t0 = Time::from_unix_s(T0);
    let admin = |server: &mut Server, now: Time, command: AdminCommand, out: &mut Vec<Output>| {
        server.handle(now, Input::Admin(command), out);
    };
    admin(&mut server, t0, AdminCommand::Load { group: "G@A".into() }, &mut out);
    // Loaded, not started: no shift yet counts from the load.
    let started = t0 + Duration::from_secs(600);
    admin(&mut server, started, AdminCommand::Start { group: "G@A".into() }, &mut out);
    let shift_end = |server: &Server| server.pacer("G@A").unwrap().shift_end();
    assert_eq!(shift_end(&server), Some(started + Duration::from_secs(8 * 3600)));
    let stopped = started + Duration::from_secs(3600);
    admin(&mut server, stopped, AdminCommand::Stop { group: "G@A".into() }, &mut out);
    assert_eq!(shift_end(&server), None);
    assert_eq!(server.pacer("G@A").unwrap().snapshot().shift_credit_answers, 0);
    let again = stopped + Duration::from_secs(60);
    admin(&mut server, again, AdminCommand::Start { group: "G@A".into() }, &mut out);
    assert_eq!(shift_end(&server), Some(again + Duration::from_secs(8 * 3600)));
}
