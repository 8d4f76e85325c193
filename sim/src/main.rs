//! `pacer`: the command-line front of the pacer engine.
//!
//! - `pacer run SCENARIO` simulates a contact centre around the engine and prints the report
//!   (`--json FILE` writes it as JSON; `--seed`, `--set key.path=value`, `--until-event N`);
//! - `pacer scenarios` lists the scenario files, one line each;
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
use pacer_engine::protocol::{Request, RequestBody};
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
    },
    /// List the scenario files, one line each.
    Scenarios,
    /// Run the engine as a JSON-lines gateway for real dialers and desktops.
    Serve(pacer_sim::gateway::ServeArgs),
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
        Command::Run { scenario, seed, sets, json, until_event } => {
            return run_scenario(&scenario, seed, &sets, json, until_event);
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
            for (number, line) in io::stdin().lock().lines().enumerate() {
                let line = line.with_context(|| format!("reading line {} of standard input", number + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                writeln!(out, "{}", outcome(&line, application_id))?;
            }
        }
    }
    Ok(())
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
