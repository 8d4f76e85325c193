//! The lock-free pacing core: how many calls a campaign group should place now.
//!
//! A [`GroupPacer`] holds one campaign group's state in atomics: agents by state, per-agent
//! state with the time it was entered and the desktop's ReadyTime estimate, dials in flight,
//! answered calls waiting for an agent, online estimates (hit ratio, dial-to-answer, talk,
//! after-call work and agent wait times over a sliding window), overdial counts over several
//! horizons, and the closed-loop correction. Every method takes `&self`: any thread may
//! report events while another decides, without locks.
//!
//! A decision ([`GroupPacer::decide`]) reads the aggregate counters (never a per-agent scan,
//! except in the small-group algorithms, which run on at most `small_group_max_agents`
//! agents), asks the configured [`Algorithm`] for a number of dials, and bounds it by the
//! per-agent cap (`max_dials_per_agent`) and by the compliance governor (`governor.rs`),
//! which no goal overrides: the abandon rate over the regulatory window stays under the cap
//! even if no busy agent frees up in time (in small groups: with the busy agents freeing up
//! as the holding-time model expects), with the stated `compliance_confidence` (or, in
//! `hard` mode, even if every call beyond the agents ready now were abandoned; in the opt-in
//! `posterior` mode, small groups bound one predictive probability instead of two).
//!
//! How the pieces fit:
//!
//! - **Switch.** With an overdial-rate goal, `predictive`, `small_group` and
//!   `advanced_small_group` pace groups of at most `small_group_max_agents` available agents
//!   (default 50) with the small-group rule (the advanced one if configured) and larger
//!   groups with the classic rule; other goals always use the classic rule.
//! - **Closed loop.** Every 5 s of engine time an integral controller moves a correction
//!   factor from the goal's measured error over the estimator window (overdial rate, or agent
//!   wait for both the agent-wait and the busy-factor goal, the latter turned into the wait
//!   it implies). The classic rule multiplies the agents expected free by it; the
//!   small-group rules multiply the overdial rate they aim at by it. For a wait or busy goal
//!   the classic rule also keeps a reserve of agents free, the share the goal leaves idle,
//!   so the factor only corrects what the model misses; it does not integrate while the
//!   compliance governor holds the dials down (anti-windup).
//! - **Estimates** (hit ratio, times) are windowed sums updated by events; every 100 ms of
//!   engine time one decision (whichever wins a compare-and-swap) turns them into the
//!   means, variations and free-agent probability tables that decisions read.
//! - **No torn decision.** What one event changes together lives in one word: an agent's
//!   state with its logout flag and entry time; the agent counts by state; the calls in flight
//!   with those waiting; a window bucket's two counters. A decision reads each word once.
//! - **Atomics** all come from `atomic.rs`, which is loom's under `--cfg pacer_loom`; the
//!   models in `loom_models.rs` run with
//!   `RUSTFLAGS="--cfg pacer_loom" cargo test -p pacer-engine --release --lib pacing::loom`.
//!
//! ```
//! use pacer_engine::pacing::{AgentIdx, AgentState, DialOutcome, GroupPacer, PacingConfig};
//! use pacer_engine::time::Time;
//! use std::time::Duration;
//!
//! let t0 = Time::from_unix_s(1_790_000_000);
//! let pacer = GroupPacer::new(PacingConfig::default(), 10, t0);
//! for i in 0..3 {
//!     pacer.agent_state(AgentIdx(i), AgentState::Ready, t0);
//! }
//! // Nothing answered yet: the governor allows one dial per ready agent.
//! let decision = pacer.decide(t0);
//! assert_eq!(decision.dials, 3);
//! let counted_on = pacer.dial_placed(t0);
//! pacer.call_progress(counted_on, DialOutcome::AnsweredLive, t0, t0 + Duration::from_secs(12));
//! pacer.connected(counted_on, t0 + Duration::from_secs(12), t0 + Duration::from_secs(12));
//! assert_eq!(pacer.overdial(t0 + Duration::from_secs(12)).campaign.answered, 1);
//! ```

use std::time::Duration;

pub(crate) mod algorithm;
pub(crate) mod atomic;
mod config;
mod governor;
mod overdial;
mod state;
mod window;

pub use config::{
    Algorithm, ComplianceMode, Goal, PacingConfig, PacingConfigError, UnknownAlgorithm, VicidialConfig,
    VicidialDropMode, parse_duration,
};
pub use overdial::{OverdialCount, OverdialStats};
pub use state::{AgentCounts, AgentState, CallCounts, MAX_AGENTS};

use algorithm::advanced_small_group::AdvancedSmallGroup;
use algorithm::fixed_ratio::FixedRatio;
use algorithm::predictive::Predictive;
use algorithm::progressive::Progressive;
use algorithm::small_group::SmallGroup;
use algorithm::time_optimized::{TimeOptimized, effective_rate};
use algorithm::vicidial_adapt::{DropCounts, VicidialAdapt};
use algorithm::{Estimates, FreeTables, Pacer, View, round_dials};
use atomic::{AtomicF64, AtomicU32, AtomicU64, CachePadded, Ordering};
use governor::Governor;
use overdial::{OverdialTracker, WINDOW_BUCKETS};
use state::{AgentCountWord, AgentSlot, AgentView, CallCountWord};
use window::{Window, WindowedMean};

use crate::time::Time;

/// Dense index of an agent place inside one group (`0..max_agents`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentIdx(pub u32);

/// What call progress detection made of a dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialOutcome {
    /// A person answered.
    AnsweredLive,
    /// An answering machine answered.
    AnsweringMachine,
    /// Nobody answered.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// Anything else (invalid number, network failure, fax, ...).
    Other,
}

/// The answer to a smart-logout request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutStatus {
    /// The agent may go now.
    Ack,
    /// Dials counted on the agent are still in progress; ask again after this long.
    Wait(Duration),
}

