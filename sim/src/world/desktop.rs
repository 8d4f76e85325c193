//! Desktop messages: the requests a simulated desktop builds, encoded to real key-value lists,
//! and the faults that can be injected into them.
//!
//! A desktop never hands the engine a typed request: it builds a [`Request`], encodes it to a
//! [`KvList`] with the protocol's encoder, and the engine decodes that list as it would one
//! from the network. Faulty variants are made by editing the encoded list, so they exercise the
//! engine's decoder and error replies.

use compact_str::CompactString;
use pacer_engine::kv::{KnownKey, KvList, Value};
use pacer_engine::protocol::{
    AddRecord, CallResult, CallbackType, ChainAttr, DoNotCall, FieldChanges, LocalDateTime, PhoneType,
    RecordCancel, RecordProcessed, RecordSelector, RecordStatus, RecordType, RecordUpdate, Request,
    RequestBody, Reschedule, Target, Treatment,
};

/// A record as a desktop holds it (what the engine told it about the record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// `GSW_RECORD_HANDLE`.
    pub handle: i64,
    /// `GSW_CALLING_LIST`.
    pub list: CompactString,
    /// `GSW_PHONE`.
    pub phone: CompactString,
    /// `GSW_TZ_OFFSET`, seconds east of UTC.
    pub tz_offset_s: i64,
    /// `GSW_CHAIN_ID`, when sent.
    pub chain_id: Option<i64>,
    /// The call result the desktop will report.
    pub result: CallResult,
    /// It came as a ScheduledCall (a callback).
    pub scheduled: bool,
}

impl Held {
    /// Reads a record from attached data (a routed call's data, or a record event's list).
    pub fn from_kv(kv: &KvList) -> Option<Held> {
        Some(Held {
            handle: kv.get_int(KnownKey::RecordHandle)?,
            list: kv.get_str(KnownKey::CallingList)?.into(),
            phone: kv.get_str(KnownKey::Phone).unwrap_or("").into(),
            tz_offset_s: kv.get_int(KnownKey::TzOffset).unwrap_or(0),
            chain_id: kv.get_int(KnownKey::ChainId),
            result: CallResult::Answer,
            scheduled: false,
        })
    }
}

/// Which fault to inject into one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFault {
    /// A value of the wrong type.
    Malformed,
    /// An unknown reserved key.
    UnknownField,
    /// Another server's application id.
    OtherApplication,
}

impl RequestFault {
    /// The name faults are counted under.
    pub fn name(self) -> &'static str {
        match self {
            RequestFault::Malformed => "malformed_request",
            RequestFault::UnknownField => "unknown_field",
            RequestFault::OtherApplication => "other_application_id",
        }
    }

    /// Edits an encoded request to carry the fault.
    pub fn apply(self, kv: &mut KvList, application_id: i64) {
        match self {
            RequestFault::Malformed => {
                // The record handle is the key most requests depend on; requests without one
                // get a malformed application id.
                if kv.contains(KnownKey::RecordHandle) {
                    kv.set(KnownKey::RecordHandle, Value::from("not-a-handle"));
                } else {
                    kv.set(KnownKey::ApplicationId, Value::from("not-an-id"));
                }
            }
            RequestFault::UnknownField => kv.set("GSW_SIMULATED_UNKNOWN_KEY", Value::Int(1)),
            RequestFault::OtherApplication => kv.set(KnownKey::ApplicationId, Value::Int(application_id + 1)),
        }
    }
}

/// Builds a desktop's requests for one campaign.
#[derive(Clone, Debug)]
pub struct Requests {
    /// The server's application id.
    pub application_id: i64,
    /// The campaign.
    pub campaign: CompactString,
}

impl Requests {
    fn request(&self, reference_id: i64, body: RequestBody) -> Request {
        Request {
            application_id: Some(self.application_id),
            reference_id: Some(reference_id),
            target: Target::campaign(&self.campaign),
            body,
        }
    }

    /// A request with no record: status, preview start/over, preview record, logout.
    pub fn simple(&self, reference_id: i64, body: RequestBody) -> KvList {
        self.request(reference_id, body).encode()
    }

    /// ReadyTime for `held`, `in_s` seconds from now.
    pub fn ready_time(&self, reference_id: i64, held: &Held, in_s: i64) -> KvList {
        self.request(
            reference_id,
            RequestBody::ReadyTime { record_handle: held.handle, ready_time_s: in_s.max(1) },
        )
        .encode()
    }

    /// UpdateCallCompletionStats with the call result so far.
    pub fn update_stats(&self, reference_id: i64, held: &Held) -> KvList {
        let changes = FieldChanges { call_result: Some(held.result), ..FieldChanges::default() };
        let body = RequestBody::UpdateCallCompletionStats(RecordUpdate {
            record_handle: held.handle,
            changes,
            custom: KvList::new(),
        });
        self.request(reference_id, body).encode()
    }

    /// RecordProcessed, with a treatment when asked for.
    pub fn processed(&self, reference_id: i64, held: &Held, treatment: Option<Treatment>) -> KvList {
        let changes = FieldChanges { call_result: Some(held.result), ..FieldChanges::default() };
        let body = RequestBody::RecordProcessed(RecordProcessed {
            record_handle: held.handle,
            calling_list: held.list.clone(),
            changes,
            treatment,
            custom: KvList::new(),
        });
        self.request(reference_id, body).encode()
    }

    /// RecordReject.
    pub fn reject(&self, reference_id: i64, held: &Held) -> KvList {
        let body = RequestBody::RecordReject { record_handle: held.handle, calling_list: held.list.clone() };
        self.request(reference_id, body).encode()
    }

