//! The world around the engine: agents and their desktops, customers, the dialer and the
//! switch, driven by one event queue in virtual time.
//!
//! The engine ([`Server`]) is the system under test. The world feeds it desktop requests (real
//! key-value lists from [`desktop`]), telephony events and timer ticks, and acts on its
//! outputs: dial commands go to the dialer model, routed calls to agents, desktop events are
//! encoded, decoded again and handed to the desktop that they are for. After the run the world
//! checks the engine's invariants and its own ledger of records.
//!
//! An *event* is one item taken from the event queue: an agent logging in, a dial result
//! arriving, a talk or after-call work ending, a customer losing patience, an engine timer,
//! a desktop retry. Everything an event causes (requests, engine outputs, the desktop's
//! reactions) is part of handling it.

mod calls;
pub mod customers;
pub mod desktop;
pub mod switch;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use compact_str::{CompactString, format_compact};
use pacer_engine::campaign::CampaignGroupConfig;
use pacer_engine::kv::KvList;
use pacer_engine::pacing::{Algorithm, Goal, PacingConfig};
use pacer_engine::protocol::{
    CallResult, CallbackType, DialMode, ErrorCode, Event, EventBody, RecordStatus, RecordType, RequestBody,
    Treatment,
};
use pacer_engine::records::{RecordHandle, RecordStore};
use pacer_engine::server::{
    AdminCommand, CallId, DialCommand, Dn, Input, Output, Server, ServerConfig, TelephonyEvent,
};
use pacer_engine::time::Time;
use rand::{Rng, SeedableRng};

use crate::dist::{SimRng, chance};
use crate::metrics::{AgentActivity, Metrics, Report, ReportHeader, RunFigures};
use crate::oracle::Oracle;
use crate::plot::TracePoint;
use crate::queue::EventQueue;
use crate::scenario::{GoalSpec, Scenario};
use calls::CallTable;
use customers::{DialPlan, Party, Population, customer_index, phone_of};
use desktop::{Held, RequestFault, Requests};
use switch::Switch;

/// How often the end of the run checks whether everyone has left.
const DRAIN_CHECK: Duration = Duration::from_secs(10);
/// The longest the end of the run waits for agents to finish their calls.
const DRAIN_MAX: Duration = Duration::from_secs(3600);

/// How much longer than the compliance time an answered call waits for an agent before the
/// line is released (the engine drops it after the compliance time; this bounds a call the
/// engine lost, and leaves a customer with no end to their patience waiting as long as the
/// engine lets them).
const WAIT_MARGIN: Duration = Duration::from_secs(120);

/// A desktop waiting for a smart logout asks again no sooner than this, in seconds.
const LOGOUT_RETRY_MIN_S: i64 = 30;

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The seed of the run's generator.
    pub seed: u64,
    /// Stop after this many events (to replay up to a reported violation).
    pub until_event: Option<u64>,
    /// Called now and then with (simulated seconds done, simulated seconds in all).
    pub progress: Option<fn(f64, f64)>,
    /// Sample the group's state this often into [`RunOutcome::trace`] (for `--plot`).
    pub trace_every: Option<Duration>,
    /// Time each event's handling on the wall clock and report the mean per kind
    /// ([`Report::queue_event_wall_ns`]); costs two clock reads per event.
    pub profile: bool,
}

/// A broken invariant: what, and where to replay it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the event being handled (replay with `--until-event`).
    pub event_index: u64,
    /// Simulated time.
    pub at: Time,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} at {}: {}", self.event_index, self.at, self.what)
    }
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report.
    pub report: Report,
    /// The first invariant found broken, if any.
    pub violation: Option<Violation>,
    /// The group's state sampled every [`RunOptions::trace_every`] (empty without it).
    pub trace: Vec<TracePoint>,
}

/// Builds the engine's pacing configuration from the scenario's `[pacing]` table.
pub fn pacing_config(scenario: &Scenario) -> Result<PacingConfig, String> {
    let mut config: PacingConfig = if scenario.pacing.settings.is_empty() {
        PacingConfig::default()
    } else {
        toml::Value::Table(scenario.pacing.settings.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("pacing.settings: {}", e.message()))?
    };
    // The oracle and the constant level decide in the simulator (see [`crate::oracle`] and
    // [`CONSTANT_LEVEL`]); the engine's algorithm setting is then never consulted.
    config.algorithm = if scenario.pacing.algorithm == ORACLE || scenario.pacing.algorithm == CONSTANT_LEVEL {
        Algorithm::Progressive
    } else {
        algorithm(&scenario.pacing.algorithm)?
    };
    config.goal = match scenario.pacing.goal {
        GoalSpec::OverdialRate(v) => Goal::OverdialRate(v),
        GoalSpec::BusyFactor(v) => Goal::BusyFactor(v),
        GoalSpec::AgentWaitS(v) => Goal::AgentWaitS(v),
    };
    config.compliance_time = Duration::from_secs_f64(scenario.switch.compliance_time_s.max(0.0));
    match (scenario.pacing.algorithm == CONSTANT_LEVEL, scenario.pacing.level) {
        (true, None | Some(0)) => {
            return Err(format!("pacing.level: the {CONSTANT_LEVEL} pacer needs a level of at least 1"));
        }
        (false, Some(_)) => {
            return Err(format!(
                "pacing.level: only the {CONSTANT_LEVEL} pacer reads it, not `{}`",
                scenario.pacing.algorithm
            ));
        }
        _ => {}
    }
    Ok(config)
}

/// Draws of the time from dial to live answer (ring plus call progress detection) for the
/// oracle, from a generator of their own, so the run's own draws stay those of every
/// other algorithm (common random numbers).
fn answer_time_draws(scenario: &Scenario) -> Vec<f64> {
    let mut rng = SimRng::seed_from_u64(0x0a11_5ee5);
    let cpd_s = scenario.dialer.cpd_s.max(0.0);
    (0..2048).map(|_| scenario.customers.ring.dist.sample_s(&mut rng) + cpd_s).collect()
}

/// The name of the simulator-only reference pacer (see [`crate::oracle`]).
pub const ORACLE: &str = "oracle";

/// The name of the simulator-only pacer that keeps `pacing.level` dials in flight whatever
/// the agents do: each dial whose result comes in is replaced in the same instant (the engine
/// paces on every call result), so with exponential times from dial to result the results
/// form a Poisson stream of rate `level / mean`, and the answered ones, taken independently
/// with the answer probability, a Poisson stream too. Answered calls then queue for the
/// agents as in an inbound queue: the reduction `scenarios/erlang-a.toml` checks against
/// Erlang A and C. It decides through
/// [`pacer_engine::pacing::GroupPacer::set_external_in_flight`]; the per-agent cap
/// (`max_dials_per_agent`) and the compliance governor still apply.
pub const CONSTANT_LEVEL: &str = "constant_level";

/// The algorithm named `name` (the names `pacer` documents).
pub fn algorithm(name: &str) -> Result<Algorithm, String> {
    Ok(match name {
        "progressive" => Algorithm::Progressive,
        "predictive" => Algorithm::Predictive,
        "small_group" => Algorithm::SmallGroup,
        "advanced_small_group" => Algorithm::AdvancedSmallGroup,
        "time_optimized" => Algorithm::TimeOptimized,
        "fixed_ratio" => Algorithm::FixedRatio,
        "vicidial_adapt" => Algorithm::VicidialAdapt,
        other => {
            return Err(format!(
                "pacing.algorithm: unknown algorithm `{other}` (progressive, predictive, small_group, \
                 advanced_small_group, time_optimized, fixed_ratio, vicidial_adapt; oracle and constant_level in the simulator)"
            ));
        }
    })
}

/// The engine's configuration for a scenario.
pub fn server_config(scenario: &Scenario) -> Result<ServerConfig, String> {
    let mode = DialMode::from_wire(&scenario.group.dial_mode)
        .ok_or_else(|| format!("group.dial_mode: `{}` is not a dialing mode", scenario.group.dial_mode))?;
    let name = scenario.group.group_name();
    let list_names = if scenario.records.csv.is_some() {
        vec![scenario.records.list.clone()]
    } else {
        customers::list_names(&scenario.records)
    };
    let mut group = CampaignGroupConfig::new(
        &name,
        &scenario.group.campaign,
        &scenario.group.agent_group,
        &list_names.iter().map(String::as_str).collect::<Vec<_>>(),
        mode,
    );
    group.pacing = pacing_config(scenario)?;
    group.cpn_digits = scenario.group.cpn_digits.clone();
    group.ivr_group = scenario.group.ivr;
    group.options.max_agents = scenario.agents.count.max(1);
    group.options.gvp_ports = scenario.agents.count.max(1);
    if let Some(seconds) = scenario.group.dial_result_timeout_s {
        group.options.dial_result_timeout = Duration::try_from_secs_f64(seconds).map_err(|_| {
            format!("group.dial_result_timeout_s: {seconds} is not a non-negative number of seconds")
        })?;
    }
    Ok(ServerConfig::new(scenario.application_id, vec![group]))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not logged in yet, on a break, or gone for the day.
    Out,
    Ready,
    Talking,
    AfterCallWork,
    NotReady,
    /// The desktop crashed.
    Crashed,
}