/// A pacing decision: how many dials to place now, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// New dials to place now.
    pub dials: u32,
    /// The algorithm that decided (after the small-group switch).
    pub algorithm: Algorithm,
    /// The algorithm's own answer before rounding and limits.
    pub target: f64,
    /// The compliance governor's limit on new dials (`None` when the cap is off). When the
    /// decision is within the bound that counts only the agents ready now, that bound is
    /// given: the looser one that also counts busy agents about to be free (small groups)
    /// is computed only when it matters.
    pub governor_limit: Option<u32>,
    /// Whether the governor lowered the decision.
    pub governed: bool,
    /// The hit ratio used.
    pub hit_ratio: f64,
    /// The closed-loop correction used (1 = none).
    pub correction: f64,
    /// Agents the classic rule kept free for a busy-factor or agent-wait goal (0 for an
    /// overdial-rate goal and for the other rules).
    pub idle_reserve: f64,
    /// The overdial rate the model-based algorithms aimed at.
    pub overdial_target: f64,
    /// Calls in progress after these dials, per available agent.
    pub dial_level: f64,
}

/// The group's state at one instant, for status displays and reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacerSnapshot {
    /// Agents by state.
    pub agents: AgentCounts,
    /// Dials in flight and answered calls waiting.
    pub calls: CallCounts,
    /// Calls in progress per available agent after the last decision.
    pub dial_level: f64,
    /// The configured algorithm.
    pub algorithm: Algorithm,
    /// The current goal.
    pub goal: Goal,
    /// Estimated answered-live share of dials.
    pub hit_ratio: f64,
    /// The upper confidence bound of the hit ratio that the compliance governor uses (1 in
    /// `hard` mode and until enough dials have a result).
    pub hit_ratio_upper: f64,
    /// Estimated seconds from dial to live answer.
    pub dial_to_answer_s: f64,
    /// Estimated mean talk time, seconds.
    pub talk_s: f64,
    /// Estimated mean after-call work time, seconds.
    pub after_call_work_s: f64,
    /// Estimated mean agent wait between calls, seconds.
    pub agent_wait_s: f64,
    /// The closed-loop correction (1 = none).
    pub correction: f64,
    /// Events that did not match the state (a result for a dial never placed, an unknown
    /// agent index, ...): ignored, so the counters stay exact, and counted here.
    pub rejected_events: u64,
    /// Answers the rest of the shift is sure to bring, which the compliance governor counts
    /// towards the cap (0 without a shift; see `shift_length`).
    pub shift_credit_answers: u64,
}

/// Answers the overdial controller measures its error on, when the window holds that many.
const CONTROL_ANSWERS: u64 = 600;
/// Relative change of an estimate that makes the log-normal tables be computed again.
const TABLE_REFILL_TOLERANCE: f64 = 0.01;
/// How often (engine time) the derived estimates are recomputed from the windows.
const REFRESH_EVERY: Duration = Duration::from_millis(100);
/// How often (engine time) the shift credit is recomputed: it moves with the shift's
/// remaining time and the available agents, slowly, and costs a scan of the agents.
const CREDIT_EVERY: Duration = Duration::from_secs(1);
/// How often the closed-loop correction takes a step.
const CONTROL_EVERY: Duration = Duration::from_secs(5);
/// Weights of the priors, in samples, when blending them with the first measurements.
const HIT_PRIOR_DIALS: f64 = 10.0;
const MEAN_PRIOR_SAMPLES: f64 = 3.0;
/// Samples needed before a measured coefficient of variation replaces the prior.
const CV_MIN_SAMPLES: u64 = 10;
/// Answers in the control window needed before the overdial controller acts.
const CONTROL_MIN_ANSWERED: u64 = 20;
/// Bounds of the correction factor.
const CORRECTION_MIN: f64 = 0.25;
const CORRECTION_MAX: f64 = 4.0;

/// The online estimators' raw windows.
#[derive(Debug)]
struct Estimators {
    /// `a` = live answers, `b` = dials with a result.
    hits: Window,
    dial_to_answer: WindowedMean,
    /// Dial to a result other than a live answer (for the shift credit).
    dial_to_miss: WindowedMean,
    talk: WindowedMean,
    after_call_work: WindowedMean,
    agent_wait: WindowedMean,
    /// Answered calls over the last minute (for `vicidial_adapt`).
    minute: Window,
}

/// Values derived from the windows at the last refresh, each a valid estimate on its own.
#[derive(Debug)]
struct Derived {
    next_refresh_us: AtomicU64,
    next_control_us: AtomicU64,
    hit_ratio: AtomicF64,
    dial_to_answer_s: AtomicF64,
    talk_s: AtomicF64,
    talk_cv: AtomicF64,
    acw_s: AtomicF64,
    acw_cv: AtomicF64,
    wait_s: AtomicF64,
    correction: AtomicF64,
    /// The rate `time_optimized` aims at for the next horizon.
    time_optimized_rate: AtomicF64,
    /// Probabilities of busy agents becoming free within the horizon.
    tables: FreeTables,
    /// Engine time (micros) the shift ends at; 0 when not known (see `shift_length`).
    shift_end_us: AtomicU64,
    /// Answers the rest of the shift is sure to bring, counted towards the compliance cap
    /// (`governor.rs`); 0 without a shift.
    shift_credit: AtomicU64,
    /// When the shift credit is next recomputed (engine micros).
    next_credit_us: AtomicU64,
}

/// The levels a pacer outside the engine may set ([`GroupPacer::set_external_level`],
/// [`GroupPacer::set_external_in_flight`]), on one cache line: a decision reads them both
/// when neither is set, as is the case outside the simulator.
#[derive(Debug)]
struct ExternalLevels {
    /// Calls to keep in progress (dials in flight plus answered calls waiting).
    calls: AtomicF64,
    /// Dials to keep in flight.
    in_flight: AtomicF64,
}

/// One campaign group's pacing state and decision. `Send + Sync`; every method takes
/// `&self` and is lock-free.
#[derive(Debug)]
pub struct GroupPacer {
    config: PacingConfig,
    goal: CachePadded<AtomicU64>,
    algorithm: CachePadded<AtomicU32>,
    agents: CachePadded<AgentCountWord>,
    calls: CachePadded<CallCountWord>,
    slots: Box<[AgentSlot]>,
    /// Round-robin position for counting dials on agents.
    cursor: CachePadded<AtomicU32>,
    est: Estimators,
    derived: CachePadded<Derived>,
    tracker: OverdialTracker,
    governor: Governor,
    vicidial: VicidialAdapt,
    rejected: CachePadded<AtomicU64>,
    last_dial_level: CachePadded<AtomicF64>,
    /// Engine time (micros) of the last decision the compliance governor lowered; 0 if none.
    governed_at_us: CachePadded<AtomicU64>,
    /// Where the next small-group search starts (see `View::warm_start`).
    warm_start: CachePadded<AtomicU32>,
    /// Levels set from outside; NaN when the configured algorithm decides.
    external: CachePadded<ExternalLevels>,
    /// Busy agents known from outside to be free in time ([`GroupPacer::set_external_free`]);
    /// `u32::MAX` when the governor estimates them.
    external_free: CachePadded<AtomicU32>,
}

