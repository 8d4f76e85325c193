//! Prometheus metrics of the gateway (`--metrics 127.0.0.1:PORT`), in the OpenMetrics text
//! format that `prometheus-client` encodes and Prometheus scrapes.
//!
//! The engine thread updates counters as outputs go by and refreshes the per-group gauges
//! (agents by state, dial level, abandon rates) from the pacer's snapshot at most every
//! 250 ms of wall time; a small HTTP thread answers `GET /metrics`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The gateway's metrics (cheap to clone: every metric is shared).
#[derive(Clone)]
pub struct Metrics {
    /// Input lines by kind (`desktop`, `telephony`, `admin`, `clock`, `hello`).
    pub lines: Family<Labels, Counter>,
    /// Error lines sent.
    pub errors: Counter,
    /// Dials asked of the dialer.
    pub dials: Counter,
    /// Live answers reported by the dialer.
    pub answered: Counter,
    /// Calls the customer abandoned while waiting, plus calls dropped for want of an agent.
    pub abandoned: Counter,
    /// Answered calls routed to an agent.
    pub routed: Counter,
    /// Record updates journaled.
    pub record_updates: Counter,
    /// Clients disconnected because their queue was full.
    pub slow_clients: Counter,
    /// Abandon rate per window (`last_n`, `last_t`, `day`, `campaign`, `compliance`) and group.
    pub abandon_rate: Family<Labels, FloatGauge>,
    /// Agents by group and state.
    pub agents: Family<Labels, Gauge>,
    /// Dial level by group.
    pub dial_level: Family<Labels, FloatGauge>,
    /// Calls by group and kind (`in_flight`, `waiting`).
    pub calls: Family<Labels, Gauge>,
    /// Queue depths (`engine`, `notify`, `clients_max`).
    pub queue_depth: Family<Labels, Gauge>,
    /// Connected clients.
    pub clients: Gauge,
    /// Notifications by outcome (`sent`, `failed`, `dropped`).
    pub notifications: Family<Labels, Gauge>,
    /// Seconds from a line's arrival to its replies being handed to the transport.
    pub latency: Histogram,
    line_counters: Vec<Counter>,
}

const LINE_KINDS: [&str; 5] = ["desktop", "telephony", "admin", "clock", "hello"];

impl Metrics {
    /// New metrics registered in a new registry.
    pub fn new() -> (Metrics, Registry) {
        let m = Metrics {
            lines: Family::default(),
            errors: Counter::default(),
            dials: Counter::default(),
            answered: Counter::default(),
            abandoned: Counter::default(),
            routed: Counter::default(),
            record_updates: Counter::default(),
            slow_clients: Counter::default(),
            abandon_rate: Family::default(),
            agents: Family::default(),
            dial_level: Family::default(),
            calls: Family::default(),
            queue_depth: Family::default(),
            clients: Gauge::default(),
            notifications: Family::default(),
            // 1 us to ~4 s.
            latency: Histogram::new(exponential_buckets(1e-6, 4.0, 12)),
            line_counters: Vec::new(),
        };
        let mut m = m;
        m.line_counters = LINE_KINDS
            .iter()
            .map(|k| m.lines.get_or_create(&vec![("kind", k.to_string())]).clone())
            .collect();
        let mut r = Registry::with_prefix("pacer");
        r.register("lines", "Input lines by kind", m.lines.clone());
        r.register("errors", "Error lines sent", m.errors.clone());
        r.register("dials", "Dials asked of the dialer", m.dials.clone());
        r.register("answered", "Live answers reported by the dialer", m.answered.clone());
        r.register(
            "abandoned",
            "Answered calls that reached no agent (abandoned or dropped)",
            m.abandoned.clone(),
        );
        r.register("routed", "Answered calls routed to an agent", m.routed.clone());
        r.register("record_updates", "Record updates written to the journal", m.record_updates.clone());
        r.register(
            "slow_clients",
            "Clients disconnected because their queue was full",
            m.slow_clients.clone(),
        );
        r.register("abandon_rate", "Abandoned / answered per window", m.abandon_rate.clone());
        r.register("agents", "Agents by state", m.agents.clone());
        r.register("dial_level", "Calls in progress per available agent", m.dial_level.clone());
        r.register("calls", "Calls by kind", m.calls.clone());
        r.register("queue_depth", "Queued items", m.queue_depth.clone());
        r.register("clients", "Connected clients", m.clients.clone());
        r.register("notifications", "Status notifications by outcome", m.notifications.clone());
        r.register("request_latency_seconds", "Line arrival to replies handed out", m.latency.clone());
        (m, r)
    }

    /// Counts one input line of `kind`.
    pub fn line(&self, kind: &'static str) {
        // The counters of the five kinds are created up front; looking one up by its
        // label set would allocate on every line.
        match LINE_KINDS.iter().position(|k| *k == kind) {
            Some(i) => self.line_counters[i].inc(),
            None => self.lines.get_or_create(&vec![("kind", kind.to_string())]).inc(),
        };
    }

    /// Sets a per-group gauge.
    pub fn group_gauge(family: &Family<Labels, Gauge>, group: &str, key: &'static str, value: &str, v: i64) {
        family.get_or_create(&vec![("group", group.to_string()), (key, value.to_string())]).set(v);
    }

    /// Sets a per-group float gauge.
    pub fn group_float(
        family: &Family<Labels, FloatGauge>,
        group: &str,
        extra: Option<(&'static str, &str)>,
        v: f64,
    ) {
        let mut labels = vec![("group", group.to_string())];
        if let Some((k, val)) = extra {
            labels.push((k, val.to_string()));
        }
        family.get_or_create(&labels).set(v);
    }

    /// Sets a plain labelled gauge.
    pub fn labelled(family: &Family<Labels, Gauge>, key: &'static str, value: &str, v: i64) {
        family.get_or_create(&vec![(key, value.to_string())]).set(v);
    }
}

/// The registry encoded as text.
pub fn render(registry: &Registry) -> String {
    let mut text = String::new();
    // Encoding into a String cannot fail.
    let _ = encode(&mut text, registry);
    text
}

/// Serves `GET /metrics` on `addr` from a thread; returns the bound address.
pub fn serve(addr: SocketAddr, registry: Registry) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    let registry = Arc::new(registry);
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
            // Read the request head (bounded); only its first line matters.
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let first = String::from_utf8_lossy(&head);
            let first = first.lines().next().unwrap_or("");
            let response = if first.starts_with("GET /metrics") {
                let body = render(&registry);
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
            };
            let _ = stream.write_all(response.as_bytes());
        }
    })?;
    Ok(bound)
}
