//! Calling-list CSV: the good files load as expected, every file of the malformed corpus
//! fails with its file, line, field and reason, and save -> load gives the same list.

use std::path::{Path, PathBuf};

use pacer_engine::protocol::{CallResult, PhoneType, RecordStatus, RecordType};
use pacer_engine::records::{CallingList, CustomFieldDef, FieldType, ListFormat, RecordStore, Value};
use serde::Deserialize;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/records").join(name)
}

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    file: String,
    line: u64,
    field: Option<String>,
    reason: String,
}

#[test]
fn every_malformed_file_is_refused_with_file_line_and_field() {
    let text = std::fs::read_to_string(data("malformed.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    assert!(corpus.case.len() >= 20);
    for case in corpus.case {
        let path = data(&case.file);
        let err = match CallingList::load_csv(&path, "Leads", None) {
            Ok(list) => panic!("{} loaded {} records; it should fail", case.file, list.len()),
            Err(err) => err,
        };
        assert_eq!(err.file(), path.display().to_string(), "{}", case.file);
        assert_eq!(err.line(), Some(case.line), "{}: {err}", case.file);
        assert_eq!(err.field(), case.field.as_deref(), "{}: {err}", case.file);
        assert_eq!(err.reason(), case.reason, "{}", case.file);
        let expected = match &case.field {
            Some(field) => format!("{}:{}: field `{field}`: {}", path.display(), case.line, case.reason),
            None => format!("{}:{}: {}", path.display(), case.line, case.reason),
        };
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn every_csv_file_of_the_corpus_is_covered() {
    let text = std::fs::read_to_string(data("malformed.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    for entry in std::fs::read_dir(data("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".csv") && !name.starts_with("good") {
            assert!(corpus.case.iter().any(|c| c.file == name), "{name} has no case in malformed.toml");
        }
    }
}

#[test]
fn crlf_line_ends_and_a_byte_order_mark_read_like_the_plain_file() {
    // good_crlf.csv ends every line with CR LF except inside its one quoted multi-line cell,
    // whose text is the same as the plain file's.
    let plain = CallingList::load_csv(&data("good.csv"), "Leads", None).unwrap();
    // good_upper_case.csv names the list's columns in capitals, as a database export does.
    for variant in ["good_crlf.csv", "good_bom.csv", "good_upper_case.csv"] {
        let list = CallingList::load_csv(&data(variant), "Leads", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list, plain, "{variant}");
    }
}

#[test]
fn a_missing_file_names_the_file() {
    let path = data("no_such_list.csv");
    let err = CallingList::load_csv(&path, "Leads", None).unwrap_err();
    assert_eq!(err.file(), path.display().to_string());
    assert_eq!(err.line(), None);
    assert!(err.to_string().starts_with(&format!("{}: ", path.display())));
}

#[test]
fn the_good_file_loads_with_typed_fields() {
    let list = CallingList::load_csv(&data("good.csv"), "Leads", None).unwrap();
    assert_eq!(list.name(), "Leads");
    assert_eq!(list.len(), 4);
    assert_eq!(
        list.format().custom,
        vec![
            CustomFieldDef::new("tier", FieldType::Char, Some("tier")),
            CustomFieldDef::new("balance", FieldType::Int, Some("balance")),
            CustomFieldDef::new("score", FieldType::Float, None),
            CustomFieldDef::new("notes", FieldType::Varchar, None),
        ]
    );
    let r = &list.records()[0];
    assert_eq!((r.record_id, r.phone.as_str(), r.phone_type), (1, "5551000", PhoneType::HomePhone));
    assert_eq!(
        (r.record_type, r.record_status, r.call_result),
        (RecordType::General, RecordStatus::Ready, CallResult::UnknownCallResult)
    );
    assert_eq!((r.tz_name.as_str(), r.tz_offset_s), ("EST", -18000));
    assert_eq!(r.customer_id.as_deref(), Some("C-1"));
    assert_eq!(
        r.custom,
        vec![
            Some(Value::Str("gold".into())),
            Some(Value::Int(1200)),
            Some(Value::Str("3.5".into())),
            Some(Value::Str("first, with a comma".into()))
        ]
    );
    // Enumerations by name, empty cells as none.
    let r = &list.records()[1];
    assert_eq!(
        (r.phone_type, r.record_type, r.call_result),
        (PhoneType::Mobile, RecordType::General, CallResult::UnknownCallResult)
    );
    assert_eq!(r.custom, vec![None, None, None, None]);
    assert_eq!((r.chain_id, r.chain_n), (1, 1));
    let r = &list.records()[2];
    assert_eq!(r.record_type, RecordType::CampaignCallBack);
    assert_eq!((r.dial_sched_time, r.call_time), (Some(1_800_003_600), Some(1_799_990_000)));
    assert_eq!(r.agent_id.as_deref(), Some("agent7"));
    assert_eq!(r.custom[1], Some(Value::Int(-40)));
    assert_eq!(r.custom[2], Some(Value::Str("1e3".into())), "FLOAT text is kept as written");
    assert_eq!(r.custom[3], Some(Value::Str("two\nlines".into())));
    // Sent fields: only those with a send_attribute, INT as an integer.
    let sent: Vec<_> = list.format().sent_fields(&list.records()[0]).collect();
    assert_eq!(sent, vec![("tier", &Value::Str("gold".into())), ("balance", &Value::Int(1200))]);
}

#[test]
fn zones_by_dbid_take_the_table_name_and_offset() {
    let list = CallingList::load_csv(&data("good_dbid.csv"), "L", None).unwrap();
    let zones: Vec<_> = list.records().iter().map(|r| (r.tz_name.as_str(), r.tz_offset_s)).collect();
    assert_eq!(zones, vec![("EST", -18000), ("CET", 3600)]);
}

#[test]
fn save_then_load_gives_the_same_list() {
    for file in ["good.csv", "good_dbid.csv"] {
        let list = CallingList::load_csv(&data(file), "Leads", None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saved.csv");
        list.save_csv(&path).unwrap();
        let again = CallingList::load_csv(&path, "Leads", None).unwrap();
        assert_eq!(again, list, "{file}");
        // And saving is stable: the second save writes the same bytes.
        let path2 = dir.path().join("saved2.csv");
        again.save_csv(&path2).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&path2).unwrap());
    }
}

#[test]
fn a_given_format_is_enforced() {
    let text = "record_id,contact_info,contact_info_type,record_type,record_status,call_result,attempts,\
                dial_sched_time,call_time,daily_from,daily_till,tz_name,agent_id,chain_id,chain_n,b,a:INT\n\
                1,555,1,2,1,28,0,,,0,86400,UTC,,1,0,x,7\n";
    let format = ListFormat {
        custom: vec![
            CustomFieldDef::new("a", FieldType::Int, Some("key_a")),
            CustomFieldDef::new("b", FieldType::Char, None),
        ],
    };
    // Columns may come in any order; values land in the format's order.
    let list = CallingList::read_csv(text.as_bytes(), "in.csv", "L", Some(format.clone())).unwrap();
    assert_eq!(list.records()[0].custom, vec![Some(Value::Int(7)), Some(Value::Str("x".into()))]);
    assert_eq!(list.format(), &format);

    let wrong_type = text.replace("a:INT", "a:VARCHAR");
    let err = CallingList::read_csv(wrong_type.as_bytes(), "in.csv", "L", Some(format.clone())).unwrap_err();
    assert_eq!(err.to_string(), "in.csv:1: field `a`: header says VARCHAR but the list's format says INT");

    let mut more = format.clone();
    more.custom.push(CustomFieldDef::new("c", FieldType::Varchar, None));
    let err = CallingList::read_csv(text.as_bytes(), "in.csv", "L", Some(more)).unwrap_err();
    assert_eq!(err.to_string(), "in.csv:1: field `c`: column of the list's format missing from the header");

    let mut fewer = format;
    fewer.custom.pop();
    let err = CallingList::read_csv(text.as_bytes(), "in.csv", "L", Some(fewer)).unwrap_err();
    assert_eq!(err.to_string(), "in.csv:1: field `b`: column is not a field of the list's format");
}

#[test]
fn a_loaded_list_goes_into_a_store_with_handles_in_file_order() {
    let list = CallingList::load_csv(&data("good.csv"), "Leads", None).unwrap();
    let mut store = RecordStore::new();
    let id = store.add_list(list).unwrap();
    let handles = store.list(id).handles().to_vec();
    assert_eq!(handles.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(store.chain(handles[1]), vec![handles[0], handles[1]]);
    assert_eq!(store.find_by_customer_id("C-1"), vec![handles[0], handles[1]]);
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_are_read() {
    let text = std::fs::read_to_string(data("good.csv")).unwrap();
    let plain = CallingList::read_csv(text.as_bytes(), "good.csv", "Leads", None).unwrap();
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let list = CallingList::read_csv(crlf.as_bytes(), "good.csv", "Leads", None).unwrap();
    assert_eq!(list.len(), plain.len());
    assert_eq!(list.format(), plain.format());
    assert_eq!(list.records()[0], plain.records()[0]);
    // The line break inside the quoted notes is kept as written.
    assert_eq!(list.records()[2].custom[3], Some(Value::Str("two\r\nlines".into())));
}

#[test]
fn phone_numbers_as_real_calling_lists_write_them_load() {
    // Slashes, extensions written out, dial pauses, tel: and sip: URIs, no-break spaces
    // pasted from a spreadsheet: all numbers a dialer is given in practice.
    let list = CallingList::load_csv(&data("good_phone_formats.csv"), "Leads", None).unwrap();
    assert_eq!(list.len(), 12);
    let mut store = RecordStore::new();
    store.add_list(list).expect("the store takes what the list loaded");
    for bad in ["555-CALL", "n/a", "unknown", "sip:", "tel:", "ext. 12", "5551234 call me"] {
        assert!(
            pacer_engine::records::check_contact_info(bad, PhoneType::HomePhone).is_err(),
            "{bad:?} is not a number"
        );
    }
}

#[test]
fn a_known_column_in_two_letter_cases_is_given_twice() {
    let text = "record_id,RECORD_ID\n";
    let err = CallingList::read_csv(text.as_bytes(), "t.csv", "Leads", None).unwrap_err();
    assert_eq!((err.line(), err.field()), (Some(1), Some("record_id")), "{err}");
    assert_eq!(err.reason(), "column appears twice in the header");
}
