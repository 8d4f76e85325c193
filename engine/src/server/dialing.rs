//! Dialing: pacing the running groups, placing dials, following each call from the dialer's
//! result to the agent and back, callbacks and Push Preview deliveries.

use std::time::Duration;

use smallvec::SmallVec;

use super::{
    Call, CallId, CallState, DialCommand, Finish, GroupId, HeldKind, Output, PlaceId, PlaceState, Server,
};
use crate::campaign::GroupState;
use crate::kv::{KnownKey, KvList, Value};
use crate::pacing::DialOutcome;
use crate::protocol::{
    CallResult, CallbackType, DialMode, EventBody, LocalDateTime, RecordType, ScheduledCall,
};
use crate::records::{RecordHandle, RecordStore};
use crate::server::InvariantViolation;
use crate::time::Time;

/// At most this many dials are placed for one group by one input: a bound on the work one
/// input can cause, far above any real decision.
const MAX_DIALS_PER_INPUT: u32 = 1024;

/// At most this many records of busy chains are set aside by one retrieval: each is set
/// aside once per time its chain is out, so this only bounds the work of one input.
const MAX_SET_ASIDE: usize = 4096;

/// How long a group waits to dial again after the dialer answered a dial with No Port
/// Available, unless one of its calls ends first and frees a line. Dialing again at once
/// would meet the same full dialer and take record after record off the list for nothing.
const NO_PORT_BACKOFF: Duration = Duration::from_secs(1);

/// How long a group keeps the line count it learnt from a No Port Available (see
/// `Group::line_cap`) without being refused again. Lines may be added to the dialer, or other
/// groups sharing it may go quiet: past this, the group dials as its pacer asks and so probes
/// the dialer again, at the cost of one burst of refusals per period.
const LINE_CAP_MEMORY: Duration = Duration::from_secs(60);

/// How a call progress result counts for the pacer.
fn outcome(result: CallResult) -> DialOutcome {
    match result {
        CallResult::Answer => DialOutcome::AnsweredLive,
        CallResult::AnsweringMachineDetected => DialOutcome::AnsweringMachine,
        CallResult::NoAnswer | CallResult::DroppedOnNoAnswer => DialOutcome::NoAnswer,
        CallResult::Busy | CallResult::AllTrunksBusy => DialOutcome::Busy,
        _ => DialOutcome::Other,
    }
}

impl Server {
    /// The next dialable record of group `g`'s lists, checked against the dialing rules.
    ///
    /// A record whose chain already has a member out (on a desktop or in a call) is not
    /// dialed: a chain is worked by one agent at a time, and that agent may ask for the rest
    /// with ChainedRecordRequest. Such a record is set aside, Ready but in no queue, and
    /// parked with its chain until the chain's last record comes back (see `unhold`): put
    /// back at the head of the queue instead, enough of them would hide every other record.
    pub(super) fn retrieve(&mut self, now: Time, g: GroupId) -> Option<i64> {
        for _ in 0..MAX_SET_ASIDE {
            let h = self.store.retrieve(&self.groups[g].lists, now, &self.dnc)?;
            let chain = self.chain_key(h.0);
            match chain {
                Some(chain) if self.chains_out.contains_key(&chain) => {
                    self.store.set_aside(h);
                    self.parked.entry(chain).or_default().push(h);
                }
                _ => return Some(h.0),
            }
        }
        None
    }

    /// Runs every running group's pacing: routes waiting calls to ready agents, pushes
    /// preview records, places the dials the pacer asks for.
    pub(super) fn pace_all(&mut self, now: Time, out: &mut Vec<Output>) {
        self.last_paced = now;
        for g in 0..self.groups.len() {
            self.route_waiting(now, g, out);
            if self.groups[g].state != GroupState::Running {
                continue;
            }
            match self.groups[g].mode {
                DialMode::Preview => {}
                DialMode::PushPreview => self.push_preview(now, g, out),
                DialMode::ProgressiveGvp | DialMode::PowerGvp => self.pace_gvp(now, g, out),
                DialMode::Progressive
                | DialMode::Predictive
                | DialMode::ProgressiveWithSeizing
                | DialMode::PredictiveWithSeizing => self.pace_auto(now, g, out),
            }
        }
        self.schedule_tick(now);
    }

