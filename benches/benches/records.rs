//! Calling-list benchmarks. Ids are stable; later work compares against them.
//!
//! - `records/load_csv_1m`: `CallingList::load_csv` of a generated 1,000,000-row list (every
//!   mandatory column, four custom fields; about 140 MB), written to a temporary directory
//!   once before the measurement.
//! - `records/add_list_1m`: `RecordStore::add_list` of that list (handles, chains, phone and
//!   customer indexes, retrieval queues).
//! - `records/retrieve`: one `RecordStore::retrieve` from the 1,000,000-record store (six
//!   time zones, so part of it is outside its window), with a 10,000-entry do-not-call list,
//!   followed by rescheduling the record a minute later (the no-answer cycle). The clock moves
//!   on a millisecond per retrieval, so windows open and rescheduled records come due as in
//!   a running campaign, and the pool never runs dry.

use std::hint::black_box;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pacer_engine::protocol::RecordStatus;
use pacer_engine::records::{CallingList, DoNotCallList, RecordStore};
use pacer_engine::time::Time;

mod records_workload;

const ROWS: usize = 1_000_000;

fn records(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("pacer-records-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("list_1m.csv");
    records_workload::write_list(&path, ROWS).expect("write the generated list");

    let mut group = c.benchmark_group("records");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("load_csv_1m", |b| {
        b.iter(|| CallingList::load_csv(black_box(&path), "Leads", None).expect("valid list"))
    });
    let list = CallingList::load_csv(&path, "Leads", None).expect("valid list");
    group.bench_function("add_list_1m", |b| {
        b.iter_batched(
            || list.clone(),
            |list| {
                let mut store = RecordStore::new();
                store.add_list(list).expect("unique");
                store
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut store = RecordStore::new();
    let id = store.add_list(list).expect("unique");
    // 2027-01-15 15:00Z: 10:00 in New York, 07:00 in Los Angeles (closed), 16:00 in Paris.
    let mut now = Time::from_unix_s(1_800_025_200);
    let mut dnc = DoNotCallList::new("tenant");
    for i in 0..10_000u64 {
        dnc.add_phone(&format!("+1416{:07}", i * 997 % 10_000_000), now, None);
    }
    let mut group = c.benchmark_group("records");
    group.bench_function("retrieve", |b| {
        b.iter(|| {
            now += Duration::from_millis(1);
            let h = store.retrieve(black_box(&[id]), now, &dnc).expect("the pool never runs dry");
            let mut r = store.get_mut(h).expect("just retrieved");
            r.record_status = RecordStatus::Ready;
            r.dial_sched_time = Some(now.as_unix_s() + 60);
            h
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, records);
criterion_main!(benches);
