//! Packed counters of one campaign group: agents by state, and calls in progress.
//!
//! What one event changes together lives in one 64-bit word, so a decision never reads half
//! an event: an agent's move from one state to another, or an answered call leaving "in
//! flight" for "waiting", is a single atomic step as seen by readers.

use super::atomic::{AtomicU32, AtomicU64, Ordering, update_u32};
use crate::time::Time;

/// The state of one agent place, as the pacer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum AgentState {
    /// Not in the group (the initial state of every place).
    #[default]
    LoggedOut,
    /// Waiting for a call now.
    Ready,
    /// On a call.
    Talking,
    /// Wrapping up after a call.
    AfterCallWork,
    /// Logged in but unavailable (break, other work).
    NotReady,
    /// Asked to log out (smart logout): excluded from capacity while the dials counted on
    /// them settle.
    Leaving,
}

impl AgentState {
    pub(crate) const ALL: [AgentState; 6] = [
        AgentState::LoggedOut,
        AgentState::Ready,
        AgentState::Talking,
        AgentState::AfterCallWork,
        AgentState::NotReady,
        AgentState::Leaving,
    ];

    pub(crate) fn code(self) -> u64 {
        self as u64
    }

    pub(crate) fn from_code(code: u64) -> AgentState {
        AgentState::ALL.get(code as usize).copied().unwrap_or(AgentState::LoggedOut)
    }

    /// Whether an agent in this state counts as capacity for future calls.
    pub fn is_available(self) -> bool {
        matches!(self, AgentState::Ready | AgentState::Talking | AgentState::AfterCallWork)
    }
}

/// Agents of a group by state, read at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// Ready now.
    pub ready: u32,
    /// On a call.
    pub talking: u32,
    /// In after-call work.
    pub after_call_work: u32,
    /// Logged in, not ready.
    pub not_ready: u32,
    /// Logging out (smart logout pending).
    pub leaving: u32,
}

impl AgentCounts {
    /// Agents that count as capacity: ready, talking or in after-call work.
    pub fn available(&self) -> u32 {
        self.ready + self.talking + self.after_call_work
    }

    /// Agents logged in, whatever their state.
    pub fn logged_in(&self) -> u32 {
        self.available() + self.not_ready + self.leaving
    }
}

/// Bits per state in the agent-count word: five counted states (logged-out places are not
/// counted) of 12 bits each.
const COUNT_BITS: u32 = 12;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The most agent places one group can have: 12-bit fields, with room left for the
/// transient over-count of transitions in progress (see [`AgentCountWord`]).
pub const MAX_AGENTS: u32 = 4000;

/// One in the field of `state` (zero for `LoggedOut`, which is not counted).
#[inline]
pub(crate) fn count_unit(state: AgentState) -> u64 {
    match state {
        AgentState::LoggedOut => 0,
        s => 1 << ((s.code() as u32 - 1) * COUNT_BITS),
    }
}

/// Agents per state in one word.
///
/// A transition `old -> new` of one agent is applied as: add one to `new`'s field, swap the
/// agent's own state word, subtract one from the field of the state the swap returned. The
/// subtraction of a state always follows (happens-after) the addition made by the transition
/// that put the agent in it, because that transition's swap released the agent word before
/// this one's swap acquired it: so no field ever goes below zero, even with several threads
/// changing the same agent at once, and no update is lost (the word only takes `fetch_add` /
/// `fetch_sub`). A reader may see an agent counted in two states for the instant between the
/// two steps, never in none.
#[derive(Debug)]
pub(crate) struct AgentCountWord(AtomicU64);

impl AgentCountWord {
    pub(crate) fn new() -> AgentCountWord {
        AgentCountWord(AtomicU64::new(0))
    }

    #[inline]
    pub(crate) fn add(&self, state: AgentState) {
        // `AcqRel`: ordered before the agent-word swap that follows it (see the type's doc).
        self.0.fetch_add(count_unit(state), Ordering::AcqRel);
    }

    #[inline]
    pub(crate) fn sub(&self, state: AgentState) {
        self.0.fetch_sub(count_unit(state), Ordering::AcqRel);
    }

    /// `Acquire` pairs with the `AcqRel` RMWs above.
    #[inline]
    pub(crate) fn load(&self) -> AgentCounts {
        unpack_counts(self.0.load(Ordering::Acquire))
    }
}

#[inline]
fn unpack_counts(word: u64) -> AgentCounts {
    let field = |i: u32| ((word >> (i * COUNT_BITS)) & COUNT_MASK) as u32;
    AgentCounts {
        ready: field(0),
        talking: field(1),
        after_call_work: field(2),
        not_ready: field(3),
        leaving: field(4),
    }
}

/// Calls in progress of a group, read at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Dials placed and not yet answered or failed.
    pub in_flight: u32,
    /// Answered-live calls waiting for an agent.
    pub waiting: u32,
}

impl CallCounts {
    /// Calls that may still need an agent.
    pub fn outstanding(&self) -> u32 {
        self.in_flight.saturating_add(self.waiting)
    }
}

/// `in_flight (32) | waiting (32)`, changed by compare-and-swap so that neither half ever
/// goes below zero: an event with nothing to take from (a result for a dial never reported
/// placed) changes nothing and is counted as rejected by the caller.
#[derive(Debug)]
pub(crate) struct CallCountWord(AtomicU64);

