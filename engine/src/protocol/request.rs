//! Desktop-to-server requests (`GSW_AGENT_REQ_TYPE`): typed, decoded with every check the
//! spec's tables and rules give, and encoded back (the simulator's desktops use the encoder).

use compact_str::{CompactString, format_compact};

use crate::kv::{JsonWriter, Key, KnownKey, KvList, PairWriter, Value, ValueKind};
use crate::protocol::enums::{
    CallResult, CallbackType, ChainAttr, LocalDateTime, PhoneType, RecordStatus, RecordType, Treatment,
};
use crate::protocol::error::{ErrorCode, ProtocolError};
use crate::protocol::event::{ErrorEvent, Event, EventBody};
use crate::protocol::schema::{Field, Fields, KeySpec, MessageSchema, Ty, cond, opt, req};

use KnownKey as K;

/// Seconds in a day: the upper bound of a daily window.
pub const SECONDS_PER_DAY: i64 = 86_400;
/// Default start of the daily window of an added record (08:00).
pub const DEFAULT_DAILY_FROM_S: i64 = 28_800;
/// Default end of the daily window of an added record (18:00).
pub const DEFAULT_DAILY_UNTIL_S: i64 = 64_800;

macro_rules! request_kinds {
    ($($(#[$doc:meta])* $variant:ident => $schema:ident,)*) => {
        /// Which request a message is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RequestKind {
            $($(#[$doc])* $variant,)*
        }

        impl RequestKind {
            /// Every request kind.
            pub const ALL: &'static [RequestKind] = &[$(RequestKind::$variant,)*];

            /// The value of `GSW_AGENT_REQ_TYPE`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(RequestKind::$variant => stringify!($variant),)*
                }
            }

            /// The request named `name`, if any.
            pub fn from_name(name: &str) -> Option<RequestKind> {
                match name {
                    $(stringify!($variant) => Some(RequestKind::$variant),)*
                    _ => None,
                }
            }

            /// The request's attached-data table.
            pub fn schema(self) -> &'static MessageSchema {
                match self {
                    $(RequestKind::$variant => &$schema,)*
                }
            }
        }
    };
}

request_kinds! {
    /// Asks for the status of the agent's campaign groups.
    CampaignStatusRequest => CAMPAIGN_STATUS_REQUEST,
    /// Starts a preview session for the agent.
    PreviewDialingModeStart => PREVIEW_DIALING_MODE_START,
    /// Ends the agent's preview session.
    PreviewDialingModeOver => PREVIEW_DIALING_MODE_OVER,
    /// The desktop's estimate of seconds until its agent is ready.
    ReadyTime => READY_TIME,
    /// Asks for a preview record.
    PreviewRecordRequest => PREVIEW_RECORD_REQUEST,
    /// Intermediate update of a record's fields.
    UpdateCallCompletionStats => UPDATE_CALL_COMPLETION_STATS,
    /// Final update of a record: it goes back to the list.
    RecordProcessed => RECORD_PROCESSED,
    /// Asks for the rest of a record's chain.
    ChainedRecordRequest => CHAINED_RECORD_REQUEST,
    /// The agent will not dial this record; give it to someone else.
    RecordReject => RECORD_REJECT,
    /// Cancel a record or chain (by handle, phone or customer id).
    RequestRecordCancel => REQUEST_RECORD_CANCEL,
    /// Never call this number or customer again.
    DoNotCall => DO_NOT_CALL,
    /// Reschedule a record as a callback.
    RecordReschedule => RECORD_RESCHEDULE,
    /// Reschedule an already rescheduled record.
    ScheduledRecordReschedule => SCHEDULED_RECORD_RESCHEDULE,
    /// Add a record to a calling list.
    AddRecord => ADD_RECORD,
    /// Smart logout: the agent wants to leave.
    LogOut => LOG_OUT,
}

const REQ_TYPE: KeySpec = req(K::AgentReqType, Ty::Str);
const APP_ID: KeySpec = req(K::ApplicationId, Ty::Int);
const REF_ID: KeySpec = opt(K::ReferenceId, Ty::Int);
const GROUP: KeySpec = opt(K::CampaignGroupName, Ty::Str);
const CAMPAIGN: KeySpec = req(K::CampaignName, Ty::Str);

