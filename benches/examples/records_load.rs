//! Loads a generated calling list once, for peak-memory and wall-time measurements:
//!
//! ```sh
//! cargo build --release -p pacer-benches --example records_load
//! target/release/examples/records_load gen /tmp/list_1m.csv 1000000
//! /usr/bin/time -v target/release/examples/records_load load /tmp/list_1m.csv
//! /usr/bin/time -v target/release/examples/records_load store /tmp/list_1m.csv
//! ```
//!
//! `load` reads the list (`CallingList::load_csv`); `store` also adds it to a `RecordStore`;
//! `retrieve PATH N` then runs N cycles of the `records/retrieve` bench (retrieve, reschedule a
//! minute later, clock one millisecond on), so that the user CPU time of `N` against `0`
//! gives the cost of a cycle on a machine too busy for wall-clock benches.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/records_workload/mod.rs"]
mod records_workload;

use std::path::Path;
use std::time::Instant;

use std::time::Duration;

use pacer_engine::protocol::RecordStatus;
use pacer_engine::records::{CallingList, DoNotCallList, ListId, RecordStore};
use pacer_engine::time::Time;

/// The `records/retrieve` bench loop, `cycles` times.
fn retrieve_cycles(store: &mut RecordStore, id: ListId, cycles: u64) {
    let mut now = Time::from_unix_s(1_800_025_200);
    let mut dnc = DoNotCallList::new("tenant");
    for i in 0..10_000u64 {
        dnc.add_phone(&format!("+1416{:07}", i * 997 % 10_000_000), now, None);
    }
    let start = Instant::now();
    let mut sum = 0;
    for _ in 0..cycles {
        now += Duration::from_millis(1);
        let h = store.retrieve(&[id], now, &dnc).expect("the pool never runs dry");
        let mut r = store.get_mut(h).expect("just retrieved");
        r.record_status = RecordStatus::Ready;
        r.dial_sched_time = Some(now.as_unix_s() + 60);
        sum += h.0;
    }
    let elapsed = start.elapsed();
    println!(
        "retrieve: {cycles} cycles in {:.3} s ({:.0} ns each, wall), checksum {sum}",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / cycles.max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: records_load gen PATH ROWS | load PATH | store PATH | retrieve PATH N";
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let path = Path::new(args.get(2).expect(usage));
            let rows: usize = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
            records_workload::write_list(path, rows).expect("write the list");
            println!("wrote {rows} rows to {}", path.display());
        }
        Some(mode @ ("load" | "store" | "retrieve")) => {
            let path = Path::new(args.get(2).expect(usage));
            let start = Instant::now();
            let list = CallingList::load_csv(path, "Leads", None).unwrap_or_else(|e| panic!("{e}"));
            let loaded = start.elapsed();
            println!("load_csv: {} records in {:.3} s", list.len(), loaded.as_secs_f64());
            if mode != "load" {
                let start = Instant::now();
                let mut store = RecordStore::new();
                let id = store.add_list(list).unwrap_or_else(|e| panic!("{e}"));
                println!(
                    "add_list: {} records, {} ready, {} callbacks in {:.3} s",
                    store.len(),
                    store.ready_len(id),
                    store.callbacks_len(id),
                    start.elapsed().as_secs_f64()
                );
                if mode == "retrieve" {
                    let cycles: u64 = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
                    retrieve_cycles(&mut store, id, cycles);
                }
            }
        }
        _ => panic!("{usage}"),
    }
}
