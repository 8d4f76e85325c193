//! `pacer serve`: the engine as a sidecar for real dialers and desktops, speaking JSON lines
//! over standard input/output or TCP. The line format, the roles, the journal and the
//! notification body are documented in `docs/gateway.md`.
//!
//! - [`lines`]: reading input lines, writing output lines;
//! - [`engine`]: the one owner of the `Server`, its clock and its outputs;
//! - [`transport`]: stdio and TCP (threads and bounded queues);
//! - [`journal`]: the crash-safe journal and writing lists back;
//! - [`notify`]: status notifications over HTTP;
//! - [`metrics`]: Prometheus metrics;
//! - [`config`]: the serve scenario;
//! - [`workload`]: request lines for the throughput bench.

pub mod config;
pub mod engine;
pub mod journal;
pub mod lines;
pub mod metrics;
pub mod notify;
pub mod transport;
pub mod workload;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use crossbeam::channel;
use pacer_engine::server::{AdminCommand, Server};
use pacer_engine::time::Time;

use engine::{ClockMode, Engine, EngineParts};
use journal::{FsyncPolicy, Journal};
use transport::{Msg, TcpLimits};

/// The options of `pacer serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Scenario file (a simulator scenario with a `[serve]` table).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Speak JSON lines on standard input / output (the default).
    #[arg(long, conflicts_with = "listen")]
    pub stdio: bool,
    /// Listen for TCP clients on this address (loopback unless --token-file is given).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// How time advances: `virtual` (the lines' `t`) or `wall` (the machine's clock).
    #[arg(long, value_enum, default_value_t = ClockMode::Wall)]
    pub clock: ClockMode,
    /// Directory of the calling lists (`<list>.csv`); default: the scenario's `lists_dir`.
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// Journal of record updates; default: `<lists dir>/<scenario name>.journal`.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// When the journal is synced to disk.
    #[arg(long, value_enum, default_value_t = FsyncPolicy::Always)]
    pub fsync: FsyncPolicy,
    /// Journal entries after which the lists are written back and the journal emptied (0:
    /// only at start and shutdown).
    #[arg(long, default_value_t = 100_000)]
    pub journal_compact_every: u64,
    /// File holding the token clients must give in their hello line.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// POST status notifications as JSON to this URL (`http://HOST:PORT/PATH`).
    #[arg(long, value_name = "URL")]
    pub notify_url: Option<String>,
    /// Timeout of one notification POST, seconds.
    #[arg(long, default_value_t = 2.0)]
    pub notify_timeout_s: f64,
    /// Retries of a failed notification POST.
    #[arg(long, default_value_t = 3)]
    pub notify_retries: u32,
    /// Notifications queued at most (more are dropped, never waited for).
    #[arg(long, default_value_t = 1024)]
    pub notify_queue: usize,
    /// Serve Prometheus metrics on this address (`GET /metrics`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Longest input line, bytes.
    #[arg(long, default_value_t = 65_536)]
    pub max_line_bytes: usize,
    /// TCP clients connected at once, at most.
    #[arg(long, default_value_t = 256)]
    pub max_clients: usize,
    /// Output lines queued per TCP client before it is disconnected as too slow.
    #[arg(long, default_value_t = 10_000)]
    pub max_queued_lines: usize,
    /// Override a scenario field (`--set group.dial_mode=Progressive`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
}

