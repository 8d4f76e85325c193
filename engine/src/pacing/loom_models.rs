//! loom models of the lock-free core: concurrent events racing `decide`.
//!
//! Run with
//! `RUSTFLAGS="--cfg pacer_loom" cargo test -p pacer-engine --release --lib pacing::loom`.
//! Every atomic of the core comes from `pacing::atomic`, which is loom's under this cfg, so
//! loom explores the interleavings (and the weak-memory reorderings it models) of the real
//! code. Each model checks: no lost update (exact counts once the threads are joined), no
//! negative counter (no field ever read wrapped), no torn decision (a reader never sees half
//! of one event).

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use super::*;

fn t0() -> Time {
    Time::from_unix_s(1_790_000_000)
}

fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded preemptions keep the state space tractable; loom's documentation notes that
    // most concurrency bugs need very few preemptions to show.
    builder.preemption_bound = Some(3);
    builder.check(model);
}

fn config(algorithm: Algorithm) -> PacingConfig {
    PacingConfig { algorithm, compliance_max_abandon_rate: 1.0, ..PacingConfig::default() }
}

/// Two threads move the same agent while a third reads the counts and decides.
#[test]
fn agent_transitions_race_decide() {
    check(|| {
        let p = Arc::new(GroupPacer::new(config(Algorithm::Progressive), 2, t0()));
        p.agent_state(AgentIdx(0), AgentState::Ready, t0());
        // Refresh the estimates now so that the racing decide only reads.
        p.decide(t0());
        let a = {
            let p = p.clone();
            thread::spawn(move || p.agent_state(AgentIdx(0), AgentState::Talking, t0()))
        };
        let b = {
            let p = p.clone();
            thread::spawn(move || p.agent_state(AgentIdx(0), AgentState::AfterCallWork, t0()))
        };
        let seen = p.snapshot().agents;
        // One agent and two transitions in progress: each field is at most 1 + 2; a field
        // that went below zero would read as thousands.
        for field in [seen.ready, seen.talking, seen.after_call_work, seen.not_ready, seen.leaving] {
            assert!(field <= 3, "{seen:?}");
        }
        // Never counted in no state at all.
        assert!(seen.logged_in() >= 1, "{seen:?}");
        let d = p.decide(t0());
        assert!(d.dials <= 1, "{d:?}");
        a.join().unwrap();
        b.join().unwrap();
        let end = p.snapshot().agents;
        let state = p.slots[0].state();
        let want = match state {
            AgentState::Talking => AgentCounts { talking: 1, ..AgentCounts::default() },
            AgentState::AfterCallWork => AgentCounts { after_call_work: 1, ..AgentCounts::default() },
            other => panic!("final state {other:?}"),
        };
        assert_eq!(end, want);
    });
}

/// Dials and their results from two threads: nothing lost, nothing negative.
#[test]
fn dial_events_race() {
    check(|| {
        let p = Arc::new(GroupPacer::new(config(Algorithm::Progressive), 2, t0()));
        p.agent_state(AgentIdx(0), AgentState::Ready, t0());
        p.decide(t0());
        let a = {
            let p = p.clone();
            thread::spawn(move || {
                let c = p.dial_placed(t0());
                p.call_progress(c, DialOutcome::AnsweredLive, t0(), t0());
                p.connected(c, t0(), t0());
            })
        };
        let b = {
            let p = p.clone();
            thread::spawn(move || {
                let c = p.dial_placed(t0());
                p.call_progress(c, DialOutcome::NoAnswer, t0(), t0());
            })
        };
        let calls = p.snapshot().calls;
        assert!(calls.in_flight <= 2 && calls.waiting <= 1, "{calls:?}");
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(p.snapshot().calls, CallCounts::default());
        assert_eq!(p.slots[0].pending_dials(), 0);
        assert_eq!(p.snapshot().rejected_events, 0);
        assert_eq!(p.overdial(t0()).campaign, OverdialCount { abandoned: 0, answered: 1 });
    });
}