    /// Push Preview groups only: after a desktop request, which changes no pacer input.
    pub(super) fn push_previews(&mut self, now: Time, out: &mut Vec<Output>) {
        for g in 0..self.groups.len() {
            if self.groups[g].state == GroupState::Running && self.groups[g].mode == DialMode::PushPreview {
                self.push_preview(now, g, out);
            }
        }
    }

    /// How many more calls group `g` may open before it reaches the dialer capacity it
    /// learnt from its last No Port Available (no limit once that is forgotten).
    fn lines_left(&mut self, now: Time, g: GroupId) -> u32 {
        let group = &mut self.groups[g];
        match group.line_cap {
            Some((_, until)) if now >= until => {
                group.line_cap = None;
                u32::MAX
            }
            Some((cap, _)) => cap.saturating_sub(group.calls_open),
            None => u32::MAX,
        }
    }

    fn pace_auto(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        if now < self.groups[g].no_port_until {
            return;
        }
        let lines_left = self.lines_left(now, g);
        let Some(pacer) = &self.groups[g].pacer else { return };
        let mut dials = pacer.decide(now).dials.min(MAX_DIALS_PER_INPUT).min(lines_left);
        let seizing = self.groups[g].mode.is_seizing();
        while dials > 0 {
            // Seizing modes engage the longest-idle ready agent before dialing.
            let engaged = if seizing {
                match self.groups[g].ready.first() {
                    Some(&(_, p)) => Some(p),
                    None => break,
                }
            } else {
                None
            };
            let Some(h) = self.retrieve(now, g) else { break };
            self.dial(now, g, h, engaged, out);
            dials -= 1;
        }
    }

    /// GVP modes: no agents; Progressive GVP keeps one call per free port, Power GVP
    /// `power_gvp_ratio` calls per free port.
    fn pace_gvp(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        if now < self.groups[g].no_port_until {
            return;
        }
        let lines_left = self.lines_left(now, g);
        let group = &self.groups[g];
        let free_ports = group.config.options.gvp_ports.saturating_sub(group.ports_busy);
        let target = match group.mode {
            DialMode::PowerGvp => {
                (f64::from(free_ports) * group.config.options.power_gvp_ratio).ceil() as u32
            }
            _ => free_ports,
        };
        let mut dials = target.saturating_sub(group.dials_in_flight).min(MAX_DIALS_PER_INPUT).min(lines_left);
        while dials > 0 {
            let Some(h) = self.retrieve(now, g) else { break };
            self.dial(now, g, h, None, out);
            dials -= 1;
        }
    }

    /// Push Preview: every ready member with an empty desktop gets a record.
    fn push_preview(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        let ready: SmallVec<[PlaceId; 16]> = self.groups[g]
            .ready
            .iter()
            .map(|&(_, p)| p)
            .filter(|&p| self.places[p].records.is_empty())
            .take(MAX_DIALS_PER_INPUT as usize)
            .collect();
        for p in ready {
            let Some(h) = self.retrieve(now, g) else { break };
            self.hold(now, h, g, HeldKind::Preview);
            self.give_to(now, h, p);
            let data = self.record_data(g, h, true);
            self.notify(out, p, EventBody::PreviewRecord(data));
        }
    }

