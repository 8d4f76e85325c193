//! Packed counters of one campaign group: agents by state, and calls in progress.
//!
//! What one event changes together lives in one 64-bit word, so a decision never reads half
//! an event: an agent's move from one state to another, or an answered call leaving "in
//! flight" for "waiting", is a single atomic step as seen by readers.

use super::atomic::{AtomicU32, AtomicU64, Ordering, fence, update_u32};
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
/// transient over-count of transitions in progress.
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
/// agent's own state word (a compare-and-swap in [`AgentSlot`]), subtract one from the field
/// of the state the swap replaced. The subtraction of a state always follows (happens-after)
/// the addition made by the transition that put the agent in it, because that transition's
/// swap released the agent word before this one's swap acquired it: so no field ever goes below zero, even with several threads
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
    /// `entered_at_us << 4 | leaving_flag << 3 | state`: the state, whether a smart logout
    /// is pending, and when the state was entered, all changed in one step.
    word: AtomicU64,
    /// When the desktop expects the agent to be ready (µs since epoch), 0 if no estimate.
    ready_at_us: AtomicU64,
    /// Dials counted on this agent still in flight or answered and waiting.
    dials: AtomicU32,
    /// When the latest of those dials was placed (µs).
    last_placed_us: AtomicU64,
    /// When the pending smart logout was first requested (µs); meaningful while the flag in
    /// `word` is set.
    logout_at_us: AtomicU64,
}

/// What the decision reads of one agent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AgentView {
    pub(crate) state: AgentState,
    pub(crate) entered_at: Time,
    pub(crate) ready_at: Option<Time>,
}

const STATE_MASK: u64 = 7;
const LOGOUT_FLAG: u64 = 8;
const TIME_SHIFT: u32 = 4;

