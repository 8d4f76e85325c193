//! The pacing algorithms: one trait, one file per algorithm.
//!
//! Each algorithm answers one question from a [`View`] of the group: how many new dials to
//! place now. What every algorithm shares is applied by the caller afterwards
//! ([`super::GroupPacer::decide`]): rounding, the per-agent cap on calls in progress and the
//! compliance governor, which no algorithm can override.

use super::Goal;
use super::atomic::{AtomicF64, AtomicU32};
use super::config::PacingConfig;
use super::state::{AgentCounts, AgentSlot, CallCounts};
use crate::time::Time;

pub(crate) mod advanced_small_group;
pub(crate) mod fixed_ratio;
pub(crate) mod predictive;
pub(crate) mod progressive;
pub(crate) mod small_group;
pub(crate) mod time_optimized;
pub(crate) mod vicidial_adapt;

/// The online estimates a decision uses (all in seconds, or shares).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Estimates {
    /// Answered-live share of dials.
    pub(crate) hit_ratio: f64,
    /// Mean time from placing a dial to a live answer.
    pub(crate) dial_to_answer_s: f64,
    /// Mean talk time and its coefficient of variation.
    pub(crate) talk_s: f64,
    pub(crate) talk_cv: f64,
    /// Mean after-call work time and its coefficient of variation.
    pub(crate) acw_s: f64,
    pub(crate) acw_cv: f64,
    /// Mean time an agent waits ready before a call.
    pub(crate) wait_s: f64,
}

impl Estimates {
    /// What the pacer assumes before it has measured anything: typical outbound figures
    /// (a 30% live-answer rate, 15 s to answer, 2 min talk, 15 s wrap-up).
    pub(crate) const PRIOR: Estimates = Estimates {
        hit_ratio: 0.3,
        dial_to_answer_s: 15.0,
        talk_s: 120.0,
        talk_cv: 1.0,
        acw_s: 15.0,
        acw_cv: 1.0,
        wait_s: 10.0,
    };
}

/// Everything an algorithm may read to decide.
pub(crate) struct View<'a> {
    pub(crate) now: Time,
    pub(crate) agents: AgentCounts,
    pub(crate) calls: CallCounts,
    pub(crate) est: Estimates,
    pub(crate) goal: Goal,
    /// Multiplier from the closed-loop controller (1 = trust the model).
    pub(crate) correction: f64,
    /// The overdial rate the model-based algorithms aim at: the goal's rate, adjusted by the
    /// controller (and by the campaign budget for `time_optimized`).
    pub(crate) overdial_target: f64,
    pub(crate) config: &'a PacingConfig,
    /// Probabilities of busy agents becoming free, precomputed from the estimates.
    pub(crate) tables: &'a FreeTables,
    /// The calls out the last small-group search settled on (`u32::MAX`: none yet), where
    /// the next search starts.
    pub(crate) warm_start: &'a AtomicU32,
    /// Per-agent places, for the small-group algorithms (which scan at most
    /// `small_group_max_agents` available agents).
    pub(crate) slots: &'a [AgentSlot],
}

/// Points of the tabulated conditional probabilities (per elapsed time in state).
const TABLE_POINTS: usize = 64;
/// The tables reach this many mean holding times; longer elapsed times use the last point.
const TABLE_SPAN_MEANS: f64 = 10.0;

/// Probabilities that busy agents are free within the horizon, recomputed from the estimates
/// at each refresh (not at each decision: they depend only on the estimates and the
/// horizon, which change at refresh, while a decision must stay cheap).
///
/// - `p_talk`, `p_acw`: with exponential holding times (the classic and small-group rules):
///   a talking agent must finish talk and wrap-up (a hypoexponential sum), a wrapping-up
///   agent only wrap-up.
/// - `talk`, `acw`: with log-normal holding times conditioned on the elapsed time in state
///   (the advanced rule), tabulated at `TABLE_POINTS` elapsed times from 0 to
///   `TABLE_SPAN_MEANS` means, evenly spaced in the square root of the elapsed time, and
///   interpolated linearly in that square root.
///
/// Each value is written atomically and is a valid probability on its own; a decision racing
/// a refresh may mix old and new points, which moves it by less than one refresh's change.
#[derive(Debug)]
pub(crate) struct FreeTables {
    p_talk: AtomicF64,
    p_acw: AtomicF64,
    talk_per_span_s: AtomicF64,
    talk: [AtomicF64; TABLE_POINTS],
    acw_per_span_s: AtomicF64,
    acw: [AtomicF64; TABLE_POINTS],
    /// The (talk_s, talk_cv, acw_s, acw_cv, horizon_s) the log-normal tables were last
    /// filled for (NaN: never).
    filled_for: [AtomicF64; 5],
    /// The standard normal distribution function at `NORMAL_POINTS` points evenly spaced
    /// over `[-NORMAL_SPAN, NORMAL_SPAN]`; fixed at construction.
    normal: Box<[f64; NORMAL_POINTS]>,
}

