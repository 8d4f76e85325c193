//! Protocol codec benchmarks. Ids are stable; later work compares against them.
//!
//! - `protocol/decode_record_processed`: JSON line -> validated typed RecordProcessed.
//! - `protocol/encode_preview_record`: typed PreviewRecord -> JSON line.
//! - `protocol/baseline_serde_value_parse`: serde_json's plain `Value` parse of the same
//!   RecordProcessed line (no validation), the baseline for the decode ratio.
//! - `protocol/baseline_serde_value_write`: serde_json writing the PreviewRecord's `Value`.

use std::hint::black_box;

// The allocator of the `pacer` binary, which hosts the gateway these messages pass through.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use pacer_benches::{RECORD_PROCESSED_LINE, preview_record_event};
use pacer_engine::kv::KvList;
use pacer_engine::protocol::Request;

fn protocol(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol");
    group.bench_function("decode_record_processed", |b| {
        b.iter(|| Request::decode_json(black_box(RECORD_PROCESSED_LINE)).expect("valid"))
    });
    group.bench_function("baseline_serde_value_parse", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(RECORD_PROCESSED_LINE)).expect("valid"))
    });
    group.bench_function("decode_kv_only", |b| {
        b.iter(|| KvList::from_json_str(black_box(RECORD_PROCESSED_LINE)).expect("valid"))
    });

    let event = preview_record_event();
    let mut buffer = Vec::with_capacity(1024);
    group.bench_function("encode_preview_record", |b| {
        b.iter(|| {
            buffer.clear();
            black_box(&event).write_json(&mut buffer);
            buffer.len()
        })
    });
    let value: serde_json::Value = serde_json::from_str(&event.encode_json()).expect("valid");
    group.bench_function("baseline_serde_value_write", |b| {
        b.iter(|| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&value)).expect("writes");
            buffer.len()
        })
    });
    group.finish();
}

criterion_group!(benches, protocol);
criterion_main!(benches, floors);

fn floor(c: &mut Criterion) {
    c.bench_function("floor/serde_ignored_any", |b| {
        b.iter(|| {
            serde_json::from_str::<serde::de::IgnoredAny>(black_box(RECORD_PROCESSED_LINE)).expect("valid")
        })
    });
    c.bench_function("floor/serde_borrowed_map", |b| {
        b.iter(|| {
            serde_json::from_str::<std::collections::BTreeMap<&str, serde::de::IgnoredAny>>(black_box(
                RECORD_PROCESSED_LINE,
            ))
            .expect("valid")
            .len()
        })
    });
}
criterion_group!(floors, floor);
