//! Property: whatever the algorithm and goal, the compliance governor in `hard` mode keeps the
//! abandon rate over the regulatory window at or under the cap, over random event sequences.
//!
//! The world is modelled as the governor's guarantee states it: ready agents stay ready until
//! they take a call (agents leave only from wrap-up), an answered call that finds no ready
//! agent waits and is abandoned if none frees up in time. Dials are placed exactly as the
//! decisions say.

// Under `--cfg pacer_loom` the core's atomics are loom's, usable only inside a loom model.
#![cfg(not(pacer_loom))]

use std::collections::VecDeque;
use std::time::Duration;

use pacer_engine::pacing::{
    AgentIdx, AgentState, Algorithm, ComplianceMode, DialOutcome, Goal, GroupPacer, PacingConfig,
};
use pacer_engine::time::Time;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// Decide and place the dials.
    Decide,
    /// The oldest dial in flight gets its result (live or not).
    Result { live: bool },
    /// The oldest waiting answered call gives up: abandoned.
    Timeout,
    /// A talking agent ends the call and goes to wrap-up.
    EndCall(u8),
    /// An agent in wrap-up becomes ready (and takes a waiting call if any).
    Wrapped(u8),
    /// An agent in wrap-up goes not ready, or a not-ready one comes back.
    Toggle(u8),
    /// The goal changes.
    Goal(u8),
    /// Time passes.
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Decide),
        4 => any::<bool>().prop_map(|live| Op::Result { live }),
        1 => Just(Op::Timeout),
        2 => any::<u8>().prop_map(Op::EndCall),
        2 => any::<u8>().prop_map(Op::Wrapped),
        1 => any::<u8>().prop_map(Op::Toggle),
        1 => any::<u8>().prop_map(Op::Goal),
        2 => (1u16..20_000).prop_map(Op::Wait),
    ]
}

struct World {
    pacer: GroupPacer,
    states: Vec<AgentState>,
    in_flight: VecDeque<(Option<AgentIdx>, Time)>,
    waiting: VecDeque<(Option<AgentIdx>, Time)>,
    now: Time,
    cap: f64,
}

impl World {
    fn set(&mut self, agent: usize, state: AgentState) {
        self.states[agent] = state;
        self.pacer.agent_state(AgentIdx(agent as u32), state, self.now);
    }

    fn nth_in(&self, state: AgentState, pick: u8) -> Option<usize> {
        let matching: Vec<usize> = (0..self.states.len()).filter(|&i| self.states[i] == state).collect();
        (!matching.is_empty()).then(|| matching[pick as usize % matching.len()])
    }

