//! Transports: standard input/output, and TCP with many clients.
//!
//! Architecture: one engine thread owns the [`Engine`] (and so the `Server`) and is fed by
//! one bounded crossbeam channel. Each source of lines has a reader thread that reads lines
//! (bounded in length), batches what is already buffered and sends the batch. Each TCP client
//! also has a writer thread fed by its own bounded channel; the engine only ever `try_send`s
//! to it, and a client whose queue is full is disconnected, so a slow client never blocks
//! the engine or the others. Plain threads suit the load (a few dozen connections, one
//! engine): no async runtime, and the engine's order of events stays one total order.
//!
//! The engine handles a batch of up to 64 messages, commits the journal once, then hands the
//! batch's replies out (stdout is flushed once per batch), which keeps both throughput and
//! the journal's promise: a reply never leaves before the record updates it depends on are
//! on disk.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};

use super::engine::{ClockMode, Engine, Outbox, Peer, To, wall_now};
use super::lines::Role;
use super::metrics::Metrics;

/// One line as read.
#[derive(Debug)]
pub enum Incoming {
    /// A line (without its newline).
    Line(String),
    /// A line longer than the limit (its length so far, in bytes): skipped.
    TooLong(usize),
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Messages to the engine thread.
pub enum Msg {
    /// Lines from a client, with when they were read.
    Lines {
        /// The client.
        client: u64,
        /// The lines.
        lines: Vec<(Incoming, Instant)>,
    },
    /// A TCP client connected.
    Connected {
        /// Its id.
        client: u64,
        /// Its output queue.
        tx: Sender<Vec<u8>>,
        /// Its socket (to shut it down).
        stream: TcpStream,
    },
    /// A client's input ended.
    Closed {
        /// The client.
        client: u64,
    },
    /// Standard input ended.
    Eof,
    /// SIGINT or SIGTERM.
    Shutdown,
}

/// Lines read at most before a batch is sent.
const BATCH: usize = 256;

/// Reads lines from `r` and sends them in batches; returns at end of input or on an error.
/// A line longer than `max` bytes is reported as [`Incoming::TooLong`] without being kept in
/// memory.
pub fn read_lines<R: Read>(r: R, client: u64, max: usize, tx: &Sender<Msg>) {
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut too_long = false;
    let mut batch: Vec<(Incoming, Instant)> = Vec::with_capacity(BATCH);
    let finish = |line: &mut Vec<u8>, too_long: &mut bool, batch: &mut Vec<(Incoming, Instant)>| {
        let incoming = if *too_long {
            Incoming::TooLong(line.capacity().max(max + 1))
        } else {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            match String::from_utf8(std::mem::take(line)) {
                Ok(s) => Incoming::Line(s),
                Err(_) => Incoming::NotUtf8,
            }
        };
        line.clear();
        *too_long = false;
        batch.push((incoming, Instant::now()));
    };
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if buf.is_empty() {
            if !line.is_empty() || too_long {
                finish(&mut line, &mut too_long, &mut batch);
            }
            break;
        }
        let (chunk, consumed, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(consumed);
        if ended {
            let blank = !too_long && line.iter().all(|b| b.is_ascii_whitespace());
            if blank {
                line.clear();
            } else {
                finish(&mut line, &mut too_long, &mut batch);
            }
            // Send when nothing more is buffered (an interactive peer waits for replies) or
            // the batch is full.
            if !batch.is_empty() && (reader.buffer().is_empty() || batch.len() >= BATCH) {
                let lines = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tx.send(Msg::Lines { client, lines }).is_err() {
                    return;
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Msg::Lines { client, lines: batch });
    }
}

/// What the engine loop needs of a transport besides [`Outbox`].
pub trait Transport: Outbox {
    /// The client whose lines are handled next.
    fn begin(&mut self, client: u64);
    /// A client's role changed (hello).
    fn role_changed(&mut self, client: u64, role: &Option<Role>);
    /// A TCP client connected.
    fn connect(&mut self, client: u64, tx: Sender<Vec<u8>>, stream: TcpStream);
    /// A client went away.
    fn close(&mut self, client: u64);
    /// Hands out the batch's lines; returns the clients disconnected for being too slow.
    fn flush(&mut self) -> Vec<u64>;
}

/// Standard output: every line goes there.
pub struct StdoutTransport {
    buf: Vec<u8>,
    out: io::Stdout,
}

impl StdoutTransport {
    /// The transport over this process's standard output.
    pub fn new() -> StdoutTransport {
        StdoutTransport { buf: Vec::with_capacity(1 << 16), out: io::stdout() }
    }
}

impl Default for StdoutTransport {
    fn default() -> StdoutTransport {
        StdoutTransport::new()
    }
}

impl Outbox for StdoutTransport {
    fn send(&mut self, _to: To<'_>, line: &[u8]) {
        self.buf.extend_from_slice(line);
    }
}

impl Transport for StdoutTransport {
    fn begin(&mut self, _client: u64) {}
    fn role_changed(&mut self, _client: u64, _role: &Option<Role>) {}
    fn connect(&mut self, _client: u64, _tx: Sender<Vec<u8>>, _stream: TcpStream) {}
    fn close(&mut self, _client: u64) {}
    fn flush(&mut self) -> Vec<u64> {
        if !self.buf.is_empty() {
            let mut lock = self.out.lock();
            // A closed standard output is not the engine's concern: input decides when to stop.
            let _ = lock.write_all(&self.buf).and_then(|()| lock.flush());
            self.buf.clear();
        }
        Vec::new()
    }
}

struct ClientOut {
    role: Option<Role>,
    tx: Sender<Vec<u8>>,
    stream: TcpStream,
}

/// TCP clients, routed by role.
pub struct TcpTransport {
    clients: BTreeMap<u64, ClientOut>,
    current: u64,
    pending: Vec<(u64, Vec<u8>)>,
    metrics: Option<Metrics>,
}

impl TcpTransport {
    fn new(metrics: Option<Metrics>) -> TcpTransport {
        TcpTransport { clients: BTreeMap::new(), current: 0, pending: Vec::new(), metrics }
    }
}

impl Outbox for TcpTransport {
    fn send(&mut self, to: To<'_>, line: &[u8]) {
        if let To::Sender = to {
            self.pending.push((self.current, line.to_vec()));
            return;
        }
        for (&id, c) in &self.clients {
            let wanted = match (&c.role, to) {
                (Some(Role::Any), _) => true,
                (Some(Role::Desktop(own)), To::Desktop(dn)) => own == dn,
                (Some(Role::Dialer), To::Dialer) | (Some(Role::Admin), To::Admin) => true,
                _ => false,
            };
            if wanted {
                self.pending.push((id, line.to_vec()));
            }
        }
    }
}

impl Transport for TcpTransport {
    fn begin(&mut self, client: u64) {
        self.current = client;
    }
    fn role_changed(&mut self, client: u64, role: &Option<Role>) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.role = role.clone();
        }
    }
    fn connect(&mut self, client: u64, tx: Sender<Vec<u8>>, stream: TcpStream) {
        self.clients.insert(client, ClientOut { role: None, tx, stream });
        if let Some(m) = &self.metrics {
            m.clients.set(self.clients.len() as i64);
        }
    }
    fn close(&mut self, client: u64) {
        self.clients.remove(&client);
        if let Some(m) = &self.metrics {
            m.clients.set(self.clients.len() as i64);
        }
    }
    fn flush(&mut self) -> Vec<u64> {
        let mut slow = Vec::new();
        for (id, line) in self.pending.drain(..) {
            let Some(c) = self.clients.get(&id) else { continue };
            match c.tx.try_send(line) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(client = id, "client too slow (its queue is full): disconnecting it");
                    let _ = c.stream.shutdown(Shutdown::Both);
                    self.clients.remove(&id);
                    slow.push(id);
                    if let Some(m) = &self.metrics {
                        m.slow_clients.inc();
                    }
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.clients.remove(&id);
                }
            }
        }
        if let Some(m) = &self.metrics {
            m.clients.set(self.clients.len() as i64);
            let deepest = self.clients.values().map(|c| c.tx.len()).max().unwrap_or(0);
            Metrics::labelled(&m.queue_depth, "queue", "clients_max", deepest as i64);
        }
        slow
    }
}

