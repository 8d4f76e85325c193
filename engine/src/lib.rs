//! # pacer-engine
//!
//! The embeddable core of pacer, an outbound contact-centre pacing engine:
//!
//! - [`kv`]: the key-value list every protocol message is made of;
//! - [`campaign`]: campaign groups: configuration, options and the load/start/stop lifecycle;
//! - [`pacing`]: the lock-free pacing core (how many calls to place now, per campaign group);
//! - [`protocol`]: the desktop protocol's requests, events and errors, typed and validated;
//! - [`records`]: calling lists, record handles, chains, retrieval and the do-not-call list;
//! - [`server`]: the outbound server state machine, one `handle(now, input, &mut outputs)`;
//! - [`time`]: the clock type every input carries (the engine reads no clock of its own).
//!
//! The engine is sans-IO: it never reads a clock, sleeps, spawns threads or touches a socket.
//! Callers feed messages and time in and take effects out, so the same code runs in the
//! simulator (virtual time), behind the `pacer serve` gateway (wall clock) and inside a dialer.
#![deny(missing_docs)]

pub mod campaign;
pub mod kv;
pub mod pacing;
pub mod protocol;
pub mod records;
pub mod server;
pub mod time;
