//! Every desktop request's semantics, as the spec gives them.

use compact_str::CompactString;
use smallvec::SmallVec;

use super::{Finish, GroupId, HeldKind, Logout, PendingReschedule, PlaceId, Server};
use crate::campaign::GroupState;
use crate::kv::KvList;
use crate::pacing::LogoutStatus;
use crate::protocol::{
    AddRecord, CancelAck, ChainAttr, DialMode, DncAck, DoNotCall, ErrorCode, EventBody, FieldChanges,
    INCOMPLETE_PROCESSING, NO_AUTO_CAMPAIGN, PREVIEW_START_REQUIRED, RecordAck, RecordCancel,
    RecordCancelNotice, RecordSelector, RecordStatus, RecordType, Request, RequestBody, RequestKind,
    Reschedule, RescheduleAck, SMARTLY_LOGGED_OUT, TargetName, Treatment,
};
use crate::records::{Record, RecordHandle, RecordStore, StoreError};
use crate::server::Dn;
use crate::server::Output;
use crate::time::Time;

/// A refusal: the error number and its description.
type Refusal = (ErrorCode, &'static str);

impl Server {
    pub(super) fn on_request(&mut self, now: Time, dn: &Dn, request: &Request, out: &mut Vec<Output>) {
        let kind = request.kind();
        if kind == RequestKind::CampaignStatusRequest {
            // Never an error: status notifications, or silence for an unknown agent.
            if let Some(p) = self.place_of(dn) {
                let memberships: SmallVec<[GroupId; 2]> =
                    self.places[p].memberships.iter().map(|m| m.0).collect();
                for g in memberships {
                    let body = self.status_event(g);
                    self.reply(out, dn, request, body);
                }
            }
            return;
        }
        let Some(p) = self.place_of(dn) else {
            self.error(out, dn, request, ErrorCode::AgentNotFound, "the agent at this DN is not logged in");
            return;
        };
        if self.places[p].ivr {
            // IVR places are driven by telephony alone.
            self.error(
                out,
                dn,
                request,
                ErrorCode::InvalidRequest,
                "IVR places do not use the desktop protocol",
            );
            return;
        }
        if self.places[p].logout == Logout::Done && !Self::allowed_after_logout(kind) {
            self.error(out, dn, request, ErrorCode::InvalidRequest, SMARTLY_LOGGED_OUT);
            return;
        }
        let result = match self.check_record_names(p, request) {
            Err(refusal) => Err(refusal),
            Ok(()) => self.dispatch(now, p, dn, request, out),
        };
        match result {
            Err((code, description)) => self.error(out, dn, request, code, description),
            // A record leaving a desktop frees its agent for the next Push Preview record.
            Ok(())
                if matches!(
                    kind,
                    RequestKind::RecordProcessed
                        | RequestKind::RecordReject
                        | RequestKind::RequestRecordCancel
                        | RequestKind::DoNotCall
                ) =>
            {
                self.push_previews(now, out)
            }
            Ok(()) => {}
        }
    }

    /// A request about a record on the desktop must name that record's campaign group (or
    /// campaign) and calling list where it names them at all: a name no loaded group has is
    /// 105, the name of another group or list 103. (The spec makes these keys mandatory
    /// beside the handle; reading them keeps a desktop from acting on a record it has
    /// confused with another.) Records not on the desktop are left to the request's own 109.
    fn check_record_names(&self, p: PlaceId, request: &Request) -> Result<(), Refusal> {
        let (h, calling_list) = match &request.body {
            RequestBody::UpdateCallCompletionStats(update) => (update.record_handle, None),
            RequestBody::RecordProcessed(processed) => {
                (processed.record_handle, Some(processed.calling_list.as_str()))
            }
            RequestBody::ChainedRecordRequest { record_handle } => (*record_handle, None),
            RequestBody::RecordReject { record_handle, calling_list } => {
                (*record_handle, Some(calling_list.as_str()))
            }
            RequestBody::RequestRecordCancel(RecordCancel {
                selector: RecordSelector::Handle { record_handle, calling_list },
                ..
            })
            | RequestBody::DoNotCall(DoNotCall {
                selector: RecordSelector::Handle { record_handle, calling_list },
                ..
            }) => (*record_handle, Some(calling_list.as_str())),
            RequestBody::RecordReschedule(r) | RequestBody::ScheduledRecordReschedule(r) => {
                (r.record_handle, None)
            }
            _ => return Ok(()),
        };
        let Some(held) = self.held_on(h, p) else { return Ok(()) };
        let group = &self.groups[held.group].config;
        // Only a wrong name costs a look at the other groups.
        let refusal = match request.target.name() {
            TargetName::Group(name) if group.name != name => {
                Some(self.groups.iter().any(|g| g.config.name == name && g.state.is_active()))
            }
            TargetName::Campaign(name) if group.campaign != name => {
                Some(self.groups.iter().any(|g| g.config.campaign == name && g.state.is_active()))
            }
            _ => None,
        };
        if let Some(known) = refusal {
            return Err(if known {
                (ErrorCode::InvalidAttributeValue, "the record is not in the campaign group named")
            } else {
                (ErrorCode::CampaignGroupNotFound, "no such campaign group is loaded")
            });
        }
        if let Some(name) = calling_list
            && self.store.list_of(RecordHandle(h)).is_none_or(|l| self.store.list(l).name() != name)
        {
            return Err((ErrorCode::InvalidAttributeValue, "the record is not in the calling list named"));
        }
        Ok(())
    }

    /// Runs a request that passed the checks common to all.
    fn dispatch(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        match &request.body {
            RequestBody::CampaignStatusRequest => Ok(()),
            RequestBody::PreviewDialingModeStart => self.preview_start(p, dn, request, out),
            RequestBody::PreviewDialingModeOver => self.preview_over(p, dn, request, out),
            RequestBody::ReadyTime { record_handle, ready_time_s } => {
                self.ready_time(now, p, dn, request, *record_handle, *ready_time_s, out)
            }
            RequestBody::PreviewRecordRequest => self.preview_record_request(now, p, dn, request, out),
            RequestBody::UpdateCallCompletionStats(update) => {
                self.update_stats(p, dn, request, update.record_handle, &update.changes, &update.custom, out)
            }
            RequestBody::RecordProcessed(processed) => {
                self.record_processed(now, p, dn, request, processed, out)
            }
            RequestBody::ChainedRecordRequest { record_handle } => {
                self.chained_records(now, p, dn, request, *record_handle, out)
            }
            RequestBody::RecordReject { record_handle, .. } => {
                self.record_reject(now, p, dn, request, *record_handle, out)
            }
            RequestBody::RequestRecordCancel(cancel) => {
                self.cancel(now, p, dn, request, &cancel.selector, cancel.chain_attr(), None, out)
            }
            RequestBody::DoNotCall(dnc) => {
                let duration = dnc.duration_s.map(|s| std::time::Duration::from_secs(s.max(0) as u64));
                self.cancel(now, p, dn, request, &dnc.selector, dnc.chain_attr(), Some(duration), out)
            }
            RequestBody::RecordReschedule(r) => self.reschedule(now, p, dn, request, r, false, out),
            RequestBody::ScheduledRecordReschedule(r) => self.reschedule(now, p, dn, request, r, true, out),
            RequestBody::AddRecord(add) => self.add_record(now, p, dn, request, add, out),
            RequestBody::LogOut => self.log_out(now, p, dn, request, out),
        }
    }

    /// The group a request names, among the active groups place `p` is a member of.
    fn target_group(&self, p: PlaceId, request: &Request) -> Result<GroupId, Refusal> {
        let member_of = |g: GroupId| self.places[p].memberships.iter().any(|&(mg, _)| mg == g);
        let any_active = self.groups.iter().any(|g| g.state.is_active());
        let found = match request.target.name() {
            TargetName::Group(name) => {
                self.groups.iter().position(|g| g.config.name == name && g.state.is_active())
            }
            TargetName::Campaign(name) => (0..self.groups.len()).find(|&g| {
                self.groups[g].config.campaign == name && self.groups[g].state.is_active() && member_of(g)
            }),
            TargetName::Unnamed => {
                (0..self.groups.len()).find(|&g| self.groups[g].state.is_active() && member_of(g))
            }
        };
        match found {
            Some(g) if member_of(g) => Ok(g),
            Some(_) => Err((ErrorCode::CampaignGroupNotFound, "the agent is not in this campaign group")),
            None if !any_active => Err((ErrorCode::NoActiveCampaigns, "no campaign group is loaded")),
            None => {
                Err((ErrorCode::CampaignGroupNotFound, "no such campaign group is loaded for this agent"))
            }
        }
    }

    fn campaign_name(&self, g: GroupId) -> CompactString {
        self.groups[g].config.campaign.as_str().into()
    }

    fn preview_start(
        &mut self,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let g = self.target_group(p, request)?;
        if self.places[p].preview_started.contains(&g) {
            return Err((ErrorCode::PreviewModeAlreadyStarted, "preview mode has already been started"));
        }
        self.places[p].preview_started.push(g);
        let campaign_name = self.campaign_name(g);
        self.reply(out, dn, request, EventBody::PreviewDialingModeStartAcknowledge { campaign_name });
        Ok(())
    }

    fn preview_over(
        &mut self,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let g = self.target_group(p, request)?;
        let Some(pos) = self.places[p].preview_started.iter().position(|&sg| sg == g) else {
            return Err((ErrorCode::PreviewModeNotStarted, "preview mode has not been started"));
        };
        self.places[p].preview_started.remove(pos);
        let campaign_name = self.campaign_name(g);
        self.reply(out, dn, request, EventBody::PreviewDialingModeOverAcknowledge { campaign_name });
        Ok(())
    }

    /// True when the desktop may receive preview records and callbacks of group `g`. Push
    /// Preview and Power GVP groups never wait for PreviewDialingModeStart, whatever the
    /// option says (the spec's PreviewDialingModeStart section).
    pub(super) fn preview_allowed(&self, p: PlaceId, g: GroupId) -> bool {
        !self.groups[g].config.options.agent_preview_mode_start
            || matches!(self.groups[g].mode, DialMode::PushPreview | DialMode::PowerGvp)
            || self.places[p].preview_started.contains(&g)
    }

    #[allow(clippy::too_many_arguments)]
    fn ready_time(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        h: i64,
        ready_time_s: i64,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let Some(held) = self.held_on(h, p) else {
            return Err((ErrorCode::NoCallFound, "no call for this record handle on this desktop"));
        };
        let g = held.group;
        if !self.groups[g].mode.is_predictive() || self.groups[g].mode.is_gvp() {
            return Err((ErrorCode::InvalidRequest, "ReadyTime applies to predictive campaign groups only"));
        }
        if self.places[p].ready_time_for.contains(&h) {
            return Err((ErrorCode::DuplicateRequest, "ReadyTime was already sent for this record"));
        }
        self.places[p].ready_time_for.push(h);
        if let (Some(pacer), Some(idx)) = (&self.groups[g].pacer, self.slot_of(g, p)) {
            pacer.ready_time(idx, std::time::Duration::from_secs(ready_time_s as u64), now);
        }
        self.reply(out, dn, request, EventBody::ReadyTimeAcknowledge { record_handle: h });
        Ok(())
    }

    fn preview_record_request(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        // A preview record comes from a running preview group (107 otherwise); the name in
        // the request picks among them.
        let g = match self.target_group(p, request) {
            Ok(g) => g,
            Err((ErrorCode::NoActiveCampaigns, _)) => {
                return Err((ErrorCode::NoRunningPreviewCampaigns, "no preview campaign is running"));
            }
            Err(e) => return Err(e),
        };
        if self.groups[g].state != GroupState::Running || !self.groups[g].mode.is_preview() {
            return Err((ErrorCode::NoRunningPreviewCampaigns, "no preview campaign is running"));
        }
        if !self.preview_allowed(p, g) {
            return Err((ErrorCode::InvalidRequest, PREVIEW_START_REQUIRED));
        }
        let Some(h) = self.retrieve(now, g) else {
            return Err((ErrorCode::NoRecordsAvailable, "no records available"));
        };
        self.hold(now, h, g, HeldKind::Preview);
        self.give_to(now, h, p);
        let data = self.record_data(g, h, false);
        self.reply(out, dn, request, EventBody::PreviewRecord(data));
        Ok(())
    }

    /// Changes a held record's modifiable fields and custom fields.
    pub(super) fn apply_changes(
        &mut self,
        h: i64,
        changes: &FieldChanges,
        custom: &KvList,
    ) -> Result<(), Refusal> {
        let Some(list) = self.store.list_of(RecordHandle(h)) else {
            return Err((ErrorCode::RecordNotFound, "record not found"));
        };
        let values =
            super::record_data::custom_from_kv(self.store.list(list).format(), custom).map_err(|_| {
                (ErrorCode::InvalidAttributeValue, "a custom field has the wrong type for its column")
            })?;
        if changes.phone.is_some() || changes.phone_type.is_some() {
            // The record must stay one its list could load (and the journal write back): a
            // number its type can reach. Checked before anything changes.
            let current =
                self.store.get(RecordHandle(h)).ok_or((ErrorCode::RecordNotFound, "record not found"))?;
            let phone = changes.phone.as_deref().unwrap_or(&current.phone);
            let phone_type = changes.phone_type.unwrap_or(current.phone_type);
            if crate::records::check_contact_info(phone, phone_type).is_err() {
                return Err((
                    ErrorCode::InvalidAttributeValue,
                    "GSW_PHONE is not a number its phone type can reach",
                ));
            }
        }
        let mut record =
            self.store.get_mut(RecordHandle(h)).ok_or((ErrorCode::RecordNotFound, "record not found"))?;
        if let Some(result) = changes.call_result {
            record.call_result = result;
        }
        if let Some(from) = changes.daily_from_s {
            record.daily_from_s = from as i32;
        }
        if let Some(until) = changes.daily_until_s {
            record.daily_till_s = until as i32;
        }
        if let Some(phone) = &changes.phone {
            record.phone = phone.clone();
        }
        if let Some(phone_type) = changes.phone_type {
            record.phone_type = phone_type;
        }
        for (column, value) in values {
            if let Some(slot) = record.custom.get_mut(column) {
                *slot = Some(value);
            }
        }
        drop(record);
        // The desktop's result overrides the one detected on the call.
        if changes.call_result.is_some()
            && let Some(held) = self.held.get_mut(&h)
        {
            held.call_result = None;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn update_stats(
        &mut self,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        h: i64,
        changes: &FieldChanges,
        custom: &KvList,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let Some(held) = self.held_on(h, p) else {
            return Err((ErrorCode::RecordNotFound, "record not found on this desktop"));
        };
        let g = held.group;
        self.apply_changes(h, changes, custom)?;
        let ack = self.record_ack(g, h);
        self.reply(out, dn, request, EventBody::UpdateCallCompletionStatsAcknowledge(ack));
        Ok(())
    }

    fn record_ack(&self, g: GroupId, h: i64) -> RecordAck {
        let calling_list = self
            .store
            .list_of(RecordHandle(h))
            .map(|l| CompactString::from(self.store.list(l).name()))
            .unwrap_or_default();
        RecordAck { calling_list, campaign_name: self.campaign_name(g), record_handle: h }
    }

    fn record_processed(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        processed: &crate::protocol::RecordProcessed,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let h = processed.record_handle;
        let Some(held) = self.held_on(h, p) else {
            return Err((
                ErrorCode::RecordNotFound,
                "record not found on this desktop (or already processed)",
            ));
        };
        // A record may be processed while its call is still up: the call's later events
        // then find no record and change only the agent's state.
        let g = held.group;
        let cancelled = held.cancelled;
        self.apply_changes(h, &processed.changes, &processed.custom)?;
        let ack = self.record_ack(g, h);
        if let Some(treatment) = processed.treatment
            && self.held[&h].reschedule.is_none()
        {
            // A treatment reschedules the record like a callback of its kind, after the
            // group's treatment delay.
            let at = now + self.groups[g].config.options.treatment_delay;
            let record_type = match treatment {
                Treatment::RecordTreatPersonal => RecordType::PersonalRescheduled,
                Treatment::RecordTreatCampaign => RecordType::CampaignRescheduled,
            };
            self.finish(now, h, Finish::Updated, out);
            if let Some(mut record) = self.store.get_mut(RecordHandle(h)) {
                record.record_type = record_type;
                record.dial_sched_time = Some(at.as_unix_s());
                record.record_status = RecordStatus::Ready;
            }
            self.finished.remove(h);
            self.store.return_to_list(RecordHandle(h), RecordStatus::Ready);
            self.record_update(h, out);
        } else {
            self.finish(now, h, cancelled.unwrap_or(Finish::Updated), out);
        }
        self.reply(out, dn, request, EventBody::RecordProcessedAcknowledge(ack));
        Ok(())
    }

    fn chained_records(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        h: i64,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let Some(held) = self.held_on(h, p) else {
            return Err((ErrorCode::RecordNotFound, "record not found on this desktop"));
        };
        let g = held.group;
        let already = held.chain_sent;
        let chain = self.store.chain(RecordHandle(h));
        if chain.is_empty() {
            return Err((ErrorCode::ChainedRecordsNotFound, "the record's chain was not found"));
        }
        let chain_id = self.store.get(RecordHandle(h)).map(|r| r.chain_id).unwrap_or_default();
        // The chain goes out once; a repeated request gets only the end marker, so no record
        // reaches the desktop twice.
        if !already {
            for member in &chain {
                if let Some(held) = self.held.get_mut(&member.0) {
                    held.chain_sent = true;
                }
            }
            for member in chain {
                if member.0 == h || self.held.contains_key(&member.0) {
                    continue;
                }
                let dialable = self.store.get(member).is_some_and(|r| {
                    r.record_status == RecordStatus::Ready && r.record_type != RecordType::NoCall
                });
                if !dialable {
                    continue;
                }
                // Taken out of the ready queue like a retrieval: the store's guard re-queues
                // on drop.
                if let Some(mut record) = self.store.get_mut(member) {
                    record.record_status = RecordStatus::Retrieved;
                }
                self.hold(now, member.0, g, HeldKind::Chained);
                if let Some(held) = self.held.get_mut(&member.0) {
                    held.chain_sent = true;
                }
                self.give_to(now, member.0, p);
                let data = self.record_data(g, member.0, false);
                self.reply(out, dn, request, EventBody::ChainedRecord(data));
            }
        }
        let ack = self.record_ack(g, h);
        self.reply(
            out,
            dn,
            request,
            EventBody::ChainedRecordsDataEnd {
                calling_list: ack.calling_list,
                campaign_name: ack.campaign_name,
                chain_id,
                record_handle: h,
            },
        );
        Ok(())
    }

    fn record_reject(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        h: i64,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let Some(held) = self.held_on(h, p) else {
            return Err((ErrorCode::RecordNotFound, "record not found on this desktop"));
        };
        let g = held.group;
        let ack = self.record_ack(g, h);
        // The record and the rest of its chain on this desktop go back General / Ready,
        // marked with the rejecting agent.
        let chain = self.store.chain(RecordHandle(h));
        for member in chain {
            if self.held_on(member.0, p).is_some() {
                self.finish(now, member.0, Finish::Return, out);
            }
        }
        self.finish(now, h, Finish::Return, out);
        self.reply(out, dn, request, EventBody::RecordRejectAcknowledge(ack));
        Ok(())
    }

    /// RequestRecordCancel (`dnc` none) and DoNotCall (`dnc` the entry's duration).
    #[allow(clippy::too_many_arguments)]
    fn cancel(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        selector: &RecordSelector,
        chain_attr: ChainAttr,
        dnc: Option<Option<std::time::Duration>>,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let finish = if dnc.is_some() { Finish::NoCall } else { Finish::Canceled };
        let mut on_desktops = false;
        let mut targets: Vec<RecordHandle> = Vec::new();
        let (calling_list, campaign_name) = match selector {
            RecordSelector::Handle { record_handle, calling_list } => {
                let h = *record_handle;
                let Some(held) = self.held_on(h, p) else {
                    return Err((ErrorCode::RecordNotFound, "record not found on this desktop"));
                };
                let g = held.group;
                targets.push(RecordHandle(h));
                if chain_attr == ChainAttr::AllChain {
                    targets.extend(self.store.chain(RecordHandle(h)).into_iter().filter(|m| m.0 != h));
                }
                if let Some(duration) = dnc {
                    // Every phone of the records marked (and their customer id) goes on the list.
                    for &t in &targets {
                        if let Some(record) = self.store.get(t) {
                            let phone = record.phone.clone();
                            let customer = record.customer_id.clone();
                            self.dnc.add_phone(&phone, now, duration);
                            if let Some(id) = customer {
                                self.dnc.add_customer_id(&id, now, duration);
                            }
                        }
                    }
                }
                (Some(calling_list.clone()), Some(self.campaign_name(g)))
            }
            RecordSelector::Phone(phone) | RecordSelector::CustomerId(phone) => {
                // From a desktop, only a member of a loaded campaign group may cancel or
                // block by phone or customer id (the spec's blended-agent rule); a campaign
                // (group) name, optional here, must name one of the agent's.
                match self.target_group(p, request) {
                    Ok(_) => {}
                    Err((ErrorCode::CampaignGroupNotFound, _))
                        if matches!(request.target.name(), TargetName::Unnamed) => {}
                    Err(refusal) => return Err(refusal),
                }
                if !self.places[p].memberships.iter().any(|&(g, _)| self.groups[g].state.is_active()) {
                    return Err((ErrorCode::AgentNotFound, "the agent is in no loaded campaign group"));
                }
                let by_phone = matches!(selector, RecordSelector::Phone(_));
                if let Some(duration) = dnc {
                    if by_phone {
                        self.dnc.add_phone(phone, now, duration);
                    } else {
                        self.dnc.add_customer_id(phone, now, duration);
                    }
                }
                let found = if by_phone {
                    self.store.find_by_phone(phone)
                } else {
                    self.store.find_by_customer_id(phone)
                };
                // Only the lists of loaded groups are searched.
                let active: Vec<_> = self
                    .groups
                    .iter()
                    .filter(|g| g.state.is_active())
                    .flat_map(|g| g.lists.iter().copied())
                    .collect();
                for h in found {
                    if !self.store.list_of(h).is_some_and(|l| active.contains(&l)) {
                        continue;
                    }
                    targets.push(h);
                    if chain_attr == ChainAttr::AllChain {
                        targets.extend(self.store.chain(h).into_iter().filter(|m| *m != h));
                    }
                }
                (None, None)
            }
        };
        targets.sort_unstable();
        targets.dedup();
        for h in targets {
            let Some(record) = self.store.get(h) else { continue };
            let phone = record.phone.clone();
            let customer_id = record.customer_id.clone();
            let list_name: CompactString =
                self.store.list_of(h).map(|l| self.store.list(l).name().into()).unwrap_or_default();
            match self.held.get(&h.0).map(|held| (held.place, held.call, held.group)) {
                Some((Some(holder), _, g)) => {
                    if holder != p {
                        on_desktops = true;
                        let notice = RecordCancelNotice {
                            calling_list: list_name,
                            campaign_name: self.campaign_name(g),
                            record_handle: h.0,
                            chain_attr: Some(chain_attr),
                            phone,
                            customer_id,
                        };
                        self.notify(out, holder, EventBody::RecordCancel(notice));
                    }
                    self.finish(now, h.0, finish, out);
                }
                Some((None, Some(_), _)) => {
                    // In a call: finalised with this when the call ends.
                    if let Some(held) = self.held.get_mut(&h.0) {
                        held.cancelled = Some(finish);
                    }
                }
                Some((None, None, _)) => self.finish(now, h.0, finish, out),
                None => {
                    // In the list: marked there (a record already final is left as it is).
                    {
                        let mut record = self.store.get_mut(h).expect("found above");
                        let ready = record.record_status == RecordStatus::Ready;
                        match finish {
                            // Do-not-call marks the record whatever became of it.
                            Finish::NoCall if record.record_type != RecordType::NoCall => {
                                record.record_type = RecordType::NoCall;
                                if ready {
                                    record.record_status = RecordStatus::Updated;
                                }
                            }
                            Finish::Canceled if ready => record.record_status = RecordStatus::Canceled,
                            _ => continue,
                        }
                    }
                    // A record set aside for its chain is final now: the chain coming
                    // free must find nothing of it to put back.
                    if let Some(chain) = self.chain_key(h.0) {
                        self.unpark(chain, h);
                    }
                    self.finished.insert(h.0);
                    self.record_update(h.0, out);
                }
            }
        }
        let (phone, customer_id, record_handle) = match selector {
            RecordSelector::Handle { record_handle, .. } => (None, None, Some(*record_handle)),
            RecordSelector::Phone(phone) => (Some(phone.clone()), None, None),
            RecordSelector::CustomerId(id) => (None, Some(id.clone()), None),
        };
        let body = match dnc {
            None => EventBody::RecordCancelAcknowledge(CancelAck {
                calling_list,
                campaign_name,
                chain_attr: Some(chain_attr),
                // Only cancels by phone or customer id report records left on desktops.
                message: (on_desktops && record_handle.is_none()).then(|| INCOMPLETE_PROCESSING.into()),
                phone,
                record_handle,
            }),
            Some(duration) => EventBody::DoNotCallAcknowledge(DncAck {
                calling_list,
                campaign_name,
                chain_attr: Some(chain_attr),
                phone,
                customer_id,
                record_handle,
                duration_s: duration.map(|d| d.as_secs() as i64),
            }),
        };
        self.reply(out, dn, request, body);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn reschedule(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        r: &Reschedule,
        scheduled: bool,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let h = r.record_handle;
        let Some(held) = self.held_on(h, p) else {
            return Err((ErrorCode::RecordNotFound, "record not found on this desktop"));
        };
        let g = held.group;
        // ScheduledRecordReschedule moves a callback again: the record must have come as a
        // scheduled call or carry a reschedule already.
        if scheduled && held.kind != HeldKind::Callback && held.reschedule.is_none() {
            return Err((ErrorCode::ScheduledRecordNotFound, "the record is not a scheduled call"));
        }
        let record =
            self.store.get(RecordHandle(h)).ok_or((ErrorCode::RecordNotFound, "record not found"))?;
        let Some(at) = RecordStore::local_to_utc(record, r.date_time) else {
            return Err((
                ErrorCode::InvalidTimeFormat,
                "the date cannot be converted in the record's time zone",
            ));
        };
        if at <= now {
            return Err((ErrorCode::InvalidTime, "the callback time is in the past"));
        }
        if scheduled
            && let Some(phone) = &r.phone
            && crate::records::check_contact_info(phone, record.phone_type).is_err()
        {
            return Err((
                ErrorCode::InvalidAttributeValue,
                "GSW_PHONE is not a number the record's phone type can reach",
            ));
        }
        let at_unix_s = into_window(at.as_unix_s(), record);
        if let Some(held) = self.held.get_mut(&h) {
            held.reschedule = Some(PendingReschedule { at_unix_s, callback_type: r.callback_type });
        }
        if scheduled
            && let Some(phone) = &r.phone
            && let Some(mut record) = self.store.get_mut(RecordHandle(h))
        {
            record.phone = phone.clone();
        }
        let ack = self.record_ack(g, h);
        let ack = RescheduleAck {
            callback_type: r.callback_type,
            calling_list: ack.calling_list,
            campaign_name: ack.campaign_name,
            date_time: r.date_time,
            record_handle: h,
            phone: if scheduled { r.phone.clone() } else { None },
        };
        let body = if scheduled {
            EventBody::ScheduledRecordRescheduleAcknowledge(ack)
        } else {
            EventBody::RecordRescheduleAcknowledge(ack)
        };
        self.reply(out, dn, request, body);
        Ok(())
    }

    fn add_record(
        &mut self,
        _now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        add: &AddRecord,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        // A record handle identifies the group (and the chain) before the campaign name does.
        let (g, handle_chain) = match add.record_handle {
            Some(h) => {
                let held = self.held.get(&h).ok_or((ErrorCode::RecordNotFound, "record not found"))?;
                // Only members of a campaign group add records to it.
                if !self.places[p].memberships.iter().any(|&(g, _)| g == held.group) {
                    return Err((
                        ErrorCode::CampaignGroupNotFound,
                        "the agent is not in the record's campaign group",
                    ));
                }
                let chain = self.store.get(RecordHandle(h)).map(|r| r.chain_id);
                (held.group, chain)
            }
            None => (self.target_group(p, request)?, None),
        };
        let list = self
            .store
            .list_by_name(&add.calling_list)
            .filter(|l| self.groups[g].lists.contains(l))
            .ok_or((ErrorCode::AddRecordError, "the calling list is not one of the campaign group's"))?;
        if let (Some(chain), Some(given)) = (handle_chain, add.chain_id)
            && chain != given
        {
            return Err((
                ErrorCode::InvalidAttributeValue,
                "GSW_CHAIN_ID is not the chain of GSW_RECORD_HANDLE",
            ));
        }
        let chain_id = add.chain_id.or(handle_chain);
        let format = self.store.list(list).format().clone();
        let values = super::record_data::custom_from_kv(&format, &add.custom).map_err(|_| {
            (ErrorCode::InvalidAttributeValue, "a custom field has the wrong type for its column")
        })?;
        let (chain_id, chain_n) = match chain_id {
            None => (self.store.next_chain_id(list), 0),
            Some(chain_id) => match add.chain_n {
                None | Some(0) => (chain_id, self.store.next_chain_n(list, chain_id)),
                Some(n) => (chain_id, n as i32),
            },
        };
        let mut custom = vec![None; format.custom.len()];
        for (column, value) in values {
            custom[column] = Some(value);
        }
        let defaults = Record::new(0, &add.phone, &add.tz_name);
        let mut record = Record {
            record_id: 0,
            phone: add.phone.clone(),
            phone_type: add.phone_type,
            record_type: add.record_type,
            record_status: add.record_status,
            call_result: add.call_result,
            attempts: add.attempts as i32,
            dial_sched_time: None,
            call_time: (add.call_time > 0).then_some(add.call_time),
            daily_from_s: add.daily_from_s as i32,
            daily_till_s: add.daily_until_s as i32,
            tz_name: add.tz_name.clone(),
            tz_offset_s: defaults.tz_offset_s,
            agent_id: add.agent_id.clone(),
            chain_id,
            chain_n,
            customer_id: None,
            switch_dbid: None,
            custom,
        };
        if let Some(date_time) = add.date_time {
            let at = RecordStore::local_to_utc(&record, date_time).ok_or((
                ErrorCode::InvalidTimeFormat,
                "the date cannot be converted in the record's time zone",
            ))?;
            record.dial_sched_time = Some(at.as_unix_s());
        }
        let h = match self.store.add_record(list, record) {
            Ok(h) => h,
            Err(StoreError::DuplicateChainPosition { .. } | StoreError::DuplicateRecordId { .. }) => {
                return Err((
                    ErrorCode::RecordAlreadyExists,
                    "a record with this chain id and number exists",
                ));
            }
            Err(_) => return Err((ErrorCode::AddRecordError, "the record cannot be added")),
        };
        self.record_update(h.0, out);
        let body = EventBody::AddRecordAcknowledge {
            calling_list: add.calling_list.clone(),
            campaign_name: self.campaign_name(g),
            phone: Some(add.phone.clone()),
        };
        self.reply(out, dn, request, body);
        Ok(())
    }

    fn log_out(
        &mut self,
        now: Time,
        p: PlaceId,
        dn: &Dn,
        request: &Request,
        out: &mut Vec<Output>,
    ) -> Result<(), Refusal> {
        let auto: SmallVec<[(GroupId, crate::pacing::AgentIdx); 2]> = self.places[p]
            .memberships
            .iter()
            .copied()
            .filter(|&(g, _)| self.groups[g].state == GroupState::Running && self.groups[g].mode.is_auto())
            .collect();
        if auto.is_empty() {
            return Err((ErrorCode::InvalidRequest, NO_AUTO_CAMPAIGN));
        }
        // The logout is the agent's, from every auto-dialing group; still, a campaign (group)
        // name that names nothing loaded for the agent is refused like anywhere else.
        let named = match self.target_group(p, request) {
            Err(refusal) if refusal.0 == ErrorCode::CampaignGroupNotFound => return Err(refusal),
            Err(_) => None,
            Ok(g) => Some(g),
        };
        if self.places[p].logout == Logout::None {
            // No more dials for the agent, who is counted as leaving from now on; a ready
            // agent still takes the calls already dialed until the logout is acknowledged.
            let before = (super::ready_pool(&self.places[p]), self.places[p].ready_since);
            self.places[p].logout = Logout::Requested;
            self.pending_logouts.insert(p);
            self.move_ready(p, before);
            for &(g, idx) in &self.places[p].memberships {
                if let Some(pacer) = &self.groups[g].pacer {
                    pacer.agent_state(idx, crate::pacing::AgentState::Leaving, now);
                }
            }
        }
        let mut wait = std::time::Duration::ZERO;
        for &(g, idx) in &auto {
            if let Some(pacer) = &self.groups[g].pacer
                && let LogoutStatus::Wait(d) = pacer.logout_requested(idx, now)
            {
                wait = wait.max(d);
            }
        }
        // The answer names the campaign asked about when it is one of them.
        let answering = named.filter(|g| auto.iter().any(|&(ag, _)| ag == *g)).unwrap_or(auto[0].0);
        let campaign_name = self.campaign_name(answering);
        if wait.is_zero() {
            let before = (super::ready_pool(&self.places[p]), self.places[p].ready_since);
            self.places[p].logout = Logout::Done;
            self.pending_logouts.remove(&p);
            self.move_ready(p, before);
            // Nothing dialed for the agent is in flight: the answer is a logout time of 0
            // (the LogOut request's description in the spec), and the acknowledgement that
            // the agent may go follows at once.
            let body = EventBody::LogOutTime { campaign_name: campaign_name.clone(), logout_time_s: 0 };
            self.reply(out, dn, request, body);
            self.reply(out, dn, request, EventBody::LogOutAcknowledge { campaign_name });
        } else {
            // Whole seconds, rounded up: the desktop should not come back too early.
            let logout_time_s = wait.as_micros().div_ceil(1_000_000) as i64;
            self.reply(out, dn, request, EventBody::LogOutTime { campaign_name, logout_time_s });
        }
        Ok(())
    }
}

/// Moves a callback time into the record's daily window: a time before the window opens
/// moves to the opening that day, one after it closes to the next day's opening.
/// (An empty window leaves the time as asked.)
pub(super) fn into_window(at_unix_s: i64, record: &Record) -> i64 {
    RecordStore::next_in_window(record, crate::time::Time::from_unix_s(at_unix_s))
        .map_or(at_unix_s, |t| t.as_unix_s())
}
