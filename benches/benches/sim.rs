//! Simulator benchmarks. Ids are stable; later work compares against them.
//!
//! - `sim/queue_hold_{1k,10k,100k}`: the classic "hold" workload of event-set studies
//!   (Vaucher & Duval 1975): with n events pending, pop the earliest and push one at a random
//!   later time. One iteration is one pop plus one push.
//! - `sim/queue_hold_tuple_key_10k`: the same with a heap ordered by a `(time, seq)` tuple
//!   instead of the packed `u128` key the simulator's queue uses: the baseline for that choice.
//! - `sim/run_small_20_10min`: a whole run of `small-20` cut to ten simulated minutes (set-up,
//!   engine and world together).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pacer_engine::time::Time;
use pacer_sim::queue::EventQueue;
use pacer_sim::world::{RunOptions, run};

/// A cheap deterministic stream of increments (xorshift64), so the benchmark measures the
/// queue and not a generator.
struct Steps(u64);

impl Steps {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 1_000_000
    }
}

fn hold_queue(n: usize) -> (EventQueue<u32>, Steps) {
    let mut steps = Steps(0x9E37_79B9_7F4A_7C15);
    let mut q = EventQueue::with_capacity(n);
    for i in 0..n {
        q.push(Time::from_micros(steps.next()), i as u32);
    }
    (q, steps)
}

fn sim(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    for (label, n) in [("1k", 1_000), ("10k", 10_000), ("100k", 100_000)] {
        let (mut q, mut steps) = hold_queue(n);
        group.bench_function(format!("queue_hold_{label}"), |b| {
            b.iter(|| {
                let (t, e) = q.pop().expect("never empty");
                q.push(t + std::time::Duration::from_micros(steps.next()), black_box(e));
            })
        });
    }
    let mut steps = Steps(0x9E37_79B9_7F4A_7C15);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::with_capacity(10_000);
    let mut seq = 0u64;
    for i in 0..10_000u32 {
        heap.push(Reverse((steps.next(), seq, i)));
        seq += 1;
    }
    group.bench_function("queue_hold_tuple_key_10k", |b| {
        b.iter(|| {
            let Reverse((t, _, e)) = heap.pop().expect("never empty");
            heap.push(Reverse((t + steps.next(), seq, black_box(e))));
            seq += 1;
        })
    });
    let path = pacer_sim::scenario::resolve("small-20").expect("the shipped scenario");
    let scenario = pacer_sim::scenario::load(&path, &["duration_s=600".to_string()]).expect("valid");
    group.sample_size(10);
    group.bench_function("run_small_20_10min", |b| {
        b.iter_batched(
            || RunOptions { seed: 1, ..RunOptions::default() },
            |options| run(&scenario, &options).expect("runs"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);
