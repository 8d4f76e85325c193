//! The compliance governor: the abandon-rate cap that no goal can override.
//!
//! Regulators cap abandoned / answered-live calls over a window (e.g. 3% over a day in the
//! UK's Ofcom persistent-misuse policy, over 30 days in the US FTC Telemarketing Sales Rule
//! §310.4(b)(4)(i)). With `A` abandoned out of `N` answered over the window, the window can
//! take `k` more abandons while `(A + k) / (N + k) <= c`, i.e. `k <= S = (c N - A) / (1 - c)`:
//! the *budget*. Both rules below assume that no busy agent frees up in time (agents who do
//! only take calls that would otherwise be abandoned; in small groups the `confidence` rule
//! counts them, see the third section) and that agents who are ready now take
//! the calls that reach them. (An agent who leaves Ready while a call counted on them is in
//! flight can still cause an abandon the governor could not foresee; it is counted at once and
//! tightens the bound for every later decision.)
//!
//! ## `hard`: the worst case
//!
//! A call in progress is *covered* if an agent who is ready now can take it; with `ready`
//! agents ready and `outstanding` calls in progress (in flight or answered and waiting),
//! `max(0, outstanding - ready)` calls are uncovered and each might be answered and find no
//! agent. So the governor allows new dials only up to `ready + floor(S) - outstanding`. Far
//! from the cap that bound is loose; near it, it falls to `ready - outstanding`: one call per
//! agent ready now, which cannot abandon. The cap then holds with certainty, but the rule
//! ignores the hit ratio: at a hit ratio of 0.1 a group needs about ten calls in progress per
//! agent about to be free, and the rule allows one (the benchmark suite's `h10` rows stall
//! near a third of agent time busy, whatever the algorithm).
//!
//! ## `confidence` (the default): a binomial upper quantile
//!
//! Of `n` calls in flight, the number `X` answered is binomial `B(n, p)` at the hit ratio
//! `p`; `W` answered calls are waiting now and `R` agents are ready. At most `R` of the
//! `W + X` answered calls reach an agent, the rest abandon, and every one of them is counted
//! as answered in the window, so the window stays at or under the cap while
//! `A + (W + X - R) <= c (N + W + X)`, i.e.
//!
//! `W + X <= S + R / (1 - c)`
//!
//! (the answered calls that reach the ready agents raise the budget by `c R / (1 - c)`
//! abandons). The governor allows the largest `n` for which `P(X > x) <= α/2` with
//! `x = floor(S) + floor(R / (1 - c)) - W`, `p` replaced by `p⁺`, the upper bound of the
//! Wilson score interval of the hit ratio measured over the estimator window at one-sided
//! level `1 - α/2` (E. B. Wilson, "Probable inference, the law of succession, and
//! statistical inference", JASA 22 (1927) 209-212; its coverage is close to nominal even for
//! small counts and ratios near 0: Brown, Cai and DasGupta, "Interval estimation for a
//! binomial proportion", Statistical Science 16 (2001) 101-133), and `p⁺ = 1` until
//! [`HIT_MIN_DIALS`] dials have a result. By the union (Bonferroni) bound the calls in
//! progress at a decision push the window over the cap with probability at most
//! `α = 1 - compliance_confidence` (0.1% by default). When the window has no whole abandon
//! of budget left (`floor(S) = 0`) the answers may not exceed the ready agents at all
//! (`x = R - W`): the fallback to dialing only for agents ready now, with "for" read as
//! "whose answers the ready agents take with that confidence". Since `B(n, p) <= n`, the
//! rule never allows fewer dials than `hard`; at `p⁺ = 1` it allows `hard`'s dials plus the
//! abandons that the ready agents' answered calls pay for.
//!
//! ## Busy agents who free up in time (small groups)
//!
//! Both rules above take the ready agents `R` as the only capacity. In a small group that is
//! the binding assumption: with five agents on five-minute calls nobody is ready most of the
//! time, so no call may be placed before an agent is free (the group is paced
//! progressively whatever the algorithm), and at a hit ratio of 0.1 the budget of a short
//! window is a few abandons. When the decision asks for more than that bound and the group
//! has at most `small_group_max_agents` available agents, the governor also counts the busy
//! agents as capacity, each free within the predictive horizon `H` (dial-to-answer plus
//! compliance time) with the probability the advanced small-group rule gives an agent
//! without a ReadyTime estimate: the log-normal holding time fitted to the measured talk
//! and wrap-up times, conditioned on the elapsed time in state (ReadyTime estimates are a
//! person's guess, whose error the engine does not measure). The number `F` of them that
//! free up is Poisson-binomial, independent of the answers, and the bound becomes
//!
//! `P(W + X - F > x) = sum_f P(F = f) P(X > x - W + f) <= α/2`,
//!
//! with `x` as above (an agent who frees up is counted as taking one answer; the abandons
//! its answered call would pay for are left out, on the safe side). Since `F >= 0` the
//! limit is never below the one without it; the largest `n` is found by galloping from the
//! decision's own calls (the tail grows with `n`), each step summing the binomial
//! distribution function of `X` once. The free-time model is the engine's own and its
//! error is not bounded the way the hit ratio's is: the statement holds as far as the
//! model does. Larger groups keep the ready-agent rule: their window holds enough answers
//! for a budget that the calls in progress rarely reach, and a per-agent scan there would
//! cost more than the decision.
//!
//! ## `posterior`: one predictive distribution for small groups
//!
//! The `confidence` rule spends its risk twice: `α/2` on the hit ratio (the Wilson bound
//! `p⁺`) and `α/2` on the answers at `p⁺`. The binomial at `p⁺` is the worst case within the
//! interval, not what the engine expects: with 100 hits in 1,000 dials, `p⁺ ≈ 0.136`, so the
//! chance that five calls bring four or more answers is taken as 5 (0.136)⁴ ≈ 0.17% instead
//! of about 0.05%, and in small groups, where the bound works at a handful of answers, that
//! factor of `(p⁺ / p)^(x+1)` sets the pace. The `posterior` mode (opt-in) keeps the hit
//! ratio's uncertainty and the answers in one distribution instead: with `h` hits among `d`
//! dials with a result in the estimator window and the Jeffreys prior `Beta(1/2, 1/2)`, the
//! hit ratio is `Beta(h + 1/2, d - h + 1/2)` (Jeffreys, *Theory of Probability*, 3rd ed.
//! (1961) §3.3; Brown, Cai and DasGupta (2001), above, recommend the Jeffreys interval for
//! its frequentist coverage at small counts), and the answers among `n` calls follow the
//! posterior predictive, the beta-binomial `BB(n, h + 1/2, d - h + 1/2)` (Johnson, Kemp and
//! Kotz (2005), §6.7.2), whose spread includes the hit ratio's. In groups of at most
//! `small_group_max_agents` available agents, when a decision asks for more than the
//! ready-agent bound allows, the governor allows the largest `n` with
//!
//! `P(W + X - F > x) <= α/2`, `X ~ BB(n, h + 1/2, d - h + 1/2)`,
//!
//! `F` as above (or no busy agent). It spends `α/2`, the tail each of the two bounds of
//! `confidence` has, not `α`: the free-time model and the answer times (every answer taken
//! at the horizon) are not inside the bound, and at `α` the benchmark suite showed what
//! that costs (3 of 960 one-hour runs of 5 to 50 agents ended over the cap, none at `α/2`).
//! Never below the ready-agent bound (the `confidence` rule
//! without busy agents); as `confidence` above the small-group size and before
//! [`HIT_MIN_DIALS`] dials. The sums run over the beta-binomial's terms from
//! `P(X = 0) = B(a, b + n) / B(a, b)` (by `ln Γ`) with
//! `P(X = k + 1) / P(X = k) = (n - k)(a + k) / ((k + 1)(b + n - k - 1))`, so a decision costs
//! one pass per step of the search, on the few dozen calls a small group has in flight.
//!
//! ## The rest of the shift (`shift_length`)
//!
//! The budget `S` above counts only the answers the window already holds, so a group that
//! has just started has none: with `N = 0` no call beyond the ready agents may abandon, and
//! at a hit ratio of 0.1 a small group is paced progressively until a few dozen answers are
//! in. Regulators judge the rate over the whole window, though, and a group that knows its
//! shift goes on answering calls until it ends. When the group is given its shift
//! (`shift_length`, or [`super::GroupPacer::set_shift_end`]) the budget also counts `C`
//! answers that the rest of the shift brings with probability about 95% even if
//! every later decision were progressive (one call per ready agent, which the governor always
//! allows): `S = (c (N + C) - A) / (1 - c)`. A progressive agent answers one call per cycle of
//! `T_talk + T_acw + T_ans + (1/p - 1) T_miss` (talk, wrap-up, dial to answer, and the
//! `1/p - 1` unanswered dials before it, each lasting `T_miss`); with `m` agents available and
//! `r` seconds of the shift left (at most the compliance window) the answers are about
//! Poisson with mean `μ = m r / cycle`, and `C = floor(μ - z sqrt(μ))`, the normal
//! approximation of its lower quantile (0 below `z²`). Every input is taken at its
//! unfavourable bound: `p` at the Wilson *lower* bound, each mean time at
//! `mean (1 + z cv / sqrt(count))`, the normal upper bound of a mean, all at one-sided 95%
//! ([`CREDIT_Z`]); no credit before [`HIT_MIN_DIALS`] dials have a result and
//! [`CREDIT_MIN_SAMPLES`] talks and unanswered dials are measured. The level is softer than the
//! decision's tail because a forecast that falls short costs in proportion (answers missing
//! from `C` take `c` abandons each off a budget that the tail bound still guards), where the
//! tail is about a burst of answers the ready agents cannot take. At the tail's own level
//! (99.95%) the credit gave about two thirds of the gain on the benchmark suite's 10- and
//! 20-agent `h10` rows and none on 5 agents; at 95%, 1,080 one-hour runs of the suite
//! (`predictive`, `advanced_small_group` and a fixed ratio of 6 answers per ready agent, 20
//! seeds each) all ended at or under the cap (worst 2.98%). The talks and wrap-ups still
//! going on count with the time they have taken (see `GroupPacer`), so the short talks that
//! end first do not overstate the pace. `C` falls to 0 as the shift ends, so the last
//! decisions are held to the answers the window really has; what was spent earlier on credit
//! has by then been paid for by the answers that came. The credit is as good as the promise:
//! agents who leave before the shift ends take their answers with them (the credit follows
//! the available agents, recomputed each second, but abandons already spent stay), and
//! stopping the group ends the shift at once. A pacer that spends the whole budget as soon as
//! it has it (a fixed ratio at the governor's limit, `vicidial_adapt`) spends the credit in
//! the first minutes; `hard` mode takes no credit.
//!
//! Why `confidence` is the default: an operator wants the cap kept with a stated, small risk
//! *and* agents busy; the worst case buys certainty against an event (every uncovered call
//! answered at a hit ratio of 0.1) whose probability is far below any regulator's
//! tolerance, at the price of most of the agents' time. The remaining risk is stated
//! (`compliance_confidence`) and is far smaller in practice than the bound, which still
//! assumes no busy agent frees up (above the small-group size) or counts them at the
//! model's probabilities (up to it). `posterior` is not the default because it spends more
//! of the risk it states, and the measurements cannot yet tell the two apart in safety: in
//! the benchmark suite's 960 one-hour runs of 5 to 50 agents (40 seeds, `predictive` and
//! `advanced_small_group`) and 360 runs of a fixed ratio of 6 answers per ready agent on
//! all 18 scenarios (20 seeds) none ends over the cap in either mode, but at 50 seeds of
//! that fixed ratio on the 12 small scenarios one `posterior` run of 600 does (3.36% on
//! `n0005-h10-t60`, four abandons in its last quarter), against none with `confidence`.
//!
//! `n` is the largest integer with `1 - F(x; n, p) <= α/2`, `F` the binomial distribution
//! function (its quantile function inverted in `n`; see Johnson, Kemp and Kotz, *Univariate
//! Discrete Distributions*, 3rd ed. (2005), §3.3 and §3.6). For `x <` [`EXACT_BELOW`] it is
//! exact: `F` and the probability `f` of exactly `x` are summed once at a starting `n` and
//! then stepped with `F(x; n+1) = F(x; n) - p f(x; n)` and
//! `f(x; n+1) = f(x; n) (n+1)(1-p) / (n+1-x)`. Above, the normal approximation with continuity
//! correction and the Cornish-Fisher skewness term (Cornish and Fisher, "Moments and
//! cumulants in the specification of distributions", Rev. Int. Stat. Inst. 5 (1937) 307-320)
//! gives `n p + z sqrt(n p (1-p)) + (z² - 1)(1 - 2p)/6 <= x + 1/2`, a quadratic in `sqrt(n)`;
//! a margin of [`APPROX_MARGIN`] answers keeps it at or under the exact `n` (the test
//! `approximation_never_allows_more_than_exact` checks a grid). The answer is cached per
//! `(x, p⁺)`, with `p⁺` rounded up to 1/65,536, so repeated decisions cost one load.

