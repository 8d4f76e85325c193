//! Shared workloads for pacer's criterion benchmarks (see `benches/README.md`).
//!
//! The messages here are the ones the benches' ids promise: a typical RecordProcessed and a
//! PreviewRecord, each with five custom fields.

use pacer_engine::kv::{KvList, Value};
use pacer_engine::protocol::{CallResult, ContactMediaType, Event, EventBody, PhoneType, RecordData};

/// A RecordProcessed as a desktop sends it: mandatory keys, a call result, a treatment, a
/// reference id and five custom fields.
pub const RECORD_PROCESSED_LINE: &str = concat!(
    r#"{"GSW_AGENT_REQ_TYPE":"RecordProcessed","GSW_APPLICATION_ID":101,"#,
    r#""GSW_CAMPAIGN_NAME":"Spring Sales","GSW_CALLING_LIST":"Leads North","#,
    r#""GSW_RECORD_HANDLE":184467,"GSW_CALL_RESULT":33,"GSW_TREATMENT":"RecordTreatCampaign","#,
    r#""GSW_REFERENCE_ID":90211,"customer_name":"Jane Q. Public","account_no":"AC-0049912","#,
    r#""balance_cents":1250075,"tier":"gold","last_order":"2026-10-30"}"#
);

/// A PreviewRecord with five custom fields, as the server sends it.
pub fn preview_record_event() -> Event {
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
            group_description: String::new().into(),
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
}
