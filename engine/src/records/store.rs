//! The record store: every calling list of the server, record handles, chains, indexes and
//! the retrieval queues.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::index::{SortedIndex, fnv1a};
use super::{CallingList, DoNotCallList, Record, RecordHandle, tz};
use crate::kv::KvList;
use crate::protocol::{CallResult, FieldChanges, LocalDateTime, RecordStatus, RecordType};
use crate::time::Time;
use compact_str::CompactString;

/// A calling list's index in its [`RecordStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListId(pub u32);

/// Why the store refused a list or a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// A list of that name is already in the store.
    DuplicateListName(CompactString),
    /// The record id is already used in the list.
    DuplicateRecordId {
        /// The list.
        list: CompactString,
        /// The repeated id.
        record_id: i64,
    },
    /// The chain already has a record at that position.
    DuplicateChainPosition {
        /// The list.
        list: CompactString,
        /// The chain.
        chain_id: i64,
        /// The position.
        chain_n: i32,
    },
    /// The record is not valid for the list (custom fields, empty phone, bad window, ...).
    InvalidRecord {
        /// The list.
        list: CompactString,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::DuplicateListName(name) => {
                write!(f, "a calling list named `{name}` is already loaded")
            }
            StoreError::DuplicateRecordId { list, record_id } => {
                write!(f, "calling list `{list}` already has a record with id {record_id}")
            }
            StoreError::DuplicateChainPosition { list, chain_id, chain_n } => {
                write!(f, "calling list `{list}` already has chain {chain_id} position {chain_n}")
            }
            StoreError::InvalidRecord { list, reason } => write!(f, "calling list `{list}`: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why [`RecordStore::apply_update`] changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// No record has that handle.
    UnknownHandle(RecordHandle),
    /// A value is not acceptable for its field.
    BadValue {
        /// The key the value came under (`GSW_FROM`, a custom field's send_attribute, ...).
        key: CompactString,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::UnknownHandle(h) => write!(f, "no record has handle {h}"),
            UpdateError::BadValue { key, reason } => write!(f, "{key}: {reason}"),
        }
    }
}

impl std::error::Error for UpdateError {}

/// The retrieval queues of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    /// Ready records with a `dial_sched_time` (treatment reschedules): handed out first once
    /// due, by (due time, handle).
    Scheduled = 0,
    /// Ready records without one: handed out after the due scheduled ones, in handle order.
    Fresh = 1,
    /// Ready callbacks, by (due time, handle), for [`RecordStore::due_scheduled`].
    Callback = 2,
}

/// Where a record is queued, and under which key (Unix seconds from which it may be handed
/// out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// In no queue: not Ready, a NoCall, or parked for good by an empty daily window.
    No,
    /// In a queue under a key.
    In(Queue, i64),
}

/// One list and its indexes.
#[derive(Clone, Debug)]
struct Slot {
    list: CallingList,
    /// The queues, indexed by [`Queue`], each ordered by (earliest time the record may be
    /// handed out, handle). The key starts as the record's `dial_sched_time` (0 when none)
    /// and moves to the next opening of its daily window when retrieval finds it closed: so
    /// a record outside its window costs one re-key per day, not one look per retrieval.
    queues: [BTreeSet<(i64, RecordHandle)>; 3],
    /// Per record (parallel to the list's records): its queue entry.
    queued: Vec<Queued>,
    /// (chain_id, chain_n) of every record.
    chains: SortedIndex<(i64, i32)>,
    /// record_id of every record.
    record_ids: SortedIndex<i64>,
    max_record_id: i64,
}

#[derive(Clone, Copy, Debug)]
struct Loc {
    list: u32,
    idx: u32,
}

/// Every calling list of a server, with record handles, chains and retrieval.
///
/// Handles are given out from 1 upwards as records are added ([`RecordStore::add_list`],
/// [`RecordStore::add_record`]) and never reused: records are never removed, only marked.
/// Changes to a record go through [`RecordStore::get_mut`], whose guard updates the indexes
/// and queues when it is dropped.
///
/// ```
/// use pacer_engine::records::{CallingList, DoNotCallList, ListFormat, Record, RecordStore};
/// use pacer_engine::protocol::RecordStatus;
/// use pacer_engine::time::Time;
/// let mut list = CallingList::new("Leads", ListFormat::default());
/// list.push(Record::new(1, "5551000", "UTC")).unwrap();
/// list.push(Record::new(2, "5551001", "UTC")).unwrap();
/// let mut store = RecordStore::new();
/// let id = store.add_list(list).unwrap();
/// let mut dnc = DoNotCallList::new("Acme");
/// let noon = Time::from_unix_s(1_800_000_000 / 86_400 * 86_400 + 12 * 3600);
/// dnc.add_phone("5551000", noon, None);
/// let h = store.retrieve(&[id], noon, &dnc).unwrap();
/// assert_eq!(store.get(h).unwrap().record_id, 2, "record 1 is do-not-call");
/// assert_eq!(store.get(h).unwrap().record_status, RecordStatus::Retrieved);
/// assert_eq!(store.retrieve(&[id], noon, &dnc), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RecordStore {
    slots: Vec<Slot>,
    by_name: BTreeMap<CompactString, ListId>,
    /// `locs[h - 1]` is where handle `h` lives.
    locs: Vec<Loc>,
    /// Phones by their FNV-1a hash.
    phones: SortedIndex<u64>,
    /// Customer ids by their FNV-1a hash.
    customer_ids: SortedIndex<u64>,
    /// Offsets of the table's zones, kept across retrievals.
    offsets: tz::OffsetCache,
}

/// The fields the store's indexes and queues depend on, captured when a [`RecordMut`] is
/// taken so that its drop can tell what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct IndexedFields {
    record_id: i64,
    phone: CompactString,
    customer_id: Option<CompactString>,
    chain_id: i64,
    chain_n: i32,
    queue: QueueFields,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct QueueFields {
    record_status: RecordStatus,
    record_type: RecordType,
    dial_sched_time: Option<i64>,
    daily_from_s: i32,
    daily_till_s: i32,
    tz_name: CompactString,
    tz_offset_s: i32,
}

impl IndexedFields {
    fn of(r: &Record) -> IndexedFields {
        IndexedFields {
            record_id: r.record_id,
            phone: r.phone.clone(),
            customer_id: r.customer_id.clone(),
            chain_id: r.chain_id,
            chain_n: r.chain_n,
            queue: QueueFields {
                record_status: r.record_status,
                record_type: r.record_type,
                dial_sched_time: r.dial_sched_time,
                daily_from_s: r.daily_from_s,
                daily_till_s: r.daily_till_s,
                tz_name: r.tz_name.clone(),
                tz_offset_s: r.tz_offset_s,
            },
        }
    }
}

/// Mutable access to one record of a [`RecordStore`]; the store's indexes and retrieval
/// queues follow the changes when the guard is dropped. Dereferences to [`Record`].
///
/// `get_mut` does not re-check uniqueness: changing `record_id` or (`chain_id`, `chain_n`)
/// to a value another record has is not refused (use [`RecordStore::add_record`] for new
/// records).
pub struct RecordMut<'a> {
    store: &'a mut RecordStore,
    handle: RecordHandle,
    loc: Loc,
    before: IndexedFields,
}

impl Deref for RecordMut<'_> {
    type Target = Record;
    fn deref(&self) -> &Record {
        &self.store.slots[self.loc.list as usize].list.records()[self.loc.idx as usize]
    }
}

impl DerefMut for RecordMut<'_> {
    fn deref_mut(&mut self) -> &mut Record {
        &mut self.store.slots[self.loc.list as usize].list.records_mut()[self.loc.idx as usize]
    }
}

impl RecordMut<'_> {
    /// The record's handle.
    pub fn handle(&self) -> RecordHandle {
        self.handle
    }
}

impl Drop for RecordMut<'_> {
    fn drop(&mut self) {
        let after = IndexedFields::of(self);
        if after != self.before {
            self.store.reindex(self.handle, self.loc, &self.before, &after);
        }
    }
}

impl RecordStore {
    /// An empty store.
    pub fn new() -> RecordStore {
        RecordStore::default()
    }

