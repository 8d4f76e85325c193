//! VICIdial's adaptive dial level (baseline, for benchmarking).
//!
//! Source: the behaviour of VICIdial's `bin/AST_VDadapt.pl` (the "ADAPT" dial methods) as
//! described in VICIdial's manager manual; reimplemented here from that description, not
//! from its code. The dial level is the number of lines kept dialing per active agent:
//!
//! - once a second a sample of ready agents, waiting customers and active agents is taken;
//! - every 15 s, from the averages of the last 15 samples, `diff = ready - waiting`,
//!   `pct = 100 * (diff + diff_target) / active` and `level *= 1 + pct / 100`, where an
//!   intensity in -40..=40 damps decreases (positive) or increases (negative) — the damping
//!   law (`|intensity| / 50` of the change removed) is ours;
//! - the level stays within `[1, max_level]`;
//! - when the day's drop share exceeds `drop_limit` the level goes to 1 (hard limit), halves
//!   (average) or keeps only the share of its excess over 1 that matches the part of the day
//!   still to come (tapered);
//! - more than half of the last minute's answered calls dropped halves the level.
//!
//! New dials then keep `level * active` calls up: `level * (ready + talking) - (in flight +
//! waiting + talking)`. VICIdial counts agents in wrap-up as paused, so they are not active.

use std::time::Duration;

use super::{Pacer, View};
use crate::pacing::atomic::{AtomicF64, AtomicU64, Ordering};
use crate::pacing::config::VicidialDropMode;
use crate::pacing::overdial::OverdialCount;
use crate::time::Time;

const SAMPLES: usize = 15;
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
const ADAPT_EVERY: Duration = Duration::from_secs(15);
const FIELD: u64 = (1 << 21) - 1;

/// The adaptive level and its samples, all atomics: any deciding thread may take a sample or
/// adapt, and exactly one wins each due time (a CAS on the next due time).
#[derive(Debug)]
pub(crate) struct VicidialAdapt {
    level: AtomicF64,
    next_sample_us: AtomicU64,
    next_adapt_us: AtomicU64,
    n_samples: AtomicU64,
    /// `ready (21 bits) | waiting (21) | active (21)` per sample.
    samples: [AtomicU64; SAMPLES],
}

/// What the adaptation needs besides the samples.
pub(crate) struct DropCounts {
    pub(crate) day: OverdialCount,
    pub(crate) last_minute: OverdialCount,
    /// Share of the local day already gone, in [0, 1].
    pub(crate) day_fraction: f64,
}

