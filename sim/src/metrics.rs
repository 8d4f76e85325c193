//! What a run measured: counters, latency histograms (HdrHistogram), a time series per 15
//! simulated minutes, and the report (text and JSON).
//!
//! The JSON report's top-level field names are stable (scripts and the README read them);
//! new fields may be added, none renamed. Wall-clock fields (`wall_seconds`,
//! `setup_wall_seconds`, `events_per_second`, `cpu_seconds`, `events_per_cpu_second`,
//! `peak_rss_mib`) are the only ones that differ between two runs of the
//! same scenario and seed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Width of one time-series interval.
pub const INTERVAL: Duration = Duration::from_secs(15 * 60);
const INTERVAL_US: u64 = 15 * 60 * 1_000_000;
/// Live answers a 15-minute window needs to count for `abandon_rate_max_window`.
pub const MIN_ANSWERED_PER_WINDOW: u64 = 20;

/// What an agent's time is spent on, for the busy factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentActivity {
    /// Ready, waiting for a call.
    Waiting,
    /// Talking to a customer.
    Talking,
    /// After-call work.
    AfterCallWork,
    /// Logged in but not ready (break, preview, crashed desktop still logged in).
    NotReady,
}

/// Counters of one 15-minute interval.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Interval {
    /// Start of the interval, seconds from the start of the run.
    pub start_s: u64,
    /// Dials placed.
    pub dials: u64,
    /// Calls answered by a person (as call progress detection says).
    pub answered_live: u64,
    /// Of the calls answered in this interval, those that found no agent free at once.
    pub answered_waited: u64,
    /// Answered calls that reached an agent.
    pub connected: u64,
    /// Answered calls that reached no agent (dropped or hung up while waiting).
    pub abandoned: u64,
    /// abandoned / answered_live in this interval.
    pub abandon_rate: f64,
    /// Share of logged-in agent time in talk and after-call work.
    pub busy_factor: f64,
    /// Mean number of agents logged in.
    pub agents_logged_in: f64,
    #[serde(skip)]
    busy_us: u64,
    #[serde(skip)]
    logged_in_us: u64,
}

/// Counts by kind, for kinds named by `&'static str` constants.
///
/// A count is taken for every message and engine output, so the look-up matters: the kinds
/// are few (tens), and the same constant comes back each time, so a scan that compares the
/// names' addresses first finds it in a few instructions (an ordered map compared strings
/// on every count). Reports read the counts in name order.
#[derive(Clone, Debug, Default)]
pub struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    /// Counts one of `kind`.
    #[inline]
    pub fn add(&mut self, kind: &'static str) {
        if let Some(entry) = self.0.iter_mut().find(|(k, _)| std::ptr::eq(*k, kind)) {
            entry.1 += 1;
        } else if let Some(entry) = self.0.iter_mut().find(|(k, _)| *k == kind) {
            // The same name from another constant.
            entry.1 += 1;
        } else {
            self.0.push((kind, 1));
        }
    }

    /// The count of `kind` (0 if never counted).
    pub fn get(&self, kind: &str) -> u64 {
        self.0.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n).sum()
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// The counts in name order.
    pub fn by_name(&self) -> BTreeMap<String, u64> {
        let mut map = BTreeMap::new();
        for &(k, n) in &self.0 {
            *map.entry(k.to_string()).or_default() += n;
        }
        map
    }
}

/// Everything counted during a run.
pub struct Metrics {
    start_us: u64,
    /// Dials placed by the dialer.
    pub dials: u64,
    /// Calls call progress detection reported as a live answer.
    pub answered_live: u64,
    /// Answered calls that found no agent free at once (they waited, then reached one or
    /// not).
    pub answered_waited: u64,
    /// Answered calls that reached an agent.
    pub connected: u64,
    /// Answered calls the switch dropped (no agent within the compliance time).
    pub dropped: u64,
    /// Answered calls whose customer hung up while waiting for an agent.
    pub hung_up: u64,
    /// Dial outcomes as call progress detection reported them, by call result name.
    pub outcomes: Tally,
    /// Requests sent by desktops, by kind.
    pub requests: Tally,
    /// Events received by desktops, by kind.
    pub events: Tally,
    /// Error events received by desktops, by error name.
    pub errors: BTreeMap<String, u64>,
    /// Error events that answered a deliberately faulty request (expected errors).
    pub expected_errors: u64,
    /// Faults injected, by kind.
    pub faults: Tally,
    /// Telephony events delivered to the engine.
    pub telephony_events: u64,
    /// Outputs taken from the engine, by kind.
    pub outputs: Tally,
    /// Customer wait from answer to agent, microseconds.
    pub customer_wait_us: Histogram<u64>,
    /// Agent wait from ready to the next connected call, microseconds.
    pub agent_wait_us: Histogram<u64>,
    /// Talk time, microseconds.
    pub talk_us: u64,
    /// After-call work, microseconds.
    pub acw_us: u64,
    /// Ready and waiting, microseconds.
    pub waiting_us: u64,
    /// Logged in, not ready, microseconds.
    pub not_ready_us: u64,
    series: Vec<Interval>,
}

