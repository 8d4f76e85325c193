//! The `oracle` pacer: an upper reference that exists only inside the simulator.
//!
//! Every pacing algorithm of the engine must guess when a busy agent will be free: from the
//! elapsed talk or after-call work time and the measured distributions, or from a desktop's
//! ReadyTime estimate, which a person makes and gets wrong. The simulator knows the truth: it
//! draws each conversation's talk and after-call work time when the call connects. The
//! oracle uses that truth for the agent side, and the engine's own online estimates (hit
//! ratio, dial-to-answer time) for the customer side, which no one can know in advance.
//!
//! Each decision counts `F`, the agents that will really be free within the horizon
//! `H = dial-to-answer + compliance time` (the same look-ahead as the engine's predictive
//! rule), and then decides exactly as the engine's `predictive` does with its estimate of
//! that number replaced by the truth, so that the comparison isolates what knowing the
//! agents' free times is worth:
//!
//! - **Small groups** (at most `small_group_max_agents` available agents, the engine's
//!   switch point): the small-group rule with `F` known, the largest number `n` of calls in
//!   progress such that the expected number of answered calls finding no agent stays within
//!   the overdial target `r` of the expected answers:
//!
//!   `E[(W + X_n - F)^+] <= r (W + n p)`, with `X_n ~ Binomial(n, p)` and `W` calls waiting.
//!
//!   The left side is convex in `n` (each added dial raises it by `p P(X_n >= F - W)`, which
//!   grows with `n`) and the right side linear, so the feasible `n` form an interval from 0
//!   and a binary search finds its end. `r` is the goal's rate times the engine's
//!   closed-loop correction, up to the same multiple of the cap as the engine allows.
//! - **Larger groups**: the classic rule with `F` known, `n = W + (c F - W) / p` calls in
//!   progress, `c` the engine's closed-loop correction (the engine's rule puts the expected
//!   number of free agents in place of `F`).
//!
//! An earlier oracle used the small-group rule at every size with the correction on `r`
//! only: on large floors the expected overdial share hardly moves with `n` below `F / p`, so
//! no `r` could make up for the calls it could not see being answered late, and it stayed
//! up to five points below `predictive` (at 0.01% abandons on `n1000-h10-t60`).
//!
//! The engine places the difference to the calls already in progress through
//! [`pacer_engine::pacing::GroupPacer::set_external_level`]; its per-agent cap and
//! compliance governor still apply, as for every other algorithm. The governor counts busy
//! agents who free up in time as capacity; for every engine algorithm it estimates them
//! from the holding-time model, for the oracle it is told
//! ([`pacer_engine::pacing::GroupPacer::set_external_free`]) how many will surely be free
//! before all but the governor's tail share of answers. Without that, the governor, which binds on
//! small groups, held the oracle to the engine's model and it could not do better than
//! `predictive` there.

use std::collections::BTreeMap;

use pacer_engine::time::Time;

/// Binomials with a variance above this use the normal approximation instead of the exact
/// sum (within about 1% of it there).
const NORMAL_ABOVE_VARIANCE: f64 = 30.0;

/// "Surely free" means free before all but this share of answers: the governor's own
/// per-decision tail (`(1 - 0.999) / 2`), as its count of busy agents must be. At a
/// twentieth, the share the oracle used before, a twentieth of the answers came before the
/// agents counted on were free, and the oracle ended 24 of 160 one-hour runs over the cap
/// on the `h60` rows of 10 to 50 agents (20 seeds); at this share none, with busy factors
/// within a point and a half.
const SURELY_FREE_TAIL: f64 = 0.0005;

/// How far past the cap the controller may push the model's target rate (the engine's
/// bound on the small-group rules' target, `CORRECTION_MAX` times the cap).
const CORRECTION_HEADROOM: f64 = 4.0;

/// Where the oracle stands on one agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Not capacity: logged out, not ready, or leaving once free.
    Away,
    /// Ready now.
    Ready,
    /// Busy (talk, after-call work) until this time, exactly.
    Busy(u64),
}

