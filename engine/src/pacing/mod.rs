//! TEMPORARY local stub of the pacing contract (never committed).
#![allow(missing_docs, dead_code, unused_variables)]
use crate::time::Time;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AgentIdx(pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    Ready,
    Talking,
    AfterCallWork,
    NotReady,
    Leaving,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub enum Algorithm {
    Progressive,
    Predictive,
    SmallGroup,
    AdvancedSmallGroup,
    TimeOptimized,
    FixedRatio,
    VicidialAdapt,
}
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
pub enum Goal {
    OverdialRate(f64),
    BusyFactor(f64),
    AgentWaitS(f64),
}
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default)]
pub struct PacingConfig {
    pub algorithm: Algorithm,
    pub goal: Goal,
    pub small_group_max_agents: u32,
    pub fixed_ratio: f64,
    pub max_dials_per_agent: f64,
    pub compliance_max_abandon_rate: f64,
    #[serde(skip)]
    pub compliance_window: Duration,
    #[serde(skip)]
    pub estimator_window: Duration,
    #[serde(skip)]
    pub call_wait_connected_timeout: Duration,
    #[serde(skip)]
    pub compliance_time: Duration,
}
impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            algorithm: Algorithm::Predictive,
            goal: Goal::OverdialRate(0.03),
            small_group_max_agents: 10,
            fixed_ratio: 1.5,
            max_dials_per_agent: 3.0,
            compliance_max_abandon_rate: 0.03,
            compliance_window: Duration::from_secs(3600),
            estimator_window: Duration::from_secs(600),
            call_wait_connected_timeout: Duration::from_secs(10),
            compliance_time: Duration::from_secs(2),
        }
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialOutcome {
    AnsweredLive,
    AnsweringMachine,
    NoAnswer,
    Busy,
    Other,
}
pub struct Decision {
    pub dials: u32,
}
pub enum LogoutStatus {
    Ack,
    Wait(Duration),
}
pub struct GroupPacer {
    ready: AtomicU32,
    inflight: AtomicU32,
    states: std::sync::Mutex<Vec<AgentState>>,
    cfg: PacingConfig,
}
impl GroupPacer {
    pub fn new(config: PacingConfig, max_agents: u32, now: Time) -> GroupPacer {
        GroupPacer {
            ready: AtomicU32::new(0),
            inflight: AtomicU32::new(0),
            states: std::sync::Mutex::new(vec![AgentState::LoggedOut; max_agents as usize]),
            cfg: config,
        }
    }
    pub fn agent_state(&self, agent: AgentIdx, state: AgentState, now: Time) {
        let mut s = self.states.lock().unwrap();
        let old = s[agent.0 as usize];
        if old == AgentState::Ready {
            self.ready.fetch_sub(1, Ordering::Relaxed);
        }
        if state == AgentState::Ready {
            self.ready.fetch_add(1, Ordering::Relaxed);
        }
        s[agent.0 as usize] = state;
    }
    pub fn ready_time(&self, agent: AgentIdx, in_: Duration, now: Time) {}
    pub fn dial_placed(&self, now: Time) -> Option<AgentIdx> {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        None
    }
    pub fn call_progress(
        &self,
        counted_on: Option<AgentIdx>,
        outcome: DialOutcome,
        placed_at: Time,
        now: Time,
    ) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn connected(&self, counted_on: Option<AgentIdx>, answered_at: Time, now: Time) {}
    pub fn abandoned(&self, counted_on: Option<AgentIdx>, answered_at: Time, now: Time) {}
    pub fn call_ended(&self, agent: AgentIdx, talk: Duration, now: Time) {}
    pub fn logout_requested(&self, agent: AgentIdx, now: Time) -> LogoutStatus {
        if self.inflight.load(Ordering::Relaxed) > 0 {
            LogoutStatus::Wait(Duration::from_secs(3))
        } else {
            LogoutStatus::Ack
        }
    }
    pub fn decide(&self, now: Time) -> Decision {
        let r = self.ready.load(Ordering::Relaxed);
        let f = self.inflight.load(Ordering::Relaxed);
        Decision { dials: r.saturating_sub(f) }
    }
    pub fn set_goal(&self, goal: Goal) {}
    pub fn set_algorithm(&self, a: Algorithm) {}
}