/// Messages handled in one batch at most.
const MAX_BATCH: usize = 64;

/// The engine thread's loop: until end of input (stdio) or a signal.
pub fn run_loop(
    engine: &mut Engine,
    rx: &Receiver<Msg>,
    transport: &mut dyn Transport,
    mut peers: BTreeMap<u64, Peer>,
) -> Result<usize, String> {
    transport.flush();
    let mut shutting_down = false;
    while !shutting_down {
        let first = match engine.clock() {
            ClockMode::Virtual => rx.recv().ok(),
            ClockMode::Wall => match engine.next_wakeup() {
                None => rx.recv().ok(),
                Some(wake) => {
                    let wait = wake.saturating_duration_since(wall_now());
                    match rx.recv_timeout(wait.clamp(Duration::from_micros(100), Duration::from_secs(3600))) {
                        Ok(msg) => Some(msg),
                        Err(RecvTimeoutError::Timeout) => {
                            engine.advance(wall_now(), transport);
                            engine.commit();
                            for id in transport.flush() {
                                peers.remove(&id);
                            }
                            engine.refresh_gauges(rx.len());
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => None,
                    }
                }
            },
        };
        let Some(first) = first else { break };
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(msg) = next {
            match msg {
                Msg::Lines { client, lines } => {
                    transport.begin(client);
                    if let Some(peer) = peers.get_mut(&client) {
                        let role_before = peer.role.clone();
                        for (incoming, at) in lines {
                            match incoming {
                                Incoming::Line(text) => engine.line(peer, &text, transport),
                                Incoming::TooLong(n) => {
                                    let message = format!("line longer than the limit ({n}+ bytes): skipped");
                                    engine.reject_line(peer, &message, transport)
                                }
                                Incoming::NotUtf8 => engine.reject_line(peer, "not UTF-8 text", transport),
                            }
                            engine.observe_latency(at);
                        }
                        if peer.role != role_before {
                            transport.role_changed(client, &peer.role);
                        }
                    }
                }
                Msg::Connected { client, tx, stream } => {
                    let peer = if engine.needs_token() { Peer::unauthenticated() } else { Peer::any() };
                    transport.connect(client, tx, stream);
                    transport.role_changed(client, &peer.role);
                    peers.insert(client, peer);
                }
                Msg::Closed { client } => {
                    peers.remove(&client);
                    transport.close(client);
                }
                Msg::Eof | Msg::Shutdown => {
                    shutting_down = true;
                    break;
                }
            }
            handled += 1;
            next = if handled < MAX_BATCH { rx.try_recv().ok() } else { None };
        }
        if engine.clock() == ClockMode::Wall {
            engine.advance(wall_now(), transport);
        }
        engine.commit();
        for id in transport.flush() {
            peers.remove(&id);
        }
        engine.refresh_gauges(rx.len());
    }
    let written = engine.shutdown(transport);
    transport.flush();
    written
}

/// Runs the stdio gateway until end of input or a signal.
pub fn run_stdio(
    engine: &mut Engine,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    max_line: usize,
) -> Result<usize, String> {
    let reader_tx = tx.clone();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            read_lines(io::stdin().lock(), 0, max_line, &reader_tx);
            let _ = reader_tx.send(Msg::Eof);
        })
        .map_err(|e| e.to_string())?;
    drop(tx);
    let mut peers = BTreeMap::new();
    peers.insert(0, Peer::any());
    let mut transport = StdoutTransport::new();
    run_loop(engine, &rx, &mut transport, peers)
}