use super::ComplianceMode;
use super::PacingConfig;
use super::atomic::{AtomicU32, AtomicU64, CachePadded, Ordering};
use super::overdial::OverdialCount;
use super::state::CallCounts;
use super::window::Moments;

/// Dials with a result needed in the estimator window before the measured hit ratio's
/// confidence bound replaces the worst case `p⁺ = 1`. The Wilson bound is already wide for
/// few dials (2 hits of 30 give `p⁺ ≈ 0.39` at 99.95%); the floor also keeps a pacer that has
/// barely started from trusting a handful of results.
pub(crate) const HIT_MIN_DIALS: u64 = 30;
/// Budgets of answers below this use the exact binomial path; above it the approximation.
pub(crate) const EXACT_BELOW: u64 = 64;
/// Answers taken off the budget before the approximation (see the module comment).
pub(crate) const APPROX_MARGIN: f64 = 1.0;
/// Resolution of the cached hit-ratio bound: `p⁺` is rounded up to a multiple of `1 / Q_ONE`.
const Q_ONE: u32 = 1 << 16;
/// Bits of the cache word: `x (24) | q (17) | n (23)`.
const X_BITS: u32 = 24;
const Q_BITS: u32 = 17;
const N_BITS: u32 = 23;
const N_MAX: u64 = (1 << N_BITS) - 1;
const X_MAX: u64 = (1 << X_BITS) - 2;

/// How many uncovered calls may be in progress at once: `floor((c N - A) / (1 - c))`, at
/// least 0; `None` if the cap is off (`c >= 1`).
pub(crate) fn uncovered_allowance(cap: f64, window: OverdialCount) -> Option<u64> {
    if cap.is_nan() || cap >= 1.0 {
        return None;
    }
    let cap = cap.max(0.0);
    let slack = cap * window.answered as f64 - window.abandoned as f64;
    // The small epsilon keeps exact boundaries (3 abandons of 100 at 3%) from rounding up.
    let allowance = (slack / (1.0 - cap) - 1e-9).floor();
    Some(if allowance <= 0.0 { 0 } else { allowance.min(u64::MAX as f64 / 2.0) as u64 })
}

/// Samples of talk time and of unanswered-dial time needed before the rest of the shift is
/// credited (see the module comment).
pub(crate) const CREDIT_MIN_SAMPLES: u64 = 10;
/// The normal quantile of the shift credit's bounds: one-sided 95% (see the module comment).
pub(crate) const CREDIT_Z: f64 = 1.644_853_626_951_472;

/// The lower end of the Wilson score interval (see [`wilson_upper`]); 0 with no trials.
pub(crate) fn wilson_lower(hits: u64, trials: u64, z: f64) -> f64 {
    wilson(hits, trials, z).0
}

/// The normal upper confidence bound of a measured mean, `mean (1 + z cv / sqrt(count))`.
fn mean_upper(m: Moments, z: f64) -> f64 {
    let n = m.count.max(1) as f64;
    (m.mean_s.max(0.0) * (1.0 + z * m.cv.max(0.0) / n.sqrt())).max(0.0)
}

