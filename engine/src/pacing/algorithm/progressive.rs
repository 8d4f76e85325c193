//! Progressive pacing: one dial per ready agent not already covered by a call in progress.
//!
//! Source: the "progressive" (power) dialing mode of outbound systems, e.g. the Genesys
//! Outbound Contact "Progressive" dial mode and Koole, *Call Center Optimization* (2013),
//! ch. 9: a call is placed only when an agent is available for it, so an answered call
//! normally finds its agent and overdials come only from agents leaving in the meantime.

use super::{Pacer, View};

/// One dial per ready agent, minus the calls already in progress for them.
#[derive(Debug, Default)]
pub(crate) struct Progressive;

impl Pacer for Progressive {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        f64::from(view.agents.ready) - f64::from(view.calls.outstanding())
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::super::tests::view_with;
    use super::*;

    #[test]
    fn one_dial_per_uncovered_ready_agent() {
        // 5 ready agents, 2 dials in flight, 1 answered call waiting: 2 more dials.
        let v = view_with(5, 3, 1, 2, 1);
        assert_eq!(Progressive.target_dials(&v.view()), 2.0);
        let v = view_with(1, 0, 0, 2, 0);
        assert!(Progressive.target_dials(&v.view()) < 0.0);
    }
}
