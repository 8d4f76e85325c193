//! Lock-free sliding windows of counts: the building block of the estimators, the overdial
//! tracker and the compliance governor.
//!
//! A window of length `W` is a ring of `B` buckets, each covering `W / B` of time. Each bucket
//! is one 64-bit word holding `(epoch, a, b)`: the bucket's slot number modulo 2^16 and two
//! saturating counters. Adding to a bucket whose epoch is stale resets it first, in the same
//! compare-and-swap, so an update is never lost and never lands in an expired bucket. Reading
//! sums the buckets whose epoch falls inside the last `B` slots. The window therefore slides
//! with a granularity of `W / B` (the classic "bucketed sliding window" of rate limiters and
//! of Prometheus-style summaries).
//!
//! The epoch is 16 bits: a bucket left untouched for exactly a multiple of 65,536 slots would
//! be read as current. With the default windows that needs weeks of total silence followed by
//! a read at one exact instant; the error would be one bucket of old counts.

use std::time::Duration;

use super::atomic::{AtomicU64, Ordering, update_u64};
use crate::time::Time;

const EPOCH_BITS: u32 = 16;
const EPOCH_MASK: u64 = (1 << EPOCH_BITS) - 1;

/// A sliding window of two counters `(a, b)`, `a` having `a_bits` bits and `b` the rest of
/// the 48 bits left after the epoch.
#[derive(Debug)]
pub(crate) struct Window {
    buckets: Box<[AtomicU64]>,
    width_us: u64,
    a_bits: u32,
    /// The slot of the latest `now` seen: a hint that spares the 64-bit division (tens of
    /// cycles) on the hot path while time stays inside one bucket.
    last_slot: AtomicU64,
}

impl Window {
    /// A window of `length` split into `n_buckets` buckets (rounded up to a power of two, at
    /// most 2^16); counter `a` gets `a_bits` bits.
    pub(crate) fn new(length: Duration, n_buckets: usize, a_bits: u32) -> Window {
        debug_assert!(a_bits > 0 && a_bits < 48);
        let n_buckets = n_buckets.clamp(1, 1 << EPOCH_BITS).next_power_of_two();
        let length_us = u64::try_from(length.as_micros()).unwrap_or(u64::MAX).max(n_buckets as u64);
        Window {
            buckets: (0..n_buckets).map(|_| AtomicU64::new(0)).collect(),
            width_us: length_us / n_buckets as u64,
            a_bits,
            last_slot: AtomicU64::new(0),
        }
    }

    fn b_bits(&self) -> u32 {
        64 - EPOCH_BITS - self.a_bits
    }

    /// The bucket slot of `now`: `now / width`.
    #[inline]
    pub(crate) fn slot(&self, now: Time) -> u64 {
        let t = now.as_micros();
        // `Relaxed`: only a hint, checked here; any value read gives the right answer.
        let hint = self.last_slot.load(Ordering::Relaxed);
        let start = hint.saturating_mul(self.width_us);
        if t >= start && t - start < self.width_us {
            return hint;
        }
        let slot = t / self.width_us;
        self.last_slot.store(slot, Ordering::Relaxed);
        slot
    }

    /// Adds `(da, db)` to the bucket of `now`, saturating each counter at its maximum.
    #[inline]
    pub(crate) fn add(&self, now: Time, da: u64, db: u64) {
        self.add_at(self.slot(now), da, db);
    }

    /// [`Window::add`] for a slot already computed (by a window of the same bucket width).
    #[inline]
    pub(crate) fn add_at(&self, slot: u64, da: u64, db: u64) {
        let epoch = slot & EPOCH_MASK;
        let bucket = &self.buckets[(slot & (self.buckets.len() as u64 - 1)) as usize];
        let a_max = (1u64 << self.a_bits) - 1;
        let b_max = (1u64 << self.b_bits()) - 1;
        let a_shift = EPOCH_BITS;
        let b_shift = EPOCH_BITS + self.a_bits;
        update_u64(bucket, |word| {
            let bucket_epoch = word & EPOCH_MASK;
            let (mut a, mut b) = if bucket_epoch == epoch {
                ((word >> a_shift) & a_max, word >> b_shift)
            } else if (bucket_epoch.wrapping_sub(epoch) & EPOCH_MASK) < (1 << (EPOCH_BITS - 1)) && word != 0 {
                // The bucket already holds a later lap: this sample is a full window old (a
                // caller whose clock lags far behind another's) and outside every window.
                return None;
            } else {
                // A stale bucket (an older lap of the ring) restarts from zero.
                (0, 0)
            };
            a = a.saturating_add(da).min(a_max);
            b = b.saturating_add(db).min(b_max);
            Some(epoch | (a << a_shift) | (b << b_shift))
        });
    }

