//! The pacing algorithms: one trait, one file per algorithm.
//!
//! Each algorithm answers one question from a [`View`] of the group: how many new dials to
//! place now. What every algorithm shares is applied by the caller afterwards
//! ([`super::GroupPacer::decide`]): rounding, the per-agent cap on calls in progress and the
//! compliance governor, which no algorithm can override.

use super::Goal;
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
    /// Per-agent places, for the small-group algorithms (which scan at most
    /// `small_group_max_agents` available agents).
    pub(crate) slots: &'a [AgentSlot],
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
    if target.is_nan() || target <= 0.0 { 0 } else { (target + 0.5).floor().min(f64::from(u32::MAX)) as u32 }
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
    }

    impl TestView {
        pub(crate) fn view(&self) -> View<'_> {
            View {
                now: self.now,
                agents: self.agents,
                calls: self.calls,
                est: self.est,
                goal: self.goal,
                correction: self.correction,
                overdial_target: self.overdial_target,
                config: &self.config,
                slots: &self.slots,
            }
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
        }
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