static CAMPAIGN_STATUS_REQUEST: MessageSchema = MessageSchema {
    name: "CampaignStatusRequest",
    keys: &[REQ_TYPE, opt(K::ApplicationId, Ty::Int), REF_ID],
    custom_fields: false,
};
static PREVIEW_DIALING_MODE_START: MessageSchema = MessageSchema {
    name: "PreviewDialingModeStart",
    keys: &[REQ_TYPE, APP_ID, GROUP, CAMPAIGN, REF_ID],
    custom_fields: false,
};
static PREVIEW_DIALING_MODE_OVER: MessageSchema = MessageSchema {
    name: "PreviewDialingModeOver",
    keys: &[REQ_TYPE, APP_ID, GROUP, CAMPAIGN, REF_ID],
    custom_fields: false,
};
static READY_TIME: MessageSchema = MessageSchema {
    name: "ReadyTime",
    keys: &[REQ_TYPE, req(K::ReadyTime, Ty::Int), APP_ID, req(K::RecordHandle, Ty::Int), REF_ID],
    custom_fields: false,
};
// The spec's table has no group name here; it is read anyway, since a group name takes
// priority over the campaign name wherever one is given.
static PREVIEW_RECORD_REQUEST: MessageSchema = MessageSchema {
    name: "PreviewRecordRequest",
    keys: &[REQ_TYPE, APP_ID, GROUP, CAMPAIGN, REF_ID],
    custom_fields: false,
};
static UPDATE_CALL_COMPLETION_STATS: MessageSchema = MessageSchema {
    name: "UpdateCallCompletionStats",
    keys: &[
        REQ_TYPE,
        opt(K::CallResult, Ty::Int),
        opt(K::From, Ty::Int),
        opt(K::Until, Ty::Int),
        opt(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        req(K::RecordHandle, Ty::Int),
        APP_ID,
        GROUP,
        CAMPAIGN,
        REF_ID,
    ],
    custom_fields: true,
};
static RECORD_PROCESSED: MessageSchema = MessageSchema {
    name: "RecordProcessed",
    keys: &[
        REQ_TYPE,
        APP_ID,
        opt(K::CallResult, Ty::Int),
        req(K::CallingList, Ty::Str),
        GROUP,
        CAMPAIGN,
        opt(K::From, Ty::Int),
        opt(K::Until, Ty::Int),
        opt(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        req(K::RecordHandle, Ty::Int),
        REF_ID,
        opt(K::Treatment, Ty::Str),
    ],
    custom_fields: true,
};
static CHAINED_RECORD_REQUEST: MessageSchema = MessageSchema {
    name: "ChainedRecordRequest",
    // The campaign name became optional in release 7.5; the handle identifies the chain.
    keys: &[REQ_TYPE, APP_ID, GROUP, opt(K::CampaignName, Ty::Str), req(K::RecordHandle, Ty::Int), REF_ID],
    custom_fields: false,
};
static RECORD_REJECT: MessageSchema = MessageSchema {
    name: "RecordReject",
    keys: &[
        REQ_TYPE,
        APP_ID,
        req(K::CallingList, Ty::Str),
        GROUP,
        CAMPAIGN,
        req(K::RecordHandle, Ty::Int),
        REF_ID,
    ],
    custom_fields: false,
};
static REQUEST_RECORD_CANCEL: MessageSchema = MessageSchema {
    name: "RequestRecordCancel",
    keys: &[
        REQ_TYPE,
        APP_ID,
        cond(K::CallingList, Ty::Str),
        GROUP,
        cond(K::CampaignName, Ty::Str),
        opt(K::ChainAttr, Ty::Str),
        cond(K::CustomerId, Ty::StrOrInt),
        cond(K::Phone, Ty::Str),
        opt(K::RecordHandle, Ty::Int),
        REF_ID,
    ],
    custom_fields: false,
};
static DO_NOT_CALL: MessageSchema = MessageSchema {
    name: "DoNotCall",
    keys: &[
        REQ_TYPE,
        APP_ID,
        cond(K::CallingList, Ty::Str),
        GROUP,
        cond(K::CampaignName, Ty::Str),
        opt(K::ChainAttr, Ty::Str),
        opt(K::Message, Ty::Str),
        cond(K::Phone, Ty::Str),
        cond(K::CustomerId, Ty::StrOrInt),
        opt(K::RecordHandle, Ty::Int),
        REF_ID,
        // Not in the request's table, but the acknowledgement carries it and the do-not-call
        // list stores an expiry: a desktop may ask for a limited duration.
        opt(K::Duration, Ty::Int),
    ],
    custom_fields: false,
};
static RECORD_RESCHEDULE: MessageSchema = MessageSchema {
    name: "RecordReschedule",
    keys: &[
        REQ_TYPE,
        APP_ID,
        req(K::CallbackType, Ty::Str),
        GROUP,
        CAMPAIGN,
        req(K::DateTime, Ty::Str),
        req(K::RecordHandle, Ty::Int),
        REF_ID,
    ],
    custom_fields: false,
};
// The spec's table marks GSW_CALLBACK_TYPE mandatory while its description says a missing
// one leaves the type unchanged; the table is followed, as for every other message.
static SCHEDULED_RECORD_RESCHEDULE: MessageSchema = MessageSchema {
    name: "ScheduledRecordReschedule",
    keys: &[
        REQ_TYPE,
        APP_ID,
        req(K::CallbackType, Ty::Str),
        GROUP,
        CAMPAIGN,
        req(K::DateTime, Ty::Str),
        opt(K::Phone, Ty::Str),
        req(K::RecordHandle, Ty::Int),
        REF_ID,
    ],
    custom_fields: false,
};
static ADD_RECORD: MessageSchema = MessageSchema {
    name: "AddRecord",
    keys: &[
        REQ_TYPE,
        opt(K::AgentId, Ty::Str),
        APP_ID,
        opt(K::Attempts, Ty::Int),
        opt(K::CallResult, Ty::Int),
        opt(K::CallTime, Ty::StrOrInt),
        req(K::CallingList, Ty::Str),
        GROUP,
        CAMPAIGN,
        opt(K::ChainId, Ty::Int),
        opt(K::DateTime, Ty::Str),
        opt(K::From, Ty::Int),
        req(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        opt(K::RecordHandle, Ty::Int),
        opt(K::RecordStatus, Ty::Int),
        opt(K::RecordType, Ty::Int),
        REF_ID,
        req(K::TzName, Ty::Str),
        opt(K::ChainN, Ty::Int),
        opt(K::Until, Ty::Int),
    ],
    custom_fields: true,
};
static LOG_OUT: MessageSchema = MessageSchema {
    name: "LogOut",
    keys: &[REQ_TYPE, APP_ID, GROUP, CAMPAIGN, REF_ID],
    custom_fields: false,
};

/// Which campaign group a request is for.
///
/// A group name, when given, identifies the group and takes priority over the campaign name
/// (several groups may run one campaign).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// `GSW_CAMPAIGN_GROUP_NAME`.
    pub group_name: Option<CompactString>,
    /// `GSW_CAMPAIGN_NAME`.
    pub campaign_name: Option<CompactString>,
}

/// How a request names its campaign group, after the priority rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetName<'a> {
    /// By group name.
    Group(&'a str),
    /// By campaign name (any group running it that the agent belongs to).
    Campaign(&'a str),
    /// Not named (CampaignStatusRequest; ChainedRecordRequest by handle alone).
    Unnamed,
}

impl Target {
    /// A target naming a campaign only.
    pub fn campaign(name: &str) -> Target {
        Target { group_name: None, campaign_name: Some(name.into()) }
    }

    /// The name that decides, group first.
    pub fn name(&self) -> TargetName<'_> {
        match (&self.group_name, &self.campaign_name) {
            (Some(group), _) => TargetName::Group(group),
            (None, Some(campaign)) => TargetName::Campaign(campaign),
            (None, None) => TargetName::Unnamed,
        }
    }
}

/// Changes to a record's modifiable mandatory fields (UpdateCallCompletionStats and
/// RecordProcessed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldChanges {
    /// New call result (`GSW_CALL_RESULT`), overriding the detected one.
    pub call_result: Option<CallResult>,
    /// New start of the daily window, seconds from midnight (`GSW_FROM`).
    pub daily_from_s: Option<i64>,
    /// New end of the daily window, seconds from midnight (`GSW_UNTIL`).
    pub daily_until_s: Option<i64>,
    /// New phone number (`GSW_PHONE`).
    pub phone: Option<CompactString>,
    /// New phone type (`GSW_PHONE_TYPE`).
    pub phone_type: Option<PhoneType>,
}

/// UpdateCallCompletionStats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordUpdate {
    /// The record.
    pub record_handle: i64,
    /// Mandatory-field changes.
    pub changes: FieldChanges,
    /// Custom fields, by their send_attribute keys.
    pub custom: KvList,
}

