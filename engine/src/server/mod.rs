//! The outbound server: the state machine that answers desktops, paces and places dials,
//! routes answered calls and keeps every record accounted for.
//!
//! One entry point, [`Server::handle`], takes the time and one [`Input`] and appends the
//! [`Output`]s it causes. Nothing else changes the server's state, so a run is reproduced by
//! replaying its inputs. The server reads no clock: [`Server::next_wakeup`] says when the
//! caller should come back with [`Input::Timer`]. A time earlier than one already seen is
//! clamped to it (and counted), so the state never sees time go backwards.
//!
//! Where a record is, at any moment, is one of: in its list (the store), in a call the
//! dialer is placing, waiting as a due callback, or on exactly one desktop. The `held` table
//! tracks every record out of its list; [`Server::check_invariants`] proves the table and the
//! store agree.
//!
//! ```
//! use pacer_engine::campaign::CampaignGroupConfig;
//! use pacer_engine::protocol::{CallResult, DialMode};
//! use pacer_engine::records::{CallingList, ListFormat, Record, RecordStore};
//! use pacer_engine::server::{AdminCommand, Dn, Input, Output, Server, ServerConfig, TelephonyEvent};
//! use pacer_engine::time::Time;
//!
//! let mut list = CallingList::new("Leads", ListFormat::default());
//! let mut record = Record::new(1, "5551000", "UTC");
//! (record.daily_from_s, record.daily_till_s) = (0, 86_400);
//! list.push(record).unwrap();
//! let mut store = RecordStore::new();
//! store.add_list(list).unwrap();
//! let group = CampaignGroupConfig::new("Sales@A", "Sales", "A", &["Leads"], DialMode::Progressive);
//! let mut server = Server::new(ServerConfig::new(101, vec![group]), store).unwrap();
//!
//! let now = Time::from_unix_s(1_800_000_000);
//! let mut out = Vec::new();
//! server.handle(now, Input::Admin(AdminCommand::Load { group: "Sales@A".into() }), &mut out);
//! server.handle(now, Input::Admin(AdminCommand::Start { group: "Sales@A".into() }), &mut out);
//! let dn = Dn::new("1001");
//! let login = TelephonyEvent::AgentLogin { dn: dn.clone(), agent_id: "alice".into() };
//! server.handle(now, Input::Telephony(login), &mut out);
//! out.clear();
//! // A ready agent in a progressive group: one dial.
//! server.handle(now, Input::Telephony(TelephonyEvent::AgentReady { dn: dn.clone() }), &mut out);
//! let Some(Output::Dial(dial)) = out.iter().find(|o| matches!(o, Output::Dial(_))) else { panic!() };
//! let call = dial.call;
//! // Answered live: routed to the agent with the record's data.
//! out.clear();
//! let answered = TelephonyEvent::CallResult { call, result: CallResult::Answer };
//! server.handle(now, Input::Telephony(answered), &mut out);
//! assert!(matches!(&out[0], Output::Route { dn: to, .. } if *to == dn));
//! server.check_invariants().unwrap();
//! ```

mod dialing;
mod record_data;
mod requests;
mod types;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use compact_str::CompactString;
use smallvec::SmallVec;

pub use types::{
    AdminCommand, AdminRejected, AgentGroupConfig, CallId, ConfigError, DialCommand, Dn, Input,
    InvariantViolation, Output, ServerConfig, StatusKind, StatusNotification, TelephonyEvent,
};

use crate::campaign::{CampaignGroupConfig, GroupState, LifecycleAction, transition};
use crate::kv::KvList;
use crate::pacing::{AgentIdx, AgentState, GroupPacer};
use crate::protocol::{
    CallbackType, DialMode, ErrorCode, ErrorEvent, Event, EventBody, INVALID_REQUEST_MESSAGES, RecordStatus,
    Request, RequestKind,
};
use crate::records::{DoNotCallList, ListId, RecordHandle, RecordStore};
use crate::time::Time;

/// A multiplicative hash for the server's keys (record handles, call ids, chains, DNs).
/// Handles and call ids are counters the server and its store hand out and DNs come from
/// the switch's configuration, so SipHash's defence against chosen keys buys little here,
/// and the hot path looks them up on every input. (The mixing step is FxHash's, rustc's
/// own hasher.)
#[derive(Clone, Copy, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// One bit per record handle (handles are dense from 1).
#[derive(Default)]
struct HandleSet(Vec<u64>);

impl HandleSet {
    fn slot(h: i64) -> (usize, u64) {
        let h = h.max(0) as u64;
        ((h / 64) as usize, 1 << (h % 64))
    }

    fn contains(&self, h: i64) -> bool {
        let (i, bit) = Self::slot(h);
        self.0.get(i).is_some_and(|w| w & bit != 0)
    }

    fn insert(&mut self, h: i64) {
        let (i, bit) = Self::slot(h);
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] |= bit;
    }

    fn remove(&mut self, h: i64) {
        let (i, bit) = Self::slot(h);
        if let Some(w) = self.0.get_mut(i) {
            *w &= !bit;
        }
    }
}

/// How long a routed call may go without its CallConnected before a ready report from its
/// agent is taken as proof that it never arrived (the customer hung up while it waited and
/// the CallAbandoned was lost). Within it, a ready report may be one the switch sent while
/// the call was still on its way to the agent, and the call is left alone.
const ROUTE_CONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The record handle of a call whose record left it (handles start at 1).
const NO_RECORD: i64 = 0;

/// Index of a campaign group in the server's table.
type GroupId = usize;
/// Index of a place (desktop) in the server's table.
type PlaceId = usize;

/// A campaign group at run time.
struct Group {
    config: CampaignGroupConfig,
    state: GroupState,
    mode: DialMode,
    /// `ivr_group`, read when the group was loaded.
    ivr: bool,
    lists: Vec<ListId>,
    /// Script id and send keys of each list, worked out at load.
    list_meta: Vec<record_data::ListMeta>,
    pacer: Option<GroupPacer>,
    /// Places by the pacer's dense agent index; freed slots are reused.
    slots: Vec<Option<PlaceId>>,
    free_slots: Vec<u32>,
    /// Ready members, longest idle first: (ready since, place).
    ready: BTreeSet<(Time, PlaceId)>,
    /// Ready members waiting for their smart logout to be acknowledged, longest idle first.
    /// No dial is made for them any more, but the calls already dialed on their account
    /// still need someone: an answered call goes to them when no other member is ready.
    leaving_ready: BTreeSet<(Time, PlaceId)>,
    /// Answered calls waiting for an agent, oldest first.
    waiting: VecDeque<CallId>,
    /// Callbacks that are due but found no agent yet.
    pending_callbacks: VecDeque<i64>,
    dials_in_flight: u32,
    /// No dial before this time: the dialer last answered a dial with No Port Available
    /// (cleared as soon as one of the group's calls ends and frees a line).
    no_port_until: Time,
    /// The group's calls that hold a dialer line: dials in flight and answered calls not yet
    /// released (every entry of the server's call table that belongs to the group).
    calls_open: u32,
    /// What the group learnt of the dialer's capacity from its last No Port Available: at
    /// most this many calls open, until the given time (see `LINE_CAP_MEMORY`).
    line_cap: Option<(u32, Time)>,
    /// GVP: ports carrying an answered call.
    ports_busy: u32,
    dials_total: u64,
    answered_total: u64,
    overdials_total: u64,
    cpn_digits: Option<CompactString>,
    cpn_presentation: Option<CompactString>,
}

impl Group {
    /// The member an answered call goes to: the longest idle ready one, or else one that is
    /// leaving (see `leaving_ready`).
    fn first_ready_for_answer(&self) -> Option<PlaceId> {
        self.ready.first().or_else(|| self.leaving_ready.first()).map(|&(_, p)| p)
    }

    /// The set of ready places `pool` names.
    /// True when a place is a member (some pacer slot is taken).
    fn has_members(&self) -> bool {
        self.free_slots.len() < self.slots.len()
    }

    fn pool_mut(&mut self, pool: ReadyPool) -> &mut BTreeSet<(Time, PlaceId)> {
        match pool {
            ReadyPool::Dialing => &mut self.ready,
            ReadyPool::Leaving => &mut self.leaving_ready,
        }
    }

    fn members(&self) -> impl Iterator<Item = PlaceId> + '_ {
        self.slots.iter().filter_map(|s| *s)
    }
}

/// What a place (an agent's desktop, or an IVR port) is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PlaceState {
    NotReady,
    Ready,
    /// Seized for a dial (seizing modes), or an answered call routed to it.
    Engaged(CallId),
    /// On a call.
    Talking(CallId),
    AfterCallWork,
}