const NORMAL_POINTS: usize = 257;
const NORMAL_SPAN: f64 = 8.0;

impl FreeTables {
    pub(crate) fn new() -> FreeTables {
        FreeTables {
            p_talk: AtomicF64::new(0.0),
            p_acw: AtomicF64::new(0.0),
            talk_per_span_s: AtomicF64::new(1.0),
            talk: std::array::from_fn(|_| AtomicF64::new(0.0)),
            acw_per_span_s: AtomicF64::new(1.0),
            acw: std::array::from_fn(|_| AtomicF64::new(0.0)),
            filled_for: std::array::from_fn(|_| AtomicF64::new(f64::NAN)),
            normal: Box::new(std::array::from_fn(|i| {
                let z = -NORMAL_SPAN + 2.0 * NORMAL_SPAN * i as f64 / (NORMAL_POINTS - 1) as f64;
                advanced_small_group::normal_cdf(z)
            })),
        }
    }

    /// The standard normal distribution function by table (points 1/16 apart, linear
    /// interpolation: error below 2e-4, far inside the error of a human ReadyTime estimate).
    #[inline]
    pub(crate) fn normal_cdf(&self, z: f64) -> f64 {
        let last = (NORMAL_POINTS - 1) as f64;
        let x = (z + NORMAL_SPAN) * (last / (2.0 * NORMAL_SPAN));
        if x.is_nan() {
            return 0.5;
        }
        if x <= 0.0 {
            return 0.0;
        }
        if x >= last {
            return 1.0;
        }
        let i = x as usize;
        let (a, b) = (self.normal[i], self.normal[i + 1]);
        a + (b - a) * (x - i as f64)
    }

    /// Recomputes every probability for these estimates and this horizon.
    pub(crate) fn fill(&self, est: &Estimates, horizon_s: f64) {
        self.fill_exponential(est, horizon_s);
        self.fill_conditional(est, horizon_s, 0.0);
    }

    /// Recomputes the exponential-model probabilities (two exponentials: cheap).
    pub(crate) fn fill_exponential(&self, est: &Estimates, horizon_s: f64) {
        self.p_talk.store(predictive::p_hypoexponential(horizon_s, est.talk_s, est.acw_s));
        self.p_acw.store(predictive::p_hypoexponential(horizon_s, est.acw_s, 0.0));
    }

    /// Recomputes the log-normal tables, unless every input is within `tolerance` (relative)
    /// of the one they were last filled for. The tables cost 128 conditional log-normal
    /// probabilities; refilled at every refresh (ten times a second) they took most of the
    /// time of a small-group simulation, while the estimates move by far less than the
    /// tables' own interpolation error between refreshes.
    pub(crate) fn fill_conditional(&self, est: &Estimates, horizon_s: f64, tolerance: f64) {
        use advanced_small_group::LogNormal;
        let inputs = [est.talk_s, est.talk_cv, est.acw_s, est.acw_cv, horizon_s];
        let close = |a: f64, b: f64| (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-9);
        if inputs.iter().zip(&self.filled_for).all(|(&x, last)| close(x, last.load())) {
            return;
        }
        for (x, last) in inputs.iter().zip(&self.filled_for) {
            last.store(*x);
        }
        // Points are spaced evenly in the square root of the elapsed time: dense at the start
        // of a call, where the conditional probability bends most, sparse in the tail.
        let fill_one = |table: &[AtomicF64; TABLE_POINTS],
                        per_span: &AtomicF64,
                        dist: LogNormal,
                        mean_s: f64,
                        within_s: f64| {
            let span_s = TABLE_SPAN_MEANS * mean_s.max(0.1);
            per_span.store(1.0 / span_s);
            let last = (TABLE_POINTS - 1) as f64;
            for (i, point) in table.iter().enumerate() {
                let u = i as f64 / last;
                point.store(dist.p_done_within(u * u * span_s, within_s));
            }
        };
        let talk = LogNormal::from_mean_cv(est.talk_s, est.talk_cv);
        let acw = LogNormal::from_mean_cv(est.acw_s, est.acw_cv);
        // A talking agent must also get through the mean wrap-up inside the horizon.
        fill_one(&self.talk, &self.talk_per_span_s, talk, est.talk_s, horizon_s - est.acw_s);
        fill_one(&self.acw, &self.acw_per_span_s, acw, est.acw_s, horizon_s);
    }

