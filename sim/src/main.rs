//! `pacer`: the command-line front of the pacer engine.
//!
//! - `pacer run SCENARIO` simulates a contact centre around the engine and prints the report
//!   (`--json FILE` writes it as JSON; `--seed`, `--set key.path=value`, `--until-event N`);
//! - `pacer scenarios` lists the scenario files, one line each;
//! - `pacer sweep SCENARIO --grid key=v1,v2` runs a grid of overrides × seeds in parallel
//!   (`--shard K/N` for batch arrays; `pacer merge` joins the shards' files);
//! - `pacer compare SCENARIO --algorithms a,b` compares pacing algorithms on the same seeds;
//! - `pacer bench [DIR]` runs the pacing benchmark suite and prints its Markdown table;
//! - `pacer demo` runs a short conversation of desktop requests through the decoder and prints
//!   what the server would answer for malformed ones;
//! - `pacer decode` reads JSON lines (one key-value list each) from stdin and prints, per line,
//!   the typed request or the error event the server would send;
//! - `pacer serve --scenario FILE` runs the engine as a JSON-lines gateway (docs/gateway.md).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use pacer_engine::protocol::{DecodeError, ErrorCode, ProtocolError, Request, RequestBody};
use pacer_sim::scenario;
use pacer_sim::world::{RunOptions, run};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Application id the demo answers as.
const DEMO_APPLICATION_ID: i64 = 101;