impl Phase {
    fn activity(self) -> Option<AgentActivity> {
        match self {
            Phase::Ready => Some(AgentActivity::Waiting),
            Phase::Talking => Some(AgentActivity::Talking),
            Phase::AfterCallWork => Some(AgentActivity::AfterCallWork),
            Phase::NotReady => Some(AgentActivity::NotReady),
            Phase::Out | Phase::Crashed => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leave {
    Break,
    EndOfShift,
}

struct Agent {
    dn: Dn,
    login_id: CompactString,
    phase: Phase,
    since: Time,
    ready_since: Time,
    /// Bumped when the desktop crashes: events scheduled before are void.
    epoch: u32,
    call: Option<u64>,
    held: Vec<Held>,
    leaving: Option<Leave>,
    logout_acked: bool,
    /// Logged out by telephony in the middle of a call (fault): errors until it logs in again
    /// are expected.
    telephony_out: bool,
    /// Done for the day (end of shift, or crashed for good).
    done: bool,
    shift_end: Time,
    /// The ReadyTime estimate to send, once the hint is due.
    ready_hint_s: Option<i64>,
    /// The dial a preview agent placed.
    preview_plan: Option<DialPlan>,
    /// After-call work drawn when the call connected (oracle runs only: the oracle knows it).
    acw_planned: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Dialing,
    Waiting,
    Talking,
    Done,
}

struct Call {
    plan: DialPlan,
    state: CallState,
    answered_at: Time,
    agent: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Login(u32),
    Timer,
    DialReport(u64),
    LineFree,
    Patience(u64),
    TalkEnd(u32, u32),
    UpdateStats(u32, u32),
    ReadyHint(u32, u32),
    AcwEnd(u32, u32),
    LeaveWish(u32, Leave),
    LogoutRetry(u32, u32),
    PreviewRequest(u32, u32),
    PreviewDial(u32, u32),
    PreviewOutcome(u32, u32),
    ProcessHeld(u32, u32),
    Crash(u32, u32),
    TelephonyLogout(u32, u32),
    IvrRelease(u64),
    StateAudit,
    Stop,
    SendHome,
    Unload,
    /// The dialer had no free line for the call: its result goes back to the engine.
    NoPort(u64),
}

impl Ev {
    /// Names of the kinds, indexed by [`Ev::index`].
    const NAMES: [&'static str; 23] = [
        "Login",
        "Timer",
        "DialReport",
        "LineFree",
        "Patience",
        "TalkEnd",
        "UpdateStats",
        "ReadyHint",
        "AcwEnd",
        "LeaveWish",
        "LogoutRetry",
        "PreviewRequest",
        "PreviewDial",
        "PreviewOutcome",
        "ProcessHeld",
        "Crash",
        "TelephonyLogout",
        "IvrRelease",
        "StateAudit",
        "Stop",
        "SendHome",
        "Unload",
        "NoPort",
    ];

    fn index(self) -> usize {
        match self {
            Ev::Login(..) => 0,
            Ev::Timer => 1,
            Ev::DialReport(..) => 2,
            Ev::LineFree => 3,
            Ev::Patience(..) => 4,
            Ev::TalkEnd(..) => 5,
            Ev::UpdateStats(..) => 6,
            Ev::ReadyHint(..) => 7,
            Ev::AcwEnd(..) => 8,
            Ev::LeaveWish(..) => 9,
            Ev::LogoutRetry(..) => 10,
            Ev::PreviewRequest(..) => 11,
            Ev::PreviewDial(..) => 12,
            Ev::PreviewOutcome(..) => 13,
            Ev::ProcessHeld(..) => 14,
            Ev::Crash(..) => 15,
            Ev::TelephonyLogout(..) => 16,
            Ev::IvrRelease(..) => 17,
            Ev::StateAudit => 18,
            Ev::Stop => 19,
            Ev::SendHome => 20,
            Ev::Unload => 21,
            Ev::NoPort(..) => 22,
        }
    }
}

/// What came back for one request.
#[derive(Clone, Copy, Debug, Default)]
struct Answer {
    accepted: bool,
    error: Option<ErrorCode>,
}

/// The simulated contact centre.
pub struct World<'s> {
    scenario: &'s Scenario,
    seed: u64,
    rng: SimRng,
    queue: EventQueue<Ev>,
    server: Server,
    population: Population,
    metrics: Metrics,
    requests: Requests,
    group_name: String,
    mode: DialMode,
    now: Time,
    start: Time,
    end: Time,
    events: u64,
    agents: Vec<Agent>,
    agent_by_dn: foldhash::HashMap<Dn, u32>,
    calls: CallTable,
    switch: Switch<u64>,
    lines_busy: u32,
    timer_at: Option<Time>,
    next_reference: i64,
    next_new_index: u64,
    /// Numbers added to the do-not-call list by acknowledged DoNotCall requests.
    dnc_added: BTreeSet<u64>,
    /// Record handle -> agent holding it, for the "one desktop" check.
    holder: foldhash::HashMap<i64, u32>,
    stopping: bool,
    unloaded: bool,
    violation: Option<Violation>,
    out: Vec<Output>,
    /// Ledger counts.
    dials_outside_window: u64,
    dials_dnc: u64,
    dials_without_caller_id: u64,
    misroutes: u64,
    initial_records: u64,
    /// Wall time spent building the list, the store and the engine.
    setup_wall: Duration,
    /// The oracle pacer, when the scenario asks for it.
    oracle: Option<Oracle>,
    /// Samples for `--plot`.
    trace: Vec<TracePoint>,
    /// (calls, records) the engine still had open when the group was unloaded.
    open_at_unload: (u64, u64),
    /// Dials the engine gave up for want of a result, read at the unload.
    dial_results_timed_out: u64,
    /// Conversations the engine took as released when their agent was reported ready.
    calls_released_by_ready: u64,
    /// Routed calls the engine took as abandoned when their agent was reported ready.
    routed_calls_abandoned_by_ready: u64,
    /// The pacing algorithm the engine runs.
    algorithm_in_force: String,
    /// IVR ports on a call (GVP modes), and since when.
    ports_busy: u32,
    ports_since: Time,
    /// Events taken from the queue, by kind (indexed like [`Ev::NAMES`]).
    event_kinds: [u64; Ev::NAMES.len()],
}

impl<'s> World<'s> {
    /// Builds the world and the engine for `scenario` under `seed`.
    pub fn new(scenario: &'s Scenario, seed: u64) -> Result<World<'s>, String> {
        let setup_started = Instant::now();
        let population = Population::new(seed, &scenario.records, &scenario.customers, &scenario.dialer);
        let mut store = RecordStore::new();
        let mut initial_records = 0u64;
        if let Some(csv) = &scenario.records.csv {
            let list = pacer_engine::records::CallingList::load_csv(csv, &scenario.records.list, None)
                .map_err(|e| e.to_string())?;
            initial_records += list.len() as u64;
            store.add_list(list).map_err(|e| format!("{}: {e}", csv.display()))?;
        } else {
            for list in population.calling_lists() {
                initial_records += list.len() as u64;
                store.add_list(list).map_err(|e| format!("records: {e}"))?;
            }
        }
        let config = server_config(scenario)?;
        let mode = config.groups[0].dial_mode;
        let server = Server::new(config, store).map_err(|e| e.to_string())?;
        let start = Time::from_unix_s(scenario.start_unix_s);
        let end = start + Duration::from_secs_f64(scenario.duration_s.max(0.0));
        let n = scenario.agents.count as usize;
        let mut world = World {
            scenario,
            seed,
            rng: SimRng::seed_from_u64(seed),
            queue: EventQueue::with_capacity(4 * n + 64),
            server,
            population,
            metrics: Metrics::new(start.as_micros()),
            requests: Requests {
                application_id: scenario.application_id,
                campaign: scenario.group.campaign.as_str().into(),
            },
            group_name: scenario.group.group_name(),
            mode,
            now: start,
            start,
            end,
            events: 0,
            agents: Vec::with_capacity(n),
            agent_by_dn: foldhash::HashMap::with_capacity_and_hasher(n, Default::default()),
            calls: CallTable::new(),
            switch: Switch::new(n),
            lines_busy: 0,
            timer_at: None,
            next_reference: 1,
            next_new_index: scenario.records.count + 1_000_000_000,
            dnc_added: BTreeSet::new(),
            holder: foldhash::HashMap::default(),
            stopping: false,
            unloaded: false,
            violation: None,
            out: Vec::with_capacity(64),
            dials_outside_window: 0,
            dials_dnc: 0,
            dials_without_caller_id: 0,
            misroutes: 0,
            initial_records,
            setup_wall: Duration::ZERO,
            oracle: None,
            trace: Vec::new(),
            open_at_unload: (0, 0),
            dial_results_timed_out: 0,
            calls_released_by_ready: 0,
            routed_calls_abandoned_by_ready: 0,
            algorithm_in_force: scenario.pacing.algorithm.clone(),
            ports_busy: 0,
            ports_since: start,
            event_kinds: [0; Ev::NAMES.len()],
        };
        if scenario.pacing.algorithm == ORACLE && !mode.is_gvp() {
            let config = pacing_config(scenario)?;
            let cap = config.compliance_max_abandon_rate;
            let rate = match config.goal {
                Goal::OverdialRate(r) => r.min(cap),
                _ => cap,
            };
            let compliance_s = config.compliance_time.as_secs_f64();
            world.oracle = Some(
                Oracle::new(scenario.agents.count, rate, cap, compliance_s, config.small_group_max_agents)
                    .with_answer_times(answer_time_draws(scenario)),
            );
        }
        world.set_up();
        world.setup_wall = setup_started.elapsed();
        Ok(world)
    }

    fn set_up(&mut self) {
        let s = self.scenario;
        let group = self.group_name.clone();
        self.admin(AdminCommand::Load { group: group.clone() });
        self.admin(AdminCommand::Start { group: group.clone() });
        if s.pacing.algorithm == CONSTANT_LEVEL
            && let Some(pacer) = self.server.pacer(&group)
        {
            pacer.set_external_in_flight(s.pacing.level.map(f64::from));
        }
        // The dialing mode can override the configured algorithm (Progressive mode paces
        // progressively whatever is configured): the report names the one in force.
        // (The oracle decides in place of any engine algorithm: its name stays.)
        if self.oracle.is_none()
            && s.pacing.algorithm != CONSTANT_LEVEL
            && let Some(pacer) = self.server.pacer(&group)
        {
            self.algorithm_in_force = pacer.algorithm().name().to_string();
        }
        let shift = Duration::from_secs_f64(s.agents.shift_s.unwrap_or(s.duration_s).max(0.0));
        let agents_log_in = !self.mode.is_gvp();
        for i in 0..s.agents.count {
            let dn = Dn(format_compact!("{:05}", 7000 + i));
            let login_id = format_compact!("agent{i:05}");
            let offset = if s.agents.login_spread_s > 0.0 {
                self.rng.gen_range(0.0..s.agents.login_spread_s)
            } else {
                0.0
            };
            let login_at = self.start + Duration::from_secs_f64(offset);
            let shift_end = login_at + shift;
            self.agent_by_dn.insert(dn.clone(), i);
            self.agents.push(Agent {
                dn,
                login_id,
                phase: Phase::Out,
                since: login_at,
                ready_since: login_at,
                epoch: 0,
                call: None,
                held: Vec::new(),
                leaving: None,
                logout_acked: false,
                telephony_out: false,
                done: false,
                shift_end,
                ready_hint_s: None,
                preview_plan: None,
                acw_planned: None,
            });
            if !agents_log_in {
                continue;
            }
            self.queue.push(login_at, Ev::Login(i));
            // Breaks at even points of the shift, each moved by up to a tenth of a shift.
            for b in 0..s.agents.breaks {
                let share = (b + 1) as f64 / (s.agents.breaks + 1) as f64 + self.rng.gen_range(-0.1..0.1);
                let at = login_at + Duration::from_secs_f64(shift.as_secs_f64() * share.clamp(0.05, 0.95));
                self.queue.push(at, Ev::LeaveWish(i, Leave::Break));
            }
            if shift_end < self.end {
                self.queue.push(shift_end, Ev::LeaveWish(i, Leave::EndOfShift));
            }
        }
        self.queue.push(self.end, Ev::Stop);
        if let Some(every) = self.audit_every() {
            self.queue.push(self.start + every, Ev::StateAudit);
        }
    }

    // ----- the engine -----

    fn admin(&mut self, command: AdminCommand) {
        self.engine(Input::Admin(command));
    }

    fn engine(&mut self, input: Input) {
        self.oracle_steer();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.server.handle(self.now, input, &mut out);
        self.schedule_timer();
        for output in out.drain(..) {
            self.on_output(output);
        }
        self.out = out;
    }

    /// Before each input to the engine: the oracle's level from the agents' true free
    /// times and the engine's estimates of the customer side.
    fn oracle_steer(&mut self) {
        let Some(oracle) = &self.oracle else { return };
        let Some(pacer) = self.server.pacer(&self.group_name) else { return };
        let snapshot = pacer.snapshot();
        let level = oracle.level(
            self.now,
            snapshot.calls.waiting,
            snapshot.hit_ratio,
            snapshot.dial_to_answer_s,
            snapshot.correction,
        );
        pacer.set_external_level(Some(level));
        pacer.set_external_free(Some(oracle.surely_free(self.now, snapshot.dial_to_answer_s)));
    }

    /// One sample of the group's state for the trace.
    fn sample_trace(&mut self) {
        let Some(pacer) = self.server.pacer(&self.group_name) else { return };
        let snapshot = pacer.snapshot();
        let overdial = pacer.overdial(self.now);
        let (mut busy, mut ready) = (0u32, 0u32);
        for a in &self.agents {
            match a.phase {
                Phase::Talking | Phase::AfterCallWork => busy += 1,
                Phase::Ready => ready += 1,
                _ => {}
            }
        }
        let waiting = self.calls.values().filter(|c| c.state == CallState::Waiting).count() as u32;
        self.trace.push(TracePoint {
            t_s: self.now.saturating_duration_since(self.start).as_secs_f64(),
            dial_level: snapshot.dial_level,
            agents_busy: busy,
            agents_ready: ready,
            calls_in_flight: snapshot.calls.in_flight,
            calls_waiting: waiting,
            abandon_rate: overdial.compliance.rate(),
            abandon_rate_15min: overdial.last_t.rate(),
            abandon_cap: pacer.config().compliance_max_abandon_rate,
        });
    }

    fn schedule_timer(&mut self) {
        if let Some(at) = self.server.next_wakeup() {
            let at = at.max(self.now);
            if self.timer_at.is_none_or(|t| at < t || t < self.now) {
                self.timer_at = Some(at);
                self.queue.push(at, Ev::Timer);
            }
        }
    }

    fn telephony(&mut self, event: TelephonyEvent) {
        let faults = self.scenario.faults;
        if chance(&mut self.rng, faults.telephony_lost.0) {
            self.metrics.fault("telephony_lost");
            return;
        }
        let duplicate = chance(&mut self.rng, faults.telephony_duplicate.0);
        if duplicate {
            self.metrics.fault("telephony_duplicate");
            self.metrics.telephony_events += 1;
            self.engine(Input::Telephony(event.clone()));
        }
        self.metrics.telephony_events += 1;
        self.engine(Input::Telephony(event));
    }

    fn on_output(&mut self, output: Output) {
        match output {
            Output::ToDesktop { dn, event } => {
                self.metrics.output("ToDesktop");
                self.deliver_event(&dn, &event, None);
            }
            Output::Dial(command) => {
                self.metrics.output("Dial");
                self.dial(command);
            }
            Output::Route { call, dn, kv } => {
                self.metrics.output("Route");
                self.route(call, &dn, &kv);
            }
            Output::Drop { call } => {
                self.metrics.output("Drop");
                if let Some(c) = self.calls.get_mut(call.0)
                    && c.state == CallState::Waiting
                {
                    c.state = CallState::Done;
                    self.metrics.abandoned(true, self.now.as_micros());
                    self.free_line();
                }
            }
            Output::RecordUpdate { .. } => self.metrics.output("RecordUpdate"),
            Output::Status(_) => self.metrics.output("Status"),
            Output::AdminRejected(rejected) => {
                self.metrics.output("AdminRejected");
                self.violate(format!("admin command refused: {} ({})", rejected.command, rejected.reason));
            }
        }
    }

    fn violate(&mut self, what: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation { event_index: self.events, at: self.now, what });
        }
    }

    // ----- dialer and switch -----

    fn free_line(&mut self) {
        self.lines_busy = self.lines_busy.saturating_sub(1);
    }

    fn dial(&mut self, command: DialCommand) {
        self.metrics.dial(self.now.as_micros());
        let index = customer_index(&command.phone);
        // The ledger: no do-not-call number, nothing outside its window, caller id on every call.
        let generated = self.scenario.records.csv.is_none() && index < self.scenario.records.count;
        if generated && self.population.preloaded_dnc(index) || self.dnc_added.contains(&index) {
            self.dials_dnc += 1;
            self.violate(format!(
                "dialed do-not-call number {} (record {})",
                command.phone, command.record_handle
            ));
        }
        let mut phone_type = None;
        match self.server.store().get(RecordHandle(command.record_handle)) {
            Some(record) if !RecordStore::in_window(record, self.now) => {
                self.dials_outside_window += 1;
                self.violate(format!("dialed record {} outside its daily window", command.record_handle));
            }
            Some(record) => phone_type = Some(record.phone_type),
            None => {
                self.violate(format!("dialed record {} that the store does not have", command.record_handle))
            }
        }
        if command.cpn_digits.as_deref() != self.scenario.group.cpn_digits.as_deref() {
            self.dials_without_caller_id += 1;
        }
        let lines = self.scenario.dialer.lines;
        if lines > 0 && self.lines_busy >= lines {
            self.calls.insert(
                command.call.0,
                Call {
                    plan: DialPlan {
                        reported: CallResult::NoPortAvailable,
                        after: Duration::ZERO,
                        party: Party::Person,
                    },
                    state: CallState::Done,
                    answered_at: self.now,
                    agent: None,
                },
            );
            // Reported through the queue, not from here: the engine answers a failed dial by
            // dialing the next record, and with every line busy a synchronous answer would
            // recurse once per record of the list (and overflow the stack on a long one).
            self.queue.push(self.now, Ev::NoPort(command.call.0));
            return;
        }
        self.lines_busy += 1;
        let phone_type = phone_type.unwrap_or_else(|| self.population.phone_type(index));
        let plan = self.population.plan_dial(index, phone_type, self.elapsed_s(), &mut self.rng);
        self.calls.insert(
            command.call.0,
            Call { plan, state: CallState::Dialing, answered_at: self.now, agent: None },
        );
        if chance(&mut self.rng, self.scenario.faults.dial_result_lost.0) {
            // The dialer never reports; its line comes free when the call would have ended.
            self.metrics.fault("dial_result_lost");
            self.queue.push(self.now + plan.after, Ev::LineFree);
            if let Some(c) = self.calls.get_mut(command.call.0) {
                c.state = CallState::Done;
            }
            return;
        }
        self.queue.push(self.now + plan.after, Ev::DialReport(command.call.0));
    }

    fn dial_report(&mut self, call: u64) {
        let Some(c) = self.calls.get(call) else { return };
        if c.state != CallState::Dialing {
            return;
        }
        let plan = c.plan;
        let live = plan.reported.is_live_answer();
        self.metrics.outcome(plan.reported.label(), live, self.now.as_micros());
        if live {
            let c = self.calls.get_mut(call).expect("present");
            c.state = CallState::Waiting;
            c.answered_at = self.now;
        } else {
            self.calls.get_mut(call).expect("present").state = CallState::Done;
            self.free_line();
        }
        self.telephony(TelephonyEvent::CallResult { call: CallId(call), result: plan.reported });
        // Most answered calls reach an agent at once; only one left waiting needs its
        // customer's patience. A person hangs up when it runs out; a machine or ring tone
        // holds the line until the dialer gives up on a call nobody takes.
        if live && self.calls.get(call).is_some_and(|c| c.state == CallState::Waiting) {
            self.metrics.waited(self.now.as_micros());
            let limit =
                WAIT_MARGIN + Duration::from_secs_f64(self.scenario.switch.compliance_time_s.max(0.0));
            let patience = self.population.patience(plan.party, &mut self.rng).unwrap_or(limit).min(limit);
            self.queue.push(self.now + patience, Ev::Patience(call));
        }
    }

    fn patience_over(&mut self, call: u64) {
        let Some(c) = self.calls.get_mut(call) else { return };
        if c.state != CallState::Waiting {
            return;
        }
        c.state = CallState::Done;
        self.metrics.abandoned(false, self.now.as_micros());
        self.free_line();
        self.telephony(TelephonyEvent::CallAbandoned { call: CallId(call) });
    }

    fn route(&mut self, call: CallId, dn: &Dn, kv: &KvList) {
        let Some(c) = self.calls.get(call.0) else {
            if self.calls.was_dialed(call.0) {
                // Over already (the customer hung up): nothing to deliver.
                self.misroutes += 1;
            } else {
                self.violate(format!("route of call {} that was never dialed", call.0));
            }
            return;
        };
        if c.state != CallState::Waiting {
            // The customer hung up in the same instant: nothing to deliver.
            self.misroutes += 1;
            return;
        }
        let answered_at = c.answered_at;
        let party = c.plan.party;
        if self.mode.is_gvp() {
            // An IVR port plays the message.
            self.account_ports();
            self.ports_busy += 1;
            let c = self.calls.get_mut(call.0).expect("present");
            c.state = CallState::Talking;
            self.metrics.connected(self.now.saturating_duration_since(answered_at), self.now.as_micros());
            let talk = self.scenario.agents.talk.dist.sample(&mut self.rng);
            self.queue.push(self.now + talk, Ev::IvrRelease(call.0));
            return;
        }
        let Some(&agent) = self.agent_by_dn.get(dn) else {
            self.violate(format!("call {} routed to unknown place {dn}", call.0));
            return;
        };
        if !self.switch.is_ready(agent) || self.agents[agent as usize].phase != Phase::Ready {
            // The switch cannot deliver to an agent who is not ready; the call keeps waiting.
            // Without injected faults the engine's view of agents matches the switch's.
            self.misroutes += 1;
            if !self.scenario.faults.any() {
                self.violate(format!("call {} routed to {dn}, who is not ready", call.0));
            }
            return;
        }
        let Some(held) = Held::from_kv(kv) else {
            self.violate(format!("call {} routed without a record handle and list", call.0));
            return;
        };
        self.take_record(agent, held);
        let c = self.calls.get_mut(call.0).expect("present");
        c.state = CallState::Talking;
        c.agent = Some(agent);
        let now = self.now;
        self.metrics.connected(now.saturating_duration_since(answered_at), now.as_micros());
        let waited = now.saturating_duration_since(self.agents[agent as usize].ready_since);
        self.metrics.agent_waited(waited);
        self.switch.agent_unavailable(agent);
        self.set_phase(agent, Phase::Talking);
        self.agents[agent as usize].call = Some(call.0);
        self.telephony(TelephonyEvent::CallConnected { call, dn: dn.clone() });
        let talk = match party {
            Party::Person => self.scenario.agents.talk.dist.sample(&mut self.rng),
            // The agent hears a machine or music and hangs up.
            Party::Machine | Party::Music => Duration::from_secs(5),
        };
        let epoch = self.agents[agent as usize].epoch;
        self.queue.push(now + talk, Ev::TalkEnd(agent, epoch));
        if self.oracle.is_some() {
            let acw = self.draw_acw();
            self.agents[agent as usize].acw_planned = Some(acw);
            if let Some(oracle) = &mut self.oracle {
                oracle.busy_until(agent, now + talk + acw);
            }
        }
        if chance(&mut self.rng, self.scenario.behaviour.update_stats.0) {
            self.queue.push(now + talk / 2, Ev::UpdateStats(agent, epoch));
        }
        let faults = self.scenario.faults;
        if chance(&mut self.rng, faults.desktop_crash.0) {
            let at = now + talk.mul_f64(self.rng.r#gen::<f64>());
            self.queue.push(at, Ev::Crash(agent, epoch));
        } else if chance(&mut self.rng, faults.telephony_logout_mid_call.0) {
            let at = now + talk.mul_f64(self.rng.r#gen::<f64>());
            self.queue.push(at, Ev::TelephonyLogout(agent, epoch));
        }
    }

    /// A record reaches a desktop: the ledger checks it is on no other desktop.
    fn take_record(&mut self, agent: u32, held: Held) {
        if let Some(other) = self.holder.insert(held.handle, agent)
            && other != agent
        {
            let other_dn = self.agents[other as usize].dn.clone();
            let this_dn = self.agents[agent as usize].dn.clone();
            self.violate(format!("record {} given to {this_dn} while still on {other_dn}", held.handle));
        }
        self.agents[agent as usize].held.push(held);
    }

    fn release_record(&mut self, agent: u32, handle: i64) {
        if self.holder.get(&handle) == Some(&agent) {
            self.holder.remove(&handle);
        }
        self.agents[agent as usize].held.retain(|h| h.handle != handle);
    }

    // ----- agents -----

    fn set_phase(&mut self, agent: u32, phase: Phase) {
        let now = self.now;
        let a = &mut self.agents[agent as usize];
        if let Some(activity) = a.phase.activity() {
            self.metrics.agent_time(activity, a.since.as_micros(), now.as_micros());
        }
        if phase == Phase::Ready && a.phase != Phase::Ready {
            a.ready_since = now;
        }
        a.phase = phase;
        a.since = now;
        if let Some(oracle) = &mut self.oracle {
            match phase {
                Phase::Ready => oracle.ready(agent),
                // The free time was set when the call connected.
                Phase::Talking | Phase::AfterCallWork if oracle.is_busy(agent) => {}
                _ => oracle.away(agent),
            }
        }
        if phase == Phase::Ready && !self.mode.is_preview() {
            self.switch.agent_ready(agent);
        } else {
            self.switch.agent_unavailable(agent);
        }
    }

    fn login(&mut self, agent: u32) {
        if self.stopping
            || self.agents[agent as usize].done
            || self.now >= self.agents[agent as usize].shift_end
        {
            return;
        }
        let (dn, login_id) = {
            let a = &mut self.agents[agent as usize];
            a.leaving = None;
            a.logout_acked = false;
            a.telephony_out = false;
            (a.dn.clone(), a.login_id.clone())
        };
        self.telephony(TelephonyEvent::AgentLogin { dn: dn.clone(), agent_id: login_id });
        let reference = self.reference();
        let kv = self.requests.simple(reference, RequestBody::CampaignStatusRequest);
        self.send(agent, kv, reference);
        if self.mode.is_preview() {
            self.set_phase(agent, Phase::NotReady);
            let reference = self.reference();
            let kv = self.requests.simple(reference, RequestBody::PreviewDialingModeStart);
            self.send(agent, kv, reference);
            let epoch = self.agents[agent as usize].epoch;
            self.queue.push(self.now, Ev::PreviewRequest(agent, epoch));
        } else {
            self.set_phase(agent, Phase::Ready);
            self.telephony(TelephonyEvent::AgentReady { dn });
        }
    }

    fn reference(&mut self) -> i64 {
        let r = self.next_reference;
        self.next_reference += 1;
        r
    }

    /// Sends one request from `agent`'s desktop (with an injected fault first, sometimes)
    /// and hands every resulting output on; says how the request itself was answered.
    /// Seconds since the run started.
    fn elapsed_s(&self) -> f64 {
        self.now.saturating_duration_since(self.start).as_secs_f64()
    }

    fn send(&mut self, agent: u32, kv: KvList, reference: i64) -> Answer {
        let kind =
            kv.get_str(pacer_engine::kv::KnownKey::AgentReqType).and_then(request_kind_name).unwrap_or("?");
        let faults = self.scenario.faults;
        let fault = if chance(&mut self.rng, faults.malformed_request.0) {
            Some(RequestFault::Malformed)
        } else if chance(&mut self.rng, faults.unknown_field.0) {
            Some(RequestFault::UnknownField)
        } else if chance(&mut self.rng, faults.other_application_id.0) {
            Some(RequestFault::OtherApplication)
        } else {
            None
        };
        if let Some(fault) = fault {
            self.metrics.fault(fault.name());
            let mut bad = kv.clone();
            fault.apply(&mut bad, self.scenario.application_id);
            let answer = self.send_once(agent, kind, bad, reference, true);
            if answer.accepted {
                // The engine took it as it was (an unknown key it may ignore): done.
                return answer;
            }
        }
        self.send_once(agent, kind, kv, reference, false)
    }

    fn send_once(
        &mut self,
        agent: u32,
        kind: &'static str,
        kv: KvList,
        reference: i64,
        faulty: bool,
    ) -> Answer {
        self.metrics.request(kind);
        let dn = self.agents[agent as usize].dn.clone();
        self.oracle_steer();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.server.handle(self.now, Input::Desktop { dn, kv }, &mut out);
        self.schedule_timer();
        let mut answer = Answer::default();
        for output in out.drain(..) {
            match output {
                Output::ToDesktop { dn, event } => {
                    self.metrics.output("ToDesktop");
                    let answers = matches!(&event.reference_id, Some(v) if v.as_int() == Some(reference))
                        || (event.reference_id.is_none()
                            && faulty
                            && matches!(event.body, EventBody::Error(_)));
                    if answers {
                        match &event.body {
                            EventBody::Error(e) => answer.error = Some(e.code),
                            _ => answer.accepted = true,
                        }
                    }
                    self.deliver_event(&dn, &event, answers.then_some(faulty));
                }
                other => self.on_output(other),
            }
        }
        self.out = out;
        answer
    }

    /// An event for a desktop: encoded, decoded as the desktop would, then acted on.
    /// `answering` says whether it answers the request just sent, and if that one was faulty.
    fn deliver_event(&mut self, dn: &Dn, event: &Event, answering: Option<bool>) {
        let kv = event.encode();
        let event = match Event::decode(&kv) {
            Ok(event) => event,
            Err(error) => {
                self.violate(format!("the engine sent {dn} an event its decoder refuses: {error}"));
                return;
            }
        };
        self.metrics.event(event.kind().name());
        let Some(&agent) = self.agent_by_dn.get(dn) else { return };
        match event.body {
            EventBody::Error(e) => {
                let expected = answering == Some(true) || self.agents[agent as usize].telephony_out;
                self.metrics.error(format!("{} {:?}", e.code.number(), e.code), expected);
                if answering == Some(false)
                    && matches!(
                        e.code,
                        ErrorCode::NoRecordsAvailable
                            | ErrorCode::NoRunningPreviewCampaigns
                            | ErrorCode::InvalidRequest
                    )
                    && e.req_type.as_deref() == Some("PreviewRecordRequest")
                {
                    let retry = Duration::from_secs_f64(self.scenario.behaviour.no_records_retry_s.max(0.1));
                    let epoch = self.agents[agent as usize].epoch;
                    self.queue.push(self.now + retry, Ev::PreviewRequest(agent, epoch));
                }
            }
            EventBody::PreviewRecord(ref data)
            | EventBody::ScheduledCall(pacer_engine::protocol::ScheduledCall { record: ref data, .. }) => {
                let held = Held {
                    handle: data.record_handle,
                    list: data.calling_list.clone(),
                    phone: data.phone.clone(),
                    tz_offset_s: data.tz_offset_s,
                    chain_id: Some(data.chain_id),
                    result: CallResult::NoAnswer,
                    scheduled: matches!(event.body, EventBody::ScheduledCall(_)),
                };
                self.take_record(agent, held);
                let epoch = self.agents[agent as usize].epoch;
                if self.mode.is_preview() {
                    // The agent reads the record, then dials (or rejects) it.
                    self.queue.push(self.now + Duration::from_secs(3), Ev::PreviewDial(agent, epoch));
                    if chance(&mut self.rng, self.scenario.faults.desktop_crash.0) {
                        let at = self.now + Duration::from_secs_f64(self.rng.gen_range(0.0..30.0));
                        self.queue.push(at, Ev::Crash(agent, epoch));
                    }
                } else if self.agents[agent as usize].phase == Phase::Ready {
                    self.queue.push(self.now + Duration::from_secs(1), Ev::ProcessHeld(agent, epoch));
                }
            }
            EventBody::ChainedRecord(data) => {
                let held = Held {
                    handle: data.record_handle,
                    list: data.calling_list.clone(),
                    phone: data.phone.clone(),
                    tz_offset_s: data.tz_offset_s,
                    chain_id: Some(data.chain_id),
                    result: CallResult::NoAnswer,
                    scheduled: false,
                };
                self.take_record(agent, held);
            }
            EventBody::RecordCancel(notice) => self.release_record(agent, notice.record_handle),
            // A time of 0 comes with the acknowledgement right behind it: nothing to retry.
            EventBody::LogOutTime { logout_time_s: 0, .. } => {}
            EventBody::LogOutTime { logout_time_s, .. } => {
                let epoch = self.agents[agent as usize].epoch;
                // The engine acknowledges by itself when the time is up; the desktop asks
                // again only if that acknowledgement does not come.
                let at = self.now + Duration::from_secs(logout_time_s.max(LOGOUT_RETRY_MIN_S) as u64);
                self.queue.push(at, Ev::LogoutRetry(agent, epoch));
            }
            EventBody::LogOutAcknowledge { .. } => {
                self.agents[agent as usize].logout_acked = true;
                self.try_leave(agent);
            }
            _ => {}
        }
    }

    fn talk_end(&mut self, agent: u32) {
        let a = &self.agents[agent as usize];
        if a.phase != Phase::Talking {
            return;
        }
        if let Some(call) = self.agents[agent as usize].call.take() {
            if let Some(c) = self.calls.get_mut(call) {
                c.state = CallState::Done;
            }
            self.free_line();
            self.telephony(TelephonyEvent::CallReleased { call: CallId(call) });
        }
        self.set_phase(agent, Phase::AfterCallWork);
        let acw = match self.agents[agent as usize].acw_planned.take() {
            Some(acw) => acw,
            None => self.draw_acw(),
        };
        let epoch = self.agents[agent as usize].epoch;
        self.queue.push(self.now + acw, Ev::AcwEnd(agent, epoch));
        if chance(&mut self.rng, self.scenario.agents.ready_time_hint.0) && !acw.is_zero() {
            // The hint goes out part way through the work, with the agent's estimate of the rest.
            let at = self.now + acw.mul_f64(self.rng.gen_range(0.1..0.6));
            self.queue.push(at, Ev::ReadyHint(agent, epoch));
            let rest = acw.as_secs_f64() * (1.0 - 0.35);
            let error = self.scenario.agents.ready_time_error * standard_normal(&mut self.rng);
            let estimate = (rest * (1.0 + error)).round().max(1.0) as i64;
            self.agents[agent as usize].ready_hint_s = Some(estimate);
        }
    }

    fn draw_acw(&mut self) -> Duration {
        if self.scenario.group.ivr {
            Duration::ZERO
        } else {
            self.scenario.agents.acw.dist.sample(&mut self.rng)
        }
    }

    fn ready_hint(&mut self, agent: u32) {
        let Some(estimate) = self.agents[agent as usize].ready_hint_s.take() else { return };
        let Some(held) = self.agents[agent as usize].held.first().cloned() else { return };
        let reference = self.reference();
        let kv = self.requests.ready_time(reference, &held, estimate);
        self.send(agent, kv, reference);
    }

    fn update_stats(&mut self, agent: u32) {
        if self.agents[agent as usize].phase != Phase::Talking {
            return;
        }
        let Some(held) = self.agents[agent as usize].held.first().cloned() else { return };
        let reference = self.reference();
        let kv = self.requests.update_stats(reference, &held);
        self.send(agent, kv, reference);
    }

    /// After-call work is over: every record on the desktop is dealt with, then the agent is
    /// ready again (or leaves).
    fn acw_end(&mut self, agent: u32) {
        if self.agents[agent as usize].phase != Phase::AfterCallWork {
            return;
        }
        self.process_held(agent);
        if self.agents[agent as usize].telephony_out {
            // Telephony logged the agent out mid-call: log in again.
            self.agents[agent as usize].telephony_out = false;
            self.set_phase(agent, Phase::Out);
            self.login(agent);
            return;
        }
        if self.agents[agent as usize].leaving.is_some() {
            self.set_phase(agent, Phase::NotReady);
            let dn = self.agents[agent as usize].dn.clone();
            self.telephony(TelephonyEvent::AgentNotReady { dn });
            self.try_leave(agent);
            return;
        }
        if self.mode.is_preview() {
            self.set_phase(agent, Phase::NotReady);
            let epoch = self.agents[agent as usize].epoch;
            self.queue.push(self.now, Ev::PreviewRequest(agent, epoch));
            return;
        }
        self.set_phase(agent, Phase::Ready);
        let dn = self.agents[agent as usize].dn.clone();
        self.telephony(TelephonyEvent::AgentReady { dn });
    }

    fn process_held(&mut self, agent: u32) {
        let b = self.scenario.behaviour.clone();
        let mut asked_chain = false;
        // Bounded: a chain is asked for once, and every pass removes the record it handles.
        let mut passes = 0;
        while let Some(held) = self.agents[agent as usize].held.first().cloned() {
            passes += 1;
            if passes > 64 {
                break;
            }
            if !asked_chain && chance(&mut self.rng, b.chained_request.0) {
                asked_chain = true;
                let reference = self.reference();
                let kv = self.requests.chained(reference, &held);
                self.send(agent, kv, reference);
            }
            // An accepted do-not-call or cancel finalises the record: nothing more to send.
            let mut finalised = false;
            if chance(&mut self.rng, b.do_not_call.0) {
                let reference = self.reference();
                let kv = self.requests.do_not_call(reference, &held);
                if self.send(agent, kv, reference).accepted {
                    finalised = true;
                    self.dnc_added.insert(customer_index(&held.phone));
                }
            } else if chance(&mut self.rng, b.cancel.0) {
                let reference = self.reference();
                let kv = self.requests.cancel(reference, &held);
                finalised = self.send(agent, kv, reference).accepted;
                if finalised && held.chain_id.is_some() {
                    // The cancel names the whole chain: the chain's other records on this
                    // desktop are cancelled with it and nothing more is sent for them (the
                    // engine would answer 109).
                    let chain: Vec<i64> = self.agents[agent as usize]
                        .held
                        .iter()
                        .filter(|h| h.handle != held.handle && h.chain_id == held.chain_id)
                        .map(|h| h.handle)
                        .collect();
                    for handle in chain {
                        self.release_record(agent, handle);
                    }
                }
            } else {
                let personal = chance(&mut self.rng, b.reschedule_personal.0);
                let campaign = !personal && chance(&mut self.rng, b.reschedule_campaign.0);
                if personal || campaign {
                    let callback = if personal { CallbackType::Personal } else { CallbackType::Campaign };
                    let at = self.now.as_unix_s() + self.rng.gen_range(1800..7200);
                    let reference = self.reference();
                    if let Some(kv) = self.requests.reschedule(reference, &held, callback, at) {
                        self.send(agent, kv, reference);
                    }
                }
            }
            if chance(&mut self.rng, b.add_record.0) {
                let index = self.next_new_index;
                self.next_new_index += 1;
                let reference = self.reference();
                let zone =
                    self.scenario.records.time_zones.first().map_or("EST", |z| z.name.as_str()).to_string();
                let kv = self.requests.add_record(reference, &held, phone_of(index), &zone);
                self.send(agent, kv, reference);
            }
            if !finalised {
                let treatment =
                    chance(&mut self.rng, b.treatment.0).then_some(Treatment::RecordTreatCampaign);
                let reference = self.reference();
                let kv = self.requests.processed(reference, &held, treatment);
                self.send(agent, kv, reference);
            }
            self.release_record(agent, held.handle);
        }
    }

    /// The period of telephony's agent-state audits, if the scenario asks for them.
    fn audit_every(&self) -> Option<Duration> {
        let s = self.scenario.faults.state_audit_s.0;
        (s > 0.0).then(|| Duration::from_secs_f64(s.max(0.001)))
    }

    /// Telephony reports every logged-in agent's ready / not-ready state again.
    fn state_audit(&mut self) {
        for agent in 0..self.agents.len() {
            let event = match self.agents[agent].phase {
                Phase::Ready => TelephonyEvent::AgentReady { dn: self.agents[agent].dn.clone() },
                Phase::NotReady => TelephonyEvent::AgentNotReady { dn: self.agents[agent].dn.clone() },
                _ => continue,
            };
            self.telephony(event);
        }
        if let Some(every) = self.audit_every()
            && !self.stopping
        {
            self.queue.push(self.now + every, Ev::StateAudit);
        }
    }

    fn leave_wish(&mut self, agent: u32, leave: Leave) {
        let a = &mut self.agents[agent as usize];
        if a.done || matches!(a.phase, Phase::Out | Phase::Crashed) {
            if leave == Leave::EndOfShift {
                a.done = true;
            }
            return;
        }
        if a.leaving == Some(Leave::EndOfShift) {
            return;
        }
        a.leaving = Some(leave);
        a.logout_acked = false;
        // The oracle knows the agent will not be free for calls again.
        if let Some(oracle) = &mut self.oracle {
            oracle.away(agent);
        }
        if self.mode.is_preview() {
            // Preview sessions end with PreviewDialingModeOver when the desktop is idle.
            self.agents[agent as usize].logout_acked = true;
            self.try_leave(agent);
            return;
        }
        self.send_logout(agent);
    }

    fn logout_retry(&mut self, agent: u32) {
        let a = &self.agents[agent as usize];
        if a.leaving.is_none() || a.logout_acked || matches!(a.phase, Phase::Out | Phase::Crashed) {
            return;
        }
        self.send_logout(agent);
    }

    /// Sends LogOut for the agent's desktop.
    fn send_logout(&mut self, agent: u32) {
        let reference = self.reference();
        let kv = self.requests.simple(reference, RequestBody::LogOut);
        let answer = self.send(agent, kv, reference);
        if answer.error.is_some() && !answer.accepted {
            // Nothing to wait for (no auto campaign running): leave when idle.
            self.agents[agent as usize].logout_acked = true;
            self.try_leave(agent);
        }
    }

    /// Leaves (break or end of shift) once the engine agreed and the desktop is idle.
    fn try_leave(&mut self, agent: u32) {
        let a = &self.agents[agent as usize];
        let Some(leave) = a.leaving else { return };
        if !a.logout_acked || !matches!(a.phase, Phase::Ready | Phase::NotReady) || !a.held.is_empty() {
            return;
        }
        let dn = a.dn.clone();
        if self.mode.is_preview() {
            let reference = self.reference();
            let kv = self.requests.simple(reference, RequestBody::PreviewDialingModeOver);
            self.send(agent, kv, reference);
        }
        self.set_phase(agent, Phase::Out);
        self.agents[agent as usize].epoch += 1;
        self.telephony(TelephonyEvent::AgentLogout { dn });
        match leave {
            Leave::Break => {
                let length = self.scenario.agents.break_length.dist.sample(&mut self.rng);
                self.queue.push(self.now + length, Ev::Login(agent));
            }
            Leave::EndOfShift => self.agents[agent as usize].done = true,
        }
        self.agents[agent as usize].leaving = None;
    }

    fn crash(&mut self, agent: u32) {
        let a = &mut self.agents[agent as usize];
        if matches!(a.phase, Phase::Out | Phase::Crashed) {
            return;
        }
        self.metrics.fault("desktop_crash");
        a.epoch += 1;
        // The desktop's memory is gone; the engine must take its records back.
        let handles: Vec<i64> = a.held.drain(..).map(|h| h.handle).collect();
        for h in handles {
            if self.holder.get(&h) == Some(&agent) {
                self.holder.remove(&h);
            }
        }
        let dn = self.agents[agent as usize].dn.clone();
        if let Some(call) = self.agents[agent as usize].call.take() {
            if let Some(c) = self.calls.get_mut(call) {
                c.state = CallState::Done;
            }
            self.free_line();
            self.telephony(TelephonyEvent::CallReleased { call: CallId(call) });
        }
        self.set_phase(agent, Phase::Crashed);
        self.telephony(TelephonyEvent::AgentLogout { dn });
        if chance(&mut self.rng, self.scenario.faults.crash_return.0) {
            let back = Duration::from_secs_f64(self.scenario.faults.crash_downtime_s.max(1.0));
            self.queue.push(self.now + back, Ev::Login(agent));
        } else {
            self.agents[agent as usize].done = true;
        }
    }

    fn telephony_logout(&mut self, agent: u32) {
        if self.agents[agent as usize].phase != Phase::Talking {
            return;
        }
        self.metrics.fault("telephony_logout_mid_call");
        self.agents[agent as usize].telephony_out = true;
        let dn = self.agents[agent as usize].dn.clone();
        // The engine takes the desktop's records back at logout: the desktop's copies are void.
        let handles: Vec<i64> = self.agents[agent as usize].held.drain(..).map(|h| h.handle).collect();
        for h in handles {
            if self.holder.get(&h) == Some(&agent) {
                self.holder.remove(&h);
            }
        }
        self.telephony(TelephonyEvent::AgentLogout { dn });
    }

    // ----- preview -----

    fn preview_request(&mut self, agent: u32) {
        let a = &self.agents[agent as usize];
        if self.stopping || a.phase != Phase::NotReady || !a.held.is_empty() {
            return;
        }
        if a.leaving.is_some() {
            self.try_leave(agent);
            return;
        }
        let reference = self.reference();
        let kv = self.requests.simple(reference, RequestBody::PreviewRecordRequest);
        let answer = self.send(agent, kv, reference);
        if !answer.accepted && answer.error.is_none() {
            // No answer at all: try again later.
            let retry = Duration::from_secs_f64(self.scenario.behaviour.no_records_retry_s.max(0.1));
            let epoch = self.agents[agent as usize].epoch;
            self.queue.push(self.now + retry, Ev::PreviewRequest(agent, epoch));
        }
    }

    fn preview_dial(&mut self, agent: u32) {
        let Some(held) = self.agents[agent as usize].held.first().cloned() else { return };
        let epoch = self.agents[agent as usize].epoch;
        if chance(&mut self.rng, self.scenario.behaviour.reject.0) {
            let reference = self.reference();
            let kv = self.requests.reject(reference, &held);
            self.send(agent, kv, reference);
            self.release_record(agent, held.handle);
            self.queue.push(self.now, Ev::PreviewRequest(agent, epoch));
            return;
        }
        let index = customer_index(&held.phone);
        let phone_type = self.population.phone_type(index);
        let plan = self.population.plan_dial(index, phone_type, self.elapsed_s(), &mut self.rng);
        self.metrics.dial(self.now.as_micros());
        if let Some(h) = self.agents[agent as usize].held.first_mut() {
            h.result = plan.reported;
        }
        self.agents[agent as usize].preview_plan = Some(plan);
        self.queue.push(self.now + plan.after, Ev::PreviewOutcome(agent, epoch));
    }

    fn preview_outcome(&mut self, agent: u32) {
        let Some(plan) = self.agents[agent as usize].preview_plan.take() else { return };
        let live = plan.reported.is_live_answer();
        self.metrics.outcome(plan.reported.label(), live, self.now.as_micros());
        let epoch = self.agents[agent as usize].epoch;
        if live {
            // The agent is on the line as it answers: no wait for anyone.
            self.metrics.connected(Duration::ZERO, self.now.as_micros());
            self.set_phase(agent, Phase::Talking);
            let talk = match plan.party {
                Party::Person => self.scenario.agents.talk.dist.sample(&mut self.rng),
                Party::Machine | Party::Music => Duration::from_secs(5),
            };
            self.queue.push(self.now + talk, Ev::TalkEnd(agent, epoch));
        } else {
            self.set_phase(agent, Phase::Talking);
            self.queue.push(self.now, Ev::TalkEnd(agent, epoch));
        }
    }

    // ----- the run -----

    fn handle_event(&mut self, ev: Ev) {
        let valid = |world: &World<'_>, agent: u32, epoch: u32| world.agents[agent as usize].epoch == epoch;
        match ev {
            Ev::Login(agent) => self.login(agent),
            Ev::Timer => {
                if self.timer_at.is_some_and(|t| t <= self.now) {
                    self.timer_at = None;
                }
                self.engine(Input::Timer);
            }
            Ev::DialReport(call) => self.dial_report(call),
            Ev::NoPort(call) => {
                self.metrics.outcome(CallResult::NoPortAvailable.label(), false, self.now.as_micros());
                self.telephony(TelephonyEvent::CallResult {
                    call: CallId(call),
                    result: CallResult::NoPortAvailable,
                });
            }
            Ev::LineFree => self.free_line(),
            Ev::Patience(call) => self.patience_over(call),
            Ev::TalkEnd(agent, epoch) if valid(self, agent, epoch) => self.talk_end(agent),
            Ev::UpdateStats(agent, epoch) if valid(self, agent, epoch) => self.update_stats(agent),
            Ev::ReadyHint(agent, epoch) if valid(self, agent, epoch) => self.ready_hint(agent),
            Ev::AcwEnd(agent, epoch) if valid(self, agent, epoch) => self.acw_end(agent),
            Ev::LeaveWish(agent, leave) => self.leave_wish(agent, leave),
            Ev::LogoutRetry(agent, epoch) if valid(self, agent, epoch) => self.logout_retry(agent),
            Ev::PreviewRequest(agent, epoch) if valid(self, agent, epoch) => self.preview_request(agent),
            Ev::PreviewDial(agent, epoch) if valid(self, agent, epoch) => self.preview_dial(agent),
            Ev::PreviewOutcome(agent, epoch) if valid(self, agent, epoch) => self.preview_outcome(agent),
            Ev::ProcessHeld(agent, epoch)
                if valid(self, agent, epoch) && self.agents[agent as usize].phase == Phase::Ready =>
            {
                self.process_held(agent)
            }
            Ev::Crash(agent, epoch) if valid(self, agent, epoch) => self.crash(agent),
            Ev::TelephonyLogout(agent, epoch) if valid(self, agent, epoch) => self.telephony_logout(agent),
            Ev::IvrRelease(call) => {
                if let Some(c) = self.calls.get_mut(call)
                    && c.state == CallState::Talking
                {
                    c.state = CallState::Done;
                    self.account_ports();
                    self.ports_busy = self.ports_busy.saturating_sub(1);
                    self.free_line();
                    self.telephony(TelephonyEvent::CallReleased { call: CallId(call) });
                }
            }
            Ev::StateAudit => self.state_audit(),
            Ev::Stop => {
                self.stopping = true;
                let group = self.group_name.clone();
                self.admin(AdminCommand::Stop { group });
                self.queue.push(self.now, Ev::SendHome);
            }
            Ev::SendHome => {
                // Dials already placed still reach agents: nobody leaves while one is in
                // progress (within the longest drain allowed).
                let in_progress =
                    self.calls.values().any(|c| matches!(c.state, CallState::Dialing | CallState::Waiting));
                if in_progress && self.now < self.end + DRAIN_MAX {
                    self.queue.push(self.now + DRAIN_CHECK, Ev::SendHome);
                    return;
                }
                // Everyone still here goes home after the current call; with the group
                // stopped there is no smart logout to wait for.
                for agent in 0..self.agents.len() as u32 {
                    let a = &mut self.agents[agent as usize];
                    if a.done || matches!(a.phase, Phase::Out | Phase::Crashed) {
                        a.done = true;
                        continue;
                    }
                    a.leaving = Some(Leave::EndOfShift);
                    a.logout_acked = true;
                    self.try_leave(agent);
                }
                self.queue.push(self.now + DRAIN_CHECK, Ev::Unload);
            }
            Ev::Unload => {
                // Unload once every agent has left and no call is in progress, or after the
                // longest drain allowed.
                let busy = self.agents.iter().any(|a| !matches!(a.phase, Phase::Out | Phase::Crashed))
                    || self.calls.values().any(|c| c.state != CallState::Done);
                if busy && self.now < self.end + DRAIN_MAX {
                    self.queue.push(self.now + DRAIN_CHECK, Ev::Unload);
                    return;
                }
                // What the engine still thinks is going on after everyone left: calls whose
                // end it never learned (lost telephony events) and the records they hold.
                self.open_at_unload =
                    (self.server.calls_in_progress() as u64, self.server.records_held() as u64);
                self.dial_results_timed_out = self.server.dial_results_timed_out();
                self.calls_released_by_ready = self.server.calls_released_by_ready();
                self.routed_calls_abandoned_by_ready = self.server.routed_calls_abandoned_by_ready();
                let group = self.group_name.clone();
                self.admin(AdminCommand::Unload { group });
                self.unloaded = true;
            }
            _ => {}
        }
    }

    /// Runs to the end (or to `until_event`) and checks the invariants and the ledger.
    pub fn run(mut self, options: &RunOptions) -> RunOutcome {
        let wall = Instant::now();
        let cpu_before = thread_cpu_time();
        let total_s = self.scenario.duration_s.max(1.0);
        let mut next_check = self.start + crate::metrics::INTERVAL;
        let mut next_progress = 0u64;
        let mut next_sample = self.start;
        let mut kind_ns = [0u64; Ev::NAMES.len()];
        while let Some((at, ev)) = self.queue.pop() {
            if self.unloaded {
                break;
            }
            if let Some(every) = options.trace_every {
                while next_sample <= at && next_sample <= self.end {
                    self.now = next_sample;
                    self.sample_trace();
                    next_sample += every.max(Duration::from_millis(100));
                }
            }
            self.now = at;
            self.events += 1;
            let kind = ev.index();
            self.event_kinds[kind] += 1;
            if options.profile {
                let started = Instant::now();
                self.handle_event(ev);
                kind_ns[kind] += u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            } else {
                self.handle_event(ev);
            }
            if self.violation.is_some() {
                break;
            }
            if at >= next_check {
                next_check = at + crate::metrics::INTERVAL;
                if let Err(v) = self.server.check_invariants() {
                    self.violate(v.to_string());
                    break;
                }
            }
            if let Some(progress) = options.progress
                && self.events >= next_progress
            {
                next_progress = self.events + 100_000;
                progress(at.saturating_duration_since(self.start).as_secs_f64().min(total_s), total_s);
            }
            if options.until_event.is_some_and(|n| self.events >= n) {
                break;
            }
        }
        if self.violation.is_none()
            && let Err(v) = self.server.check_invariants()
        {
            self.violate(v.to_string());
        }
        let ledger = self.check_ledger(options.until_event.is_some());
        let elapsed = wall.elapsed();
        let cpu = thread_cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
        self.close_agent_time();
        let header = ReportHeader {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            algorithm: self.algorithm_in_force.clone(),
            goal: self.scenario.pacing.goal.to_string(),
            agents: self.scenario.agents.count,
            records: self.initial_records,
        };
        let figures = RunFigures {
            sim_seconds: self.now.saturating_duration_since(self.start).as_secs_f64(),
            wall: elapsed,
            cpu,
            setup_wall: self.setup_wall,
            events: self.events,
            peak_rss_mib: peak_rss_mib(),
            ledger,
            queue_events: Ev::NAMES
                .iter()
                .zip(self.event_kinds)
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
            queue_event_wall_ns: if options.profile {
                Ev::NAMES
                    .iter()
                    .zip(self.event_kinds.iter().zip(kind_ns))
                    .filter(|(_, (n, _))| **n > 0)
                    .map(|(name, (n, ns))| (name.to_string(), ns as f64 / *n as f64))
                    .collect()
            } else {
                BTreeMap::new()
            },
        };
        let report = self.metrics.report(header, figures);
        RunOutcome { report, violation: self.violation, trace: self.trace }
    }

    /// IVR ports (GVP modes): the time since the last change, busy and idle, counted as
    /// agent time so the busy factor reads as port occupancy.
    fn account_ports(&mut self) {
        if !self.mode.is_gvp() {
            return;
        }
        let (from, to) = (self.ports_since.as_micros(), self.now.as_micros());
        let ports = u64::from(self.scenario.agents.count);
        let busy = u64::from(self.ports_busy).min(ports);
        self.metrics.agents_time(AgentActivity::Talking, from, to, busy);
        self.metrics.agents_time(AgentActivity::Waiting, from, to, ports - busy);
        self.ports_since = self.now;
    }

    fn close_agent_time(&mut self) {
        self.account_ports();
        let now = self.now;
        for a in &mut self.agents {
            if let Some(activity) = a.phase.activity() {
                self.metrics.agent_time(activity, a.since.as_micros(), now.as_micros());
                a.since = now;
            }
        }
    }

    /// Every record ends in its list once, with a final or retryable status (none left
    /// Retrieved), after the unload at the end. Returns the counts by status and checks.
    fn check_ledger(&mut self, partial: bool) -> BTreeMap<String, u64> {
        let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
        let store = self.server.store();
        let mut retrieved = None;
        let mut seen = 0u64;
        for id in store.list_ids() {
            let list = store.list(id);
            for (record, handle) in list.records().iter().zip(list.handles()) {
                seen += 1;
                let name = if record.record_type == RecordType::NoCall {
                    "No Call".to_string()
                } else {
                    record.record_status.label().to_string()
                };
                *by_status.entry(name).or_default() += 1;
                if record.record_status == RecordStatus::Retrieved && retrieved.is_none() {
                    retrieved = Some(handle.0);
                }
            }
        }
        if seen < self.initial_records {
            self.violate(format!(
                "{} records loaded but {seen} in the lists at the end",
                self.initial_records
            ));
        }
        if !partial
            && self.unloaded
            && let Some(h) = retrieved
        {
            self.violate(format!("record {h} is still Retrieved after the unload"));
        }
        by_status.insert("dials_outside_window".into(), self.dials_outside_window);
        by_status.insert("dials_do_not_call".into(), self.dials_dnc);
        by_status.insert("dials_without_caller_id".into(), self.dials_without_caller_id);
        by_status.insert("misrouted_calls".into(), self.misroutes);
        by_status.insert("engine_calls_open_at_unload".into(), self.open_at_unload.0);
        by_status.insert("engine_records_held_at_unload".into(), self.open_at_unload.1);
        by_status.insert("engine_dial_results_timed_out".into(), self.dial_results_timed_out);
        by_status.insert("engine_calls_released_by_ready".into(), self.calls_released_by_ready);
        by_status
            .insert("engine_routed_calls_abandoned_by_ready".into(), self.routed_calls_abandoned_by_ready);
        by_status
    }
}

/// Runs `scenario` under `options` (the seed is `options.seed`).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunOutcome, String> {
    Ok(World::new(scenario, options.seed)?.run(options))
}

/// The request kind's static name, for counting.
fn request_kind_name(name: &str) -> Option<&'static str> {
    pacer_engine::protocol::RequestKind::from_name(name).map(|k| k.name())
}

/// One standard normal draw (Box-Muller).
fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// CPU time of the calling thread, from `/proc/thread-self/schedstat` (Linux; `None`
/// elsewhere). On a shared machine it measures the simulator's own work where wall time
/// also counts other processes.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Peak resident set of this process, MiB, from `/proc/self/status` (0 where unavailable).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let path = crate::scenario::resolve("small-5").expect("shipped");
        crate::scenario::load(&path, &["duration_s=300".to_string(), "records.count=200".to_string()])
            .unwrap()
    }

    fn held(handle: i64) -> Held {
        Held {
            handle,
            list: "Leads".into(),
            phone: phone_of(3),
            tz_offset_s: -18_000,
            chain_id: None,
            result: CallResult::Answer,
            scheduled: false,
        }
    }

    #[test]
    fn ledger_catches_a_record_on_two_desktops() {
        let scenario = small();
        let mut world = World::new(&scenario, 1).unwrap();
        world.events = 41;
        world.take_record(0, held(9));
        assert!(world.violation.is_none());
        world.release_record(0, 9);
        world.take_record(1, held(9));
        assert!(world.violation.is_none(), "released first: fine");
        world.take_record(2, held(9));
        let v = world.violation.clone().expect("caught");
        assert_eq!(v.event_index, 41);
        assert!(v.what.contains("record 9 given to 07002 while still on 07001"), "{v}");
    }

    #[test]
    fn ledger_catches_a_do_not_call_dial() {
        let scenario = small();
        let mut world = World::new(&scenario, 1).unwrap();
        world.dnc_added.insert(5);
        world.dial(DialCommand {
            call: CallId(1),
            phone: phone_of(5),
            record_handle: 6,
            group: "Sales@Team A".into(),
            cpn_digits: scenario.group.cpn_digits.as_deref().map(Into::into),
            cpn_presentation: None,
            engaged_dn: None,
            kv: KvList::new(),
        });
        let v = world.violation.expect("caught");
        assert!(v.what.contains("do-not-call"), "{v}");
    }

    #[test]
    fn config_carries_the_scenario_choices() {
        let scenario = small();
        let config = server_config(&scenario).unwrap();
        let group = &config.groups[0];
        assert_eq!(group.name, "Sales@Team A");
        assert_eq!(group.dial_mode, DialMode::Predictive);
        assert_eq!(group.pacing.algorithm, Algorithm::SmallGroup);
        assert_eq!(group.pacing.goal, Goal::OverdialRate(0.03));
        assert_eq!(group.pacing.compliance_time, Duration::from_secs(2));
        assert_eq!(group.cpn_digits.as_deref(), Some("8005550100"));
    }

    #[test]
    fn the_constant_level_pacer_and_its_level_go_together() {
        let path = crate::scenario::resolve("small-5").expect("shipped");
        let with = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            pacing_config(&crate::scenario::load(&path, &sets).unwrap())
        };
        let e = with(&["pacing.algorithm=constant_level"]).unwrap_err();
        assert!(e.starts_with("pacing.level: the constant_level pacer needs"), "{e}");
        let e = with(&["pacing.algorithm=constant_level", "pacing.level=0"]).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = with(&["pacing.level=3"]).unwrap_err();
        assert!(e.contains("only the constant_level pacer reads it, not `small_group`"), "{e}");
        let config = with(&["pacing.algorithm=constant_level", "pacing.level=3"]).unwrap();
        // The engine's own algorithm is never consulted; the world sets the level.
        assert_eq!(config.algorithm, Algorithm::Progressive);
        let scenario = crate::scenario::load(
            &path,
            &[
                "pacing.algorithm=constant_level".into(),
                "pacing.level=3".into(),
                "duration_s=60".into(),
                "agents.login_spread_s=0".into(),
                // The compliance governor would hold the level down (it still applies).
                "pacing.settings.compliance_max_abandon_rate=1.0".into(),
            ],
        )
        .unwrap();
        // Whatever the agents do, three dials are out at every moment (each replaced in the
        // instant its result comes), answered calls waiting or not.
        let options =
            RunOptions { seed: 1, trace_every: Some(Duration::from_secs(1)), ..RunOptions::default() };
        let outcome = World::new(&scenario, 1).unwrap().run(&options);
        assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
        let during: Vec<u32> = outcome
            .trace
            .iter()
            .filter(|p| p.t_s >= 1.0 && p.t_s < 60.0)
            .map(|p| p.calls_in_flight)
            .collect();
        assert!(during.len() >= 58, "{during:?}");
        assert!(during.iter().all(|&n| n == 3), "{during:?}");
        assert_eq!(outcome.report.algorithm, "constant_level");
    }
}