/// RecordProcessed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordProcessed {
    /// The record.
    pub record_handle: i64,
    /// Its calling list.
    pub calling_list: CompactString,
    /// Mandatory-field changes.
    pub changes: FieldChanges,
    /// Treatment to apply, if any.
    pub treatment: Option<Treatment>,
    /// Custom fields, by their send_attribute keys.
    pub custom: KvList,
}

/// How a cancel or do-not-call names its records, after the priority rule (handle, then
/// phone, then customer id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSelector {
    /// One record (and its chain) by handle.
    Handle {
        /// The record handle.
        record_handle: i64,
        /// Its calling list (mandatory with a handle).
        calling_list: CompactString,
    },
    /// Every record with this phone number.
    Phone(CompactString),
    /// Every record of this customer.
    CustomerId(CompactString),
}

/// RequestRecordCancel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCancel {
    /// Which records.
    pub selector: RecordSelector,
    /// Chain or record only, as sent (absent means the whole chain).
    pub chain_attr: Option<ChainAttr>,
}

impl RecordCancel {
    /// The chain attribute in effect.
    pub fn chain_attr(&self) -> ChainAttr {
        self.chain_attr.unwrap_or(ChainAttr::AllChain)
    }
}

/// DoNotCall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoNotCall {
    /// Which records.
    pub selector: RecordSelector,
    /// Chain or record only, as sent (absent means the whole chain).
    pub chain_attr: Option<ChainAttr>,
    /// Message for the do-not-call log.
    pub message: Option<CompactString>,
    /// How long the entry lasts, seconds (absent: for good).
    pub duration_s: Option<i64>,
}

impl DoNotCall {
    /// The chain attribute in effect.
    pub fn chain_attr(&self) -> ChainAttr {
        self.chain_attr.unwrap_or(ChainAttr::AllChain)
    }
}

/// RecordReschedule and ScheduledRecordReschedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reschedule {
    /// The record.
    pub record_handle: i64,
    /// Personal or campaign callback.
    pub callback_type: CallbackType,
    /// When, in the record's time zone.
    pub date_time: LocalDateTime,
    /// New phone number (ScheduledRecordReschedule only).
    pub phone: Option<CompactString>,
}

/// AddRecord, with the spec's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddRecord {
    /// Login id of the last agent (`GSW_AGENT_ID`).
    pub agent_id: Option<CompactString>,
    /// Attempts so far (default 0).
    pub attempts: i64,
    /// Call result (default Unknown Call Result).
    pub call_result: CallResult,
    /// Last call time, Unix seconds (default 0).
    pub call_time: i64,
    /// The calling list to add to.
    pub calling_list: CompactString,
    /// Existing chain to join; absent starts a new chain.
    pub chain_id: Option<i64>,
    /// Position in the chain; absent or 0 means the next free one.
    pub chain_n: Option<i64>,
    /// Scheduled time for a callback record, in the record's zone.
    pub date_time: Option<LocalDateTime>,
    /// Daily window start, seconds from midnight (default 28800).
    pub daily_from_s: i64,
    /// Daily window end, seconds from midnight (default 64800).
    pub daily_until_s: i64,
    /// Phone number.
    pub phone: CompactString,
    /// Phone type (default Direct Business Phone).
    pub phone_type: PhoneType,
    /// Handle of a record of the chain, identifying the group (priority over the campaign).
    pub record_handle: Option<i64>,
    /// Record status (default Ready).
    pub record_status: RecordStatus,
    /// Record type (default General).
    pub record_type: RecordType,
    /// Time zone name (`GSW_TZ_NAME`).
    pub tz_name: CompactString,
    /// Custom fields, by their send_attribute keys.
    pub custom: KvList,
}