impl CallCountWord {
    pub(crate) fn new() -> CallCountWord {
        CallCountWord(AtomicU64::new(0))
    }

    /// Adds `d_in_flight` and `d_waiting`; refuses (returns false, changes nothing) if
    /// either would go below zero or above `u32::MAX`.
    #[inline]
    pub(crate) fn apply(&self, d_in_flight: i64, d_waiting: i64) -> bool {
        let mut ok = true;
        super::atomic::update_u64(&self.0, |w| {
            let f = (w >> 32) as i64 + d_in_flight;
            let q = (w & 0xFFFF_FFFF) as i64 + d_waiting;
            if (0..=i64::from(u32::MAX)).contains(&f) && (0..=i64::from(u32::MAX)).contains(&q) {
                ok = true;
                Some(((f as u64) << 32) | q as u64)
            } else {
                ok = false;
                None
            }
        });
        ok
    }

    /// `Acquire` pairs with the CAS of `apply`.
    #[inline]
    pub(crate) fn load(&self) -> CallCounts {
        let w = self.0.load(Ordering::Acquire);
        CallCounts { in_flight: (w >> 32) as u32, waiting: (w & 0xFFFF_FFFF) as u32 }
    }
}

/// One agent place's state.
#[derive(Debug)]
pub(crate) struct AgentSlot {
    /// `entered_at_us << 3 | state`: the state and when it was entered, swapped together.
    word: AtomicU64,
    /// When the desktop expects the agent to be ready (µs since epoch), 0 if no estimate.
    ready_at_us: AtomicU64,
    /// Dials counted on this agent still in flight or answered and waiting.
    pub(crate) dials: AtomicU32,
    /// When the latest of those dials was placed (µs).
    pub(crate) last_placed_us: AtomicU64,
    /// When the agent first asked to log out (µs), 0 if not logging out.
    pub(crate) logout_at_us: AtomicU64,
}

/// What the decision reads of one agent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AgentView {
    pub(crate) state: AgentState,
    pub(crate) entered_at: Time,
    pub(crate) ready_at: Option<Time>,
}

impl AgentSlot {
    pub(crate) fn new() -> AgentSlot {
        AgentSlot {
            word: AtomicU64::new(AgentState::LoggedOut.code()),
            ready_at_us: AtomicU64::new(0),
            dials: AtomicU32::new(0),
            last_placed_us: AtomicU64::new(0),
            logout_at_us: AtomicU64::new(0),
        }
    }

    /// Sets the state, returning the previous state and when it was entered. `AcqRel`: the
    /// release/acquire pair of consecutive swaps orders the count updates (see
    /// [`AgentCountWord`]).
    #[inline]
    pub(crate) fn swap_state(&self, state: AgentState, now: Time) -> (AgentState, Time) {
        let old = self.word.swap((now.as_micros() << 3) | state.code(), Ordering::AcqRel);
        (AgentState::from_code(old & 7), Time::from_micros(old >> 3))
    }

    /// `Acquire` pairs with `swap_state`.
    #[inline]
    pub(crate) fn state(&self) -> AgentState {
        AgentState::from_code(self.word.load(Ordering::Acquire) & 7)
    }

    #[inline]
    pub(crate) fn view(&self) -> AgentView {
        let word = self.word.load(Ordering::Acquire);
        let ready_at = self.ready_at_us.load(Ordering::Acquire);
        AgentView {
            state: AgentState::from_code(word & 7),
            entered_at: Time::from_micros(word >> 3),
            ready_at: (ready_at != 0).then(|| Time::from_micros(ready_at)),
        }
    }

    /// `Release` pairs with the `Acquire` load of `view`.
    pub(crate) fn set_ready_at(&self, at: Option<Time>) {
        self.ready_at_us.store(at.map_or(0, |t| t.as_micros().max(1)), Ordering::Release);
    }

    /// Takes one dial off this agent's count, never below zero; false if there was none.
    pub(crate) fn settle_dial(&self) -> bool {
        let (old, new) = update_u32(&self.dials, |d| d.checked_sub(1));
        old != new
    }
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn agent_counts_follow_transitions() {
        let counts = AgentCountWord::new();
        let slot = AgentSlot::new();
        let t = Time::from_unix_s(100);
        for s in [AgentState::Ready, AgentState::Talking, AgentState::AfterCallWork, AgentState::Ready] {
            counts.add(s);
            let (old, _) = slot.swap_state(s, t);
            counts.sub(old);
        }
        assert_eq!(counts.load(), AgentCounts { ready: 1, ..AgentCounts::default() });
        counts.add(AgentState::LoggedOut);
        let (old, entered) = slot.swap_state(AgentState::LoggedOut, t);
        counts.sub(old);
        assert_eq!((old, entered), (AgentState::Ready, t));
        assert_eq!(counts.load(), AgentCounts::default());
    }

    #[test]
    fn call_counts_never_go_negative() {
        let calls = CallCountWord::new();
        assert!(!calls.apply(-1, 1));
        assert_eq!(calls.load(), CallCounts::default());
        assert!(calls.apply(1, 0));
        assert!(calls.apply(-1, 1));
        assert_eq!(calls.load(), CallCounts { in_flight: 0, waiting: 1 });
        assert!(!calls.apply(0, -2));
        assert!(calls.apply(0, -1));
        assert_eq!(calls.load().outstanding(), 0);
    }
}