/// What the rest of the shift credit is computed from (see the module comment).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ShiftOutlook {
    /// Agents available now (ready, talking or in wrap-up).
    pub(crate) agents: u32,
    /// Seconds of the shift left, at most the compliance window.
    pub(crate) remaining_s: f64,
    /// Live answers and dials with a result in the estimator window.
    pub(crate) hits: u64,
    pub(crate) dials: u64,
    pub(crate) talk: Moments,
    pub(crate) after_call_work: Moments,
    pub(crate) dial_to_answer: Moments,
    /// Dial to a result other than a live answer.
    pub(crate) dial_to_miss: Moments,
}

/// `C` of the module comment: the answers the rest of the shift brings, at a progressive
/// pace, with probability about `P(Z <= z)`.
pub(crate) fn shift_credit(o: &ShiftOutlook, z: f64) -> u64 {
    if o.agents == 0
        || o.remaining_s.is_nan()
        || o.remaining_s <= 0.0
        || o.dials < HIT_MIN_DIALS
        || o.talk.count < CREDIT_MIN_SAMPLES
        || o.dial_to_miss.count < CREDIT_MIN_SAMPLES
        || !z.is_finite()
    {
        return 0;
    }
    let p = wilson_lower(o.hits, o.dials, z);
    if p <= 0.0 {
        return 0;
    }
    // Wrap-up may not be measured at all (a group without it): its bound is then 0.
    let cycle_s = mean_upper(o.talk, z)
        + mean_upper(o.after_call_work, z)
        + mean_upper(o.dial_to_answer, z)
        + (1.0 / p - 1.0) * mean_upper(o.dial_to_miss, z);
    if cycle_s.is_nan() || cycle_s <= 0.0 {
        return 0;
    }
    let mean = f64::from(o.agents) * o.remaining_s / cycle_s;
    let lower = mean - z * mean.sqrt();
    // `as` saturates; `lower` is finite here.
    if lower >= 1.0 { lower.floor().min(1e12) as u64 } else { 0 }
}

/// The `hard` rule: the most new dials the governor allows now, given the allowance of
/// uncovered calls (`None` if the cap is off).
pub(crate) fn dial_limit(allowance: Option<u64>, ready: u32, outstanding: u32) -> Option<u32> {
    let limit = (u64::from(ready) + allowance?).saturating_sub(u64::from(outstanding));
    Some(limit.min(u64::from(u32::MAX)) as u32)
}

/// The upper bound of the Wilson score interval for `hits` successes in `trials`, at the
/// one-sided normal quantile `z`; 1 for no trials.
pub(crate) fn wilson_upper(hits: u64, trials: u64, z: f64) -> f64 {
    wilson(hits, trials, z).1
}

/// The Wilson score interval of `hits` among `trials` at normal quantile `z`: `(0, 1)` with
/// no trials.
fn wilson(hits: u64, trials: u64, z: f64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = (hits.min(trials) as f64) / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z2 / n;
    (((centre - spread) / scale).clamp(0.0, 1.0), ((centre + spread) / scale).clamp(0.0, 1.0))
}

/// The binomial distribution function `F(x; n, p)` and probability `f(x; n, p)` of exactly
/// `x`, by summing the terms from 0 (`x` small, `n p` below a few hundred: no underflow).
fn binomial_cdf_pmf(x: u64, n: u64, p: f64) -> (f64, f64) {
    if x >= n {
        // All n can be answered: F = 1, f = p^n only when x == n.
        let pmf = if x == n { p.powi(n.min(i32::MAX as u64) as i32) } else { 0.0 };
        return (1.0, pmf);
    }
    let ratio = p / (1.0 - p);
    let mut term = (n as f64 * (-p).ln_1p()).exp();
    let mut cdf = term;
    for k in 0..x {
        term *= (n - k) as f64 / (k + 1) as f64 * ratio;
        cdf += term;
    }
    (cdf.min(1.0), term)
}

/// The normal (Cornish-Fisher, continuity-corrected) estimate of the most calls whose
/// answers stay at or under `x` with upper quantile `z`, less `margin` answers; at least 0.
fn approx_max_calls(x: u64, p: f64, z: f64, margin: f64) -> u64 {
    let b = x as f64 + 0.5 - margin - (z * z - 1.0) * (1.0 - 2.0 * p) / 6.0;
    if b <= 0.0 {
        return 0;
    }
    let beta = z * (p * (1.0 - p)).sqrt();
    let s = (-beta + (beta * beta + 4.0 * p * b).sqrt()) / (2.0 * p);
    let n = (s * s).floor();
    if n.is_finite() && n >= 0.0 { n.min(N_MAX as f64) as u64 } else { 0 }
}

/// The largest `n` with `P(B(n, p) > x) <= tail`, exactly, starting the search at `start`.
fn exact_max_calls(x: u64, p: f64, tail: f64, start: u64) -> u64 {
    let mut n = start.max(x);
    let (mut cdf, mut pmf) = binomial_cdf_pmf(x, n, p);
    if !(pmf > 0.0 && cdf.is_finite()) {
        // Underflow (never at the starts used here): `x` calls are always safe.
        return x;
    }
    if 1.0 - cdf <= tail {
        // Step up while the next n still keeps the tail small enough.
        while n < N_MAX {
            let next_cdf = cdf - p * pmf;
            if 1.0 - next_cdf > tail {
                break;
            }
            pmf *= (n + 1) as f64 * (1.0 - p) / (n + 1 - x) as f64;
            cdf = next_cdf;
            n += 1;
        }
    } else {
        // Step down until it does; n = x always does (the tail is 0).
        while n > x && 1.0 - cdf > tail {
            pmf *= (n - x) as f64 / (n as f64 * (1.0 - p));
            cdf += p * pmf;
            n -= 1;
        }
    }
    n
}

/// The most calls in flight whose answers exceed `x` with probability at most `tail`, at
/// hit ratio `p` (`z` the normal quantile of `tail`): exact for small `x`, else approximated
/// from below.
pub(crate) fn max_calls(x: u64, p: f64, z: f64, tail: f64) -> u64 {
    // NaN or 1: every call may be answered.
    if p.is_nan() || p >= 1.0 {
        return x;
    }
    let p = p.max(1.0 / f64::from(Q_ONE));
    if x < EXACT_BELOW {
        let start = approx_max_calls(x, p, z, 0.0);
        exact_max_calls(x, p, tail, start).min(N_MAX)
    } else {
        approx_max_calls(x, p, z, APPROX_MARGIN).max(x).min(N_MAX)
    }
}

/// The governor of one pacer: its mode, its confidence and what it caches.
#[derive(Debug)]
pub(crate) struct Governor {
    mode: ComplianceMode,
    /// The tail allowed to each of the two bounds, `α/2`.
    tail: f64,
    /// The standard normal quantile `z` with `P(Z > z) = tail`.
    z: f64,
    /// `1 / (1 - c)` for the pacer's cap `c`: answers each ready agent absorbs while the
    /// window has budget.
    per_ready: f64,
    /// `p⁺` rounded up, in units of `1 / Q_ONE` (`Q_ONE` = 1).
    hit_upper_q: CachePadded<AtomicU32>,
    /// The estimator window's counts for the `posterior` rule: `hits (32) | dials (32)`.
    hit_counts: CachePadded<AtomicU64>,
    /// The last answer: `x (24 bits) | q (17) | n (23)`.
    cache: CachePadded<AtomicU64>,
}

impl Governor {
    pub(crate) fn new(config: &PacingConfig) -> Governor {
        use statrs::distribution::{ContinuousCDF, Normal};
        let confidence = if config.compliance_confidence.is_nan() {
            0.999
        } else {
            config.compliance_confidence.clamp(0.5, 1.0)
        };
        let tail = (1.0 - confidence) / 2.0;
        // A confidence of 1 is the worst case.
        let mode = if tail <= 0.0 { ComplianceMode::Hard } else { config.compliance_mode };
        let z = if tail > 0.0 { -Normal::standard().inverse_cdf(tail) } else { f64::INFINITY };
        let cap = config.compliance_max_abandon_rate;
        let per_ready = if cap.is_nan() { 1.0 } else { 1.0 / (1.0 - cap.clamp(0.0, 0.999)) };
        Governor {
            mode,
            tail,
            z,
            per_ready,
            hit_upper_q: CachePadded::new(AtomicU32::new(Q_ONE)),
            hit_counts: CachePadded::new(AtomicU64::new(0)),
            cache: CachePadded::new(AtomicU64::new(u64::MAX)),
        }
    }