impl Metrics {
    /// Empty metrics for a run starting at `start_us` (engine time, microseconds).
    pub fn new(start_us: u64) -> Metrics {
        // Three significant digits up to a day: enough for waits of microseconds to hours.
        let histogram = || Histogram::new_with_bounds(1, 86_400_000_000, 3).expect("valid bounds");
        Metrics {
            start_us,
            dials: 0,
            answered_live: 0,
            answered_waited: 0,
            connected: 0,
            dropped: 0,
            hung_up: 0,
            outcomes: Tally::default(),
            requests: Tally::default(),
            events: Tally::default(),
            errors: BTreeMap::new(),
            expected_errors: 0,
            faults: Tally::default(),
            telephony_events: 0,
            outputs: Tally::default(),
            customer_wait_us: histogram(),
            agent_wait_us: histogram(),
            talk_us: 0,
            acw_us: 0,
            waiting_us: 0,
            not_ready_us: 0,
            series: Vec::new(),
        }
    }

    fn interval(&mut self, at_us: u64) -> &mut Interval {
        let index = (at_us.saturating_sub(self.start_us) / INTERVAL_US) as usize;
        while self.series.len() <= index {
            let start_s = self.series.len() as u64 * INTERVAL.as_secs();
            self.series.push(Interval { start_s, ..Interval::default() });
        }
        &mut self.series[index]
    }

    /// A dial was placed.
    pub fn dial(&mut self, at_us: u64) {
        self.dials += 1;
        self.interval(at_us).dials += 1;
    }

    /// Call progress detection reported `result`.
    pub fn outcome(&mut self, result: &'static str, live: bool, at_us: u64) {
        self.outcomes.add(result);
        if live {
            self.answered_live += 1;
            self.interval(at_us).answered_live += 1;
        }
    }

    /// A call answered at `at_us` found no agent free: it waits.
    pub fn waited(&mut self, at_us: u64) {
        self.answered_waited += 1;
        self.interval(at_us).answered_waited += 1;
    }

    /// An answered call reached an agent after waiting `wait`.
    pub fn connected(&mut self, wait: Duration, at_us: u64) {
        self.connected += 1;
        self.interval(at_us).connected += 1;
        self.customer_wait_us.saturating_record(wait.as_micros().max(1) as u64);
    }

    /// An answered call reached no agent: dropped by the switch (`dropped`) or the customer
    /// hung up.
    pub fn abandoned(&mut self, dropped: bool, at_us: u64) {
        if dropped {
            self.dropped += 1;
        } else {
            self.hung_up += 1;
        }
        self.interval(at_us).abandoned += 1;
    }

    /// An agent waited `wait` between ready and its next call.
    pub fn agent_waited(&mut self, wait: Duration) {
        self.agent_wait_us.saturating_record(wait.as_micros().max(1) as u64);
    }

    /// An agent spent `[from_us, to_us)` on `activity`.
    pub fn agent_time(&mut self, activity: AgentActivity, from_us: u64, to_us: u64) {
        self.agents_time(activity, from_us, to_us, 1);
    }

    /// `n` agents (or IVR ports) spent `[from_us, to_us)` on `activity`.
    pub fn agents_time(&mut self, activity: AgentActivity, from_us: u64, to_us: u64, n: u64) {
        if to_us <= from_us || n == 0 {
            return;
        }
        let span = (to_us - from_us) * n;
        match activity {
            AgentActivity::Waiting => self.waiting_us += span,
            AgentActivity::Talking => self.talk_us += span,
            AgentActivity::AfterCallWork => self.acw_us += span,
            AgentActivity::NotReady => self.not_ready_us += span,
        }
        let busy = matches!(activity, AgentActivity::Talking | AgentActivity::AfterCallWork);
        // Split the span across interval boundaries.
        let mut at = from_us;
        while at < to_us {
            let offset = at.saturating_sub(self.start_us);
            let end = (self.start_us + (offset / INTERVAL_US + 1) * INTERVAL_US).min(to_us);
            let slot = self.interval(at);
            slot.logged_in_us += (end - at) * n;
            if busy {
                slot.busy_us += (end - at) * n;
            }
            at = end;
        }
    }