/// What one agent-state change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    /// The state before.
    pub(crate) old: AgentState,
    /// When the old state was entered.
    pub(crate) entered: Time,
    /// The state after (`Leaving` instead of the requested one while a logout is pending).
    pub(crate) new: AgentState,
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

    /// Changes the agent's word with `f(state, logging_out) -> (state, logging_out)` and
    /// keeps `counts` in step.
    ///
    /// The counts are changed as [`AgentCountWord`] requires: the new state's field is raised
    /// before the word's compare-and-swap, the old state's field lowered after it. A failed
    /// CAS lowers the field it raised (its own raise, so never below zero) and retries. The
    /// CAS is `SeqCst` (acquire + release at least), which orders one transition's raise
    /// before the next transition's lowering.
    #[inline]
    fn change(
        &self,
        counts: &AgentCountWord,
        now: Time,
        f: impl Fn(AgentState, bool) -> (AgentState, bool),
    ) -> Transition {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let old = AgentState::from_code(word & STATE_MASK);
            let (new, flag) = f(old, word & LOGOUT_FLAG != 0);
            let next = (now.as_micros() << TIME_SHIFT) | if flag { LOGOUT_FLAG } else { 0 } | new.code();
            counts.add(new);
            match self.word.compare_exchange_weak(word, next, Ordering::SeqCst, Ordering::Acquire) {
                Ok(_) => {
                    counts.sub(old);
                    return Transition { old, entered: Time::from_micros(word >> TIME_SHIFT), new };
                }
                Err(current) => {
                    counts.sub(new);
                    word = current;
                }
            }
        }
    }

    /// Moves the agent to `requested`; while a smart logout is pending any state but
    /// `LoggedOut` becomes `Leaving`; `LoggedOut` ends the logout.
    #[inline]
    pub(crate) fn set_state(&self, counts: &AgentCountWord, requested: AgentState, now: Time) -> Transition {
        self.change(counts, now, |_, leaving| match requested {
            AgentState::LoggedOut => (AgentState::LoggedOut, false),
            _ if leaving => (AgentState::Leaving, true),
            s => (s, false),
        })
    }

    /// The agent's state. `Acquire` pairs with the CAS of `change`.
    #[inline]
    pub(crate) fn state(&self) -> AgentState {
        AgentState::from_code(self.word.load(Ordering::Acquire) & STATE_MASK)
    }

    /// Whether the agent can take a dial: available and not logging out.
    #[inline]
    fn can_take_dial(&self) -> bool {
        let word = self.word.load(Ordering::SeqCst);
        word & LOGOUT_FLAG == 0 && AgentState::from_code(word & STATE_MASK).is_available()
    }

    /// Counts a dial placed at `now` on this agent if the agent is available and not logging
    /// out; returns whether it did.
    ///
    /// This is one side of a Dekker-style handshake with [`AgentSlot::begin_logout`], which
    /// sets the logout flag, then (after a `SeqCst` fence) reads the dial count. Here the
    /// count is raised first, then (after a `SeqCst` fence) the flag and state are read, and
    /// the raise is undone if the agent cannot take the dial. The two fences are totally
    /// ordered: if the logout's comes first, this check sees the flag (or a later state:
    /// `LoggedOut`, which also refuses); if this one comes first, the logout sees the dial
    /// and waits for it. A dial is never counted on an agent who was told to go. (loom
    /// models `SeqCst` fences exactly but `SeqCst` accesses only as acquire/release, hence
    /// fences rather than `SeqCst` accesses alone.)
    pub(crate) fn try_count_dial(&self, now: Time) -> bool {
        if !self.can_take_dial() {
            return false;
        }
        self.dials.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.can_take_dial() {
            self.dials.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        // Read with `Acquire` by `last_placed` for the logout estimate.
        self.last_placed_us.fetch_max(now.as_micros(), Ordering::AcqRel);
        true
    }

    /// Starts (or continues) a smart logout at `now`: the agent becomes `Leaving` with the
    /// flag set (unless logged out), then, after a `SeqCst` fence (see
    /// [`AgentSlot::try_count_dial`]), the dials still counted on the agent are read.
    /// Returns the transition, when the logout was first requested and the pending dials.
    pub(crate) fn begin_logout(&self, counts: &AgentCountWord, now: Time) -> (Transition, Time, u32) {
        // Record the first request time before the flag can be seen (`Release` by the CAS
        // below); a request already pending keeps its time.
        let pending = self.word.load(Ordering::Acquire) & LOGOUT_FLAG != 0;
        if !pending {
            self.logout_at_us.store(now.as_micros(), Ordering::Release);
        }
        let t = self.change(counts, now, |state, _| match state {
            AgentState::LoggedOut => (AgentState::LoggedOut, false),
            _ => (AgentState::Leaving, true),
        });
        fence(Ordering::SeqCst);
        let dials = self.dials.load(Ordering::SeqCst);
        (t, Time::from_micros(self.logout_at_us.load(Ordering::Acquire)), dials)
    }

    #[inline]
    pub(crate) fn view(&self) -> AgentView {
        let word = self.word.load(Ordering::Acquire);
        let ready_at = self.ready_at_us.load(Ordering::Acquire);
        AgentView {
            state: AgentState::from_code(word & STATE_MASK),
            entered_at: Time::from_micros(word >> TIME_SHIFT),
            ready_at: (ready_at != 0).then(|| Time::from_micros(ready_at)),
        }
    }

    /// `Release` pairs with the `Acquire` load of `view`.
    pub(crate) fn set_ready_at(&self, at: Option<Time>) {
        self.ready_at_us.store(at.map_or(0, |t| t.as_micros().max(1)), Ordering::Release);
    }

    /// Dials counted on this agent now.
    #[cfg(test)]
    pub(crate) fn pending_dials(&self) -> u32 {
        self.dials.load(Ordering::Acquire)
    }

    /// When the latest dial counted on this agent was placed.
    pub(crate) fn last_placed(&self) -> Time {
        Time::from_micros(self.last_placed_us.load(Ordering::Acquire))
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
            slot.set_state(&counts, s, t);
        }
        assert_eq!(counts.load(), AgentCounts { ready: 1, ..AgentCounts::default() });
        let tr = slot.set_state(&counts, AgentState::LoggedOut, t + std::time::Duration::from_secs(1));
        assert_eq!(tr, Transition { old: AgentState::Ready, entered: t, new: AgentState::LoggedOut });
        assert_eq!(counts.load(), AgentCounts::default());
    }

    #[test]
    fn a_pending_logout_keeps_the_agent_leaving() {
        let counts = AgentCountWord::new();
        let slot = AgentSlot::new();
        let t = Time::from_unix_s(100);
        slot.set_state(&counts, AgentState::Ready, t);
        assert!(slot.try_count_dial(t));
        let (tr, first, dials) = slot.begin_logout(&counts, t);
        assert_eq!((tr.old, tr.new, first, dials), (AgentState::Ready, AgentState::Leaving, t, 1));
        assert!(!slot.try_count_dial(t));
        assert_eq!(slot.set_state(&counts, AgentState::Talking, t).new, AgentState::Leaving);
        assert_eq!(counts.load(), AgentCounts { leaving: 1, ..AgentCounts::default() });
        // A second request keeps the first time.
        let later = t + std::time::Duration::from_secs(5);
        assert_eq!(slot.begin_logout(&counts, later).1, t);
        slot.set_state(&counts, AgentState::LoggedOut, later);
        slot.set_state(&counts, AgentState::Ready, later);
        assert_eq!(counts.load(), AgentCounts { ready: 1, ..AgentCounts::default() });
        assert!(slot.try_count_dial(later));
        assert_eq!(slot.pending_dials(), 2);
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
