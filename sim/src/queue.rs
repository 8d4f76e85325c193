//! The simulation's event queue: items ordered by time, ties broken by insertion order.
//!
//! Determinism rests on the tie-break: two events at the same microsecond come out in the
//! order they were scheduled, whatever the heap's internal layout. Each entry carries a
//! sequence number taken from a counter, so the order is a total order on `(time, seq)`.
//!
//! The structure is a binary min-heap over `(time, seq)` packed into one `u128` key
//! (`std::collections::BinaryHeap` with `Reverse`): one integer comparison per sift step.
//! The `sim/queue_hold_*` benches (`benches/benches/sim.rs`, the hold model of Vaucher &
//! Duval 1975) put one pop plus one push at about 40 ns with 1,000 events pending and 80 ns
//! with 10,000 (a `(time, seq)` tuple key: about 95 ns). A floor of 10,000 agents keeps a
//! few tens of thousands of events pending, so the queue stays a small share of an event's
//! cost; a calendar queue (Brown, CACM 31(10), 1988) would only pay off far beyond that.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use pacer_engine::time::Time;

/// One scheduled item.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// A time-ordered queue of events of type `E`.
///
/// ```
/// use pacer_sim::queue::EventQueue;
/// use pacer_engine::time::Time;
/// let mut q = EventQueue::new();
/// q.push(Time::from_micros(20), "late");
/// q.push(Time::from_micros(10), "first");
/// q.push(Time::from_micros(10), "second");
/// assert_eq!(q.pop(), Some((Time::from_micros(10), "first")));
/// assert_eq!(q.pop(), Some((Time::from_micros(10), "second")));
/// assert_eq!(q.pop(), Some((Time::from_micros(20), "late")));
/// assert_eq!(q.pop(), None);
/// ```
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0 }
    }

    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> EventQueue<E> {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), next_seq: 0 }
    }

    /// Schedules `event` at `at`. Events at the same time come out in scheduling order.
    pub fn push(&mut self, at: Time, event: E) {
        let key = (u128::from(at.as_micros()) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { key, event }));
    }

    /// Takes the earliest event.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.heap.pop().map(|Reverse(entry)| (Time::from_micros((entry.key >> 64) as u64), entry.event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse(entry)| Time::from_micros((entry.key >> 64) as u64))
    }

    /// Pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events scheduled so far (the next sequence number).
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let mut q = EventQueue::new();
        let mut expected = Vec::new();
        for i in 0..10_000u32 {
            let t = rng.gen_range(0..500u64);
            q.push(Time::from_micros(t), i);
            expected.push((t, i));
        }
        // A stable sort by time is exactly "time, then insertion order".
        expected.sort_by_key(|&(t, _)| t);
        let got: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop()).map(|(t, i)| (t.as_micros(), i)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn interleaved_push_pop_keeps_order() {
        let mut q = EventQueue::new();
        q.push(Time::from_micros(5), 'a');
        q.push(Time::from_micros(3), 'b');
        assert_eq!(q.peek_time(), Some(Time::from_micros(3)));
        assert_eq!(q.pop().map(|(_, e)| e), Some('b'));
        q.push(Time::from_micros(5), 'c');
        q.push(Time::from_micros(4), 'd');
        let rest: String = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(rest, "dac");
        assert!(q.is_empty());
        assert_eq!(q.scheduled(), 4);
    }
}
