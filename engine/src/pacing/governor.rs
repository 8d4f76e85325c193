//! The compliance governor: the abandon-rate cap that no goal can override.
//!
//! Regulators cap abandoned / answered-live calls over a window (e.g. 3% over a day in the
//! UK's Ofcom persistent-misuse policy, over 30 days in the US FTC Telemarketing Sales Rule
//! §310.4(b)(4)(i)). The governor keeps the cap in the worst case, not on average:
//!
//! A call in progress is *covered* if an agent who is ready now can take it; with `ready`
//! agents ready and `outstanding` calls in progress (in flight or answered and waiting),
//! `max(0, outstanding - ready)` calls are uncovered and each might be answered and find no
//! agent. With `A` abandoned out of `N` answered over the window, `k` more abandons keep the
//! rate at or under the cap `c` while `(A + k) / (N + k) <= c`, i.e.
//! `k <= (c N - A) / (1 - c)`. So the governor allows new dials only up to
//! `ready + floor((c N - A) / (1 - c)) - outstanding`. Far from the cap that bound is loose;
//! near it, it falls to `ready - outstanding`: one call per agent ready now, which cannot
//! abandon as long as those agents take the calls. (An agent who leaves Ready while a call
//! counted on them is in flight can still cause an abandon the governor could not foresee;
//! it is counted at once and tightens the bound for every later decision.)

use super::overdial::OverdialCount;

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

/// The most new dials the governor allows now, given the allowance of uncovered calls
/// (`None` if the cap is off).
pub(crate) fn dial_limit(allowance: Option<u64>, ready: u32, outstanding: u32) -> Option<u32> {
    let limit = (u64::from(ready) + allowance?).saturating_sub(u64::from(outstanding));
    Some(limit.min(u64::from(u32::MAX)) as u32)
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

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
}
