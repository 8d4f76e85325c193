//! Overdial tracking: how many answered-live calls reached no agent, over several horizons.
//!
//! An overdial is an answered-live call that was dropped or abandoned before it reached an
//! agent. Every resolved answered-live call (connected or abandoned) is recorded once, and the
//! tracker keeps, all lock-free and readable at any time:
//! - the last N answered calls (a ring of bits indexed by a sequence number),
//! - the last T seconds, the control window and the regulatory (compliance) window
//!   (bucketed sliding windows, see [`super::window`]),
//! - the current day (UTC day shifted by the configured offset) and the whole campaign.

use std::time::Duration;

use super::atomic::{AtomicU64, CachePadded, Ordering, update_u64};
use super::window::Window;
use crate::time::Time;

/// Abandoned and answered counts over one horizon, and their ratio.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OverdialCount {
    /// Answered-live calls that reached no agent (dropped or abandoned).
    pub abandoned: u64,
    /// Answered-live calls resolved (connected or abandoned).
    pub answered: u64,
}

impl OverdialCount {
    /// `abandoned / answered`, or 0 when nothing was answered.
    pub fn rate(&self) -> f64 {
        if self.answered == 0 { 0.0 } else { self.abandoned as f64 / self.answered as f64 }
    }
}

/// Overdial counts over every horizon the tracker keeps, read at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OverdialStats {
    /// The last `overdial_last_n` answered calls (fewer at the start of the campaign).
    pub last_n: OverdialCount,
    /// The last `overdial_last_t` of time.
    pub last_t: OverdialCount,
    /// The current day (midnight at `day_utc_offset_s`).
    pub day: OverdialCount,
    /// Since the pacer was created.
    pub campaign: OverdialCount,
    /// The regulatory window `compliance_window` that the governor enforces.
    pub compliance: OverdialCount,
}

/// Buckets of the time windows; the window slides by 1/16 of its length.
pub(crate) const WINDOW_BUCKETS: usize = 16;

const DAY_US: i64 = 86_400_000_000;
const FIELD24: u64 = (1 << 24) - 1;

#[derive(Debug)]
pub(crate) struct OverdialTracker {
    /// Sequence number of the next answered call; the last-N ring is indexed by it.
    seq: CachePadded<AtomicU64>,
    /// One bit per answered call of the last `n` (1 = abandoned), in 64-bit words.
    ring: Box<[AtomicU64]>,
    n: u64,
    last_t: Window,
    control: Window,
    compliance: Window,
    /// `day (16 bits) | abandoned (24) | answered (24)`, reset when the day changes.
    day: CachePadded<AtomicU64>,
    day_offset_us: i64,
    /// `abandoned (32) | answered (32)` since the start.
    campaign: CachePadded<AtomicU64>,
    /// Records completed (incremented after all of a record's writes).
    done: CachePadded<AtomicU64>,
    /// The governor's allowance, cached: `key (40 bits) | allowance (24)`, the key being the
    /// compliance slot and the completed-record count (20 bits each) it was computed at.
    allowance_cache: CachePadded<AtomicU64>,
}

