//! The simulator's table of calls, indexed by the engine's call id.
//!
//! The engine numbers its calls 1, 2, 3, … in dial order, and a call lives for seconds to
//! minutes, so the calls still in progress are a narrow band of recent ids. The table keeps
//! that band in a ring buffer starting at the oldest call not yet over: a look-up is an index,
//! and finished calls leave from the front instead of piling up in a hash map for the whole
//! shift (an 8-hour, 1,000-agent floor dials about 360,000 times; a map of them all spent its
//! time growing and rehashing).

use std::collections::VecDeque;

use super::{Call, CallState};

/// Calls by id; ids below `base` are over.
#[derive(Default)]
pub(super) struct CallTable {
    /// Id of `slots[0]`.
    base: u64,
    /// Calls `base..base + slots.len()`; `None` for an id the engine skipped.
    slots: VecDeque<Option<Call>>,
}

impl CallTable {
    /// An empty table.
    pub(super) fn new() -> CallTable {
        CallTable { base: 1, slots: VecDeque::new() }
    }

    /// Records a new call. Ids come in increasing order; an id below the band (never expected
    /// from the engine) is ignored so a misbehaving engine cannot corrupt older calls.
    pub(super) fn insert(&mut self, id: u64, call: Call) {
        self.trim();
        if self.slots.is_empty() && id > self.base {
            self.base = id;
        }
        let Some(offset) = id.checked_sub(self.base) else { return };
        let offset = offset as usize;
        while self.slots.len() <= offset {
            self.slots.push_back(None);
        }
        self.slots[offset] = Some(call);
    }

    /// True when `id` was handed to the dialer at some point (it may be over).
    pub(super) fn was_dialed(&self, id: u64) -> bool {
        id != 0 && id < self.base + self.slots.len() as u64
    }

    /// The call, while it is in the band.
    pub(super) fn get(&self, id: u64) -> Option<&Call> {
        let offset = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get(offset)?.as_ref()
    }

    /// The call, mutably, while it is in the band.
    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut Call> {
        let offset = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(offset)?.as_mut()
    }

    /// Calls in the band (finished ones not yet trimmed included).
    pub(super) fn values(&self) -> impl Iterator<Item = &Call> {
        self.slots.iter().flatten()
    }

    /// Drops finished calls from the front of the band.
    fn trim(&mut self) {
        while let Some(front) = self.slots.front() {
            if front.as_ref().is_some_and(|c| c.state != CallState::Done) {
                break;
            }
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pacer_engine::protocol::CallResult;
    use pacer_engine::time::Time;

    use super::*;
    use crate::world::customers::{DialPlan, Party};

    fn call(state: CallState) -> Call {
        Call {
            plan: DialPlan { reported: CallResult::Answer, after: Duration::ZERO, party: Party::Person },
            state,
            answered_at: Time::from_micros(0),
            agent: None,
        }
    }

    #[test]
    fn finished_calls_leave_from_the_front_and_live_ones_stay() {
        let mut t = CallTable::new();
        t.insert(1, call(CallState::Dialing));
        t.insert(2, call(CallState::Talking));
        t.insert(3, call(CallState::Dialing));
        t.get_mut(1).unwrap().state = CallState::Done;
        t.get_mut(3).unwrap().state = CallState::Done;
        t.insert(4, call(CallState::Waiting));
        // 1 is trimmed; 3 is finished but behind the live 2, so it stays until 2 ends.
        assert!(t.get(1).is_none());
        assert!(t.was_dialed(1));
        assert_eq!(t.get(2).unwrap().state, CallState::Talking);
        assert_eq!(t.get(3).unwrap().state, CallState::Done);
        t.get_mut(2).unwrap().state = CallState::Done;
        t.insert(6, call(CallState::Dialing));
        assert!(t.get(2).is_none() && t.get(3).is_none());
        assert_eq!(t.get(4).unwrap().state, CallState::Waiting);
        assert!(t.get(5).is_none(), "an id the engine skipped holds nothing");
        assert!(t.was_dialed(5) && t.was_dialed(6) && !t.was_dialed(7) && !t.was_dialed(0));
        assert_eq!(t.values().count(), 2);
    }

    #[test]
    fn an_old_id_never_overwrites() {
        let mut t = CallTable::new();
        t.insert(10, call(CallState::Dialing));
        t.get_mut(10).unwrap().state = CallState::Done;
        t.insert(11, call(CallState::Dialing));
        t.insert(10, call(CallState::Talking));
        assert!(t.get(10).is_none());
        assert_eq!(t.values().count(), 1);
    }
}
