//! The engine side of the gateway: one owner of the [`Server`] that turns input lines into
//! engine inputs, keeps the clock, and turns outputs into lines for the transport.
//!
//! It is driven by one thread (see [`super::transport`]); nothing here blocks except the
//! journal's sync, which happens once per batch of lines.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pacer_engine::protocol::CallResult;
use pacer_engine::server::{AdminCommand, Dn, Input, Output, Server, TelephonyEvent};
use pacer_engine::time::Time;

use super::journal::{self, Journal};
use super::lines::{self, Command, Role};
use super::metrics::Metrics;
use super::notify::Notifier;

/// How time advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    /// The `t` of input lines drives time (seconds since the scenario's start).
    Virtual,
    /// The machine's clock; `t` is ignored and timers fire on their own.
    Wall,
}

/// Where an output line goes.
#[derive(Clone, Copy, Debug)]
pub enum To<'a> {
    /// The connection whose line caused it (error lines).
    Sender,
    /// The desktop at this DN.
    Desktop(&'a Dn),
    /// The dialer (dial, route, drop lines).
    Dialer,
    /// Operators (status lines).
    Admin,
}

/// What the transport does with output lines.
pub trait Outbox {
    /// Queues `line` (one JSON object and its newline) for `to`.
    fn send(&mut self, to: To<'_>, line: &[u8]);
}

/// Most wake-ups one move of the virtual clock fires one by one: at the default pacing tick
/// (100 ms) more than a day, about a fifth of a second of work. Past it, a line whose `t`
/// jumps years ahead (up to the 3.2e9 s the lines allow) would take hours and print a summary
/// per interval of the gap.
pub const MAX_TIMER_STEPS: usize = 1_000_000;

/// One connection's state as the engine sees it.
#[derive(Debug)]
pub struct Peer {
    /// Its role; `None` until a hello with the token arrives (when one is required).
    pub role: Option<Role>,
    /// Lines read so far (the number of the line being handled).
    pub line: u64,
    /// A hello was accepted.
    pub introduced: bool,
}

impl Peer {
    /// A connection that may say anything (standard input, open loopback connections).
    pub fn any() -> Peer {
        Peer { role: Some(Role::Any), line: 0, introduced: false }
    }

    /// A connection that must introduce itself first.
    pub fn unauthenticated() -> Peer {
        Peer { role: None, line: 0, introduced: false }
    }
}

/// The engine and everything that hangs off its outputs.
pub struct Engine {
    server: Server,
    clock: ClockMode,
    origin: Time,
    now: Time,
    dns: BTreeSet<Dn>,
    groups: Vec<String>,
    token: Option<String>,
    journal: Option<Journal>,
    lists_dir: PathBuf,
    notifier: Option<Notifier>,
    metrics: Option<Metrics>,
    out: Vec<Output>,
    scratch: Vec<u8>,
    last_gauges: Option<Instant>,
    journal_failed: bool,
    compact_every: u64,
}

/// The wall clock as engine time.
pub fn wall_now() -> Time {
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    Time::from_micros(micros)
}

/// The parts an engine is built from.
pub struct EngineParts {
    /// The server, over its loaded lists.
    pub server: Server,
    /// How time advances.
    pub clock: ClockMode,
    /// Virtual time zero.
    pub origin: Time,
    /// Known DNs (empty: any).
    pub dns: BTreeSet<Dn>,
    /// Campaign group names, in configuration order.
    pub groups: Vec<String>,
    /// The hello token, when one is required.
    pub token: Option<String>,
    /// The journal.
    pub journal: Option<Journal>,
    /// Where the lists are written back.
    pub lists_dir: PathBuf,
    /// Status notifications.
    pub notifier: Option<Notifier>,
    /// Metrics.
    pub metrics: Option<Metrics>,
    /// Journal entries after which the lists are written back and the journal emptied
    /// (0: only at start and shutdown).
    pub compact_every: u64,
}

impl Engine {
    /// An engine from its parts; its clock starts at `origin` (virtual) or now (wall).
    pub fn new(parts: EngineParts) -> Engine {
        let now = match parts.clock {
            ClockMode::Virtual => parts.origin,
            ClockMode::Wall => wall_now(),
        };
        Engine {
            server: parts.server,
            clock: parts.clock,
            origin: parts.origin,
            now,
            dns: parts.dns,
            groups: parts.groups,
            token: parts.token,
            journal: parts.journal,
            lists_dir: parts.lists_dir,
            notifier: parts.notifier,
            metrics: parts.metrics,
            out: Vec::with_capacity(64),
            scratch: Vec::with_capacity(1024),
            last_gauges: None,
            journal_failed: false,
            compact_every: parts.compact_every,
        }
    }

