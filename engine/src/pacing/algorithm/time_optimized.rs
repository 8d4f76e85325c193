//! Time-optimized pacing: hold the overdial rate at the goal over the campaign's whole run.
//!
//! The other rules aim at the goal over the recent window, so a quiet morning's unused
//! overdial allowance is lost. This rule treats the goal as a budget over the run, in the
//! manner of budget pacing in online advertising (Agarwal et al., "Budget pacing for targeted
//! online advertisements at LinkedIn", KDD 2014): the campaign may overdial
//! `goal * answered` calls in all; given what it has spent so far, the rate allowed for the
//! next control horizon is
//!
//! ```text
//! r_eff = (goal * (N_run + N_next) - A_run) / N_next
//! ```
//!
//! with `A_run / N_run` the campaign's abandoned / answered so far and `N_next` the answers
//! expected over the next estimator window at the recent answer rate. Slack from earlier is
//! spent, an overshoot is paid back, and `r_eff` is bounded by twice the goal and by the
//! compliance cap (the governor enforces the cap anyway). The dials for `r_eff` come from
//! `small_group` in small groups and from the classic rule, steered to `r_eff`, above.

use super::predictive::Predictive;
use super::small_group::SmallGroup;
use super::{Pacer, View};
use crate::pacing::overdial::OverdialCount;

/// The budget rule above.
#[derive(Debug, Default)]
pub(crate) struct TimeOptimized;

/// The overdial rate allowed for the next horizon, given the campaign's totals, the goal,
/// the answers expected over the horizon and the compliance cap.
pub(crate) fn effective_rate(goal: f64, run: OverdialCount, expected_next: f64, cap: f64) -> f64 {
    // At least a handful of answers so that one early abandon does not zero the budget.
    let next = expected_next.max(20.0);
    let budget = goal * (run.answered as f64 + next) - run.abandoned as f64;
    (budget / next).clamp(0.0, (2.0 * goal).min(cap.max(0.0)))
}

impl Pacer for TimeOptimized {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        // `overdial_target` already holds `r_eff` (see GroupPacer::decide).
        if view.agents.available() <= view.config.small_group_max_agents {
            SmallGroup.target_dials(view)
        } else {
            Predictive.target_dials(view)
        }
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn slack_is_spent_and_overshoot_paid_back() {
        // Goal 3%; 1,000 answered so far with 10 abandoned (1%): budget 0.03 * 1100 - 10 = 23
        // over the next 100 answers, capped at twice the goal.
        let r = effective_rate(0.03, OverdialCount { abandoned: 10, answered: 1000 }, 100.0, 0.05);
        assert!((r - 0.05).abs() < 1e-12, "{r}");
        let r = effective_rate(0.03, OverdialCount { abandoned: 10, answered: 1000 }, 100.0, 1.0);
        assert!((r - 0.06).abs() < 1e-12, "{r}");
        // 1,000 answered with 35 abandoned (3.5%): budget 33 - 35 < 0, nothing allowed.
        assert_eq!(effective_rate(0.03, OverdialCount { abandoned: 35, answered: 1000 }, 100.0, 1.0), 0.0);
        // 30 abandoned of 1,000: exactly on goal, the goal is the next rate: (33 - 30) / 100.
        let r = effective_rate(0.03, OverdialCount { abandoned: 30, answered: 1000 }, 100.0, 1.0);
        assert!((r - 0.03).abs() < 1e-12, "{r}");
    }
}