/// The agents' true free times and the decision built on them.
#[derive(Clone, Debug)]
pub struct Oracle {
    /// Overdial target of each decision (the goal's rate, or the compliance cap).
    rate: f64,
    /// The compliance cap (the model's target stays within a few times it).
    cap: f64,
    /// How long an answered call may wait for an agent, seconds.
    compliance_s: f64,
    /// The engine's switch point between the small-group and classic rules.
    small_group_max_agents: u32,
    /// Sorted draws of the time from dial to live answer, seconds, from the scenario's
    /// customers (empty: only the engine's mean is known).
    answer_after_s: Vec<f64>,
    slots: Vec<Slot>,
    ready: u32,
    /// Free time (micros) -> busy agents free then.
    busy: BTreeMap<u64, u32>,
}

impl Oracle {
    /// An oracle for `agents` agents, all away, aiming at overdial rate `rate` (never past
    /// `cap`), with answered calls waiting at most `compliance_s` seconds for an agent, and
    /// the small-group rule for at most `small_group_max_agents` available agents.
    pub fn new(agents: u32, rate: f64, cap: f64, compliance_s: f64, small_group_max_agents: u32) -> Oracle {
        Oracle {
            rate: rate.clamp(0.0, 1.0),
            cap: cap.clamp(0.0, 1.0),
            compliance_s: compliance_s.max(0.0),
            small_group_max_agents,
            answer_after_s: Vec::new(),
            slots: vec![Slot::Away; agents as usize],
            ready: 0,
            busy: BTreeMap::new(),
        }
    }

    fn set(&mut self, agent: u32, slot: Slot) {
        let Some(old) = self.slots.get_mut(agent as usize) else { return };
        match *old {
            Slot::Away => {}
            Slot::Ready => self.ready -= 1,
            Slot::Busy(t) => {
                if let Some(n) = self.busy.get_mut(&t) {
                    *n -= 1;
                    if *n == 0 {
                        self.busy.remove(&t);
                    }
                }
            }
        }
        *old = slot;
        match slot {
            Slot::Away => {}
            Slot::Ready => self.ready += 1,
            Slot::Busy(t) => *self.busy.entry(t).or_default() += 1,
        }
    }

    /// `agent` is ready now.
    pub fn ready(&mut self, agent: u32) {
        self.set(agent, Slot::Ready);
    }

    /// `agent` is busy and will really be free at `free_at`.
    pub fn busy_until(&mut self, agent: u32, free_at: Time) {
        self.set(agent, Slot::Busy(free_at.as_micros()));
    }

    /// `agent` is no capacity (away, not ready, or leaving when free).
    pub fn away(&mut self, agent: u32) {
        self.set(agent, Slot::Away);
    }

    /// Whether the oracle counts `agent` as busy now (so a later phase change keeps its
    /// free time).
    pub fn is_busy(&self, agent: u32) -> bool {
        matches!(self.slots.get(agent as usize), Some(Slot::Busy(_)))
    }

    /// Agents ready now or really free by `at`.
    pub fn free_by(&self, at: Time) -> u32 {
        self.ready + self.busy.range(..=at.as_micros()).map(|(_, n)| *n).sum::<u32>()
    }

    /// Gives the oracle the customers' true time from dial to live answer, as draws (in
    /// seconds, any order): in small groups a busy agent then counts as free for a new call
    /// with the probability that the call is answered late enough for the agent to take it
    /// (`P(D + compliance time >= time to free)`), instead of all or nothing at the mean
    /// answer time.
    pub fn with_answer_times(mut self, mut draws_s: Vec<f64>) -> Oracle {
        draws_s.retain(|d| d.is_finite());
        draws_s.sort_by(f64::total_cmp);
        self.answer_after_s = draws_s;
        self
    }