/// The part of a request that differs between kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// CampaignStatusRequest.
    CampaignStatusRequest,
    /// PreviewDialingModeStart.
    PreviewDialingModeStart,
    /// PreviewDialingModeOver.
    PreviewDialingModeOver,
    /// ReadyTime.
    ReadyTime {
        /// The record on the desktop.
        record_handle: i64,
        /// Seconds until ready (greater than 0).
        ready_time_s: i64,
    },
    /// PreviewRecordRequest.
    PreviewRecordRequest,
    /// UpdateCallCompletionStats.
    UpdateCallCompletionStats(RecordUpdate),
    /// RecordProcessed.
    RecordProcessed(RecordProcessed),
    /// ChainedRecordRequest.
    ChainedRecordRequest {
        /// A record of the chain.
        record_handle: i64,
    },
    /// RecordReject.
    RecordReject {
        /// The record.
        record_handle: i64,
        /// Its calling list.
        calling_list: CompactString,
    },
    /// RequestRecordCancel.
    RequestRecordCancel(RecordCancel),
    /// DoNotCall.
    DoNotCall(DoNotCall),
    /// RecordReschedule.
    RecordReschedule(Reschedule),
    /// ScheduledRecordReschedule.
    ScheduledRecordReschedule(Reschedule),
    /// AddRecord.
    AddRecord(AddRecord),
    /// LogOut.
    LogOut,
}

impl RequestBody {
    /// Which request this is.
    pub fn kind(&self) -> RequestKind {
        match self {
            RequestBody::CampaignStatusRequest => RequestKind::CampaignStatusRequest,
            RequestBody::PreviewDialingModeStart => RequestKind::PreviewDialingModeStart,
            RequestBody::PreviewDialingModeOver => RequestKind::PreviewDialingModeOver,
            RequestBody::ReadyTime { .. } => RequestKind::ReadyTime,
            RequestBody::PreviewRecordRequest => RequestKind::PreviewRecordRequest,
            RequestBody::UpdateCallCompletionStats(_) => RequestKind::UpdateCallCompletionStats,
            RequestBody::RecordProcessed(_) => RequestKind::RecordProcessed,
            RequestBody::ChainedRecordRequest { .. } => RequestKind::ChainedRecordRequest,
            RequestBody::RecordReject { .. } => RequestKind::RecordReject,
            RequestBody::RequestRecordCancel(_) => RequestKind::RequestRecordCancel,
            RequestBody::DoNotCall(_) => RequestKind::DoNotCall,
            RequestBody::RecordReschedule(_) => RequestKind::RecordReschedule,
            RequestBody::ScheduledRecordReschedule(_) => RequestKind::ScheduledRecordReschedule,
            RequestBody::AddRecord(_) => RequestKind::AddRecord,
            RequestBody::LogOut => RequestKind::LogOut,
        }
    }
}

/// A decoded desktop request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GSW_APPLICATION_ID`: the server the request is for (absent only in a
    /// CampaignStatusRequest meant for every server).
    pub application_id: Option<i64>,
    /// `GSW_REFERENCE_ID`, echoed on every reply.
    pub reference_id: Option<i64>,
    /// The campaign group named.
    pub target: Target,
    /// The rest.
    pub body: RequestBody,
}

/// A request that could not be decoded, with what could be salvaged for the error event.
/// (Returned boxed: decoding is the hot path and the error the rare one.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong.
    pub error: ProtocolError,
    /// `GSW_AGENT_REQ_TYPE` as sent, when it was a string.
    pub req_type: Option<CompactString>,
    /// `GSW_APPLICATION_ID` as sent, when it was an integer.
    pub application_id: Option<i64>,
    /// `GSW_REFERENCE_ID` as sent, whatever its type: a reply echoes it unchanged.
    pub reference_id: Option<Value>,
    /// `GSW_CAMPAIGN_NAME` as sent, when it was a string.
    pub campaign_name: Option<CompactString>,
}

impl DecodeError {
    fn salvage(fields: &Fields<'_>, error: ProtocolError) -> DecodeError {
        DecodeError {
            error,
            req_type: fields.str(K::AgentReqType).map(CompactString::from),
            application_id: fields.int(K::ApplicationId),
            reference_id: fields
                .get(K::ReferenceId)
                .filter(|v| v.kind() != ValueKind::List)
                .map(Field::to_value),
            campaign_name: fields.str(K::CampaignName).map(CompactString::from),
        }
    }

