//! Pacing-core benchmarks. Ids are stable; later work compares against them.
//!
//! - `pacing/decide_predictive_1000`: one decision of the classic predictive algorithm for a
//!   1,000-agent group (300 ready, 500 talking, 150 in wrap-up, 50 not ready) with 2,000
//!   answered calls of history, 120 dials in flight and 5 answered calls waiting. Engine
//!   time advances 1 µs per decision, so the estimate refresh (every 100 ms of engine time)
//!   is amortised as in real use.
//! - `pacing/decide_small_group_50`: the small-group algorithm on 50 agents (10 ready, 30
//!   talking, 10 in wrap-up), 8 dials in flight.
//! - `pacing/decide_advanced_small_group_50`: the same group with the advanced algorithm,
//!   half the busy agents having sent a ReadyTime estimate.
//! - `pacing/decide_small_group_50_governed`: the small-group algorithm on 50 agents (1
//!   ready, 39 talking, 10 in wrap-up) with no abandon budget left, so that the compliance
//!   governor holds the decision back and scans the busy agents for those who free up in
//!   time (a Poisson-binomial over 49 agents and a search over the joint tail).
//! - `pacing/decide_small_group_50_governed_posterior`: the same under the `posterior`
//!   governor (the search sums beta-binomial terms instead of binomial ones).
//! - `pacing/update_uncontended`: one event update: an agent moving between ready and not
//!   ready (the agent's state word and the group's agent counts: three atomic
//!   read-modify-writes). Events that also feed an estimator (leaving wrap-up, taking a call
//!   after waiting) add two more, for a window's bucket.
//! - `pacing/contended_2w_1r`: decisions of the 1,000-agent group while two other threads
//!   report agent-state events as fast as they can; the writers' event rate is printed
//!   after the run.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use pacer_engine::pacing::{
    AgentIdx, AgentState, Algorithm, ComplianceMode, DialOutcome, GroupPacer, PacingConfig,
};
use pacer_engine::time::Time;

fn t0() -> Time {
    Time::from_unix_s(1_790_000_000)
}

/// The settings of the benchmark groups: `algorithm` and the compliance governor's `mode`.
fn settings(algorithm: Algorithm, mode: ComplianceMode) -> PacingConfig {
    PacingConfig { algorithm, small_group_max_agents: 50, compliance_mode: mode, ..PacingConfig::default() }
}

/// A group with `ready`, `talking`, `acw` and `not_ready` agents, `history` answered calls
/// (1 in 40 abandoned) and `in_flight` dials out.
fn group(
    config: PacingConfig,
    ready: u32,
    talking: u32,
    acw: u32,
    not_ready: u32,
    history: u32,
    in_flight: u32,
) -> GroupPacer {
    let n = ready + talking + acw + not_ready;
    // Created ten minutes before the decisions, as a running group is (the shift of
    // `decide_fixed_ratio_50_governed_shift` starts then).
    let p = GroupPacer::new(config, n, t0().saturating_sub(Duration::from_secs(600)));
    let mut i = 0;
    for (count, state) in [
        (ready, AgentState::Ready),
        (talking, AgentState::Talking),
        (acw, AgentState::AfterCallWork),
        (not_ready, AgentState::NotReady),
    ] {
        for _ in 0..count {
            // Entered their state at different times in the last two minutes.
            let entered = t0().saturating_sub(Duration::from_secs(u64::from(i * 7 % 120)));
            p.agent_state(AgentIdx(i), state, entered);
            i += 1;
        }
    }
    for k in 0..history {
        let at = t0().saturating_sub(Duration::from_millis(u64::from(history - k) * 100));
        let c = p.dial_placed(at);
        p.call_progress(c, DialOutcome::AnsweredLive, at, at);
        if k.is_multiple_of(40) {
            p.abandoned(c, at, at);
        } else {
            p.connected(c, at, at);
        }
        if k.is_multiple_of(3) {
            p.call_progress(None, DialOutcome::NoAnswer, at, at);
        }
    }
    for _ in 0..in_flight {
        p.dial_placed(t0());
    }
    p
}

fn decide_loop(p: &GroupPacer, b: &mut criterion::Bencher<'_>) {
    let mut now = t0();
    b.iter(|| {
        now += Duration::from_micros(1);
        black_box(p.decide(black_box(now)))
    });
}