    /// Updates the hit ratio's upper bound from the estimator window: `hits` live answers
    /// among `dials` dials with a result.
    pub(crate) fn observe_hits(&self, hits: u64, dials: u64) {
        if self.mode == ComplianceMode::Hard {
            return;
        }
        let counts = (hits.min(dials).min(u64::from(u32::MAX)) << 32) | dials.min(u64::from(u32::MAX));
        // `Relaxed`: one word, read whole.
        self.hit_counts.store(counts, Ordering::Relaxed);
        let upper = if dials < HIT_MIN_DIALS { 1.0 } else { wilson_upper(hits, dials, self.z) };
        // Rounded up: the bound only grows. `as` saturates; `upper` is in [0, 1].
        let q = ((upper * f64::from(Q_ONE)).ceil() as u32).clamp(1, Q_ONE);
        // `Relaxed`: the value stands alone; a decision may use the previous one.
        self.hit_upper_q.store(q, Ordering::Relaxed);
    }

    /// The hit ratio's upper confidence bound in use (1 in `hard` mode).
    pub(crate) fn hit_upper(&self) -> f64 {
        f64::from(self.hit_upper_q.load(Ordering::Relaxed)) / f64::from(Q_ONE)
    }

    /// `C` of the module comment for `outlook`: answers the rest of the shift is sure to
    /// bring (0 in `hard` mode, which takes no credit).
    pub(crate) fn shift_credit(&self, outlook: &ShiftOutlook) -> u64 {
        if self.mode == ComplianceMode::Hard { 0 } else { shift_credit(outlook, CREDIT_Z) }
    }

    /// Whether the governor counts busy agents who free up in time (the `confidence` and
    /// `posterior` modes with a cap; see the module comment).
    pub(crate) fn counts_freed(&self) -> bool {
        self.mode != ComplianceMode::Hard
    }

    /// The Jeffreys posterior `Beta(a, b)` of the hit ratio from the estimator window's
    /// counts, or `None` before [`HIT_MIN_DIALS`] dials have a result.
    fn hit_posterior(&self) -> Option<(f64, f64)> {
        let counts = self.hit_counts.load(Ordering::Relaxed);
        let (hits, dials) = (counts >> 32, counts & 0xFFFF_FFFF);
        (dials >= HIT_MIN_DIALS).then(|| (hits as f64 + 0.5, (dials - hits) as f64 + 0.5))
    }

    /// `x - W` of the module comment: the answers among the calls in flight that the window
    /// can take with the ready agents alone (negative: more answered calls wait than that).
    fn answers_allowed(&self, allowance: u64, ready: u32, waiting: u32) -> i64 {
        // Answers the ready agents absorb: those they take, plus, while the window has
        // budget, the abandons their answered calls pay for (see the module comment).
        let absorbed = if allowance == 0 {
            u64::from(ready)
        } else {
            // `as` saturates; the value is finite and non-negative.
            (f64::from(ready) * self.per_ready - 1e-9).floor().max(0.0) as u64
        };
        let x = allowance.saturating_add(absorbed).min(X_MAX);
        x as i64 - i64::from(waiting)
    }

    /// The most calls in flight whose answers exceed `x >= 0` with probability at most
    /// `α/2`, cached per `(x, p⁺)`.
    fn calls_for(&self, x: u64) -> u64 {
        let x = x.min(X_MAX);
        let q = self.hit_upper_q.load(Ordering::Relaxed);
        let key = (x << Q_BITS) | u64::from(q);
        // `Relaxed`: the cached word is self-contained (key and answer in one value).
        let cached = self.cache.load(Ordering::Relaxed);
        if cached >> N_BITS == key {
            return cached & N_MAX;
        }
        let n = max_calls(x, f64::from(q) / f64::from(Q_ONE), self.z, self.tail);
        self.cache.store((key << N_BITS) | n, Ordering::Relaxed);
        n
    }

    /// The most new dials the governor allows now, given the window's allowance of uncovered
    /// calls (`floor(S)` at the pacer's cap; `None` if the cap is off), the agents ready now
    /// and the calls in progress.
    #[inline]
    pub(crate) fn dial_limit(&self, allowance: Option<u64>, ready: u32, calls: CallCounts) -> Option<u32> {
        let allowance = allowance?;
        if self.mode == ComplianceMode::Hard {
            return dial_limit(Some(allowance), ready, calls.outstanding());
        }
        let y = self.answers_allowed(allowance, ready, calls.waiting);
        if y < 0 {
            // Already more answered calls waiting than the window can take: nothing more.
            return Some(0);
        }
        let n = self.calls_for(y as u64);
        let limit = n.saturating_sub(u64::from(calls.in_flight));
        Some(limit.min(u64::from(u32::MAX)) as u32)
    }

    /// [`Governor::dial_limit`] with the busy agents who free up within the horizon counted
    /// as capacity: `freed` is the distribution of their number (`freed[f] = P(F = f)`),
    /// `wanted` the new dials the decision asks for (where the search starts). Never below
    /// [`Governor::dial_limit`]; the same in `hard` mode.
    pub(crate) fn dial_limit_freed(
        &self,
        allowance: Option<u64>,
        ready: u32,
        calls: CallCounts,
        freed: &[f64],
        wanted: u32,
    ) -> Option<u32> {
        let without = self.dial_limit(allowance, ready, calls)?;
        let no_busy = [1.0];
        let freed = if freed.is_empty() { &no_busy[..] } else { freed };
        match self.mode {
            ComplianceMode::Hard => return Some(without),
            ComplianceMode::Confidence if freed.len() <= 1 => return Some(without),
            _ => {}
        }
        let y = self.answers_allowed(allowance?, ready, calls.waiting);
        let in_flight = u64::from(calls.in_flight);
        let floor = in_flight + u64::from(without);
        let guess = in_flight + u64::from(wanted);
        let n = if self.mode == ComplianceMode::Posterior {
            match self.hit_posterior() {
                Some((a, b)) => max_calls_posterior(y, a, b, self.tail, freed, floor, guess),
                None => floor,
            }
        } else {
            max_calls_freed(y, self.hit_upper(), self.tail, freed, floor, guess)
        };
        let limit = n.saturating_sub(in_flight).max(u64::from(without));
        Some(limit.min(u64::from(u32::MAX)) as u32)
    }
}

/// `P(X - F > y)` for `X ~ B(n, p)` and an independent `F` with distribution `freed`:
/// `sum_f P(F = f) P(X > y + f)`, summing `X`'s distribution function once up to
/// `y + max F`. When `(1 - p)^n` underflows the terms are lost and the answer is too large,
/// which only refuses calls.
pub(crate) fn joint_tail(n: u64, p: f64, y: i64, freed: &[f64]) -> f64 {
    let odds = p / (1.0 - p);
    let first = (n as f64 * (-p).ln_1p()).exp();
    joint_tail_with(n, y, freed, first, |k| (n - k) as f64 / (k + 1) as f64 * odds)
}

/// [`joint_tail_posterior_with`] computing its normaliser (for the tests).
#[cfg(test)]
pub(crate) fn joint_tail_posterior(n: u64, a: f64, b: f64, y: i64, freed: &[f64]) -> f64 {
    use statrs::function::gamma::ln_gamma;
    joint_tail_posterior_with(n, a, b, ln_gamma(a + b) - ln_gamma(b), y, freed)
}