    /// Counts a request sent by a desktop.
    pub fn request(&mut self, kind: &'static str) {
        self.requests.add(kind);
    }

    /// Counts an event received by a desktop.
    pub fn event(&mut self, kind: &'static str) {
        self.events.add(kind);
    }

    /// Counts an error event received by a desktop.
    pub fn error(&mut self, name: String, expected: bool) {
        *self.errors.entry(name).or_default() += 1;
        self.expected_errors += u64::from(expected);
    }

    /// Counts an injected fault.
    pub fn fault(&mut self, kind: &'static str) {
        self.faults.add(kind);
    }

    /// Counts an output of the engine.
    pub fn output(&mut self, kind: &'static str) {
        self.outputs.add(kind);
    }

    /// Total logged-in agent time, microseconds.
    pub fn logged_in_us(&self) -> u64 {
        self.talk_us + self.acw_us + self.waiting_us + self.not_ready_us
    }

    /// Abandoned calls.
    pub fn abandoned_total(&self) -> u64 {
        self.dropped + self.hung_up
    }

    /// The report of the run.
    pub fn report(&self, header: ReportHeader, run: RunFigures) -> Report {
        let abandoned = self.abandoned_total();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let series: Vec<Interval> = self
            .series
            .iter()
            .map(|slot| Interval {
                abandon_rate: ratio(slot.abandoned, slot.answered_live),
                busy_factor: ratio(slot.busy_us, slot.logged_in_us),
                agents_logged_in: slot.logged_in_us as f64 / INTERVAL_US as f64,
                ..slot.clone()
            })
            .collect();
        // A window with a handful of answers says nothing about compliance (one abandon in
        // two answers is 50%): only windows with enough answers count, else the whole run.
        let abandon_rate_max_window = series
            .iter()
            .filter(|s| s.answered_live >= MIN_ANSWERED_PER_WINDOW)
            .map(|s| s.abandon_rate)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))))
            .unwrap_or(ratio(abandoned, self.answered_live));
        let logged_in_h = self.logged_in_us() as f64 / 3.6e9;
        let protocol_messages = self.requests.total() + self.events.total();
        let protocol_errors = self.errors.values().sum::<u64>();
        let wall_s = run.wall.as_secs_f64();
        Report {
            scenario: header.scenario,
            seed: header.seed,
            algorithm: header.algorithm,
            goal: header.goal,
            agents: header.agents,
            records: header.records,
            sim_seconds: run.sim_seconds,
            wall_seconds: wall_s,
            setup_wall_seconds: run.setup_wall.as_secs_f64(),
            events: run.events,
            events_per_second: if wall_s > 0.0 { run.events as f64 / wall_s } else { 0.0 },
            cpu_seconds: run.cpu.map_or(0.0, |c| c.as_secs_f64()),
            events_per_cpu_second: match run.cpu {
                Some(c) if !c.is_zero() => run.events as f64 / c.as_secs_f64(),
                _ => 0.0,
            },
            peak_rss_mib: run.peak_rss_mib,
            dials: self.dials,
            answered_live: self.answered_live,
            answered_waited: self.answered_waited,
            wait_probability: ratio(self.answered_waited, self.answered_live),
            connected: self.connected,
            abandoned,
            dropped: self.dropped,
            hung_up: self.hung_up,
            abandon_rate: ratio(abandoned, self.answered_live),
            abandon_rate_max_window,
            busy_factor: ratio(self.talk_us + self.acw_us, self.logged_in_us()),
            agent_wait_s_mean: self.agent_wait_us.mean() / 1e6,
            agent_wait_s_p95: self.agent_wait_us.value_at_quantile(0.95) as f64 / 1e6,
            customer_wait_ms_p99: self.customer_wait_us.value_at_quantile(0.99) as f64 / 1e3,
            contacts_per_agent_hour: if logged_in_h > 0.0 {
                self.connected as f64 / logged_in_h
            } else {
                0.0
            },
            protocol_messages,
            protocol_errors,
            expected_protocol_errors: self.expected_errors,
            telephony_events: self.telephony_events,
            outcomes: self.outcomes.by_name(),
            requests: self.requests.by_name(),
            events_by_kind: self.events.by_name(),
            errors: self.errors.clone(),
            faults: self.faults.by_name(),
            outputs: self.outputs.by_name(),
            ledger: run.ledger,
            queue_events: run.queue_events,
            queue_event_wall_ns: run.queue_event_wall_ns,
            series,
        }
    }
}

