//! # pacer-sim
//!
//! A deterministic discrete-event simulation of an outbound contact centre around the real
//! `pacer-engine` server: agent desktops that speak the desktop protocol, customers, a dialer
//! with call progress detection and a switch. Everything random comes from one seeded
//! generator, so a scenario and a seed name a run exactly.
//!
//! - [`queue`]: the time-ordered event queue;
//! - [`dist`]: duration distributions and the run's generator;
//! - [`scenario`]: scenario files (TOML) with validation and `--set` overrides;
//! - [`gateway`]: `pacer serve`, the engine behind a JSON-lines gateway;
#![deny(missing_docs)]

pub mod dist;
pub mod gateway;
pub mod metrics;
pub mod oracle;
pub mod plot;
pub mod queue;
pub mod scenario;
pub mod world;

pub mod compare;
pub mod sweep;