impl OverdialTracker {
    pub(crate) fn new(
        last_n: u32,
        last_t: Duration,
        control: Duration,
        compliance: Duration,
        day_utc_offset_s: i32,
    ) -> OverdialTracker {
        let n = u64::from(last_n.clamp(1, 65_536));
        OverdialTracker {
            seq: CachePadded::new(AtomicU64::new(0)),
            ring: (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            n,
            last_t: Window::new(last_t, WINDOW_BUCKETS, 24),
            control: Window::new(control, WINDOW_BUCKETS, 24),
            compliance: Window::new(compliance, WINDOW_BUCKETS, 24),
            day: CachePadded::new(AtomicU64::new(0)),
            day_offset_us: i64::from(day_utc_offset_s) * 1_000_000,
            campaign: CachePadded::new(AtomicU64::new(0)),
            done: CachePadded::new(AtomicU64::new(0)),
            allowance_cache: CachePadded::new(AtomicU64::new(u64::MAX)),
        }
    }

    fn day_number(&self, now: Time) -> u64 {
        let local = now.as_micros() as i64 + self.day_offset_us;
        (local.div_euclid(DAY_US) as u64) & 0xFFFF
    }

    /// Records one resolved answered-live call.
    pub(crate) fn record(&self, abandoned: bool, now: Time) {
        let ab = u64::from(abandoned);
        // `Relaxed`: the sequence number only picks the ring slot; the bit itself is published
        // by the RMW on its word, which readers load with `Acquire`.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let pos = seq % self.n;
        let word = &self.ring[(pos / 64) as usize];
        let bit = 1u64 << (pos % 64);
        if abandoned {
            word.fetch_or(bit, Ordering::AcqRel);
        } else {
            word.fetch_and(!bit, Ordering::AcqRel);
        }
        self.last_t.add(now, ab, 1);
        self.control.add(now, ab, 1);
        self.compliance.add(now, ab, 1);
        let day = self.day_number(now);
        update_u64(&self.day, |w| {
            let (mut a, mut n) = if w >> 48 == day { ((w >> 24) & FIELD24, w & FIELD24) } else { (0, 0) };
            a = (a + ab).min(FIELD24);
            n = (n + 1).min(FIELD24);
            Some((day << 48) | (a << 24) | n)
        });
        update_u64(&self.campaign, |w| {
            let a = ((w >> 32) + ab).min(u64::from(u32::MAX));
            let n = ((w & 0xFFFF_FFFF) + 1).min(u64::from(u32::MAX));
            Some((a << 32) | n)
        });
        // `Release`: a reader that sees this count sees every write above.
        self.done.fetch_add(1, Ordering::Release);
    }

    /// Turns one answered call already recorded as connected into an abandoned one: the
    /// call was routed to an agent (and counted then) but the customer hung up before it got
    /// there. The answered count stays as it is; only the abandoned count grows. The last-N
    /// ring is left alone, since the call's own bit may have been overwritten since and
    /// setting another call's would be wrong; every time-based horizon counts the abandon.
    pub(crate) fn connected_was_abandoned(&self, now: Time) {
        self.last_t.add(now, 1, 0);
        self.control.add(now, 1, 0);
        self.compliance.add(now, 1, 0);
        let day = self.day_number(now);
        update_u64(&self.day, |w| {
            // A connect counted on an earlier day has no answered call of today's to go with.
            (w >> 48 == day).then(|| {
                let (a, n) = ((w >> 24) & FIELD24, w & FIELD24);
                (day << 48) | ((a + 1).min(n) << 24) | n
            })
        });
        update_u64(&self.campaign, |w| {
            let (a, n) = (w >> 32, w & 0xFFFF_FFFF);
            Some(((a + 1).min(n) << 32) | n)
        });
        // `Release`: as in `record`, a reader that sees this count sees the writes above (and
        // the governor's cached allowance, keyed on it, is worked out again).
        self.done.fetch_add(1, Ordering::Release);
    }

    /// The compliance governor's allowance of uncovered calls for `cap` (the same cap at
    /// every call: it is fixed for a pacer), or `None` if the cap is off.
    ///
    /// Summing the window's buckets costs more than the rest of a decision, so the result is
    /// cached with the bucket slot and the number of completed records it was computed from;
    /// any new record or a move to the next slot (when old counts may expire) makes the cache
    /// miss. The completed-record count is loaded (`Acquire`) before the buckets are summed:
    /// a record completed before that load is in the sum, and one completed after it changes
    /// the count, so a cached value never misses an abandon it should include. A record
    /// still in progress may be half in the sum (its abandon counted before its answer, which
    /// only lowers the allowance) until it completes and the cache misses.
    #[inline]
    pub(crate) fn uncovered_allowance(&self, now: Time, cap: f64) -> Option<u64> {
        if cap.is_nan() || cap >= 1.0 {
            return None;
        }
        let done = self.done.load(Ordering::Acquire);
        let slot = self.compliance.slot(now);
        let key = ((slot & 0xF_FFFF) << 20) | (done & 0xF_FFFF);
        // `Acquire` pairs with the `Release` store below (in any thread).
        let cached = self.allowance_cache.load(Ordering::Acquire);
        if cached >> 24 == key {
            return Some(cached & 0xFF_FFFF);
        }
        let (abandoned, answered) = self.compliance.sum_at(slot);
        let allowance = super::governor::uncovered_allowance(cap, OverdialCount { abandoned, answered })
            .unwrap_or(0)
            .min(0xFF_FFFF);
        self.allowance_cache.store((key << 24) | allowance, Ordering::Release);
        Some(allowance)
    }

    /// [`OverdialTracker::uncovered_allowance`] with `credit` answers still to come counted
    /// in the window (the rest of the shift, see `governor.rs`): `floor((c (N + credit) - A)
    /// / (1 - c))`. Sums the window (a few loads) instead of using the cache, whose word has
    /// no room for the signed slack.
    pub(crate) fn uncovered_allowance_credited(&self, now: Time, cap: f64, credit: u64) -> Option<u64> {
        if cap.is_nan() || cap >= 1.0 {
            return None;
        }
        let (abandoned, answered) = self.compliance.sum(now);
        let answered = answered.saturating_add(credit);
        Some(super::governor::uncovered_allowance(cap, OverdialCount { abandoned, answered }).unwrap_or(0))
    }

    /// The compliance window's counts (what the governor enforces).
    #[inline]
    pub(crate) fn compliance(&self, now: Time) -> OverdialCount {
        let (abandoned, answered) = self.compliance.sum(now);
        OverdialCount { abandoned, answered }
    }

    /// The control window's counts (what the closed loop corrects from).
    pub(crate) fn control(&self, now: Time) -> OverdialCount {
        let (abandoned, answered) = self.control.sum(now);
        OverdialCount { abandoned, answered }
    }

    /// The control window's most recent part holding at least `min_answered` answers (the
    /// whole window when it holds fewer), with that part's length.
    pub(crate) fn control_recent(&self, now: Time, min_answered: u64) -> (OverdialCount, Duration) {
        let (abandoned, answered, buckets) = self.control.sum_recent(now, min_answered);
        (OverdialCount { abandoned, answered }, self.control.bucket_width() * buckets.max(1) as u32)
    }

    /// Campaign totals.
    pub(crate) fn campaign(&self) -> OverdialCount {
        // `Acquire` pairs with the CAS in `record`.
        let w = self.campaign.load(Ordering::Acquire);
        OverdialCount { abandoned: w >> 32, answered: w & 0xFFFF_FFFF }
    }

    pub(crate) fn stats(&self, now: Time) -> OverdialStats {
        let recorded = self.seq.load(Ordering::Acquire);
        let answered = recorded.min(self.n);
        let mut abandoned = 0u64;
        for (i, word) in self.ring.iter().enumerate() {
            let mut bits = word.load(Ordering::Acquire);
            // Only the first `answered` positions of the ring are in use early on; the last
            // word may also be only partly used when n is not a multiple of 64.
            let used = answered.saturating_sub(i as u64 * 64).min(64);
            if used < 64 {
                bits &= (1u64 << used) - 1;
            }
            abandoned += u64::from(bits.count_ones());
        }
        let (lt_a, lt_n) = self.last_t.sum(now);
        let day = self.day.load(Ordering::Acquire);
        let day_count = if day >> 48 == self.day_number(now) {
            OverdialCount { abandoned: (day >> 24) & FIELD24, answered: day & FIELD24 }
        } else {
            OverdialCount::default()
        };
        OverdialStats {
            last_n: OverdialCount { abandoned, answered },
            last_t: OverdialCount { abandoned: lt_a, answered: lt_n },
            day: day_count,
            campaign: self.campaign(),
            compliance: self.compliance(now),
        }
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_over_every_horizon() {
        let tr = OverdialTracker::new(
            4,
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(3600),
            0,
        );
        let t0 = Time::from_unix_s(1_790_000_000);
        // Six answered calls: abandoned, ok, ok, abandoned, ok, ok.
        for (i, ab) in [true, false, false, true, false, false].into_iter().enumerate() {
            tr.record(ab, t0 + Duration::from_secs(i as u64 * 20));
        }
        let now = t0 + Duration::from_secs(100);
        let s = tr.stats(now);
        // Last 4: false, true, false, false.
        assert_eq!(s.last_n, OverdialCount { abandoned: 1, answered: 4 });
        assert_eq!(s.campaign, OverdialCount { abandoned: 2, answered: 6 });
        assert_eq!(s.compliance, OverdialCount { abandoned: 2, answered: 6 });
        // The last 60 s (granularity 60/16 s) at t=100 hold the calls of t=60, 80, 100.
        assert_eq!(s.last_t, OverdialCount { abandoned: 1, answered: 3 });
        assert!((s.campaign.rate() - 1.0 / 3.0).abs() < 1e-12);
        // 1,790,000,000 s is 20,717 days + 51,200 s: the day ends 35,200 s later.
        assert_eq!(s.day.answered, 6);
        let tomorrow = t0 + Duration::from_secs(35_200);
        assert_eq!(tr.stats(tomorrow).day, OverdialCount::default());
        assert_eq!(tr.stats(tomorrow).campaign.answered, 6);
    }

    #[test]
    fn cached_allowance_follows_every_record_and_expiry() {
        let hour = Duration::from_secs(3600);
        let tr = OverdialTracker::new(10, hour, hour, hour, 0);
        let t0 = Time::from_unix_s(1_790_000_000);
        assert_eq!(tr.uncovered_allowance(t0, 0.1), Some(0));
        for _ in 0..100 {
            tr.record(false, t0);
        }
        // 10% of 100 = 10 allowed abandons: 10 / 0.9 = 11.1 -> 11; cached on the second read.
        assert_eq!(tr.uncovered_allowance(t0, 0.1), Some(11));
        assert_eq!(tr.uncovered_allowance(t0, 0.1), Some(11));
        tr.record(true, t0);
        // 101 answered, 1 abandoned: (10.1 - 1) / 0.9 = 10.1 -> 10.
        assert_eq!(tr.uncovered_allowance(t0, 0.1), Some(10));
        // An hour later everything has expired, without any new record.
        assert_eq!(tr.uncovered_allowance(t0 + hour, 0.1), Some(0));
        assert_eq!(tr.uncovered_allowance(t0, 1.0), None);
    }

    #[test]
    fn last_n_early_in_the_campaign_counts_only_what_happened() {
        let tr = OverdialTracker::new(
            100,
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(60),
            0,
        );
        let t0 = Time::from_unix_s(1_790_000_000);
        tr.record(true, t0);
        tr.record(false, t0);
        assert_eq!(tr.stats(t0).last_n, OverdialCount { abandoned: 1, answered: 2 });
    }
}
