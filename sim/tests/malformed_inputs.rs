//! The malformed-input corpora of the simulator's files (`tests/data/malformed/`): every case
//! must be refused with a message naming the file, the line and what is wrong — never a panic,
//! never a silent default.
//!
//! - `scenarios/*.toml`: one scenario per case; its first lines say where and what:
//!   `# line: N` (the line the error must point at) and `# expect: text` (a piece of the
//!   message). A new case is a new file.
//! - `serve/*.toml`: scenarios for `pacer serve` whose `[serve]` table is bad, in the same
//!   form.
//! - `sets.toml`: `--set` overrides, each refused with a message naming the override.

use std::path::{Path, PathBuf};

use pacer_sim::scenario;
use serde::Deserialize;

mod serve_cmd;

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/malformed").join(dir)
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// The value of the header comment `# name: value` of a corpus file.
fn header<'t>(text: &'t str, name: &str, file: &Path) -> &'t str {
    let prefix = format!("# {name}: ");
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{}: no `{prefix}` header", file.display()))
}

/// Loads every file of the corpus `dir` with `load` and checks each error is at the line and
/// says what the file's header says.
fn check_located_corpus(
    dir: &str,
    min_cases: usize,
    load: impl Fn(&Path) -> Result<(), (Option<usize>, String)>,
) {
    let files = files_in(&corpus(dir), "toml");
    assert!(files.len() >= min_cases, "{} cases", files.len());
    // Every case is tried before failing, so one run lists every case that goes wrong.
    let mut wrong = Vec::new();
    for file in files {
        // Lossy: one case is a file that is not UTF-8 (its header lines are).
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let line: usize = header(&text, "line", &file).parse().expect("a line number");
        let expect = header(&text, "expect", &file);
        match load(&file) {
            Ok(()) => wrong.push(format!("{}: accepted; should fail with {expect:?}", file.display())),
            Err((error_line, message)) => {
                let at_line = message.starts_with(&format!("{}:{line}:", file.display()));
                if error_line.is_some_and(|l| l != line) || !at_line || !message.contains(expect) {
                    wrong.push(format!("{message}\n  should be at line {line} and contain {expect:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_malformed_scenario_is_refused_at_its_line() {
    check_located_corpus("scenarios", 50, |file| {
        scenario::load(file, &[]).map(drop).map_err(|e| (e.line, e.to_string()))
    });
}

#[test]
fn an_oversized_scenario_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    // Sparse: the size is there without the bytes.
    std::fs::File::create(&path).unwrap().set_len(scenario::MAX_SCENARIO_BYTES + 1).unwrap();
    let error = scenario::load(&path, &[]).unwrap_err().to_string();
    assert!(error.contains("a scenario file has at most 16777216"), "{error}");
}

#[test]
fn every_malformed_serve_table_is_refused_at_its_line() {
    let lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/lists");
    check_located_corpus("serve", 10, |file| {
        pacer_sim::gateway::config::load(file, &[], Some(&lists)).map(drop).map_err(|e| (None, e))
    });
}

#[derive(Deserialize)]
struct Sets {
    case: Vec<SetCase>,
}

#[derive(Deserialize)]
struct SetCase {
    set: String,
    expect: String,
}

#[test]
fn every_malformed_override_is_refused_naming_it() {
    let text = std::fs::read_to_string(corpus("sets.toml")).unwrap();
    let sets: Sets = toml::from_str(&text).unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/small-5.toml");
    for case in sets.case {
        let error = match scenario::load(&base, std::slice::from_ref(&case.set)) {
            Ok(_) => panic!("--set {} was accepted; it should fail with {:?}", case.set, case.expect),
            Err(e) => e,
        };
        let message = error.to_string();
        assert!(message.starts_with(&format!("--set {}: ", case.set)), "{message}");
        assert!(message.contains(&case.expect), "{message}\nshould contain {:?}", case.expect);
    }
}

/// `merge/<case>/`: the shard files of one `pacer merge` (in name order) and `expect`, a piece
/// of the error it must give; a case without `expect` must merge.
#[test]
fn every_malformed_merge_is_refused() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus("merge"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in cases {
        let expect = std::fs::read_to_string(case.join("expect")).ok();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&case)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.file_name().is_some_and(|n| n != "expect"))
            .collect();
        files.sort();
        match (pacer_sim::sweep::merge(&files), expect) {
            (Ok(result), None) => {
                // The grid in the order the sweep was given, whichever shard came first.
                assert_eq!(result.runs.len(), 4, "{}", case.display());
                assert_eq!(result.grid[0].values, ["3", "4"], "{}", case.display());
            }
            (Ok(_), Some(expect)) => {
                wrong.push(format!("{}: merged; should fail with {expect:?}", case.display()))
            }
            (Err(e), None) => wrong.push(format!("{}: {e:#}; should merge", case.display())),
            (Err(e), Some(expect)) => {
                let message = format!("{e:#}");
                if !message.contains(&expect) {
                    wrong.push(format!("{}: {message}\n  should contain {expect:?}", case.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `pacer decode` answers every line, garbage included, with one line: the error event the
/// server would send (or `ok`), and never stops early.
#[test]
fn decode_answers_every_garbage_line() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let long = vec![b'{'; 2 << 20];
    let lines: &[(&[u8], &str)] = &[
        (&long, "longer than 1048576 bytes"),
        (b"not json at all", "\"GSW_ERROR_NUMBER\":101"),
        (b"\xff\xfe\x00garbage", "\"GSW_ERROR_NUMBER\":101"),
        (b"{}", "\"GSW_ERROR_NUMBER\":102"),
        (
            b"{\"GSW_AGENT_REQ_TYPE\":\"LogOut\",\"GSW_APPLICATION_ID\":101,\"GSW_CAMPAIGN_NAME\":\"S\"}\r",
            "ok LogOut",
        ),
        (b"{\"GSW_AGENT_REQ_TYPE\":\"LogOut\",\"GSW_APPLICATION_ID\":1e999}", "\"GSW_ERROR_NUMBER\":101"),
        (b"{\"GSW_AGENT_REQ_TYPE\":\"LogOut\",\"GSW_APPLICATION_ID\":1e300}", "\"GSW_ERROR_NUMBER\":103"),
        (b"\x00\x00\x00", "\"GSW_ERROR_NUMBER\":101"),
        (
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "\"GSW_ERROR_NUMBER\":101",
        ),
        (b"{\"GSW_AGENT_REQ_TYPE\":\"LogOut\"", "\"GSW_ERROR_NUMBER\":101"),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (line, _) in lines {
            stdin.write_all(line).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let answers: Vec<&str> = text.lines().collect();
    assert_eq!(answers.len(), lines.len(), "{text}");
    for ((line, expect), answer) in lines.iter().zip(answers) {
        assert!(answer.contains(expect), "{:?} answered {answer}", String::from_utf8_lossy(line));
    }
}

/// Extreme but valid settings run to the end. With one line and a long list, every dial but
/// the first finds no free line; the simulator used to answer each one synchronously, the
/// engine dialed the next record from inside that answer, and the recursion overflowed the
/// stack (this test runs on a test thread's small stack, where 3000 records were enough).
#[test]
fn one_line_and_a_long_list_do_not_overflow_the_stack() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/small-5.toml");
    let sets = ["dialer.lines=1", "records.count=20000", "duration_s=120"].map(String::from);
    let scenario = scenario::load(&base, &sets).unwrap();
    let options = pacer_sim::world::RunOptions {
        seed: 1,
        until_event: None,
        progress: None,
        trace_every: None,
        profile: false,
    };
    let outcome = pacer_sim::world::run(&scenario, &options).unwrap();
    assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
}

/// A line of `pacer serve --clock virtual` whose `t` jumps years ahead is answered at once:
/// the clock walks at most `MAX_TIMER_STEPS` wake-ups one by one and fires the rest in one
/// step (it used to walk every 100 ms tick of the gap: hours of work and a summary line per
/// minute of it).
#[test]
fn serve_takes_a_far_jump_of_the_virtual_clock_in_bounded_steps() {
    use std::io::Write;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lists = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("scenarios/lists/serve-example.csv"), lists.path().join("serve-example.csv"))
        .unwrap();
    let mut child = serve_cmd::serve("virtual", lists.path(), &[]).spawn().unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for line in [
            r#"{"t": 0, "tel": "AgentLogin", "dn": "7001", "agent": "1001"}"#,
            r#"{"t": 1, "tel": "AgentNotReady", "dn": "7001"}"#,
            r#"{"t": 3000000000}"#,
            r#"{"t": 3000000001, "tel": "AgentReady", "dn": "7001"}"#,
        ] {
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let summaries = text.lines().filter(|l| l.contains(r#""kind":"summary""#)).count();
    // A summary a minute over the first million 100 ms ticks, then one for the rest.
    assert!((1000..=2000).contains(&summaries), "{summaries} summaries");
    assert!(
        text.lines().last().unwrap_or("").contains("unloaded"),
        "{}",
        &text[text.len().saturating_sub(500)..]
    );
}

/// Values that break naive readers, spliced into inputs by [`mutate`].
const NASTY: &[&str] = &[
    "nan",
    "-1",
    "1e300",
    "-1e300",
    "inf",
    "0",
    "-0",
    "99999999999999999999",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"x\"",
    "true",
    "\n",
    "\r\n",
    "=",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    ",",
    ":",
    "\u{feff}",
    "\u{0}",
];

/// A random mutation of `text`: bytes changed, ranges cut or doubled, a value replaced by a
/// nasty one, the end cut off.
fn mutate(rng: &mut rand_pcg::Pcg64Mcg, text: &str) -> Vec<u8> {
    use rand::Rng;
    let mut s = text.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..4) {
        if s.is_empty() {
            s.push(b'x');
        }
        let at = rng.gen_range(0..s.len());
        let nasty = NASTY[rng.gen_range(0..NASTY.len())].as_bytes();
        match rng.gen_range(0..6) {
            0 => s[at] = rng.r#gen(),
            1 => {
                let end = (at + rng.gen_range(1..20)).min(s.len());
                s.drain(at..end);
            }
            2 => {
                s.splice(at..at, nasty.iter().copied());
            }
            3 => {
                // The value after the next `=`, `:` or `,`.
                if let Some(p) = s[at..].iter().position(|&b| b == b'=' || b == b':' || b == b',') {
                    let start = at + p + 1;
                    let end = s[start..]
                        .iter()
                        .position(|&b| b == b'\n' || b == b',' || b == b'}')
                        .map_or(s.len(), |e| start + e);
                    s.splice(start..end, nasty.iter().copied());
                }
            }
            4 => {
                let end = (at + rng.gen_range(1..40)).min(s.len());
                let chunk = s[at..end].to_vec();
                s.splice(at..at, chunk);
            }
            _ => s.truncate(at),
        }
    }
    s
}

/// Thousands of mutated scenarios, calling lists, protocol lines and shard files: each is
/// read or refused, never a panic; a refused scenario or list names its file; what is read is
/// consistent (a calling list that loads is one the store takes, a request that decodes
/// round-trips). A fixed seed, so a failure replays.
#[test]
fn mutated_inputs_are_read_or_refused_never_a_panic() {
    use pacer_engine::protocol::Request;
    use pacer_engine::records::{CallingList, RecordStore};
    use rand::SeedableRng;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let scenarios =
        ["scenarios/small-5.toml", "scenarios/serve-example.toml", "scenarios/callbacks-dnc.toml"].map(read);
    let lists = ["engine/tests/data/records/good.csv", "scenarios/lists/serve-example.csv"].map(read);
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(root.join("fuzz/seeds")).unwrap() {
        lines.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    lines.sort();
    let shard_dir = corpus("merge/good-reversed");
    let shards = [read_path(&shard_dir.join("a-shard1.csv")), read_path(&shard_dir.join("b-shard0.json"))];
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
    for i in 0..1200 {
        let text = mutate(&mut rng, &scenarios[i % scenarios.len()]);
        let text = String::from_utf8_lossy(&text);
        match scenario::parse(&text, "mutated.toml", &[]) {
            Ok(s) => drop(pacer_sim::world::server_config(&s)),
            Err(e) => assert!(e.to_string().starts_with("mutated.toml"), "{e}"),
        }

        let csv = mutate(&mut rng, &lists[i % lists.len()]);
        match CallingList::read_csv(csv.as_slice(), "mutated.csv", "Leads", None) {
            Ok(list) => {
                let n = list.len();
                let mut store = RecordStore::new();
                let id = store.add_list(list).unwrap_or_else(|e| {
                    panic!(
                        "a list that loads must be one the store takes: {e}\n{}",
                        String::from_utf8_lossy(&csv)
                    )
                });
                assert_eq!(store.list(id).len(), n, "no record lost");
            }
            Err(e) => assert!(e.to_string().starts_with("mutated.csv"), "{e}"),
        }

        let line = mutate(&mut rng, &lines[i % lines.len()]);
        if let Ok(line) = std::str::from_utf8(&line)
            && let Ok(request) = Request::decode_json(line)
        {
            assert_eq!(Request::decode(&request.encode()).as_ref().ok(), Some(&request), "{line}");
        }

        // Fewer shard files: each costs two file writes.
        if i % 4 != 0 {
            continue;
        }
        let k = i / 4 % 2;
        let shard = mutate(&mut rng, &shards[k]);
        let names = [tmp.path().join("a-shard1.csv"), tmp.path().join("b-shard0.json")];
        std::fs::write(&names[k], &shard).unwrap();
        std::fs::write(&names[1 - k], &shards[1 - k]).unwrap();
        let _ = pacer_sim::sweep::merge(&names);
    }
}

fn read_path(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Sweep arguments that cannot give a sensible sweep are refused before anything runs.
#[test]
fn malformed_sweep_arguments_are_refused() {
    use pacer_sim::sweep::{Axis, Shard, SweepSpec, sweep};
    let axis = |key: &str, values: &[&str]| Axis {
        key: key.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    let spec = |grid: Vec<Axis>, threads: usize, shard: Option<Shard>| SweepSpec {
        scenario: "small-5".into(),
        sets: vec!["duration_s=60".into()],
        grid,
        seeds: 1,
        threads,
        shard,
        progress: false,
    };
    let cases = [
        (
            spec(vec![axis("agents.count", &["1", "2"]), axis("agents.count", &["3"])], 0, None),
            "the key is given twice",
        ),
        (spec(vec![axis("agents.count", &["1", "1"])], 0, None), "the value `1` is given twice"),
        (spec(vec![axis("agents.count", &["1", "2"])], 100_000, None), "--threads 100000: at most 1024"),
        (
            spec(vec![axis("agents.count", &["1", "2"])], 0, Some(Shard::parse("5/9").unwrap())),
            "shard 5/9 has no runs: the sweep has 2",
        ),
        (spec(vec![axis("agents.count", &["1", "many"])], 0, None), "invalid type: string \"many\""),
        (spec(vec![axis("agents.cuont", &["1"])], 0, None), "unknown field `cuont`"),
    ];
    for (spec, expect) in cases {
        let error = match sweep(&spec) {
            Ok(_) => panic!(
                "{:?} ran; it should fail with {expect:?}",
                spec.grid.iter().map(|a| &a.key).collect::<Vec<_>>()
            ),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(expect), "{error}\nshould contain {expect:?}");
    }
    for bad in ["", "3", "a/b", "2/2", "0/0", "1/x"] {
        assert!(Shard::parse(bad).is_err(), "shard {bad:?} was accepted");
    }
}