    /// The server (read-only).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The clock mode.
    pub fn clock(&self) -> ClockMode {
        self.clock
    }

    /// Whether hellos need a token.
    pub fn needs_token(&self) -> bool {
        self.token.is_some()
    }

    /// The time of output lines: seconds since the origin (virtual) or Unix seconds (wall).
    fn t(&self, at: Time) -> f64 {
        match self.clock {
            ClockMode::Virtual => at.saturating_duration_since(self.origin).as_secs_f64(),
            ClockMode::Wall => at.as_secs_f64(),
        }
    }

    /// Runs an operator command at start-up (load / start of the scenario's group).
    pub fn admin(&mut self, command: AdminCommand, outbox: &mut dyn Outbox) {
        let now = self.current_time();
        self.server.handle(now, Input::Admin(command), &mut self.out);
        self.dispatch(0, outbox);
    }

    fn current_time(&self) -> Time {
        match self.clock {
            ClockMode::Virtual => self.now,
            ClockMode::Wall => wall_now().max(self.now),
        }
    }

    /// When the engine wants to be woken (wall clock only).
    pub fn next_wakeup(&self) -> Option<Time> {
        self.server.next_wakeup()
    }

    /// Fires every timer due at or before `target` at its own time, then sets the clock to
    /// `target`. A jump across more than [`MAX_TIMER_STEPS`] wake-ups fires the rest at
    /// `target` in one step.
    pub fn advance(&mut self, target: Time, outbox: &mut dyn Outbox) {
        let mut last = None;
        let mut steps = 0usize;
        while let Some(wake) = self.server.next_wakeup() {
            if wake > target || last == Some(wake) {
                break;
            }
            steps += 1;
            if steps > MAX_TIMER_STEPS {
                // Whatever is still due fires now, as after a pause of the process.
                self.now = target.max(self.now);
                self.server.handle(self.now, Input::Timer, &mut self.out);
                self.dispatch(0, outbox);
                break;
            }
            last = Some(wake);
            let at = wake.max(self.now);
            self.now = at;
            self.server.handle(at, Input::Timer, &mut self.out);
            self.dispatch(0, outbox);
        }
        self.now = self.now.max(target);
    }

    fn error(&mut self, line: u64, message: &str, outbox: &mut dyn Outbox) {
        self.scratch.clear();
        lines::write_error(&mut self.scratch, line, message);
        outbox.send(To::Sender, &self.scratch);
        if let Some(m) = &self.metrics {
            m.errors.inc();
        }
    }

