//! `pacer`: the command-line front of the pacer engine.
//!
//! Today it speaks the desktop protocol: `pacer demo` runs a short conversation of desktop
//! requests through the decoder and prints what the server would answer for malformed ones;
//! `pacer decode` reads JSON lines (one key-value list each) from stdin and prints, per line,
//! the typed request or the error event the server would send.

use std::io::{self, BufRead, Write};

use anyhow::Context;
use clap::{Parser, Subcommand};
use pacer_engine::protocol::{Request, RequestBody};

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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
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
