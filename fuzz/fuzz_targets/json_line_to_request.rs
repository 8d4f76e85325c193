//! JSON line -> key-value list -> request (and event). Never panics; what the fast reader
//! accepts, the serde_json reference accepts identically; decoding the line straight equals
//! decoding its list; what decodes, round-trips. `engine/tests/fuzz_replay.rs` replays the
//! same checks on the seeds and on every crash input (`engine/tests/fuzz_regressions/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pacer_engine::kv::KvList;
use pacer_engine::protocol::{Event, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let fast = KvList::from_json_str(line);
    if let Ok(list) = &fast {
        assert_eq!(KvList::from_json_str_serde(line).as_ref().ok(), Some(list), "readers disagree");
        // The direct line decoders must agree with decoding the list.
        assert_eq!(Request::decode_json(line), Request::decode(list), "request paths disagree");
        assert_eq!(Event::decode_json(line), Event::decode(list), "event paths disagree");
    }
    match Request::decode_json(line) {
        Ok(request) => assert_eq!(Request::decode(&request.encode()).ok(), Some(request)),
        Err(error) => {
            let event = error.to_event(101);
            assert_eq!(Event::decode(&event.encode()).ok(), Some(event));
        }
    }
    if let Ok(event) = Event::decode_json(line) {
        assert_eq!(Event::decode(&event.encode()).ok(), Some(event));
    }
});