    fn connect(&mut self, agent: usize, counted: Option<AgentIdx>, answered: Time) {
        self.pacer.connected(counted, answered, self.now);
        self.set(agent, AgentState::Talking);
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Decide => {
                let d = self.pacer.decide(self.now);
                for _ in 0..d.dials {
                    let counted = self.pacer.dial_placed(self.now);
                    self.in_flight.push_back((counted, self.now));
                }
            }
            Op::Result { live } => {
                let Some((counted, placed)) = self.in_flight.pop_front() else { return };
                let outcome = if live { DialOutcome::AnsweredLive } else { DialOutcome::NoAnswer };
                self.pacer.call_progress(counted, outcome, placed, self.now);
                if live {
                    match self.nth_in(AgentState::Ready, 0) {
                        Some(agent) => self.connect(agent, counted, self.now),
                        None => self.waiting.push_back((counted, self.now)),
                    }
                }
            }
            Op::Timeout => {
                if let Some((counted, answered)) = self.waiting.pop_front() {
                    self.pacer.abandoned(counted, answered, self.now);
                }
            }
            Op::EndCall(pick) => {
                if let Some(agent) = self.nth_in(AgentState::Talking, pick) {
                    self.pacer.call_ended(AgentIdx(agent as u32), Duration::from_secs(30), self.now);
                    self.set(agent, AgentState::AfterCallWork);
                }
            }
            Op::Wrapped(pick) => {
                if let Some(agent) = self.nth_in(AgentState::AfterCallWork, pick) {
                    self.set(agent, AgentState::Ready);
                    if let Some((counted, answered)) = self.waiting.pop_front() {
                        self.connect(agent, counted, answered);
                    }
                }
            }
            Op::Toggle(pick) => {
                if let Some(agent) = self.nth_in(AgentState::AfterCallWork, pick) {
                    self.set(agent, AgentState::NotReady);
                } else if let Some(agent) = self.nth_in(AgentState::NotReady, pick) {
                    self.set(agent, AgentState::AfterCallWork);
                }
            }
            Op::Goal(pick) => {
                let goal = match pick % 4 {
                    0 => Goal::OverdialRate(0.5),
                    1 => Goal::OverdialRate(0.01),
                    2 => Goal::BusyFactor(0.99),
                    _ => Goal::AgentWaitS(0.0),
                };
                self.pacer.set_goal(goal);
            }
            Op::Wait(ms) => self.now += Duration::from_millis(u64::from(ms)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn governor_never_exceeded(
        algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
        cap in prop::sample::select(vec![0.01, 0.03, 0.1]),
        n_agents in 1usize..12,
        ops in prop::collection::vec(op(), 1..400),
    ) {
        let t0 = Time::from_unix_s(1_790_000_000);
        let config = PacingConfig {
            algorithm,
            // An aggressive goal and baseline settings: only the governor stands in the way.
            goal: Goal::OverdialRate(0.5),
            fixed_ratio: 3.0,
            compliance_max_abandon_rate: cap,
            // The worst-case rule holds whatever the answers; `confidence` mode is checked
            // statistically in `pacing_governor_confidence.rs`.
            compliance_mode: ComplianceMode::Hard,
            small_group_max_agents: 5,
            ..PacingConfig::default()
        };
        let mut world = World {
            pacer: GroupPacer::new(config, n_agents as u32, t0),
            states: vec![AgentState::LoggedOut; n_agents],
            in_flight: VecDeque::new(),
            waiting: VecDeque::new(),
            now: t0,
            cap,
        };
        for agent in 0..n_agents {
            world.set(agent, AgentState::Ready);
        }
        for op in &ops {
            world.apply(op);
            let c = world.pacer.overdial(world.now).compliance;
            prop_assert!(
                c.abandoned as f64 <= world.cap * c.answered as f64 + 1e-9,
                "{} abandoned of {} answered over the cap {} after {:?}", c.abandoned, c.answered, world.cap, op
            );
        }
        // The bookkeeping matches the world exactly.
        let s = world.pacer.snapshot();
        prop_assert_eq!(s.calls.in_flight as usize, world.in_flight.len());
        prop_assert_eq!(s.calls.waiting as usize, world.waiting.len());
        prop_assert_eq!(s.rejected_events, 0);
        let count = |state| world.states.iter().filter(|&&x| x == state).count() as u32;
        prop_assert_eq!(s.agents.ready, count(AgentState::Ready));
        prop_assert_eq!(s.agents.talking, count(AgentState::Talking));
        prop_assert_eq!(s.agents.after_call_work, count(AgentState::AfterCallWork));
        prop_assert_eq!(s.agents.not_ready, count(AgentState::NotReady));
        prop_assert_eq!(s.agents.leaving, 0);
        // Answered calls were all either connected or abandoned, or are still waiting.
        let o = world.pacer.overdial(world.now);
        prop_assert_eq!(o.campaign.answered, o.compliance.answered);
    }
}

#[test]
fn the_world_does_abandon_without_the_governor() {
    // The same world with the cap off: the aggressive settings do overdial, so the property
    // above is not true by construction.
    let t0 = Time::from_unix_s(1_790_000_000);
    let config = PacingConfig {
        algorithm: Algorithm::FixedRatio,
        fixed_ratio: 3.0,
        compliance_max_abandon_rate: 1.0,
        ..PacingConfig::default()
    };
    let mut world = World {
        pacer: GroupPacer::new(config, 3, t0),
        states: vec![AgentState::LoggedOut; 3],
        in_flight: VecDeque::new(),
        waiting: VecDeque::new(),
        now: t0,
        cap: 1.0,
    };
    for agent in 0..3 {
        world.set(agent, AgentState::Ready);
    }
    world.apply(&Op::Decide);
    for _ in 0..9 {
        world.apply(&Op::Result { live: true });
    }
    for _ in 0..9 {
        world.apply(&Op::Timeout);
    }
    let c = world.pacer.overdial(world.now).compliance;
    assert_eq!((c.abandoned, c.answered), (6, 9));
}