    /// Handles one input line from `peer`.
    pub fn line(&mut self, peer: &mut Peer, text: &str, outbox: &mut dyn Outbox) {
        peer.line += 1;
        let n = peer.line;
        let parsed = match lines::parse(text) {
            Ok(p) => p,
            Err(e) => return self.error(n, &e, outbox),
        };
        if let Some(m) = &self.metrics {
            m.line(match parsed.command {
                Command::Clock => "clock",
                Command::Desktop { .. } => "desktop",
                Command::Telephony(_) => "telephony",
                Command::Admin(_) => "admin",
                Command::Hello(_) => "hello",
            });
        }
        let command = match parsed.command {
            Command::Hello(hello) => return self.hello(peer, &hello, outbox),
            other => other,
        };
        let Some(role) = &peer.role else {
            return self.error(n, "the first line must be a hello with the token", outbox);
        };
        if let Err(e) = permitted(role, &command) {
            return self.error(n, &e, outbox);
        }
        if let Some(dn) = dn_of(&command)
            && !self.dns.is_empty()
            && !self.dns.contains(dn)
        {
            return self.error(
                n,
                &format!("unknown DN {:?} (not a place of the scenario)", dn.0.as_str()),
                outbox,
            );
        }
        let now = match self.clock {
            ClockMode::Virtual => match parsed.t {
                Some(t) => {
                    let at = self.origin + std::time::Duration::from_secs_f64(t);
                    if at < self.now {
                        let current = self.t(self.now);
                        return self.error(
                            n,
                            &format!("time goes backwards: t {t} is before {current}"),
                            outbox,
                        );
                    }
                    at
                }
                None => self.now,
            },
            ClockMode::Wall => wall_now().max(self.now),
        };
        self.advance(now, outbox);
        let input = match command {
            Command::Clock | Command::Hello(_) => return,
            Command::Desktop { dn, kv } => Input::Desktop { dn, kv },
            Command::Telephony(event) => {
                if let Some(m) = &self.metrics {
                    match &event {
                        TelephonyEvent::CallResult { result: CallResult::Answer, .. } => m.answered.inc(),
                        TelephonyEvent::CallAbandoned { .. } => m.abandoned.inc(),
                        _ => 0,
                    };
                }
                Input::Telephony(event)
            }
            Command::Admin(command) => Input::Admin(command),
        };
        self.server.handle(now, input, &mut self.out);
        self.dispatch(n, outbox);
    }

    fn hello(&mut self, peer: &mut Peer, hello: &lines::Hello, outbox: &mut dyn Outbox) {
        let n = peer.line;
        if peer.introduced {
            return self.error(n, "this connection already said hello", outbox);
        }
        if let Some(token) = &self.token {
            let given = hello.token.as_deref().unwrap_or("");
            if !same_secret(given, token) {
                return self.error(n, "hello: wrong token", outbox);
            }
        }
        let role = match (hello.role.as_str(), &hello.dn) {
            ("desktop", Some(dn)) if !dn.is_empty() => {
                let dn = Dn::new(dn);
                if !self.dns.is_empty() && !self.dns.contains(&dn) {
                    return self.error(n, &format!("hello: unknown DN {:?}", dn.0.as_str()), outbox);
                }
                Role::Desktop(dn)
            }
            ("desktop", _) => return self.error(n, "hello: role desktop needs `dn`", outbox),
            ("dialer", None) => Role::Dialer,
            ("admin", None) => Role::Admin,
            ("dialer" | "admin", Some(_)) => {
                return self.error(n, "hello: only a desktop names a `dn`", outbox);
            }
            (other, _) => {
                return self.error(
                    n,
                    &format!("hello: unknown role {other:?} (desktop, dialer, admin)"),
                    outbox,
                );
            }
        };
        self.scratch.clear();
        lines::write_welcome(&mut self.scratch, &role);
        outbox.send(To::Sender, &self.scratch);
        peer.role = Some(role);
        peer.introduced = true;
    }

    /// Refuses a line the transport could not read (too long, not UTF-8).
    pub fn reject_line(&mut self, peer: &mut Peer, message: &str, outbox: &mut dyn Outbox) {
        peer.line += 1;
        self.error(peer.line, message, outbox);
    }