    /// Adds a list, giving each of its records the next handle in file order. Refuses a list
    /// whose name is taken, or with a repeated record id or chain position, or a record whose
    /// custom fields do not match the list's format.
    pub fn add_list(&mut self, mut list: CallingList) -> Result<ListId, StoreError> {
        if self.by_name.contains_key(list.name()) {
            return Err(StoreError::DuplicateListName(list.name().into()));
        }
        let list_name = CompactString::from(list.name());
        for r in list.records() {
            validate(&list, r)?;
        }
        let n = list.len();
        let id = ListId(u32::try_from(self.slots.len()).expect("fewer than 2^32 lists"));
        let first = self.locs.len() as i64 + 1;
        let handles: Vec<RecordHandle> = (0..n as i64).map(|i| RecordHandle(first + i)).collect();
        // Chains and ids, bulk-built from sorted vectors; a repeat shows up as neighbours.
        let mut chain_keys: Vec<((i64, i32), RecordHandle)> =
            list.records().iter().zip(&handles).map(|(r, &h)| ((r.chain_id, r.chain_n), h)).collect();
        chain_keys.sort_unstable();
        if let Some(pair) = chain_keys.windows(2).find(|p| p[0].0 == p[1].0) {
            let (chain_id, chain_n) = pair[0].0;
            return Err(StoreError::DuplicateChainPosition { list: list_name, chain_id, chain_n });
        }
        let mut id_keys: Vec<(i64, RecordHandle)> =
            list.records().iter().zip(&handles).map(|(r, &h)| (r.record_id, h)).collect();
        id_keys.sort_unstable();
        if let Some(pair) = id_keys.windows(2).find(|p| p[0].0 == p[1].0) {
            return Err(StoreError::DuplicateRecordId { list: list_name, record_id: pair[0].0 });
        }
        // Nothing can fail from here on: the store changes only now.
        let mut entries: [Vec<(i64, RecordHandle)>; 3] = Default::default();
        let mut queued = Vec::with_capacity(n);
        for (r, &h) in list.records().iter().zip(&handles) {
            let q = initial_queue(r);
            if let Queued::In(queue, key) = q {
                entries[queue as usize].push((key, h));
            }
            queued.push(q);
        }
        // Sorted input lets the sets bulk-build instead of inserting one by one.
        let queues = entries.map(|mut v| {
            v.sort_unstable();
            v.into_iter().collect()
        });
        self.locs.extend((0..n as u32).map(|idx| Loc { list: id.0, idx }));
        self.phones
            .extend_bulk(list.records().iter().zip(&handles).map(|(r, &h)| (fnv1a(&r.phone), h)).collect());
        self.customer_ids.extend_bulk(
            list.records()
                .iter()
                .zip(&handles)
                .filter_map(|(r, &h)| Some((fnv1a(r.customer_id.as_deref()?), h)))
                .collect(),
        );
        let max_record_id = id_keys.last().map_or(0, |e| e.0);
        let mut chains = SortedIndex::default();
        chains.extend_bulk(chain_keys);
        let mut record_ids = SortedIndex::default();
        record_ids.extend_bulk(id_keys);
        list.handles = handles;
        self.by_name.insert(list_name, id);
        self.slots.push(Slot { list, queues, queued, chains, record_ids, max_record_id });
        Ok(id)
    }

    /// The list `id`.
    ///
    /// # Panics
    /// If `id` was not given out by this store.
    pub fn list(&self, id: ListId) -> &CallingList {
        &self.slots[id.0 as usize].list
    }

    /// Sets the script configured on list `id` (see [`CallingList::script_id`]).
    pub fn set_script_id(&mut self, id: ListId, script_id: Option<i64>) {
        self.slots[id.0 as usize].list.set_script_id(script_id);
    }

    /// The list named `name`.
    pub fn list_by_name(&self, name: &str) -> Option<ListId> {
        self.by_name.get(name).copied()
    }

    /// Every list, in the order added.
    pub fn list_ids(&self) -> impl ExactSizeIterator<Item = ListId> + use<> {
        (0..self.slots.len() as u32).map(ListId)
    }

    /// Every handle given out, in order (1 to [`RecordStore::len`]).
    pub fn handles(&self) -> impl DoubleEndedIterator<Item = RecordHandle> + use<> {
        (1..=self.locs.len() as i64).map(RecordHandle)
    }

    /// Total records in all lists (also the last handle given out).
    pub fn len(&self) -> usize {
        self.locs.len()
    }

