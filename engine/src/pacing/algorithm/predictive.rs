//! Classic predictive pacing.
//!
//! Source: the expected-value rule of predictive dialers as described by Samuelson,
//! "Predictive dialing for outbound telephone call centers", *Interfaces* 29(5), 1999, and
//! Koole, *Call Center Optimization* (2013), §9.2: place as many dials as the number of agents
//! expected to be free when the calls will be answered, divided by the probability that a dial
//! is answered live, less the answers already expected from calls in progress:
//!
//! ```text
//! dials = (c * E[F(H)] - waiting - in_flight * h) / h
//! ```
//!
//! `E[F(H)]` counts ready agents plus, for each busy agent, the probability of being free
//! within the horizon `H` (dial-to-answer time plus the compliance time an answered call may
//! wait). Holding times are taken as exponential (talk then wrap-up: a hypoexponential sum),
//! which makes `E[F(H)]` a function of the agent counts alone, so a decision over 1,000 agents
//! costs the same as over 10. `c` is the closed-loop correction that steers the measured
//! overdial rate, busy factor or agent wait to the goal.

use super::{Pacer, View, expected_demand};

/// The classic rule above.
#[derive(Debug, Default)]
pub(crate) struct Predictive;

/// Probability that `X + Y <= t` for independent exponentials of means `a` and `b`
/// (the hypoexponential distribution; Erlang-2 when the means are equal).
pub(crate) fn p_hypoexponential(t: f64, a: f64, b: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    if a <= 0.0 {
        return if b <= 0.0 { 1.0 } else { 1.0 - (-t / b).exp() };
    }
    if b <= 0.0 {
        return 1.0 - (-t / a).exp();
    }
    let (l1, l2) = (1.0 / a, 1.0 / b);
    if (l1 - l2).abs() < 1e-9 * l1.max(l2) {
        let x = l1 * t;
        return 1.0 - (-x).exp() * (1.0 + x);
    }
    // F(t) = 1 - (l2 e^{-l1 t} - l1 e^{-l2 t}) / (l2 - l1).
    (1.0 - (l2 * (-l1 * t).exp() - l1 * (-l2 * t).exp()) / (l2 - l1)).clamp(0.0, 1.0)
}

/// Agents expected to be free within the horizon, from the counts alone.
pub(crate) fn expected_free(view: &View<'_>) -> f64 {
    f64::from(view.agents.ready)
        + f64::from(view.agents.talking) * view.tables.p_talk()
        + f64::from(view.agents.after_call_work) * view.tables.p_acw()
}

impl Pacer for Predictive {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        let hit = view.est.hit_ratio.max(0.01);
        (view.correction * expected_free(view) - expected_demand(view)) / hit
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::super::tests::view_with;
    use super::*;

    #[test]
    fn hypoexponential_matches_closed_forms() {
        // One exponential of mean 10 s: P(X <= 10) = 1 - e^-1.
        assert!((p_hypoexponential(10.0, 10.0, 0.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // Erlang-2 of rate 1: P(X <= 2) = 1 - e^-2 (1 + 2) = 0.593994.
        assert!((p_hypoexponential(2.0, 1.0, 1.0) - 0.593_994_150_290_161_9).abs() < 1e-12);
        // Means 1 and 2 (rates 1 and 0.5) at t = 1: 1 - (0.5 e^-1 - e^-0.5) / (0.5 - 1) = 0.154818.
        assert!((p_hypoexponential(1.0, 1.0, 2.0) - 0.154_818_121_746_175).abs() < 1e-9);
    }

    #[test]
    fn hand_computed_decision() {
        // 10 ready, 20 talking, 10 in after-call work; hit 0.25; answer after 18 s, compliance
        // time 2 s, so H = 20 s; talk 100 s then wrap-up 20 s; 4 dials in flight, 1 waiting.
        let mut v = view_with(10, 20, 10, 4, 1);
        v.est.hit_ratio = 0.25;
        v.est.dial_to_answer_s = 18.0;
        v.est.talk_s = 100.0;
        v.est.acw_s = 20.0;
        let p_talk = p_hypoexponential(20.0, 100.0, 20.0);
        let p_acw = 1.0 - (-1.0f64).exp();
        // p_talk = 1 - (0.05 e^-0.2 - 0.01 e^-1) / 0.04 = 0.068556.
        assert!((p_talk - 0.068_556_4).abs() < 1e-6, "{p_talk}");
        let free = 10.0 + 20.0 * p_talk + 10.0 * p_acw;
        let want = (free - 1.0 - 4.0 * 0.25) / 0.25;
        let got = Predictive.target_dials(&v.view());
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // (10 + 1.371 + 6.321 - 2) / 0.25 = 62.77 dials.
        assert!((got - 62.769).abs() < 0.01, "{got}");
        // A correction of 0.9 scales the free agents before the division.
        v.correction = 0.9;
        let got = Predictive.target_dials(&v.view());
        assert!((got - (0.9 * free - 2.0) / 0.25).abs() < 1e-9);
    }
}