    /// P(a talking agent is free within the horizon), exponential model.
    #[inline]
    pub(crate) fn p_talk(&self) -> f64 {
        self.p_talk.load()
    }

    /// P(an agent in wrap-up is free within the horizon), exponential model.
    #[inline]
    pub(crate) fn p_acw(&self) -> f64 {
        self.p_acw.load()
    }

    #[inline]
    fn lookup(table: &[AtomicF64; TABLE_POINTS], per_span_s: &AtomicF64, elapsed_s: f64) -> f64 {
        let last = (TABLE_POINTS - 1) as f64;
        let x = ((elapsed_s.max(0.0) * per_span_s.load()).sqrt() * last).min(last);
        let i = x as usize;
        if i >= TABLE_POINTS - 1 {
            return table[TABLE_POINTS - 1].load();
        }
        let (a, b) = (table[i].load(), table[i + 1].load());
        a + (b - a) * (x - i as f64)
    }

    /// P(a talking agent `elapsed_s` into the call is free within the horizon), log-normal.
    #[inline]
    pub(crate) fn talk_given_elapsed(&self, elapsed_s: f64) -> f64 {
        Self::lookup(&self.talk, &self.talk_per_span_s, elapsed_s)
    }

    /// P(an agent `elapsed_s` into wrap-up is free within the horizon), log-normal.
    #[inline]
    pub(crate) fn acw_given_elapsed(&self, elapsed_s: f64) -> f64 {
        Self::lookup(&self.acw, &self.acw_per_span_s, elapsed_s)
    }
}

/// A pacing rule: the number of new dials to place now, before the shared caps. May return a
/// fraction (rounded by the caller) or a negative number (no dials).
pub(crate) trait Pacer {
    fn target_dials(&self, view: &View<'_>) -> f64;
}

/// The expected number of answered-live calls that still need an agent: those waiting, plus
/// the dials in flight times the hit ratio.
pub(crate) fn expected_demand(view: &View<'_>) -> f64 {
    f64::from(view.calls.waiting) + f64::from(view.calls.in_flight) * view.est.hit_ratio
}

/// The look-ahead of predictive pacing: a dial placed now is answered, on average, after
/// `dial_to_answer_s`, and may then wait up to `compliance_time` for an agent; an agent free
/// by then takes it.
pub(crate) fn horizon_s(view: &View<'_>) -> f64 {
    view.est.dial_to_answer_s.max(0.0) + view.config.compliance_time.as_secs_f64()
}

/// Integer-valued dials are decided by rounding the algorithm's target half up.
pub(crate) fn round_dials(target: f64) -> u32 {
    // For a positive value truncation is the floor, and `as` saturates at `u32::MAX`
    // (`f64::floor` is a library call on baseline x86-64, too slow for the hot path).
    if target > 0.0 { (target + 0.5) as u32 } else { 0 }
}

#[cfg(all(test, not(pacer_loom)))]
pub(crate) mod tests {
    use super::*;

    /// An owned view for algorithm tests: counts, calls, estimates and settings to tweak.
    pub(crate) struct TestView {
        pub(crate) now: Time,
        pub(crate) agents: AgentCounts,
        pub(crate) calls: CallCounts,
        pub(crate) est: Estimates,
        pub(crate) goal: Goal,
        pub(crate) correction: f64,
        pub(crate) overdial_target: f64,
        pub(crate) config: PacingConfig,
        pub(crate) slots: Vec<AgentSlot>,
        pub(crate) tables: FreeTables,
        pub(crate) warm_start: AtomicU32,
    }

