//! Runs a bench workload in a loop, for profilers (callgrind, `perf record`) and for quick
//! paired timings with `/usr/bin/time` on a busy machine:
//! `decode_loop N [request|kv|encode|serde-parse|serde-write]` (default: 10000 request
//! decodes). The serde workloads are the benches' baselines.
use pacer_benches::{RECORD_PROCESSED_LINE, preview_record_event};
use pacer_engine::kv::KvList;
use pacer_engine::protocol::Request;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let workload = args.next().unwrap_or_else(|| "request".to_owned());
    let mut total = 0;
    match workload.as_str() {
        "kv" => {
            for _ in 0..n {
                total +=
                    KvList::from_json_str(std::hint::black_box(RECORD_PROCESSED_LINE)).expect("valid").len();
            }
        }
        "encode" => {
            let event = preview_record_event();
            let mut buffer = Vec::with_capacity(1024);
            for _ in 0..n {
                buffer.clear();
                std::hint::black_box(&event).write_json(&mut buffer);
                total += buffer.len();
            }
        }
        "serde-parse" => {
            for _ in 0..n {
                let value: serde_json::Value =
                    serde_json::from_str(std::hint::black_box(RECORD_PROCESSED_LINE)).expect("valid");
                total += usize::from(value.is_object());
            }
        }
        "serde-write" => {
            let value: serde_json::Value =
                serde_json::from_str(&preview_record_event().encode_json()).expect("valid");
            let mut buffer = Vec::with_capacity(1024);
            for _ in 0..n {
                buffer.clear();
                serde_json::to_writer(&mut buffer, std::hint::black_box(&value)).expect("writes");
                total += buffer.len();
            }
        }
        _ => {
            for _ in 0..n {
                let request =
                    Request::decode_json(std::hint::black_box(RECORD_PROCESSED_LINE)).expect("valid");
                total += usize::from(request.reference_id.is_some());
            }
        }
    }
    println!("{total}");
}
