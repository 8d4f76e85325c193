//! Loads a generated calling list once, for peak-memory and wall-time measurements:
//!
//! ```sh
//! cargo build --release -p pacer-benches --example records_load
//! target/release/examples/records_load gen /tmp/list_1m.csv 1000000
//! /usr/bin/time -v target/release/examples/records_load load /tmp/list_1m.csv
//! /usr/bin/time -v target/release/examples/records_load store /tmp/list_1m.csv
//! ```
//!
//! `load` reads the list (`CallingList::load_csv`); `store` also adds it to a `RecordStore`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/records_workload/mod.rs"]
mod records_workload;

use std::path::Path;
use std::time::Instant;

use pacer_engine::records::{CallingList, RecordStore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: records_load gen PATH ROWS | load PATH | store PATH";
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let path = Path::new(args.get(2).expect(usage));
            let rows: usize = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
            records_workload::write_list(path, rows).expect("write the list");
            println!("wrote {rows} rows to {}", path.display());
        }
        Some(mode @ ("load" | "store")) => {
            let path = Path::new(args.get(2).expect(usage));
            let start = Instant::now();
            let list = CallingList::load_csv(path, "Leads", None).unwrap_or_else(|e| panic!("{e}"));
            let loaded = start.elapsed();
            println!("load_csv: {} records in {:.3} s", list.len(), loaded.as_secs_f64());
            if mode == "store" {
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
            }
        }
        _ => panic!("{usage}"),
    }
}
