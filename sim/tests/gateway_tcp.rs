//! End-to-end test of `pacer serve --listen`: several TCP clients with roles and a token,
//! status notifications to a loopback HTTP receiver, Prometheus metrics, and shutdown on
//! SIGTERM writing the lists back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const PACER: &str = env!("CARGO_BIN_EXE_pacer");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One TCP client; `say` sends a line and returns the replies up to the error line that a
/// deliberately unknown key causes (the end marker).
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    }

    fn sync(&mut self) -> Vec<Value> {
        self.stream.write_all(b"{\"sync\": 1}\n").unwrap();
        let mut out = Vec::new();
        loop {
            let v = self.read().expect("the gateway closed the connection");
            if v["error"].as_str().is_some_and(|e| e.contains("unknown field `sync`")) {
                return out;
            }
            out.push(v);
        }
    }

    fn say(&mut self, line: &str) -> Vec<Value> {
        self.stream.write_all(line.as_bytes()).unwrap();
        self.stream.write_all(b"\n").unwrap();
        self.sync()
    }
}

fn errors(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["error"].as_str()).collect()
}

/// A loopback HTTP receiver: sends each POSTed body on the channel, answers 200.
fn receiver() -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
            assert!(request_line.starts_with("POST /status"), "{request_line}");
            let _ = tx.send(serde_json::from_slice(&body).unwrap());
        }
    });
    (url, rx)
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn several_clients_with_roles_notifications_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("scenarios/lists/serve-example.csv"), dir.path().join("serve-example.csv"))
        .unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let (url, notes) = receiver();
    let mut child = Command::new(PACER)
        .args(["serve", "--listen", "127.0.0.1:0", "--clock", "virtual", "--metrics", "127.0.0.1:0"])
        .arg("--scenario")
        .arg(repo().join("scenarios/serve-example.toml"))
        .arg("--lists")
        .arg(dir.path())
        .arg("--token-file")
        .arg(&token)
        .args(["--notify-url", &url, "--max-clients", "5"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut listen, mut metrics) = (None, None);
    while listen.is_none() || metrics.is_none() {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "pacer serve did not start");
        if let Some(a) = line.trim().strip_prefix("pacer serve: listening on ") {
            listen = Some(a.to_string());
        }
        if let Some(a) = line.trim().strip_prefix("pacer serve: metrics on http://") {
            metrics = Some(a.trim_end_matches("/metrics").to_string());
        }
    }
    let (listen, metrics) = (listen.unwrap(), metrics.unwrap());

    // Without the token nothing is accepted.
    let mut intruder = Client::connect(&listen);
    let out = intruder.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    assert!(errors(&out)[0].contains("first line must be a hello"), "{out:?}");
    let out = intruder.say(r#"{"hello": {"token": "guess", "role": "admin"}}"#);
    assert!(errors(&out)[0].contains("wrong token"), "{out:?}");

    let hello = |role: &str, dn: Option<&str>| {
        let dn = dn.map(|d| format!(r#", "dn": "{d}""#)).unwrap_or_default();
        format!(r#"{{"hello": {{"token": "s3cret", "role": "{role}"{dn}}}}}"#)
    };
    let mut dialer = Client::connect(&listen);
    assert_eq!(dialer.say(&hello("dialer", None))[0]["hello"]["role"], "dialer");
    let mut d1 = Client::connect(&listen);
    d1.say(&hello("desktop", Some("7001")));
    let mut d2 = Client::connect(&listen);
    d2.say(&hello("desktop", Some("7002")));
    let mut admin = Client::connect(&listen);
    admin.say(&hello("admin", None));
    // The sixth connection is over the limit.
    let mut extra = Client::connect(&listen);
    let refused = extra.read().expect("an error line");
    assert!(refused["error"].as_str().unwrap().contains("too many clients"), "{refused}");

    // Who may say what.
    let out = d1.say(r#"{"t": 0, "dn": "7002", "kv": {"GSW_AGENT_REQ_TYPE": "ReadyTime"}}"#);
    assert!(errors(&out)[0].contains("may not speak for 7002"), "{out:?}");
    let out = d1.say(r#"{"t": 0, "tel": "AgentReady", "dn": "7001"}"#);
    assert!(errors(&out)[0].contains("dialer only"), "{out:?}");
    let out = dialer.say(r#"{"t": 0, "admin": "stop", "campaign_group": "Sales@Team A"}"#);
    assert!(errors(&out)[0].contains("admin only"), "{out:?}");

    // The dialer reports logins; each desktop hears only its own events.
    dialer.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#);
    dialer.say(r#"{"t": 0, "tel": "AgentLogin", "dn": "7002", "agent": "1002"}"#);
    let e1 = d1.sync();
    let e2 = d2.sync();
    assert_eq!(e1.len(), 2, "{e1:?}");
    assert!(e1.iter().all(|l| l["dn"] == "7001"));
    assert!(e2.iter().all(|l| l["dn"] == "7002") && e2.len() == 2, "{e2:?}");
    let out = dialer.say(r#"{"t": 1, "tel": "AgentReady", "dn": "7001"}"#);
    let dial = out.iter().find_map(|l| l.get("dial")).expect("the dialer gets the dials").clone();
    assert!(d1.sync().iter().all(|l| l.get("dial").is_none()), "desktops get no dial lines");
    let call = dial["call"].as_u64().unwrap();
    let out = dialer.say(&format!(r#"{{"t": 4, "tel": "CallResult", "call": {call}, "result": "Answer"}}"#));
    assert!(out.iter().any(|l| l["route"]["dn"] == "7001"), "{out:?}");

    // The operator stops the group: a status line for the admin, a notification for the
    // application server.
    let out = admin.say(r#"{"t": 5, "admin": "stop", "campaign_group": "Sales@Team A"}"#);
    assert!(out.iter().any(|l| l["status"]["kind"] == "stopped"), "{out:?}");
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let note = notes.recv_timeout(Duration::from_secs(20)).expect("a notification");
        assert_eq!(note["campaign_group"], "Sales@Team A");
        kinds.push(note["kind"].as_str().unwrap().to_string());
    }
    assert_eq!(kinds, ["loaded", "started", "stopped"]);

    let text = http_get(&metrics, "/metrics");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for name in [
        "pacer_dials_total 1",
        "pacer_answered_total 1",
        "pacer_routed_total 1",
        "pacer_request_latency_seconds_bucket",
        "pacer_clients 5",
        "pacer_lines_total{kind=\"hello\"} 5",
        "pacer_lines_total{kind=\"desktop\"} 1",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(text.contains("pacer_agents{group=\"Sales@Team A\",state=\"talking\"}"), "{text}");
    assert!(http_get(&metrics, "/other").starts_with("HTTP/1.1 404"));

    // SIGTERM: the gateway unloads, writes the lists back and exits cleanly.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let list = std::fs::read_to_string(dir.path().join("serve-example.csv")).unwrap();
    assert_eq!(list.lines().count(), 101);
    let note = notes.recv_timeout(Duration::from_secs(20)).expect("the unload notification");
    assert_eq!(note["kind"], "unloaded");
}

#[test]
fn a_non_loopback_address_needs_a_token() {
    let output = Command::new(PACER)
        .args(["serve", "--listen", "0.0.0.0:0", "--scenario"])
        .arg(repo().join("scenarios/serve-example.toml"))
        .arg("--lists")
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("needs --token-file"), "{err}");
}