/// What the report says about the run's set-up.
#[derive(Clone, Debug)]
pub struct ReportHeader {
    /// Scenario name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// Pacing algorithm.
    pub algorithm: String,
    /// Pacing goal.
    pub goal: String,
    /// Agents.
    pub agents: u32,
    /// Records loaded.
    pub records: u64,
}

/// Figures of the run itself.
#[derive(Clone, Debug, Default)]
pub struct RunFigures {
    /// Simulated seconds.
    pub sim_seconds: f64,
    /// Wall-clock time of the event loop.
    pub wall: Duration,
    /// CPU time of the event loop, when the platform tells.
    pub cpu: Option<Duration>,
    /// Wall-clock time of the set-up (list generation, store, engine).
    pub setup_wall: Duration,
    /// Events taken from the event queue.
    pub events: u64,
    /// Peak resident memory of the process, MiB (0 when unknown).
    pub peak_rss_mib: f64,
    /// Final state of the record ledger.
    pub ledger: BTreeMap<String, u64>,
    /// Events taken from the queue, by kind.
    pub queue_events: BTreeMap<String, u64>,
    /// Mean wall-clock nanoseconds spent handling one event, by kind (`pacer run --profile`;
    /// empty otherwise).
    pub queue_event_wall_ns: BTreeMap<String, f64>,
}

/// The run's report; serialised as the `--json` file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Pacing algorithm.
    pub algorithm: String,
    /// Pacing goal.
    pub goal: String,
    /// Agents.
    pub agents: u32,
    /// Records loaded at the start.
    pub records: u64,
    /// Simulated seconds from the start to the unload: the scenario's duration plus the
    /// end-of-day drain (calls in progress finish, agents leave).
    pub sim_seconds: f64,
    /// Wall-clock seconds of the event loop (differs between identical runs).
    pub wall_seconds: f64,
    /// Wall-clock seconds of the set-up: list generation, record store, engine (differs
    /// between identical runs).
    pub setup_wall_seconds: f64,
    /// Items taken from the event queue (`queue_events` breaks them down by kind).
    pub events: u64,
    /// events / wall_seconds (differs between identical runs).
    pub events_per_second: f64,
    /// CPU seconds of the event loop (0 when unknown; differs between identical runs).
    pub cpu_seconds: f64,
    /// events / cpu_seconds: the rate on one core, whatever else the machine runs.
    pub events_per_cpu_second: f64,
    /// Peak resident memory, MiB (differs between identical runs).
    pub peak_rss_mib: f64,
    /// Dials placed.
    pub dials: u64,
    /// Live answers as call progress detection reported them.
    pub answered_live: u64,
    /// Answered calls that found no agent free at once (they waited, then reached one or
    /// hung up, or were dropped).
    pub answered_waited: u64,
    /// answered_waited / answered_live: the probability of waiting (Erlang C's and Erlang A's
    /// P(wait) when the run reduces to those queues).
    pub wait_probability: f64,
    /// Answered calls that reached an agent.
    pub connected: u64,
    /// Answered calls that reached no agent.
    pub abandoned: u64,
    /// Of those, dropped by the switch after the compliance time.
    pub dropped: u64,
    /// Of those, the customer hung up first.
    pub hung_up: u64,
    /// abandoned / answered_live over the run.
    pub abandon_rate: f64,
    /// Highest abandon rate of a 15-minute interval with at least
    /// [`MIN_ANSWERED_PER_WINDOW`] live answers (the whole run's rate when none has).
    pub abandon_rate_max_window: f64,
    /// Share of logged-in agent time in talk and after-call work.
    pub busy_factor: f64,
    /// Mean agent wait between calls, seconds.
    pub agent_wait_s_mean: f64,
    /// 95th percentile of agent wait, seconds.
    pub agent_wait_s_p95: f64,
    /// 99th percentile of customer wait from answer to agent, milliseconds.
    pub customer_wait_ms_p99: f64,
    /// Connected calls per logged-in agent hour.
    pub contacts_per_agent_hour: f64,
    /// Protocol messages (requests and events) exchanged with desktops.
    pub protocol_messages: u64,
    /// Error events received by desktops.
    pub protocol_errors: u64,
    /// Of those, answers to deliberately faulty requests.
    pub expected_protocol_errors: u64,
    /// Telephony events delivered to the engine.
    pub telephony_events: u64,
    /// Dial outcomes by call result.
    pub outcomes: BTreeMap<String, u64>,
    /// Requests by kind.
    pub requests: BTreeMap<String, u64>,
    /// Desktop events by kind.
    pub events_by_kind: BTreeMap<String, u64>,
    /// Error events by error.
    pub errors: BTreeMap<String, u64>,
    /// Faults injected by kind.
    pub faults: BTreeMap<String, u64>,
    /// Engine outputs by kind.
    pub outputs: BTreeMap<String, u64>,
    /// Records at the end, by final status, and the ledger's counters.
    pub ledger: BTreeMap<String, u64>,
    /// Events taken from the queue, by kind.
    pub queue_events: BTreeMap<String, u64>,
    /// Mean wall-clock nanoseconds to handle one event, by kind: a wall-clock field, only
    /// with `pacer run --profile` (absent otherwise).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub queue_event_wall_ns: BTreeMap<String, f64>,
    /// One entry per 15 simulated minutes.
    pub series: Vec<Interval>,
}