impl GroupPacer {
    /// A pacer for a group of at most `max_agents` agent places (clamped to
    /// `1..=`[`MAX_AGENTS`]), all logged out, created at `now`.
    pub fn new(config: PacingConfig, max_agents: u32, now: Time) -> GroupPacer {
        let n = max_agents.clamp(1, MAX_AGENTS);
        let window = config.estimator_window.max(Duration::from_secs(1));
        let prior = Estimates::PRIOR;
        let goal = config.goal.sanitized();
        GroupPacer {
            goal: CachePadded::new(AtomicU64::new(goal.pack())),
            algorithm: CachePadded::new(AtomicU32::new(config.algorithm.code())),
            agents: CachePadded::new(AgentCountWord::new()),
            calls: CachePadded::new(CallCountWord::new()),
            slots: (0..n).map(|_| AgentSlot::new()).collect(),
            cursor: CachePadded::new(AtomicU32::new(0)),
            est: Estimators {
                hits: Window::new(window, WINDOW_BUCKETS, 24),
                dial_to_answer: WindowedMean::new(window, WINDOW_BUCKETS),
                dial_to_miss: WindowedMean::new(window, WINDOW_BUCKETS),
                talk: WindowedMean::new(window, WINDOW_BUCKETS),
                after_call_work: WindowedMean::new(window, WINDOW_BUCKETS),
                agent_wait: WindowedMean::new(window, WINDOW_BUCKETS),
                minute: Window::new(Duration::from_secs(60), 12, 24),
            },
            derived: CachePadded::new(Derived {
                next_refresh_us: AtomicU64::new(now.as_micros()),
                // The first control step comes one period after creation.
                next_control_us: AtomicU64::new((now + CONTROL_EVERY).as_micros()),
                hit_ratio: AtomicF64::new(prior.hit_ratio),
                dial_to_answer_s: AtomicF64::new(prior.dial_to_answer_s),
                talk_s: AtomicF64::new(prior.talk_s),
                talk_cv: AtomicF64::new(prior.talk_cv),
                acw_s: AtomicF64::new(prior.acw_s),
                acw_cv: AtomicF64::new(prior.acw_cv),
                wait_s: AtomicF64::new(prior.wait_s),
                correction: AtomicF64::new(1.0),
                time_optimized_rate: AtomicF64::new(goal.value()),
                tables: {
                    let tables = FreeTables::new();
                    tables.fill(&prior, prior.dial_to_answer_s + config.compliance_time.as_secs_f64());
                    tables
                },
                shift_end_us: AtomicU64::new(if config.shift_length.is_zero() {
                    0
                } else {
                    (now + config.shift_length).as_micros().max(1)
                }),
                shift_credit: AtomicU64::new(0),
                next_credit_us: AtomicU64::new(0),
            }),
            tracker: OverdialTracker::new(
                config.overdial_last_n,
                config.overdial_last_t,
                window,
                config.compliance_window.max(Duration::from_secs(1)),
                config.day_utc_offset_s,
            ),
            governor: Governor::new(&config),
            vicidial: VicidialAdapt::new(config.vicidial.initial_level),
            rejected: CachePadded::new(AtomicU64::new(0)),
            last_dial_level: CachePadded::new(AtomicF64::new(0.0)),
            governed_at_us: CachePadded::new(AtomicU64::new(0)),
            warm_start: CachePadded::new(AtomicU32::new(u32::MAX)),
            external: CachePadded::new(ExternalLevels {
                calls: AtomicF64::new(f64::NAN),
                in_flight: AtomicF64::new(f64::NAN),
            }),
            external_free: CachePadded::new(AtomicU32::new(u32::MAX)),
            config,
        }
    }

    /// The settings this pacer was created with (goal and algorithm may have changed since:
    /// see [`GroupPacer::goal`] and [`GroupPacer::algorithm`]).
    pub fn config(&self) -> &PacingConfig {
        &self.config
    }