impl VicidialAdapt {
    pub(crate) fn new(initial_level: f64) -> VicidialAdapt {
        VicidialAdapt {
            level: AtomicF64::new(initial_level.max(1.0)),
            next_sample_us: AtomicU64::new(0),
            next_adapt_us: AtomicU64::new(0),
            n_samples: AtomicU64::new(0),
            samples: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn level(&self) -> f64 {
        self.level.load()
    }

    /// Claims the due time in `next` if it has come: true for exactly one caller per period.
    fn claim(next: &AtomicU64, now: Time, period: Duration) -> bool {
        let due = next.load(Ordering::Acquire);
        if now.as_micros() < due {
            return false;
        }
        let following = (now + period).as_micros();
        // `AcqRel` pairs with the `Acquire` load of the other claimants.
        next.compare_exchange(due, following, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Takes a sample and adapts when due; `drops` is only called when adapting.
    pub(crate) fn tick(&self, view: &View<'_>, drops: impl FnOnce() -> DropCounts) {
        if Self::claim(&self.next_sample_us, view.now, SAMPLE_EVERY) {
            let ready = u64::from(view.agents.ready).min(FIELD);
            let waiting = u64::from(view.calls.waiting).min(FIELD);
            let active = u64::from(view.agents.ready + view.agents.talking).min(FIELD);
            // `Relaxed` for the index: the sample word itself is published with `Release`.
            let n = self.n_samples.fetch_add(1, Ordering::Relaxed);
            self.samples[(n % SAMPLES as u64) as usize]
                .store(ready | (waiting << 21) | (active << 42), Ordering::Release);
        }
        // The first adaptation comes a full period after the first sample.
        let first = (view.now + ADAPT_EVERY).as_micros();
        if self.next_adapt_us.compare_exchange(0, first, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return;
        }
        if Self::claim(&self.next_adapt_us, view.now, ADAPT_EVERY) {
            self.adapt(view, drops());
        }
    }

    fn averages(&self) -> Option<(f64, f64, f64)> {
        let n = self.n_samples.load(Ordering::Acquire).min(SAMPLES as u64);
        if n == 0 {
            return None;
        }
        let (mut r, mut w, mut a) = (0u64, 0u64, 0u64);
        for s in &self.samples[..n as usize] {
            let word = s.load(Ordering::Acquire);
            r += word & FIELD;
            w += (word >> 21) & FIELD;
            a += (word >> 42) & FIELD;
        }
        let n = n as f64;
        Some((r as f64 / n, w as f64 / n, a as f64 / n))
    }

    fn adapt(&self, view: &View<'_>, drops: DropCounts) {
        let cfg = &view.config.vicidial;
        let max_level = if cfg.max_level.is_finite() { cfg.max_level.max(1.0) } else { 3.0 };
        let mut level = self.level.load();
        if let Some((ready, waiting, active)) = self.averages()
            && active >= 0.5
        {
            level = adapted_level(level, ready - waiting, cfg.diff_target, active, cfg.intensity);
        }
        level = level.clamp(1.0, max_level);
        if drops.day.answered > 0 && drops.day.rate() > cfg.drop_limit {
            level = match cfg.drop_mode {
                VicidialDropMode::HardLimit => 1.0,
                VicidialDropMode::Average => level / 2.0,
                VicidialDropMode::Tapered => 1.0 + (level - 1.0) * (1.0 - drops.day_fraction.clamp(0.0, 1.0)),
            };
        }
        if drops.last_minute.answered > 0 && drops.last_minute.rate() > 0.5 {
            level /= 2.0;
        }
        self.level.store(level.clamp(1.0, max_level));
    }
}

/// One adaptation step: `level * (1 + pct / 100)` with `pct = 100 (diff + target) / active`,
/// shaped by the intensity.
pub(crate) fn adapted_level(level: f64, diff: f64, target: f64, active: f64, intensity: i32) -> f64 {
    let mut pct = 100.0 * (diff + target) / active;
    let damp = f64::from(intensity.clamp(-40, 40).unsigned_abs()) / 50.0;
    if (intensity > 0 && pct < 0.0) || (intensity < 0 && pct > 0.0) {
        pct *= 1.0 - damp;
    }
    level * (1.0 + pct / 100.0)
}

impl Pacer for VicidialAdapt {
    fn target_dials(&self, view: &View<'_>) -> f64 {
        let active = f64::from(view.agents.ready + view.agents.talking);
        let in_progress = f64::from(view.calls.outstanding()) + f64::from(view.agents.talking);
        self.level() * active - in_progress
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::super::tests::view_with;
    use super::*;
    use crate::pacing::config::VicidialDropMode;

    #[test]
    fn adaptation_step_by_hand() {
        // 2 agents idle on average out of 10 active: +20%.
        assert!((adapted_level(1.5, 2.0, 0.0, 10.0, 0) - 1.8).abs() < 1e-12);
        // 3 customers waiting beyond the agents: -30%, damped by intensity 20 (40% removed).
        assert!((adapted_level(2.0, -3.0, 0.0, 10.0, 20) - 2.0 * (1.0 - 0.18)).abs() < 1e-12);
        // Negative intensity damps increases instead.
        assert!((adapted_level(1.0, 2.0, 0.0, 10.0, -40) - 1.0 * (1.0 + 0.2 * 0.2)).abs() < 1e-12);
    }

    fn no_drops() -> DropCounts {
        DropCounts { day: OverdialCount::default(), last_minute: OverdialCount::default(), day_fraction: 0.5 }
    }

    #[test]
    fn samples_every_second_adapts_every_15_s_and_obeys_drop_limits() {
        let mut v = view_with(4, 6, 0, 0, 0);
        let algo = VicidialAdapt::new(1.0);
        // 10 active agents, 4 of them ready: each adaptation raises the level by 40%.
        for s in 0..=30u64 {
            v.now = Time::from_unix_s(1_790_000_000) + Duration::from_secs(s);
            algo.tick(&v.view(), no_drops);
        }
        // Adapted at t=15 and t=30, +40% each.
        assert!((algo.level() - 1.96).abs() < 1e-12, "{}", algo.level());
        // 1.96 * (4 + 6) - 6 talking = 13.6 new dials.
        assert!((algo.target_dials(&v.view()) - 13.6).abs() < 1e-9);
        // The day's drops over the limit: hard limit sends the level to 1.
        v.now += Duration::from_secs(15);
        let over = || DropCounts { day: OverdialCount { abandoned: 5, answered: 100 }, ..no_drops() };
        algo.tick(&v.view(), over);
        assert_eq!(algo.level(), 1.0);
        // Capped at max_level.
        let algo = VicidialAdapt::new(2.9);
        for _ in 0..2 {
            v.now += Duration::from_secs(15);
            algo.tick(&v.view(), no_drops);
        }
        assert_eq!(algo.level(), 3.0);
        // Tapered: at 3/4 of the day the excess over 1 keeps a quarter.
        v.config.vicidial.drop_mode = VicidialDropMode::Tapered;
        v.agents.ready = 0;
        v.agents.talking = 10;
        let algo = VicidialAdapt::new(3.0);
        algo.tick(&v.view(), no_drops);
        v.now += Duration::from_secs(15);
        algo.tick(&v.view(), || DropCounts { day_fraction: 0.75, ..over() });
        assert!((algo.level() - 1.5).abs() < 1e-12, "{}", algo.level());
        // Half the last minute's answers dropped halves it.
        let algo = VicidialAdapt::new(3.0);
        algo.tick(&v.view(), no_drops);
        v.now += Duration::from_secs(15);
        algo.tick(&v.view(), || DropCounts {
            last_minute: OverdialCount { abandoned: 3, answered: 4 },
            ..no_drops()
        });
        assert!((algo.level() - 1.5).abs() < 1e-12);
    }
}