/// Which ready set of its groups a ready place is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadyPool {
    /// Ready for new dials.
    Dialing,
    /// Smart logout requested: ready only for the calls already dialed.
    Leaving,
}

/// The ready set place `place` belongs in, if any.
fn ready_pool(place: &Place) -> Option<ReadyPool> {
    match (place.state, place.logout) {
        (PlaceState::Ready, Logout::None) => Some(ReadyPool::Dialing),
        (PlaceState::Ready, Logout::Requested) => Some(ReadyPool::Leaving),
        _ => None,
    }
}

/// Smart logout progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Logout {
    None,
    /// LogOut received; waiting for dials counted on the agent.
    Requested,
    /// LogOutAcknowledge sent.
    Done,
}

struct Place {
    dn: Dn,
    agent_id: CompactString,
    logged_in: bool,
    state: PlaceState,
    ready_since: Time,
    /// Groups the place is a member of (loaded ones only), with its pacer index there.
    memberships: SmallVec<[(GroupId, AgentIdx); 2]>,
    /// Records on the desktop.
    records: SmallVec<[i64; 4]>,
    /// Groups whose preview session the desktop started.
    preview_started: SmallVec<[GroupId; 2]>,
    logout: Logout,
    /// Records a ReadyTime was accepted for (a second one is 120).
    ready_time_for: SmallVec<[i64; 2]>,
    /// The place is an IVR port of an IVR group.
    ivr: bool,
}

/// How a held record came out of its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeldKind {
    /// A preview record (Preview or Push Preview).
    Preview,
    /// Dialed by the engine.
    Dialed,
    /// Delivered by ChainedRecordRequest.
    Chained,
    /// A callback (ScheduledCall, or waiting for an agent).
    Callback,
}

/// A reschedule accepted but not final until RecordProcessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingReschedule {
    at_unix_s: i64,
    callback_type: CallbackType,
}

/// A record out of its list.
struct Held {
    group: GroupId,
    place: Option<PlaceId>,
    call: Option<CallId>,
    kind: HeldKind,
    /// When it reached its current desktop (for stale_clean_timeout).
    since: Time,
    reschedule: Option<PendingReschedule>,
    /// A dial was made for it in this attempt.
    dialed: bool,
    /// When it was dialed (meaningful when `dialed`).
    dialed_at: Time,
    /// Its chain was already sent by ChainedRecordRequest.
    chain_sent: bool,
    /// A cancel or do-not-call arrived while it was in a call: finalise with this.
    cancelled: Option<Finish>,
    /// The attempt's call result, written to the record when it goes back.
    call_result: Option<crate::protocol::CallResult>,
    /// Its (list, chain id), for the count of records out per chain.
    chain: Option<(u32, i64)>,
}

/// How a record leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finish {
    /// Back to Ready, General, unprocessed (reject, unload, logout, stop).
    Return,
    /// Back to Ready exactly as it was, type and callback time kept: nothing happened to it
    /// (the dial never left the dialer, No Port Available; a due callback nobody took before
    /// its group stopped).
    Undialed,
    /// Processed: status Updated.
    Updated,
    /// Cancelled: status Canceled.
    Canceled,
    /// Do not call: record type NoCall.
    NoCall,
    /// Left on a desktop too long.
    Stale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Dialing,
    /// Answered live, waiting for an agent until the deadline.
    Waiting {
        answered_at: Time,
        deadline: Time,
    },
    /// Routed to a place, not yet connected.
    Routed {
        answered_at: Time,
        place: PlaceId,
        /// When the route was sent (see `ROUTE_CONNECT_GRACE`).
        routed_at: Time,
    },
    /// Talking with a place (or an IVR port / GVP port).
    Connected {
        answered_at: Time,
        connected_at: Time,
        place: Option<PlaceId>,
    },
}

struct Call {
    group: GroupId,
    handle: i64,
    counted_on: Option<AgentIdx>,
    placed_at: Time,
    /// When the dial is given up if its result has not come (see `dial_deadlines`).
    result_due: Time,
    state: CallState,
    /// The place seized before dialing (seizing modes, IVR places).
    engaged: Option<PlaceId>,
}

/// The outbound server. See the module documentation.
pub struct Server {
    config: ServerConfig,
    application_id: i64,
    /// The id this server answered to before a takeover, and until when it still does.
    previous_application_id: Option<(i64, Time)>,
    store: RecordStore,
    dnc: DoNotCallList,
    groups: Vec<Group>,
    places: Vec<Place>,
    place_by_dn: IdMap<Dn, PlaceId>,
    /// The place each logged-in agent id is at (its latest login): personal callbacks look
    /// their agent up here rather than comparing ids with every member at every tick.
    place_by_agent: foldhash::HashMap<CompactString, PlaceId>,
    /// Places whose smart logout waits for the pacer.
    pending_logouts: BTreeSet<PlaceId>,
    /// When the groups were last paced: a running group is paced again at most `tick`
    /// later, whether or not an input came meanwhile.
    last_paced: Time,
    /// Agent-group membership added or removed at run time, on top of the configuration.
    joined: BTreeSet<(CompactString, Dn)>,
    left: BTreeSet<(CompactString, Dn)>,
    held: IdMap<i64, Held>,
    /// Records out per chain, (list, chain id): a chain is worked by one agent at a time.
    chains_out: IdMap<(u32, i64), u32>,
    /// Records retrieval found while their chain was out, set aside in the store (Ready, in
    /// no queue) until the chain's last record comes back: parking them per chain keeps them
    /// from piling up at the head of the ready queue.
    parked: IdMap<(u32, i64), SmallVec<[RecordHandle; 2]>>,
    calls: IdMap<CallId, Call>,
    /// (result due, call) of every call still dialing: a result lost on its way must not
    /// hold the record and the pacer's capacity for good.
    dial_deadlines: BTreeSet<(Time, CallId)>,
    /// Dials given up because their result did not come in time.
    dial_results_timed_out: u64,
    /// Conversations taken as released because their agent was reported ready.
    calls_released_by_ready: u64,
    /// Routed calls taken as abandoned because their agent was reported ready.
    routed_calls_abandoned_by_ready: u64,
    next_call: u64,
    /// Stale deadlines of records on desktops: (deadline, handle), removed when the record
    /// leaves the desktop.
    stale_queue: BTreeSet<(Time, i64)>,
    /// Handles finalised for good in this run (processed without reschedule, cancelled,
    /// do-not-call): none of them may come out of the store again.
    finished: HandleSet,
    violations: Vec<InvariantViolation>,
    last_now: Time,
    clock_regressions: u64,
    next_tick: Option<Time>,
    next_summary: Option<Time>,
    /// A place became ready during the current input.
    became_ready: bool,
}

impl Server {
    /// A server for `config` over the lists of `store`. Every group starts unloaded.
    pub fn new(config: ServerConfig, store: RecordStore) -> Result<Server, ConfigError> {
        if config.application_id < 101 {
            return Err(ConfigError {
                object: "application_id".into(),
                reason: format!("{} is below 101, the first valid application id", config.application_id),
            });
        }
        let mut seen = BTreeSet::new();
        let mut groups = Vec::with_capacity(config.groups.len());
        for group in &config.groups {
            if !seen.insert(group.name.clone()) {
                return Err(ConfigError {
                    object: group.name.clone(),
                    reason: "campaign group defined twice".into(),
                });
            }
            if group.lists.is_empty() {
                return Err(ConfigError { object: group.name.clone(), reason: "no calling lists".into() });
            }
            if group.ivr_group && group.dial_mode.is_seizing() {
                return Err(ConfigError {
                    object: group.name.clone(),
                    reason: format!("an IVR group cannot dial in {} mode", group.dial_mode.as_str()),
                });
            }
            if group.options.max_agents == 0 {
                return Err(ConfigError { object: group.name.clone(), reason: "max_agents is 0".into() });
            }
            // The pacer clamps what it is given; an embedder's out-of-range setting is refused
            // here instead, with its name, rather than quietly replaced.
            if let Err(e) = group.pacing.validate() {
                return Err(ConfigError { object: group.name.clone(), reason: format!("pacing: {e}") });
            }
            groups.push(Group {
                config: group.clone(),
                state: GroupState::Unloaded,
                mode: group.dial_mode,
                ivr: false,
                lists: Vec::new(),
                list_meta: Vec::new(),
                pacer: None,
                slots: Vec::new(),
                free_slots: Vec::new(),
                ready: BTreeSet::new(),
                leaving_ready: BTreeSet::new(),
                waiting: VecDeque::new(),
                pending_callbacks: VecDeque::new(),
                dials_in_flight: 0,
                no_port_until: Time::EPOCH,
                calls_open: 0,
                line_cap: None,
                ports_busy: 0,
                dials_total: 0,
                answered_total: 0,
                overdials_total: 0,
                cpn_digits: group.cpn_digits.as_deref().or(config.cpn_digits.as_deref()).map(Into::into),
                cpn_presentation: group
                    .cpn_presentation
                    .as_deref()
                    .or(config.cpn_presentation.as_deref())
                    .map(Into::into),
            });
        }
        Ok(Server {
            application_id: config.application_id,
            previous_application_id: None,
            config,
            store,
            dnc: DoNotCallList::new("default"),
            groups,
            places: Vec::new(),
            place_by_dn: IdMap::default(),
            place_by_agent: foldhash::HashMap::default(),
            pending_logouts: BTreeSet::new(),
            last_paced: Time::EPOCH,
            joined: BTreeSet::new(),
            left: BTreeSet::new(),
            held: IdMap::default(),
            chains_out: IdMap::default(),
            parked: IdMap::default(),
            calls: IdMap::default(),
            dial_deadlines: BTreeSet::new(),
            dial_results_timed_out: 0,
            calls_released_by_ready: 0,
            routed_calls_abandoned_by_ready: 0,
            next_call: 1,
            stale_queue: BTreeSet::new(),
            finished: HandleSet::default(),
            violations: Vec::new(),
            last_now: Time::EPOCH,
            clock_regressions: 0,
            next_tick: None,
            next_summary: None,
            became_ready: false,
        })
    }