    /// The sums `(a, b)` over the buckets inside the window ending at `now`.
    #[inline]
    pub(crate) fn sum(&self, now: Time) -> (u64, u64) {
        self.sum_at(self.slot(now))
    }

    /// [`Window::sum`] for a slot already computed.
    #[inline]
    pub(crate) fn sum_at(&self, slot: u64) -> (u64, u64) {
        let n = self.buckets.len() as u64;
        let a_max = (1u64 << self.a_bits) - 1;
        let (mut sum_a, mut sum_b) = (0u64, 0u64);
        for bucket in self.buckets.iter() {
            // `Acquire` pairs with the `AcqRel` CAS of `add`.
            let word = bucket.load(Ordering::Acquire);
            let age = (slot & EPOCH_MASK).wrapping_sub(word & EPOCH_MASK) & EPOCH_MASK;
            if age < n && word != 0 {
                sum_a += (word >> EPOCH_BITS) & a_max;
                sum_b += word >> (EPOCH_BITS + self.a_bits);
            }
        }
        (sum_a, sum_b)
    }
}

impl Window {
    /// The sums `(a, b)` over the most recent buckets of the window ending at `now`, newest
    /// first, stopping as soon as `b` reaches `min_b` (or the window ends), with the number of
    /// buckets summed (the current, partial one included).
    pub(crate) fn sum_recent(&self, now: Time, min_b: u64) -> (u64, u64, u64) {
        let slot = self.slot(now);
        let n = self.buckets.len() as u64;
        let a_max = (1u64 << self.a_bits) - 1;
        let (mut sum_a, mut sum_b) = (0u64, 0u64);
        for age in 0..n {
            let Some(s) = slot.checked_sub(age) else { return (sum_a, sum_b, age) };
            // `Acquire` pairs with the `AcqRel` CAS of `add`.
            let word = self.buckets[(s & (n - 1)) as usize].load(Ordering::Acquire);
            if word & EPOCH_MASK == s & EPOCH_MASK && word != 0 {
                sum_a += (word >> EPOCH_BITS) & a_max;
                sum_b += word >> (EPOCH_BITS + self.a_bits);
            }
            if sum_b >= min_b {
                return (sum_a, sum_b, age + 1);
            }
        }
        (sum_a, sum_b, n)
    }

    /// The width of one bucket.
    pub(crate) fn bucket_width(&self) -> Duration {
        Duration::from_micros(self.width_us)
    }
}

/// A windowed mean of durations: count in `a` (16 bits per bucket), sum of milliseconds in
/// `b` (32 bits per bucket), and a second window of the sum of squares (in units of
/// (100 ms)^2) for the coefficient of variation.
#[derive(Debug)]
pub(crate) struct WindowedMean {
    first: Window,
    second: Window,
}

/// What a [`WindowedMean`] holds at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    /// Samples in the window.
    pub(crate) count: u64,
    /// Their mean, in seconds.
    pub(crate) mean_s: f64,
    /// Their coefficient of variation (standard deviation / mean); 0 with fewer than 2.
    pub(crate) cv: f64,
}

impl WindowedMean {
    pub(crate) fn new(length: Duration, n_buckets: usize) -> WindowedMean {
        WindowedMean { first: Window::new(length, n_buckets, 16), second: Window::new(length, n_buckets, 8) }
    }

    /// Records one sample.
    #[inline]
    pub(crate) fn record(&self, now: Time, sample: Duration) {
        let ms = u64::try_from(sample.as_millis()).unwrap_or(u64::MAX);
        let deci = ms / 100;
        // Both windows have the same bucket width, so one slot serves both.
        let slot = self.first.slot(now);
        self.first.add_at(slot, 1, ms);
        self.second.add_at(slot, 1, deci.saturating_mul(deci));
    }

