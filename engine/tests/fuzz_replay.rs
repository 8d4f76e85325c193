//! Replays the fuzz target's checks (`fuzz/fuzz_targets/json_line_to_request.rs`) on its seed
//! corpus (`fuzz/seeds/`) and on every input a fuzz run ever failed on
//! (`tests/fuzz_regressions/`, one file per crash, named for what it found), so a fixed crash
//! stays fixed without a fuzzer.

use std::path::{Path, PathBuf};

use pacer_engine::kv::KvList;
use pacer_engine::protocol::{Event, Request};

/// The fuzz target's checks: never panic; what the fast reader accepts, the serde_json
/// reference accepts identically; decoding a line equals decoding its list; what decodes,
/// round-trips; an error becomes an error event that round-trips.
fn check(line: &str) {
    let fast = KvList::from_json_str(line);
    if let Ok(list) = &fast {
        assert_eq!(KvList::from_json_str_serde(line).as_ref().ok(), Some(list), "readers disagree on {line}");
        assert_eq!(Request::decode_json(line), Request::decode(list), "request paths disagree on {line}");
        assert_eq!(Event::decode_json(line), Event::decode(list), "event paths disagree on {line}");
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
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(dir: &Path) -> usize {
    let files = files_in(dir);
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The target only looks at UTF-8 input; so does the replay.
        if let Ok(line) = std::str::from_utf8(&bytes) {
            check(line);
        }
    }
    files.len()
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let n = replay(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions"));
    assert!(n > 0, "no regression inputs found");
}

#[test]
fn fuzz_seeds_pass_the_targets_checks() {
    let n = replay(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds"));
    assert!(n > 0, "no seeds found");
}
