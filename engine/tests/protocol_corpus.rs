//! Runs the protocol transcript corpus (`tests/corpus/*.toml`) through one `check` helper.
//!
//! `messages.toml` holds a valid instance of every message of the spec and its mandatory keys;
//! from each, this test derives a variant without each mandatory key (102 naming it) and with a
//! wrong type (103 naming it). `cases.toml` holds hand-written edge cases.

use std::collections::BTreeSet;

use pacer_engine::kv::KnownKey;
use pacer_engine::protocol::{Event, EventKind, Request, RequestKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Messages {
    lenient_types: Vec<String>,
    message: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    name: String,
    direction: Direction,
    valid: String,
    mandatory: Vec<String>,
}

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    direction: Direction,
    input: String,
    expect: String,
    contains: Option<String>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Request,
    Event,
}

const APPLICATION_ID: i64 = 101;

/// Decodes `input` and returns ("ok" | "error <number> [<key>]", the decoded value's debug
/// form). For a request that fails, also checks the error event the server would send.
fn outcome(direction: Direction, input: &str) -> (String, String) {
    match direction {
        Direction::Request => match Request::decode_json(input) {
            Ok(request) => {
                // Round trip: what the desktop model encodes, the server decodes the same.
                let again = Request::decode_json(&request.encode_json())
                    .unwrap_or_else(|e| panic!("re-decoding {request:?}: {e}"));
                assert_eq!(again, request, "round trip of {input}");
                ("ok".into(), format!("{request:?}"))
            }
            Err(error) => {
                check_error_event(input, &error.to_event(APPLICATION_ID));
                (
                    error_outcome(error.error.code().number(), error.error.key().map(|k| k.as_str())),
                    String::new(),
                )
            }
        },
        Direction::Event => match Event::decode_json(input) {
            Ok(event) => {
                let again = Event::decode_json(&event.encode_json())
                    .unwrap_or_else(|e| panic!("re-decoding {event:?}: {e}"));
                assert_eq!(again, event, "round trip of {input}");
                ("ok".into(), format!("{event:?}"))
            }
            Err(error) => {
                (error_outcome(error.code().number(), error.key().map(|k| k.as_str())), String::new())
            }
        },
    }
}

fn error_outcome(number: i64, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("error {number} {key}"),
        None => format!("error {number}"),
    }
}

/// An error event carries the error, the request type and the reference id exactly as sent.
fn check_error_event(input: &str, event: &Event) {
    let kv = event.encode();
    assert_eq!(kv.get_str(KnownKey::UserEvent), Some("Error"));
    assert_eq!(kv.get_int(KnownKey::ApplicationId), Some(APPLICATION_ID));
    assert!(kv.get_int(KnownKey::ErrorNumber).is_some());
    assert!(kv.get_str(KnownKey::Error).is_some());
    // Whatever of the request parses as JSON is echoed.
    if let Ok(serde_json::Value::Object(sent)) = serde_json::from_str::<serde_json::Value>(input) {
        if let Some(reference) = sent.get("GSW_REFERENCE_ID").filter(|v| v.is_i64() || v.is_string()) {
            let echoed = serde_json::to_value(kv.get(KnownKey::ReferenceId)).unwrap();
            assert_eq!(&echoed, reference, "reference id echoed for {input}");
        }
        if let Some(serde_json::Value::String(req_type)) = sent.get("GSW_AGENT_REQ_TYPE") {
            assert_eq!(kv.get_str(KnownKey::AgentReqType), Some(req_type.as_str()), "{input}");
        }
    }
    // And the event itself decodes as a desktop would read it.
    let decoded = Event::decode(&kv).unwrap_or_else(|e| panic!("error event does not decode: {e}"));
    assert_eq!(&decoded, event);
}

fn check(name: &str, direction: Direction, input: &str, expect: &str, contains: Option<&str>) {
    let (got, debug) = outcome(direction, input);
    assert_eq!(got, expect, "{name}: {input}");
    if let Some(needle) = contains {
        assert!(debug.contains(needle), "{name}: {needle:?} not in {debug}");
    }
}

fn load<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_message_valid_and_each_mandatory_key_missing_or_mistyped() {
    let corpus: Messages = load("messages.toml");
    let mut requests = BTreeSet::new();
    let mut events = BTreeSet::new();
    let mut variants = 0;
    for message in &corpus.message {
        let (_, debug) = outcome(message.direction, &message.valid);
        assert!(!debug.is_empty(), "{} valid instance refused: {}", message.name, message.valid);
        match message.direction {
            Direction::Request => {
                let request = Request::decode_json(&message.valid).unwrap();
                assert_eq!(request.kind().name(), message.name);
                requests.insert(request.kind());
            }
            Direction::Event => {
                let event = Event::decode_json(&message.valid).unwrap();
                assert_eq!(format!("{:?}", event.kind()), message.name);
                events.insert(event.kind());
            }
        }
        // Every key the message's table makes mandatory gets its two variants below.
        let schema = match message.direction {
            Direction::Request => Request::decode_json(&message.valid).unwrap().kind().schema(),
            Direction::Event => Event::decode_json(&message.valid).unwrap().kind().schema(),
        };
        for key in schema.required() {
            assert!(
                message.mandatory.iter().any(|m| m == key.as_str()),
                "{}: the table's mandatory {key} has no corpus variants",
                message.name
            );
        }
        let serde_json::Value::Object(valid) = serde_json::from_str(&message.valid).unwrap() else {
            panic!("{}: valid instance is not an object", message.name);
        };
        for key in &message.mandatory {
            assert!(
                valid.contains_key(key),
                "{}: mandatory {key} missing from the valid instance",
                message.name
            );
            let mut without = valid.clone();
            without.remove(key);
            let input = serde_json::to_string(&without).unwrap();
            check(
                &format!("{} without {key}", message.name),
                message.direction,
                &input,
                &format!("error 102 {key}"),
                None,
            );

            let mut wrong_types = vec![serde_json::json!({"nested": 1})];
            if !corpus.lenient_types.contains(key) {
                wrong_types.push(match &valid[key] {
                    serde_json::Value::String(_) => serde_json::json!(7),
                    _ => serde_json::json!("seven"),
                });
            }
            for wrong in wrong_types {
                let mut mistyped = valid.clone();
                mistyped.insert(key.clone(), wrong.clone());
                let input = serde_json::to_string(&mistyped).unwrap();
                // A mistyped request type or event name is a wrong type like any other (103).
                check(
                    &format!("{} with {key} = {wrong}", message.name),
                    message.direction,
                    &input,
                    &format!("error 103 {key}"),
                    None,
                );
                variants += 1;
            }
            variants += 1;
        }
    }
    let missing_requests: Vec<_> = RequestKind::ALL.iter().filter(|k| !requests.contains(k)).collect();
    assert!(missing_requests.is_empty(), "requests without a corpus entry: {missing_requests:?}");
    let missing_events: Vec<_> = EventKind::ALL.iter().filter(|k| !events.contains(k)).collect();
    assert!(missing_events.is_empty(), "events without a corpus entry: {missing_events:?}");
    assert!(variants > 200, "only {variants} variants: the corpus has shrunk");
}

#[test]
fn edge_cases() {
    let cases: Cases = load("cases.toml");
    assert!(cases.case.len() > 40);
    for case in &cases.case {
        check(&case.name, case.direction, &case.input, &case.expect, case.contains.as_deref());
    }
}
