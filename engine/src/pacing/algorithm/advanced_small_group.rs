//! Advanced small-group pacing: [`super::small_group`] with a probability per agent.
//!
//! Where `small_group` gives every talking agent the same chance of being free in time, this
//! rule uses what is known of each agent, as Genesys OCS's `advanced_small_group` algorithm
//! does with the desktops' ReadyTime requests:
//!
//! - an agent whose desktop sent a ReadyTime estimate is free within the horizon `H` with
//!   probability `Phi((H - r) / s)`, `r` the seconds left until the estimated time and
//!   `s = 0.25 |r| + 2 s` the assumed error of a human estimate;
//! - otherwise the agent's elapsed time in talk or after-call work conditions a log-normal
//!   holding time (call-centre service times are close to log-normal: Brown et al.,
//!   "Statistical analysis of a telephone call center", *JASA* 100(469), 2005), fitted by
//!   moments to the measured mean and coefficient of variation:
//!   `P(T <= e + H | T > e) = (F(e + H) - F(e)) / (1 - F(e))`; a talking agent must also
//!   finish the mean after-call work within `H`. These conditional probabilities are
//!   tabulated over the elapsed time at each estimate refresh ([`super::FreeTables`]), so a
//!   decision looks them up instead of evaluating logarithms and error functions per agent.
//!
//! The number of free agents is then Poisson-binomial (a sum of independent Bernoullis with
//! different probabilities), computed exactly by the usual `O(n^2)` recursion (Chen and Liu,
//! "Statistical applications of the Poisson-binomial and conditional Bernoulli
//! distributions", *Statistica Sinica* 7, 1997), and the dials are chosen as in
//! `small_group`. The rule scans the group's agents, so it is meant for small groups.

use super::predictive::Predictive;
use super::small_group::{Dist, Search, dials_for_rate, shortfall_table};
use super::{FreeTables, Pacer, View, horizon_s};
use crate::pacing::Goal;
use crate::pacing::state::{AgentState, AgentView};
use crate::time::Time;

/// The per-agent rule above.
#[derive(Debug, Default)]
pub(crate) struct AdvancedSmallGroup;

/// The standard normal distribution function, from the rational approximation of erf in
/// Abramowitz and Stegun, *Handbook of Mathematical Functions* (1964), 7.1.26 (absolute
/// error below 1.5e-7): fast enough to evaluate for every agent of a group per decision.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return 0.5;
    }
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

/// A log-normal distribution given by its mean and coefficient of variation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogNormal {
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    pub(crate) fn from_mean_cv(mean: f64, cv: f64) -> LogNormal {
        let cv = if cv.is_finite() { cv.clamp(0.05, 5.0) } else { 1.0 };
        let sigma2 = (1.0 + cv * cv).ln();
        LogNormal { mu: mean.max(1e-3).ln() - sigma2 / 2.0, sigma: sigma2.sqrt() }
    }

    pub(crate) fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 { 0.0 } else { normal_cdf((x.ln() - self.mu) / self.sigma) }
    }

    /// `P(T <= elapsed + within | T > elapsed)`.
    pub(crate) fn p_done_within(&self, elapsed: f64, within: f64) -> f64 {
        if within <= 0.0 {
            return 0.0;
        }
        let f_e = self.cdf(elapsed);
        let survive = 1.0 - f_e;
        if survive < 1e-9 {
            // Far in the tail the conditional formula loses all precision; there the
            // remaining time of a heavy-tailed holding time is about the elapsed time.
            return 1.0 - (-within / elapsed.max(1.0)).exp();
        }
        ((self.cdf(elapsed + within) - f_e) / survive).clamp(0.0, 1.0)
    }
}

/// The probability that this agent is free within `horizon_s`, or `None` if the agent is
/// not capacity (logged out, not ready, leaving). Ready agents have probability 1.
pub(crate) fn p_free(agent: &AgentView, now: Time, horizon_s: f64, tables: &FreeTables) -> Option<f64> {
    match agent.state {
        AgentState::Ready => Some(1.0),
        AgentState::Talking | AgentState::AfterCallWork => {
            if let Some(ready_at) = agent.ready_at {
                let r = (ready_at.as_micros() as f64 - now.as_micros() as f64) * 1e-6;
                let s = 0.25 * r.abs() + 2.0;
                return Some(tables.normal_cdf((horizon_s - r) / s));
            }
            let elapsed = now.as_micros().saturating_sub(agent.entered_at.as_micros()) as f64 * 1e-6;
            Some(if agent.state == AgentState::Talking {
                tables.talk_given_elapsed(elapsed)
            } else {
                tables.acw_given_elapsed(elapsed)
            })
        }
        AgentState::LoggedOut | AgentState::NotReady | AgentState::Leaving => None,
    }
}