    /// Places one dial for record `h` of group `g`.
    fn dial(&mut self, now: Time, g: GroupId, h: i64, engaged: Option<PlaceId>, out: &mut Vec<Output>) {
        let Some(record) = self.store.get(RecordHandle(h)) else { return };
        // The store's retrieval already applies these rules; a record that breaks one is a
        // bug upstream, refused here and reported by check_invariants.
        if self.dnc.is_blocked(&record.phone, record.customer_id.as_deref(), now) {
            self.violations.push(InvariantViolation {
                what: format!("record {h} retrieved for dialing is do-not-call"),
            });
            self.hold(now, h, g, HeldKind::Dialed);
            let mut scratch = Vec::new();
            self.finish(now, h, Finish::NoCall, &mut scratch);
            out.extend(scratch);
            return;
        }
        if !RecordStore::in_window(record, now) {
            self.violations
                .push(InvariantViolation { what: format!("record {h} retrieved outside its daily window") });
            self.hold(now, h, g, HeldKind::Dialed);
            self.finish(now, h, Finish::Return, out);
            return;
        }
        let phone = record.phone.clone();
        let counted_on = self.groups[g].pacer.as_ref().and_then(|pacer| pacer.dial_placed(now));
        let call = CallId(self.next_call);
        self.next_call += 1;
        // The attempt (attempts, call time) is written to the record when it goes back to
        // its list, in the same store update as its status.
        self.hold(now, h, g, HeldKind::Dialed);
        if let Some(held) = self.held.get_mut(&h) {
            held.call = Some(call);
            held.dialed = true;
            held.dialed_at = now;
        }
        let mut kv = self.call_kv(g, h);
        if let Some(p) = engaged {
            kv.push_known(KnownKey::AssuredHandle, Value::Int(h));
            self.set_place_state(now, p, PlaceState::Engaged(call));
        }
        let group = &mut self.groups[g];
        group.dials_in_flight += 1;
        group.dials_total += 1;
        group.calls_open += 1;
        out.push(Output::Dial(DialCommand {
            call,
            phone,
            record_handle: h,
            group: group.config.name.as_str().into(),
            cpn_digits: group.cpn_digits.clone(),
            cpn_presentation: group.cpn_presentation.clone(),
            engaged_dn: engaged.map(|p| self.places[p].dn.clone()),
            kv,
        }));
        let result_due = now + self.groups[g].config.options.dial_result_timeout;
        self.dial_deadlines.insert((result_due, call));
        self.calls.insert(
            call,
            Call {
                group: g,
                handle: h,
                counted_on,
                placed_at: now,
                result_due,
                state: CallState::Dialing,
                engaged,
            },
        );
    }

    /// Answered calls waiting in group `g` go to ready agents, longest idle first.
    fn route_waiting(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        while !self.groups[g].waiting.is_empty() {
            let Some(p) = self.groups[g].first_ready_for_answer() else { break };
            let call = self.groups[g].waiting.pop_front().expect("not empty");
            let Some(c) = self.calls.get(&call) else { continue };
            let CallState::Waiting { answered_at, .. } = c.state else { continue };
            self.route(now, call, p, answered_at, out);
        }
    }

