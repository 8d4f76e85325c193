//! Property tests of calling lists and retrieval: save -> load gives back exactly the list
//! saved, and retrieval over random lists, times (across daylight-saving changes) and
//! do-not-call entries hands out only records that may be dialed, and nothing only when none
//! may.

use std::time::Duration;

use compact_str::CompactString;
use pacer_engine::protocol::{CallResult, PhoneType, RecordStatus, RecordType};
use pacer_engine::records::{
    CallingList, CustomFieldDef, DoNotCallList, FieldType, ListFormat, Record, RecordHandle, RecordStore,
    Value, tz,
};
use pacer_engine::time::Time;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn of<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

/// Contact information every phone type accepts (see `records::check_contact_info`): cells
/// with quotes, newlines and commas are exercised by the other text fields.
fn phone_number() -> impl Strategy<Value = CompactString> {
    "\\+?[0-9][0-9 ()\\-]{0,14}".prop_map(CompactString::from)
}

/// Non-empty text with the characters CSV must quote or keep: commas, quotes, line breaks,
/// spaces at the ends, non-ASCII.
fn cell() -> impl Strategy<Value = CompactString> {
    "[A-Za-z0-9 ,\"\r\n:;'é漢\\t]{1,12}".prop_map(CompactString::from)
}

fn field_def() -> impl Strategy<Value = CustomFieldDef> {
    ("[a-z][a-z0-9_]{0,8}", of(FieldType::ALL), option::of("[A-Za-z][A-Za-z0-9_:]{0,8}")).prop_map(
        |(name, data_type, send)| CustomFieldDef::new(&format!("x_{name}"), data_type, send.as_deref()),
    )
}

fn format() -> impl Strategy<Value = ListFormat> {
    vec(field_def(), 0..5).prop_map(|mut defs| {
        let mut seen = std::collections::HashSet::new();
        defs.retain(|d| seen.insert(d.name.clone()));
        ListFormat { custom: defs }
    })
}

fn value(data_type: FieldType) -> BoxedStrategy<Option<Value>> {
    match data_type {
        FieldType::Int => option::of(any::<i64>().prop_map(Value::Int)).boxed(),
        FieldType::Float => option::of(
            prop_oneof![
                any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| x.to_string()),
                (-1000i32..1000, 0u8..100).prop_map(|(a, b)| format!("{a}.{b:02}")),
                Just("1e3".to_owned()),
            ]
            .prop_map(|s| Value::Str(s.into())),
        )
        .boxed(),
        _ => option::of(cell().prop_map(Value::Str)).boxed(),
    }
}

fn zone() -> impl Strategy<Value = (CompactString, i32)> {
    prop_oneof![
        (0..tz::all_zones().len()).prop_map(|i| {
            let z = &tz::all_zones()[i];
            (CompactString::from(z.name), z.std_offset_s)
        }),
        ("[A-Z]{2,6}/[A-Za-z_]{1,8}", -43_200i32..=43_200).prop_map(|(n, o)| (CompactString::from(n), o)),
    ]
}

fn record(format: ListFormat, i: usize) -> impl Strategy<Value = Record> {
    let custom = format.custom.iter().map(|d| value(d.data_type)).collect::<Vec<_>>();
    (
        (phone_number(), of(PhoneType::ALL), of(RecordType::ALL), of(RecordStatus::ALL), of(CallResult::ALL)),
        (0..i32::MAX, option::of(0..i64::MAX), option::of(0..i64::MAX), 0..=86_400i32, 0..=86_400i32),
        (zone(), option::of(cell()), 0..5i64, option::of(cell()), option::of(any::<i64>())),
        custom,
    )
        .prop_map(
            move |(
                (phone, phone_type, record_type, record_status, call_result),
                (attempts, dial_sched_time, call_time, daily_from_s, daily_till_s),
                ((tz_name, tz_offset_s), agent_id, chain_shift, customer_id, switch_dbid),
                custom,
            )| Record {
                record_id: i as i64 + 1,
                phone,
                phone_type,
                record_type,
                record_status,
                call_result,
                attempts,
                dial_sched_time,
                call_time,
                daily_from_s,
                daily_till_s,
                tz_name,
                tz_offset_s,
                agent_id,
                // Chains of up to five records; positions unique by construction.
                chain_id: (i as i64) / 5 + chain_shift * 1000,
                chain_n: (i % 5) as i32,
                customer_id,
                switch_dbid,
                custom,
            },
        )
}