/// Limits of the TCP transport.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Longest input line, bytes.
    pub max_line: usize,
    /// Clients connected at once.
    pub max_clients: usize,
    /// Output lines queued per client before it is disconnected as too slow.
    pub max_queued: usize,
}

/// Runs the TCP gateway on `listener` until a signal.
pub fn run_tcp(
    engine: &mut Engine,
    listener: TcpListener,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    limits: TcpLimits,
) -> Result<usize, String> {
    let active = Arc::new(AtomicUsize::new(0));
    let metrics = engine.metrics().cloned();
    std::thread::Builder::new()
        .name("accept".into())
        .spawn(move || accept(listener, tx, limits, active))
        .map_err(|e| e.to_string())?;
    let mut transport = TcpTransport::new(metrics);
    run_loop(engine, &rx, &mut transport, BTreeMap::new())
}

fn accept(listener: TcpListener, tx: Sender<Msg>, limits: TcpLimits, active: Arc<AtomicUsize>) {
    let mut next_id = 1u64;
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if active.load(Ordering::SeqCst) >= limits.max_clients {
            let _ = writeln!(
                stream,
                "{{\"error\":\"line 0: too many clients (the limit is {})\"}}",
                limits.max_clients
            );
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        let id = next_id;
        next_id += 1;
        let _ = stream.set_nodelay(true);
        let (Ok(for_engine), Ok(for_writer)) = (stream.try_clone(), stream.try_clone()) else { continue };
        let (out_tx, out_rx) = channel::bounded::<Vec<u8>>(limits.max_queued.max(1));
        active.fetch_add(1, Ordering::SeqCst);
        if tx.send(Msg::Connected { client: id, tx: out_tx, stream: for_engine }).is_err() {
            return;
        }
        let _ = std::thread::Builder::new().name(format!("client-{id}-out")).spawn(move || {
            let _ = for_writer.set_write_timeout(Some(Duration::from_secs(10)));
            let mut w = BufWriter::new(for_writer);
            while let Ok(line) = out_rx.recv() {
                if w.write_all(&line).is_err() {
                    break;
                }
                if out_rx.is_empty() && w.flush().is_err() {
                    break;
                }
            }
        });
        let reader_tx = tx.clone();
        let active = Arc::clone(&active);
        let _ = std::thread::Builder::new().name(format!("client-{id}-in")).spawn(move || {
            read_lines(stream, id, limits.max_line, &reader_tx);
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = reader_tx.send(Msg::Closed { client: id });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], max: usize) -> Vec<String> {
        let (tx, rx) = channel::unbounded();
        read_lines(text, 0, max, &tx);
        drop(tx);
        let mut out = Vec::new();
        for msg in rx {
            if let Msg::Lines { lines, .. } = msg {
                for (l, _) in lines {
                    out.push(match l {
                        Incoming::Line(s) => s,
                        Incoming::TooLong(_) => "<too long>".into(),
                        Incoming::NotUtf8 => "<not utf-8>".into(),
                    });
                }
            }
        }
        out
    }

    #[test]
    fn reads_lines_with_limits() {
        let long = "x".repeat(100);
        let text = format!("a\r\n\n  \n{long}\nb\n\u{e9}\n");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\nlast");
        assert_eq!(read_all(&bytes, 10), ["a", "<too long>", "b", "\u{e9}", "<not utf-8>", "last"]);
        assert_eq!(read_all(b"", 10), Vec::<String>::new());
    }

    fn socket() -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _peer = listener.accept().unwrap();
        stream
    }

    #[test]
    fn a_slow_client_is_dropped_and_the_others_still_served() {
        let mut t = TcpTransport::new(None);
        let (slow_tx, _slow_rx) = channel::bounded(2);
        let (fast_tx, fast_rx) = channel::bounded(100);
        t.connect(1, slow_tx, socket());
        t.role_changed(1, &Some(Role::Dialer));
        t.connect(2, fast_tx, socket());
        t.role_changed(2, &Some(Role::Any));
        for _ in 0..3 {
            t.send(To::Dialer, b"{}\n");
        }
        t.send(To::Desktop(&pacer_engine::server::Dn::new("7001")), b"{\"dn\":\"7001\"}\n");
        assert_eq!(t.flush(), vec![1], "the client whose queue filled up is dropped");
        assert_eq!(fast_rx.len(), 4, "the other client got every line");
        t.send(To::Dialer, b"{}\n");
        assert!(t.flush().is_empty());
        assert_eq!(fast_rx.len(), 5);
    }
}
