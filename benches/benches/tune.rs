//! Whole-simulation benchmarks for tuning work. Ids are stable.
//!
//! - `sim/shift_100_agents`: a whole one-hour shift of 100 agents (`floor-100` cut to one
//!   hour: list generation, engine set-up, the event loop and the end-of-run checks).
//! - `sim/short_run_5_agents`: a whole 15-minute run of `small-5`, the unit a sweep repeats
//!   thousands of times.
//!
//! The event queue's push/pop (`sim/queue_hold_*`) and a ten-minute `small-20` run live in
//! `benches/sim.rs`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pacer_sim::world::{RunOptions, run};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(name: &str, sets: &[&str]) -> pacer_sim::scenario::Scenario {
    let path = pacer_sim::scenario::resolve(name).expect("a shipped scenario");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    pacer_sim::scenario::load(&path, &sets).expect("valid")
}

fn tune(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    let shift = load("floor-100", &["duration_s=3600"]);
    assert_eq!(shift.agents.count, 100);
    group.bench_function("shift_100_agents", |b| {
        b.iter_batched(
            || RunOptions { seed: 1, ..RunOptions::default() },
            |options| run(&shift, &options).expect("runs"),
            BatchSize::SmallInput,
        )
    });
    let short = load("small-5", &["duration_s=900"]);
    group.bench_function("short_run_5_agents", |b| {
        b.iter_batched(
            || RunOptions { seed: 1, ..RunOptions::default() },
            |options| run(&short, &options).expect("runs"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, tune);
criterion_main!(benches);