#[derive(Parser)]
#[command(name = "pacer", version, about = "Predictive pacing engine for outbound contact centres")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a built-in conversation of desktop requests and show each outcome.
    Demo,
    /// Decode desktop requests, one JSON object per line, from standard input.
    Decode {
        /// Application id to answer errors as.
        #[arg(long, default_value_t = DEMO_APPLICATION_ID)]
        application_id: i64,
    },
    /// Simulate a scenario around the engine and print the report.
    Run {
        /// Scenario name (in scenarios/) or path to a TOML file.
        scenario: String,
        /// Seed of the run's random generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Override a scenario field before it is read (`--set pacing.algorithm=predictive`).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        sets: Vec<String>,
        /// Write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Stop after this many events (replay up to a reported violation).
        #[arg(long)]
        until_event: Option<u64>,
        /// Draw the shift (dial level, agents, waiting calls, abandon rate) to FILE.svg|.png.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Time every event and report the mean wall time per kind of event.
        #[arg(long)]
        profile: bool,
    },
    /// Run a scenario at every point of a grid of overrides, several seeds each, in parallel.
    Sweep(SweepArgs),
    /// Compare pacing algorithms on one scenario with the same seeds.
    Compare {
        /// Scenario name (in scenarios/) or path to a TOML file.
        scenario: String,
        /// Algorithms, comma-separated (`oracle`: the simulator's reference pacer).
        #[arg(long, value_delimiter = ',', required = true)]
        algorithms: Vec<String>,
        /// Seeds per algorithm (the same for each).
        #[arg(long, default_value_t = 5)]
        seeds: u32,
        /// Override a scenario field for every run.
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        sets: Vec<String>,
        /// Worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Also write the runs and summaries to FILE.csv|.json.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the pacing benchmark suite and print its Markdown table.
    Bench {
        /// Directory of benchmark scenarios.
        #[arg(default_value = "scenarios/bench")]
        dir: PathBuf,
        /// Seeds the baselines are tuned on (1..=N); every figure comes from as many other
        /// seeds (N+1..=2N), for the algorithms and the tuned baselines alike.
        #[arg(long, default_value_t = 3)]
        seeds: u32,
        /// The abandon-rate cap the table holds the algorithms to (a share).
        #[arg(long, default_value_t = 0.03)]
        cap: f64,
        /// Override a field of every scenario.
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        sets: Vec<String>,
        /// Worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Combine the result files of a sharded sweep into the unsharded sweep's result.
    Merge {
        /// The shards' files (CSV or JSON), one per shard.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the combined result (.csv or .json).
        #[arg(long)]
        out: PathBuf,
        /// Also draw the Pareto plot to FILE.svg|.png.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// List the scenario files, one line each.
    Scenarios,
    /// Run the engine as a JSON-lines gateway for real dialers and desktops.
    Serve(pacer_sim::gateway::ServeArgs),
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Scenario name (in scenarios/) or path to a TOML file.
    scenario: String,
    /// A grid axis `key.path=v1,v2,...` (repeat for more axes; the points are every combination).
    #[arg(long = "grid", value_name = "KEY.PATH=V1,V2,...")]
    grid: Vec<String>,
    /// Seeds per point (seed s is the same at every point).
    #[arg(long, default_value_t = 3)]
    seeds: u32,
    /// Override a scenario field at every point.
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    sets: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Write runs and per-point summaries to FILE.csv|.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw busy factor against abandon rate with the Pareto frontier to FILE.svg|.png.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// The abandon-rate cap to mark on the plot (a share, e.g. 0.03).
    #[arg(long)]
    cap: Option<f64>,
    /// Run only shard K of N (0-based); default from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT
    /// or JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Shard count for a Kubernetes Indexed Job (else PACER_SHARD_COUNT).
    #[arg(long)]
    shard_count: Option<u32>,
}

const DEMO_LINES: &[&str] = &[
    r#"{"GSW_AGENT_REQ_TYPE":"PreviewDialingModeStart","GSW_APPLICATION_ID":101,"GSW_CAMPAIGN_NAME":"Sales","GSW_REFERENCE_ID":1}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"ReadyTime","GSW_APPLICATION_ID":101,"GSW_RECORD_HANDLE":7,"GSW_READY_TIME":25}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"RecordProcessed","GSW_APPLICATION_ID":101,"GSW_CAMPAIGN_NAME":"Sales","GSW_CALLING_LIST":"Leads","GSW_RECORD_HANDLE":7,"GSW_CALL_RESULT":33,"GSW_TREATMENT":"RecordTreatCampaign","tier":"gold","balance":1200}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"RecordReschedule","GSW_APPLICATION_ID":101,"GSW_CAMPAIGN_NAME":"Sales","GSW_RECORD_HANDLE":8,"GSW_CALLBACK_TYPE":"Personal","GSW_DATE_TIME":"12/01/26 10:30","GSW_REFERENCE_ID":2}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"RecordReschedule","GSW_APPLICATION_ID":101,"GSW_CAMPAIGN_NAME":"Sales","GSW_RECORD_HANDLE":8,"GSW_CALLBACK_TYPE":"Personal","GSW_DATE_TIME":"25/45/00 10:30","GSW_REFERENCE_ID":3}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"DoNotCall","GSW_APPLICATION_ID":101,"GSW_RECORD_HANDLE":9,"GSW_REFERENCE_ID":4}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"ReadyTime","GSW_APPLICATION_ID":101,"GSW_RECORD_HANDLE":7,"GSW_READY_TIME":0}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"Dance","GSW_APPLICATION_ID":101,"GSW_REFERENCE_ID":5}"#,
    r#"{"GSW_AGENT_REQ_TYPE":"LogOut","GSW_APPLICATION_ID":101,"GSW_CAMPAIGN_NAME":"Sales","GSW_CAMPAIGN_NAME":"Other"}"#,
];

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Run { scenario, seed, sets, json, until_event, plot, profile } => {
            return run_scenario(&scenario, seed, &sets, json, until_event, plot, profile);
        }
        Command::Sweep(args) => return run_sweep(args),
        Command::Compare { scenario, algorithms, seeds, sets, threads, out: file } => {
            let result = pacer_sim::compare::compare(
                &scenario,
                &sets,
                &algorithms,
                seeds,
                threads,
                io::stderr().is_terminal(),
            )?;
            write!(out, "{}", pacer_sim::compare::table(&result))?;
            if let Some(file) = file {
                pacer_sim::sweep::write(&result, &file)?;
            }
        }
        Command::Bench { dir, seeds, cap, sets, threads } => {
            check_cap(cap)?;
            let rows = pacer_sim::compare::bench(&dir, &sets, seeds, threads, cap)?;
            write!(out, "{}", pacer_sim::compare::bench_markdown(&rows, cap, seeds))?;
        }
        Command::Merge { files, out: file, plot } => {
            let result = pacer_sim::sweep::merge(&files)?;
            pacer_sim::sweep::write(&result, &file)?;
            if let Some(plot) = plot {
                let title = format!("{}: busy factor against abandon rate", result.scenario);
                pacer_sim::plot::draw_sweep(&pacer_sim::sweep::pareto_points(&result), None, &title, &plot)?;
            }
        }
        Command::Serve(args) => return pacer_sim::gateway::serve(&args),
        Command::Scenarios => {
            for path in scenario::list() {
                match scenario::load(&path, &[]) {
                    Ok(s) => writeln!(out, "{:<16} {}", s.name, s.description)?,
                    Err(e) => writeln!(out, "{:<16} (invalid: {e})", path.display())?,
                }
            }
        }
        Command::Demo => {
            for line in DEMO_LINES {
                writeln!(out, "> {line}")?;
                writeln!(out, "< {}", outcome(line, DEMO_APPLICATION_ID))?;
            }
        }
        Command::Decode { application_id } => {
            // Lines as bytes: a line that is not UTF-8, or longer than a message can be, is
            // one more malformed request, answered like the others, not the end of the input
            // (nor read into memory whole).
            let mut input = io::stdin().lock();
            let mut line = Vec::new();
            let mut number = 0u64;
            while let Some(fits) = read_line_bounded(&mut input, &mut line, MAX_DECODE_LINE_BYTES)
                .with_context(|| format!("reading line {} of standard input", number + 1))?
            {
                number += 1;
                let refused = |detail: String| DecodeError {
                    error: ProtocolError::new(ErrorCode::InvalidRequest).with_detail(detail),
                    req_type: None,
                    application_id: None,
                    reference_id: None,
                    campaign_name: None,
                };
                if !fits {
                    let error = refused(format!("the line is longer than {MAX_DECODE_LINE_BYTES} bytes"));
                    writeln!(out, "error {}", error.to_event(application_id).encode_json())?;
                    continue;
                }
                match std::str::from_utf8(&line) {
                    Ok(text) if text.trim().is_empty() => {}
                    Ok(text) => writeln!(out, "{}", outcome(text, application_id))?,
                    Err(_) => {
                        let error = refused("the line is not UTF-8".into());
                        writeln!(out, "error {}", error.to_event(application_id).encode_json())?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Longest line `pacer decode` reads (the gateway's default limit is far below it).
const MAX_DECODE_LINE_BYTES: usize = 1 << 20;

/// Reads the next line of `input` into `line`, without its `\n` or `\r\n`. `None` at the end
/// of input; `Some(false)` when the line ran past `max` bytes (the rest of it is skipped, not
/// kept); `Some(true)` otherwise.
fn read_line_bounded(input: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<bool>> {
    line.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        any = true;
        let (chunk, used, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if fits && line.len() + chunk.len() <= max {
            line.extend_from_slice(chunk);
        } else {
            fits = false;
            line.clear();
        }
        input.consume(used);
        if ended {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(any.then_some(fits))
}

static PROGRESS: OnceLock<indicatif::ProgressBar> = OnceLock::new();

fn progress(done_s: f64, total_s: f64) {
    if let Some(bar) = PROGRESS.get() {
        bar.set_length(total_s as u64);
        bar.set_position(done_s as u64);
    }
}

fn run_scenario(
    name: &str,
    seed: u64,
    sets: &[String],
    json: Option<PathBuf>,
    until_event: Option<u64>,
    plot: Option<PathBuf>,
    profile: bool,
) -> anyhow::Result<()> {
    // The seed goes out first, so any run can be replayed whatever happens next.
    println!("seed {seed}");
    let Some(path) = scenario::resolve(name) else {
        bail!("no scenario {name:?} (try `pacer scenarios`)");
    };
    let scenario = scenario::load(&path, sets)?;
    // A bar only on a terminal; it appears once the run has lasted a second.
    let show_progress = io::stderr().is_terminal();
    if show_progress {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed} [{bar:40}] {pos}/{len} simulated s")
                .expect("a valid template"),
        );
        let _ = PROGRESS.set(bar);
    }
    let started = std::time::Instant::now();
    let options = RunOptions {
        seed,
        until_event,
        progress: show_progress.then_some(progress_after_a_second as fn(f64, f64)),
        // Every 2 s: answered calls wait for an agent for at most the compliance time.
        trace_every: plot.as_ref().map(|_| std::time::Duration::from_secs(2)),
        profile,
    };
    START.get_or_init(|| started);
    let outcome = run(&scenario, &options).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
    print!("{}", outcome.report.text());
    if let Some(file) = json {
        let text = serde_json::to_string_pretty(&outcome.report)?;
        std::fs::write(&file, text + "\n").with_context(|| format!("writing {}", file.display()))?;
    }
    if let Some(file) = plot {
        let r = &outcome.report;
        let title = format!("{} (seed {}): {} / {}", r.scenario, r.seed, r.algorithm, r.goal);
        pacer_sim::plot::draw_run(&outcome.trace, &title, &file)?;
    }
    if let Some(v) = outcome.violation {
        let sets: String = sets.iter().map(|set| format!(" --set '{set}'")).collect();
        bail!(
            "invariant violated (seed {seed}, event {}): {}\nreplay: pacer run {name} --seed {seed}{sets} --until-event {}",
            v.event_index,
            v,
            v.event_index
        );
    }
    Ok(())
}

/// An abandon-rate cap: a share in [0, 1].
fn check_cap(cap: f64) -> anyhow::Result<()> {
    anyhow::ensure!((0.0..=1.0).contains(&cap), "--cap {cap}: the abandon-rate cap is a share in [0, 1]");
    Ok(())
}

fn run_sweep(args: SweepArgs) -> anyhow::Result<()> {
    use pacer_sim::sweep::{Axis, Shard, SweepSpec};
    if let Some(cap) = args.cap {
        check_cap(cap)?;
    }
    let grid = args.grid.iter().map(|g| Axis::parse(g)).collect::<anyhow::Result<Vec<_>>>()?;
    let shard = match &args.shard {
        Some(text) => Some(Shard::parse(text)?),
        None => Shard::from_env(|k| std::env::var(k).ok(), args.shard_count)?,
    };
    if let Some(s) = shard {
        eprintln!("shard {s}");
    }
    let spec = SweepSpec {
        scenario: args.scenario,
        sets: args.sets,
        grid,
        seeds: args.seeds,
        threads: args.threads,
        shard,
        progress: io::stderr().is_terminal(),
    };
    let result = pacer_sim::sweep::sweep(&spec)?;
    if let Some(file) = &args.out {
        pacer_sim::sweep::write(&result, file)?;
    }
    if shard.is_none() {
        print!("{}", pacer_sim::sweep::table(&result));
        if let Some(file) = &args.plot {
            let title = format!("{}: busy factor against abandon rate", result.scenario);
            pacer_sim::plot::draw_sweep(&pacer_sim::sweep::pareto_points(&result), args.cap, &title, file)?;
        }
    } else if args.out.is_none() {
        print!("{}", pacer_sim::sweep::render(&result, pacer_sim::sweep::Format::Csv)?);
    }
    Ok(())
}

static START: OnceLock<std::time::Instant> = OnceLock::new();

fn progress_after_a_second(done_s: f64, total_s: f64) {
    if START.get().is_some_and(|t| t.elapsed().as_secs_f64() > 1.0) {
        progress(done_s, total_s);
    }
}

/// One line's outcome: a summary of the typed request, or the error event the server sends.
fn outcome(line: &str, application_id: i64) -> String {
    match Request::decode_json(line) {
        Ok(request) => format!("ok {}", summary(&request)),
        Err(error) => format!("error {}", error.to_event(application_id).encode_json()),
    }
}

fn summary(request: &Request) -> String {
    let detail = match &request.body {
        RequestBody::ReadyTime { record_handle, ready_time_s } => {
            format!(" record {record_handle} ready in {ready_time_s} s")
        }
        RequestBody::RecordProcessed(p) => format!(
            " record {} list {} result {:?} treatment {:?} custom {}",
            p.record_handle, p.calling_list, p.changes.call_result, p.treatment, p.custom
        ),
        RequestBody::RecordReschedule(r) | RequestBody::ScheduledRecordReschedule(r) => {
            format!(" record {} {} callback at {}", r.record_handle, r.callback_type, r.date_time)
        }
        other => format!(" {other:?}"),
    };
    format!("{}{detail}", request.kind().name())
}