    impl TestView {
        pub(crate) fn view(&self) -> View<'_> {
            let view = View {
                now: self.now,
                agents: self.agents,
                calls: self.calls,
                est: self.est,
                goal: self.goal,
                correction: self.correction,
                overdial_target: self.overdial_target,
                config: &self.config,
                tables: &self.tables,
                warm_start: &self.warm_start,
                slots: &self.slots,
            };
            self.tables.fill(&self.est, horizon_s(&view));
            view
        }
    }

    /// A view with these counts, the prior estimates and default settings.
    pub(crate) fn view_with(ready: u32, talking: u32, acw: u32, in_flight: u32, waiting: u32) -> TestView {
        TestView {
            now: Time::from_unix_s(1_790_000_000),
            agents: AgentCounts { ready, talking, after_call_work: acw, not_ready: 0, leaving: 0 },
            calls: CallCounts { in_flight, waiting },
            est: Estimates::PRIOR,
            goal: Goal::OverdialRate(0.03),
            correction: 1.0,
            overdial_target: 0.03,
            config: PacingConfig::default(),
            slots: Vec::new(),
            tables: FreeTables::new(),
            warm_start: AtomicU32::new(u32::MAX),
        }
    }

    #[test]
    fn conditional_tables_are_refilled_only_when_an_estimate_moves() {
        let tables = FreeTables::new();
        let est = Estimates { talk_s: 100.0, talk_cv: 0.8, acw_s: 10.0, acw_cv: 0.5, ..Estimates::PRIOR };
        tables.fill_conditional(&est, 30.0, 0.01);
        let before = tables.talk_given_elapsed(50.0);
        // Half a percent longer talk: within the tolerance, the tables stay as they are.
        let near = Estimates { talk_s: 100.5, ..est };
        tables.fill_conditional(&near, 30.0, 0.01);
        assert_eq!(tables.talk_given_elapsed(50.0), before);
        // A fifth longer: refilled.
        let far = Estimates { talk_s: 120.0, ..est };
        tables.fill_conditional(&far, 30.0, 0.01);
        let after = tables.talk_given_elapsed(50.0);
        assert!(after < before, "longer calls end later: {after} vs {before}");
        // A longer horizon alone also refills.
        tables.fill_conditional(&far, 60.0, 0.01);
        assert!(tables.talk_given_elapsed(50.0) > after);
    }

    #[test]
    fn tables_interpolate_the_conditional_probabilities() {
        let tables = FreeTables::new();
        let est = Estimates { talk_s: 100.0, talk_cv: 0.8, acw_s: 10.0, acw_cv: 0.5, ..Estimates::PRIOR };
        tables.fill(&est, 30.0);
        let talk = advanced_small_group::LogNormal::from_mean_cv(100.0, 0.8);
        let acw = advanced_small_group::LogNormal::from_mean_cv(10.0, 0.5);
        for elapsed in [0.0, 0.4, 3.3, 47.0, 150.0, 600.0] {
            let want = talk.p_done_within(elapsed, 20.0);
            assert!(
                (tables.talk_given_elapsed(elapsed) - want).abs() < 0.01,
                "{elapsed} {} {want}",
                tables.talk_given_elapsed(elapsed)
            );
        }
        for elapsed in [0.0, 0.2, 1.7, 8.0, 30.0] {
            let want = acw.p_done_within(elapsed, 30.0);
            assert!((tables.acw_given_elapsed(elapsed) - want).abs() < 0.01, "{elapsed}");
        }
        for z in [-9.0, -3.3, -1.0, -0.01, 0.0, 0.7, 2.5, 8.5, f64::NAN] {
            let want = if z.is_nan() { 0.5 } else { advanced_small_group::normal_cdf(z) };
            assert!((tables.normal_cdf(z) - want).abs() < 2e-4, "{z}");
        }
        // Past the table: the last point.
        assert_eq!(tables.acw_given_elapsed(1e6), tables.acw_given_elapsed(100.0));
        assert!((tables.p_talk() - predictive::p_hypoexponential(30.0, 100.0, 10.0)).abs() < 1e-15);
    }

    #[test]
    fn rounding_is_half_up_and_never_negative() {
        assert_eq!(round_dials(-3.0), 0);
        assert_eq!(round_dials(f64::NAN), 0);
        assert_eq!(round_dials(2.49), 2);
        assert_eq!(round_dials(2.5), 3);
        assert_eq!(round_dials(1e30), u32::MAX);
    }
}
