//! End-to-end tests of `pacer serve --stdio`: conversations per dial mode, a corpus of bad
//! lines, and the journal surviving a killed process.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use serde_json::Value;

mod serve_cmd;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A private copy of the shipped calling lists.
fn lists() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("scenarios/lists/serve-example.csv"), dir.path().join("serve-example.csv"))
        .unwrap();
    dir
}

/// A running `pacer serve --stdio --clock virtual`, driven one line at a time. After each
/// line a deliberately unknown key is sent; its error line marks the end of the replies, so
/// the conversation needs no timeouts.
struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Serve {
    fn start(lists: &Path, extra: &[&str]) -> (Serve, Vec<Value>) {
        let mut child = serve_cmd::serve("virtual", lists, extra).stderr(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut serve = Serve { child, stdin, stdout };
        let first = serve.sync();
        (serve, first)
    }

    fn sync(&mut self) -> Vec<Value> {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"{\"sync\": true}\n").unwrap();
        stdin.flush().unwrap();
        let mut out = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "pacer serve ended early");
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if v["error"].as_str().is_some_and(|e| e.contains("unknown field `sync`")) {
                return out;
            }
            out.push(v);
        }
    }

    fn say(&mut self, line: &str) -> Vec<Value> {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        self.sync()
    }

    /// Ends input and returns the shutdown lines.
    fn finish(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(status.success(), "pacer serve failed: {err}");
        rest.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

fn events(lines: &[Value], dn: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["dn"] == dn)
        .map(|l| l["kv"]["GSW_USER_EVENT"].as_str().unwrap().to_string())
        .collect()
}

fn dials(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter_map(|l| l.get("dial")).collect()
}

fn processed(dn: &str, t: f64, handle: i64, reference: i64) -> String {
    format!(
        r#"{{"t": {t}, "dn": "{dn}", "kv": {{"GSW_AGENT_REQ_TYPE": "RecordProcessed", "GSW_APPLICATION_ID": 101, "GSW_CAMPAIGN_NAME": "Sales", "GSW_CALLING_LIST": "serve-example", "GSW_RECORD_HANDLE": {handle}, "GSW_CALL_RESULT": 33, "GSW_REFERENCE_ID": {reference}}}}}"#
    )
}

/// The records of the list file, by record id: (status code, call result code).
fn statuses(dir: &Path) -> Vec<(i64, i64, i64)> {
    let text = std::fs::read_to_string(dir.join("serve-example.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, status, result) = (col("record_id"), col("record_status"), col("call_result"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[id].parse().unwrap(), f[status].parse().unwrap(), f[result].parse().unwrap())
        })
        .collect()
}

