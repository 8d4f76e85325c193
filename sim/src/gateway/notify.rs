//! Status notifications POSTed to an application server (`--notify-url`).
//!
//! The engine thread hands each body to a bounded queue and goes on: a full queue drops the
//! notification (counted), so a dead or slow receiver never stalls pacing. One sender thread
//! POSTs them in order with a timeout per request and a bounded number of retries with
//! exponential back-off; a notification that still fails is dropped (counted, logged).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{self, Receiver, Sender, TrySendError};

/// Settings of the notifier.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    /// `http://HOST:PORT/PATH`.
    pub url: String,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// Retries after a failed POST.
    pub retries: u32,
    /// Notifications waiting to be sent, at most.
    pub queue: usize,
}

/// Counters of the notifier.
#[derive(Debug, Default)]
pub struct NotifyCounters {
    /// Delivered.
    pub sent: AtomicU64,
    /// Given up after the retries.
    pub failed: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// The engine's handle on the sender thread.
pub struct Notifier {
    tx: Option<Sender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
    /// Its counters.
    pub counters: Arc<NotifyCounters>,
}

impl Notifier {
    /// Starts the sender thread.
    pub fn start(settings: NotifySettings) -> Result<Notifier, String> {
        if !settings.url.starts_with("http://") {
            return Err(format!("--notify-url {:?}: only http:// URLs are supported", settings.url));
        }
        let (tx, rx) = channel::bounded(settings.queue.max(1));
        let counters = Arc::new(NotifyCounters::default());
        let c = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || run(settings, rx, c))
            .map_err(|e| e.to_string())?;
        Ok(Notifier { tx: Some(tx), thread: Some(thread), counters })
    }

    /// Queues one JSON body; drops it when the queue is full.
    pub fn post(&self, body: Vec<u8>) {
        if let Some(tx) = &self.tx {
            match tx.try_send(body) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("notify: queue full, a status notification was dropped");
                }
            }
        }
    }

    /// Notifications waiting.
    pub fn queued(&self) -> usize {
        self.tx.as_ref().map_or(0, Sender::len)
    }

    /// Sends what is queued (each with its retries) and stops the thread.
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(settings: NotifySettings, rx: Receiver<Vec<u8>>, counters: Arc<NotifyCounters>) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(settings.timeout)).build().into();
    for body in rx {
        let mut attempt = 0;
        loop {
            let result = agent.post(&settings.url).header("content-type", "application/json").send(&body[..]);
            match result {
                Ok(_) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempt < settings.retries => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "notify: POST failed, retrying");
                    std::thread::sleep(Duration::from_millis(50) * (1 << attempt.min(6)));
                }
                Err(e) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, url = %settings.url, "notify: giving up on a status notification");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_receiver_never_blocks_the_caller() {
        // A port nobody listens on: every POST fails at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let notifier = Notifier::start(NotifySettings {
            url: format!("http://127.0.0.1:{port}/status"),
            timeout: Duration::from_millis(200),
            retries: 1,
            queue: 2,
        })
        .unwrap();
        for _ in 0..50 {
            notifier.post(b"{}".to_vec());
        }
        let counters = Arc::clone(&notifier.counters);
        notifier.finish();
        let sent = counters.sent.load(Ordering::Relaxed);
        let failed = counters.failed.load(Ordering::Relaxed);
        let dropped = counters.dropped.load(Ordering::Relaxed);
        assert_eq!(sent, 0);
        assert_eq!(failed + dropped, 50, "every notification is accounted for");
        assert!(dropped > 0, "a full queue drops instead of waiting");
        assert!(
            Notifier::start(NotifySettings {
                url: "https://example.invalid/".into(),
                timeout: Duration::from_secs(1),
                retries: 0,
                queue: 1
            })
            .is_err()
        );
    }
}