/// The distribution of the number of successes of independent Bernoullis with these
/// probabilities (Poisson-binomial), by the recursion `P'(j) = P(j) q + P(j - 1) p` over two
/// alternating buffers, so that the inner loop reads one and writes the other and
/// vectorises.
pub(crate) fn poisson_binomial(probabilities: &[f64], out: &mut Dist) {
    let n = probabilities.len();
    let mut buffers = Dist::new();
    buffers.resize(2 * (n + 1), 0.0);
    let (first, second) = buffers.split_at_mut(n + 1);
    first[0] = 1.0;
    for (i, &p) in probabilities.iter().enumerate() {
        let q = 1.0 - p;
        let (src, dst) = if i % 2 == 0 { (&*first, &mut *second) } else { (&*second, &mut *first) };
        // `src` holds P over 0..=i; `dst` gets P' over 0..=i+1.
        let (src, dst) = (&src[..=i], &mut dst[..=i + 1]);
        dst[0] = src[0] * q;
        dst[i + 1] = src[i] * p;
        // Three slices of one length: no bounds checks in the loop, which vectorises.
        let (out, here, below) = (&mut dst[1..=i], &src[1..=i], &src[..i]);
        for j in 0..out.len() {
            out[j] = here[j] * q + below[j] * p;
        }
    }
    let result = if n.is_multiple_of(2) { &first[..=n] } else { &second[..=n] };
    out.clear();
    out.extend_from_slice(result);
}

/// Adds a Bernoulli(`p`) to the distribution `dist` in place (Poisson-binomial recursion).
#[cfg(test)]
pub(crate) fn add_bernoulli(dist: &mut Dist, p: f64) {
    dist.push(0.0);
    let q = 1.0 - p;
    // P'(j) = P(j) q + P(j - 1) p, carried forward through one slice borrow.
    let mut below = 0.0;
    for value in dist.as_mut_slice() {
        let here = *value;
        *value = here * q + below * p;
        below = here;
    }
}

impl Pacer for AdvancedSmallGroup {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        if !matches!(view.goal, Goal::OverdialRate(_)) {
            return Predictive.target_dials(view);
        }
        let h = horizon_s(view);
        let mut uncertain = Dist::new();
        let (mut ready, mut available, mut free_mean) = (0u32, 0u32, 0.0);
        for slot in view.slots {
            let agent = slot.view();
            match p_free(&agent, view.now, h, view.tables) {
                None => {}
                Some(p) => {
                    available += 1;
                    // Certainties do not need the convolution: surely free agents shift the
                    // distribution, surely busy ones leave it unchanged.
                    if p >= 1.0 - 1e-12 {
                        ready += 1;
                    } else if p > 1e-12 {
                        free_mean += p;
                        uncertain.push(p);
                    }
                }
            }
        }
        let mut free = Dist::new();
        poisson_binomial(&uncertain, &mut free);
        let mut table = Dist::new();
        shortfall_table(&free, &mut table);
        // Truncation is the floor (non-negative); `as` saturates.
        let cap = (view.config.max_dials_per_agent.max(0.0) * f64::from(available)) as u32;
        let search = Search {
            ready,
            free_mean,
            waiting: view.calls.waiting,
            in_flight: view.calls.in_flight,
            hit: view.est.hit_ratio,
            target: view.overdial_target,
            k_max: cap.saturating_sub(view.calls.outstanding()),
        };
        f64::from(dials_for_rate(&table, search))
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::super::small_group::{SmallGroup, binomial_pmf};
    use super::super::tests::view_with;
    use super::*;
    use crate::pacing::state::{AgentCountWord, AgentSlot};
    use std::time::Duration;