fn list() -> impl Strategy<Value = CallingList> {
    (format(), 0..12usize).prop_flat_map(|(format, n)| {
        let records: Vec<_> = (0..n).map(|i| record(format.clone(), i)).collect();
        (Just(format), records).prop_map(|(format, records)| {
            let mut list = CallingList::new("Leads", format);
            for r in records {
                list.push(r).unwrap();
            }
            list
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn save_then_load_round_trips_exactly(list in list()) {
        let mut out = Vec::new();
        list.write_csv(&mut out).unwrap();
        let loaded = CallingList::read_csv(out.as_slice(), "saved.csv", "Leads", None);
        let loaded = match loaded {
            Ok(l) => l,
            Err(e) => panic!("{e}\n{}", String::from_utf8_lossy(&out)),
        };
        prop_assert_eq!(&loaded, &list);
        // Loading with the format given agrees too.
        let with_format = CallingList::read_csv(out.as_slice(), "saved.csv", "Leads", Some(list.format().clone())).unwrap();
        prop_assert_eq!(&with_format, &list);
    }
}

/// A record the retrieval may hand out at `now`, judged from its fields alone.
fn dialable(r: &Record, now: Time) -> bool {
    r.record_status == RecordStatus::Ready
        && !matches!(
            r.record_type,
            RecordType::NoCall | RecordType::PersonalCallBack | RecordType::CampaignCallBack
        )
        && r.dial_sched_time.is_none_or(|t| t <= now.as_unix_s())
        && RecordStore::in_window(r, now)
}

#[derive(Clone, Debug)]
enum Step {
    /// Advance time by this many seconds, then retrieve once.
    Retrieve(u32),
    /// Put the n-th record (modulo the count) back as Ready.
    Return(usize),
    /// Reschedule the n-th record to now plus this many seconds.
    Reschedule(usize, u32),
    /// Block the n-th record's phone for this many seconds.
    Block(usize, u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u32..20_000).prop_map(Step::Retrieve),
        1 => any::<usize>().prop_map(Step::Return),
        1 => (any::<usize>(), 0u32..50_000).prop_map(|(i, s)| Step::Reschedule(i, s)),
        1 => (any::<usize>(), 1u32..50_000).prop_map(|(i, s)| Step::Block(i, s)),
    ]
}

fn retrieval_record(i: usize) -> impl Strategy<Value = Record> {
    (
        of(&["EST", "PST", "CET", "JST", "AEST", "NST", "UTC", "Moon/Base"]),
        0..=86_400i32,
        0..=86_400i32,
        option::of(0i64..200_000),
        prop_oneof![4 => Just(RecordStatus::Ready), 1 => of(RecordStatus::ALL)],
        prop_oneof![4 => Just(RecordType::General), 1 => of(RecordType::ALL)],
        0..4usize,
    )
        .prop_map(move |(zone, from, till, sched, status, kind, phone)| {
            let mut r = Record::new(i as i64 + 1, &format!("555{phone}{i}"), zone);
            if zone == "Moon/Base" {
                r.tz_offset_s = 12_345;
            }
            r.daily_from_s = from;
            r.daily_till_s = till;
            r.record_status = status;
            r.record_type = kind;
            r.customer_id = Some(format!("C{}", i % 7).into());
            r.dial_sched_time = sched.map(|s| START + s);
            r
        })
}

/// 2027-03-13T00:00:00Z: the US changes to daylight time the next day, Europe two weeks
/// later; the steps run for up to several days.
const START: i64 = 1_804_896_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn retrieval_hands_out_exactly_the_dialable_records(
        records in (1..40usize).prop_flat_map(|n| (0..n).map(retrieval_record).collect::<Vec<_>>()),
        blocked_customers in vec(0..7usize, 0..2),
        steps in vec(step(), 1..120),
    ) {
        let mut list = CallingList::new("L", ListFormat::default());
        for r in records {
            list.push(r).unwrap();
        }
        let mut store = RecordStore::new();
        let id = store.add_list(list).unwrap();
        let handles = store.list(id).handles().to_vec();
        let mut now = Time::from_unix_s(START);
        let mut dnc = DoNotCallList::new("t");
        for c in blocked_customers {
            dnc.add_customer_id(&format!("C{c}"), now, None);
        }
        for step in steps {
            match step {
                Step::Retrieve(advance) => {
                    now += Duration::from_secs(u64::from(advance));
                    let before: Vec<Record> = handles.iter().map(|&h| store.get(h).unwrap().clone()).collect();
                    let mut marked = Vec::new();
                    let got = store.retrieve_marking(&[id], now, &dnc, &mut marked);
                    let blocked = |r: &Record| dnc.is_blocked(&r.phone, r.customer_id.as_deref(), now);
                    for &h in &marked {
                        let r = &before[(h.0 - 1) as usize];
                        prop_assert!(dialable(r, now) && blocked(r), "marked {h} was not a dialable DNC record");
                        let after = store.get(h).unwrap();
                        prop_assert_eq!(after.record_type, RecordType::NoCall);
                        prop_assert_eq!(after.record_status, RecordStatus::Updated);
                    }
                    match got {
                        Some(h) => {
                            let r = &before[(h.0 - 1) as usize];
                            prop_assert!(dialable(r, now), "record {h} handed out at {now} but not dialable: {r:?}");
                            prop_assert!(!blocked(r), "record {h} is do-not-call");
                            prop_assert_eq!(store.get(h).unwrap().record_status, RecordStatus::Retrieved);
                            // Due rescheduled records go before records never scheduled.
                            if r.dial_sched_time.is_none() {
                                for (i, other) in before.iter().enumerate() {
                                    prop_assert!(
                                        other.dial_sched_time.is_none() || !dialable(other, now) || blocked(other),
                                        "record {h} (never scheduled) handed out before due rescheduled record {}",
                                        i + 1
                                    );
                                }
                            }
                        }
                        None => {
                            for (i, r) in before.iter().enumerate() {
                                let h = RecordHandle(i as i64 + 1);
                                prop_assert!(
                                    !dialable(r, now) || marked.contains(&h),
                                    "nothing handed out at {now} but record {h} was dialable: {r:?}"
                                );
                            }
                        }
                    }
                    // Nothing besides the marked and the handed-out record changed.
                    for (i, r) in before.iter().enumerate() {
                        let h = RecordHandle(i as i64 + 1);
                        if Some(h) != got && !marked.contains(&h) {
                            prop_assert_eq!(store.get(h).unwrap(), r);
                        }
                    }
                }
                Step::Return(i) => store.return_to_list(handles[i % handles.len()], RecordStatus::Ready),
                Step::Reschedule(i, s) => {
                    let mut r = store.get_mut(handles[i % handles.len()]).unwrap();
                    r.dial_sched_time = Some(now.as_unix_s() + i64::from(s));
                }
                Step::Block(i, s) => {
                    let phone = store.get(handles[i % handles.len()]).unwrap().phone.clone();
                    dnc.add_phone(&phone, now, Some(Duration::from_secs(u64::from(s))));
                }
            }
        }
    }
}