    /// The error event answering the request, from the server `application_id`.
    pub fn to_event(&self, application_id: i64) -> Event {
        Event {
            application_id,
            reference_id: self.reference_id.clone(),
            body: EventBody::Error(ErrorEvent {
                code: self.error.code(),
                message: None,
                req_type: self.req_type.clone(),
                campaign_name: self.campaign_name.clone(),
                description: Some(self.error.description().into()),
            }),
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.req_type {
            Some(req_type) => write!(f, "{req_type}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for DecodeError {}

impl Request {
    /// Which request this is.
    pub fn kind(&self) -> RequestKind {
        self.body.kind()
    }

    /// Decodes and validates a request.
    ///
    /// ```
    /// use pacer_engine::kv::KvList;
    /// use pacer_engine::protocol::{Request, RequestBody, ErrorCode};
    /// let kv = KvList::from_json_str(r#"{"GSW_AGENT_REQ_TYPE": "ReadyTime",
    ///     "GSW_APPLICATION_ID": 101, "GSW_RECORD_HANDLE": 7, "GSW_READY_TIME": 12}"#).unwrap();
    /// let request = Request::decode(&kv).unwrap();
    /// assert_eq!(request.body, RequestBody::ReadyTime { record_handle: 7, ready_time_s: 12 });
    ///
    /// let kv = KvList::from_json_str(r#"{"GSW_AGENT_REQ_TYPE": "ReadyTime",
    ///     "GSW_APPLICATION_ID": 101, "GSW_READY_TIME": 12}"#).unwrap();
    /// let err = Request::decode(&kv).unwrap_err();
    /// assert_eq!(err.error.code(), ErrorCode::AttributeNotFound);
    /// assert_eq!(err.error.key().unwrap().as_str(), "GSW_RECORD_HANDLE");
    /// ```
    pub fn decode(kv: &KvList) -> Result<Request, Box<DecodeError>> {
        let mut fields = Fields::from_kv(kv);
        decode_fields(&mut fields).map_err(|error| Box::new(DecodeError::salvage(&fields, error)))
    }

    /// Parses a JSON object and decodes it. JSON that is not a valid key-value list (bad
    /// syntax, a duplicate key, a float, boolean, null or array) is refused with 103 naming the
    /// key, or 101 when there is no object to read at all.
    ///
    /// The line is read straight into the decoder's view of it: strings of known keys stay
    /// borrowed from `text` and custom fields go directly into the request's list, so known
    /// keys cost no heap allocation. Results and errors are those of
    /// `Request::decode(&KvList::from_json_str(text)?)`.
    pub fn decode_json(text: &str) -> Result<Request, Box<DecodeError>> {
        let mut fields = Fields::new(text);
        if let Err(kv_error) = fields.read_json() {
            return Err(Box::new(decode_error_from_kv(text, &kv_error)));
        }
        decode_fields(&mut fields).map_err(|error| Box::new(DecodeError::salvage(&fields, error)))
    }

    /// Encodes the request as a key-value list, keys in the spec's table order.
    pub fn encode(&self) -> KvList {
        let mut kv = KvList::with_capacity(16);
        self.encode_into(&mut kv);
        kv
    }

    /// Appends the request to `out` as a compact JSON line (no newline), with the bytes
    /// `self.encode().write_json(out)` would write but no list built in between.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut writer = JsonWriter::open(out);
        self.encode_into(&mut writer);
        writer.close();
    }

    /// Describes the request to `w`, keys in the spec's table order.
    fn encode_into<W: PairWriter>(&self, w: &mut W) {
        w.str(K::AgentReqType, self.kind().name());
        if let Some(app) = self.application_id {
            w.int(K::ApplicationId, app);
        }
        // The target is written only where the request's table has it (see decoding).
        let schema = self.kind().schema();
        if let Some(group) =
            self.target.group_name.as_ref().filter(|_| schema.spec(K::CampaignGroupName).is_some())
        {
            w.str(K::CampaignGroupName, group);
        }
        if let Some(campaign) =
            self.target.campaign_name.as_ref().filter(|_| schema.spec(K::CampaignName).is_some())
        {
            w.str(K::CampaignName, campaign);
        }
        if let Some(reference) = self.reference_id {
            w.int(K::ReferenceId, reference);
        }
        match &self.body {
            RequestBody::CampaignStatusRequest
            | RequestBody::PreviewDialingModeStart
            | RequestBody::PreviewDialingModeOver
            | RequestBody::PreviewRecordRequest
            | RequestBody::LogOut => {}
            RequestBody::ReadyTime { record_handle, ready_time_s } => {
                w.int(K::ReadyTime, *ready_time_s);
                w.int(K::RecordHandle, *record_handle);
            }
            RequestBody::UpdateCallCompletionStats(update) => {
                w.int(K::RecordHandle, update.record_handle);
                encode_changes(w, &update.changes);
                encode_custom(w, &update.custom);
            }
            RequestBody::RecordProcessed(processed) => {
                w.int(K::RecordHandle, processed.record_handle);
                w.str(K::CallingList, &processed.calling_list);
                encode_changes(w, &processed.changes);
                if let Some(treatment) = processed.treatment {
                    w.str(K::Treatment, treatment.as_str());
                }
                encode_custom(w, &processed.custom);
            }
            RequestBody::ChainedRecordRequest { record_handle } => {
                w.int(K::RecordHandle, *record_handle);
            }
            RequestBody::RecordReject { record_handle, calling_list } => {
                w.int(K::RecordHandle, *record_handle);
                w.str(K::CallingList, calling_list);
            }
            RequestBody::RequestRecordCancel(cancel) => {
                encode_selector(w, &cancel.selector);
                if let Some(attr) = cancel.chain_attr {
                    w.str(K::ChainAttr, attr.as_str());
                }
            }
            RequestBody::DoNotCall(dnc) => {
                encode_selector(w, &dnc.selector);
                if let Some(attr) = dnc.chain_attr {
                    w.str(K::ChainAttr, attr.as_str());
                }
                if let Some(message) = &dnc.message {
                    w.str(K::Message, message);
                }
                if let Some(duration) = dnc.duration_s {
                    w.int(K::Duration, duration);
                }
            }
            RequestBody::RecordReschedule(r) | RequestBody::ScheduledRecordReschedule(r) => {
                w.int(K::RecordHandle, r.record_handle);
                w.str(K::CallbackType, r.callback_type.as_str());
                w.str(K::DateTime, &format_compact!("{}", r.date_time));
                if let Some(phone) = &r.phone {
                    w.str(K::Phone, phone);
                }
            }
            RequestBody::AddRecord(add) => {
                if let Some(agent) = &add.agent_id {
                    w.str(K::AgentId, agent);
                }
                w.int(K::Attempts, add.attempts);
                w.int(K::CallResult, add.call_result.code());
                w.int_as_str(K::CallTime, add.call_time);
                w.str(K::CallingList, &add.calling_list);
                if let Some(chain_id) = add.chain_id {
                    w.int(K::ChainId, chain_id);
                }
                if let Some(date_time) = add.date_time {
                    w.str(K::DateTime, &format_compact!("{}", date_time));
                }
                w.int(K::From, add.daily_from_s);
                w.str(K::Phone, &add.phone);
                w.int(K::PhoneType, add.phone_type.code());
                if let Some(handle) = add.record_handle {
                    w.int(K::RecordHandle, handle);
                }
                w.int(K::RecordStatus, add.record_status.code());
                w.int(K::RecordType, add.record_type.code());
                w.str(K::TzName, &add.tz_name);
                if let Some(chain_n) = add.chain_n {
                    w.int(K::ChainN, chain_n);
                }
                w.int(K::Until, add.daily_until_s);
                encode_custom(w, &add.custom);
            }
        }
    }

    /// The request as a compact JSON object.
    pub fn encode_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        crate::kv::bytes_to_string(out)
    }
}

/// The error for JSON that is not a valid key-value list. The request type and reference id
/// are still salvaged when the text parses as JSON at all, so the error event can carry them.
fn decode_error_from_kv(text: &str, kv_error: &crate::kv::KvError) -> DecodeError {
    use crate::kv::KvErrorKind;
    let error = match (kv_error.kind(), kv_error.key()) {
        (KvErrorKind::Syntax(_) | KvErrorKind::NotAnObject, _) | (_, None) => {
            ProtocolError::new(ErrorCode::InvalidRequest).with_detail(kv_error.to_string())
        }
        (_, Some(key)) => ProtocolError::invalid(Key::new(key), kv_error.reason()),
    };
    let mut salvaged =
        DecodeError { error, req_type: None, application_id: None, reference_id: None, campaign_name: None };
    // Slow path, errors only: a loose parse that tolerates what the strict one refused.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        let string = |k: KnownKey| map.get(k.as_str()).and_then(|v| v.as_str()).map(CompactString::from);
        salvaged.req_type = string(K::AgentReqType);
        salvaged.campaign_name = string(K::CampaignName);
        salvaged.application_id = map.get(K::ApplicationId.as_str()).and_then(|v| v.as_i64());
        salvaged.reference_id = match map.get(K::ReferenceId.as_str()) {
            Some(serde_json::Value::String(s)) => Some(Value::from(s.as_str())),
            Some(v) => v.as_i64().map(Value::Int),
            None => None,
        };
    }
    salvaged
}

fn decode_fields(f: &mut Fields<'_>) -> Result<Request, ProtocolError> {
    let req_type = match f.get(K::AgentReqType) {
        None => return Err(ProtocolError::missing(K::AgentReqType)),
        Some(field) if field.kind() == ValueKind::Str => field.as_str().unwrap_or_default(),
        Some(other) => {
            return Err(ProtocolError::invalid(
                K::AgentReqType,
                format!("expected a string, got {}", other.kind()),
            ));
        }
    };
    let kind = RequestKind::from_name(req_type).ok_or_else(|| {
        ProtocolError::new(ErrorCode::InvalidRequest)
            .with_key(K::AgentReqType)
            .with_detail(format!("unknown request type {req_type:?}"))
    })?;
    let schema = kind.schema();
    f.check(schema)?;
    // Names are read only where the request's table has them (CampaignStatusRequest and
    // ReadyTime name no campaign), like every other key outside a table.
    let target = Target {
        group_name: name_in_table(f, schema, K::CampaignGroupName),
        campaign_name: name_in_table(f, schema, K::CampaignName),
    };
    let body = match kind {
        RequestKind::CampaignStatusRequest => RequestBody::CampaignStatusRequest,
        RequestKind::PreviewDialingModeStart => RequestBody::PreviewDialingModeStart,
        RequestKind::PreviewDialingModeOver => RequestBody::PreviewDialingModeOver,
        RequestKind::PreviewRecordRequest => RequestBody::PreviewRecordRequest,
        RequestKind::LogOut => RequestBody::LogOut,
        RequestKind::ReadyTime => {
            let ready_time_s = f.req_int(K::ReadyTime)?;
            if ready_time_s <= 0 {
                return Err(ProtocolError::invalid(K::ReadyTime, "must be greater than 0"));
            }
            RequestBody::ReadyTime { record_handle: handle(f, K::RecordHandle)?, ready_time_s }
        }
        RequestKind::UpdateCallCompletionStats => RequestBody::UpdateCallCompletionStats(RecordUpdate {
            record_handle: handle(f, K::RecordHandle)?,
            changes: changes(f)?,
            custom: {
                check_custom_fields(f)?;
                f.take_custom()
            },
        }),
        RequestKind::RecordProcessed => RequestBody::RecordProcessed(RecordProcessed {
            record_handle: handle(f, K::RecordHandle)?,
            calling_list: f.req_str(K::CallingList)?.into(),
            changes: changes(f)?,
            treatment: string_enum(
                f,
                K::Treatment,
                Treatment::from_wire,
                "RecordTreatPersonal or RecordTreatCampaign",
            )?,
            custom: {
                check_custom_fields(f)?;
                f.take_custom()
            },
        }),
        RequestKind::ChainedRecordRequest => {
            RequestBody::ChainedRecordRequest { record_handle: handle(f, K::RecordHandle)? }
        }
        RequestKind::RecordReject => RequestBody::RecordReject {
            record_handle: handle(f, K::RecordHandle)?,
            calling_list: f.req_str(K::CallingList)?.into(),
        },
        RequestKind::RequestRecordCancel => RequestBody::RequestRecordCancel(RecordCancel {
            selector: selector(f)?,
            chain_attr: string_enum(f, K::ChainAttr, ChainAttr::from_wire, "AllChain or RecordOnly")?,
        }),
        RequestKind::DoNotCall => RequestBody::DoNotCall(DoNotCall {
            selector: selector(f)?,
            chain_attr: string_enum(f, K::ChainAttr, ChainAttr::from_wire, "AllChain or RecordOnly")?,
            message: f.str(K::Message).map(CompactString::from),
            duration_s: match f.int(K::Duration) {
                Some(d) if d <= 0 => {
                    return Err(ProtocolError::invalid(K::Duration, "must be greater than 0"));
                }
                d => d,
            },
        }),
        RequestKind::RecordReschedule => RequestBody::RecordReschedule(reschedule(f, false)?),
        RequestKind::ScheduledRecordReschedule => {
            RequestBody::ScheduledRecordReschedule(reschedule(f, true)?)
        }
        RequestKind::AddRecord => RequestBody::AddRecord(add_record(f)?),
    };
    Ok(Request { application_id: f.int(K::ApplicationId), reference_id: f.int(K::ReferenceId), target, body })
}

/// A campaign or group name, where the request's table has the key.
#[inline(always)]
fn name_in_table(f: &Fields<'_>, schema: &MessageSchema, key: KnownKey) -> Option<CompactString> {
    match schema.spec(key) {
        Some(_) => f.str(key).map(CompactString::from),
        None => None,
    }
}

/// A record handle: 1 and up.
// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn handle(f: &Fields<'_>, key: KnownKey) -> Result<i64, ProtocolError> {
    let value = f.req_int(key)?;
    if value < 1 {
        return Err(ProtocolError::invalid(key, format!("record handles start at 1, got {value}")));
    }
    Ok(value)
}

// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn string_enum<T>(
    f: &Fields<'_>,
    key: KnownKey,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, ProtocolError> {
    match f.str(key) {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| ProtocolError::invalid(key, format!("{text:?} is not one of {expected}"))),
    }
}

// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn int_enum<T>(
    f: &Fields<'_>,
    key: KnownKey,
    parse: impl Fn(i64) -> Option<T>,
    what: &str,
) -> Result<Option<T>, ProtocolError> {
    match f.int(key) {
        None => Ok(None),
        Some(code) => parse(code)
            .map(Some)
            .ok_or_else(|| ProtocolError::invalid(key, format!("{code} is not a {what}"))),
    }
}

/// A phone number: not blank, no control characters, at most
/// [`crate::records::MAX_CONTACT_INFO_BYTES`] (what a record can hold).
// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn phone(f: &Fields<'_>, key: KnownKey) -> Result<Option<CompactString>, ProtocolError> {
    match f.str(key) {
        Some(p) if p.trim().is_empty() => Err(ProtocolError::invalid(key, "phone number is empty")),
        Some(p)
            if p.len() > crate::records::MAX_CONTACT_INFO_BYTES
                || p.bytes().any(|b| b < 0x20 || b == 0x7f) =>
        {
            Err(ProtocolError::invalid(
                key,
                format!(
                    "phone number longer than {} bytes or holding a control character",
                    crate::records::MAX_CONTACT_INFO_BYTES
                ),
            ))
        }
        p => Ok(p.map(CompactString::from)),
    }
}