    #[test]
    fn normal_cdf_is_accurate() {
        for (z, want) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.96, 0.024_997_895), (3.0, 0.998_650_102)] {
            assert!((normal_cdf(z) - want).abs() < 2e-7, "{z}");
        }
    }

    #[test]
    fn lognormal_matches_its_moments_and_conditions_on_elapsed_time() {
        // Median of a log-normal with mean m and cv c is m / sqrt(1 + c^2).
        let d = LogNormal::from_mean_cv(100.0, 1.0);
        assert!((d.cdf(100.0 / 2f64.sqrt()) - 0.5).abs() < 1e-6);
        // Conditioning: P(T <= 60 | T > 0) is the plain distribution function.
        assert!((d.p_done_within(0.0, 60.0) - d.cdf(60.0)).abs() < 1e-12);
        // P(T <= 110 | T > 50) = (F(110) - F(50)) / (1 - F(50)).
        let want = (d.cdf(110.0) - d.cdf(50.0)) / (1.0 - d.cdf(50.0));
        assert!((d.p_done_within(50.0, 60.0) - want).abs() < 1e-12);
    }

    #[test]
    fn poisson_binomial_matches_the_one_step_recursion() {
        let ps = [0.1, 0.5, 0.93, 0.2, 0.77, 0.4, 0.01];
        let mut want = Dist::new();
        want.push(1.0);
        for &p in &ps {
            add_bernoulli(&mut want, p);
        }
        let mut got = Dist::new();
        poisson_binomial(&ps, &mut got);
        assert_eq!(got.len(), ps.len() + 1);
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() < 1e-15);
        }
        poisson_binomial(&[], &mut got);
        assert_eq!(got.as_slice(), &[1.0]);
    }

    #[test]
    fn poisson_binomial_recursion() {
        // Bernoullis 0.5 and 0.2: P(0) = 0.4, P(1) = 0.5, P(2) = 0.1.
        let mut d = Dist::new();
        d.push(1.0);
        add_bernoulli(&mut d, 0.5);
        add_bernoulli(&mut d, 0.2);
        for (got, want) in d.iter().zip([0.4, 0.5, 0.1]) {
            assert!((got - want).abs() < 1e-12);
        }
        // Equal probabilities give the binomial.
        let mut d = Dist::new();
        d.push(1.0);
        for _ in 0..10 {
            add_bernoulli(&mut d, 0.3);
        }
        let mut b = Dist::new();
        binomial_pmf(10, 0.3, &mut b);
        for (got, want) in d.iter().zip(b.iter()) {
            assert!((got - want).abs() < 1e-12);
        }
    }

    fn set(slot: &AgentSlot, state: AgentState, at: Time) {
        slot.set_state(&AgentCountWord::new(), state, at);
    }

    #[test]
    fn ready_time_estimates_move_the_decision() {
        let now = Time::from_unix_s(1_790_000_000);
        let mut v = view_with(1, 3, 0, 0, 0);
        v.now = now;
        v.est.hit_ratio = 0.5;
        v.est.dial_to_answer_s = 8.0;
        v.slots = (0..4).map(|_| AgentSlot::new()).collect();
        set(&v.slots[0], AgentState::Ready, now);
        for s in &v.slots[1..] {
            set(s, AgentState::Talking, now.saturating_sub(Duration::from_secs(30)));
        }
        let without = AdvancedSmallGroup.target_dials(&v.view());
        // Three desktops say their agents will be ready in 5 s (inside the 10 s horizon).
        for s in &v.slots[1..] {
            s.set_ready_at(Some(now + Duration::from_secs(5)));
        }
        let soon = AdvancedSmallGroup.target_dials(&v.view());
        // ... or in 10 minutes.
        for s in &v.slots[1..] {
            s.set_ready_at(Some(now + Duration::from_secs(600)));
        }
        let late = AdvancedSmallGroup.target_dials(&v.view());
        assert!(soon > without && without >= late, "{soon} {without} {late}");
        // With everyone known to be busy for long, only the one ready agent is covered:
        // 1 dial (share 0) is fine, 2 dials give E[(A-1)^+]/E[A] = 0.25/1 > 3%.
        assert_eq!(late, 1.0);
        // With all four surely free (ReadyTime 5 s is ~0.99 each) more dials go out.
        assert!(soon >= 4.0, "{soon}");
    }

    #[test]
    fn agrees_with_small_group_when_nothing_is_known_but_counts() {
        // Exponential holding times are what small_group assumes; with a log-normal of cv 1
        // the two differ, but with only ready agents they must agree exactly.
        let now = Time::from_unix_s(1_790_000_000);
        let mut v = view_with(3, 0, 0, 0, 0);
        v.now = now;
        v.est.hit_ratio = 0.5;
        v.slots = (0..5).map(|_| AgentSlot::new()).collect();
        for s in &v.slots[..3] {
            set(s, AgentState::Ready, now);
        }
        set(&v.slots[3], AgentState::NotReady, now);
        assert_eq!(AdvancedSmallGroup.target_dials(&v.view()), SmallGroup.target_dials(&v.view()));
        assert_eq!(SmallGroup.target_dials(&v.view()), 3.0);
    }
}