impl Report {
    /// The report as JSON, with wall-clock fields zeroed: equal for equal runs.
    pub fn deterministic_json(&self) -> String {
        let mut copy = self.clone();
        copy.wall_seconds = 0.0;
        copy.setup_wall_seconds = 0.0;
        copy.events_per_second = 0.0;
        copy.cpu_seconds = 0.0;
        copy.events_per_cpu_second = 0.0;
        copy.peak_rss_mib = 0.0;
        copy.queue_event_wall_ns.clear();
        serde_json::to_string_pretty(&copy).expect("a report serialises")
    }

    /// The text summary.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ =
            writeln!(s, "scenario {}  seed {}  {} / {}", self.scenario, self.seed, self.algorithm, self.goal);
        let _ = writeln!(
            s,
            "{} agents, {} records (set up in {:.3} s), {:.0} simulated s in {:.3} wall s ({:.3} CPU s): {} events ({:.2} M events/s wall, {:.2} M per CPU s)",
            self.agents,
            self.records,
            self.setup_wall_seconds,
            self.sim_seconds,
            self.wall_seconds,
            self.cpu_seconds,
            self.events,
            self.events_per_second / 1e6,
            self.events_per_cpu_second / 1e6
        );
        let _ = writeln!(
            s,
            "dials {}  answered live {}  connected {}  abandoned {} (dropped {}, hung up {})",
            self.dials, self.answered_live, self.connected, self.abandoned, self.dropped, self.hung_up
        );
        let _ = writeln!(
            s,
            "abandon rate {:.2}% (worst 15 min {:.2}%)  waited for an agent {:.2}%  busy factor {:.1}%  contacts/agent-hour {:.1}",
            self.abandon_rate * 100.0,
            self.abandon_rate_max_window * 100.0,
            self.wait_probability * 100.0,
            self.busy_factor * 100.0,
            self.contacts_per_agent_hour
        );
        let _ = writeln!(
            s,
            "agent wait mean {:.1} s, p95 {:.1} s  customer wait p99 {:.1} ms",
            self.agent_wait_s_mean, self.agent_wait_s_p95, self.customer_wait_ms_p99
        );
        let _ = writeln!(
            s,
            "protocol messages {}  errors {} ({} expected from injected faults)  telephony events {}",
            self.protocol_messages,
            self.protocol_errors,
            self.expected_protocol_errors,
            self.telephony_events
        );
        let join = |m: &BTreeMap<String, u64>| {
            m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(s, "requests: {}", join(&self.requests));
        if !self.errors.is_empty() {
            let _ = writeln!(s, "errors: {}", join(&self.errors));
        }
        if !self.faults.is_empty() {
            let _ = writeln!(s, "faults: {}", join(&self.faults));
        }
        let _ = writeln!(s, "events by kind: {}", join(&self.queue_events));
        if !self.queue_event_wall_ns.is_empty() {
            // Where the loop's wall time went: mean per event and share of the whole.
            let total: f64 = self
                .queue_event_wall_ns
                .iter()
                .map(|(k, ns)| ns * self.queue_events.get(k).copied().unwrap_or(0) as f64)
                .sum();
            let rows: Vec<String> = self
                .queue_event_wall_ns
                .iter()
                .map(|(k, ns)| {
                    let share = ns * self.queue_events.get(k).copied().unwrap_or(0) as f64 / total.max(1.0);
                    format!("{k} {:.2} us ({:.1}%)", ns / 1000.0, 100.0 * share)
                })
                .collect();
            let _ = writeln!(s, "wall per event by kind: {}", rows.join(", "));
        }
        let _ = writeln!(s, "records at the end: {}", join(&self.ledger));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of a test report: one agent, no records.
    fn header() -> ReportHeader {
        ReportHeader {
            scenario: "t".into(),
            seed: 1,
            algorithm: "a".into(),
            goal: "g".into(),
            agents: 1,
            records: 0,
        }
    }

    #[test]
    fn agent_time_splits_across_intervals_and_feeds_busy_factor() {
        let mut m = Metrics::new(1_000);
        let min = 60_000_000;
        m.agent_time(AgentActivity::Talking, 1_000 + 10 * min, 1_000 + 20 * min);
        m.agent_time(AgentActivity::Waiting, 1_000 + 20 * min, 1_000 + 30 * min);
        let r = m.report(header(), RunFigures::default());
        assert_eq!(r.series.len(), 2);
        // First interval: 5 min talking of 5 min logged in; second: 5 talking, 10 waiting.
        assert_eq!(r.series[0].busy_factor, 1.0);
        assert!((r.series[1].busy_factor - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.busy_factor - 0.5).abs() < 1e-12);
        assert_eq!(r.contacts_per_agent_hour, 0.0);
    }

    #[test]
    fn several_ports_count_as_several_agents() {
        let mut m = Metrics::new(0);
        m.agents_time(AgentActivity::Talking, 0, 1_000_000, 3);
        m.agents_time(AgentActivity::Waiting, 0, 1_000_000, 1);
        assert_eq!((m.talk_us, m.waiting_us, m.logged_in_us()), (3_000_000, 1_000_000, 4_000_000));
        let r = m.report(ReportHeader { agents: 4, ..header() }, RunFigures::default());
        assert_eq!(r.busy_factor, 0.75);
        assert_eq!(r.series[0].busy_factor, 0.75);
    }

    #[test]
    fn abandon_rates_overall_and_worst_window() {
        let mut m = Metrics::new(0);
        for i in 0..20 {
            m.outcome("Answer", true, i);
        }
        m.abandoned(true, 5);
        // A second window with one answer, abandoned: too few answers to count.
        m.outcome("Answer", true, INTERVAL_US + 1);
        m.abandoned(false, INTERVAL_US + 2);
        m.connected(Duration::from_millis(300), 3);
        let r = m.report(header(), RunFigures::default());
        assert_eq!((r.abandoned, r.dropped, r.hung_up), (2, 1, 1));
        assert!((r.abandon_rate - 2.0 / 21.0).abs() < 1e-12);
        assert_eq!(r.series[1].abandon_rate, 1.0);
        assert_eq!(r.abandon_rate_max_window, 1.0 / 20.0);
        assert!((r.customer_wait_ms_p99 - 300.0).abs() < 1.0);
    }

    #[test]
    fn a_window_can_abandon_more_calls_than_it_answers() {
        // Calls answered at the end of one window are abandoned in the next: a window counts
        // abandons when they happen and answers when they happen, so an overloaded floor can
        // show a window rate above 1 (merge must take it; see `sweep::merge`).
        let mut m = Metrics::new(0);
        for i in 0..5 {
            m.outcome("Answer", true, INTERVAL_US - 10 + i);
        }
        for i in 0..20 {
            m.outcome("Answer", true, INTERVAL_US + i);
        }
        for i in 0..25 {
            m.abandoned(false, INTERVAL_US + 100 + i);
        }
        let r = m.report(header(), RunFigures::default());
        assert_eq!(r.abandon_rate, 1.0);
        assert_eq!(r.abandon_rate_max_window, 25.0 / 20.0);
    }
}