/// `P(X - F > y)` as [`joint_tail`], for `X` beta-binomial `BB(n, a, b)`: the number of
/// answers among `n` calls when the hit ratio is `Beta(a, b)` (the posterior predictive of
/// a binomial count; Johnson, Kemp and Kotz, *Univariate Discrete Distributions*, 3rd ed.
/// (2005), §6.7.2). `P(X = 0) = B(a, b + n) / B(a, b)` and
/// `P(X = k + 1) / P(X = k) = (n - k)(a + k) / ((k + 1)(b + n - k - 1))`; `ln_norm` is
/// `ln Γ(a + b) - ln Γ(b)`, the same at every `n`, so a search computes it once.
fn joint_tail_posterior_with(n: u64, a: f64, b: f64, ln_norm: f64, y: i64, freed: &[f64]) -> f64 {
    use statrs::function::gamma::ln_gamma;
    let nf = n as f64;
    let first = (ln_gamma(b + nf) - ln_gamma(a + b + nf) + ln_norm).exp();
    joint_tail_with(n, y, freed, first, |k| {
        let k = k as f64;
        (nf - k) * (a + k) / ((k + 1.0) * (b + nf - k - 1.0))
    })
}

/// The sum of [`joint_tail`] for any distribution of `X` on `0..=n` given by `P(X = 0)`
/// (`first`) and the ratios `P(X = k + 1) / P(X = k)` (`ratio(k)`, asked for `k < n`).
fn joint_tail_with(n: u64, y: i64, freed: &[f64], first_pmf: f64, ratio: impl Fn(u64) -> f64) -> f64 {
    let m = freed.len() as i64 - 1;
    // f below -y: X >= 0 > y + f, always.
    let first = (-y).clamp(0, m + 1);
    let mut tail: f64 = freed[..first as usize].iter().sum();
    if first > m {
        return tail;
    }
    // For f >= first, k = y + f >= 0, and P(X > k) = 1 - F_X(k) for k < n, else 0.
    let top = (y + m).min(n as i64 - 1);
    if top < 0 {
        return tail;
    }
    let mut pmf = first_pmf;
    let mut cdf = 0.0;
    for k in 0..=top {
        cdf += pmf;
        let f = k - y;
        if f >= first {
            tail += freed[f as usize] * (1.0 - cdf).max(0.0);
        }
        // `k < n` here (`top < n`), so the ratio is defined.
        pmf *= ratio(k as u64);
    }
    tail
}

/// The largest `n >= floor` with `P(X_n - F > y) <= tail` (see [`joint_tail`]), or `floor`
/// itself if none is larger, searched by galloping from `guess` (the tail grows with `n`).
/// `floor` must be a count the bound without `F` allows (so the answer never falls below it).
pub(crate) fn max_calls_freed(y: i64, p: f64, tail: f64, freed: &[f64], floor: u64, guess: u64) -> u64 {
    if p.is_nan() || p >= 1.0 || freed.is_empty() {
        return floor;
    }
    let p = p.max(1.0 / f64::from(Q_ONE));
    largest_joint(y, p, freed, floor, guess, |n| joint_tail(n, p, y, freed) <= tail)
}

/// The largest `n >= floor` with `P(X_n - F > y) <= tail` for `X_n` beta-binomial
/// `BB(n, a, b)` (see [`joint_tail_posterior_with`]), or `floor`; as [`max_calls_freed`].
pub(crate) fn max_calls_posterior(
    y: i64,
    a: f64,
    b: f64,
    tail: f64,
    freed: &[f64],
    floor: u64,
    guess: u64,
) -> u64 {
    if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) || freed.is_empty() {
        return floor;
    }
    use statrs::function::gamma::ln_gamma;
    let ln_norm = ln_gamma(a + b) - ln_gamma(b);
    let mean = (a / (a + b)).max(1.0 / f64::from(Q_ONE));
    largest_joint(y, mean, freed, floor, guess, |n| {
        joint_tail_posterior_with(n, a, b, ln_norm, y, freed) <= tail
    })
}

