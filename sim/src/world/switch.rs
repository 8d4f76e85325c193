//! The switch: answered calls waiting for an agent, and ready agents waiting for a call.
//!
//! Agents are served longest-idle first: the ready queue is kept in the order agents became
//! ready, so its head is the agent that has waited longest. Calls are served first come,
//! first served. Both queues delete lazily: an agent that stops being ready bumps its epoch and
//! its stale queue entry is skipped when it reaches the head; a call that leaves the queue
//! (abandoned, dropped) is skipped by the caller's `still_waiting` test. That keeps every
//! operation O(1) amortised, which matters on a 10,000-agent floor.

use std::collections::VecDeque;

/// Ready agents (longest idle first) and waiting calls (first come first served).
#[derive(Clone, Debug, Default)]
pub struct Switch<C> {
    idle: VecDeque<(u32, u64)>,
    epoch: Vec<u64>,
    ready: Vec<bool>,
    n_ready: usize,
    waiting: VecDeque<C>,
}

impl<C: Copy> Switch<C> {
    /// A switch for agents `0..n_agents`, none ready.
    pub fn new(n_agents: usize) -> Switch<C> {
        Switch {
            idle: VecDeque::with_capacity(n_agents),
            epoch: vec![0; n_agents],
            ready: vec![false; n_agents],
            n_ready: 0,
            waiting: VecDeque::new(),
        }
    }

    /// The agent becomes ready; it goes to the back of the idle queue.
    pub fn agent_ready(&mut self, agent: u32) {
        let a = agent as usize;
        if a >= self.ready.len() {
            self.ready.resize(a + 1, false);
            self.epoch.resize(a + 1, 0);
        }
        if !self.ready[a] {
            self.ready[a] = true;
            self.n_ready += 1;
            self.idle.push_back((agent, self.epoch[a]));
            // When agents are only tracked (the engine picks them), stale entries are never
            // popped: drop them once they outnumber the agents, keeping the order.
            if self.idle.len() > 2 * self.ready.len() + 16 {
                let (epoch, ready) = (&self.epoch, &self.ready);
                self.idle.retain(|&(x, e)| ready[x as usize] && epoch[x as usize] == e);
            }
        }
    }

    /// The agent is no longer ready (took a call, went not ready, logged out).
    pub fn agent_unavailable(&mut self, agent: u32) {
        let a = agent as usize;
        if a < self.ready.len() && self.ready[a] {
            self.ready[a] = false;
            self.n_ready -= 1;
            self.epoch[a] += 1;
        }
    }

    /// True when the agent is ready and idle.
    pub fn is_ready(&self, agent: u32) -> bool {
        self.ready.get(agent as usize).copied().unwrap_or(false)
    }

    /// Ready agents.
    pub fn n_ready(&self) -> usize {
        self.n_ready
    }

    /// Takes the longest-idle ready agent (it is no longer ready).
    pub fn take_longest_idle(&mut self) -> Option<u32> {
        while let Some((agent, epoch)) = self.idle.pop_front() {
            if self.epoch[agent as usize] == epoch && self.ready[agent as usize] {
                self.agent_unavailable(agent);
                return Some(agent);
            }
        }
        None
    }

    /// An answered call waits for an agent.
    pub fn enqueue_call(&mut self, call: C) {
        self.waiting.push_back(call);
    }

    /// Takes the call that has waited longest among those for which `still_waiting` holds
    /// (the others are discarded).
    pub fn take_waiting_call(&mut self, mut still_waiting: impl FnMut(C) -> bool) -> Option<C> {
        while let Some(call) = self.waiting.pop_front() {
            if still_waiting(call) {
                return Some(call);
            }
        }
        None
    }

    /// Calls in the waiting queue, including ones that left and are not yet discarded.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_idle_agent_first_and_stale_entries_skipped() {
        let mut s: Switch<u32> = Switch::new(4);
        s.agent_ready(2);
        s.agent_ready(0);
        s.agent_ready(3);
        s.agent_unavailable(0); // went not ready
        s.agent_ready(0); // ready again: now the most recently ready
        assert_eq!(s.n_ready(), 3);
        assert_eq!(s.take_longest_idle(), Some(2));
        assert_eq!(s.take_longest_idle(), Some(3));
        assert_eq!(s.take_longest_idle(), Some(0));
        assert_eq!(s.take_longest_idle(), None);
        assert_eq!(s.n_ready(), 0);
    }

    #[test]
    fn stale_entries_are_compacted_in_order() {
        let mut s: Switch<u32> = Switch::new(2);
        for _ in 0..1000 {
            s.agent_ready(0);
            s.agent_unavailable(0);
        }
        s.agent_ready(1);
        s.agent_ready(0);
        assert!(s.idle.len() <= 2 * 2 + 16 + 1, "{}", s.idle.len());
        assert_eq!(s.take_longest_idle(), Some(1));
        assert_eq!(s.take_longest_idle(), Some(0));
    }

    #[test]
    fn calls_first_come_first_served_skipping_gone_ones() {
        let mut s: Switch<u32> = Switch::new(1);
        for c in [10, 11, 12] {
            s.enqueue_call(c);
        }
        assert_eq!(s.take_waiting_call(|c| c != 10), Some(11));
        assert_eq!(s.take_waiting_call(|_| true), Some(12));
        assert_eq!(s.take_waiting_call(|_| true), None);
    }
}