/// An answer moves a call from in flight to waiting in one step: a racing decision sees the
/// call in exactly one of the two, so it is never torn.
#[test]
fn decision_never_sees_half_an_answer() {
    check(|| {
        let p = Arc::new(GroupPacer::new(config(Algorithm::Progressive), 2, t0()));
        p.agent_state(AgentIdx(0), AgentState::Ready, t0());
        p.agent_state(AgentIdx(1), AgentState::Ready, t0());
        let c = p.dial_placed(t0());
        p.decide(t0());
        let a = {
            let p = p.clone();
            thread::spawn(move || p.call_progress(c, DialOutcome::AnsweredLive, t0(), t0()))
        };
        // Two ready agents, one call in progress: exactly one more dial, before or after.
        assert_eq!(p.decide(t0()).dials, 1);
        assert_eq!(p.snapshot().calls.outstanding(), 1);
        a.join().unwrap();
        assert_eq!(p.snapshot().calls, CallCounts { in_flight: 0, waiting: 1 });
    });
}

/// Two threads add to the same window bucket while a reader sums it.
#[test]
fn window_updates_are_never_lost() {
    check(|| {
        let w = Arc::new(window::Window::new(Duration::from_secs(16), 4, 24));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let w = w.clone();
                thread::spawn(move || w.add(t0(), 1, 1))
            })
            .collect();
        let (a, b) = w.sum(t0());
        assert!(a == b && a <= 2);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(w.sum(t0()), (2, 2));
    });
}

/// A smart logout racing a dial: the dial is either counted on the agent, and the logout
/// waits for it, or not counted on the agent at all. Never acknowledged with a dial pending.
#[test]
fn logout_never_acknowledged_with_a_dial_counted() {
    check(|| {
        let p = Arc::new(GroupPacer::new(config(Algorithm::Progressive), 1, t0()));
        p.agent_state(AgentIdx(0), AgentState::Ready, t0());
        let dialer = {
            let p = p.clone();
            thread::spawn(move || p.dial_placed(t0()))
        };
        let status = p.logout_requested(AgentIdx(0), t0());
        let counted = dialer.join().unwrap();
        match status {
            LogoutStatus::Ack => {
                assert_eq!(counted, None);
                assert_eq!(p.slots[0].pending_dials(), 0);
                assert_eq!(p.slots[0].state(), AgentState::LoggedOut);
            }
            // A dial that saw the logout backs off, but the logout may have read its count
            // in between: waiting then is merely cautious.
            LogoutStatus::Wait(_) => {
                assert_eq!(p.slots[0].pending_dials(), u32::from(counted.is_some()));
            }
        }
        assert_eq!(p.snapshot().calls.in_flight, 1);
    });
}

/// The governor's cached allowance racing a new abandon: once the abandon is recorded, no
/// read may return the allowance from before it.
#[test]
fn governor_allowance_never_stale_after_an_abandon() {
    check(|| {
        let hour = Duration::from_secs(3600);
        let tracker = Arc::new(overdial::OverdialTracker::new(4, hour, hour, hour, 0));
        for _ in 0..4 {
            tracker.record(false, t0());
        }
        // Cap 40%: (0.4 * 4 - 0) / 0.6 = 2.7, so 2 uncovered calls allowed.
        assert_eq!(tracker.uncovered_allowance(t0(), 0.4), Some(2));
        let recorder = {
            let tracker = tracker.clone();
            thread::spawn(move || tracker.record(true, t0()))
        };
        // Racing: the old or the new value, nothing else.
        let during = tracker.uncovered_allowance(t0(), 0.4);
        assert!(during == Some(2) || during == Some(1), "{during:?}");
        recorder.join().unwrap();
        // (0.4 * 5 - 1) / 0.6 = 1.7, so 1.
        assert_eq!(tracker.uncovered_allowance(t0(), 0.4), Some(1));
    });
}