/// A daily-window bound, seconds from midnight.
// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn seconds_of_day(f: &Fields<'_>, key: KnownKey) -> Result<Option<i64>, ProtocolError> {
    match f.int(key) {
        Some(s) if !(0..=SECONDS_PER_DAY).contains(&s) => Err(ProtocolError::invalid(
            key,
            format!("{s} is not between 0 and {SECONDS_PER_DAY} seconds from midnight"),
        )),
        s => Ok(s),
    }
}

// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn check_window(from: Option<i64>, until: Option<i64>) -> Result<(), ProtocolError> {
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err(ProtocolError::invalid(
            K::Until,
            format!("the window ends ({until}) before it starts ({from})"),
        ));
    }
    Ok(())
}

// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn changes(f: &Fields<'_>) -> Result<FieldChanges, ProtocolError> {
    let daily_from_s = seconds_of_day(f, K::From)?;
    let daily_until_s = seconds_of_day(f, K::Until)?;
    check_window(daily_from_s, daily_until_s)?;
    Ok(FieldChanges {
        call_result: int_enum(f, K::CallResult, CallResult::from_code, "call result")?,
        daily_from_s,
        daily_until_s,
        phone: phone(f, K::Phone)?,
        phone_type: int_enum(f, K::PhoneType, PhoneType::from_code, "phone type")?,
    })
}

/// Checks the custom fields of a message (every key that is not a reserved one), which the
/// caller then takes whole: a key that uses the reserved prefix without being a key the
/// protocol reserves is refused, and so is a nested list; reserved keys outside the message's
/// table (record data a desktop echoes back) are ignored. (Checking apart from taking keeps
/// the list out of a `Result`, which was copied through the stack.)
// Inlined: a `Result` carrying a `ProtocolError` returned through memory was copied back
// field by field and stalled on store forwarding; inlined, it stays in registers.
#[inline(always)]
fn check_custom_fields(f: &Fields<'_>) -> Result<(), ProtocolError> {
    for (key, value) in f.custom() {
        if key.has_reserved_prefix() {
            return Err(ProtocolError::invalid(
                key.clone(),
                "custom keys must not use the reserved GSW_ prefix",
            ));
        }
        if value.as_list().is_some() {
            return Err(ProtocolError::invalid(key.clone(), "a custom field holds a string or an integer"));
        }
    }
    Ok(())
}

/// The record-selection rule of RequestRecordCancel and DoNotCall: with a handle, the campaign
/// and calling list are mandatory; without, a phone (or customer id) is.
fn selector(f: &Fields<'_>) -> Result<RecordSelector, ProtocolError> {
    if f.get(K::RecordHandle).is_some() {
        let record_handle = handle(f, K::RecordHandle)?;
        f.req_str(K::CampaignName)?;
        let calling_list = f.req_str(K::CallingList)?;
        return Ok(RecordSelector::Handle { record_handle, calling_list: calling_list.into() });
    }
    if let Some(p) = phone(f, K::Phone)? {
        return Ok(RecordSelector::Phone(p));
    }
    match f.text(K::CustomerId) {
        Some(id) if id.trim().is_empty() => {
            Err(ProtocolError::invalid(K::CustomerId, "customer id is empty"))
        }
        Some(id) => Ok(RecordSelector::CustomerId(id)),
        None => Err(ProtocolError::missing(K::Phone)
            .with_detail("without GSW_RECORD_HANDLE, GSW_PHONE or GSW_CUSTOMER_ID is required")),
    }
}