fn pacing(c: &mut Criterion) {
    let mut g = c.benchmark_group("pacing");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(40);

    let big =
        group(settings(Algorithm::Predictive, ComplianceMode::Confidence), 300, 500, 150, 50, 2000, 120);
    assert_eq!(big.decide(t0()).algorithm, Algorithm::Predictive);
    g.bench_function("decide_predictive_1000", |b| decide_loop(&big, b));

    let small = group(settings(Algorithm::SmallGroup, ComplianceMode::Confidence), 10, 30, 10, 0, 500, 8);
    assert_eq!(small.decide(t0()).algorithm, Algorithm::SmallGroup);
    g.bench_function("decide_small_group_50", |b| decide_loop(&small, b));

    let advanced =
        group(settings(Algorithm::AdvancedSmallGroup, ComplianceMode::Confidence), 10, 30, 10, 0, 500, 8);
    for i in (10..50).step_by(2) {
        advanced.ready_time(AgentIdx(i), Duration::from_secs(u64::from(i % 20)), t0());
    }
    assert_eq!(advanced.decide(t0()).algorithm, Algorithm::AdvancedSmallGroup);
    g.bench_function("decide_advanced_small_group_50", |b| decide_loop(&advanced, b));

    // An hour's start on a small group: one agent ready, 60 answered calls (2 abandoned, so
    // the window has no budget), the governor holding the decision back and counting the
    // busy agents who free up in time.
    let governed = governed_group(settings(Algorithm::SmallGroup, ComplianceMode::Confidence), 30);
    g.bench_function("decide_small_group_50_governed", |b| decide_loop(&governed, b));
    // The same with the `posterior` governor (beta-binomial tails instead of binomial ones).
    let posterior = governed_group(settings(Algorithm::SmallGroup, ComplianceMode::Posterior), 30);
    g.bench_function("decide_small_group_50_governed_posterior", |b| decide_loop(&posterior, b));
    // The same group ten minutes into an eight-hour shift: the budget also counts the answers
    // the rest of the shift brings (the window is summed instead of cached), and with that
    // budget only a high fixed ratio still asks for more than the governor allows.
    let shift = PacingConfig {
        shift_length: Duration::from_secs(8 * 3600),
        fixed_ratio: 200.0,
        max_dials_per_agent: 100.0,
        ..settings(Algorithm::FixedRatio, ComplianceMode::Confidence)
    };
    let shifted = governed_group(shift, 30);
    assert!(shifted.snapshot().shift_credit_answers > 0);
    g.bench_function("decide_fixed_ratio_50_governed_shift", |b| decide_loop(&shifted, b));

    let one = group(settings(Algorithm::Predictive, ComplianceMode::Confidence), 10, 10, 0, 0, 0, 0);
    let mut now = t0();
    let mut ready = true;
    g.bench_function("update_uncontended", |b| {
        b.iter(|| {
            now += Duration::from_micros(1);
            ready = !ready;
            let state = if ready { AgentState::Ready } else { AgentState::NotReady };
            one.agent_state(black_box(AgentIdx(3)), state, now);
        })
    });

    // Two writers hammer the 1,000-agent group while this thread decides.
    let shared = Arc::new(group(
        settings(Algorithm::Predictive, ComplianceMode::Confidence),
        300,
        500,
        150,
        50,
        2000,
        120,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let (p, stop, events) = (shared.clone(), stop.clone(), events.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut now = t0();
                while !stop.load(Ordering::Relaxed) {
                    for k in 0..64u32 {
                        now += Duration::from_micros(1);
                        // Writer w moves agents 300 + 250 w .. among talk and wrap-up.
                        let agent = AgentIdx(300 + 250 * w + (k % 250));
                        let state =
                            if n.is_multiple_of(2) { AgentState::AfterCallWork } else { AgentState::Talking };
                        p.agent_state(agent, state, now);
                        n += 1;
                    }
                }
                events.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    g.bench_function("contended_2w_1r", |b| decide_loop(&shared, b));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = events.load(Ordering::Relaxed) as f64;
    // Skipped when a filter left the contended bench out.
    if elapsed > 0.2 && total > 0.0 {
        eprintln!(
            "pacing/contended_2w_1r writers: {:.1} M events/s in all ({:.1} ns per event per writer) over {:.1} s",
            total / elapsed / 1e6,
            2.0 * elapsed * 1e9 / total,
            elapsed
        );
    }
    g.finish();
}

/// The `decide_small_group_50_governed` group under `config`: 1 agent ready, 39 talking, 10 in
/// wrap-up, 60 answered calls over the last ten minutes, one in `abandon_every` abandoned (30:
/// 2, no budget left), and a talk of a minute for each connected one.
fn governed_group(config: PacingConfig, abandon_every: u64) -> GroupPacer {
    let governed = group(config, 1, 39, 10, 0, 0, 0);
    for k in 0..60u64 {
        let at = t0().saturating_sub(Duration::from_secs(600 - k * 5));
        let answered = at + Duration::from_secs(10);
        let c = governed.dial_placed(at);
        governed.call_progress(c, DialOutcome::AnsweredLive, at, answered);
        if k % abandon_every == 0 {
            governed.abandoned(c, answered, answered);
        } else {
            governed.connected(c, answered, answered);
            governed.call_ended(AgentIdx((k % 50) as u32), Duration::from_secs(60), answered);
        }
        let c = governed.dial_placed(at);
        governed.call_progress(c, DialOutcome::NoAnswer, at, at + Duration::from_secs(25));
    }
    let d = governed.decide(t0());
    assert!(d.algorithm == governed.config().algorithm && d.governed, "{d:?}");
    governed
}

criterion_group!(benches, pacing);
criterion_main!(benches);
