//! Heap allocations per message on the gateway's hot paths, counted by dhat's allocator in
//! testing mode. The promise being checked: known `GSW_*` keys and their values cost no heap
//! allocation when a JSON line is decoded, custom fields cost one (the list the request keeps),
//! and writing an event into a buffer with room costs none.
//!
//! One test function: dhat allows one profiler per process, and the counts are global.

use pacer_engine::kv::{KvList, Value};
use pacer_engine::protocol::{
    CallResult, ContactMediaType, Event, EventBody, PhoneType, RecordData, Request, RequestBody,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A RecordProcessed with only reserved keys.
const KNOWN_ONLY: &str = concat!(
    r#"{"GSW_AGENT_REQ_TYPE":"RecordProcessed","GSW_APPLICATION_ID":101,"#,
    r#""GSW_CAMPAIGN_NAME":"Spring Sales","GSW_CALLING_LIST":"Leads North","#,
    r#""GSW_RECORD_HANDLE":184467,"GSW_CALL_RESULT":33,"GSW_TREATMENT":"RecordTreatCampaign","#,
    r#""GSW_PHONE":"+14165550123","GSW_FROM":28800,"GSW_UNTIL":72000,"GSW_REFERENCE_ID":90211}"#
);

/// The benchmark's RecordProcessed: the same with five custom fields.
const WITH_CUSTOM: &str = concat!(
    r#"{"GSW_AGENT_REQ_TYPE":"RecordProcessed","GSW_APPLICATION_ID":101,"#,
    r#""GSW_CAMPAIGN_NAME":"Spring Sales","GSW_CALLING_LIST":"Leads North","#,
    r#""GSW_RECORD_HANDLE":184467,"GSW_CALL_RESULT":33,"GSW_TREATMENT":"RecordTreatCampaign","#,
    r#""GSW_REFERENCE_ID":90211,"customer_name":"Jane Q. Public","account_no":"AC-0049912","#,
    r#""balance_cents":1250075,"tier":"gold","last_order":"2026-10-30"}"#
);

fn preview_record() -> Event {
    let custom = KvList::from_pairs([
        ("customer_name", Value::from("Jane Q. Public")),
        ("account_no", Value::from("AC-0049912")),
        ("balance_cents", Value::Int(1_250_075)),
        ("tier", Value::from("gold")),
        ("last_order", Value::from("2026-10-30")),
    ])
    .expect("distinct keys");
    Event::new(
        101,
        EventBody::PreviewRecord(RecordData {
            record_handle: 184_467,
            calling_list: "Leads North".into(),
            campaign_name: "Spring Sales".into(),
            group_name: "Spring Sales@Team A".into(),
            group_description: "".into(),
            phone: "+14165550123".into(),
            phone_type: PhoneType::Mobile,
            call_result: CallResult::NoAnswer,
            attempts: 2,
            call_time: 1_795_000_000,
            chain_id: 48_812,
            daily_from_s: 28_800,
            daily_until_s: 72_000,
            tz_offset_s: -18_000,
            contact_media_type: ContactMediaType::Voice,
            cpn_digits: "8005550100".into(),
            extra: KvList::new(),
            custom,
        }),
    )
    .answering(Some(90_211))
}

/// Heap blocks allocated while `work` runs (what it returns is dropped outside the count).
fn blocks_allocated<T>(work: impl FnOnce() -> T) -> (u64, T) {
    let before = dhat::HeapStats::get().total_blocks;
    let result = std::hint::black_box(work());
    (dhat::HeapStats::get().total_blocks - before, result)
}

#[test]
fn hot_paths_allocate_only_what_they_keep() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // Reserved keys only: the typed request borrows nothing and allocates nothing.
    let (blocks, request) = blocks_allocated(|| Request::decode_json(KNOWN_ONLY));
    let request = request.expect("valid");
    assert!(matches!(request.body, RequestBody::RecordProcessed(_)));
    assert_eq!(blocks, 0, "decoding reserved keys allocated");

    // Five custom fields: one block, the custom list the request keeps.
    let (blocks, request) = blocks_allocated(|| Request::decode_json(WITH_CUSTOM));
    let RequestBody::RecordProcessed(processed) = request.expect("valid").body else {
        panic!("decoded as another request");
    };
    assert_eq!(processed.custom.len(), 5);
    assert_eq!(blocks, 1, "decoding five custom fields");

    // A generic list of the same line: one block, its pairs.
    let (blocks, list) = blocks_allocated(|| KvList::from_json_str(KNOWN_ONLY));
    assert_eq!(list.expect("valid").len(), 11);
    assert_eq!(blocks, 1, "reading a list of reserved keys");

    // Writing an event into a buffer with room: nothing.
    let event = preview_record();
    let mut buffer = Vec::with_capacity(4096);
    let (blocks, ()) = blocks_allocated(|| event.write_json(&mut buffer));
    assert_eq!(blocks, 0, "writing a PreviewRecord into a buffer with room");
    assert_eq!(Event::decode_json(std::str::from_utf8(&buffer).expect("UTF-8")), Ok(event.clone()));

    // Building the event's list instead: one block, its pairs (short strings are inline).
    let (blocks, list) = blocks_allocated(|| event.encode());
    assert_eq!(list.len(), 24);
    assert_eq!(blocks, 1, "encoding a PreviewRecord to a list");
}
