//! Throughput of the `pacer serve` engine thread: JSON request lines in, JSON lines out,
//! through the same `Engine` the stdio and TCP transports drive (parse, permission and clock
//! checks, `Server::handle`, output encoding, one journal commit per 64 lines).
//!
//! - `gateway/engine_lines`: the serve-example scenario (5 agents, predictive, 100 records)
//!   fed the steady workload of `pacer_sim::gateway::workload` (status requests, agent
//!   state toggles that re-pace the group, ReadyTime estimates, clock lines). Throughput is
//!   in request lines per second.

use std::hint::black_box;
use std::path::Path;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pacer_engine::server::{AdminCommand, Server};
use pacer_engine::time::Time;
use pacer_sim::gateway::engine::{ClockMode, Engine, EngineParts, Outbox, Peer, To};
use pacer_sim::gateway::{config, workload};

/// Counts the bytes of the output lines (what stdout would receive).
struct Count(usize);

impl Outbox for Count {
    fn send(&mut self, _to: To<'_>, line: &[u8]) {
        self.0 += line.len();
    }
}

const LINES: usize = 20_000;

fn engine(lists: &Path) -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scenario =
        config::load(&root.join("scenarios/serve-example.toml"), &[], Some(lists)).expect("scenario");
    let store = config::load_lists(&scenario.config, lists).expect("lists");
    let server = Server::new(scenario.config.clone(), store).expect("config");
    let mut engine = Engine::new(EngineParts {
        server,
        clock: ClockMode::Virtual,
        origin: Time::from_unix_s(scenario.scenario.start_unix_s),
        dns: scenario.dns.clone(),
        groups: vec![scenario.group.clone()],
        token: None,
        journal: None,
        lists_dir: lists.to_path_buf(),
        notifier: None,
        metrics: None,
        compact_every: 0,
    });
    let mut sink = Count(0);
    engine.admin(AdminCommand::Load { group: scenario.group.clone() }, &mut sink);
    engine.admin(AdminCommand::Start { group: scenario.group.clone() }, &mut sink);
    engine
}

fn gateway(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lists = root.join("scenarios/lists");
    let lines = workload::lines(LINES);
    let mut group = c.benchmark_group("gateway");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(20);
    group.bench_function("engine_lines", |b| {
        b.iter_batched(
            || engine(&lists),
            |mut engine| {
                let mut peer = Peer::any();
                let mut sink = Count(0);
                for (i, line) in lines.iter().enumerate() {
                    engine.line(&mut peer, black_box(line), &mut sink);
                    if i % 64 == 63 {
                        engine.commit();
                    }
                }
                engine.commit();
                black_box(sink.0)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, gateway);
criterion_main!(benches);