fn date_time(f: &Fields<'_>) -> Result<Option<LocalDateTime>, ProtocolError> {
    match f.str(K::DateTime) {
        None => Ok(None),
        Some(text) => LocalDateTime::parse(text).map(Some).ok_or_else(|| {
            ProtocolError::new(ErrorCode::InvalidTimeFormat)
                .with_key(K::DateTime)
                .with_detail(format!("{text:?} is not MM/DD/YY HH:MM or MM/DD/YYYY HH:MM"))
        }),
    }
}

fn reschedule(f: &Fields<'_>, scheduled: bool) -> Result<Reschedule, ProtocolError> {
    let callback_type = string_enum(f, K::CallbackType, CallbackType::from_wire, "Personal or Campaign")?
        .ok_or_else(|| ProtocolError::missing(K::CallbackType))?;
    Ok(Reschedule {
        record_handle: handle(f, K::RecordHandle)?,
        callback_type,
        date_time: date_time(f)?.ok_or_else(|| ProtocolError::missing(K::DateTime))?,
        phone: if scheduled { phone(f, K::Phone)? } else { None },
    })
}

fn non_negative(f: &Fields<'_>, key: KnownKey) -> Result<Option<i64>, ProtocolError> {
    match f.int(key) {
        Some(v) if v < 0 => Err(ProtocolError::invalid(key, format!("{v} is negative"))),
        v => Ok(v),
    }
}

fn add_record(f: &mut Fields<'_>) -> Result<AddRecord, ProtocolError> {
    let daily_from_s = seconds_of_day(f, K::From)?.unwrap_or(DEFAULT_DAILY_FROM_S);
    let daily_until_s = seconds_of_day(f, K::Until)?.unwrap_or(DEFAULT_DAILY_UNTIL_S);
    check_window(Some(daily_from_s), Some(daily_until_s))?;
    let tz_name = f.req_str(K::TzName)?;
    if tz_name.trim().is_empty() {
        return Err(ProtocolError::invalid(K::TzName, "time zone name is empty"));
    }
    // GSW_DATE_TIME defaults to "0" (no schedule); an empty string means the same.
    let date_time = match f.str(K::DateTime) {
        Some("0" | "") => None,
        _ => date_time(f)?,
    };
    let call_time = match f.numeric(K::CallTime)? {
        Some(t) if t < 0 => return Err(ProtocolError::invalid(K::CallTime, format!("{t} is negative"))),
        t => t.unwrap_or(0),
    };
    let record_handle = match f.get(K::RecordHandle) {
        Some(_) => Some(handle(f, K::RecordHandle)?),
        None => None,
    };
    let add = AddRecord {
        agent_id: f.str(K::AgentId).map(CompactString::from),
        attempts: non_negative(f, K::Attempts)?.unwrap_or(0),
        call_result: int_enum(f, K::CallResult, CallResult::from_code, "call result")?
            .unwrap_or(CallResult::UnknownCallResult),
        call_time,
        calling_list: f.req_str(K::CallingList)?.into(),
        chain_id: non_negative(f, K::ChainId)?,
        chain_n: non_negative(f, K::ChainN)?,
        date_time,
        daily_from_s,
        daily_until_s,
        phone: phone(f, K::Phone)?.ok_or_else(|| ProtocolError::missing(K::Phone))?,
        phone_type: int_enum(f, K::PhoneType, PhoneType::from_code, "phone type")?
            .unwrap_or(PhoneType::DirectBusinessPhone),
        record_handle,
        record_status: int_enum(f, K::RecordStatus, RecordStatus::from_code, "record status")?
            .unwrap_or(RecordStatus::Ready),
        record_type: int_enum(f, K::RecordType, RecordType::from_code, "record type")?
            .unwrap_or(RecordType::General),
        tz_name: tz_name.into(),
        custom: {
            check_custom_fields(f)?;
            f.take_custom()
        },
    };
    // A new record's number must be one its type can reach, as a calling list's must.
    crate::records::check_contact_info(&add.phone, add.phone_type)
        .map_err(|reason| ProtocolError::invalid(K::Phone, reason))?;
    Ok(add)
}

fn encode_changes<W: PairWriter>(w: &mut W, changes: &FieldChanges) {
    if let Some(result) = changes.call_result {
        w.int(K::CallResult, result.code());
    }
    if let Some(from) = changes.daily_from_s {
        w.int(K::From, from);
    }
    if let Some(until) = changes.daily_until_s {
        w.int(K::Until, until);
    }
    if let Some(phone) = &changes.phone {
        w.str(K::Phone, phone);
    }
    if let Some(phone_type) = changes.phone_type {
        w.int(K::PhoneType, phone_type.code());
    }
}

fn encode_selector<W: PairWriter>(w: &mut W, selector: &RecordSelector) {
    match selector {
        RecordSelector::Handle { record_handle, calling_list } => {
            w.int(K::RecordHandle, *record_handle);
            w.str(K::CallingList, calling_list);
        }
        RecordSelector::Phone(phone) => w.str(K::Phone, phone),
        RecordSelector::CustomerId(id) => w.str(K::CustomerId, id),
    }
}

/// Appends custom fields (their keys are custom, so they cannot clash with the known keys
/// written before them).
pub(crate) fn encode_custom<W: PairWriter>(w: &mut W, custom: &KvList) {
    for (key, value) in custom {
        w.pair(key, value);
    }
}