/// The search of [`max_calls_freed`] and [`max_calls_posterior`]: galloping from `guess`
/// over `floor..` for the last `n` with `ok(n)` (true up to a point, then false), bounded by
/// a count past which the answers at hit ratio `p` alone overflow the room.
fn largest_joint(y: i64, p: f64, freed: &[f64], floor: u64, guess: u64, ok: impl Fn(u64) -> bool) -> u64 {
    // The most calls that could be allowed even if every busy agent freed up surely: a
    // bound on the search (past it the tail of X alone is too large).
    let room = (y + freed.len() as i64).max(0) as f64;
    let k_max = ((room + 1.0) / p * 4.0 + 16.0).min(N_MAX as f64) as u64;
    if k_max <= floor {
        return floor;
    }
    let span = (k_max - floor).min(u64::from(u32::MAX)) as u32;
    let guess = guess.saturating_sub(floor).min(u64::from(span)) as u32;
    // `largest_ok` takes offset 0 (= `floor`) as allowed, which the caller guarantees.
    floor + u64::from(super::algorithm::small_group::largest_ok(span, guess, |k| ok(floor + u64::from(k))))
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;
    use statrs::distribution::{Binomial, DiscreteCDF};

    fn w(abandoned: u64, answered: u64) -> OverdialCount {
        OverdialCount { abandoned, answered }
    }

    #[test]
    fn allowance_by_hand() {
        // 3% of 1,000 answered = 30 allowed; 20 used: (30 - 20) / 0.97 = 10.3 -> 10.
        assert_eq!(uncovered_allowance(0.03, w(20, 1000)), Some(10));
        // Check: 30 / 1010 = 2.97% <= 3%, 31 / 1011 = 3.07% > 3%.
        assert_eq!(uncovered_allowance(0.03, w(3, 100)), Some(0));
        assert_eq!(uncovered_allowance(0.03, w(5, 100)), Some(0));
        assert_eq!(uncovered_allowance(0.03, w(0, 0)), Some(0));
        assert_eq!(uncovered_allowance(1.0, w(5, 5)), None);
    }

    #[test]
    fn at_the_cap_only_ready_agents_are_dialed_for() {
        let limit =
            |a, n, ready, outstanding| dial_limit(uncovered_allowance(0.03, w(a, n)), ready, outstanding);
        assert_eq!(limit(3, 100, 5, 2), Some(3));
        assert_eq!(limit(3, 100, 1, 4), Some(0));
        assert_eq!(limit(20, 1000, 5, 2), Some(13));
        assert_eq!(dial_limit(None, 1, 4), None);
    }

    #[test]
    fn allowance_never_lets_the_rate_pass_the_cap() {
        for cap in [0.01, 0.03, 0.05, 0.2] {
            for answered in 0..300u64 {
                for abandoned in 0..=answered.min(20) {
                    if let Some(k) = uncovered_allowance(cap, w(abandoned, answered)) {
                        if k > 0 {
                            let rate = (abandoned + k) as f64 / (answered + k) as f64;
                            assert!(rate <= cap + 1e-12, "{cap} {abandoned}/{answered} k={k}");
                        }
                        // And the bound is tight: one more would pass the cap (when under it).
                        let rate = (abandoned + k + 1) as f64 / (answered + k + 1) as f64;
                        assert!(rate > cap - 1e-12 || abandoned as f64 > cap * answered as f64);
                    }
                }
            }
        }
    }

    /// `P(B(n, p) > x)` by statrs (regularized incomplete beta), the reference.
    fn tail_ref(x: u64, n: u64, p: f64) -> f64 {
        if x >= n { 0.0 } else { 1.0 - Binomial::new(p, n).unwrap().cdf(x) }
    }

    /// The largest n with `P(B(n, p) > x) <= tail` by bisection on statrs' tail.
    fn max_calls_ref(x: u64, p: f64, tail: f64) -> u64 {
        let (mut lo, mut hi) = (x, x + 1);
        while tail_ref(x, hi, p) <= tail {
            lo = hi;
            hi *= 2;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if tail_ref(x, mid, p) <= tail { lo = mid } else { hi = mid }
        }
        lo
    }

    fn z_of(tail: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, Normal};
        -Normal::standard().inverse_cdf(tail)
    }

    #[test]
    fn quantiles_by_hand() {
        let tail = 0.0005;
        let z = z_of(tail);
        assert!((z - 3.2905).abs() < 1e-4, "{z}");
        // No answer allowed: one call at p = 0.1 is answered with probability 0.1 > 0.05%.
        assert_eq!(max_calls(0, 0.1, z, tail), 0);
        // x = 1, p = 0.1: P(B(n) >= 2) = 1 - 0.9^n - n 0.1 0.9^(n-1):
        // n = 2: 0.01 > 0.0005, so only n = 1 (tail 0).
        assert_eq!(max_calls(1, 0.1, z, tail), 1);
        // x = 2, p = 0.1: n = 3: P(3 answers) = 0.001 > 0.0005; n = 2 only.
        assert_eq!(max_calls(2, 0.1, z, tail), 2);
        // x = 1, p = 0.01: n = 4: P(>= 2) = 1 - 0.99^4 - 4 (0.01)(0.99^3) = 0.000592 > 0.0005;
        // n = 3: 1 - 0.99^3 - 3 (0.01)(0.99^2) = 0.000298: n = 3.
        assert_eq!(max_calls(1, 0.01, z, tail), 3);
        // x = 10, p = 0.1: P(B(35) > 10) = 0.000424 and P(B(36) > 10) = 0.000556 (summed
        // from the binomial terms, and checked against statrs here): n = 35.
        assert!((tail_ref(10, 35, 0.1) - 0.000424).abs() < 1e-6);
        assert!((tail_ref(10, 36, 0.1) - 0.000556).abs() < 1e-6);
        assert_eq!(max_calls(10, 0.1, z, tail), 35);
        // At p = 1 every call is answered: x calls.
        assert_eq!(max_calls(17, 1.0, z, tail), 17);
        assert_eq!(max_calls(17, f64::NAN, z, tail), 17);
    }

    #[test]
    fn exact_path_matches_statrs() {
        for tail in [0.0005, 0.005, 0.05] {
            let z = z_of(tail);
            for p in [0.002, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 0.99] {
                for x in 0..EXACT_BELOW {
                    assert_eq!(
                        max_calls(x, p, z, tail),
                        max_calls_ref(x, p, tail),
                        "x={x} p={p} tail={tail}"
                    );
                }
            }
        }
    }

    #[test]
    fn approximation_never_allows_more_than_exact() {
        // Above the exact range, the approximation stays at or under the exact answer, and
        // within 3% of it (so the margin does not waste much).
        for tail in [0.0005, 0.005] {
            let z = z_of(tail);
            for p in [0.0005, 0.003, 0.02, 0.1, 0.25, 0.5, 0.75, 0.95] {
                let mut x = EXACT_BELOW;
                while x < 20_000 {
                    let exact = max_calls_ref(x, p, tail).min(N_MAX);
                    let approx = max_calls(x, p, z, tail);
                    assert!(approx <= exact, "x={x} p={p} tail={tail}: {approx} > {exact}");
                    assert!(approx as f64 >= 0.97 * exact as f64, "x={x} p={p}: {approx} << {exact}");
                    x = x * 5 / 4 + 1;
                }
            }
        }
    }

    #[test]
    fn wilson_by_hand() {
        // 10 of 100 at z = 1.96: (0.1 + 0.019208 + 1.96 sqrt(0.0009 + 0.00009604)) / 1.038416
        // = (0.119208 + 0.061858) / 1.038416 = 0.17437.
        assert!((wilson_upper(10, 100, 1.96) - 0.17437).abs() < 1e-4);
        // 0 of 30 at z = 3.2905: z² / (n + z²) = 10.8274 / 40.8274 = 0.26520.
        assert!((wilson_upper(0, 30, 3.2905) - 0.26520).abs() < 1e-4);
        assert_eq!(wilson_upper(0, 0, 3.0), 1.0);
        assert_eq!(wilson_upper(50, 50, 3.0), 1.0);
    }

    #[test]
    fn wilson_lower_by_hand() {
        // 10 of 100 at z = 1.96: (0.119208 - 0.061858) / 1.038416 = 0.05523.
        assert!((wilson_lower(10, 100, 1.96) - 0.05523).abs() < 1e-4);
        assert_eq!(wilson_lower(0, 30, 3.0), 0.0);
        assert_eq!(wilson_lower(5, 0, 3.0), 0.0);
        // All hits: the lower bound is n / (n + z²).
        assert!((wilson_lower(50, 50, 2.0) - 50.0 / 54.0).abs() < 1e-12);
    }

    fn moments(count: u64, mean_s: f64, cv: f64) -> Moments {
        Moments { count, mean_s, cv }
    }

    /// Ten agents, 50 minutes left, 100 hits in 1,000 dials; times measured on 100 samples
    /// each with a coefficient of variation of 0.5.
    fn outlook() -> ShiftOutlook {
        ShiftOutlook {
            agents: 10,
            remaining_s: 3000.0,
            hits: 100,
            dials: 1000,
            talk: moments(100, 60.0, 0.5),
            after_call_work: moments(100, 15.0, 0.5),
            dial_to_answer: moments(100, 9.0, 0.5),
            dial_to_miss: moments(100, 20.0, 0.5),
        }
    }

    #[test]
    fn shift_credit_by_hand() {
        let z = 2.0;
        // p- = (0.1 + 0.002 - 2 sqrt(0.00009 + 0.000001)) / 1.004 = (0.102 - 0.019079) / 1.004
        // = 0.082591; each mean bound is mean * (1 + 2 * 0.5 / 10) = 1.1 mean, so a cycle is
        // 1.1 (60 + 15 + 9 + (1 / p- - 1) 20) = 1.1 (84 + 222.16) = 336.78 s; mu = 10 * 3000
        // / 336.78 = 89.08, and mu - 2 sqrt(mu) = 70.20.
        let p = wilson_lower(100, 1000, z);
        assert!((p - 0.082591).abs() < 1e-5, "{p}");
        let cycle = 1.1 * (84.0 + (1.0 / p - 1.0) * 20.0);
        let mu = 10.0 * 3000.0 / cycle;
        assert!((mu - 89.08).abs() < 0.05, "{mu}");
        assert_eq!(shift_credit(&outlook(), z), 70);
        // Nothing without the inputs the bound needs.
        for o in [
            ShiftOutlook { agents: 0, ..outlook() },
            ShiftOutlook { remaining_s: 0.0, ..outlook() },
            ShiftOutlook { remaining_s: f64::NAN, ..outlook() },
            ShiftOutlook { dials: HIT_MIN_DIALS - 1, hits: 3, ..outlook() },
            ShiftOutlook { hits: 0, ..outlook() },
            ShiftOutlook { talk: moments(CREDIT_MIN_SAMPLES - 1, 60.0, 0.5), ..outlook() },
            ShiftOutlook { dial_to_miss: moments(CREDIT_MIN_SAMPLES - 1, 20.0, 0.5), ..outlook() },
            // Too short a rest of the shift: mu below z² has no lower bound above 0.
            ShiftOutlook { remaining_s: 100.0, ..outlook() },
        ] {
            assert_eq!(shift_credit(&o, z), 0, "{o:?}");
        }
        // No wrap-up measured (a group without it) counts as none.
        assert!(shift_credit(&ShiftOutlook { after_call_work: Moments::default(), ..outlook() }, z) > 70);
        // In `hard` mode nothing is credited.
        assert_eq!(governor(ComplianceMode::Hard).shift_credit(&outlook()), 0);
        assert!(governor(ComplianceMode::Confidence).shift_credit(&outlook()) > 0);
    }

    #[test]
    fn shift_credit_grows_with_the_shift_and_shrinks_with_doubt() {
        let z = 3.29;
        let base = shift_credit(&outlook(), z);
        assert!(base > 0);
        assert!(shift_credit(&ShiftOutlook { remaining_s: 6000.0, ..outlook() }, z) > base);
        assert!(shift_credit(&ShiftOutlook { agents: 20, ..outlook() }, z) > base);
        // Fewer samples, more spread or a higher confidence: less credit.
        assert!(shift_credit(&ShiftOutlook { hits: 10, dials: 100, ..outlook() }, z) < base);
        assert!(shift_credit(&ShiftOutlook { talk: moments(100, 60.0, 2.0), ..outlook() }, z) < base);
        assert!(shift_credit(&outlook(), 4.0) < base);
        // Never more than the expected answers at the measured means.
        let expected = 10.0 * 3000.0 / (60.0 + 15.0 + 9.0 + 9.0 * 20.0);
        assert!((base as f64) < expected, "{base} vs {expected}");
    }

    fn governor(mode: ComplianceMode) -> Governor {
        Governor::new(&PacingConfig { compliance_mode: mode, ..PacingConfig::default() })
    }

    fn calls(in_flight: u32, waiting: u32) -> CallCounts {
        CallCounts { in_flight, waiting }
    }

    #[test]
    fn confidence_bound_by_hand() {
        let g = governor(ComplianceMode::Confidence);
        // Until enough dials have a result, p+ = 1: the hard rule plus what the ready agents'
        // answered calls pay for. 20 ready, allowance 10: x = 10 + floor(20 / 0.97) = 30.
        g.observe_hits(2, 29);
        assert_eq!(g.hit_upper(), 1.0);
        assert_eq!(g.dial_limit(Some(10), 20, calls(5, 0)), Some(25));
        // 1,000 of 10,000 dials answered: Wilson at 99.95% gives p+ = 0.11031 (rounded up to
        // 1/65,536), and x = 30: the binomial quantile allows more calls in flight.
        g.observe_hits(1000, 10_000);
        let p = g.hit_upper();
        assert!((0.110308..0.110308 + 2.0 / 65_536.0).contains(&p), "{p}");
        let n = max_calls(30, p, g.z, g.tail);
        assert!(tail_ref(30, n, p) <= 0.0005 && tail_ref(30, n + 1, p) > 0.0005);
        assert_eq!(g.dial_limit(Some(10), 20, calls(5, 0)), Some(n as u32 - 5));
        // Cached: the same answer again.
        assert_eq!(g.dial_limit(Some(10), 20, calls(5, 0)), Some(n as u32 - 5));
        // No budget left: only the ready agents' answers (x = 20 - 2 waiting = 18).
        let n0 = max_calls(18, p, g.z, g.tail);
        assert_eq!(g.dial_limit(Some(0), 20, calls(3, 2)), Some(n0 as u32 - 3));
        // More waiting than the window can absorb: nothing.
        assert_eq!(g.dial_limit(Some(0), 1, calls(3, 2)), Some(0));
        assert_eq!(g.dial_limit(None, 1, calls(3, 2)), None);
    }

    #[test]
    fn a_confidence_of_one_is_the_worst_case() {
        let g = Governor::new(&PacingConfig { compliance_confidence: 1.0, ..PacingConfig::default() });
        g.observe_hits(100, 1000);
        assert_eq!(g.hit_upper(), 1.0);
        // Hard: 7 ready + 10 allowed - 12 outstanding.
        assert_eq!(g.dial_limit(Some(10), 7, calls(10, 2)), Some(5));
    }

    #[test]
    fn confidence_never_allows_fewer_than_hard() {
        let hard = governor(ComplianceMode::Hard);
        let conf = governor(ComplianceMode::Confidence);
        hard.observe_hits(30, 1000);
        assert_eq!(hard.hit_upper(), 1.0);
        for (hits, dials) in [(0, 0), (30, 1000), (900, 1000)] {
            conf.observe_hits(hits, dials);
            for allowance in [0, 1, 5, 70, 400] {
                for ready in [0, 1, 7, 300] {
                    for (f, wt) in [(0, 0), (10, 0), (200, 3), (5000, 0)] {
                        let h = hard.dial_limit(Some(allowance), ready, calls(f, wt));
                        let c = conf.dial_limit(Some(allowance), ready, calls(f, wt));
                        assert!(c >= h, "{hits}/{dials} {allowance} {ready} {f} {wt}: {c:?} < {h:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn budget_formula_keeps_the_cap_for_every_outcome_within_it() {
        // For every outcome with W + X <= x, the window stays at or under the cap.
        for cap in [0.01, 0.03, 0.1] {
            for (abandoned, answered) in [(0, 0), (0, 50), (3, 100), (20, 1000), (29, 1000)] {
                let allowance = uncovered_allowance(cap, w(abandoned, answered)).unwrap();
                for ready in 0..40u64 {
                    let absorbed = if allowance == 0 {
                        ready
                    } else {
                        (ready as f64 / (1.0 - cap) - 1e-9).floor() as u64
                    };
                    let x = allowance + absorbed;
                    for answers in 0..=x {
                        let abandons = answers.saturating_sub(ready);
                        let a = abandoned + abandons;
                        let n = answered + answers;
                        assert!(
                            a as f64 <= cap * n as f64 + 1e-9 || abandons == 0,
                            "cap {cap} {abandoned}/{answered} ready {ready} answers {answers}"
                        );
                    }
                }
            }
        }
    }

    /// A tiny deterministic generator for the Monte Carlo checks (SplitMix64).
    struct Mix(u64);

    impl Mix {
        fn unit(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn poisson_binomial(ps: &[f64]) -> Vec<f64> {
        let mut pmf = vec![1.0];
        for &p in ps {
            pmf.push(0.0);
            for j in (1..pmf.len()).rev() {
                pmf[j] = pmf[j] * (1.0 - p) + pmf[j - 1] * p;
            }
            pmf[0] *= 1.0 - p;
        }
        pmf
    }

    #[test]
    fn joint_tail_matches_enumeration() {
        use statrs::distribution::Discrete;
        let freed = poisson_binomial(&[0.9, 0.5, 0.2, 0.05]);
        for n in [0u64, 1, 3, 10, 40] {
            for p in [0.1, 0.3, 0.6] {
                for y in [-3i64, -1, 0, 1, 2, 7] {
                    let x_dist = Binomial::new(p, n).unwrap();
                    let mut want = 0.0;
                    for (f, pf) in freed.iter().enumerate() {
                        for x in 0..=n {
                            if x as i64 - f as i64 > y {
                                want += pf * x_dist.pmf(x);
                            }
                        }
                    }
                    let got = joint_tail(n, p, y, &freed);
                    assert!((got - want).abs() < 1e-12, "n={n} p={p} y={y}: {got} vs {want}");
                }
            }
        }
        // No busy agent: the binomial tail alone.
        assert!((joint_tail(35, 0.1, 10, &[1.0]) - tail_ref(10, 35, 0.1)).abs() < 1e-12);
    }

    #[test]
    fn busy_agents_about_to_be_free_allow_more_calls_at_the_same_risk() {
        let g = governor(ComplianceMode::Confidence);
        // 100 of 1,000 dials answered: p+ ≈ 0.136 at 99.95%.
        g.observe_hits(100, 1000);
        let p = g.hit_upper();
        // An empty window (no budget), one agent ready, nothing in progress: with the ready
        // agent alone, one call (two answer together with probability p+² > 0.05%).
        let without = g.dial_limit(Some(0), 1, calls(0, 0)).unwrap();
        assert_eq!(without, 1);
        // Six agents deep in wrap-up, each free within the horizon with probability 0.97.
        let freed = poisson_binomial(&[0.97; 6]);
        let with = g.dial_limit_freed(Some(0), 1, calls(0, 0), &freed, 100).unwrap();
        assert!(with >= 8, "{with}");
        // The limit is the edge: its tail within α/2, one more call past it.
        let n = u64::from(with);
        assert!(joint_tail(n, p, 1, &freed) <= g.tail);
        assert!(joint_tail(n + 1, p, 1, &freed) > g.tail);
        // Monte Carlo at the bound's own hit ratio: answers beyond the ready agent and the
        // freed ones come at most at the stated rate (an error in the sum or the search
        // shows as a count far above it).
        let mut rng = Mix(7);
        let draws = 400_000;
        let mut over = 0u32;
        for _ in 0..draws {
            let x = (0..n).filter(|_| rng.unit() < p).count() as i64;
            let f = (0..6).filter(|_| rng.unit() < 0.97).count() as i64;
            over += u32::from(x - f > 1);
        }
        let expected = g.tail * f64::from(draws);
        assert!(f64::from(over) <= expected + 4.0 * expected.sqrt(), "{over} > {expected}");
        // The wanted dials only steer the search; the answer is the same from anywhere.
        for wanted in [0, 3, 8, 50, 5000] {
            assert_eq!(g.dial_limit_freed(Some(0), 1, calls(0, 0), &freed, wanted), Some(with));
        }
        // Calls in flight count against it; waiting ones too, but freed agents take them.
        assert_eq!(g.dial_limit_freed(Some(0), 1, calls(3, 0), &freed, 100), Some(with - 3));
        assert_eq!(g.dial_limit(Some(0), 1, calls(0, 2)), Some(0));
        assert!(g.dial_limit_freed(Some(0), 1, calls(0, 2), &freed, 100).unwrap() > 0);
        // Never below the ready-agent bound, whatever the busy agents; `hard` ignores them.
        let unlikely = poisson_binomial(&[0.01; 6]);
        assert_eq!(g.dial_limit_freed(Some(0), 1, calls(0, 0), &unlikely, 100), Some(without));
        let hard = governor(ComplianceMode::Hard);
        assert_eq!(
            hard.dial_limit_freed(Some(0), 1, calls(0, 0), &freed, 100),
            hard.dial_limit(Some(0), 1, calls(0, 0))
        );
        assert_eq!(g.dial_limit_freed(None, 1, calls(0, 0), &freed, 100), None);
    }

    /// `P(X = k)` for `X ~ BB(n, a, b)` straight from its definition
    /// `C(n, k) B(k + a, n - k + b) / B(a, b)`, the reference for the recursion.
    fn beta_binomial_pmf(k: u64, n: u64, a: f64, b: f64) -> f64 {
        use statrs::function::beta::ln_beta;
        use statrs::function::factorial::ln_binomial;
        (ln_binomial(n, k) + ln_beta(k as f64 + a, (n - k) as f64 + b) - ln_beta(a, b)).exp()
    }

    #[test]
    fn posterior_tail_matches_enumeration() {
        let freed = poisson_binomial(&[0.9, 0.5, 0.2, 0.05]);
        for (a, b) in [(0.5, 0.5), (3.5, 27.5), (100.5, 900.5), (600.5, 400.5)] {
            for n in [0u64, 1, 3, 10, 40] {
                for y in [-3i64, -1, 0, 1, 2, 7] {
                    let mut want = 0.0;
                    for (f, pf) in freed.iter().enumerate() {
                        for x in 0..=n {
                            if x as i64 - f as i64 > y {
                                want += pf * beta_binomial_pmf(x, n, a, b);
                            }
                        }
                    }
                    let got = joint_tail_posterior(n, a, b, y, &freed);
                    assert!((got - want).abs() < 1e-10, "n={n} a={a} b={b} y={y}: {got} vs {want}");
                }
            }
        }
        // A posterior concentrated at p is the binomial at p.
        let (a, b) = (1e7 * 0.1, 1e7 * 0.9);
        for y in [0i64, 2, 5] {
            let got = joint_tail_posterior(30, a, b, y, &freed);
            let want = joint_tail(30, 0.1, y, &freed);
            assert!((got - want).abs() < 1e-4 * want, "y={y}: {got} vs {want}");
        }
    }

    #[test]
    fn posterior_bound_by_hand() {
        let g = governor(ComplianceMode::Posterior);
        let none = [1.0];
        // Fewer dials than HIT_MIN_DIALS: no posterior, the ready-agent limit.
        g.observe_hits(2, 29);
        let c = calls(0, 0);
        assert_eq!(g.dial_limit_freed(Some(1), 0, c, &none, 50), g.dial_limit(Some(1), 0, c));
        // 100 of 1,000: a = 100.5, b = 900.5. One answer allowed (allowance 1, nobody ready):
        // two calls are both answered with probability a (a + 1) / ((a + b)(a + b + 1))
        // = 100.5 * 101.5 / (1001 * 1002) = 0.01017 > 0.05%: one call.
        g.observe_hits(100, 1000);
        assert!((joint_tail_posterior(2, 100.5, 900.5, 1, &none) - 0.010170).abs() < 1e-6);
        assert_eq!(g.dial_limit_freed(Some(1), 0, c, &none, 50), Some(1));
        // Four answers allowed: the limit is the last n with P(X > 4) <= 0.05%.
        let n = g.dial_limit_freed(Some(4), 0, c, &none, 50).unwrap();
        let tail = |n: u32| joint_tail_posterior(u64::from(n), 100.5, 900.5, 4, &none);
        assert!(tail(n) <= g.tail && tail(n + 1) > g.tail, "{n}: {} {}", tail(n), tail(n + 1));
        // At the same tail, the posterior allows more than the binomial at the Wilson bound
        // (p⁺ = 0.136 for 100 of 1,000 at 99.95%): here 8 calls against 6.
        assert_eq!((n, g.dial_limit(Some(4), 0, c)), (8, Some(6)));
        // Busy agents about to be free allow more, calls in flight count against it.
        let freed = poisson_binomial(&[0.97; 6]);
        let with = g.dial_limit_freed(Some(4), 0, c, &freed, 50).unwrap();
        assert!(with > n + 20, "{with}");
        assert_eq!(g.dial_limit_freed(Some(4), 0, calls(5, 0), &freed, 50), Some(with - 5));
        assert_eq!(g.dial_limit_freed(None, 0, c, &freed, 50), None);
    }

    proptest::proptest! {
        /// In `posterior` mode, whatever the window, the agents and the busy agents'
        /// chances: never below the ready-agent limit, and a larger limit keeps the
        /// predictive tail within `α/2` (`g.tail`), and one call more would not.
        #[test]
        fn posterior_limit_keeps_its_tail(
            allowance in 0u64..6,
            ready in 0u32..6,
            in_flight in 0u32..40,
            waiting in 0u32..4,
            hits in 20u64..600,
            chances in proptest::collection::vec(0.0f64..1.0, 0..30),
        ) {
            let g = governor(ComplianceMode::Posterior);
            g.observe_hits(hits, 1000);
            let freed = poisson_binomial(&chances);
            let c = calls(in_flight, waiting);
            let without = g.dial_limit(Some(allowance), ready, c).unwrap();
            let with = g.dial_limit_freed(Some(allowance), ready, c, &freed, 50).unwrap();
            proptest::prop_assert!(with >= without);
            if with > without {
                let y = g.answers_allowed(allowance, ready, waiting);
                let n = u64::from(in_flight) + u64::from(with);
                let (a, b) = (hits as f64 + 0.5, (1000 - hits) as f64 + 0.5);
                proptest::prop_assert!(joint_tail_posterior(n, a, b, y, &freed) <= g.tail);
                proptest::prop_assert!(joint_tail_posterior(n + 1, a, b, y, &freed) > g.tail);
            }
        }
    }

    proptest::proptest! {
        /// Whatever the window, the agents and the busy agents' chances: the limit with
        /// busy agents counted is never below the ready-agent limit, and its calls in flight
        /// keep the joint tail within `α/2` (unless they are the ready-agent limit's own).
        #[test]
        fn busy_agent_limit_keeps_its_tail(
            allowance in 0u64..6,
            ready in 0u32..6,
            in_flight in 0u32..40,
            waiting in 0u32..4,
            hits in 20u64..600,
            chances in proptest::collection::vec(0.0f64..1.0, 0..30),
        ) {
            let g = governor(ComplianceMode::Confidence);
            g.observe_hits(hits, 1000);
            let freed = poisson_binomial(&chances);
            let c = calls(in_flight, waiting);
            let without = g.dial_limit(Some(allowance), ready, c).unwrap();
            let with = g.dial_limit_freed(Some(allowance), ready, c, &freed, 50).unwrap();
            proptest::prop_assert!(with >= without);
            if with > without {
                let y = g.answers_allowed(allowance, ready, waiting);
                let n = u64::from(in_flight) + u64::from(with);
                proptest::prop_assert!(joint_tail(n, g.hit_upper(), y, &freed) <= g.tail);
            }
        }
    }
}
