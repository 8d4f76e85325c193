//! Fixed-ratio pacing (baseline): a set number of dials per ready agent.
//!
//! Source: the "ratio" dialing mode of early predictive dialers and of VICIdial's fixed
//! `auto_dial_level` (lines per agent); see Samuelson, "Predictive dialing for outbound
//! telephone call centers", *Interfaces* 29(5), 1999, which uses it as the naive benchmark.
//! Kept for benchmarking only: it ignores hit ratio, talk time and the goal.

use super::{Pacer, View};

/// `fixed_ratio` dials per ready agent, minus the dials already in flight or waiting.
#[derive(Debug, Default)]
pub(crate) struct FixedRatio;

impl Pacer for FixedRatio {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        let ratio = if view.config.fixed_ratio.is_finite() { view.config.fixed_ratio.max(0.0) } else { 1.0 };
        ratio * f64::from(view.agents.ready) - f64::from(view.calls.outstanding())
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::super::tests::view_with;
    use super::*;

    #[test]
    fn ratio_times_ready_minus_in_progress() {
        let mut v = view_with(4, 10, 2, 3, 0);
        v.config.fixed_ratio = 2.5;
        // 2.5 * 4 - 3 = 7.
        assert_eq!(FixedRatio.target_dials(&v.view()), 7.0);
    }
}