    /// Handles one input at `now`, appending its effects to `out`.
    ///
    /// A `now` earlier than a time already seen is clamped to that time (see
    /// [`Server::clock_regressions`]).
    pub fn handle(&mut self, now: Time, input: Input, out: &mut Vec<Output>) {
        let now = if now < self.last_now {
            self.clock_regressions += 1;
            self.last_now
        } else {
            self.last_now = now;
            now
        };
        // Inputs that can give a waiting Preview callback an agent: a login, a desktop
        // request (PreviewDialingModeStart), an operator's command (a group joined).
        let may_free_callbacks = match &input {
            Input::Desktop { .. } | Input::Admin(_) => true,
            Input::Telephony(event) => matches!(event, TelephonyEvent::AgentLogin { .. }),
            Input::Timer => false,
        };
        match input {
            Input::Desktop { dn, kv } => self.on_desktop(now, dn, &kv, out),
            Input::Telephony(event) => self.on_telephony(now, event, out),
            Input::Timer => self.on_timer(now, out),
            Input::Admin(command) => self.on_admin(now, command, out),
        }
        if may_free_callbacks {
            self.retry_preview_callbacks(now, out);
        }
    }

    /// When the caller should send [`Input::Timer`] next (none when nothing is pending).
    pub fn next_wakeup(&self) -> Option<Time> {
        let mut next: Option<Time> = None;
        let mut consider = |t: Time| next = Some(next.map_or(t, |n: Time| n.min(t)));
        if let Some(t) = self.next_tick {
            consider(t);
        }
        if let Some(t) = self.next_summary {
            consider(t);
        }
        if let Some(&(t, _)) = self.stale_queue.first() {
            consider(t);
        }
        if let Some(&(t, _)) = self.dial_deadlines.first() {
            consider(t);
        }
        // Preview groups have no tick of their own (see `schedule_tick`): they wake for their
        // next callback, at the second it is due.
        for group in self.groups.iter().filter(|g| Self::ticks_for_callbacks_only(g)) {
            if let Some(due_s) = self.store.next_scheduled(&group.lists) {
                consider(Time::from_unix_s(due_s));
            }
        }
        // Waiting calls share their group's compliance time, so the queue is in deadline
        // order: the first call still waiting has the earliest.
        for group in &self.groups {
            let first = group.waiting.iter().find_map(|call| match self.calls.get(call) {
                Some(Call { state: CallState::Waiting { deadline, .. }, .. }) => Some(*deadline),
                _ => None,
            });
            if let Some(deadline) = first {
                consider(deadline);
            }
        }
        next
    }

    /// The record store.
    pub fn store(&self) -> &RecordStore {
        &self.store
    }

    /// The do-not-call list (one tenant).
    pub fn dnc(&self) -> &DoNotCallList {
        &self.dnc
    }

    /// Replaces the do-not-call list (e.g. one loaded from a file).
    pub fn set_dnc(&mut self, dnc: DoNotCallList) {
        self.dnc = dnc;
    }

    /// The pacing core of a loaded group.
    pub fn pacer(&self, group: &str) -> Option<&GroupPacer> {
        self.groups.iter().find(|g| g.config.name == group).and_then(|g| g.pacer.as_ref())
    }

    /// A group's lifecycle state, if the group is configured.
    pub fn group_state(&self, group: &str) -> Option<GroupState> {
        self.groups.iter().find(|g| g.config.name == group).map(|g| g.state)
    }

    /// A group's current dialing mode, if the group is configured.
    pub fn group_mode(&self, group: &str) -> Option<DialMode> {
        self.groups.iter().find(|g| g.config.name == group).map(|g| g.mode)
    }

    /// The application id the server answers as.
    pub fn application_id(&self) -> i64 {
        self.application_id
    }

    /// How many inputs came with a time earlier than one already seen (each was clamped).
    pub fn clock_regressions(&self) -> u64 {
        self.clock_regressions
    }

    /// Records out of their lists (on desktops, in calls, waiting callbacks).
    pub fn records_held(&self) -> usize {
        self.held.len()
    }

    /// Handles of the records on the desktop at `dn`.
    pub fn records_on_desktop(&self, dn: &Dn) -> Vec<i64> {
        self.place_by_dn.get(dn).map(|&p| self.places[p].records.to_vec()).unwrap_or_default()
    }

    /// Calls placed and not yet over.
    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    /// Dials given up because their result did not come within the group's
    /// `dial_result_timeout` (their records went back to their lists to be dialed again).
    pub fn dial_results_timed_out(&self) -> u64 {
        self.dial_results_timed_out
    }

    /// Conversations taken as released because the switch reported their agent ready (their
    /// release was lost on its way to the engine).
    pub fn calls_released_by_ready(&self) -> u64 {
        self.calls_released_by_ready
    }

    /// Routed calls taken as abandoned because the switch reported their agent ready at
    /// least `ROUTE_CONNECT_GRACE` (10 s) after the route, with no CallConnected: the
    /// customer's hang-up was lost on its way to the engine, so the call waited and was routed
    /// though it no longer existed. Each is counted as an abandoned call.
    pub fn routed_calls_abandoned_by_ready(&self) -> u64 {
        self.routed_calls_abandoned_by_ready
    }