    /// The probability that a call placed now is answered late enough for an agent free in
    /// `tau_s` seconds to take it within the compliance time (`None`: no draws).
    fn in_time(&self, tau_s: f64) -> Option<f64> {
        let n = self.answer_after_s.len();
        if n == 0 {
            return None;
        }
        let need = tau_s - self.compliance_s;
        if need <= 0.0 {
            return Some(1.0);
        }
        let earlier = self.answer_after_s.partition_point(|&d| d < need);
        Some((n - earlier) as f64 / n as f64)
    }

    /// The distribution of the agents free in time for a call placed now: the ready ones
    /// surely, each busy one with [`Oracle::in_time`] of its true free time.
    fn free_distribution(&self, now: Time) -> Vec<f64> {
        let latest = self.answer_after_s.last().copied().unwrap_or(0.0) + self.compliance_s;
        let until = now.as_micros().saturating_add((latest.clamp(0.0, 3600.0) * 1e6) as u64);
        let mut pmf = vec![0.0; self.ready as usize + 1];
        pmf[self.ready as usize] = 1.0;
        for (&t, &count) in self.busy.range(..=until) {
            let tau_s = t.saturating_sub(now.as_micros()) as f64 * 1e-6;
            let p = self.in_time(tau_s).unwrap_or(0.0);
            for _ in 0..count {
                // Poisson-binomial recursion: P'(j) = P(j) (1 - p) + P(j - 1) p.
                pmf.push(0.0);
                for j in (1..pmf.len()).rev() {
                    pmf[j] = pmf[j] * (1.0 - p) + pmf[j - 1] * p;
                }
                pmf[0] *= 1.0 - p;
            }
        }
        pmf
    }

    /// Busy agents who will surely be free in time for a call placed now: free before all but
    /// [`SURELY_FREE_TAIL`] of the answer times (or the mean answer time, without draws)
    /// plus the compliance time. The engine's governor counts them as capacity in place of
    /// its own estimate (`GroupPacer::set_external_free`).
    pub fn surely_free(&self, now: Time, dial_to_answer_s: f64) -> u32 {
        let n = self.answer_after_s.len();
        // `as` truncates: the index of the tail's quantile among the sorted draws.
        let early_s = if n == 0 {
            dial_to_answer_s.max(0.0)
        } else {
            self.answer_after_s[(n as f64 * SURELY_FREE_TAIL) as usize]
        };
        let within = std::time::Duration::from_secs_f64((early_s + self.compliance_s).clamp(0.0, 3600.0));
        self.free_by(now + within) - self.ready
    }

    /// Agents ready now or busy (not away): the capacity the engine's switch counts.
    pub fn available(&self) -> u32 {
        self.ready + self.busy.values().sum::<u32>()
    }

    /// The calls that should be in progress now (in flight plus waiting), given `waiting`
    /// answered calls waiting, the hit ratio `hit` and the mean dial-to-answer time.
    /// `correction` is the engine's closed-loop factor (1 = none), which every model-based
    /// algorithm of the engine also gets: on the overdial target in small groups, on the
    /// free agents above.
    pub fn level(&self, now: Time, waiting: u32, hit: f64, dial_to_answer_s: f64, correction: f64) -> f64 {
        let correction = if correction.is_finite() { correction.max(0.0) } else { 1.0 };
        let horizon =
            std::time::Duration::from_secs_f64((dial_to_answer_s.max(0.0) + self.compliance_s).min(3600.0));
        let free = self.free_by(now + horizon);
        if self.available() > self.small_group_max_agents {
            // The classic rule: as many answers expected as agents free (times the
            // correction), counting those waiting.
            let p = if hit.is_finite() { hit.clamp(0.01, 1.0) } else { 0.3 };
            let w = f64::from(waiting);
            return w + ((correction * f64::from(free) - w) / p).max(0.0);
        }
        // The model's rate is only a knob: timing it cannot see (answers after the horizon
        // that still find an agent freed just after it) makes the measured rate differ, and
        // the engine's integral controller corrects for that. The compliance governor, not
        // this knob, keeps the measured rate under the cap.
        let rate = (self.rate * correction).min(self.cap * CORRECTION_HEADROOM);
        if self.answer_after_s.is_empty() {
            return f64::from(waiting) + f64::from(dials_for(free, waiting, hit, rate));
        }
        let pmf = self.free_distribution(now);
        f64::from(waiting) + f64::from(dials_for_free(&pmf, waiting, hit, rate))
    }
}