    /// Turns the pending outputs into lines.
    fn dispatch(&mut self, line: u64, outbox: &mut dyn Outbox) {
        let t = self.t(self.now);
        for output in self.out.drain(..) {
            self.scratch.clear();
            match output {
                Output::ToDesktop { dn, event } => {
                    lines::write_desktop(&mut self.scratch, t, &dn, &event.encode());
                    outbox.send(To::Desktop(&dn), &self.scratch);
                }
                Output::Dial(dial) => {
                    lines::write_dial(&mut self.scratch, t, &dial);
                    outbox.send(To::Dialer, &self.scratch);
                    if let Some(m) = &self.metrics {
                        m.dials.inc();
                    }
                }
                Output::Route { call, dn, kv } => {
                    lines::write_route(&mut self.scratch, t, call, &dn, &kv);
                    outbox.send(To::Dialer, &self.scratch);
                    if let Some(m) = &self.metrics {
                        m.routed.inc();
                    }
                }
                Output::Drop { call } => {
                    lines::write_drop(&mut self.scratch, t, call);
                    outbox.send(To::Dialer, &self.scratch);
                    if let Some(m) = &self.metrics {
                        m.abandoned.inc();
                    }
                }
                Output::RecordUpdate { list, record } => {
                    if let Some(journal) = &mut self.journal {
                        let store = self.server.store();
                        let result = match store.list_by_name(&list) {
                            Some(id) => journal.append(&list, store.list(id).format(), &record),
                            None => Err(std::io::Error::other(format!("no calling list {list:?}"))),
                        };
                        if let Err(e) = result {
                            self.journal_failed = true;
                            tracing::error!(error = %e, list = %list, record = record.record_id, "journal: append failed");
                        }
                    }
                    if let Some(m) = &self.metrics {
                        m.record_updates.inc();
                    }
                }
                Output::Status(status) => {
                    lines::write_status(&mut self.scratch, t, &status);
                    outbox.send(To::Admin, &self.scratch);
                    if let Some(notifier) = &self.notifier
                        && let Ok(body) = serde_json::to_vec(&lines::status_body(&status))
                    {
                        notifier.post(body);
                    }
                }
                Output::AdminRejected(rejected) => {
                    lines::write_error(&mut self.scratch, line, &rejected.reason);
                    outbox.send(To::Sender, &self.scratch);
                    if let Some(m) = &self.metrics {
                        m.errors.inc();
                    }
                }
            }
        }
    }

    /// Ends a batch of lines: makes the journal durable before the batch's replies leave.
    pub fn commit(&mut self) {
        let Some(journal) = &mut self.journal else { return };
        if let Err(e) = journal.commit() {
            self.journal_failed = true;
            tracing::error!(error = %e, "journal: sync failed");
            return;
        }
        // Compaction: the lists as they are now replace the journal's entries. Only once the
        // entries are on disk, and never after a failed append (the journal is then kept).
        if self.compact_every > 0 && journal.since_reset() >= self.compact_every && !self.journal_failed {
            match journal::write_back(self.server.store(), &self.lists_dir) {
                Ok(records) => match journal.reset() {
                    Ok(()) => tracing::info!(records, "journal: compacted into the lists"),
                    Err(e) => tracing::error!(error = %e, "journal: emptying after compaction failed"),
                },
                Err(e) => tracing::error!(error = %e, "journal: compaction failed, the journal is kept"),
            }
        }
    }

    /// Refreshes the per-group gauges, at most every 250 ms.
    pub fn refresh_gauges(&mut self, engine_queue: usize) {
        let Some(m) = &self.metrics else { return };
        if self.last_gauges.is_some_and(|t| t.elapsed().as_millis() < 250) {
            return;
        }
        self.last_gauges = Some(Instant::now());
        Metrics::labelled(&m.queue_depth, "queue", "engine", engine_queue as i64);
        if let Some(n) = &self.notifier {
            Metrics::labelled(&m.queue_depth, "queue", "notify", n.queued() as i64);
            let c = &n.counters;
            use std::sync::atomic::Ordering::Relaxed;
            Metrics::labelled(&m.notifications, "outcome", "sent", c.sent.load(Relaxed) as i64);
            Metrics::labelled(&m.notifications, "outcome", "failed", c.failed.load(Relaxed) as i64);
            Metrics::labelled(&m.notifications, "outcome", "dropped", c.dropped.load(Relaxed) as i64);
        }
        for group in &self.groups {
            let Some(pacer) = self.server.pacer(group) else { continue };
            let s = pacer.snapshot();
            for (state, v) in [
                ("ready", s.agents.ready),
                ("talking", s.agents.talking),
                ("after_call_work", s.agents.after_call_work),
                ("not_ready", s.agents.not_ready),
                ("leaving", s.agents.leaving),
            ] {
                Metrics::group_gauge(&m.agents, group, "state", state, i64::from(v));
            }
            Metrics::group_gauge(&m.calls, group, "kind", "in_flight", i64::from(s.calls.in_flight));
            Metrics::group_gauge(&m.calls, group, "kind", "waiting", i64::from(s.calls.waiting));
            Metrics::group_float(&m.dial_level, group, None, s.dial_level);
            let o = pacer.overdial(self.now);
            for (window, count) in [
                ("last_n", o.last_n),
                ("last_t", o.last_t),
                ("day", o.day),
                ("campaign", o.campaign),
                ("compliance", o.compliance),
            ] {
                Metrics::group_float(&m.abandon_rate, group, Some(("window", window)), count.rate());
            }
        }
    }