    /// True if the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.locs.is_empty()
    }

    fn loc(&self, h: RecordHandle) -> Option<Loc> {
        let i = usize::try_from(h.0.checked_sub(1)?).ok()?;
        self.locs.get(i).copied()
    }

    /// The record with handle `h`.
    pub fn get(&self, h: RecordHandle) -> Option<&Record> {
        let loc = self.loc(h)?;
        Some(&self.slots[loc.list as usize].list.records()[loc.idx as usize])
    }

    /// The record with handle `h`, to change; the indexes and queues follow when the guard
    /// is dropped.
    pub fn get_mut(&mut self, h: RecordHandle) -> Option<RecordMut<'_>> {
        let loc = self.loc(h)?;
        let before = IndexedFields::of(&self.slots[loc.list as usize].list.records()[loc.idx as usize]);
        Some(RecordMut { store: self, handle: h, loc, before })
    }

    /// The list the record with handle `h` is in.
    pub fn list_of(&self, h: RecordHandle) -> Option<ListId> {
        self.loc(h).map(|l| ListId(l.list))
    }

    /// Every record of the chain `h` belongs to (`h` included), by `chain_n`; empty for an
    /// unknown handle.
    pub fn chain(&self, h: RecordHandle) -> Vec<RecordHandle> {
        let (Some(loc), Some(r)) = (self.loc(h), self.get(h)) else { return Vec::new() };
        self.chain_members(loc.list as usize, r.chain_id).into_iter().map(|(_, h)| h).collect()
    }

    /// (chain_n, handle) of the records of chain `chain_id` in slot `slot`, sorted.
    fn chain_members(&self, slot: usize, chain_id: i64) -> Vec<(i32, RecordHandle)> {
        let mut members: Vec<(i32, RecordHandle)> = self.slots[slot]
            .chains
            .candidates((chain_id, i32::MIN), (chain_id, i32::MAX))
            .filter(|&((c, n), h)| self.get(h).is_some_and(|r| r.chain_id == c && r.chain_n == n))
            .map(|((_, n), h)| (n, h))
            .collect();
        members.sort_unstable();
        members.dedup();
        members
    }

    /// Every record whose phone is `phone`, across lists, in handle order.
    pub fn find_by_phone(&self, phone: &str) -> Vec<RecordHandle> {
        let key = fnv1a(phone);
        self.checked(self.phones.candidates(key, key), |r| r.phone == phone)
    }

    /// Every record whose customer id is `id`, across lists, in handle order.
    pub fn find_by_customer_id(&self, id: &str) -> Vec<RecordHandle> {
        let key = fnv1a(id);
        self.checked(self.customer_ids.candidates(key, key), |r| r.customer_id.as_deref() == Some(id))
    }

    /// The handles among `candidates` whose record passes `check`, sorted and without repeats.
    fn checked<K>(
        &self,
        candidates: impl Iterator<Item = (K, RecordHandle)>,
        check: impl Fn(&Record) -> bool,
    ) -> Vec<RecordHandle> {
        let mut found: Vec<RecordHandle> =
            candidates.map(|(_, h)| h).filter(|&h| self.get(h).is_some_and(&check)).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The next record to dial from `lists` at `now`; see
    /// [`RecordStore::retrieve_marking`]. Records marked do-not-call on the way are not
    /// reported.
    pub fn retrieve(&mut self, lists: &[ListId], now: Time, dnc: &DoNotCallList) -> Option<RecordHandle> {
        self.retrieve_marking(lists, now, dnc, &mut Vec::new())
    }

    /// The next record to dial from `lists` at `now`, marked Retrieved.
    ///
    /// A record qualifies when it is Ready, not a callback or NoCall record, due
    /// (`dial_sched_time` unset or not after `now`), and inside its daily window in its own
    /// time zone. Due records with a `dial_sched_time` (rescheduled by treatment) go first, by
    /// (due time, handle), across `lists`; then records without one, by handle. A record found
    /// outside its window is parked until the window next opens. A record whose
    /// phone or customer id is on `dnc` is not returned: it goes back to the list as
    /// record type NoCall, status Updated, call result Do Not Call, and its handle is
    /// appended to `marked`.
    ///
    /// Cost: a few ordered-set operations per call (plus one per record parked or marked on
    /// the way), whatever the size of the lists.
    ///
    /// `now` should not go backwards between calls (the server clamps its clock): a record
    /// parked until its window opens is not looked at again before then.
    pub fn retrieve_marking(
        &mut self,
        lists: &[ListId],
        now: Time,
        dnc: &DoNotCallList,
        marked: &mut Vec<RecordHandle>,
    ) -> Option<RecordHandle> {
        self.retrieve_skipping(lists, now, dnc, marked, 0, |_, _| false)
    }

    /// [`RecordStore::retrieve_marking`], passing over dialable records for which `skip`
    /// says true (say, a record whose chain already has a member on a desktop or in a call):
    /// they stay Ready, in their place in the queue, and the next one is tried. At most
    /// `max_skipped` records are passed over per call; past that the call gives up (returns
    /// `None`), so a queue full of skipped records costs a bounded amount of work.
    ///
    /// ```
    /// use pacer_engine::records::{CallingList, DoNotCallList, ListFormat, Record, RecordStore};
    /// use pacer_engine::time::Time;
    /// let mut list = CallingList::new("Leads", ListFormat::default());
    /// for (id, chain) in [(1, 1), (2, 1), (3, 2)] {
    ///     let mut r = Record::new(id, &format!("555100{id}"), "UTC");
    ///     (r.daily_from_s, r.daily_till_s, r.chain_id, r.chain_n) = (0, 86_400, chain, id as i32);
    ///     list.push(r).unwrap();
    /// }
    /// let mut store = RecordStore::new();
    /// let id = store.add_list(list).unwrap();
    /// let (now, dnc) = (Time::from_unix_s(1_800_000_000), DoNotCallList::new("Acme"));
    /// let first = store.retrieve(&[id], now, &dnc).unwrap();
    /// // Chain 1 is out: its second record is passed over (and stays Ready) for chain 2's.
    /// let busy = store.get(first).unwrap().chain_id;
    /// let next = store.retrieve_skipping(&[id], now, &dnc, &mut Vec::new(), 8, |_, r| r.chain_id == busy);
    /// assert_eq!(store.get(next.unwrap()).unwrap().record_id, 3);
    /// assert_eq!(store.retrieve(&[id], now, &dnc).map(|h| store.get(h).unwrap().record_id), Some(2));
    /// ```
    pub fn retrieve_skipping(
        &mut self,
        lists: &[ListId],
        now: Time,
        dnc: &DoNotCallList,
        marked: &mut Vec<RecordHandle>,
        max_skipped: usize,
        mut skip: impl FnMut(RecordHandle, &Record) -> bool,
    ) -> Option<RecordHandle> {
        let mut skipped: Vec<(i64, RecordHandle, usize, Queue)> = Vec::new();
        let found = self.retrieve_inner(lists, now, dnc, marked, max_skipped, &mut skip, &mut skipped);
        // Skipped records go back under the keys they had: same place, still Ready.
        for (key, h, l, queue) in skipped {
            let idx = self.loc(h).expect("queued handles are the store's").idx as usize;
            self.slots[l].enqueue(idx, h, Queued::In(queue, key));
        }
        found
    }

    #[allow(clippy::too_many_arguments)]
    fn retrieve_inner(
        &mut self,
        lists: &[ListId],
        now: Time,
        dnc: &DoNotCallList,
        marked: &mut Vec<RecordHandle>,
        max_skipped: usize,
        skip: &mut dyn FnMut(RecordHandle, &Record) -> bool,
        skipped: &mut Vec<(i64, RecordHandle, usize, Queue)>,
    ) -> Option<RecordHandle> {
        let now_s = now.as_unix_s();
        loop {
            let head = |queue: Queue| {
                let mut best: Option<(i64, RecordHandle, usize, Queue)> = None;
                for &ListId(l) in lists {
                    let Some(slot) = self.slots.get(l as usize) else { continue };
                    if let Some(&(key, h)) = slot.queues[queue as usize].first()
                        && key <= now_s
                        && best.is_none_or(|(bk, bh, _, _)| (key, h) < (bk, bh))
                    {
                        best = Some((key, h, l as usize, queue));
                    }
                }
                best
            };
            let (key, h, l, queue) = head(Queue::Scheduled).or_else(|| head(Queue::Fresh))?;
            let loc = self.loc(h).expect("queued handles are the store's");
            let slot = &mut self.slots[l];
            // (key, h) is the head of that queue: popping it skips the search a remove makes.
            let popped = slot.queues[queue as usize].pop_first();
            debug_assert_eq!(popped, Some((key, h)));
            let idx = loc.idx as usize;
            let r = &slot.list.records()[idx];
            let span = self.offsets.span(&r.tz_name, r.tz_offset_s, now_s);
            match tz::next_open_in(r.window(), span, now_s) {
                None => {
                    slot.queued[idx] = Queued::No;
                    continue;
                }
                Some(open) if open > now_s => {
                    slot.queues[queue as usize].insert((open, h));
                    slot.queued[idx] = Queued::In(queue, open);
                    continue;
                }
                Some(_) => {}
            }
            slot.queued[idx] = Queued::No;
            let blocked = dnc.is_blocked(&r.phone, r.customer_id.as_deref(), now);
            if !blocked && skip(h, r) {
                if skipped.len() >= max_skipped {
                    skipped.push((key, h, l, queue));
                    return None;
                }
                skipped.push((key, h, l, queue));
                continue;
            }
            let r = &mut slot.list.records_mut()[idx];
            if blocked {
                r.record_type = RecordType::NoCall;
                r.record_status = RecordStatus::Updated;
                r.call_result = CallResult::DoNotCall;
                marked.push(h);
                continue;
            }
            r.record_status = RecordStatus::Retrieved;
            return Some(h);
        }
    }

    /// Callback records of `lists` due at `now` (Ready, record type Personal or Campaign
    /// CallBack, `dial_sched_time` not after `now`), in (due time, handle) order, each marked
    /// Retrieved so it is handed out once. The daily window is not checked (a callback was
    /// agreed with the customer for its time) and neither is the do-not-call list: see
    /// [`RecordStore::due_scheduled_marking`] for that.
    pub fn due_scheduled(&mut self, lists: &[ListId], now: Time) -> Vec<RecordHandle> {
        let now_s = now.as_unix_s();
        let mut due: Vec<(i64, RecordHandle)> = Vec::new();
        for &ListId(l) in lists {
            let Some(slot) = self.slots.get_mut(l as usize) else { continue };
            let callbacks = &mut slot.queues[Queue::Callback as usize];
            while let Some(&(key, h)) = callbacks.first() {
                if key > now_s {
                    break;
                }
                callbacks.pop_first();
                due.push((key, h));
            }
        }
        due.sort_unstable();
        due.dedup();
        for &(_, h) in &due {
            let loc = self.loc(h).expect("queued handles are the store's");
            let slot = &mut self.slots[loc.list as usize];
            slot.queued[loc.idx as usize] = Queued::No;
            slot.list.records_mut()[loc.idx as usize].record_status = RecordStatus::Retrieved;
        }
        due.into_iter().map(|(_, h)| h).collect()
    }

    /// [`RecordStore::due_scheduled`], except that callbacks whose phone or customer id is on
    /// `dnc` are not returned but marked as retrieval marks them (see
    /// [`RecordStore::mark_no_call`]) and appended to `marked`.
    pub fn due_scheduled_marking(
        &mut self,
        lists: &[ListId],
        now: Time,
        dnc: &DoNotCallList,
        marked: &mut Vec<RecordHandle>,
    ) -> Vec<RecordHandle> {
        let mut due = self.due_scheduled(lists, now);
        due.retain(|&h| {
            let blocked =
                self.get(h).is_some_and(|r| dnc.is_blocked(&r.phone, r.customer_id.as_deref(), now));
            if blocked {
                self.mark_no_call(h);
                marked.push(h);
            }
            !blocked
        });
        due
    }

    /// Adds `record` to `list` and gives it the next handle. A `record_id` of 0 is replaced by
    /// the list's largest id plus one. Refuses a repeated record id or chain position, and a
    /// record that is not valid for the list (custom fields not matching the format, empty
    /// phone, window or offset out of range).
    pub fn add_record(&mut self, list: ListId, mut record: Record) -> Result<RecordHandle, StoreError> {
        let h = RecordHandle(self.locs.len() as i64 + 1);
        let l = list.0 as usize;
        let name = || CompactString::from(self.slots[l].list.name());
        if record.record_id == 0 {
            record.record_id = self.slots[l].max_record_id + 1;
        }
        validate(&self.slots[l].list, &record)?;
        let id = record.record_id;
        if self.slots[l]
            .record_ids
            .candidates(id, id)
            .any(|(_, h)| self.get(h).is_some_and(|r| r.record_id == id))
        {
            return Err(StoreError::DuplicateRecordId { list: name(), record_id: id });
        }
        let (chain_id, chain_n) = (record.chain_id, record.chain_n);
        if self.chain_members(l, chain_id).iter().any(|&(n, _)| n == chain_n) {
            return Err(StoreError::DuplicateChainPosition { list: name(), chain_id, chain_n });
        }
        let slot = &mut self.slots[l];
        let idx = slot.list.len();
        slot.record_ids.insert(id, h);
        slot.max_record_id = slot.max_record_id.max(id);
        slot.chains.insert((chain_id, chain_n), h);
        slot.queued.push(Queued::No);
        slot.enqueue(idx, h, initial_queue(&record));
        self.phones.insert(fnv1a(&record.phone), h);
        if let Some(c) = &record.customer_id {
            self.customer_ids.insert(fnv1a(c), h);
        }
        let slot = &mut self.slots[l];
        slot.list.records_mut().push(record);
        slot.list.handles.push(h);
        self.locs.push(Loc { list: list.0, idx: idx as u32 });
        Ok(h)
    }

    /// The chain id a new chain in `list` gets: one more than the largest in use (1 for an
    /// empty list).
    pub fn next_chain_id(&self, list: ListId) -> i64 {
        self.slots[list.0 as usize].chains.max_key().map_or(1, |(c, _)| c + 1)
    }

    /// The `chain_n` a record joining chain `chain_id` of `list` gets: one more than the
    /// largest in use (0 for a chain with no record yet).
    pub fn next_chain_n(&self, list: ListId, chain_id: i64) -> i32 {
        self.chain_members(list.0 as usize, chain_id).last().map_or(0, |&(n, _)| n + 1)
    }

    /// Applies what UpdateCallCompletionStats or RecordProcessed carries to record `h`: the
    /// modifiable mandatory fields (call result, daily window, phone, phone type) and custom
    /// fields by their send_attribute keys, each converted to its field's type (see
    /// [`FieldType::coerce`](super::FieldType::coerce)). Keys that are no field of the list
    /// are ignored. All or nothing: a bad value changes nothing and names its key.
    pub fn apply_update(
        &mut self,
        h: RecordHandle,
        changes: &FieldChanges,
        custom: &KvList,
    ) -> Result<(), UpdateError> {
        let loc = self.loc(h).ok_or(UpdateError::UnknownHandle(h))?;
        let bad = |key: &str, reason: String| UpdateError::BadValue { key: key.into(), reason };
        let day = 0..=tz::SECONDS_PER_DAY;
        for (key, value) in [("GSW_FROM", changes.daily_from_s), ("GSW_UNTIL", changes.daily_until_s)] {
            if let Some(v) = value
                && !day.contains(&v)
            {
                return Err(bad(key, format!("{v} is outside 0..=86400 seconds from midnight")));
            }
        }
        if changes.phone.as_ref().is_some_and(|p| p.is_empty()) {
            return Err(bad("GSW_PHONE", "empty phone".into()));
        }
        if changes.phone.is_some() || changes.phone_type.is_some() {
            // The record must stay one its list could load: a number its type can reach.
            let current = self.get(h).ok_or(UpdateError::UnknownHandle(h))?;
            let phone = changes.phone.as_deref().unwrap_or(&current.phone);
            let phone_type = changes.phone_type.unwrap_or(current.phone_type);
            super::check_contact_info(phone, phone_type).map_err(|reason| bad("GSW_PHONE", reason))?;
        }
        let format = self.slots[loc.list as usize].list.format();
        let mut custom_values = Vec::new();
        for (key, value) in custom.iter() {
            if let Some(idx) = format.index_of_send_attribute(key.as_str()) {
                let value =
                    format.custom[idx].data_type.coerce(value).map_err(|reason| bad(key.as_str(), reason))?;
                custom_values.push((idx, value));
            }
        }
        let mut r = self.get_mut(h).ok_or(UpdateError::UnknownHandle(h))?;
        if let Some(result) = changes.call_result {
            r.call_result = result;
        }
        // Both checked against 0..=86400 above, so they fit.
        if let Some(from) = changes.daily_from_s {
            r.daily_from_s = from as i32;
        }
        if let Some(till) = changes.daily_until_s {
            r.daily_till_s = till as i32;
        }
        if let Some(phone) = &changes.phone {
            r.phone = phone.clone();
        }
        if let Some(phone_type) = changes.phone_type {
            r.phone_type = phone_type;
        }
        for (idx, value) in custom_values {
            r.custom[idx] = Some(value);
        }
        Ok(())
    }

    /// Marks record `h` do-not-call the way retrieval does for a blocked number: record type
    /// NoCall, status Updated, call result Do Not Call; it leaves the retrieval queues for
    /// good. False for an unknown handle.
    pub fn mark_no_call(&mut self, h: RecordHandle) -> bool {
        let Some(mut r) = self.get_mut(h) else { return false };
        r.record_type = RecordType::NoCall;
        r.record_status = RecordStatus::Updated;
        r.call_result = CallResult::DoNotCall;
        true
    }

    /// Puts record `h` back in its list with `status` (Ready puts it back in the retrieval
    /// queues). An unknown handle is ignored.
    pub fn return_to_list(&mut self, h: RecordHandle, status: RecordStatus) {
        if let Some(mut r) = self.get_mut(h) {
            r.record_status = status;
        }
    }

    /// Sets aside record `h`, just handed out by retrieval (status Retrieved): it is Ready
    /// again but in no retrieval queue, so it is not handed out until
    /// [`RecordStore::requeue`] puts it back. A caller parks this way a record it cannot take
    /// yet (its chain is being worked) without the record blocking the head of the queue.
    /// False, and nothing changed, when `h` is unknown or not Retrieved.
    ///
    /// ```
    /// use pacer_engine::records::{CallingList, DoNotCallList, ListFormat, Record, RecordStore};
    /// use pacer_engine::protocol::RecordStatus;
    /// use pacer_engine::time::Time;
    /// let mut list = CallingList::new("Leads", ListFormat::default());
    /// for id in 1..=2 {
    ///     let mut r = Record::new(id, &format!("555100{id}"), "UTC");
    ///     (r.daily_from_s, r.daily_till_s) = (0, 86_400);
    ///     list.push(r).unwrap();
    /// }
    /// let mut store = RecordStore::new();
    /// let id = store.add_list(list).unwrap();
    /// let (now, dnc) = (Time::from_unix_s(1_800_000_000), DoNotCallList::new("Acme"));
    /// let first = store.retrieve(&[id], now, &dnc).unwrap();
    /// assert!(store.set_aside(first));
    /// assert_eq!(store.get(first).unwrap().record_status, RecordStatus::Ready);
    /// let second = store.retrieve(&[id], now, &dnc).unwrap();
    /// assert_ne!(first, second);
    /// assert_eq!(store.retrieve(&[id], now, &dnc), None, "the first is set aside");
    /// store.requeue(first);
    /// assert_eq!(store.retrieve(&[id], now, &dnc), Some(first));
    /// ```
    pub fn set_aside(&mut self, h: RecordHandle) -> bool {
        let Some(loc) = self.loc(h) else { return false };
        let slot = &mut self.slots[loc.list as usize];
        let idx = loc.idx as usize;
        let r = &mut slot.list.records_mut()[idx];
        if r.record_status != RecordStatus::Retrieved {
            return false;
        }
        // Not through `get_mut`: its guard would queue the record again.
        r.record_status = RecordStatus::Ready;
        if let Queued::In(queue, key) = slot.queued[idx] {
            slot.queues[queue as usize].remove(&(key, h));
        }
        slot.queued[idx] = Queued::No;
        true
    }

    /// Puts a record set aside by [`RecordStore::set_aside`] back in its retrieval queue.
    /// A record that left the aside state meanwhile (taken out, changed, already queued) is
    /// left as it is.
    pub fn requeue(&mut self, h: RecordHandle) {
        let Some(loc) = self.loc(h) else { return };
        let slot = &mut self.slots[loc.list as usize];
        let idx = loc.idx as usize;
        if slot.queued[idx] != Queued::No {
            return;
        }
        let q = initial_queue(&slot.list.records()[idx]);
        slot.enqueue(idx, h, q);
    }

    /// True if `now` falls inside the record's daily window, in the record's time zone (with
    /// daylight saving time for zones of the [`tz`] table that observe it).
    pub fn in_window(record: &Record, now: Time) -> bool {
        let now_s = now.as_unix_s();
        record.window().contains(tz::second_of_day(now_s, record.offset_at(now)))
    }

    /// The first instant at or after `t` inside the record's daily window (in its own time
    /// zone, daylight saving included), or `None` for an empty window: where a callback
    /// asked for outside the window is moved to.
    ///
    /// ```
    /// use pacer_engine::records::{Record, RecordStore};
    /// use pacer_engine::time::Time;
    /// let r = Record::new(1, "5551000", "EST"); // window 08:00-18:00 local
    /// let day = 1_800_014_400 / 86_400 * 86_400; // 2027-01-15T00:00Z
    /// let evening = Time::from_unix_s(day + 23 * 3600 + 1800); // 18:30 EST
    /// // Moved to 08:00 EST the next morning, 13:00Z.
    /// assert_eq!(RecordStore::next_in_window(&r, evening), Some(Time::from_unix_s(day + 86_400 + 13 * 3600)));
    /// ```
    pub fn next_in_window(record: &Record, t: Time) -> Option<Time> {
        let mut unix_s = t.as_unix_s();
        // `next_open` answers an opening or an earlier offset change; a few steps pass any
        // change (at most two a year) and land on the opening.
        for _ in 0..8 {
            let open = tz::next_open(record.window(), &record.tz_name, record.tz_offset_s, unix_s)?;
            if open == unix_s {
                return Some(if unix_s == t.as_unix_s() { t } else { Time::from_unix_s(unix_s) });
            }
            unix_s = open;
        }
        None
    }

    /// The instant a `GSW_DATE_TIME` names, read in the record's time zone; `None` before the
    /// epoch.
    pub fn local_to_utc(record: &Record, local: LocalDateTime) -> Option<Time> {
        tz::local_to_utc(&record.tz_name, record.tz_offset_s, local)
    }

    /// The earliest time at which a record of `lists` may next become retrievable or a
    /// callback due: the smallest key among the queue heads (a due time, or the opening of a
    /// window a record was parked until). A lower bound, for a caller's timer: at that time
    /// retrieval may still find the record closed (a daylight-saving change) and park it
    /// again. `None` when nothing of `lists` waits.
    pub fn next_due(&self, lists: &[ListId]) -> Option<Time> {
        lists
            .iter()
            .filter_map(|&ListId(l)| self.slots.get(l as usize))
            .flat_map(|slot| slot.queues.iter().filter_map(|q| q.first().map(|&(key, _)| key)))
            .min()
            .map(Time::from_unix_s)
    }

    /// Records of `list` waiting to be retrieved (due or not, window open or not).
    pub fn ready_len(&self, list: ListId) -> usize {
        let slot = &self.slots[list.0 as usize];
        slot.queues[Queue::Scheduled as usize].len() + slot.queues[Queue::Fresh as usize].len()
    }

    /// When the first callback of `lists` waiting to be due is due (Unix seconds, its
    /// `dial_sched_time`), if any: the time [`RecordStore::due_scheduled`] next has work.
    pub fn next_scheduled(&self, lists: &[ListId]) -> Option<i64> {
        lists
            .iter()
            .filter_map(|&ListId(l)| self.slots.get(l as usize)?.queues[Queue::Callback as usize].first())
            .map(|&(key, _)| key)
            .min()
    }

    /// Callback records of `list` waiting to be due.
    pub fn callbacks_len(&self, list: ListId) -> usize {
        self.slots[list.0 as usize].queues[Queue::Callback as usize].len()
    }

    fn reindex(&mut self, h: RecordHandle, loc: Loc, before: &IndexedFields, after: &IndexedFields) {
        let slot = &mut self.slots[loc.list as usize];
        let idx = loc.idx as usize;
        if before.queue != after.queue {
            if let Queued::In(queue, key) = slot.queued[idx] {
                slot.queues[queue as usize].remove(&(key, h));
            }
            let q = initial_queue(&slot.list.records()[idx]);
            slot.enqueue(idx, h, q);
        }
        if (before.chain_id, before.chain_n) != (after.chain_id, after.chain_n) {
            slot.chains.remove((before.chain_id, before.chain_n), h);
            slot.chains.insert((after.chain_id, after.chain_n), h);
        }
        if before.record_id != after.record_id {
            slot.record_ids.remove(before.record_id, h);
            slot.record_ids.insert(after.record_id, h);
            slot.max_record_id = slot.max_record_id.max(after.record_id);
        }
        if before.phone != after.phone {
            self.phones.remove(fnv1a(&before.phone), h);
            self.phones.insert(fnv1a(&after.phone), h);
        }
        if before.customer_id != after.customer_id {
            if let Some(c) = &before.customer_id {
                self.customer_ids.remove(fnv1a(c), h);
            }
            if let Some(c) = &after.customer_id {
                self.customer_ids.insert(fnv1a(c), h);
            }
        }
    }
}