    /// The number of agent places.
    pub fn max_agents(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The current goal.
    pub fn goal(&self) -> Goal {
        // `Acquire` pairs with the `Release` store of `set_goal`.
        Goal::unpack(self.goal.load(Ordering::Acquire))
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::from_code(self.algorithm.load(Ordering::Acquire))
    }

    /// Changes the goal (kind and value in one atomic store).
    pub fn set_goal(&self, goal: Goal) {
        self.goal.store(goal.pack(), Ordering::Release);
    }

    /// Changes the algorithm.
    pub fn set_algorithm(&self, algorithm: Algorithm) {
        self.algorithm.store(algorithm.code(), Ordering::Release);
        // The log-normal tables are kept up to date only for the algorithm that reads them.
        self.fill_tables();
    }

    /// Refills the probability tables from the current estimates: the log-normal ones only
    /// for their readers (`advanced_small_group` and the `confidence` governor), and only
    /// when an estimate moved.
    fn fill_tables(&self) {
        let d = &self.derived;
        let est = self.estimates();
        let horizon_s = d.dial_to_answer_s.load() + self.config.compliance_time.as_secs_f64();
        d.tables.fill_exponential(&est, horizon_s);
        // The governor reads them too when it counts busy agents (`governor.rs`).
        if self.algorithm() == Algorithm::AdvancedSmallGroup || self.governor.counts_freed() {
            d.tables.fill_conditional(&est, horizon_s, TABLE_REFILL_TOLERANCE);
        }
    }

    /// Hands the decision to a pacer outside the engine: from now on each decision aims at
    /// `calls` calls in progress (dials in flight plus answered calls waiting), instead of
    /// what the configured algorithm says, until `None` gives it back. Rounding, the
    /// per-agent cap and the compliance governor still apply. The simulator's `oracle`
    /// reference pacer, which knows when each agent will really be free, decides through
    /// this hook.
    pub fn set_external_level(&self, calls: Option<f64>) {
        self.external.calls.store(calls.filter(|c| c.is_finite()).unwrap_or(f64::NAN));
    }

    /// Hands the decision to a pacer outside the engine that counts dials only: from now on
    /// each decision aims at `dials` dials in flight (placed, no result yet), whatever the
    /// number of answered calls waiting for an agent, until `None` gives it back. Rounding,
    /// the per-agent cap and the compliance governor still apply, and a level set with
    /// [`GroupPacer::set_external_level`] takes precedence.
    ///
    /// The simulator's `constant_level` pacer holds a fixed number of calls ringing through
    /// this hook: with exponential times to a result, their results then form a Poisson
    /// stream, which is what reduces a run to a textbook queue. Through
    /// [`GroupPacer::set_external_level`] it could not: a call answered with no agent free
    /// moves from "in flight" to "waiting" within one input, and a level counting both would
    /// not replace it until the next input.
    pub fn set_external_in_flight(&self, dials: Option<f64>) {
        self.external.in_flight.store(dials.filter(|c| c.is_finite()).unwrap_or(f64::NAN));
    }

    /// Tells the compliance governor how many busy agents will surely be free in time for
    /// the calls placed now, instead of its own estimate from the holding-time model, until
    /// `None` gives the estimate back (see `governor.rs`). Only a pacer that knows the
    /// agents' true free times can say this: the simulator's `oracle`, which otherwise
    /// would be held to the engine's model by the governor and could not show what knowing
    /// the free times is worth.
    pub fn set_external_free(&self, agents: Option<u32>) {
        // `Relaxed`: the value stands alone; a decision may use the previous one.
        self.external_free.store(agents.map_or(u32::MAX, |n| n.min(u32::MAX - 1)), Ordering::Relaxed);
    }

    fn reject(&self) {
        // `Relaxed`: a diagnostic count, ordered with nothing.
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn slot(&self, agent: AgentIdx) -> Option<&AgentSlot> {
        let slot = self.slots.get(agent.0 as usize);
        if slot.is_none() {
            self.reject();
        }
        slot
    }

    /// The agent at `agent` is now in `state`. While a smart logout is pending, any state
    /// but `LoggedOut` keeps the agent `Leaving` (excluded from capacity).
    pub fn agent_state(&self, agent: AgentIdx, state: AgentState, now: Time) {
        let Some(slot) = self.slot(agent) else { return };
        let t = slot.set_state(&self.agents, state, now);
        if !matches!(t.new, AgentState::Talking | AgentState::AfterCallWork) {
            slot.set_ready_at(None);
        }
        let spent = now.saturating_duration_since(t.entered);
        if t.old == AgentState::Ready && t.new == AgentState::Talking {
            self.est.agent_wait.record(now, spent);
        }
        if t.old == AgentState::AfterCallWork && t.new != AgentState::AfterCallWork {
            self.est.after_call_work.record(now, spent);
        }
    }

    /// The desktop of `agent` expects its agent to be ready `in_` from `now` (ReadyTime).
    /// Ignored unless the agent is talking or in after-call work.
    pub fn ready_time(&self, agent: AgentIdx, in_: Duration, now: Time) {
        let Some(slot) = self.slot(agent) else { return };
        if matches!(slot.state(), AgentState::Talking | AgentState::AfterCallWork) {
            slot.set_ready_at(Some(now + in_));
        }
    }

    /// A dial was placed. Returns the agent it is counted on (for smart logout), chosen
    /// round-robin among available agents not logging out; `None` if there is none.
    pub fn dial_placed(&self, now: Time) -> Option<AgentIdx> {
        if !self.calls.apply(1, 0) {
            self.reject();
        }
        let n = self.slots.len() as u32;
        // `Relaxed`: the cursor only spreads the load; any value is correct.
        let start = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            let idx = (start + i) % n;
            let slot = &self.slots[idx as usize];
            if slot.try_count_dial(now) {
                self.cursor.store(idx.wrapping_add(1), Ordering::Relaxed);
                return Some(AgentIdx(idx));
            }
        }
        None
    }

    fn settle(&self, counted_on: Option<AgentIdx>) {
        if let Some(agent) = counted_on
            && let Some(slot) = self.slot(agent)
            && !slot.settle_dial()
        {
            self.reject();
        }
    }

    /// Call progress detection's result for a dial placed at `placed_at`. A live answer
    /// moves the call from in flight to waiting for an agent; anything else ends it.
    pub fn call_progress(
        &self,
        counted_on: Option<AgentIdx>,
        outcome: DialOutcome,
        placed_at: Time,
        now: Time,
    ) {
        let live = outcome == DialOutcome::AnsweredLive;
        if !self.calls.apply(-1, i64::from(live)) {
            self.reject();
            return;
        }
        self.est.hits.add(now, u64::from(live), 1);
        let took = now.saturating_duration_since(placed_at);
        if live {
            self.est.dial_to_answer.record(now, took);
        } else {
            self.est.dial_to_miss.record(now, took);
            self.settle(counted_on);
        }
    }

    /// A dial whose result never came (the server gave up on it after its dial-result
    /// timeout): it leaves the calls in flight, and the agent it was counted on, without
    /// touching the estimates, since nothing is known of how it ended.
    pub fn dial_lost(&self, counted_on: Option<AgentIdx>) {
        if !self.calls.apply(-1, 0) {
            self.reject();
            return;
        }
        self.settle(counted_on);
    }

    /// An answered call reached an agent.
    pub fn connected(&self, counted_on: Option<AgentIdx>, answered_at: Time, now: Time) {
        self.resolve(counted_on, answered_at, now, false);
    }

    /// An answered call reached no agent in time (dropped or hung up): an overdial.
    pub fn abandoned(&self, counted_on: Option<AgentIdx>, answered_at: Time, now: Time) {
        self.resolve(counted_on, answered_at, now, true);
    }

    /// An answered call already reported [`GroupPacer::connected`] (routed to an agent)
    /// never reached them: the customer hung up on the way. The call is not resolved again;
    /// the overdial horizons count it abandoned instead of connected.
    pub fn connected_call_abandoned(&self, now: Time) {
        self.tracker.connected_was_abandoned(now);
        self.est.minute.add(now, 1, 0);
    }

    fn resolve(&self, counted_on: Option<AgentIdx>, answered_at: Time, now: Time, abandoned: bool) {
        // The overdial horizons count a call when it is resolved (`now`), so that every count
        // is final when made; when it was answered does not change what is counted.
        let _ = answered_at;
        if !self.calls.apply(0, -1) {
            // Still recorded below: an overdial must never go uncounted.
            self.reject();
        }
        self.settle(counted_on);
        self.tracker.record(abandoned, now);
        self.est.minute.add(now, u64::from(abandoned), 1);
    }

    /// A conversation of `agent` ended after `talk` (the agent goes to after-call work
    /// through [`GroupPacer::agent_state`]).
    pub fn call_ended(&self, agent: AgentIdx, talk: Duration, now: Time) {
        if self.slot(agent).is_some() {
            self.est.talk.record(now, talk);
        }
    }

    /// Smart logout: the agent is excluded from capacity at once. `Ack` if no dial counted on
    /// the agent is still in progress or `call_wait_connected_timeout` has passed since the
    /// first request (the agent is then logged out here); otherwise `Wait` for the
    /// estimated time until those dials settle, recomputed at each request.
    pub fn logout_requested(&self, agent: AgentIdx, now: Time) -> LogoutStatus {
        let Some(slot) = self.slot(agent) else { return LogoutStatus::Ack };
        let (_, first, pending) = slot.begin_logout(&self.agents, now);
        let deadline = first + self.config.call_wait_connected_timeout;
        if pending == 0 || now >= deadline {
            slot.set_ready_at(None);
            slot.set_state(&self.agents, AgentState::LoggedOut, now);
            return LogoutStatus::Ack;
        }
        // The latest dial counted on the agent is expected to be answered after the
        // dial-to-answer time and then to wait at most the compliance time for an agent.
        let last = slot.last_placed();
        let settle = last
            // (`try_`: a NaN estimate, which the blending never produces, must not panic.)
            + Duration::try_from_secs_f64(self.derived.dial_to_answer_s.load().clamp(0.0, 3600.0)).unwrap_or_default()
            + self.config.compliance_time;
        let wait = settle.saturating_duration_since(now).max(Duration::from_secs(1));
        LogoutStatus::Wait(wait.min(deadline.saturating_duration_since(now)))
    }

    /// Overdial counts and rates over every horizon, at `now`.
    pub fn overdial(&self, now: Time) -> OverdialStats {
        self.tracker.stats(now)
    }

    /// The group's counters and estimates now.
    pub fn snapshot(&self) -> PacerSnapshot {
        let d = &self.derived;
        PacerSnapshot {
            agents: self.agents.load(),
            calls: self.calls.load(),
            dial_level: self.last_dial_level.load(),
            algorithm: self.algorithm(),
            goal: self.goal(),
            hit_ratio: d.hit_ratio.load(),
            hit_ratio_upper: self.governor.hit_upper(),
            dial_to_answer_s: d.dial_to_answer_s.load(),
            talk_s: d.talk_s.load(),
            after_call_work_s: d.acw_s.load(),
            agent_wait_s: d.wait_s.load(),
            correction: d.correction.load(),
            rejected_events: self.rejected.load(Ordering::Relaxed),
            shift_credit_answers: d.shift_credit.load(Ordering::Relaxed),
        }
    }

    /// The shift ends at `end` (`None`: not known, or over): from now on the governor counts
    /// the answers the rest of the shift is sure to bring towards the compliance cap (see
    /// `shift_length` and `governor.rs`). The server ends the shift when the group stops.
    pub fn set_shift_end(&self, end: Option<Time>) {
        let d = &self.derived;
        // `Relaxed`: each value stands alone; the next refresh recomputes the credit, and a
        // shift that ends drops it at once.
        d.shift_end_us.store(end.map_or(0, |t| t.as_micros().max(1)), Ordering::Relaxed);
        if end.is_none() {
            d.shift_credit.store(0, Ordering::Relaxed);
        }
        // The next refresh recomputes the credit for the new end.
        d.next_credit_us.store(0, Ordering::Relaxed);
    }

    /// When the shift ends, if known (see [`GroupPacer::set_shift_end`]).
    pub fn shift_end(&self) -> Option<Time> {
        // `Relaxed`: the value stands alone.
        match self.derived.shift_end_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Time::from_micros(us)),
        }
    }

    /// Recomputes the answers credited for the rest of the shift (see `governor.rs`), at
    /// most once per [`CREDIT_EVERY`].
    fn refresh_shift_credit(
        &self,
        now: Time,
        (hits, dials): (u64, u64),
        [talk, acw, dta]: [window::Moments; 3],
    ) {
        let d = &self.derived;
        let end = d.shift_end_us.load(Ordering::Relaxed);
        let cap = self.config.compliance_max_abandon_rate;
        if end == 0 || end <= now.as_micros() || cap.is_nan() || cap >= 1.0 {
            d.shift_credit.store(0, Ordering::Relaxed);
            return;
        }
        let due = d.next_credit_us.load(Ordering::Relaxed);
        if now.as_micros() < due {
            return;
        }
        d.next_credit_us.store((now + CREDIT_EVERY).as_micros(), Ordering::Relaxed);
        // The talks and wrap-ups measured so far are the ones that ended: early in a shift the
        // short ones, so their mean is biased low and would overstate the answers to come
        // (groups of 200 and 1,000 agents on five-minute calls, paced by the governed VICIdial
        // level, ended their hour at 4.2% and 7.3% abandons on that bias). The time already spent in the talks and wrap-ups still going on is added
        // to the total, as in the total-time-on-test estimate of a mean under censoring
        // (Kaplan-Meier's exponential case; see Lawless, *Statistical Models and Methods for
        // Lifetime Data*, 2nd ed. (2003), §2.2): `(sum of ended + sum of elapsed) / ended`,
        // at or above the true mean while few have ended.
        let (mut talking_s, mut wrapping_s) = (0.0, 0.0);
        for slot in self.slots.iter() {
            let agent = slot.view();
            let elapsed = now.saturating_duration_since(agent.entered_at).as_secs_f64();
            match agent.state {
                AgentState::Talking => talking_s += elapsed,
                AgentState::AfterCallWork => wrapping_s += elapsed,
                _ => {}
            }
        }
        let with_elapsed = |m: window::Moments, elapsed_s: f64| window::Moments {
            mean_s: m.mean_s + elapsed_s / m.count.max(1) as f64,
            ..m
        };
        let remaining_s =
            ((end - now.as_micros()) as f64 / 1e6).min(self.config.compliance_window.as_secs_f64());
        let credit = self.governor.shift_credit(&governor::ShiftOutlook {
            agents: self.agents.load().available(),
            remaining_s,
            hits,
            dials,
            talk: with_elapsed(talk, talking_s),
            after_call_work: with_elapsed(acw, wrapping_s),
            dial_to_answer: dta,
            dial_to_miss: self.est.dial_to_miss.moments(now),
        });
        d.shift_credit.store(credit, Ordering::Relaxed);
    }

    /// Recomputes the derived estimates and steps the controller, if due. One caller wins
    /// each due time (a CAS), so concurrent deciders do not repeat the work.
    fn refresh_if_due(&self, now: Time) {
        let d = &self.derived;
        let due = d.next_refresh_us.load(Ordering::Acquire);
        if now.as_micros() < due {
            return;
        }
        let next = (now + REFRESH_EVERY).as_micros();
        // `AcqRel` pairs with the `Acquire` load above in other deciders.
        if d.next_refresh_us.compare_exchange(due, next, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        self.refresh(now);
    }

    fn refresh(&self, now: Time) {
        let d = &self.derived;
        let prior = Estimates::PRIOR;
        let (hits, dials) = self.est.hits.sum(now);
        self.governor.observe_hits(hits, dials);
        d.hit_ratio
            .store((hits as f64 + prior.hit_ratio * HIT_PRIOR_DIALS) / (dials as f64 + HIT_PRIOR_DIALS));
        let blend = |m: window::Moments, prior_mean: f64| {
            (m.count as f64 * m.mean_s + prior_mean * MEAN_PRIOR_SAMPLES)
                / (m.count as f64 + MEAN_PRIOR_SAMPLES)
        };
        let cv = |m: window::Moments, prior_cv: f64| if m.count >= CV_MIN_SAMPLES { m.cv } else { prior_cv };
        let dta = self.est.dial_to_answer.moments(now);
        d.dial_to_answer_s.store(blend(dta, prior.dial_to_answer_s));
        let talk = self.est.talk.moments(now);
        d.talk_s.store(blend(talk, prior.talk_s));
        d.talk_cv.store(cv(talk, prior.talk_cv));
        let acw = self.est.after_call_work.moments(now);
        d.acw_s.store(blend(acw, prior.acw_s));
        d.acw_cv.store(cv(acw, prior.acw_cv));
        let wait = self.est.agent_wait.moments(now);
        d.wait_s.store(blend(wait, prior.wait_s));
        self.fill_tables();
        self.refresh_shift_credit(now, (hits, dials), [talk, acw, dta]);

        let goal = self.goal();
        if let Goal::OverdialRate(r) = goal {
            // The answers of the last estimator window predict those of the next one.
            let expected_next = self.tracker.control(now).answered as f64;
            let rate = effective_rate(
                r,
                self.tracker.campaign(),
                expected_next,
                self.config.compliance_max_abandon_rate,
            );
            d.time_optimized_rate.store(rate);
        }

        let due = d.next_control_us.load(Ordering::Acquire);
        if now.as_micros() >= due
            && d.next_control_us
                .compare_exchange(due, (now + CONTROL_EVERY).as_micros(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // The previous step was at `due - CONTROL_EVERY`.
            let last = Time::from_micros(due).saturating_sub(CONTROL_EVERY);
            self.control_step(now, goal, now.saturating_duration_since(last));
        }
    }

    /// One step of the closed-loop correction: an integral controller on the log of the
    /// correction factor, driven by the relative error between the goal and its measure over
    /// the estimator window (the classic integral action that removes steady-state model
    /// error; see Åström and Murray, *Feedback Systems* (2008), §10.3). The gain makes a
    /// persistent relative error of 1 change the factor by e^0.5 per window length, slow
    /// enough for the window's own lag; steps are weighted by the time since the previous one.
    fn control_step(&self, now: Time, goal: Goal, elapsed: Duration) {
        let d = &self.derived;
        let window_s = self.config.estimator_window.as_secs_f64().max(1.0);
        // The span the error is measured over, which sets the gain (see below).
        let mut span_s = window_s;
        let error = match goal {
            Goal::OverdialRate(r) => {
                // A large floor answers enough calls in a few minutes to measure its rate: it
                // is steered on the most recent `CONTROL_ANSWERS` answers, so the correction
                // follows a floor that changes within minutes (the end of a shift, when the
                // floor empties in half an hour and a correction learnt on the full floor
                // overdials the shrinking one: floor-1000's last quarter hour reached 10%
                // abandons). A small one keeps the whole window.
                let (measured, span) = self.tracker.control_recent(now, CONTROL_ANSWERS);
                if measured.answered < CONTROL_MIN_ANSWERED {
                    return;
                }
                span_s = span.as_secs_f64().clamp(1.0, window_s);
                let target = if self.algorithm() == Algorithm::TimeOptimized {
                    d.time_optimized_rate.load()
                } else {
                    r
                };
                ((target - measured.rate()) / target.max(0.005)).clamp(-2.0, 1.0)
            }
            Goal::BusyFactor(_) | Goal::AgentWaitS(_) => {
                let wait = self.est.agent_wait.moments(now);
                if wait.count < CV_MIN_SAMPLES {
                    return;
                }
                // A busy-factor goal is steered as the agent wait it implies (see
                // `wait_goal_s`), so both goals share one measure and one gain.
                let Some(w) = wait_goal_s(goal, d.talk_s.load() + d.acw_s.load()) else { return };
                ((wait.mean_s - w) / w.max(1.0)).clamp(-1.0, 1.0)
            }
        };
        // Anti-windup by conditional integration (Åström and Murray, *Feedback Systems*,
        // §10.4): while the compliance governor holds the dials down, a goal that asks for
        // more dials cannot be reached, and integrating that error would only leave a factor
        // far too high for when the governor lets go.
        let since_last_step = now.saturating_sub(elapsed).as_micros();
        if error > 0.0
            && !matches!(goal, Goal::OverdialRate(_))
            && self.governed_at_us.load(Ordering::Relaxed) >= since_last_step
        {
            return;
        }
        // Half the error corrected per measuring span.
        let gain = 0.5 * elapsed.as_secs_f64().min(span_s) / span_s;
        let c = d.correction.load();
        d.correction.store((c * (gain * error).exp()).clamp(CORRECTION_MIN, CORRECTION_MAX));
    }

    /// The algorithm that paces now: with an overdial-rate goal, the classic and small-group
    /// algorithms switch on the number of available agents at `small_group_max_agents`.
    fn effective_algorithm(&self, configured: Algorithm, goal: Goal, available: u32) -> Algorithm {
        let small = available <= self.config.small_group_max_agents;
        match configured {
            Algorithm::Predictive | Algorithm::SmallGroup | Algorithm::AdvancedSmallGroup => {
                match (goal, small, configured) {
                    (Goal::OverdialRate(_), true, Algorithm::AdvancedSmallGroup) => {
                        Algorithm::AdvancedSmallGroup
                    }
                    (Goal::OverdialRate(_), true, _) => Algorithm::SmallGroup,
                    _ => Algorithm::Predictive,
                }
            }
            other => other,
        }
    }

    /// How many dials to place now. Lock-free; reads the counters once each.
    ///
    /// A decision places nothing: the caller places the dials and reports each with
    /// [`GroupPacer::dial_placed`]. Until it does, another decision sees the same state and
    /// returns the same dials again (decisions are not additive).
    pub fn decide(&self, now: Time) -> Decision {
        self.refresh_if_due(now);
        let agents = self.agents.load();
        let calls = self.calls.load();
        let goal = self.goal();
        let configured = self.algorithm();
        let algorithm = self.effective_algorithm(configured, goal, agents.available());
        let d = &self.derived;
        let correction = d.correction.load();
        let cap = self.config.compliance_max_abandon_rate;
        let base_rate = match goal {
            Goal::OverdialRate(r) if algorithm == Algorithm::TimeOptimized => {
                d.time_optimized_rate.load().min(r * 2.0)
            }
            Goal::OverdialRate(r) => r,
            _ => cap.min(1.0),
        };
        let mut view = View {
            now,
            agents,
            calls,
            est: self.estimates(),
            goal,
            correction,
            // The model's overdial share is a knob, not the measure: the small-group rules
            // miss agents who free up just after the horizon and answers that come late, so
            // at the goal's share they overdial far less than the goal (0.00% on five agents
            // with five-minute calls). The controller may push the share past the cap, up to
            // the same factor as it moves the classic rule's free agents; the governor, not
            // this share, keeps the measured rate under the cap.
            overdial_target: (base_rate * correction).clamp(0.0, (cap.max(0.0) * CORRECTION_MAX).min(1.0)),
            config: &self.config,
            tables: &d.tables,
            warm_start: &self.warm_start,
            slots: &self.slots,
        };
        let external = self.external.calls.load();
        // Read only when no level counting calls in progress is set (it would win).
        let external_in_flight = if external.is_nan() { self.external.in_flight.load() } else { f64::NAN };
        let idle_reserve =
            if algorithm == Algorithm::Predictive && external.is_nan() && external_in_flight.is_nan() {
                idle_reserve(goal, agents, &view.est)
            } else {
                0.0
            };
        if idle_reserve > 0.0 {
            // The classic rule dials for `correction * E[F]` agents; keeping `idle_reserve`
            // of them free means dialing for `correction * E[F] - idle_reserve`, which the
            // rule reads as a smaller factor on `E[F]`.
            let free = algorithm::predictive::expected_free(&view);
            if free > 0.0 {
                view.correction = ((correction * free - idle_reserve) / free).max(0.0);
            }
        }
        let target = match algorithm {
            _ if !external.is_nan() => external - f64::from(calls.outstanding()),
            _ if !external_in_flight.is_nan() => external_in_flight - f64::from(calls.in_flight),
            Algorithm::Progressive => Progressive.target_dials(&view),
            Algorithm::Predictive => Predictive.target_dials(&view),
            Algorithm::SmallGroup => SmallGroup.target_dials(&view),
            Algorithm::AdvancedSmallGroup => AdvancedSmallGroup.target_dials(&view),
            Algorithm::TimeOptimized => TimeOptimized.target_dials(&view),
            Algorithm::FixedRatio => FixedRatio.target_dials(&view),
            Algorithm::VicidialAdapt => {
                self.vicidial.tick(&view, || self.drop_counts(now));
                self.vicidial.target_dials(&view)
            }
        };
        let mut dials = round_dials(target);
        // The per-agent cap on calls in progress.
        // Truncation is the floor here (non-negative), and `as` saturates.
        let cap_calls = (self.config.max_dials_per_agent.max(0.0) * f64::from(agents.available())) as u32;
        dials = dials.min(cap_calls.saturating_sub(calls.outstanding()));
        // `Relaxed`: the credit stands alone; a decision may use the previous refresh's.
        let allowance = match d.shift_credit.load(Ordering::Relaxed) {
            0 => self.tracker.uncovered_allowance(now, cap),
            credit => self.tracker.uncovered_allowance_credited(now, cap, credit),
        };
        let mut governor_limit = self.governor.dial_limit(allowance, agents.ready, calls);
        // Only when the ready agents alone would hold the decision back, and only in a small
        // group, does the governor scan the busy agents (see `governor.rs`).
        if governor_limit.is_some_and(|limit| dials > limit)
            && self.governor.counts_freed()
            && let external_free = self.external_free.load(Ordering::Relaxed)
            && (agents.available() <= self.config.small_group_max_agents || external_free != u32::MAX)
        {
            let mut freed = algorithm::small_group::Dist::new();
            if external_free == u32::MAX {
                self.freed_distribution(now, &mut freed);
            } else {
                // Known: all the mass on that count.
                let known = external_free.min(agents.talking + agents.after_call_work) as usize;
                freed.resize(known + 1, 0.0);
                freed[known] = 1.0;
            }
            governor_limit = self.governor.dial_limit_freed(allowance, agents.ready, calls, &freed, dials);
        }
        let governed = governor_limit.is_some_and(|limit| dials > limit);
        // Only the wait and busy goals' anti-windup reads this, so an overdial goal skips the
        // read-modify-write (a third of a 1,000-agent decision's cost).
        if governed && !matches!(goal, Goal::OverdialRate(_)) {
            // `Relaxed`: read by the controller's next step, which needs no other write with
            // it; a step that misses this one sees the next.
            self.governed_at_us.fetch_max(now.as_micros(), Ordering::Relaxed);
        }
        if let Some(limit) = governor_limit {
            dials = dials.min(limit);
        }
        let dial_level = if agents.available() == 0 {
            0.0
        } else {
            f64::from(calls.outstanding() + dials) / f64::from(agents.available())
        };
        self.last_dial_level.store(dial_level);
        Decision {
            dials,
            algorithm,
            target,
            governor_limit,
            governed,
            hit_ratio: view.est.hit_ratio,
            correction,
            idle_reserve,
            overdial_target: view.overdial_target,
            dial_level,
        }
    }

    /// The distribution of the number of busy agents (talking or in after-call work) free
    /// within the predictive horizon, each with the log-normal holding-time probability of
    /// the advanced small-group rule given the elapsed time in state. The desktops' ReadyTime
    /// estimates are left out here: a person's guess whose error the engine does not measure
    /// cannot back a stated confidence (counted, they let the governor place calls that
    /// then abandoned: 4.4% on `scenarios/bench/n0010-h60-t300.toml`, whose desktops send
    /// their estimate early in the wrap-up and guess it short).
    fn freed_distribution(&self, now: Time, out: &mut algorithm::small_group::Dist) {
        let est = self.estimates();
        let horizon_s = est.dial_to_answer_s.max(0.0) + self.config.compliance_time.as_secs_f64();
        let mut busy = algorithm::small_group::Dist::new();
        for slot in self.slots.iter() {
            let agent = AgentView { ready_at: None, ..slot.view() };
            if matches!(agent.state, AgentState::Talking | AgentState::AfterCallWork)
                && let Some(p) =
                    algorithm::advanced_small_group::p_free(&agent, now, horizon_s, &self.derived.tables)
                // Leaving out an agent who is very unlikely to free up only makes `F` smaller,
                // which errs on the safe side, and keeps the convolution short.
                && p > 1e-3
            {
                busy.push(p.min(1.0));
            }
        }
        algorithm::advanced_small_group::poisson_binomial(&busy, out);
    }

    fn estimates(&self) -> Estimates {
        let d = &self.derived;
        Estimates {
            hit_ratio: d.hit_ratio.load(),
            dial_to_answer_s: d.dial_to_answer_s.load(),
            talk_s: d.talk_s.load(),
            talk_cv: d.talk_cv.load(),
            acw_s: d.acw_s.load(),
            acw_cv: d.acw_cv.load(),
            wait_s: d.wait_s.load(),
        }
    }

    fn drop_counts(&self, now: Time) -> DropCounts {
        let (abandoned, answered) = self.est.minute.sum(now);
        let day_us = 86_400_000_000i64;
        let local = now.as_micros() as i64 + i64::from(self.config.day_utc_offset_s) * 1_000_000;
        DropCounts {
            day: self.tracker.stats(now).day,
            last_minute: OverdialCount { abandoned, answered },
            day_fraction: local.rem_euclid(day_us) as f64 / day_us as f64,
        }
    }
}

/// The mean agent wait, in seconds, that a busy-factor or agent-wait goal asks for (`None`
/// for an overdial-rate goal), given the mean busy time of one call (`cycle_s`, talk plus
/// after-call work).
///
/// An agent's logged-in time is a cycle of `cycle_s` busy then a wait `w` ready, so the
/// busy factor is `b = cycle_s / (cycle_s + w)`, and `b` asks for `w = cycle_s (1 - b) / b`.
/// Not-ready time is outside both the pacer's measure and its control.
fn wait_goal_s(goal: Goal, cycle_s: f64) -> Option<f64> {
    match goal {
        Goal::OverdialRate(_) => None,
        // A goal of 0 (never busy) would be an infinite wait: a wait of a hundred cycles
        // already stops dialing.
        Goal::BusyFactor(b) => Some(cycle_s.max(0.0) * (1.0 - b) / b.max(0.01)),
        Goal::AgentWaitS(w) => Some(w),
    }
}

/// Agents the classic rule keeps free so that agents wait `wait_goal_s` on average. Each
/// agent cycles through `cycle_s` busy and then the wait ready, so by the renewal-reward
/// theorem (Ross, *Introduction to Probability Models*, §7.4) the long-run share of agents
/// ready is `wait / (cycle_s + wait)`: for a busy-factor goal `b`, simply `1 - b` of the
/// available agents. Without this reserve the classic rule aims at no wait at all, and the
/// correction factor alone is too weak a lever to hold a wait goal, since ready agents count
/// in full among those expected free: on floor-100 a busy goal of 0.85 asks, by the classic
/// rule's own arithmetic, for a factor near 0.2, and the factor had crawled to 0.7 (94% busy)
/// by the end of the two hours.
fn idle_reserve(goal: Goal, agents: AgentCounts, est: &Estimates) -> f64 {
    let cycle_s = est.talk_s + est.acw_s;
    let Some(wait_s) = wait_goal_s(goal, cycle_s) else { return 0.0 };
    let share = wait_s / (cycle_s + wait_s);
    // No busy time and no wait (0 / 0) asks for no reserve.
    if share.is_finite() { f64::from(agents.available()) * share.clamp(0.0, 1.0) } else { 0.0 }
}

// A pacer is shared between threads; keep that a compile-time fact.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GroupPacer>();
};

#[cfg(all(test, not(pacer_loom)))]
mod tests;

#[cfg(all(test, pacer_loom))]
mod loom_models;