    /// Records a line's latency.
    pub fn observe_latency(&self, since: Instant) {
        if let Some(m) = &self.metrics {
            m.latency.observe(since.elapsed().as_secs_f64());
        }
    }

    /// The metrics, when enabled.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    /// Shuts down: stops and unloads every active group (records out go back to their lists),
    /// writes every list back and empties the journal. Returns how many records were written.
    pub fn shutdown(&mut self, outbox: &mut dyn Outbox) -> Result<usize, String> {
        let now = self.current_time();
        self.now = now;
        for group in self.groups.clone() {
            let Some(state) = self.server.group_state(&group) else { continue };
            if state == pacer_engine::campaign::GroupState::Running {
                self.server.handle(
                    now,
                    Input::Admin(AdminCommand::Stop { group: group.clone() }),
                    &mut self.out,
                );
            }
            if state.is_active() {
                self.server.handle(now, Input::Admin(AdminCommand::Unload { group }), &mut self.out);
            }
            self.dispatch(0, outbox);
        }
        self.commit();
        let written = journal::write_back(self.server.store(), &self.lists_dir)
            .map_err(|e| format!("writing the lists back to {}: {e}", self.lists_dir.display()))?;
        if let Some(journal) = &mut self.journal {
            if self.journal_failed {
                tracing::warn!(path = %journal.path().display(), "journal: kept, since an append failed");
            } else {
                journal.reset().map_err(|e| format!("emptying the journal: {e}"))?;
            }
        }
        if let Some(n) = self.notifier.take() {
            n.finish();
        }
        Ok(written)
    }
}

/// Compares secrets without stopping at the first difference.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn dn_of(command: &Command) -> Option<&Dn> {
    match command {
        Command::Desktop { dn, .. } => Some(dn),
        Command::Telephony(
            TelephonyEvent::AgentLogin { dn, .. }
            | TelephonyEvent::AgentLogout { dn }
            | TelephonyEvent::AgentReady { dn }
            | TelephonyEvent::AgentNotReady { dn }
            | TelephonyEvent::CallConnected { dn, .. },
        ) => Some(dn),
        Command::Admin(
            AdminCommand::JoinAgentGroup { dn, .. } | AdminCommand::LeaveAgentGroup { dn, .. },
        ) => Some(dn),
        _ => None,
    }
}

/// Who may say what: see `docs/gateway.md`.
fn permitted(role: &Role, command: &Command) -> Result<(), String> {
    match (role, command) {
        (Role::Any, _) | (_, Command::Clock) => Ok(()),
        (Role::Desktop(own), Command::Desktop { dn, .. }) => {
            if own == dn {
                Ok(())
            } else {
                Err(format!("this connection is the desktop of {own}; it may not speak for {dn}"))
            }
        }
        (Role::Dialer, Command::Telephony(_)) | (Role::Admin, Command::Admin(_)) => Ok(()),
        (role, command) => {
            let who = match role {
                Role::Desktop(_) => "desktop",
                Role::Dialer => "dialer",
                Role::Admin => "admin",
                Role::Any => "any",
            };
            let what = match command {
                Command::Desktop { .. } => "desktop requests",
                Command::Telephony(_) => "telephony lines (dialer only)",
                Command::Admin(_) => "admin lines (admin only)",
                _ => "this line",
            };
            Err(format!("a {who} connection may not send {what}"))
        }
    }
}