    /// RequestRecordCancel of the record's chain.
    pub fn cancel(&self, reference_id: i64, held: &Held) -> KvList {
        let body = RequestBody::RequestRecordCancel(RecordCancel {
            selector: RecordSelector::Handle { record_handle: held.handle, calling_list: held.list.clone() },
            chain_attr: Some(ChainAttr::AllChain),
        });
        self.request(reference_id, body).encode()
    }

    /// DoNotCall for the record's number.
    pub fn do_not_call(&self, reference_id: i64, held: &Held) -> KvList {
        let body = RequestBody::DoNotCall(DoNotCall {
            selector: RecordSelector::Handle { record_handle: held.handle, calling_list: held.list.clone() },
            chain_attr: Some(ChainAttr::RecordOnly),
            message: Some("customer asked".into()),
            duration_s: None,
        });
        self.request(reference_id, body).encode()
    }

    /// RecordReschedule as a callback at `unix_s` (sent in the record's local time).
    pub fn reschedule(
        &self,
        reference_id: i64,
        held: &Held,
        callback: CallbackType,
        unix_s: i64,
    ) -> Option<KvList> {
        let date_time = LocalDateTime::from_unix(unix_s, held.tz_offset_s)?;
        let reschedule =
            Reschedule { record_handle: held.handle, callback_type: callback, date_time, phone: None };
        // A callback being worked is moved with ScheduledRecordReschedule.
        let body = if held.scheduled {
            RequestBody::ScheduledRecordReschedule(reschedule)
        } else {
            RequestBody::RecordReschedule(reschedule)
        };
        Some(self.request(reference_id, body).encode())
    }

    /// ChainedRecordRequest for the rest of the record's chain.
    pub fn chained(&self, reference_id: i64, held: &Held) -> KvList {
        self.request(reference_id, RequestBody::ChainedRecordRequest { record_handle: held.handle }).encode()
    }

    /// AddRecord of a new number (a referral) to the record's list.
    pub fn add_record(&self, reference_id: i64, held: &Held, phone: CompactString, tz_name: &str) -> KvList {
        let body = RequestBody::AddRecord(AddRecord {
            agent_id: None,
            attempts: 0,
            call_result: CallResult::UnknownCallResult,
            call_time: 0,
            calling_list: held.list.clone(),
            chain_id: None,
            chain_n: None,
            date_time: None,
            daily_from_s: pacer_engine::protocol::DEFAULT_DAILY_FROM_S,
            daily_until_s: pacer_engine::protocol::DEFAULT_DAILY_UNTIL_S,
            phone,
            phone_type: PhoneType::Mobile,
            record_handle: None,
            record_status: RecordStatus::Ready,
            record_type: RecordType::General,
            tz_name: tz_name.into(),
            custom: KvList::new(),
        });
        self.request(reference_id, body).encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_engine::protocol::{ErrorCode, RequestKind};

    fn held() -> Held {
        Held {
            handle: 7,
            list: "Leads".into(),
            phone: "10000000006".into(),
            tz_offset_s: -18_000,
            chain_id: Some(3),
            result: CallResult::Answer,
            scheduled: false,
        }
    }

    #[test]
    fn every_request_decodes_as_what_was_built() {
        let r = Requests { application_id: 101, campaign: "Sales".into() };
        let h = held();
        let lists = [
            (r.ready_time(1, &h, 12), RequestKind::ReadyTime),
            (r.update_stats(2, &h), RequestKind::UpdateCallCompletionStats),
            (r.processed(3, &h, Some(Treatment::RecordTreatCampaign)), RequestKind::RecordProcessed),
            (r.reject(4, &h), RequestKind::RecordReject),
            (r.cancel(5, &h), RequestKind::RequestRecordCancel),
            (r.do_not_call(6, &h), RequestKind::DoNotCall),
            (
                r.reschedule(7, &h, CallbackType::Personal, 1_772_470_800).unwrap(),
                RequestKind::RecordReschedule,
            ),
            (r.chained(8, &h), RequestKind::ChainedRecordRequest),
            (r.add_record(9, &h, "10000099999".into(), "EST"), RequestKind::AddRecord),
            (r.simple(10, RequestBody::LogOut), RequestKind::LogOut),
            (
                r.reschedule(
                    11,
                    &Held { scheduled: true, ..h.clone() },
                    CallbackType::Campaign,
                    1_772_470_800,
                )
                .unwrap(),
                RequestKind::ScheduledRecordReschedule,
            ),
        ];
        for (i, (kv, kind)) in lists.iter().enumerate() {
            let decoded = Request::decode(kv).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(decoded.kind(), *kind);
            assert_eq!(decoded.reference_id, Some(i as i64 + 1));
        }
    }

    #[test]
    fn faults_make_the_decoder_or_the_server_refuse() {
        let r = Requests { application_id: 101, campaign: "Sales".into() };
        let mut kv = r.processed(1, &held(), None);
        RequestFault::Malformed.apply(&mut kv, 101);
        assert_eq!(Request::decode(&kv).unwrap_err().error.code(), ErrorCode::InvalidAttributeValue);
        let mut kv = r.simple(2, RequestBody::LogOut);
        RequestFault::OtherApplication.apply(&mut kv, 101);
        assert_eq!(Request::decode(&kv).unwrap().application_id, Some(102));
        let mut kv = r.simple(3, RequestBody::LogOut);
        RequestFault::UnknownField.apply(&mut kv, 101);
        assert!(kv.get_by_name("GSW_SIMULATED_UNKNOWN_KEY").is_some());
    }
}