    /// The moments of the samples inside the window ending at `now`.
    pub(crate) fn moments(&self, now: Time) -> Moments {
        let slot = self.first.slot(now);
        let (count, sum_ms) = self.first.sum_at(slot);
        if count == 0 {
            return Moments { count: 0, mean_s: 0.0, cv: 0.0 };
        }
        let mean_s = sum_ms as f64 / 1000.0 / count as f64;
        let (_, sum_sq) = self.second.sum_at(slot);
        let mean_sq_s2 = sum_sq as f64 / 100.0 / count as f64;
        let var = (mean_sq_s2 - mean_s * mean_s).max(0.0);
        let cv = if count >= 2 && mean_s > 0.0 { var.sqrt() / mean_s } else { 0.0 };
        Moments { count, mean_s, cv }
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

    fn t(s: f64) -> Time {
        Time::from_secs_f64(1_000_000.0 + s)
    }

    #[test]
    fn recent_sums_stop_once_enough_is_counted() {
        // Buckets of 10 s: (1, 10) at 0 s, (2, 20) at 35 s, (1, 1) at 75 s.
        let w = Window::new(Duration::from_secs(80), 8, 24);
        w.add(t(0.0), 1, 10);
        w.add(t(35.0), 2, 20);
        w.add(t(75.0), 1, 1);
        assert_eq!(w.bucket_width(), Duration::from_secs(10));
        // One bucket suffices for 1; the 35 s one is four buckets back; all eight for more.
        assert_eq!(w.sum_recent(t(75.0), 1), (1, 1, 1));
        assert_eq!(w.sum_recent(t(75.0), 15), (3, 21, 5));
        assert_eq!(w.sum_recent(t(75.0), 1000), (4, 31, 8));
        assert_eq!(w.sum_recent(t(75.0), 1000), {
            let (a, b) = w.sum(t(75.0));
            (a, b, 8)
        });
    }

    #[test]
    fn window_sums_recent_buckets_and_forgets_old_ones() {
        let w = Window::new(Duration::from_secs(80), 8, 24);
        w.add(t(0.0), 1, 10);
        w.add(t(5.0), 2, 20);
        w.add(t(35.0), 1, 1);
        assert_eq!(w.sum(t(40.0)), (4, 31));
        // 80 s later the first bucket (slot of t=0) has left the window, the t=35 one has not.
        assert_eq!(w.sum(t(75.0)), (4, 31));
        assert_eq!(w.sum(t(80.0)), (1, 1));
        assert_eq!(w.sum(t(200.0)), (0, 0));
        // Writing into a lapped bucket resets it rather than adding to old counts.
        w.add(t(80.0), 1, 1);
        assert_eq!(w.sum(t(80.0)), (2, 2));
    }

    #[test]
    fn slot_hint_never_changes_the_answer() {
        let w = Window::new(Duration::from_secs(7), 3, 24);
        let width = 7_000_000 / 4;
        for t in [0u64, 1, width - 1, width, width + 1, 10 * width, 3, 10 * width - 1, u64::MAX / 2] {
            assert_eq!(w.slot(Time::from_micros(t)), t / width, "{t}");
        }
    }

    #[test]
    fn a_sample_a_lap_late_never_wipes_newer_counts() {
        let w = Window::new(Duration::from_secs(16), 16, 24);
        w.add(t(100.0), 1, 1);
        // A caller whose clock is 16 s behind maps to the same bucket, one lap earlier.
        w.add(t(84.0), 5, 5);
        assert_eq!(w.sum(t(100.0)), (1, 1));
        // A little behind (the previous bucket) is still counted.
        w.add(t(99.0), 1, 1);
        assert_eq!(w.sum(t(100.0)), (2, 2));
    }

    #[test]
    fn window_counters_saturate() {
        let w = Window::new(Duration::from_secs(8), 8, 8);
        w.add(t(0.0), 300, 1);
        assert_eq!(w.sum(t(0.0)), (255, 1));
    }

    #[test]
    fn mean_and_cv_of_durations() {
        let m = WindowedMean::new(Duration::from_secs(600), 8);
        assert_eq!(m.moments(t(0.0)).count, 0);
        for s in [10.0, 20.0, 30.0] {
            m.record(t(1.0), Duration::from_secs_f64(s));
        }
        let got = m.moments(t(2.0));
        assert_eq!(got.count, 3);
        assert!((got.mean_s - 20.0).abs() < 1e-9);
        // Population standard deviation of 10, 20, 30 is sqrt(200/3) = 8.165.
        assert!((got.cv - (200.0f64 / 3.0).sqrt() / 20.0).abs() < 1e-3, "{got:?}");
    }
}
