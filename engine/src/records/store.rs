//! The record store: every calling list of the server, record handles, chains, indexes and
//! the retrieval queues.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::{Deref, DerefMut};

use compact_str::CompactString;
use smallvec::SmallVec;

use super::{CallingList, DoNotCallList, Record, RecordHandle, tz};
use crate::protocol::{CallResult, LocalDateTime, RecordStatus, RecordType};
use crate::time::Time;

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

/// Where a record is queued for retrieval, and under which key (Unix seconds from which it
/// may be handed out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// In no queue: not Ready, a NoCall, or parked for good by an empty daily window.
    No,
    /// In the ready queue.
    Ready(i64),
    /// In the callback queue.
    Callback(i64),
}

/// One list and its indexes.
#[derive(Debug)]
struct Slot {
    list: CallingList,
    /// Ready records by (earliest time they may be retrieved, handle). The key starts as the
    /// record's `dial_sched_time` (0 when none) and moves to the next opening of its daily
    /// window when retrieval finds it closed: so each record outside its window costs one
    /// re-key per day, not one look per retrieval.
    ready: BTreeSet<(i64, RecordHandle)>,
    /// Ready callback records by (`dial_sched_time`, handle).
    callbacks: BTreeSet<(i64, RecordHandle)>,
    /// Per record (parallel to the list's records): its queue entry.
    queued: Vec<Queued>,
    /// (chain_id, chain_n, handle) of every record.
    chains: BTreeSet<(i64, i32, RecordHandle)>,
    record_ids: HashSet<i64>,
    max_record_id: i64,
}

#[derive(Clone, Copy, Debug)]
struct Loc {
    list: u32,
    idx: u32,
}