#[test]
fn predictive_conversation() {
    let dir = lists();
    let (mut s, first) = Serve::start(dir.path(), &[]);
    let kinds: Vec<&str> = first.iter().map(|l| l["status"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["loaded", "started"]);
    let out = s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    assert_eq!(events(&out, "7001"), ["CampaignGroupAssigned", "CampaignStarted"]);
    let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7001"}"#);
    let d = dials(&out);
    assert!(!d.is_empty(), "{out:?}");
    assert_eq!(d[0]["campaign_group"], "Sales@Team A");
    assert_eq!(d[0]["kv"]["GSW_CALLING_LIST"], "serve-example");
    let call = d[0]["call"].as_u64().unwrap();
    let handle = d[0]["record_handle"].as_i64().unwrap();
    let out = s.say(&format!(r#"{{"t": 5, "tel": "CallResult", "call": {call}, "result": "Answer"}}"#));
    let route = out.iter().find_map(|l| l.get("route")).expect("a route line");
    assert_eq!(route["dn"], "7001");
    assert_eq!(route["kv"]["GSW_RECORD_HANDLE"], handle);
    assert_eq!(route["kv"]["GSW_PHONE"], d[0]["phone"]);
    s.say(&format!(r#"{{"t": 6, "tel": "CallConnected", "call": {call}, "dn": "7001"}}"#));
    s.say(&format!(r#"{{"t": 60, "tel": "CallReleased", "call": {call}}}"#));
    let out = s.say(&processed("7001", 70.0, handle, 9));
    let ack = out.iter().find(|l| l["dn"] == "7001").expect("an acknowledgement");
    assert_eq!(ack["kv"]["GSW_USER_EVENT"], "RecordProcessedAcknowledge");
    assert_eq!(ack["kv"]["GSW_REFERENCE_ID"], 9);
    assert_eq!(ack["t"], 70.0);
    let end = s.finish();
    assert!(end.iter().any(|l| l["status"]["kind"] == "unloaded"), "{end:?}");
    // Written back: the processed record is Updated (3) with result Answer (33), the others
    // that were never dialed are still Ready (1).
    let records = statuses(dir.path());
    assert_eq!(records.len(), 100);
    let dialed: Vec<i64> = dials(&out).iter().map(|d| d["record_handle"].as_i64().unwrap()).collect();
    assert!(records.contains(&(handle, 3, 33)), "{:?}", &records[..3]);
    assert!(records.iter().filter(|r| r.0 != handle && !dialed.contains(&r.0)).all(|r| r.1 != 2));
}

#[test]
fn progressive_conversation_dials_one_per_ready_agent() {
    let dir = lists();
    let (mut s, _) = Serve::start(dir.path(), &["--set", "group.dial_mode=Progressive"]);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7002", "agent": "1002"}"#);
    let mut total = dials(&s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7001"}"#)).len();
    total += dials(&s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7002"}"#)).len();
    total += dials(&s.say(r#"{"t": 10}"#)).len();
    assert_eq!(total, 2, "progressive: one dial per ready agent");
    // A busy line ends the attempt and the agent gets the next record.
    let out = s.say(r#"{"t": 12, "tel": "CallResult", "call": 1, "result": "Busy"}"#);
    assert_eq!(dials(&out).len(), 1, "{out:?}");
    s.finish();
}

#[test]
fn preview_conversation() {
    let dir = lists();
    let (mut s, _) = Serve::start(dir.path(), &["--set", "group.dial_mode=Preview"]);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7003", "agent": "1003"}"#);
    let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7003"}"#);
    assert!(dials(&out).is_empty(), "preview dials nothing itself: {out:?}");
    let out = s.say(
        r#"{"t": 2, "dn": "7003", "kv": {"GSW_AGENT_REQ_TYPE": "PreviewRecordRequest", "GSW_APPLICATION_ID": 101, "GSW_CAMPAIGN_NAME": "Sales", "GSW_REFERENCE_ID": 4}}"#,
    );
    let record = out.iter().find(|l| l["dn"] == "7003").expect("a preview record");
    assert_eq!(record["kv"]["GSW_USER_EVENT"], "PreviewRecord");
    assert_eq!(record["kv"]["tier"], "silver");
    let handle = record["kv"]["GSW_RECORD_HANDLE"].as_i64().unwrap();
    let out = s.say(&processed("7003", 30.0, handle, 5));
    assert_eq!(events(&out, "7003"), ["RecordProcessedAcknowledge"]);
    // A switch of mode reaches the desktop.
    let out = s.say(r#"{"t": 31, "admin": "mode", "campaign_group": "Sales@Team A", "mode": "Predictive"}"#);
    assert_eq!(events(&out, "7003"), ["CampaignModeChanged"]);
    assert!(out.iter().any(|l| l["status"]["kind"] == "mode_changed"), "{out:?}");
    s.finish();
    assert!(statuses(dir.path()).contains(&(handle, 3, 33)));
}

#[test]
fn malformed_lines_get_error_lines_and_change_nothing() {
    let dir = lists();
    let huge = format!(r#"{{"t": 1, "dn": "7001", "kv": {{"note": "{}"}}}}"#, "x".repeat(70_000));
    let corpus = [
        "this is not json",                                                  // 1
        r#"{"t": "soon"}"#,                                                  // 2
        r#"{"t": 1, "tel": "AgentLogin", "dn": 7001, "agent": "1001"}"#,     // 3 wrong type
        r#"{"t": 1, "tel": "AgentLogin", "dn": "9999", "agent": "1001"}"#,   // 4 unknown DN
        &huge,                                                               // 5
        r#"{"t": 5, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#,   // 6 fine
        r#"{"t": 4}"#,                                                       // 7 backwards
        r#"{"t": 6, "tel": "AgentReady", "dn": "7001", "colour": "red"}"#,   // 8 unknown field
        r#"{"t": 6, "dn": "7001", "kv": {"GSW_RECORD_HANDLE": [1]}}"#,       // 9 bad kv value
        r#"{"t": 6, "tel": "CallResult", "call": 99, "result": "Maybe"}"#,   // 10
        r#"{"t": 6, "admin": "start", "campaign_group": "Nobody@Nowhere"}"#, // 11 refused by engine
        r#"[1, 2, 3]"#,                                                      // 12
        r#"{"t": 6, "tel": "AgentLogin", "dn": "7001"}"#,                    // 13 missing agent
        r#"{"t": 7}"#,                                                       // 14 fine
    ];
    let mut child = serve_cmd::serve("virtual", dir.path(), &[]).spawn().unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        let mut all = corpus.join("\n");
        all.push('\n');
        // Invalid UTF-8 as line 15.
        let mut bytes = all.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        stdin.write_all(&bytes).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let errors: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|v| v["error"].as_str().map(str::to_string))
        .collect();
    let expect = [
        ("line 1:", "not a JSON object"),
        ("line 2:", "invalid type"),
        ("line 3:", "invalid type"),
        ("line 4:", "unknown DN \"9999\""),
        ("line 5:", "longer than the limit"),
        ("line 7:", "time goes backwards"),
        ("line 8:", "unknown field `colour`"),
        ("line 9:", "GSW_RECORD_HANDLE"),
        ("line 10:", "not a call result"),
        ("line 11:", "no such campaign group"),
        ("line 12:", "invalid type"),
        ("line 13:", "needs `agent`"),
        ("line 15:", "not UTF-8"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (error, (line, what)) in errors.iter().zip(expect) {
        assert!(error.starts_with(line) && error.contains(what), "{error:?} should be {line} … {what}");
    }
    // The one good login went through: its desktop got the group's events at t 5.
    let logins: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kv"]["GSW_USER_EVENT"] == "CampaignGroupAssigned")
        .collect();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0]["t"], 5.0);
}

#[test]
fn journal_survives_a_killed_process() {
    let dir = lists();
    let (mut s, _) = Serve::start(dir.path(), &[]);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7001"}"#);
    let d = dials(&out);
    let (call, handle) = (d[0]["call"].as_u64().unwrap(), d[0]["record_handle"].as_i64().unwrap());
    s.say(&format!(r#"{{"t": 5, "tel": "CallResult", "call": {call}, "result": "Answer"}}"#));
    s.say(&format!(r#"{{"t": 6, "tel": "CallConnected", "call": {call}, "dn": "7001"}}"#));
    s.say(&format!(r#"{{"t": 60, "tel": "CallReleased", "call": {call}}}"#));
    let out = s.say(&processed("7001", 70.0, handle, 9));
    assert_eq!(events(&out, "7001"), ["RecordProcessedAcknowledge"]);
    // Killed without a chance to write the lists back.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    assert!(statuses(dir.path()).contains(&(handle, 1, 28)), "the list file is still the old one");
    let journal = std::fs::read_to_string(dir.path().join("serve-example.journal")).unwrap();
    assert!(!journal.is_empty(), "the acknowledged record is in the journal");
    // A restart replays it and writes it back.
    let (s, _) = Serve::start(dir.path(), &[]);
    assert!(statuses(dir.path()).contains(&(handle, 3, 33)), "resumed from the journal");
    s.finish();
    let records = statuses(dir.path());
    assert!(records.contains(&(handle, 3, 33)));
    // Every record is still there, and none is left out of its list.
    assert_eq!(records.len(), 100);
    assert!(records.iter().all(|r| r.1 != 2), "no record left Retrieved");
    assert_eq!(std::fs::read_to_string(dir.path().join("serve-example.journal")).unwrap(), "");
}

#[test]
fn wall_clock_fires_timers_on_its_own() {
    // An answered call that finds no ready agent is dropped once the compliance time is
    // over: only a timer can do that, since no line arrives after the answer.
    let dir = lists();
    // Records callable around the clock, since the wall clock may be at any hour.
    let path = dir.path().join("serve-example.csv");
    let all_day = std::fs::read_to_string(&path).unwrap().replace(",28800,75600,", ",0,86400,");
    std::fs::write(&path, all_day).unwrap();
    let mut child =
        serve_cmd::serve("wall", dir.path(), &["--set", "switch.compliance_time_s=0.2"]).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next = |want: &dyn Fn(&Value) -> bool| loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "pacer serve ended early");
        let v: Value = serde_json::from_str(&line).unwrap();
        if want(&v) {
            return v;
        }
    };
    // `t` is ignored on the wall clock.
    writeln!(stdin, r#"{{"t": 99999, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}}"#).unwrap();
    writeln!(stdin, r#"{{"tel": "AgentReady", "dn": "7001"}}"#).unwrap();
    let dial = next(&|v| v.get("dial").is_some());
    assert!(dial["t"].as_f64().unwrap() > 1.7e9, "wall-clock lines carry Unix seconds: {dial}");
    writeln!(stdin, r#"{{"tel": "AgentNotReady", "dn": "7001"}}"#).unwrap();
    let call = dial["dial"]["call"].as_u64().unwrap();
    writeln!(stdin, r#"{{"tel": "CallResult", "call": {call}, "result": "Answer"}}"#).unwrap();
    stdin.flush().unwrap();
    let dropped = next(&|v| v.get("drop").is_some());
    assert_eq!(dropped["drop"]["call"], call);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn seizing_modes_seize_the_agent_before_dialing() {
    for mode in ["Progressive with Seizing", "Predictive with Seizing"] {
        let dir = lists();
        let set = format!("group.dial_mode={mode}");
        let (mut s, _) = Serve::start(dir.path(), &["--set", &set]);
        let out = s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7004", "agent": "1004"}"#);
        assert_eq!(out[1]["kv"]["GSW_CAMPAIGN_MODE"], mode);
        let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7004"}"#);
        let d = dials(&out);
        assert_eq!(d.len(), 1, "{mode}: one dial for the one seized agent: {out:?}");
        assert_eq!(d[0]["dn"], "7004", "{mode}: the dial names the seized place");
        let (call, handle) = (d[0]["call"].as_u64().unwrap(), d[0]["record_handle"].as_i64().unwrap());
        let out = s.say(&format!(r#"{{"t": 5, "tel": "CallResult", "call": {call}, "result": "Answer"}}"#));
        assert!(out.iter().any(|l| l["route"]["dn"] == "7004"), "{mode}: {out:?}");
        s.say(&format!(r#"{{"t": 6, "tel": "CallConnected", "call": {call}, "dn": "7004"}}"#));
        s.say(&format!(r#"{{"t": 40, "tel": "CallReleased", "call": {call}}}"#));
        let out = s.say(&processed("7004", 45.0, handle, 1));
        assert_eq!(events(&out, "7004"), ["RecordProcessedAcknowledge"], "{mode}");
        s.finish();
        assert!(statuses(dir.path()).contains(&(handle, 3, 33)), "{mode}");
    }
}

#[test]
fn push_preview_pushes_records_to_ready_agents() {
    let dir = lists();
    let (mut s, _) = Serve::start(dir.path(), &["--set", "group.dial_mode=Push Preview"]);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7005", "agent": "1005"}"#);
    let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7005"}"#);
    assert!(dials(&out).is_empty(), "{out:?}");
    let pushed = out.iter().find(|l| l["dn"] == "7005").expect("a pushed record");
    assert_eq!(pushed["kv"]["GSW_USER_EVENT"], "PreviewRecord");
    let handle = pushed["kv"]["GSW_RECORD_HANDLE"].as_i64().unwrap();
    let out = s.say(&processed("7005", 20.0, handle, 2));
    assert_eq!(events(&out, "7005")[0], "RecordProcessedAcknowledge");
    s.finish();
    assert!(statuses(dir.path()).contains(&(handle, 3, 33)));
}

#[test]
fn compaction_writes_the_lists_back_while_running() {
    let dir = lists();
    let (mut s, _) = Serve::start(dir.path(), &["--journal-compact-every", "1"]);
    s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7002", "agent": "1002"}"#);
    let out = s.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    assert!(dials(&out).is_empty());
    let out = s.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7001"}"#);
    let d = dials(&out);
    let (call, handle) = (d[0]["call"].as_u64().unwrap(), d[0]["record_handle"].as_i64().unwrap());
    // Busy: the attempt ends and the record is updated at once.
    s.say(&format!(r#"{{"t": 5, "tel": "CallResult", "call": {call}, "result": "Busy"}}"#));
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let records = statuses(dir.path());
    let after = records.iter().find(|r| r.0 == handle).unwrap();
    assert_eq!(after.2, 6, "the busy result is in the list file without a shutdown: {after:?}");
    // Records that were out when it died come back Ready on the restart.
    let (s, _) = Serve::start(dir.path(), &[]);
    s.finish();
    assert!(statuses(dir.path()).iter().all(|r| r.1 != 2));
}

/// Power GVP: no agents, the group's ports (the scenario's 5 agents) play the message. The
/// engine keeps `ceil(free ports × 1.5)` calls in flight, routes an answered call to the group
/// (a port) rather than a desktop, and dials again when a port or a line comes free.
#[test]
fn power_gvp_conversation_keeps_ports_busy_without_agents() {
    let dir = lists();
    let (mut s, first) = Serve::start(dir.path(), &["--set", "group.dial_mode=Power GVP"]);
    let d = dials(&first);
    assert_eq!(d.len(), 8, "ceil(5 free ports × 1.5) dials at the start: {first:?}");
    let calls: Vec<u64> = d.iter().map(|d| d["call"].as_u64().unwrap()).collect();
    let handles: Vec<i64> = d.iter().map(|d| d["record_handle"].as_i64().unwrap()).collect();
    assert!(d.iter().all(|d| d["cpn_digits"] == "8005550100"), "caller id on every dial");

    // An answer takes a port: 4 free ports want 6 calls, 7 are in flight, nothing new.
    let out = s.say(&format!(r#"{{"t": 5, "tel": "CallResult", "call": {}, "result": "Answer"}}"#, calls[0]));
    let route = out.iter().find_map(|l| l.get("route")).expect("the answered call is routed");
    assert_eq!(route["dn"], "Sales@Team A", "to the group's ports, not a desktop: {route}");
    assert_eq!(route["kv"]["GSW_RECORD_HANDLE"], handles[0]);
    assert!(dials(&out).is_empty(), "{out:?}");
    // A busy line ends one attempt: 6 in flight for a target of 6, still nothing.
    let out = s.say(&format!(r#"{{"t": 6, "tel": "CallResult", "call": {}, "result": "Busy"}}"#, calls[1]));
    assert!(dials(&out).is_empty(), "{out:?}");
    // The message ends and the port is free: 5 ports want 8 calls, 6 are in flight.
    let out = s.say(&format!(r#"{{"t": 40, "tel": "CallReleased", "call": {}}}"#, calls[0]));
    let again = dials(&out);
    assert_eq!(again.len(), 2, "{out:?}");
    assert!(again.iter().all(|d| !handles.contains(&d["record_handle"].as_i64().unwrap())), "fresh records");
    s.finish();
    // Both attempts are over and recorded with what telephony said: Updated (3), with call
    // result Answer (33) for the played message and Busy (6) for the other.
    let by_id = statuses(dir.path());
    assert!(by_id.contains(&(handles[0], 3, 33)), "{:?}", &by_id[..3]);
    assert!(by_id.contains(&(handles[1], 3, 6)), "{:?}", &by_id[..3]);
}