    /// Checks the invariants the server keeps:
    /// - a record is on at most one desktop, and the desktops' lists agree with `held`;
    /// - every held record is somewhere: on a desktop, in a call, or a due callback;
    /// - each group's count of open calls (the lines it holds) is its number of calls;
    /// - a record set aside for its chain is Ready and not held, and its chain is out;
    /// - every record the store marks Retrieved is held (none lost), and every held record
    ///   is marked Retrieved;
    /// - nothing was dialed that is do-not-call or outside its daily window, and no handle
    ///   finalised for good came out of the store again (checked when it happens, reported
    ///   here).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        if let Some(v) = self.violations.first() {
            return Err(v.clone());
        }
        let mut on_desktop: IdMap<i64, PlaceId> = IdMap::default();
        for (p, place) in self.places.iter().enumerate() {
            for &h in &place.records {
                if let Some(other) = on_desktop.insert(h, p) {
                    return Err(InvariantViolation {
                        what: format!("record {h} is on {} and {}", self.places[other].dn, place.dn),
                    });
                }
                match self.held.get(&h) {
                    Some(held) if held.place == Some(p) => {}
                    _ => {
                        return Err(InvariantViolation {
                            what: format!("record {h} is on {} but not held there", place.dn),
                        });
                    }
                }
            }
        }
        let on_desktops = self.held.values().filter(|held| held.place.is_some()).count();
        if on_desktops != self.stale_queue.len() {
            return Err(InvariantViolation {
                what: format!(
                    "{on_desktops} records on desktops but {} stale deadlines",
                    self.stale_queue.len()
                ),
            });
        }
        let dialing = self.calls.values().filter(|c| c.state == CallState::Dialing).count();
        if dialing != self.dial_deadlines.len() {
            return Err(InvariantViolation {
                what: format!("{dialing} calls dialing but {} result deadlines", self.dial_deadlines.len()),
            });
        }
        for (g, group) in self.groups.iter().enumerate() {
            let open = self.calls.values().filter(|c| c.group == g).count();
            if open != group.calls_open as usize {
                return Err(InvariantViolation {
                    what: format!(
                        "group {} has {open} calls open but counts {}",
                        group.config.name, group.calls_open
                    ),
                });
            }
        }
        for (chain, parked) in &self.parked {
            if !self.chains_out.contains_key(chain) {
                return Err(InvariantViolation {
                    what: format!("records of chain {} are set aside but the chain is not out", chain.1),
                });
            }
            for h in parked {
                let status = self.store.get(*h).map(|r| r.record_status);
                if status != Some(RecordStatus::Ready) {
                    return Err(InvariantViolation {
                        what: format!("record {} set aside for its chain is not Ready: {status:?}", h.0),
                    });
                }
                // Taking a record out (see `hold`) ends its time aside.
                if self.held.contains_key(&h.0) {
                    return Err(InvariantViolation {
                        what: format!("record {} set aside for its chain is held", h.0),
                    });
                }
            }
        }
        for (&h, held) in &self.held {
            if let Some(p) = held.place
                && on_desktop.get(&h) != Some(&p)
            {
                return Err(InvariantViolation {
                    what: format!("held record {h} missing from {}", self.places[p].dn),
                });
            }
            match self.store.get(RecordHandle(h)) {
                Some(record) if record.record_status == RecordStatus::Retrieved => {}
                Some(record) => {
                    return Err(InvariantViolation {
                        what: format!("held record {h} has status {:?} in the store", record.record_status),
                    });
                }
                None => {
                    return Err(InvariantViolation { what: format!("held record {h} is not in the store") });
                }
            }
            if held.place.is_none() && held.call.is_none() && held.kind != HeldKind::Callback {
                return Err(InvariantViolation {
                    what: format!("record {h} is held but on no desktop, in no call and no callback"),
                });
            }
            if let Some(call) = held.call
                && !self.calls.contains_key(&call)
            {
                return Err(InvariantViolation {
                    what: format!("record {h} names call {} that is over", call.0),
                });
            }
        }
        Ok(())
    }

    /// Checks that no record in the store is lost or stuck: none is left Retrieved without
    /// being held, and every record that may still be dialed (Ready, not do-not-call) waits
    /// in its list's queues unless it is set aside for its chain. Run it after
    /// [`Server::check_invariants`] when the store is small (it reads every record).
    pub fn check_none_lost(&self, lists: &[ListId]) -> Result<(), InvariantViolation> {
        let parked: BTreeSet<RecordHandle> = self.parked.values().flatten().copied().collect();
        for &list in lists {
            let mut waiting = 0;
            for &h in self.store.list(list).handles() {
                let record = self.store.get(h).expect("a handle of the list");
                if record.record_status == RecordStatus::Retrieved && !self.held.contains_key(&h.0) {
                    return Err(InvariantViolation {
                        what: format!("record {} is Retrieved but held nowhere", h.0),
                    });
                }
                if record.record_status == RecordStatus::Ready
                    && record.record_type != crate::protocol::RecordType::NoCall
                    && !parked.contains(&h)
                {
                    waiting += 1;
                }
            }
            let queued = self.store.ready_len(list) + self.store.callbacks_len(list);
            if queued != waiting {
                return Err(InvariantViolation {
                    what: format!(
                        "list {} has {waiting} records to dial (set-aside ones apart) but {queued} in its queues",
                        self.store.list(list).name()
                    ),
                });
            }
        }
        Ok(())
    }

    // ----- replies -----

    fn event(&self, body: EventBody) -> Event {
        Event::new(self.application_id, body)
    }

    fn reply(&self, out: &mut Vec<Output>, dn: &Dn, request: &Request, body: EventBody) {
        let event = self.event(body).answering(request.reference_id);
        out.push(Output::ToDesktop { dn: dn.clone(), event });
    }

    fn error(&self, out: &mut Vec<Output>, dn: &Dn, request: &Request, code: ErrorCode, description: &str) {
        // The three 101s the spec names by their own text say so in GSW_ERROR.
        let message = (code == ErrorCode::InvalidRequest && INVALID_REQUEST_MESSAGES.contains(&description))
            .then(|| description.into());
        let body = EventBody::Error(ErrorEvent {
            code,
            message,
            req_type: Some(request.kind().name().into()),
            campaign_name: request.target.campaign_name.clone(),
            description: Some(description.into()),
        });
        self.reply(out, dn, request, body);
    }

    fn notify(&self, out: &mut Vec<Output>, place: PlaceId, body: EventBody) {
        out.push(Output::ToDesktop { dn: self.places[place].dn.clone(), event: self.event(body) });
    }

    /// True when a request naming `id` is for this server (its id, or the id it had before a
    /// takeover, within the grace period).
    fn answers_for(&self, id: i64, now: Time) -> bool {
        id == self.application_id
            || self.previous_application_id.is_some_and(|(old, until)| id == old && now < until)
    }

    // ----- desktop requests -----

    fn on_desktop(&mut self, now: Time, dn: Dn, kv: &KvList, out: &mut Vec<Output>) {
        let request = match Request::decode(kv) {
            Ok(request) => request,
            Err(error) => {
                // A request for another server is not ours to refuse; CampaignStatusRequest is
                // never answered with an error, whatever is wrong with it.
                if let Some(id) = error.application_id
                    && !self.answers_for(id, now)
                {
                    return;
                }
                if error.req_type.as_deref() == Some(RequestKind::CampaignStatusRequest.name()) {
                    return;
                }
                out.push(Output::ToDesktop { dn, event: error.to_event(self.application_id) });
                return;
            }
        };
        match request.application_id {
            Some(id) if !self.answers_for(id, now) => return,
            // Decoding already refused every request but CampaignStatusRequest without an id.
            _ => {}
        }
        self.on_request(now, &dn, &request, out);
    }

    // ----- telephony: agents -----

    fn on_telephony(&mut self, now: Time, event: TelephonyEvent, out: &mut Vec<Output>) {
        // A place going not-ready, or a routed call reaching its agent, gives the pacer
        // nothing new to dial for, unless a place became free on the way (a transfer out of
        // an IVR place).
        let quiet =
            matches!(event, TelephonyEvent::AgentNotReady { .. } | TelephonyEvent::CallConnected { .. });
        self.became_ready = false;
        match event {
            TelephonyEvent::AgentLogin { dn, agent_id } => self.agent_login(now, dn, agent_id, out),
            TelephonyEvent::AgentLogout { dn } => {
                if let Some(&p) = self.place_by_dn.get(&dn) {
                    self.agent_logout(now, p, out);
                }
            }
            TelephonyEvent::AgentReady { dn } => {
                if let Some(&p) = self.place_by_dn.get(&dn)
                    && self.places[p].logged_in
                {
                    self.agent_ready(now, p, out);
                }
            }
            TelephonyEvent::AgentNotReady { dn } => {
                if let Some(&p) = self.place_by_dn.get(&dn)
                    && self.places[p].logged_in
                    && !self.places[p].ivr
                {
                    // An agent on a call stays on it; not-ready applies when it ends.
                    if matches!(self.places[p].state, PlaceState::Ready | PlaceState::AfterCallWork) {
                        self.set_place_state(now, p, PlaceState::NotReady);
                    }
                }
            }
            TelephonyEvent::CallResult { call, result } => self.call_result(now, call, result, out),
            TelephonyEvent::CallConnected { call, dn } => self.call_connected(now, call, dn),
            TelephonyEvent::CallReleased { call } => self.call_released(now, call, None, out),
            TelephonyEvent::CallReleasedWithData { call, user_data } => {
                self.call_released(now, call, Some(user_data), out)
            }
            TelephonyEvent::CallAbandoned { call } => self.call_abandoned(now, call, out),
        }
        if !quiet || self.became_ready {
            self.pace_all(now, out);
        }
    }

    /// Is the place `dn` (agent `agent_id`) a member of `agent_group`?
    fn is_member(&self, agent_group: &str, dn: &Dn, agent_id: &str) -> bool {
        let key = (CompactString::from(agent_group), dn.clone());
        if self.left.contains(&key) {
            return false;
        }
        if self.joined.contains(&key) {
            return true;
        }
        match self.config.agent_groups.iter().find(|g| g.name == agent_group) {
            None => true,
            Some(g) => g.agents.iter().any(|a| a == agent_id) || g.places.iter().any(|d| d == dn.0.as_str()),
        }
    }

    fn agent_login(&mut self, now: Time, dn: Dn, agent_id: CompactString, out: &mut Vec<Output>) {
        let p = match self.place_by_dn.get(&dn) {
            Some(&p) => {
                if self.places[p].logged_in {
                    // A second login on a logged-in place: the old session's records go back.
                    self.agent_logout(now, p, out);
                }
                p
            }
            None => {
                let p = self.places.len();
                self.places.push(Place {
                    dn: dn.clone(),
                    agent_id: agent_id.clone(),
                    logged_in: false,
                    state: PlaceState::NotReady,
                    ready_since: now,
                    memberships: SmallVec::new(),
                    records: SmallVec::new(),
                    preview_started: SmallVec::new(),
                    logout: Logout::None,
                    ready_time_for: SmallVec::new(),
                    ivr: false,
                });
                self.place_by_dn.insert(dn, p);
                p
            }
        };
        self.place_by_agent.insert(agent_id.clone(), p);
        {
            let place = &mut self.places[p];
            place.agent_id = agent_id;
            place.logged_in = true;
            place.state = PlaceState::NotReady;
            place.logout = Logout::None;
            place.preview_started.clear();
            place.ready_time_for.clear();
            place.ivr = false;
        }
        for g in 0..self.groups.len() {
            if self.groups[g].state.is_active() {
                self.try_join(now, g, p, out);
            }
        }
        // IVR places do not report ready: they are free while nothing rings on them.
        if self.places[p].ivr {
            self.set_place_state(now, p, PlaceState::Ready);
        }
    }

    /// Adds place `p` to group `g` if it is a member, with the login notifications.
    fn try_join(&mut self, now: Time, g: GroupId, p: PlaceId, out: &mut Vec<Output>) {
        let place = &self.places[p];
        if !place.logged_in || place.memberships.iter().any(|&(mg, _)| mg == g) {
            return;
        }
        if !self.is_member(&self.groups[g].config.agent_group, &place.dn, &place.agent_id) {
            return;
        }
        let group = &mut self.groups[g];
        let idx = match group.free_slots.pop() {
            Some(i) => i,
            None => {
                if group.slots.len() as u32 >= group.config.options.max_agents {
                    return;
                }
                group.slots.push(None);
                group.slots.len() as u32 - 1
            }
        };
        group.slots[idx as usize] = Some(p);
        let ivr = group.ivr;
        self.places[p].memberships.push((g, AgentIdx(idx)));
        if ivr {
            self.places[p].ivr = true;
        }
        let state = self.places[p].state;
        if let Some(pacer) = &self.groups[g].pacer {
            pacer.agent_state(AgentIdx(idx), pacer_state(state), now);
        }
        if let Some(pool) = ready_pool(&self.places[p]) {
            let since = self.places[p].ready_since;
            self.groups[g].pool_mut(pool).insert((since, p));
        }
        let info = self.groups[g].config.info();
        self.notify(out, p, EventBody::CampaignGroupAssigned(info));
        let status = self.status_event(g);
        self.notify(out, p, status);
    }

    /// Place `p`'s agent index in group `g`'s pacer, if it is a member (from the place's own
    /// short membership list: a search of the group's slots would cost a scan of the floor).
    fn slot_of(&self, g: GroupId, p: PlaceId) -> Option<AgentIdx> {
        self.places[p].memberships.iter().find(|&&(mg, _)| mg == g).map(|&(_, idx)| idx)
    }

    /// Removes place `p` from group `g`.
    fn leave_group(&mut self, now: Time, g: GroupId, p: PlaceId) {
        let Some(pos) = self.places[p].memberships.iter().position(|&(mg, _)| mg == g) else { return };
        let (_, idx) = self.places[p].memberships.remove(pos);
        let group = &mut self.groups[g];
        group.ready.remove(&(self.places[p].ready_since, p));
        group.leaving_ready.remove(&(self.places[p].ready_since, p));
        group.slots[idx.0 as usize] = None;
        group.free_slots.push(idx.0);
        if let Some(pacer) = &group.pacer {
            pacer.agent_state(idx, AgentState::LoggedOut, now);
        }
        self.places[p].preview_started.retain(|mg| *mg != g);
        if self.places[p].memberships.iter().all(|&(mg, _)| !self.groups[mg].ivr) {
            self.places[p].ivr = false;
        }
    }

    /// The status notification a member gets for group `g` at login or on request.
    fn status_event(&self, g: GroupId) -> EventBody {
        let group = &self.groups[g];
        match group.state {
            GroupState::Running => EventBody::CampaignStarted(group.config.info(), group.mode),
            _ => EventBody::CampaignLoaded(group.config.info()),
        }
    }

    /// How a held record left behind by a logout or an unload goes back: finalised as updated
    /// if this attempt dialed it (the call happened), else ready, and an undialed callback
    /// as the callback it was (type, time and agent kept): a promised call back must not
    /// become anyone's new record because the agent left or the group was unloaded.
    fn left_behind(&self, h: i64) -> Finish {
        if self.held.get(&h).is_some_and(|held| held.dialed) {
            Finish::Updated
        } else if self.store.get(RecordHandle(h)).is_some_and(|r| r.is_callback()) {
            Finish::Undialed
        } else {
            Finish::Return
        }
    }

    fn agent_logout(&mut self, now: Time, p: PlaceId, out: &mut Vec<Output>) {
        if !self.places[p].logged_in {
            return;
        }
        // Records left on the desktop go back to their lists; those already dialed this
        // attempt are finalised as updated (the call happened), the others return ready.
        let records: SmallVec<[i64; 4]> = self.places[p].records.clone();
        for h in records {
            let finish = self.left_behind(h);
            self.finish(now, h, finish, out);
        }
        if let PlaceState::Engaged(call) | PlaceState::Talking(call) = self.places[p].state {
            // The call carries on without the agent: it no longer belongs to the place.
            if let Some(c) = self.calls.get_mut(&call) {
                if c.engaged == Some(p) {
                    c.engaged = None;
                }
                if let CallState::Routed { answered_at, place, .. } = c.state
                    && place == p
                {
                    c.state = CallState::Connected { answered_at, connected_at: now, place: None };
                }
                if let CallState::Connected { place: Some(place), answered_at, connected_at } = c.state
                    && place == p
                {
                    c.state = CallState::Connected { answered_at, connected_at, place: None };
                }
            }
        }
        let memberships: SmallVec<[(GroupId, AgentIdx); 2]> = self.places[p].memberships.clone();
        for (g, _) in memberships {
            self.leave_group(now, g, p);
        }
        if self.place_by_agent.get(&self.places[p].agent_id) == Some(&p) {
            self.place_by_agent.remove(&self.places[p].agent_id);
        }
        self.pending_logouts.remove(&p);
        let place = &mut self.places[p];
        place.logged_in = false;
        place.state = PlaceState::NotReady;
        place.logout = Logout::None;
    }

    fn agent_ready(&mut self, now: Time, p: PlaceId, out: &mut Vec<Output>) {
        match self.places[p].state {
            PlaceState::Talking(call)
                if !self.places[p].ivr
                    && matches!(
                        self.calls.get(&call).map(|c| c.state),
                        Some(CallState::Connected { place: Some(q), .. }) if q == p
                    ) =>
            {
                // The switch reports the agent ready while the engine still has them in
                // conversation: the call's release was lost on its way here. The agent cannot
                // be both, so the call is taken as released (into after-call work, which the
                // ready state then ends), rather than keep the agent out of pacing for good.
                self.call_released(now, call, None, out);
                self.calls_released_by_ready += 1;
                if self.places[p].state != PlaceState::AfterCallWork {
                    return;
                }
            }
            PlaceState::Engaged(call)
                if matches!(
                    self.calls.get(&call).map(|c| c.state),
                    Some(CallState::Routed { place, routed_at, .. })
                        if place == p && now >= routed_at + ROUTE_CONNECT_GRACE
                ) =>
            {
                // A call routed here a while ago never connected, and the agent says they are
                // ready: the call never reached them. The customer hung up while it waited
                // and the CallAbandoned was lost (the dialer still had the call, so it was
                // routed). It is taken as abandoned then, which frees the agent, rather than
                // keep them engaged for a call that does not exist.
                self.call_abandoned(now, call, out);
                self.routed_calls_abandoned_by_ready += 1;
                return;
            }
            PlaceState::Engaged(_) | PlaceState::Talking(_) => return,
            PlaceState::Ready => return,
            PlaceState::AfterCallWork | PlaceState::NotReady => {}
        }
        if !self.places[p].ivr {
            // With record_processed off, a dialed record is final when after-call work ends.
            let records: SmallVec<[i64; 4]> = self.places[p].records.clone();
            for h in records {
                let Some(held) = self.held.get(&h) else { continue };
                if held.dialed
                    && held.call.is_none()
                    && !self.groups[held.group].config.options.record_processed
                {
                    let finish = held.cancelled.unwrap_or(Finish::Updated);
                    self.finish(now, h, finish, out);
                }
            }
        }
        self.set_place_state(now, p, PlaceState::Ready);
    }

    /// Sets a place's state and keeps the groups' ready sets and pacers in step.
    fn set_place_state(&mut self, now: Time, p: PlaceId, state: PlaceState) {
        let before = (ready_pool(&self.places[p]), self.places[p].ready_since);
        self.places[p].state = state;
        if state == PlaceState::Ready && before.0.is_none() {
            self.places[p].ready_since = now;
        }
        let after = ready_pool(&self.places[p]);
        self.became_ready |= after.is_some() && before.0.is_none();
        self.move_ready(p, before);
        for &(g, idx) in &self.places[p].memberships {
            let group = &mut self.groups[g];
            if let Some(pacer) = &group.pacer {
                let pstate = if self.places[p].logout != Logout::None {
                    AgentState::Leaving
                } else {
                    pacer_state(state)
                };
                pacer.agent_state(idx, pstate, now);
            }
        }
    }

    /// Moves place `p` from the ready set it was in (`before`: its pool and ready-since
    /// time then) to the one it belongs in now, in every group it is a member of.
    fn move_ready(&mut self, p: PlaceId, before: (Option<ReadyPool>, Time)) {
        let after = (ready_pool(&self.places[p]), self.places[p].ready_since);
        if after == before {
            return;
        }
        for &(g, _) in &self.places[p].memberships {
            let group = &mut self.groups[g];
            if let (Some(pool), since) = before {
                group.pool_mut(pool).remove(&(since, p));
            }
            if let (Some(pool), since) = after {
                group.pool_mut(pool).insert((since, p));
            }
        }
    }

    // ----- timer -----

    fn on_timer(&mut self, now: Time, out: &mut Vec<Output>) {
        // Answered calls that waited past the compliance time are dropped.
        for g in 0..self.groups.len() {
            while let Some(&call) = self.groups[g].waiting.front() {
                match self.calls.get(&call).map(|c| c.state) {
                    Some(CallState::Waiting { deadline, .. }) if deadline <= now => {
                        self.groups[g].waiting.pop_front();
                        self.drop_call(now, call, out);
                    }
                    Some(CallState::Waiting { .. }) => break,
                    _ => {
                        self.groups[g].waiting.pop_front();
                    }
                }
            }
        }
        self.clean_stale(now, out);
        let freed = self.time_out_dials(now, out);
        self.deliver_callbacks(now, out);
        self.smart_logouts(now, out);
        // Inputs pace as they come; the timer paces only a group left alone for a tick (the
        // estimates move with time) or when a given-up dial freed capacity.
        if freed || now >= self.last_paced + self.config.tick {
            self.pace_all(now, out);
        }
        if let Some(interval) = self.config.status_interval {
            match self.next_summary {
                Some(t) if t > now => {}
                _ => {
                    if self.next_summary.is_some() {
                        for g in 0..self.groups.len() {
                            if self.groups[g].state.is_active() {
                                let status = self.status(now, g, StatusKind::Summary);
                                out.push(Output::Status(status));
                            }
                        }
                    }
                    self.next_summary = Some(now + interval);
                }
            }
        }
        self.schedule_tick(now);
    }

    /// The next periodic wake-up: a running group is paced at least every `tick`, and a
    /// smart logout asks the pacer again as often. Everything else that falls due (waiting
    /// calls' deadlines, stale records, dial results, summaries) has its own wake-up in
    /// [`Server::next_wakeup`].
    fn schedule_tick(&mut self, now: Time) {
        // A running group with nobody in it has nothing to pace and no one to hand a callback
        // to: the tick waits for a member (a login paces at once), so a quiet night on a
        // virtual clock is one jump, not 864,000 ticks a day.
        //
        // A Preview group dials nothing and pushes nothing: the tick would only look for due
        // callbacks, so it wakes for its next one instead (see `next_wakeup`), and an idle
        // preview floor costs one wake-up per callback rather than ten a second. Callbacks
        // already due that found nobody yet are tried again after the inputs that may give
        // them somebody (see `handle`).
        let busy = self.groups.iter().any(|g| {
            g.state == GroupState::Running
                && (g.has_members() || g.mode.is_gvp())
                && !Self::ticks_for_callbacks_only(g)
        }) || !self.pending_logouts.is_empty();
        self.next_tick =
            busy.then(|| self.last_paced.max(now.saturating_sub(self.config.tick)) + self.config.tick);
    }

    /// A running Preview group: nothing in it changes with time but its callbacks coming
    /// due.
    fn ticks_for_callbacks_only(group: &Group) -> bool {
        group.state == GroupState::Running && group.mode == DialMode::Preview
    }

    /// Records left on a desktop past the group's stale_clean_timeout go back as Stale.
    fn clean_stale(&mut self, now: Time, out: &mut Vec<Output>) {
        while let Some(&(deadline, h)) = self.stale_queue.first() {
            if deadline > now {
                break;
            }
            self.stale_queue.pop_first();
            let Some(held) = self.held.get_mut(&h) else { continue };
            if held.call.is_some() {
                // Still in conversation: not stale; the clock starts again.
                let timeout = self.groups[held.group].config.options.stale_clean_timeout;
                held.since = now;
                self.stale_queue.insert((now + timeout, h));
                continue;
            }
            // `finish` looks for the entry just taken; put it back for it to remove.
            self.stale_queue.insert((deadline, h));
            self.finish(now, h, Finish::Stale, out);
        }
    }

    /// Smart logouts waiting for dials counted on the agent: acknowledge when the pacer lets go.
    fn smart_logouts(&mut self, now: Time, out: &mut Vec<Output>) {
        if self.pending_logouts.is_empty() {
            return;
        }
        let pending: SmallVec<[PlaceId; 16]> = self.pending_logouts.iter().copied().collect();
        for p in pending {
            if self.places[p].logout != Logout::Requested {
                self.pending_logouts.remove(&p);
                continue;
            }
            let mut all_clear = true;
            let mut campaign = None;
            for &(g, idx) in &self.places[p].memberships {
                if let Some(pacer) = &self.groups[g].pacer
                    && self.groups[g].mode.is_auto()
                {
                    campaign.get_or_insert_with(|| self.groups[g].config.campaign.clone());
                    if let crate::pacing::LogoutStatus::Wait(_) = pacer.logout_requested(idx, now) {
                        all_clear = false;
                    }
                }
            }
            if all_clear {
                let before = (ready_pool(&self.places[p]), self.places[p].ready_since);
                self.places[p].logout = Logout::Done;
                self.pending_logouts.remove(&p);
                self.move_ready(p, before);
                let campaign_name = campaign.unwrap_or_default().into();
                self.notify(out, p, EventBody::LogOutAcknowledge { campaign_name });
            }
        }
    }

    // ----- admin -----

    fn on_admin(&mut self, now: Time, command: AdminCommand, out: &mut Vec<Output>) {
        let name = admin_name(&command);
        let result = match command {
            AdminCommand::Load { group } => self.lifecycle(now, &group, LifecycleAction::Load, out),
            AdminCommand::Start { group } => self.lifecycle(now, &group, LifecycleAction::Start, out),
            AdminCommand::Stop { group } => self.lifecycle(now, &group, LifecycleAction::Stop, out),
            AdminCommand::Unload { group } => self.lifecycle(now, &group, LifecycleAction::Unload, out),
            AdminCommand::SetMode { group, mode } => self.set_mode(now, &group, mode, out),
            AdminCommand::SetGoal { group, goal } => match self.group_id(&group) {
                Some(g) => match &self.groups[g].pacer {
                    Some(pacer) => {
                        pacer.set_goal(goal);
                        Ok(())
                    }
                    None => Err(format!("set goal of {group}: the group is not loaded")),
                },
                None => Err(format!("set goal: no campaign group {group:?}")),
            },
            AdminCommand::AddList { list } => {
                let name = list.name().to_string();
                self.store.add_list(list).map(|_| ()).map_err(|e| format!("add list {name}: {e}"))
            }
            AdminCommand::TakeOver { application_id } => {
                self.take_over(now, application_id, out);
                Ok(())
            }
            AdminCommand::JoinAgentGroup { agent_group, dn } => {
                let key = (CompactString::from(agent_group.as_str()), dn.clone());
                self.left.remove(&key);
                self.joined.insert(key);
                if let Some(&p) = self.place_by_dn.get(&dn) {
                    for g in 0..self.groups.len() {
                        if self.groups[g].state.is_active()
                            && self.groups[g].config.agent_group == agent_group
                        {
                            self.try_join(now, g, p, out);
                            if self.groups[g].ivr {
                                self.set_place_state(now, p, PlaceState::Ready);
                            }
                        }
                    }
                }
                Ok(())
            }
            AdminCommand::LeaveAgentGroup { agent_group, dn } => {
                let key = (CompactString::from(agent_group.as_str()), dn.clone());
                self.joined.remove(&key);
                self.left.insert(key);
                if let Some(&p) = self.place_by_dn.get(&dn) {
                    for g in 0..self.groups.len() {
                        if self.groups[g].config.agent_group == agent_group {
                            self.leave_group(now, g, p);
                        }
                    }
                }
                Ok(())
            }
        };
        if let Err(reason) = result {
            out.push(Output::AdminRejected(AdminRejected { command: name, reason }));
        }
        self.pace_all(now, out);
        self.schedule_tick(now);
    }

    fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.iter().position(|g| g.config.name == name)
    }

    fn take_over(&mut self, now: Time, application_id: i64, out: &mut Vec<Output>) {
        if application_id != self.application_id {
            self.previous_application_id = Some((self.application_id, now + self.config.backup_grace));
            self.application_id = application_id;
        }
        // Every logged-in member learns the new id with the status of its groups.
        for p in 0..self.places.len() {
            if !self.places[p].logged_in {
                continue;
            }
            let memberships: SmallVec<[(GroupId, AgentIdx); 2]> = self.places[p].memberships.clone();
            for (g, _) in memberships {
                let status = self.status_event(g);
                self.notify(out, p, status);
            }
        }
    }

    fn lifecycle(
        &mut self,
        now: Time,
        name: &str,
        action: LifecycleAction,
        out: &mut Vec<Output>,
    ) -> Result<(), String> {
        let g = self
            .group_id(name)
            .ok_or_else(|| format!("{} {name:?}: no such campaign group", action.name()))?;
        let from = self.groups[g].state;
        let to = transition(from, action)
            .ok_or_else(|| format!("{} {name:?}: not allowed while {}", action.name(), from.name()))?;
        let kind = match action {
            LifecycleAction::Load => {
                let mut lists = Vec::new();
                for list in &self.groups[g].config.lists {
                    let id = self
                        .store
                        .list_by_name(list)
                        .ok_or_else(|| format!("load {name:?}: calling list {list:?} is not in the store"))?;
                    lists.push(id);
                }
                let meta = lists.iter().map(|&l| self.list_meta(g, l)).collect();
                let group = &mut self.groups[g];
                group.lists = lists;
                group.list_meta = meta;
                // ivr_group is read once here; later configuration changes wait for a reload.
                group.ivr = group.config.ivr_group;
                group.mode = group.config.dial_mode;
                let mut pacing = group.config.pacing.clone();
                if let Some(timeout) = group.config.options.call_wait_connected_timeout {
                    pacing.call_wait_connected_timeout = timeout;
                }
                let pacer = GroupPacer::new(pacing, group.config.options.max_agents, now);
                apply_mode_to_pacer(&pacer, group.mode, &group.config);
                group.pacer = Some(pacer);
                group.dials_total = 0;
                group.answered_total = 0;
                group.overdials_total = 0;
                group.state = to;
                for p in 0..self.places.len() {
                    self.try_join_silently(now, g, p);
                }
                StatusKind::Loaded
            }
            LifecycleAction::Start => {
                self.groups[g].state = to;
                // The shift (if the group has one) runs from its start.
                if let Some(pacer) = &self.groups[g].pacer
                    && !pacer.config().shift_length.is_zero()
                {
                    pacer.set_shift_end(Some(now + pacer.config().shift_length));
                }
                StatusKind::Started
            }
            LifecycleAction::Stop => {
                self.groups[g].state = to;
                // A stopped group answers nothing more: no credit for a shift it left.
                if let Some(pacer) = &self.groups[g].pacer {
                    pacer.set_shift_end(None);
                }
                // Due callbacks not handed out yet go back to wait for the next start, still
                // callbacks (and still their agent's): nobody saw them, so nothing was
                // rejected.
                while let Some(h) = self.groups[g].pending_callbacks.pop_front() {
                    self.finish(now, h, Finish::Undialed, out);
                }
                StatusKind::Stopped
            }
            LifecycleAction::Unload => {
                // Records still out go back to their lists unprocessed; calls still in the
                // dialer are forgotten (their later events are ignored).
                let calls: Vec<CallId> = self
                    .calls
                    .iter()
                    .filter(|(_, c)| c.group == g)
                    .map(|(&id, _)| id)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for call in calls {
                    self.forget_call(now, call);
                }
                let mut handles: Vec<i64> =
                    self.held.iter().filter(|(_, held)| held.group == g).map(|(&h, _)| h).collect();
                handles.sort_unstable();
                for h in handles {
                    let finish = self.left_behind(h);
                    self.finish(now, h, finish, out);
                }
                StatusKind::Unloaded
            }
        };
        let info = self.groups[g].config.info();
        let body = match kind {
            StatusKind::Loaded => EventBody::CampaignLoaded(info),
            StatusKind::Started => EventBody::CampaignStarted(info, self.groups[g].mode),
            StatusKind::Stopped => EventBody::CampaignStopped(info),
            _ => EventBody::CampaignUnloaded(info),
        };
        let members: Vec<PlaceId> = self.groups[g].members().collect();
        for &p in &members {
            if kind == StatusKind::Loaded {
                let info = self.groups[g].config.info();
                self.notify(out, p, EventBody::CampaignGroupAssigned(info));
            }
            self.notify(out, p, body.clone());
        }
        if kind == StatusKind::Unloaded {
            for p in members {
                self.leave_group(now, g, p);
            }
            let group = &mut self.groups[g];
            group.state = GroupState::Unloaded;
            group.pacer = None;
            group.slots.clear();
            group.free_slots.clear();
            group.ready.clear();
            group.leaving_ready.clear();
            group.waiting.clear();
            group.dials_in_flight = 0;
            group.calls_open = 0;
            group.line_cap = None;
            group.ports_busy = 0;
        }
        let status = self.status(now, g, kind);
        out.push(Output::Status(status));
        Ok(())
    }

    /// Like [`Server::try_join`] without notifications: the load notification follows.
    fn try_join_silently(&mut self, now: Time, g: GroupId, p: PlaceId) {
        let mut scratch = Vec::new();
        self.try_join(now, g, p, &mut scratch);
        if self.groups[g].ivr
            && self.places[p].logged_in
            && self.places[p].memberships.iter().any(|&(mg, _)| mg == g)
        {
            self.places[p].ivr = true;
            if self.places[p].state == PlaceState::NotReady {
                self.set_place_state(now, p, PlaceState::Ready);
            }
        }
    }

    fn set_mode(
        &mut self,
        now: Time,
        name: &str,
        mode: DialMode,
        out: &mut Vec<Output>,
    ) -> Result<(), String> {
        let g = self.group_id(name).ok_or_else(|| format!("set mode: no campaign group {name:?}"))?;
        let group = &mut self.groups[g];
        if !group.state.is_active() {
            return Err(format!("set mode of {name:?}: the group is not loaded"));
        }
        if group.ivr && mode.is_seizing() {
            return Err(format!("set mode of {name:?}: an IVR group cannot dial in {} mode", mode.as_str()));
        }
        if group.mode == mode {
            return Ok(());
        }
        group.mode = mode;
        if let Some(pacer) = &group.pacer {
            apply_mode_to_pacer(pacer, mode, &group.config);
        }
        let info = group.config.info();
        let members: Vec<PlaceId> = group.members().collect();
        for p in members {
            self.notify(out, p, EventBody::CampaignModeChanged(info.clone(), mode));
        }
        let status = self.status(now, g, StatusKind::ModeChanged);
        out.push(Output::Status(status));
        Ok(())
    }

    fn status(&self, now: Time, g: GroupId, kind: StatusKind) -> StatusNotification {
        let group = &self.groups[g];
        StatusNotification {
            kind,
            at: now,
            group: group.config.name.as_str().into(),
            campaign: group.config.campaign.as_str().into(),
            state: group.state,
            mode: group.mode,
            agents_logged_in: group.members().count() as u32,
            agents_ready: group.ready.len() as u32,
            dials_in_flight: group.dials_in_flight,
            records_held: self.held.values().filter(|h| h.group == g).count() as u32,
            dials_total: group.dials_total,
            overdials_total: group.overdials_total,
            answered_total: group.answered_total,
        }
    }

    // ----- records -----

    /// Puts a record taken from the store under the server's watch.
    fn hold(&mut self, now: Time, h: i64, group: GroupId, kind: HeldKind) {
        if self.finished.contains(h) {
            self.violations
                .push(InvariantViolation { what: format!("record {h} came back after it was finalised") });
        }
        let chain = self.chain_key(h);
        if let Some(chain) = chain {
            *self.chains_out.entry(chain).or_default() += 1;
            // A record set aside for its chain may be taken out all the same (the chain's
            // agent asks for it with ChainedRecordRequest): it is no longer aside, and must
            // not be put back in its queue when the chain comes free, whatever became of it.
            self.unpark(chain, RecordHandle(h));
        }
        self.held.insert(
            h,
            Held {
                group,
                place: None,
                call: None,
                kind,
                since: now,
                reschedule: None,
                dialed: false,
                dialed_at: now,
                chain_sent: false,
                cancelled: None,
                call_result: None,
                chain,
            },
        );
    }

    /// The (list, chain id) of record `h`.
    fn chain_key(&self, h: i64) -> Option<(u32, i64)> {
        let list = self.store.list_of(RecordHandle(h))?;
        Some((list.0, self.store.get(RecordHandle(h))?.chain_id))
    }

    /// Forgets record `h` set aside for chain `chain`, if it is: it left the aside state
    /// another way (taken out by its chain's agent, or finalised in its list).
    fn unpark(&mut self, chain: (u32, i64), h: RecordHandle) {
        if let Some(parked) = self.parked.get_mut(&chain) {
            parked.retain(|p| *p != h);
            if parked.is_empty() {
                self.parked.remove(&chain);
            }
        }
    }

    /// Stops holding record `h` (without touching the store).
    fn unhold(&mut self, h: i64) -> Option<Held> {
        let held = self.held.remove(&h)?;
        if let Some(chain) = held.chain
            && let Some(n) = self.chains_out.get_mut(&chain)
        {
            *n -= 1;
            if *n == 0 {
                self.chains_out.remove(&chain);
                // The chain is free: its records set aside meanwhile may be dialed again.
                for parked in self.parked.remove(&chain).unwrap_or_default() {
                    self.store.requeue(parked);
                }
            }
        }
        Some(held)
    }

    /// Puts a held record on the desktop of place `p`.
    fn give_to(&mut self, now: Time, h: i64, p: PlaceId) {
        let Some(held) = self.held.get_mut(&h) else { return };
        let timeout = self.groups[held.group].config.options.stale_clean_timeout;
        if let Some(old) = held.place {
            self.places[old].records.retain(|r| *r != h);
            self.stale_queue.remove(&(held.since + timeout, h));
        }
        held.place = Some(p);
        held.since = now;
        self.places[p].records.push(h);
        self.stale_queue.insert((now + timeout, h));
    }

    /// Sends a held record back to its list, with the fields `finish` says, and stops
    /// holding it.
    fn finish(&mut self, now: Time, h: i64, finish: Finish, out: &mut Vec<Output>) {
        let Some(held) = self.unhold(h) else { return };
        if held.place.is_some() {
            let timeout = self.groups[held.group].config.options.stale_clean_timeout;
            self.stale_queue.remove(&(held.since + timeout, h));
        }
        // A call still up for the record (a record rejected or cancelled mid-call) carries on
        // without it: its later events must not touch the record, which may be retrieved
        // again meanwhile.
        if let Some(call) = held.call
            && let Some(c) = self.calls.get_mut(&call)
            && c.handle == h
        {
            c.handle = NO_RECORD;
        }
        if let Some(p) = held.place {
            self.places[p].records.retain(|r| *r != h);
            self.places[p].ready_time_for.retain(|r| *r != h);
        }
        let agent_id = held.place.map(|p| self.places[p].agent_id.clone());
        let status = {
            let Some(mut record) = self.store.get_mut(RecordHandle(h)) else { return };
            if let Some(result) = held.call_result {
                record.call_result = result;
            }
            if held.dialed {
                record.attempts += 1;
                record.call_time = Some(held.dialed_at.as_unix_s());
            }
            let status = match finish {
                Finish::Return => {
                    // A returned callback loses its scheduled status with its type: it goes
                    // back as a new record would, with no time attached.
                    if record.is_callback() {
                        record.dial_sched_time = None;
                    }
                    record.record_type = crate::protocol::RecordType::General;
                    if let Some(agent) = agent_id {
                        record.agent_id = Some(agent);
                    }
                    RecordStatus::Ready
                }
                Finish::Updated => {
                    if let Some(agent) = agent_id {
                        record.agent_id = Some(agent);
                    }
                    if !held.dialed {
                        // Preview records are dialed by the agent: the attempt counts here.
                        record.attempts += 1;
                        record.call_time = Some(now.as_unix_s());
                    }
                    match held.reschedule {
                        Some(reschedule) => {
                            record.record_type = match reschedule.callback_type {
                                CallbackType::Personal => crate::protocol::RecordType::PersonalCallBack,
                                CallbackType::Campaign => crate::protocol::RecordType::CampaignCallBack,
                            };
                            record.dial_sched_time = Some(reschedule.at_unix_s);
                            RecordStatus::Ready
                        }
                        None => RecordStatus::Updated,
                    }
                }
                Finish::Undialed => RecordStatus::Ready,
                Finish::Canceled => RecordStatus::Canceled,
                Finish::NoCall => {
                    record.record_type = crate::protocol::RecordType::NoCall;
                    RecordStatus::Updated
                }
                Finish::Stale => {
                    record.call_result = crate::protocol::CallResult::Stale;
                    RecordStatus::Stale
                }
            };
            // Setting the status through the guard puts the record back in its queues.
            record.record_status = status;
            status
        };
        if status != RecordStatus::Ready {
            self.finished.insert(h);
        }
        self.record_update(h, out);
    }

    /// Emits the record's current state for the list store.
    fn record_update(&self, h: i64, out: &mut Vec<Output>) {
        let (Some(record), Some(list)) =
            (self.store.get(RecordHandle(h)), self.store.list_of(RecordHandle(h)))
        else {
            return;
        };
        out.push(Output::RecordUpdate { list: self.store.list(list).name().into(), record: record.clone() });
    }

    /// Requests that need the agent: the place logged in at `dn`.
    fn place_of(&self, dn: &Dn) -> Option<PlaceId> {
        self.place_by_dn.get(dn).copied().filter(|&p| self.places[p].logged_in)
    }

    /// The record `h` if it is on the desktop of `p`.
    fn held_on(&self, h: i64, p: PlaceId) -> Option<&Held> {
        self.held.get(&h).filter(|held| held.place == Some(p))
    }

    /// Is `kind` allowed from a place after its smart logout?
    fn allowed_after_logout(kind: RequestKind) -> bool {
        !matches!(kind, RequestKind::PreviewRecordRequest | RequestKind::PreviewDialingModeStart)
    }
}