type Handles = SmallVec<[RecordHandle; 2]>;

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
#[derive(Debug, Default)]
pub struct RecordStore {
    slots: Vec<Slot>,
    by_name: BTreeMap<CompactString, ListId>,
    /// `locs[h - 1]` is where handle `h` lives.
    locs: Vec<Loc>,
    phones: HashMap<CompactString, Handles>,
    customer_ids: HashMap<CompactString, Handles>,
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
        // Chains, bulk-built from a sorted vector; a repeated position shows up as neighbours.
        let mut chain_keys: Vec<(i64, i32, RecordHandle)> =
            list.records().iter().zip(&handles).map(|(r, &h)| (r.chain_id, r.chain_n, h)).collect();
        chain_keys.sort_unstable();
        if let Some(pair) = chain_keys.windows(2).find(|p| (p[0].0, p[0].1) == (p[1].0, p[1].1)) {
            return Err(StoreError::DuplicateChainPosition {
                list: list_name,
                chain_id: pair[0].0,
                chain_n: pair[0].1,
            });
        }
        let mut record_ids = HashSet::with_capacity(n);
        for r in list.records() {
            if !record_ids.insert(r.record_id) {
                return Err(StoreError::DuplicateRecordId { list: list_name, record_id: r.record_id });
            }
        }
        // Nothing can fail from here on: the store changes only now.
        let mut ready = Vec::new();
        let mut callbacks = Vec::new();
        let mut queued = Vec::with_capacity(n);
        for (r, &h) in list.records().iter().zip(&handles) {
            let q = initial_queue(r);
            match q {
                Queued::Ready(k) => ready.push((k, h)),
                Queued::Callback(k) => callbacks.push((k, h)),
                Queued::No => {}
            }
            queued.push(q);
        }
        ready.sort_unstable();
        callbacks.sort_unstable();
        self.phones.reserve(n);
        for (idx, (r, &h)) in list.records().iter().zip(&handles).enumerate() {
            self.locs.push(Loc { list: id.0, idx: idx as u32 });
            // Handles only grow, so pushing keeps each index entry sorted.
            self.phones.entry(r.phone.clone()).or_default().push(h);
            if let Some(c) = &r.customer_id {
                self.customer_ids.entry(c.clone()).or_default().push(h);
            }
        }
        let max_record_id = list.records().iter().map(|r| r.record_id).max().unwrap_or(0);
        list.handles = handles;
        self.by_name.insert(list_name, id);
        self.slots.push(Slot {
            list,
            ready: ready.into_iter().collect(),
            callbacks: callbacks.into_iter().collect(),
            queued,
            chains: chain_keys.into_iter().collect(),
            record_ids,
            max_record_id,
        });
        Ok(id)
    }

    /// The list `id`.
    ///
    /// # Panics
    /// If `id` was not given out by this store.
    pub fn list(&self, id: ListId) -> &CallingList {
        &self.slots[id.0 as usize].list
    }

    /// The list named `name`.
    pub fn list_by_name(&self, name: &str) -> Option<ListId> {
        self.by_name.get(name).copied()
    }

    /// Every list, in the order added.
    pub fn list_ids(&self) -> impl ExactSizeIterator<Item = ListId> + use<> {
        (0..self.slots.len() as u32).map(ListId)
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
        let slot = &self.slots[loc.list as usize];
        slot.chains
            .range(
                (r.chain_id, i32::MIN, RecordHandle(i64::MIN))
                    ..=(r.chain_id, i32::MAX, RecordHandle(i64::MAX)),
            )
            .map(|&(_, _, h)| h)
            .collect()
    }

    /// Every record whose phone is `phone`, across lists, in handle order.
    pub fn find_by_phone(&self, phone: &str) -> Vec<RecordHandle> {
        self.phones.get(phone).map(|v| v.to_vec()).unwrap_or_default()
    }

    /// Every record whose customer id is `id`, across lists, in handle order.
    pub fn find_by_customer_id(&self, id: &str) -> Vec<RecordHandle> {
        self.customer_ids.get(id).map(|v| v.to_vec()).unwrap_or_default()
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
    /// time zone. Among those, the one with the earliest (due time, handle) goes first; a
    /// record found outside its window is parked until the window next opens. A record whose
    /// phone or customer id is on `dnc` is not returned: it goes back to the list as
    /// record type NoCall, status Updated, call result Do Not Call, and its handle is
    /// appended to `marked`.
    ///
    /// Cost: a few ordered-set operations per call (plus one per record parked or marked on
    /// the way), whatever the size of the lists.
    pub fn retrieve_marking(
        &mut self,
        lists: &[ListId],
        now: Time,
        dnc: &DoNotCallList,
        marked: &mut Vec<RecordHandle>,
    ) -> Option<RecordHandle> {
        let now_s = now.as_unix_s();
        loop {
            let mut best: Option<(i64, RecordHandle, usize)> = None;
            for &ListId(l) in lists {
                let Some(slot) = self.slots.get(l as usize) else { continue };
                if let Some(&(key, h)) = slot.ready.first()
                    && key <= now_s
                    && best.is_none_or(|(bk, bh, _)| (key, h) < (bk, bh))
                {
                    best = Some((key, h, l as usize));
                }
            }
            let (key, h, l) = best?;
            let loc = self.loc(h).expect("queued handles are the store's");
            let slot = &mut self.slots[l];
            slot.ready.remove(&(key, h));
            let idx = loc.idx as usize;
            let r = &slot.list.records()[idx];
            match tz::next_open(r.window(), &r.tz_name, r.tz_offset_s, now_s) {
                None => {
                    slot.queued[idx] = Queued::No;
                    continue;
                }
                Some(open) if open > now_s => {
                    slot.ready.insert((open, h));
                    slot.queued[idx] = Queued::Ready(open);
                    continue;
                }
                Some(_) => {}
            }
            slot.queued[idx] = Queued::No;
            let blocked = dnc.is_blocked(&r.phone, r.customer_id.as_deref(), now);
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
    /// Retrieved so it is handed out once. The daily window and the do-not-call list are the
    /// caller's to check: a callback was agreed with the customer for that time.
    pub fn due_scheduled(&mut self, lists: &[ListId], now: Time) -> Vec<RecordHandle> {
        let now_s = now.as_unix_s();
        let mut due: Vec<(i64, RecordHandle)> = Vec::new();
        for &ListId(l) in lists {
            let Some(slot) = self.slots.get_mut(l as usize) else { continue };
            while let Some(&(key, h)) = slot.callbacks.first() {
                if key > now_s {
                    break;
                }
                slot.callbacks.pop_first();
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

    /// Adds `record` to `list` and gives it the next handle. A `record_id` of 0 is replaced by
    /// the list's largest id plus one. Refuses a repeated record id or chain position, and a
    /// record that is not valid for the list (custom fields not matching the format, empty
    /// phone, window or offset out of range).
    pub fn add_record(&mut self, list: ListId, mut record: Record) -> Result<RecordHandle, StoreError> {
        let h = RecordHandle(self.locs.len() as i64 + 1);
        let slot = &mut self.slots[list.0 as usize];
        let name = || CompactString::from(slot.list.name());
        if record.record_id == 0 {
            record.record_id = slot.max_record_id + 1;
        }
        validate(&slot.list, &record)?;
        if slot.record_ids.contains(&record.record_id) {
            return Err(StoreError::DuplicateRecordId { list: name(), record_id: record.record_id });
        }
        let (chain_id, chain_n) = (record.chain_id, record.chain_n);
        if slot
            .chains
            .range((chain_id, chain_n, RecordHandle(i64::MIN))..=(chain_id, chain_n, RecordHandle(i64::MAX)))
            .next()
            .is_some()
        {
            return Err(StoreError::DuplicateChainPosition { list: name(), chain_id, chain_n });
        }
        let idx = slot.list.len();
        slot.record_ids.insert(record.record_id);
        slot.max_record_id = slot.max_record_id.max(record.record_id);
        slot.chains.insert((chain_id, chain_n, h));
        let q = initial_queue(&record);
        match q {
            Queued::Ready(k) => {
                slot.ready.insert((k, h));
            }
            Queued::Callback(k) => {
                slot.callbacks.insert((k, h));
            }
            Queued::No => {}
        }
        slot.queued.push(q);
        self.phones.entry(record.phone.clone()).or_default().push(h);
        if let Some(c) = &record.customer_id {
            self.customer_ids.entry(c.clone()).or_default().push(h);
        }
        slot.list.records_mut().push(record);
        slot.list.handles.push(h);
        self.locs.push(Loc { list: list.0, idx: idx as u32 });
        Ok(h)
    }

    /// The chain id a new chain in `list` gets: one more than the largest in use (1 for an
    /// empty list).
    pub fn next_chain_id(&self, list: ListId) -> i64 {
        self.slots[list.0 as usize].chains.last().map_or(1, |&(c, _, _)| c + 1)
    }

    /// The `chain_n` a record joining chain `chain_id` of `list` gets: one more than the
    /// largest in use (0 for a chain with no record yet).
    pub fn next_chain_n(&self, list: ListId, chain_id: i64) -> i32 {
        self.slots[list.0 as usize]
            .chains
            .range(
                (chain_id, i32::MIN, RecordHandle(i64::MIN))..=(chain_id, i32::MAX, RecordHandle(i64::MAX)),
            )
            .next_back()
            .map_or(0, |&(_, n, _)| n + 1)
    }

    /// Puts record `h` back in its list with `status` (Ready puts it back in the retrieval
    /// queues). An unknown handle is ignored.
    pub fn return_to_list(&mut self, h: RecordHandle, status: RecordStatus) {
        if let Some(mut r) = self.get_mut(h) {
            r.record_status = status;
        }
    }

    /// True if `now` falls inside the record's daily window, in the record's time zone (with
    /// daylight saving time for zones of the [`tz`] table that observe it).
    pub fn in_window(record: &Record, now: Time) -> bool {
        let now_s = now.as_unix_s();
        record.window().contains(tz::second_of_day(now_s, record.offset_at(now)))
    }

    /// The instant a `GSW_DATE_TIME` names, read in the record's time zone; `None` before the
    /// epoch.
    pub fn local_to_utc(record: &Record, local: LocalDateTime) -> Option<Time> {
        tz::local_to_utc(&record.tz_name, record.tz_offset_s, local)
    }

    /// Records of `list` waiting in the ready queue (due or not, window open or not).
    pub fn ready_len(&self, list: ListId) -> usize {
        self.slots[list.0 as usize].ready.len()
    }

    /// Callback records of `list` waiting to be due.
    pub fn callbacks_len(&self, list: ListId) -> usize {
        self.slots[list.0 as usize].callbacks.len()
    }

    fn reindex(&mut self, h: RecordHandle, loc: Loc, before: &IndexedFields, after: &IndexedFields) {
        let slot = &mut self.slots[loc.list as usize];
        let idx = loc.idx as usize;
        if before.queue != after.queue {
            match slot.queued[idx] {
                Queued::Ready(k) => {
                    slot.ready.remove(&(k, h));
                }
                Queued::Callback(k) => {
                    slot.callbacks.remove(&(k, h));
                }
                Queued::No => {}
            }
            let q = initial_queue(&slot.list.records()[idx]);
            match q {
                Queued::Ready(k) => {
                    slot.ready.insert((k, h));
                }
                Queued::Callback(k) => {
                    slot.callbacks.insert((k, h));
                }
                Queued::No => {}
            }
            slot.queued[idx] = q;
        }
        if (before.chain_id, before.chain_n) != (after.chain_id, after.chain_n) {
            slot.chains.remove(&(before.chain_id, before.chain_n, h));
            slot.chains.insert((after.chain_id, after.chain_n, h));
        }
        if before.record_id != after.record_id {
            slot.record_ids.remove(&before.record_id);
            slot.record_ids.insert(after.record_id);
            slot.max_record_id = slot.max_record_id.max(after.record_id);
        }
        if before.phone != after.phone {
            move_handle(&mut self.phones, Some(&before.phone), Some(&after.phone), h);
        }
        if before.customer_id != after.customer_id {
            move_handle(&mut self.customer_ids, before.customer_id.as_ref(), after.customer_id.as_ref(), h);
        }
    }
}

fn move_handle(
    index: &mut HashMap<CompactString, Handles>,
    from: Option<&CompactString>,
    to: Option<&CompactString>,
    h: RecordHandle,
) {
    if let Some(from) = from
        && let Some(v) = index.get_mut(from)
    {
        v.retain(|x| *x != h);
        if v.is_empty() {
            index.remove(from);
        }
    }
    if let Some(to) = to {
        let v = index.entry(to.clone()).or_default();
        let at = v.partition_point(|x| *x < h);
        v.insert(at, h);
    }
}

/// The queue a record belongs in, judged from its fields alone.
fn initial_queue(r: &Record) -> Queued {
    if r.record_status != RecordStatus::Ready || r.record_type == RecordType::NoCall {
        Queued::No
    } else if r.is_callback() {
        Queued::Callback(r.dial_sched_time.unwrap_or(0))
    } else {
        Queued::Ready(r.dial_sched_time.unwrap_or(0).max(0))
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
    if r.phone.is_empty() {
        return Err(invalid(format!("record {} has no phone", r.record_id)));
    }
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