    /// Sends answered call `call` to place `p`, with the record.
    fn route(&mut self, now: Time, call: CallId, p: PlaceId, answered_at: Time, out: &mut Vec<Output>) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.state = CallState::Routed { answered_at, place: p, routed_at: now };
        let (g, h, counted_on) = (c.group, c.handle, c.counted_on);
        // The user data is built again rather than kept from the dial: most dials never
        // answer, and the record may have changed (attempts, call result) since.
        let kv = self.call_kv(g, h);
        if let Some(pacer) = &self.groups[g].pacer {
            pacer.connected(counted_on, answered_at, now);
        }
        self.set_place_state(now, p, PlaceState::Engaged(call));
        self.give_to(now, h, p);
        out.push(Output::Route { call, dn: self.places[p].dn.clone(), kv });
    }

    pub(super) fn call_result(&mut self, now: Time, call: CallId, result: CallResult, out: &mut Vec<Output>) {
        let Some(c) = self.calls.get(&call) else { return };
        if c.state != CallState::Dialing {
            return;
        }
        if result == CallResult::NoPortAvailable {
            self.no_port(now, call, out);
            return;
        }
        let (g, h, counted_on, placed_at, engaged) =
            (c.group, c.handle, c.counted_on, c.placed_at, c.engaged);
        self.dial_deadlines.remove(&(c.result_due, call));
        let group = &mut self.groups[g];
        group.dials_in_flight = group.dials_in_flight.saturating_sub(1);
        if let Some(pacer) = &group.pacer {
            pacer.call_progress(counted_on, outcome(result), placed_at, now);
        }
        self.detected(h, result);
        if !result.is_live_answer() {
            if let Some(p) = engaged {
                self.set_place_state(now, p, PlaceState::Ready);
            }
            self.remove_call(call);
            self.end_attempt(now, h, out);
            return;
        }
        self.groups[g].answered_total += 1;
        if self.groups[g].mode.is_gvp() {
            let group = &mut self.groups[g];
            if group.ports_busy < group.config.options.gvp_ports {
                group.ports_busy += 1;
                let dn = super::Dn(group.config.name.as_str().into());
                let c = self.calls.get_mut(&call).expect("present");
                c.state = CallState::Connected { answered_at: now, connected_at: now, place: None };
                let handle = c.handle;
                let kv = self.call_kv(g, handle);
                if let Some(pacer) = &self.groups[g].pacer {
                    pacer.connected(counted_on, now, now);
                }
                out.push(Output::Route { call, dn, kv });
            } else {
                self.drop_call(now, call, out);
            }
            return;
        }
        if let Some(p) = engaged.filter(|&p| self.places[p].logged_in) {
            self.route(now, call, p, now, out);
            return;
        }
        match self.groups[g].first_ready_for_answer() {
            Some(p) => self.route(now, call, p, now, out),
            None => {
                let compliance = self.groups[g].config.pacing.compliance_time;
                let c = self.calls.get_mut(&call).expect("present");
                c.state = CallState::Waiting { answered_at: now, deadline: now + compliance };
                self.groups[g].waiting.push_back(call);
            }
        }
    }

    /// Removes call `call` from the call table, and from its group's count of open calls.
    /// Its line is free again, so a No Port Available back-off of the group ends.
    pub(super) fn remove_call(&mut self, call: CallId) -> Option<Call> {
        let c = self.calls.remove(&call)?;
        let group = &mut self.groups[c.group];
        group.calls_open = group.calls_open.saturating_sub(1);
        group.no_port_until = Time::EPOCH;
        Some(c)
    }

    /// The dialer had no line for the call, so nothing was dialed: the record goes back to
    /// its list as it was (no attempt counted, callback kept), the pacer forgets the dial
    /// without learning from it (it says nothing of the customers), and the group waits for a
    /// line (see [`NO_PORT_BACKOFF`]).
    ///
    /// The group also learns how many lines it can have: the calls it still has open when
    /// the dialer refuses (at least one, so that a dialer kept full by other groups still
    /// gets a try after the back-off). Without that, every line freed would let the pacer
    /// send all the dials it wants again, all but one of them refused in turn. The smallest
    /// count seen wins: a burst of refused dials comes back one by one, and only the last
    /// refusal no longer counts the burst's other refused dials as open.
    fn no_port(&mut self, now: Time, call: CallId, out: &mut Vec<Output>) {
        let Some(c) = self.remove_call(call) else { return };
        self.dial_deadlines.remove(&(c.result_due, call));
        let group = &mut self.groups[c.group];
        group.dials_in_flight = group.dials_in_flight.saturating_sub(1);
        group.no_port_until = now + NO_PORT_BACKOFF;
        let cap = match group.line_cap {
            Some((cap, until)) if now < until => cap.min(group.calls_open),
            _ => group.calls_open,
        };
        group.line_cap = Some((cap.max(1), now + LINE_CAP_MEMORY));
        if let Some(pacer) = &group.pacer {
            pacer.dial_lost(c.counted_on);
        }
        if let Some(p) = c.engaged
            && self.places[p].state == PlaceState::Engaged(call)
        {
            self.set_place_state(now, p, PlaceState::Ready);
        }
        let Some(held) = self.held.get_mut(&c.handle) else { return };
        held.call = None;
        held.dialed = false;
        if held.place.is_none() {
            let finish = held.cancelled.unwrap_or(Finish::Undialed);
            self.finish(now, c.handle, finish, out);
        }
    }

    /// Notes the call result of record `h`'s attempt; it is written to the record when the
    /// record goes back to its list (one store update instead of two).
    fn detected(&mut self, h: i64, result: CallResult) {
        if let Some(held) = self.held.get_mut(&h) {
            held.call_result = Some(result);
        }
    }

    /// The dial attempt of a record not on a desktop is over: back to its list.
    fn end_attempt(&mut self, now: Time, h: i64, out: &mut Vec<Output>) {
        let Some(held) = self.held.get_mut(&h) else { return };
        held.call = None;
        if held.place.is_some() {
            return;
        }
        let finish = held.cancelled.unwrap_or(Finish::Updated);
        self.finish(now, h, finish, out);
    }

    /// An answered call that found no agent in time: released, counted as overdial.
    pub(super) fn drop_call(&mut self, now: Time, call: CallId, out: &mut Vec<Output>) {
        let Some(c) = self.remove_call(call) else { return };
        let answered_at = match c.state {
            CallState::Waiting { answered_at, .. } | CallState::Routed { answered_at, .. } => answered_at,
            _ => now,
        };
        let group = &mut self.groups[c.group];
        group.overdials_total += 1;
        if let Some(pacer) = &group.pacer {
            pacer.abandoned(c.counted_on, answered_at, now);
        }
        self.detected(c.handle, CallResult::Dropped);
        out.push(Output::Drop { call });
        self.end_attempt(now, c.handle, out);
    }

    /// Dials whose result did not come within their group's `dial_result_timeout` are given
    /// up: the result was lost between the dialer and here, and the call, if it still
    /// exists, is the dialer's to clean up. The record goes back to its list to be dialed
    /// again, the seized agent (if any) is free, and the pacer stops counting the dial.
    /// True when a dial was given up (capacity was freed).
    pub(super) fn time_out_dials(&mut self, now: Time, out: &mut Vec<Output>) -> bool {
        let mut freed = false;
        while let Some(&(due, call)) = self.dial_deadlines.first() {
            if due > now {
                break;
            }
            self.dial_deadlines.pop_first();
            let Some(c) = self.remove_call(call) else { continue };
            self.dial_results_timed_out += 1;
            freed = true;
            let group = &mut self.groups[c.group];
            group.dials_in_flight = group.dials_in_flight.saturating_sub(1);
            if let Some(pacer) = &group.pacer {
                pacer.dial_lost(c.counted_on);
            }
            if let Some(p) = c.engaged
                && self.places[p].state == PlaceState::Engaged(call)
            {
                self.set_place_state(now, p, PlaceState::Ready);
            }
            self.detected(c.handle, CallResult::UnknownCallResult);
            let Some(held) = self.held.get_mut(&c.handle) else { continue };
            held.call = None;
            if held.place.is_none() {
                let finish = held.cancelled.unwrap_or(Finish::Return);
                self.finish(now, c.handle, finish, out);
            }
        }
        freed
    }

    /// Forgets a call (its group is unloading); frees the place it engaged.
    pub(super) fn forget_call(&mut self, now: Time, call: CallId) {
        let Some(c) = self.remove_call(call) else { return };
        self.dial_deadlines.remove(&(c.result_due, call));
        let place = match c.state {
            CallState::Routed { place, .. } => Some(place),
            CallState::Connected { place, .. } => place,
            _ => c.engaged,
        };
        if let Some(p) = place
            && matches!(self.places[p].state, PlaceState::Engaged(x) | PlaceState::Talking(x) if x == call)
        {
            self.set_place_state(now, p, PlaceState::AfterCallWork);
        }
        if let Some(held) = self.held.get_mut(&c.handle) {
            held.call = None;
        }
    }

    pub(super) fn call_connected(&mut self, now: Time, call: CallId, dn: super::Dn) {
        let Some(p) = self.place_of(&dn) else { return };
        let Some(c) = self.calls.get(&call) else { return };
        let (g, h) = (c.group, c.handle);
        let (answered_at, previous) = match c.state {
            CallState::Dialing => return,
            CallState::Waiting { answered_at, .. } => {
                // The switch delivered it itself: it reached an agent after all.
                self.groups[g].waiting.retain(|w| *w != call);
                if let Some(pacer) = &self.groups[g].pacer {
                    pacer.connected(c.counted_on, answered_at, now);
                }
                (answered_at, None)
            }
            CallState::Routed { answered_at, place, .. } => (answered_at, Some(place)),
            CallState::Connected { answered_at, place, .. } => (answered_at, place),
        };
        if let Some(q) = previous
            && q != p
        {
            // A transfer (an IVR place handing over to an agent, or one agent to another):
            // the record follows the call; the place left is free (IVR) or in after-call work.
            let next = if self.places[q].ivr { PlaceState::Ready } else { PlaceState::AfterCallWork };
            self.set_place_state(now, q, next);
        }
        if previous.is_none() && self.groups[g].mode.is_gvp() {
            self.groups[g].ports_busy = self.groups[g].ports_busy.saturating_sub(1);
        }
        if self.held.get(&h).is_some_and(|held| held.place != Some(p)) {
            self.give_to(now, h, p);
        }
        let c = self.calls.get_mut(&call).expect("present");
        c.state = CallState::Connected { answered_at, connected_at: now, place: Some(p) };
        self.set_place_state(now, p, PlaceState::Talking(call));
    }

    pub(super) fn call_released(
        &mut self,
        now: Time,
        call: CallId,
        user_data: Option<KvList>,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.calls.get(&call) else { return };
        match c.state {
            CallState::Dialing => {
                // Released before any result: a failed attempt.
                self.call_result(now, call, CallResult::GeneralError, out);
                return;
            }
            CallState::Waiting { .. } => {
                self.call_abandoned(now, call, out);
                return;
            }
            _ => {}
        }
        let c = self.remove_call(call).expect("present");
        let (place, connected_at) = match c.state {
            CallState::Routed { place, answered_at, .. } => (Some(place), answered_at),
            CallState::Connected { place, connected_at, .. } => (place, connected_at),
            _ => (None, now),
        };
        let g = c.group;
        let Some(p) = place else {
            // GVP port or an agent gone: the attempt is over.
            if self.groups[g].mode.is_gvp() {
                self.groups[g].ports_busy = self.groups[g].ports_busy.saturating_sub(1);
            }
            self.end_attempt(now, c.handle, out);
            return;
        };
        if let Some(idx) = self.slot_of(g, p)
            && let Some(pacer) = &self.groups[g].pacer
        {
            pacer.call_ended(idx, now.saturating_duration_since(connected_at), now);
        }
        if self.places[p].ivr {
            // IVR places: the record is final at release, updated from the call's data when
            // the group asks for it; the place is free again.
            if let Some(data) = user_data.filter(|_| self.groups[g].config.options.ivr_update_on_release) {
                let changes = crate::protocol::FieldChanges {
                    call_result: data.get_int(KnownKey::CallResult).and_then(CallResult::from_code),
                    phone: data.get_str(KnownKey::Phone).map(Into::into),
                    ..Default::default()
                };
                let mut custom = KvList::new();
                for (key, value) in data.iter().filter(|(k, _)| k.known().is_none()) {
                    custom.push_unique(key.clone(), value.clone());
                }
                // User data that does not fit its column is left out; the record is
                // finalised all the same.
                let _ = self.apply_changes(c.handle, &changes, &custom);
            }
            if let Some(held) = self.held.get_mut(&c.handle) {
                held.call = None;
            }
            let finish = self.held.get(&c.handle).and_then(|h| h.cancelled).unwrap_or(Finish::Updated);
            self.finish(now, c.handle, finish, out);
            self.set_place_state(now, p, PlaceState::Ready);
            return;
        }
        if let Some(held) = self.held.get_mut(&c.handle) {
            held.call = None;
            if let Some(finish) = held.cancelled {
                self.finish(now, c.handle, finish, out);
            }
        }
        if matches!(self.places[p].state, PlaceState::Engaged(x) | PlaceState::Talking(x) if x == call) {
            self.set_place_state(now, p, PlaceState::AfterCallWork);
        }
    }

    pub(super) fn call_abandoned(&mut self, now: Time, call: CallId, out: &mut Vec<Output>) {
        let Some(c) = self.calls.get(&call) else { return };
        let (g, answered_at, place) = match c.state {
            CallState::Waiting { answered_at, .. } => (c.group, answered_at, None),
            CallState::Routed { answered_at, place, .. } => (c.group, answered_at, Some(place)),
            // Hung up in conversation, or before an answer: an ordinary release.
            CallState::Connected { .. } | CallState::Dialing => {
                return self.call_released(now, call, None, out);
            }
        };
        let c = self.remove_call(call).expect("present");
        self.groups[g].waiting.retain(|w| *w != call);
        self.groups[g].overdials_total += 1;
        if let Some(pacer) = &self.groups[g].pacer {
            match place {
                // The route already resolved the call in the pacer, as connected.
                Some(_) => pacer.connected_call_abandoned(now),
                None => pacer.abandoned(c.counted_on, answered_at, now),
            }
        }
        self.detected(c.handle, CallResult::Abandoned);
        if let Some(p) = place {
            if let Some(held) = self.held.get_mut(&c.handle) {
                held.call = None;
            }
            self.finish(now, c.handle, Finish::Updated, out);
            self.set_place_state(now, p, PlaceState::Ready);
        } else {
            self.end_attempt(now, c.handle, out);
        }
    }

    /// Callbacks that came due: to the personal agent, a group member, or the dialer.
    pub(super) fn deliver_callbacks(&mut self, now: Time, out: &mut Vec<Output>) {
        for g in 0..self.groups.len() {
            if self.groups[g].state != GroupState::Running {
                continue;
            }
            self.deliver_group_callbacks(now, g, out);
        }
    }

    /// Preview groups only, after an input that may have given a due callback somebody to
    /// go to (a login, a desktop request, an operator's command): their callbacks waiting
    /// for an agent are tried again. Preview groups have no tick to retry them on (see
    /// `schedule_tick`).
    pub(super) fn retry_preview_callbacks(&mut self, now: Time, out: &mut Vec<Output>) {
        for g in 0..self.groups.len() {
            let group = &self.groups[g];
            if group.state == GroupState::Running
                && group.mode == DialMode::Preview
                && !group.pending_callbacks.is_empty()
            {
                self.retry_pending_callbacks(now, g, out);
            }
        }
    }

    /// Group `g`'s callbacks that came due, then those still waiting for an agent.
    fn deliver_group_callbacks(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        let due = self.store.due_scheduled(&self.groups[g].lists, now);
        for h in due {
            // The store leaves the window and the do-not-call list to the caller for
            // callbacks: a number blocked since is marked, a callback due while its window
            // is closed waits for the next opening.
            let record = self.store.get(h).expect("due from the store");
            if self.dnc.is_blocked(&record.phone, record.customer_id.as_deref(), now) {
                self.hold(now, h.0, g, HeldKind::Callback);
                self.finish(now, h.0, Finish::NoCall, out);
                continue;
            }
            if !RecordStore::in_window(record, now) {
                let next = RecordStore::next_in_window(record, now).map(|t| t.as_unix_s());
                if let Some(mut record) = self.store.get_mut(h) {
                    // An empty window never opens: the callback is put off a day at a time.
                    record.dial_sched_time =
                        Some(next.unwrap_or(now.as_unix_s() + 86_400).max(now.as_unix_s() + 1));
                    record.record_status = crate::protocol::RecordStatus::Ready;
                }
                continue;
            }
            self.hold(now, h.0, g, HeldKind::Callback);
            self.groups[g].pending_callbacks.push_back(h.0);
        }
        self.retry_pending_callbacks(now, g, out);
    }

    /// Tries again to hand out group `g`'s due callbacks that found nobody yet.
    fn retry_pending_callbacks(&mut self, now: Time, g: GroupId, out: &mut Vec<Output>) {
        if self.groups[g].pending_callbacks.is_empty() {
            return;
        }
        let pending: Vec<i64> = self.groups[g].pending_callbacks.drain(..).collect();
        for h in pending {
            if !self.held.contains_key(&h) {
                continue;
            }
            if !self.deliver_callback(now, g, h, out) {
                self.groups[g].pending_callbacks.push_back(h);
            }
        }
    }

    /// Tries to hand out due callback `h`; false when nobody can take it yet.
    fn deliver_callback(&mut self, now: Time, g: GroupId, h: i64, out: &mut Vec<Output>) -> bool {
        let Some(record) = self.store.get(RecordHandle(h)) else { return true };
        let personal =
            matches!(record.record_type, RecordType::PersonalCallBack | RecordType::PersonalRescheduled);
        let agent = record.agent_id.clone();
        let when = record.dial_sched_time.unwrap_or(now.as_unix_s());
        let tz = record.tz_offset_s;
        let mode = self.groups[g].mode;
        if !personal && mode.is_auto() && self.groups[g].config.options.predictive_callback {
            // Dialed like any record, so it waits out a full dialer like any record (see
            // `NO_PORT_BACKOFF`).
            if now < self.groups[g].no_port_until {
                return false;
            }
            // The hold becomes a dial.
            self.unhold(h);
            self.dial(now, g, h, None, out);
            return true;
        }
        let eligible = |s: &Server, p: PlaceId| {
            s.places[p].logged_in
                && s.places[p].logout == super::Logout::None
                && s.preview_allowed(p, g)
                && !s.places[p].ivr
        };
        let target = if personal {
            let Some(agent) = agent else { return false };
            self.place_by_agent.get(&agent).copied().filter(|&p| {
                self.places[p].agent_id == agent
                    && self.places[p].memberships.iter().any(|&(mg, _)| mg == g)
                    && eligible(self, p)
            })
        } else {
            self.groups[g]
                .ready
                .iter()
                .map(|&(_, p)| p)
                .find(|&p| eligible(self, p))
                .or_else(|| self.groups[g].members().find(|&p| eligible(self, p)))
        };
        let Some(p) = target else { return false };
        self.give_to(now, h, p);
        let data = self.record_data(g, h, false);
        let callback_type = if personal { CallbackType::Personal } else { CallbackType::Campaign };
        // A time past the calendar's last minute (only an embedding dialer's clock can get
        // there) is shown as that minute rather than stopping the server.
        let date_time = LocalDateTime::from_unix(when, i64::from(tz))
            .or_else(|| LocalDateTime::from_unix(now.as_unix_s(), 0))
            .or_else(|| LocalDateTime::new(9999, 12, 31, 23, 59))
            .expect("12/31/9999 23:59 is a calendar date");
        self.notify(
            out,
            p,
            EventBody::ScheduledCall(ScheduledCall { record: data, callback_type, date_time }),
        );
        true
    }
}