/// An admin command as its name and object, for refusals.
fn admin_name(command: &AdminCommand) -> String {
    match command {
        AdminCommand::Load { group } => format!("load {group}"),
        AdminCommand::Start { group } => format!("start {group}"),
        AdminCommand::Stop { group } => format!("stop {group}"),
        AdminCommand::Unload { group } => format!("unload {group}"),
        AdminCommand::SetMode { group, mode } => format!("set mode of {group} to {}", mode.as_str()),
        AdminCommand::SetGoal { group, .. } => format!("set goal of {group}"),
        AdminCommand::AddList { list } => format!("add list {}", list.name()),
        AdminCommand::TakeOver { application_id } => format!("take over as {application_id}"),
        AdminCommand::JoinAgentGroup { agent_group, dn } => format!("join {dn} to {agent_group}"),
        AdminCommand::LeaveAgentGroup { agent_group, dn } => format!("remove {dn} from {agent_group}"),
    }
}

/// The pacer's view of a place state.
fn pacer_state(state: PlaceState) -> AgentState {
    match state {
        PlaceState::NotReady => AgentState::NotReady,
        PlaceState::Ready => AgentState::Ready,
        PlaceState::Engaged(_) | PlaceState::Talking(_) => AgentState::Talking,
        PlaceState::AfterCallWork => AgentState::AfterCallWork,
    }
}

/// Progressive modes pace one dial per ready agent; predictive ones use the configured
/// algorithm (or the default predictive one when the configuration names progressive).
fn apply_mode_to_pacer(pacer: &GroupPacer, mode: DialMode, config: &CampaignGroupConfig) {
    use crate::pacing::Algorithm;
    match mode {
        DialMode::Progressive | DialMode::ProgressiveWithSeizing | DialMode::ProgressiveGvp => {
            pacer.set_algorithm(Algorithm::Progressive)
        }
        _ => {
            let configured = config.pacing.algorithm;
            pacer.set_algorithm(if configured == Algorithm::Progressive {
                Algorithm::Predictive
            } else {
                configured
            });
        }
    }
}