/// The largest `n` with `E[(W + X_n - F)^+] <= r (W + n p)`, `X_n ~ Binomial(n, p)`.
pub fn dials_for(free: u32, waiting: u32, hit: f64, rate: f64) -> u32 {
    let p = if hit.is_finite() { hit.clamp(0.01, 0.99) } else { 0.3 };
    let w = f64::from(waiting);
    let feasible = |n: u32| {
        let c = f64::from(free) - w;
        excess(n, p, c) <= rate * (w + f64::from(n) * p) + 1e-12
    };
    // Past (F + 1) / p dials plus six standard deviations of slack nothing more is feasible
    // for any rate below 1; the search stays bounded.
    largest_feasible(((f64::from(free) + 1.0) / p * 4.0 + 16.0).min(1e6) as u32, feasible)
}

/// The largest `n` in `0..=hi` with `feasible(n)`, for a predicate that holds up to some
/// point and fails after it (convex excess against a linear allowance); 0 when even 0 fails.
fn largest_feasible(mut hi: u32, feasible: impl Fn(u32) -> bool) -> u32 {
    if !feasible(0) {
        return 0;
    }
    if feasible(hi) {
        return hi;
    }
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if feasible(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The largest `n` with `E[(W + X_n - F)^+] <= r (W + n p)`, `X_n ~ Binomial(n, p)`, for
/// `F` with distribution `free` (`free[f] = P(F = f)`), independent of `X_n`. The left side
/// is a mixture over `F` of convex functions of `n`, so convex, and the search is that of
/// [`dials_for`].
pub fn dials_for_free(free: &[f64], waiting: u32, hit: f64, rate: f64) -> u32 {
    let p = if hit.is_finite() { hit.clamp(0.01, 0.99) } else { 0.3 };
    let w = f64::from(waiting);
    // E[(a - F)^+] for a = 0..=len: past the table it grows by one per unit of a.
    let mut short = Vec::with_capacity(free.len() + 1);
    let (mut cdf, mut acc) = (0.0, 0.0);
    short.push(0.0);
    for &pf in free {
        cdf += pf;
        acc += cdf;
        short.push(acc);
    }
    let last = short.len() - 1;
    let shortfall = |a: u64| {
        let a = a as usize;
        if a <= last { short[a] } else { short[last] + (a - last) as f64 }
    };
    // Given X = x the expected excess is E[(a - F)^+] at a = W + x: sum over x.
    let excess_of = |n: u32| -> f64 {
        let nf = f64::from(n);
        let mut pmf = (nf * (-p).ln_1p()).exp();
        if pmf <= 0.0 {
            return f64::INFINITY;
        }
        let odds = p / (1.0 - p);
        let mut sum = 0.0;
        for x in 0..=n {
            sum += pmf * shortfall(u64::from(waiting) + u64::from(x));
            pmf *= (nf - f64::from(x)) / (f64::from(x) + 1.0) * odds;
        }
        sum
    };
    let feasible = |n: u32| excess_of(n) <= rate * (w + f64::from(n) * p) + 1e-12;
    largest_feasible(((free.len() as f64 + 1.0) / p * 4.0 + 16.0).min(1e5) as u32, feasible)
}

/// `E[(X - c)^+]` for `X ~ Binomial(n, p)`: exact for small variances, else the normal
/// approximation `sigma phi(z) + (mu - c)(1 - Phi(z))`, `z = (c - mu) / sigma` (the
/// expected excess of a normal over `c`).
pub fn excess(n: u32, p: f64, c: f64) -> f64 {
    if n == 0 {
        return (-c).max(0.0);
    }
    let nf = f64::from(n);
    let mu = nf * p;
    let var = nf * p * (1.0 - p);
    if var > NORMAL_ABOVE_VARIANCE {
        let sigma = var.sqrt();
        let z = (c - mu) / sigma;
        let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        return (sigma * phi + (mu - c) * (1.0 - normal_cdf(z))).max(0.0);
    }
    // Exact: the pmf by its ratio recurrence, from P(0) = (1 - p)^n.
    let mut pmf = (1.0 - p).powf(nf);
    let ratio = p / (1.0 - p);
    let mut sum = 0.0;
    for k in 0..=n {
        let kf = f64::from(k);
        if kf > c {
            sum += (kf - c) * pmf;
        }
        pmf *= (nf - kf) / (kf + 1.0) * ratio;
    }
    sum
}

/// The standard normal distribution function (Abramowitz and Stegun 7.1.26, absolute error
/// below 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_exact_small_case() {
        // Bin(2, 0.5): P = 1/4, 1/2, 1/4; E[(X - 1)^+] = 1/4.
        assert!((excess(2, 0.5, 1.0) - 0.25).abs() < 1e-12);
        assert!((excess(2, 0.5, 0.0) - 1.0).abs() < 1e-12);
        assert_eq!(excess(0, 0.5, 2.0), 0.0);
    }

    #[test]
    fn normal_approximation_is_close_to_exact() {
        // Variance 1000 * 0.3 * 0.7 = 210: approximated; compare with the exact sum.
        let (n, p, c) = (1000u32, 0.3f64, 310.0);
        let mut exact = 0.0;
        let mut pmf = (1.0 - p).powf(f64::from(n));
        for k in 0..=n {
            let kf = f64::from(k);
            if kf > c {
                exact += (kf - c) * pmf;
            }
            pmf *= (f64::from(n) - kf) / (kf + 1.0) * p / (1.0 - p);
        }
        assert!((excess(n, p, c) - exact).abs() < 0.02 * exact.max(0.1), "{} {exact}", excess(n, p, c));
    }

    #[test]
    fn dials_grow_with_free_agents_and_fall_with_hit_ratio() {
        assert_eq!(dials_for(0, 0, 0.3, 0.03), 0);
        let a = dials_for(5, 0, 0.3, 0.03);
        let b = dials_for(10, 0, 0.3, 0.03);
        assert!(a > 0 && b > a, "{a} {b}");
        assert!(dials_for(10, 0, 0.6, 0.03) < b);
        // Calls already waiting use up free agents.
        assert!(dials_for(10, 4, 0.3, 0.03) < b);
        // More tolerance for overdials, more dials.
        assert!(dials_for(10, 0, 0.3, 0.10) >= b);
        // The answer is the edge of the feasible set.
        let c = 10.0;
        assert!(excess(b, 0.3, c) <= 0.03 * f64::from(b) * 0.3 + 1e-12);
        assert!(excess(b + 1, 0.3, c) > 0.03 * f64::from(b + 1) * 0.3);
    }

    #[test]
    fn free_agents_follow_true_free_times() {
        let t0 = Time::from_unix_s(1_790_000_000);
        let s = std::time::Duration::from_secs;
        let mut o = Oracle::new(4, 0.03, 0.03, 2.0, 50);
        o.ready(0);
        o.busy_until(1, t0 + s(5));
        o.busy_until(2, t0 + s(50));
        o.away(3);
        assert_eq!(o.free_by(t0), 1);
        assert_eq!(o.free_by(t0 + s(10)), 2);
        assert_eq!(o.free_by(t0 + s(60)), 3);
        o.busy_until(1, t0 + s(100));
        assert_eq!(o.free_by(t0 + s(60)), 2);
        o.away(0);
        assert_eq!(o.free_by(t0 + s(60)), 1);
        assert!(o.is_busy(2) && !o.is_busy(0));
        // With everyone busy for long, the level is just the waiting calls.
        let mut o = Oracle::new(2, 0.03, 0.03, 2.0, 50);
        o.busy_until(0, t0 + s(600));
        o.busy_until(1, t0 + s(600));
        assert_eq!(o.level(t0, 1, 0.3, 10.0, 1.0), 1.0);
    }

    #[test]
    fn a_sure_free_count_gives_the_deterministic_answer() {
        // F known exactly (a point mass): the same dials as the deterministic search, in the
        // exact range of `excess`.
        for free in [0u32, 1, 3, 8, 20] {
            let mut pmf = vec![0.0; free as usize + 1];
            pmf[free as usize] = 1.0;
            for (waiting, hit, rate) in [(0, 0.3, 0.03), (2, 0.3, 0.1), (0, 0.6, 0.03), (1, 0.1, 0.05)] {
                assert_eq!(
                    dials_for_free(&pmf, waiting, hit, rate),
                    dials_for(free, waiting, hit, rate),
                    "free {free} waiting {waiting} hit {hit} rate {rate}"
                );
            }
        }
        // An uncertain agent is worth less than a sure one and more than none.
        let sure = dials_for_free(&[0.0, 0.0, 1.0], 0, 0.3, 0.05);
        let maybe = dials_for_free(&[0.0, 0.5, 0.5], 0, 0.3, 0.05);
        let one = dials_for_free(&[0.0, 1.0], 0, 0.3, 0.05);
        assert!(one <= maybe && maybe <= sure && one < sure, "{one} {maybe} {sure}");
    }

    #[test]
    fn busy_agents_count_by_the_chance_a_call_is_answered_late_enough() {
        let t0 = Time::from_unix_s(1_790_000_000);
        let s = std::time::Duration::from_secs;
        // Answers after 4, 8, 12 or 16 s (equally likely); 2 s of compliance time.
        let o = Oracle::new(3, 0.03, 0.03, 2.0, 50).with_answer_times(vec![16.0, 4.0, 12.0, 8.0]);
        assert_eq!(o.in_time(1.0), Some(1.0));
        // Free in 7 s: the call must be answered after 5 s: 3 of 4.
        assert_eq!(o.in_time(7.0), Some(0.75));
        assert_eq!(o.in_time(15.0), Some(0.25));
        assert_eq!(o.in_time(19.0), Some(0.0));
        let mut o = o;
        o.ready(0);
        o.busy_until(1, t0 + s(7));
        o.busy_until(2, t0 + s(600));
        // One sure agent, one with 3/4, one out of reach.
        let pmf = o.free_distribution(t0);
        assert_eq!(pmf.len(), 3);
        assert!((pmf[1] - 0.25).abs() < 1e-12 && (pmf[2] - 0.75).abs() < 1e-12, "{pmf:?}");
        // Surely free for the governor: before the earliest answers (4 s) plus 2 s.
        assert_eq!(o.surely_free(t0, 10.0), 0);
        o.busy_until(2, t0 + s(5));
        assert_eq!(o.surely_free(t0, 10.0), 1);
        // Without draws the oracle keeps the all-or-nothing count at the mean answer time.
        assert_eq!(Oracle::new(1, 0.03, 0.03, 2.0, 50).in_time(3.0), None);
    }

    #[test]
    fn large_groups_use_the_classic_rule_on_true_free_agents() {
        let t0 = Time::from_unix_s(1_790_000_000);
        let s = std::time::Duration::from_secs;
        // Switch point 2: three agents are a large group here.
        let mut o = Oracle::new(3, 0.03, 0.03, 2.0, 2);
        o.ready(0);
        o.busy_until(1, t0 + s(5));
        o.busy_until(2, t0 + s(500));
        assert_eq!(o.available(), 3);
        // Horizon 10 + 2 s: two agents free; 1 waiting; hit 0.25: 1 + (2 - 1) / 0.25 = 5.
        assert!((o.level(t0, 1, 0.25, 10.0, 1.0) - 5.0).abs() < 1e-12);
        // The correction scales the free agents: 1 + (3 - 1) / 0.25 = 9.
        assert!((o.level(t0, 1, 0.25, 10.0, 1.5) - 9.0).abs() < 1e-12);
    }
}
