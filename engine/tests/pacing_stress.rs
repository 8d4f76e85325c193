//! Multi-thread stress test of the pacing core: four threads report events for their own
//! agents and calls while the main thread decides and reads. Checks, while running, that no
//! counter ever reads negative (a wrapped field would read in the thousands) and, after the
//! threads join, that every count is exact: nothing was lost.

// Under `--cfg pacer_loom` the core's atomics are loom's, usable only inside a loom model.
#![cfg(not(pacer_loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use pacer_engine::pacing::{
    AgentIdx, AgentState, Algorithm, DialOutcome, GroupPacer, LogoutStatus, PacingConfig,
};
use pacer_engine::time::Time;

const THREADS: u32 = 4;
const AGENTS_PER_THREAD: u32 = 8;
const ROUNDS: u32 = 2_000;

fn t0() -> Time {
    Time::from_unix_s(1_790_000_000)
}

/// What one thread did, to compare with the pacer's counts.
#[derive(Default)]
struct Tally {
    answered: u64,
    abandoned: u64,
}

fn worker(p: &GroupPacer, w: u32) -> Tally {
    let mut tally = Tally::default();
    let first = w * AGENTS_PER_THREAD;
    let mut now = t0();
    for round in 0..ROUNDS {
        now += Duration::from_millis(1);
        let agent = AgentIdx(first + round % AGENTS_PER_THREAD);
        // An agent's cycle: ready, a call, wrap-up.
        p.agent_state(agent, AgentState::Ready, now);
        let counted = p.dial_placed(now);
        let live = round % 3 != 0;
        p.call_progress(counted, if live { DialOutcome::AnsweredLive } else { DialOutcome::Busy }, now, now);
        if live {
            tally.answered += 1;
            if round % 17 == 0 {
                tally.abandoned += 1;
                p.abandoned(counted, now, now);
            } else {
                p.connected(counted, now, now);
                p.agent_state(agent, AgentState::Talking, now);
                p.call_ended(agent, Duration::from_secs(30), now);
            }
        }
        p.agent_state(agent, AgentState::AfterCallWork, now);
        if round % 50 == 0 {
            p.ready_time(agent, Duration::from_secs(5), now);
        }
    }
    // Everyone ends not ready, except one agent per thread who logs out smartly.
    for i in 1..AGENTS_PER_THREAD {
        p.agent_state(AgentIdx(first + i), AgentState::NotReady, now);
    }
    assert_eq!(p.logout_requested(AgentIdx(first), now), LogoutStatus::Ack);
    tally
}

#[test]
fn concurrent_events_and_decisions_keep_exact_counts() {
    let config = PacingConfig {
        algorithm: Algorithm::Predictive,
        small_group_max_agents: 8,
        ..PacingConfig::default()
    };
    let p = Arc::new(GroupPacer::new(config, THREADS * AGENTS_PER_THREAD, t0()));
    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|w| {
            let p = p.clone();
            thread::spawn(move || worker(&p, w))
        })
        .collect();
    let reader = {
        let (p, done) = (p.clone(), done.clone());
        thread::spawn(move || {
            let mut reads = 0u64;
            let mut now = t0();
            // At least one read, however late this thread is scheduled on a loaded machine
            // (the workers may all be done before it first runs).
            loop {
                let last = done.load(Ordering::Relaxed);
                now += Duration::from_micros(300);
                let d = p.decide(now);
                let s = p.snapshot();
                let a = s.agents;
                // Each agent is counted at most once per transition in progress.
                let bound = THREADS * AGENTS_PER_THREAD + THREADS;
                for field in [a.ready, a.talking, a.after_call_work, a.not_ready, a.leaving] {
                    assert!(field <= bound, "{a:?}");
                }
                assert!(s.calls.in_flight <= THREADS && s.calls.waiting <= THREADS, "{:?}", s.calls);
                assert!(d.dials <= 4 * bound, "{d:?}");
                let o = p.overdial(now);
                assert!(o.campaign.abandoned <= o.campaign.answered);
                reads += 1;
                if last {
                    break;
                }
            }
            reads
        })
    };
    let tallies: Vec<Tally> = workers.into_iter().map(|h| h.join().expect("worker")).collect();
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    assert!(reads > 0);

    let s = p.snapshot();
    assert_eq!(s.rejected_events, 0);
    assert_eq!(s.calls.outstanding(), 0);
    assert_eq!(s.agents.not_ready, THREADS * (AGENTS_PER_THREAD - 1));
    assert_eq!(s.agents.logged_in(), THREADS * (AGENTS_PER_THREAD - 1));
    let answered: u64 = tallies.iter().map(|t| t.answered).sum();
    let abandoned: u64 = tallies.iter().map(|t| t.abandoned).sum();
    let campaign = p.overdial(t0() + Duration::from_secs(10)).campaign;
    assert_eq!((campaign.answered, campaign.abandoned), (answered, abandoned));
    // Hit ratio over the run: two live answers in three dials, blended with the prior.
    assert!((s.hit_ratio - 2.0 / 3.0).abs() < 0.02, "{}", s.hit_ratio);
}
