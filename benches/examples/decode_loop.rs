//! Runs the decode workload in a loop, for profilers that count instructions (callgrind).
use pacer_benches::RECORD_PROCESSED_LINE;
use pacer_engine::kv::KvList;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut total = 0;
    for _ in 0..n {
        total += KvList::from_json_str(std::hint::black_box(RECORD_PROCESSED_LINE)).expect("valid").len();
    }
    println!("{total}");
}