impl Slot {
    /// Records that record `idx` (handle `h`) is queued as `q`, and queues it.
    fn enqueue(&mut self, idx: usize, h: RecordHandle, q: Queued) {
        if let Queued::In(queue, key) = q {
            self.queues[queue as usize].insert((key, h));
        }
        self.queued[idx] = q;
    }
}

/// The queue a record belongs in, judged from its fields alone.
fn initial_queue(r: &Record) -> Queued {
    if r.record_status != RecordStatus::Ready || r.record_type == RecordType::NoCall {
        Queued::No
    } else if r.is_callback() {
        Queued::In(Queue::Callback, r.dial_sched_time.unwrap_or(0))
    } else {
        match r.dial_sched_time {
            Some(t) => Queued::In(Queue::Scheduled, t),
            None => Queued::In(Queue::Fresh, 0),
        }
    }
}

fn validate(list: &CallingList, r: &Record) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::InvalidRecord { list: list.name().into(), reason };
    if r.custom.len() != list.format().custom.len() {
        return Err(invalid(format!(
            "record {} has {} custom fields, the list's format has {}",
            r.record_id,
            r.custom.len(),
            list.format().custom.len()
        )));
    }
    for (def, value) in list.format().custom.iter().zip(&r.custom) {
        if let Some(value) = value
            && !def.data_type.holds(value)
        {
            return Err(invalid(format!(
                "record {}: custom field `{}` is {} but holds {value:?}",
                r.record_id, def.name, def.data_type
            )));
        }
    }
    if r.phone.is_empty() {
        return Err(invalid(format!("record {} has no phone", r.record_id)));
    }
    super::check_contact_info(&r.phone, r.phone_type)
        .map_err(|reason| invalid(format!("record {}: contact_info {reason}", r.record_id)))?;
    let day = 0..=tz::SECONDS_PER_DAY as i32;
    if !day.contains(&r.daily_from_s) || !day.contains(&r.daily_till_s) {
        return Err(invalid(format!("record {}: daily window outside 0..=86400", r.record_id)));
    }
    if !(-43_200..=43_200).contains(&r.tz_offset_s) {
        return Err(invalid(format!("record {}: tz offset outside -43200..=43200", r.record_id)));
    }
    if r.chain_n < 0 || r.attempts < 0 || r.record_id <= 0 {
        return Err(invalid(format!(
            "record {}: negative chain_n or attempts, or id not positive",
            r.record_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{CustomFieldDef, FieldType, ListFormat, Value};
    use std::time::Duration;

    /// 2027-01-15T00:00:00Z: winter, no daylight saving in the northern zones.
    const DAY: i64 = 1_800_000_000 / 86_400 * 86_400;

    fn at(hour: i64, minute: i64) -> Time {
        Time::from_unix_s(DAY + hour * 3600 + minute * 60)
    }

    fn rec(id: i64, phone: &str) -> Record {
        let mut r = Record::new(id, phone, "UTC");
        r.daily_from_s = 0;
        r.daily_till_s = 86_400;
        r
    }

    fn store_with(name: &str, records: Vec<Record>) -> (RecordStore, ListId) {
        let mut store = RecordStore::new();
        let id = store.add_list(list_of(name, records)).unwrap();
        (store, id)
    }

    fn list_of(name: &str, records: Vec<Record>) -> CallingList {
        let mut list = CallingList::new(name, ListFormat::default());
        for r in records {
            list.push(r).unwrap();
        }
        list
    }

    fn no_dnc() -> DoNotCallList {
        DoNotCallList::new("tenant")
    }

    fn ids(store: &RecordStore, handles: &[RecordHandle]) -> Vec<i64> {
        handles.iter().map(|&h| store.get(h).unwrap().record_id).collect()
    }

    fn drain(store: &mut RecordStore, lists: &[ListId], now: Time, dnc: &DoNotCallList) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(h) = store.retrieve(lists, now, dnc) {
            out.push(store.get(h).unwrap().record_id);
        }
        out
    }

    #[test]
    fn the_store_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RecordStore>();
        assert_send_sync::<DoNotCallList>();
    }

    #[test]
    fn due_callbacks_on_the_do_not_call_list_are_marked() {
        let mut records: Vec<Record> = (1..=2).map(|i| rec(i, &i.to_string())).collect();
        for r in &mut records {
            r.record_type = RecordType::CampaignCallBack;
            r.dial_sched_time = Some(at(9, 0).as_unix_s());
        }
        let (mut store, a) = store_with("A", records);
        let mut dnc = no_dnc();
        dnc.add_phone("2", at(0, 0), None);
        let mut marked = Vec::new();
        assert_eq!(store.due_scheduled_marking(&[a], at(9, 0), &dnc, &mut marked), vec![RecordHandle(1)]);
        assert_eq!(marked, vec![RecordHandle(2)]);
        assert_eq!(store.get(RecordHandle(2)).unwrap().record_type, RecordType::NoCall);
    }

    #[test]
    fn updates_change_modifiable_and_custom_fields_all_or_nothing() {
        let format = ListFormat {
            custom: vec![
                CustomFieldDef::new("balance", FieldType::Int, Some("bal")),
                CustomFieldDef::new("notes", FieldType::Varchar, Some("notes")),
            ],
        };
        let mut list = CallingList::new("A", format);
        let mut r = rec(1, "555");
        r.custom = vec![None, None];
        list.push(r).unwrap();
        let mut store = RecordStore::new();
        store.add_list(list).unwrap();
        let h = RecordHandle(1);
        let changes = FieldChanges {
            call_result: Some(CallResult::Answer),
            daily_from_s: Some(3600),
            daily_until_s: None,
            phone: Some("556".into()),
            phone_type: None,
        };
        let custom =
            KvList::from_pairs([("bal", Value::Str("42".into())), ("other", Value::Int(1))]).unwrap();
        store.apply_update(h, &changes, &custom).unwrap();
        let r = store.get(h).unwrap();
        assert_eq!((r.call_result, r.daily_from_s, r.phone.as_str()), (CallResult::Answer, 3600, "556"));
        assert_eq!(r.custom, vec![Some(Value::Int(42)), None]);
        assert_eq!(store.find_by_phone("556"), vec![h], "the phone index follows");
        // A bad custom value changes nothing, not even the good fields beside it.
        let custom = KvList::from_pairs([("notes", Value::Int(7)), ("bal", Value::Str("x".into()))]).unwrap();
        let changes = FieldChanges { call_result: Some(CallResult::Busy), ..changes };
        let err = store.apply_update(h, &changes, &custom).unwrap_err();
        assert_eq!(err.to_string(), "bal: `x` is not an integer (INT field)");
        assert_eq!(store.get(h).unwrap().call_result, CallResult::Answer);
        let late = FieldChanges { daily_until_s: Some(90_000), ..FieldChanges::default() };
        assert!(matches!(store.apply_update(h, &late, &KvList::new()), Err(UpdateError::BadValue { .. })));
        let none = FieldChanges::default();
        assert_eq!(
            store.apply_update(RecordHandle(9), &none, &KvList::new()),
            Err(UpdateError::UnknownHandle(RecordHandle(9)))
        );
    }

    #[test]
    fn skipped_records_keep_their_place_and_the_skip_budget_is_bounded() {
        let mut records: Vec<Record> = (1..=5).map(|i| rec(i, &i.to_string())).collect();
        records[3].dial_sched_time = Some(at(9, 0).as_unix_s());
        let (mut store, a) = store_with("A", records);
        let now = at(12, 0);
        let mut marked = Vec::new();
        // Record 4 (due rescheduled) and 1 are skipped: 2 comes out.
        let got = store.retrieve_skipping(&[a], now, &no_dnc(), &mut marked, 2, |_, r| {
            r.record_id <= 1 || r.record_id == 4
        });
        assert_eq!(got, Some(RecordHandle(2)));
        for h in [1, 4] {
            assert_eq!(store.get(RecordHandle(h)).unwrap().record_status, RecordStatus::Ready);
        }
        // A budget of one skip, with the first two records skipped: nothing, and no change.
        let got = store.retrieve_skipping(&[a], now, &no_dnc(), &mut marked, 1, |_, r| r.record_id != 5);
        assert_eq!(got, None);
        assert_eq!(
            drain(&mut store, &[a], now, &no_dnc()),
            vec![4, 1, 3, 5],
            "the skipped kept their places"
        );
        assert!(marked.is_empty());
    }

    #[test]
    fn mark_no_call_takes_a_record_out_for_good() {
        let (mut store, a) = store_with("A", vec![rec(1, "1"), rec(2, "2")]);
        assert!(store.mark_no_call(RecordHandle(1)));
        assert!(!store.mark_no_call(RecordHandle(3)));
        let r = store.get(RecordHandle(1)).unwrap();
        assert_eq!(
            (r.record_type, r.record_status, r.call_result),
            (RecordType::NoCall, RecordStatus::Updated, CallResult::DoNotCall)
        );
        store.return_to_list(RecordHandle(1), RecordStatus::Ready);
        assert_eq!(drain(&mut store, &[a], at(12, 0), &no_dnc()), vec![2]);
    }

    #[test]
    fn handles_are_dense_unique_and_never_reused() {
        let (mut store, a) = store_with("A", vec![rec(1, "1"), rec(2, "2")]);
        let b = store.add_list(list_of("B", vec![rec(1, "3")])).unwrap();
        assert_eq!(store.list(a).handles(), &[RecordHandle(1), RecordHandle(2)]);
        assert_eq!(store.list(b).handles(), &[RecordHandle(3)]);
        let h = store.add_record(a, rec(0, "4")).unwrap();
        assert_eq!(h, RecordHandle(4));
        assert_eq!(store.get(h).unwrap().record_id, 3, "id 0 means the next free id");
        // A refused record does not use up a handle, and the next one is still fresh.
        assert!(store.add_record(a, rec(3, "5")).is_err());
        assert_eq!(store.add_record(b, rec(9, "5")).unwrap(), RecordHandle(5));
        assert_eq!(store.len(), 5);
        for bad in [0, -1, 6, i64::MIN, i64::MAX] {
            assert!(store.get(RecordHandle(bad)).is_none(), "handle {bad}");
            assert!(store.list_of(RecordHandle(bad)).is_none());
        }
        assert_eq!(store.list_of(RecordHandle(5)), Some(b));
        assert_eq!(store.list_by_name("B"), Some(b));
        assert_eq!(store.list_by_name("C"), None);
        assert_eq!(store.list(b).script_id(), None);
        store.set_script_id(b, Some(301));
        assert_eq!(store.list(b).script_id(), Some(301));
        assert_eq!(store.add_list(list_of("A", vec![])), Err(StoreError::DuplicateListName("A".into())));
        assert_eq!(store.list_ids().collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(store.handles().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        // A clone is independent: records retrieved from it stay Ready here.
        let mut copy = store.clone();
        assert!(copy.retrieve(&[a], Time::from_unix_s(DAY + 12 * 3600), &no_dnc()).is_some());
        assert_eq!(store.get(RecordHandle(1)).unwrap().record_status, RecordStatus::Ready);
    }

    #[test]
    fn add_list_refuses_repeats_and_bad_records_without_changing_the_store() {
        let mut store = RecordStore::new();
        let mut twice = rec(2, "2");
        twice.chain_id = 1;
        let err = store.add_list(list_of("A", vec![rec(1, "1"), twice])).unwrap_err();
        assert_eq!(err, StoreError::DuplicateChainPosition { list: "A".into(), chain_id: 1, chain_n: 0 });
        let mut same_id = rec(1, "2");
        same_id.chain_id = 5;
        let err = store.add_list(list_of("A", vec![rec(1, "1"), same_id])).unwrap_err();
        assert_eq!(err, StoreError::DuplicateRecordId { list: "A".into(), record_id: 1 });
        let mut late = rec(1, "1");
        late.daily_till_s = 86_401;
        assert!(matches!(store.add_list(list_of("A", vec![late])), Err(StoreError::InvalidRecord { .. })));
        assert!(store.is_empty());
        assert_eq!(store.list_by_name("A"), None);
    }

    #[test]
    fn custom_fields_must_match_the_format() {
        let format = ListFormat { custom: vec![CustomFieldDef::new("n", FieldType::Int, Some("n"))] };
        let mut store = RecordStore::new();
        let id = store.add_list(CallingList::new("A", format)).unwrap();
        assert!(matches!(store.add_record(id, rec(1, "1")), Err(StoreError::InvalidRecord { .. })));
        let mut r = rec(1, "1");
        r.custom = vec![Some(Value::Str("x".into()))];
        assert!(matches!(store.add_record(id, r.clone()), Err(StoreError::InvalidRecord { .. })));
        r.custom = vec![Some(Value::Int(3))];
        assert!(store.add_record(id, r).is_ok());
    }

    #[test]
    fn chains_come_in_chain_n_order_and_chain_helpers_count_on() {
        let mut records = Vec::new();
        for (id, chain, n) in [(1, 7, 2), (2, 7, 0), (3, 8, 0), (4, 7, 1)] {
            let mut r = rec(id, &format!("555{id}"));
            r.chain_id = chain;
            r.chain_n = n;
            records.push(r);
        }
        let (mut store, a) = store_with("A", records);
        let chain = store.chain(RecordHandle(1));
        assert_eq!(ids(&store, &chain), vec![2, 4, 1]);
        assert_eq!(store.chain(RecordHandle(3)), vec![RecordHandle(3)]);
        assert!(store.chain(RecordHandle(99)).is_empty());
        assert_eq!(store.next_chain_id(a), 9);
        assert_eq!(store.next_chain_n(a, 7), 3);
        assert_eq!(store.next_chain_n(a, 42), 0);
        let mut r = rec(0, "5005");
        r.chain_id = 7;
        r.chain_n = 1;
        assert_eq!(
            store.add_record(a, r.clone()),
            Err(StoreError::DuplicateChainPosition { list: "A".into(), chain_id: 7, chain_n: 1 })
        );
        r.chain_n = store.next_chain_n(a, 7);
        let h = store.add_record(a, r).unwrap();
        assert_eq!(ids(&store, &store.chain(h)), vec![2, 4, 1, 5]);
        let empty = store.add_list(list_of("B", vec![])).unwrap();
        assert_eq!(store.next_chain_id(empty), 1);
        // Moving a record to another chain through get_mut moves it in the chain index.
        {
            let mut r = store.get_mut(RecordHandle(3)).unwrap();
            r.chain_id = 7;
            r.chain_n = 9;
        }
        assert_eq!(ids(&store, &store.chain(h)), vec![2, 4, 1, 5, 3]);
        assert_eq!(store.next_chain_n(a, 8), 0, "chain 8 is empty now");
        let mut r = rec(0, "6006");
        r.chain_id = 8;
        assert!(store.add_record(a, r).is_ok(), "its old position is free");
        // Ids changed through get_mut free the old one.
        store.get_mut(RecordHandle(1)).unwrap().record_id = 100;
        assert!(
            store
                .add_record(a, {
                    let mut r = rec(1, "7007");
                    r.chain_id = 50;
                    r
                })
                .is_ok()
        );
    }

    #[test]
    fn phone_and_customer_indexes_span_lists_and_follow_changes() {
        let mut r2 = rec(2, "555");
        r2.customer_id = Some("C1".into());
        let (mut store, _) = store_with("A", vec![rec(1, "555"), r2]);
        let mut r3 = rec(1, "555");
        r3.customer_id = Some("C1".into());
        store.add_list(list_of("B", vec![r3])).unwrap();
        let h = |i| RecordHandle(i);
        assert_eq!(store.find_by_phone("555"), vec![h(1), h(2), h(3)]);
        assert_eq!(store.find_by_customer_id("C1"), vec![h(2), h(3)]);
        assert!(store.find_by_phone("556").is_empty());
        {
            let mut r = store.get_mut(h(2)).unwrap();
            r.phone = "556".into();
            r.customer_id = None;
        }
        assert_eq!(store.find_by_phone("555"), vec![h(1), h(3)]);
        assert_eq!(store.find_by_phone("556"), vec![h(2)]);
        assert_eq!(store.find_by_customer_id("C1"), vec![h(3)]);
        store.get_mut(h(1)).unwrap().phone = "556".into();
        assert_eq!(store.find_by_phone("556"), vec![h(1), h(2)], "handle order kept");
        // There and back again: stale index entries are never reported, nor twice.
        store.get_mut(h(2)).unwrap().phone = "555".into();
        store.get_mut(h(2)).unwrap().phone = "556".into();
        assert_eq!(store.find_by_phone("556"), vec![h(1), h(2)]);
        assert_eq!(store.find_by_phone("555"), vec![h(3)]);
        store.get_mut(h(3)).unwrap().customer_id = Some("C2".into());
        assert!(store.find_by_customer_id("C1").is_empty());
        assert_eq!(store.find_by_customer_id("C2"), vec![h(3)]);
    }

    #[test]
    fn due_rescheduled_records_go_first_then_fresh_ones_by_handle_each_once() {
        let mut records = vec![rec(1, "1"), rec(2, "2"), rec(3, "3"), rec(4, "4")];
        records[0].dial_sched_time = Some(at(10, 0).as_unix_s());
        records[2].dial_sched_time = Some(at(9, 0).as_unix_s());
        records[3].dial_sched_time = Some(at(11, 0).as_unix_s());
        let (mut store, a) = store_with("A", records);
        assert_eq!(drain(&mut store, &[a], at(10, 30), &no_dnc()), vec![3, 1, 2], "record 4 is not due yet");
        assert_eq!(drain(&mut store, &[a], at(10, 30), &no_dnc()), Vec::<i64>::new());
        assert_eq!(drain(&mut store, &[a], at(11, 0), &no_dnc()), vec![4]);
        assert_eq!(store.get(RecordHandle(4)).unwrap().record_status, RecordStatus::Retrieved);
        store.return_to_list(RecordHandle(3), RecordStatus::Ready);
        store.return_to_list(RecordHandle(1), RecordStatus::Updated);
        assert_eq!(drain(&mut store, &[a], at(11, 0), &no_dnc()), vec![3]);
        store.return_to_list(RecordHandle(99), RecordStatus::Ready);
    }

    #[test]
    fn retrieval_takes_only_the_lists_asked_for_merging_them_in_order() {
        let (mut store, a) = store_with("A", vec![rec(1, "1"), rec(2, "2")]);
        let b = store.add_list(list_of("B", vec![rec(1, "3")])).unwrap();
        assert_eq!(drain(&mut store, &[b], at(12, 0), &no_dnc()), vec![1]);
        assert_eq!(store.list_of(RecordHandle(3)), Some(b));
        let c = store.add_list(list_of("C", vec![rec(5, "5")])).unwrap();
        // Handles 1, 2 (A) and 4 (C), all due at 0: handle order across lists.
        let got: Vec<_> = std::iter::from_fn(|| store.retrieve(&[c, a], at(12, 0), &no_dnc())).collect();
        assert_eq!(got, vec![RecordHandle(1), RecordHandle(2), RecordHandle(4)]);
        assert_eq!(store.retrieve(&[ListId(77)], at(12, 0), &no_dnc()), None, "an unknown list has nothing");
    }

    #[test]
    fn only_ready_general_records_are_retrieved() {
        let mut records: Vec<Record> = (1..=6).map(|i| rec(i, &i.to_string())).collect();
        records[1].record_status = RecordStatus::Updated;
        records[2].record_type = RecordType::NoCall;
        records[3].record_type = RecordType::PersonalCallBack;
        records[4].record_type = RecordType::CampaignRescheduled;
        records[5].record_status = RecordStatus::Stale;
        let (mut store, a) = store_with("A", records);
        assert_eq!(drain(&mut store, &[a], at(12, 0), &no_dnc()), vec![1, 5]);
    }

    #[test]
    fn the_daily_window_is_read_in_the_record_zone() {
        // At 14:00Z: 09:00 in New York (EST), 15:00 in Paris (CET), 23:00 in Tokyo (JST).
        let mut records = Vec::new();
        for (id, zone) in [(1, "EST"), (2, "CET"), (3, "JST")] {
            let mut r = Record::new(id, &id.to_string(), zone);
            r.daily_from_s = 9 * 3600;
            r.daily_till_s = 17 * 3600;
            records.push(r);
        }
        let (mut store, a) = store_with("A", records);
        for (h, inside) in [(1, true), (2, true), (3, false)] {
            assert_eq!(
                RecordStore::in_window(store.get(RecordHandle(h)).unwrap(), at(14, 0)),
                inside,
                "record {h}"
            );
        }
        assert!(!RecordStore::in_window(store.get(RecordHandle(1)).unwrap(), at(13, 59)));
        assert_eq!(drain(&mut store, &[a], at(13, 59), &no_dnc()), vec![2]);
        assert_eq!(drain(&mut store, &[a], at(14, 0), &no_dnc()), vec![1]);
        // Tokyo opens at 09:00 JST = 00:00Z the next day.
        assert_eq!(drain(&mut store, &[a], at(23, 59), &no_dnc()), Vec::<i64>::new());
        assert_eq!(drain(&mut store, &[a], at(24, 0), &no_dnc()), vec![3]);
    }

    #[test]
    fn records_out_of_window_are_parked_not_rescanned() {
        let mut records: Vec<Record> = (1..=1000).map(|i| Record::new(i, &i.to_string(), "UTC")).collect();
        records.push(rec(1001, "1001"));
        let (mut store, a) = store_with("A", records);
        // At 06:00 the 08:00-18:00 records are closed: each is parked once, until 08:00.
        assert_eq!(store.next_due(&[a]), Some(Time::EPOCH), "fresh records are due from the start");
        assert_eq!(drain(&mut store, &[a], at(6, 0), &no_dnc()), vec![1001]);
        assert_eq!(store.next_due(&[a]), Some(at(8, 0)), "everything left is parked until 08:00");
        assert_eq!(store.next_due(&[]), None);
        let parked = &store.slots[0].queues[Queue::Fresh as usize];
        assert_eq!(parked.len(), 1000);
        assert!(parked.iter().all(|&(key, _)| key == at(8, 0).as_unix_s()));
        assert_eq!(store.retrieve(&[a], at(7, 0), &no_dnc()), None);
        assert_eq!(store.ready_len(a), 1000, "nothing re-keyed before the opening");
        let h = store.retrieve(&[a], at(8, 0), &no_dnc()).unwrap();
        assert_eq!(store.get(h).unwrap().record_id, 1);
    }

    #[test]
    fn wrapping_and_empty_windows() {
        let mut night = rec(1, "1");
        night.daily_from_s = 22 * 3600;
        night.daily_till_s = 2 * 3600;
        let mut never = rec(2, "2");
        never.daily_from_s = 3600;
        never.daily_till_s = 3600;
        let (mut store, a) = store_with("A", vec![night, never]);
        assert_eq!(drain(&mut store, &[a], at(12, 0), &no_dnc()), Vec::<i64>::new());
        assert_eq!(store.ready_len(a), 1, "the empty window left the queue for good");
        assert_eq!(drain(&mut store, &[a], at(23, 0), &no_dnc()), vec![1]);
        // Giving record 2 a real window through get_mut puts it back.
        store.get_mut(RecordHandle(2)).unwrap().daily_till_s = 86_400;
        assert_eq!(drain(&mut store, &[a], at(23, 0), &no_dnc()), vec![2]);
    }

    #[test]
    fn do_not_call_records_are_marked_and_skipped() {
        let mut r3 = rec(3, "300");
        r3.customer_id = Some("C3".into());
        let (mut store, a) = store_with("A", vec![rec(1, "100"), rec(2, "200"), r3, rec(4, "400")]);
        let mut dnc = no_dnc();
        dnc.add_phone("100", at(0, 0), None);
        dnc.add_customer_id("C3", at(0, 0), Some(Duration::from_secs(3600)));
        dnc.add_phone("400", at(0, 0), Some(Duration::from_secs(60)));
        let mut marked = Vec::new();
        let mut got = Vec::new();
        while let Some(h) = store.retrieve_marking(&[a], at(0, 30), &dnc, &mut marked) {
            got.push(h);
        }
        assert_eq!(got, vec![RecordHandle(2), RecordHandle(4)], "the DNC entry for 400 had expired");
        assert_eq!(marked, vec![RecordHandle(1), RecordHandle(3)]);
        for h in marked {
            let r = store.get(h).unwrap();
            assert_eq!(
                (r.record_type, r.record_status, r.call_result),
                (RecordType::NoCall, RecordStatus::Updated, CallResult::DoNotCall)
            );
        }
        // Marked records never come back, even returned to Ready.
        store.return_to_list(RecordHandle(1), RecordStatus::Ready);
        assert_eq!(store.retrieve(&[a], at(0, 30), &no_dnc()), None);
    }

    #[test]
    fn callbacks_are_handed_out_when_due_once() {
        let mut records: Vec<Record> = (1..=3).map(|i| rec(i, &i.to_string())).collect();
        for (r, (kind, hour)) in records.iter_mut().zip([
            (RecordType::PersonalCallBack, 10),
            (RecordType::CampaignCallBack, 9),
            (RecordType::PersonalCallBack, 11),
        ]) {
            r.record_type = kind;
            r.dial_sched_time = Some(at(hour, 0).as_unix_s());
        }
        let (mut store, a) = store_with("A", records);
        assert_eq!(store.callbacks_len(a), 3);
        assert_eq!(store.next_due(&[a]), Some(at(9, 0)));
        assert!(store.due_scheduled(&[a], at(8, 59)).is_empty());
        let due = store.due_scheduled(&[a], at(10, 0));
        assert_eq!(ids(&store, &due), vec![2, 1]);
        assert!(store.due_scheduled(&[a], at(10, 0)).is_empty());
        assert_eq!(
            store.retrieve(&[a], at(12, 0), &no_dnc()),
            None,
            "callbacks are not retrieved for dialing"
        );
        assert_eq!(store.get(RecordHandle(2)).unwrap().record_status, RecordStatus::Retrieved);
        // Rescheduled through get_mut, the callback is due again at its new time.
        {
            let mut r = store.get_mut(RecordHandle(2)).unwrap();
            r.record_status = RecordStatus::Ready;
            r.dial_sched_time = Some(at(13, 0).as_unix_s());
        }
        let due = store.due_scheduled(&[a], at(13, 0));
        assert_eq!(ids(&store, &due), vec![3, 2]);
    }

    #[test]
    fn get_mut_moves_records_between_queues() {
        let (mut store, a) = store_with("A", vec![rec(1, "1"), rec(2, "2")]);
        store.get_mut(RecordHandle(1)).unwrap().record_status = RecordStatus::Canceled;
        assert_eq!(store.ready_len(a), 1);
        store.get_mut(RecordHandle(2)).unwrap().dial_sched_time = Some(at(15, 0).as_unix_s());
        assert_eq!(store.retrieve(&[a], at(14, 0), &no_dnc()), None);
        store.get_mut(RecordHandle(2)).unwrap().record_type = RecordType::CampaignCallBack;
        assert_eq!(store.ready_len(a), 0);
        assert_eq!(store.callbacks_len(a), 1);
        // A guard that changes nothing the queues depend on leaves them alone.
        let before = store.slots[0].queues.clone();
        store.get_mut(RecordHandle(2)).unwrap().attempts += 1;
        assert_eq!(store.slots[0].queues, before);
        assert_eq!(store.get(RecordHandle(2)).unwrap().attempts, 1);
    }

    #[test]
    fn daylight_saving_moves_the_window() {
        // 2027-07-15: New York is on EDT (UTC-4), so 09:00 local is 13:00Z, not 14:00Z.
        let july = 1_815_609_600; // 2027-07-15T00:00:00Z
        let mut r = Record::new(1, "1", "EST");
        r.daily_from_s = 9 * 3600;
        r.daily_till_s = 17 * 3600;
        assert!(RecordStore::in_window(&r, Time::from_unix_s(july + 13 * 3600)));
        assert!(!RecordStore::in_window(&r, Time::from_unix_s(july + 21 * 3600)));
        assert!(!RecordStore::in_window(&r, at(13, 0)), "in January 13:00Z is 08:00 EST");
        let local = LocalDateTime::parse("07/15/2027 09:00").unwrap();
        assert_eq!(RecordStore::local_to_utc(&r, local), Some(Time::from_unix_s(july + 13 * 3600)));
        // 06:00 EST on the day US daylight time starts (2027-03-14, change at 07:00Z): the
        // window opens at 09:00 EDT = 13:00Z, not 14:00Z.
        let march = 1_805_000_000 / 86_400 * 86_400; // 2027-03-14T00:00:00Z
        let early = Time::from_unix_s(march + 11 * 3600);
        assert_eq!(RecordStore::next_in_window(&r, early), Some(Time::from_unix_s(march + 13 * 3600)));
        let inside = Time::from_micros(Time::from_unix_s(march + 15 * 3600).as_micros() + 7);
        assert_eq!(RecordStore::next_in_window(&r, inside), Some(inside), "inside the window: unchanged");
        r.daily_till_s = r.daily_from_s;
        assert_eq!(RecordStore::next_in_window(&r, early), None);
    }
}