/// Installs the `tracing` subscriber: to standard error, level from `RUST_LOG` (default
/// `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Runs `pacer serve` until end of input (stdio) or SIGINT / SIGTERM.
pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let token = match &args.token_file {
        None => None,
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let token = text.trim().to_string();
            if token.is_empty() {
                bail!("{}: the token file is empty", path.display());
            }
            Some(token)
        }
    };
    if let Some(addr) = args.listen
        && !addr.ip().is_loopback()
        && token.is_none()
    {
        bail!("--listen {addr}: a non-loopback address needs --token-file");
    }

    let scenario =
        config::load(&args.scenario, &args.sets, args.lists.as_deref()).map_err(anyhow::Error::msg)?;
    let lists_dir = scenario.lists_dir.clone();
    let mut store = config::load_lists(&scenario.config, &lists_dir).map_err(anyhow::Error::msg)?;
    let journal_path =
        args.journal.clone().unwrap_or_else(|| lists_dir.join(format!("{}.journal", scenario.scenario.name)));
    // A restart: what the last run journaled goes back into the lists, then the lists are
    // written back and the journal emptied, so it only ever holds one run's updates.
    let replayed = journal::replay(&journal_path, &mut store).map_err(anyhow::Error::msg)?;
    let released = journal::release_retrieved(&mut store);
    if replayed > 0 || released > 0 {
        tracing::info!(replayed, released, journal = %journal_path.display(), "resumed from the journal");
    }
    journal::write_back(&store, &lists_dir)
        .with_context(|| format!("writing lists to {}", lists_dir.display()))?;
    let mut journal = Journal::open(&journal_path, args.fsync)
        .with_context(|| format!("opening the journal {}", journal_path.display()))?;
    journal.reset().with_context(|| format!("emptying the journal {}", journal_path.display()))?;

    let notifier = match &args.notify_url {
        None => None,
        Some(url) => Some(
            notify::Notifier::start(notify::NotifySettings {
                url: url.clone(),
                timeout: Duration::try_from_secs_f64(args.notify_timeout_s)
                    .context("--notify-timeout-s must be a non-negative number")?,
                retries: args.notify_retries,
                queue: args.notify_queue,
            })
            .map_err(anyhow::Error::msg)?,
        ),
    };
    let metrics = match args.metrics {
        None => None,
        Some(addr) => {
            let (m, registry) = metrics::Metrics::new();
            let bound = metrics::serve(addr, registry).with_context(|| format!("--metrics {addr}"))?;
            eprintln!("pacer serve: metrics on http://{bound}/metrics");
            Some(m)
        }
    };

    let server = Server::new(scenario.config.clone(), store).map_err(|e| anyhow::anyhow!("{e}"))?;
    let groups: Vec<String> = scenario.config.groups.iter().map(|g| g.name.clone()).collect();
    let mut engine = Engine::new(EngineParts {
        server,
        clock: args.clock,
        origin: Time::from_unix_s(scenario.scenario.start_unix_s),
        dns: scenario.dns.clone(),
        groups,
        token,
        journal: Some(journal),
        lists_dir: lists_dir.clone(),
        notifier,
        metrics,
        compact_every: args.journal_compact_every,
    });

    let (tx, rx) = channel::bounded::<Msg>(1024);
    let signal_tx = tx.clone();
    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
            .context("installing signal handlers")?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if signals.forever().next().is_some() {
            let _ = signal_tx.send(Msg::Shutdown);
        }
    })?;

    let listener = match args.listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).with_context(|| format!("--listen {addr}"))?;
            eprintln!("pacer serve: listening on {}", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    // The start-up commands' lines go to whoever is there: stdout, or nobody yet on TCP.
    let mut startup = transport::StdoutTransport::new();
    let startup_out: &mut dyn transport::Transport = &mut startup;
    if scenario.serve.start {
        engine.admin(AdminCommand::Load { group: scenario.group.clone() }, startup_out);
        engine.admin(AdminCommand::Start { group: scenario.group.clone() }, startup_out);
    }
    engine.commit();
    if listener.is_none() {
        startup_out.flush();
    }
    let written = match listener {
        Some(listener) => {
            let limits = TcpLimits {
                max_line: args.max_line_bytes,
                max_clients: args.max_clients,
                max_queued: args.max_queued_lines,
            };
            transport::run_tcp(&mut engine, listener, tx, rx, limits)
        }
        None => transport::run_stdio(&mut engine, tx, rx, args.max_line_bytes),
    }
    .map_err(anyhow::Error::msg)?;
    tracing::info!(records = written, dir = %lists_dir.display(), "calling lists written back");
    Ok(())
}
