//! Server-to-desktop events (`GSW_USER_EVENT`): notifications, acknowledgements, record
//! deliveries and errors. Encoding writes exactly the keys of the event's table (optional ones
//! when known) plus, on record-bearing events, the default record information and custom
//! fields; decoding (used by desktops, the simulator's among them) checks the table.

use compact_str::{CompactString, format_compact};

use crate::kv::{JsonWriter, Key, KnownKey, KvList, PairWriter, Value, ValueKind};
use crate::protocol::enums::{
    CallResult, CallbackType, ChainAttr, ContactMediaType, DialMode, LocalDateTime, PhoneType,
};
use crate::protocol::error::{ErrorCode, ProtocolError};
use crate::protocol::request::encode_custom;
use crate::protocol::schema::{Field, Fields, KeySpec, MessageSchema, Ty, cond, opt, req};

use KnownKey as K;

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $schema:ident;)*) => {
        /// Which event a message is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
        }

        impl EventKind {
            /// Every event kind.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The value of `GSW_USER_EVENT`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $wire,)*
                }
            }

            /// The event whose `GSW_USER_EVENT` is `name`, if any.
            pub fn from_name(name: &str) -> Option<EventKind> {
                match name {
                    $($wire => Some(EventKind::$variant),)*
                    // The event's own name, accepted from peers that send it.
                    "LogOutTime" => Some(EventKind::LogOutTime),
                    _ => None,
                }
            }

            /// The event's attached-data table.
            pub fn schema(self) -> &'static MessageSchema {
                match self {
                    $(EventKind::$variant => &$schema,)*
                }
            }
        }
    };
}

event_kinds! {
    /// Dialing started for a campaign group (also sent at login).
    CampaignStarted => "CampaignStarted", CAMPAIGN_STARTED;
    /// A campaign group was loaded.
    CampaignLoaded => "CampaignLoaded", CAMPAIGN_LOADED;
    /// A campaign group was unloaded.
    CampaignUnloaded => "CampaignUnloaded", CAMPAIGN_UNLOADED;
    /// Dialing stopped for a campaign group.
    CampaignStopped => "CampaignStopped", CAMPAIGN_STOPPED;
    /// A running group's dial mode changed.
    CampaignModeChanged => "CampaignModeChanged", CAMPAIGN_MODE_CHANGED;
    /// The agent was assigned to a campaign group.
    CampaignGroupAssigned => "CampaignGroupAssigned", CAMPAIGN_GROUP_ASSIGNED;
    /// Preview session started.
    PreviewDialingModeStartAcknowledge => "PreviewDialingModeStartAcknowledge", PREVIEW_START_ACK;
    /// Preview session ended.
    PreviewDialingModeOverAcknowledge => "PreviewDialingModeOverAcknowledge", PREVIEW_OVER_ACK;
    /// ReadyTime accepted.
    ReadyTimeAcknowledge => "ReadyTimeAcknowledge", READY_TIME_ACK;
    /// UpdateCallCompletionStats accepted.
    UpdateCallCompletionStatsAcknowledge => "UpdateCallCompletionStatsAcknowledge", RECORD_ACK_UPDATE;
    /// RecordProcessed accepted.
    RecordProcessedAcknowledge => "RecordProcessedAcknowledge", RECORD_ACK_PROCESSED;
    /// RecordReject accepted.
    RecordRejectAcknowledge => "RecordRejectAcknowledge", RECORD_ACK_REJECT;
    /// RequestRecordCancel accepted.
    RecordCancelAcknowledge => "RecordCancelAcknowledge", RECORD_CANCEL_ACK;
    /// DoNotCall accepted.
    DoNotCallAcknowledge => "DoNotCallAcknowledge", DO_NOT_CALL_ACK;
    /// RecordReschedule accepted.
    RecordRescheduleAcknowledge => "RecordRescheduleAcknowledge", RESCHEDULE_ACK;
    /// ScheduledRecordReschedule accepted.
    ScheduledRecordRescheduleAcknowledge => "ScheduledRecordRescheduleAcknowledge", SCHEDULED_RESCHEDULE_ACK;
    /// AddRecord accepted.
    AddRecordAcknowledge => "AddRecordAcknowledge", ADD_RECORD_ACK;
    /// A record to preview.
    PreviewRecord => "PreviewRecord", PREVIEW_RECORD;
    /// One record of a requested chain.
    ChainedRecord => "ChainedRecord", CHAINED_RECORD;
    /// The whole chain has been sent.
    ChainedRecordsDataEnd => "ChainedRecordsDataEnd", CHAINED_RECORDS_DATA_END;
    /// Drop this record: it was cancelled or marked do-not-call elsewhere.
    RecordCancel => "RecordCancel", RECORD_CANCEL;
    /// A callback is due.
    ScheduledCall => "ScheduledCall", SCHEDULED_CALL;
    /// Seconds before the agent may log out. The spec's table gives its `GSW_USER_EVENT` as
    /// `LogOut` (the request's name), and that is what is sent; `LogOutTime` is accepted too.
    LogOutTime => "LogOut", LOG_OUT_TIME;
    /// The agent may log out now.
    LogOutAcknowledge => "LogOutAcknowledge", LOG_OUT_ACK;
    /// A request was refused.
    Error => "Error", ERROR;
}

const USER_EVENT: KeySpec = req(K::UserEvent, Ty::Str);
const APP_ID: KeySpec = req(K::ApplicationId, Ty::Int);
const CAMPAIGN: KeySpec = req(K::CampaignName, Ty::Str);
const CALLING_LIST: KeySpec = req(K::CallingList, Ty::Str);
const HANDLE: KeySpec = req(K::RecordHandle, Ty::Int);

const CAMPAIGN_INFO: &[KeySpec] = &[
    USER_EVENT,
    APP_ID,
    req(K::CampaignDescription, Ty::Str),
    CAMPAIGN,
    req(K::CampaignGroupDescription, Ty::Str),
    req(K::CampaignGroupName, Ty::Str),
];

static CAMPAIGN_STARTED: MessageSchema = MessageSchema {
    name: "CampaignStarted",
    keys: &[
        USER_EVENT,
        APP_ID,
        req(K::CampaignDescription, Ty::Str),
        req(K::CampaignMode, Ty::Str),
        CAMPAIGN,
        req(K::CampaignGroupName, Ty::Str),
    ],
    custom_fields: false,
};
static CAMPAIGN_LOADED: MessageSchema =
    MessageSchema { name: "CampaignLoaded", keys: CAMPAIGN_INFO, custom_fields: false };
static CAMPAIGN_UNLOADED: MessageSchema =
    MessageSchema { name: "CampaignUnloaded", keys: CAMPAIGN_INFO, custom_fields: false };
static CAMPAIGN_STOPPED: MessageSchema =
    MessageSchema { name: "CampaignStopped", keys: CAMPAIGN_INFO, custom_fields: false };
static CAMPAIGN_GROUP_ASSIGNED: MessageSchema =
    MessageSchema { name: "CampaignGroupAssigned", keys: CAMPAIGN_INFO, custom_fields: false };
static CAMPAIGN_MODE_CHANGED: MessageSchema = MessageSchema {
    name: "CampaignModeChanged",
    keys: &[
        USER_EVENT,
        APP_ID,
        req(K::CampaignMode, Ty::Str),
        CAMPAIGN,
        req(K::CampaignDescription, Ty::Str),
        req(K::CampaignGroupDescription, Ty::Str),
        req(K::CampaignGroupName, Ty::Str),
    ],
    custom_fields: false,
};
static PREVIEW_START_ACK: MessageSchema = MessageSchema {
    name: "PreviewDialingModeStartAcknowledge",
    keys: &[USER_EVENT, APP_ID, CAMPAIGN],
    custom_fields: false,
};
static PREVIEW_OVER_ACK: MessageSchema = MessageSchema {
    name: "PreviewDialingModeOverAcknowledge",
    keys: &[USER_EVENT, APP_ID, CAMPAIGN],
    custom_fields: false,
};
static READY_TIME_ACK: MessageSchema =
    MessageSchema { name: "ReadyTimeAcknowledge", keys: &[USER_EVENT, APP_ID, HANDLE], custom_fields: false };
const RECORD_ACK: &[KeySpec] = &[USER_EVENT, APP_ID, CALLING_LIST, CAMPAIGN, HANDLE];
static RECORD_ACK_UPDATE: MessageSchema =
    MessageSchema { name: "UpdateCallCompletionStatsAcknowledge", keys: RECORD_ACK, custom_fields: false };
static RECORD_ACK_PROCESSED: MessageSchema =
    MessageSchema { name: "RecordProcessedAcknowledge", keys: RECORD_ACK, custom_fields: false };
static RECORD_ACK_REJECT: MessageSchema =
    MessageSchema { name: "RecordRejectAcknowledge", keys: RECORD_ACK, custom_fields: false };
static RECORD_CANCEL_ACK: MessageSchema = MessageSchema {
    name: "RecordCancelAcknowledge",
    keys: &[
        USER_EVENT,
        APP_ID,
        cond(K::CallingList, Ty::Str),
        cond(K::CampaignName, Ty::Str),
        opt(K::ChainAttr, Ty::Str),
        opt(K::Message, Ty::Str),
        opt(K::Phone, Ty::Str),
        opt(K::RecordHandle, Ty::Int),
    ],
    custom_fields: false,
};
static DO_NOT_CALL_ACK: MessageSchema = MessageSchema {
    name: "DoNotCallAcknowledge",
    keys: &[
        USER_EVENT,
        APP_ID,
        cond(K::CallingList, Ty::Str),
        cond(K::CampaignName, Ty::Str),
        opt(K::ChainAttr, Ty::Str),
        cond(K::Phone, Ty::Str),
        cond(K::CustomerId, Ty::StrOrInt),
        cond(K::RecordHandle, Ty::Int),
        opt(K::Duration, Ty::Int),
    ],
    custom_fields: false,
};
static RESCHEDULE_ACK: MessageSchema = MessageSchema {
    name: "RecordRescheduleAcknowledge",
    keys: &[
        USER_EVENT,
        APP_ID,
        req(K::CallbackType, Ty::Str),
        CALLING_LIST,
        CAMPAIGN,
        req(K::DateTime, Ty::Str),
        HANDLE,
    ],
    custom_fields: false,
};
static SCHEDULED_RESCHEDULE_ACK: MessageSchema = MessageSchema {
    name: "ScheduledRecordRescheduleAcknowledge",
    keys: &[
        USER_EVENT,
        APP_ID,
        req(K::CallbackType, Ty::Str),
        CALLING_LIST,
        CAMPAIGN,
        req(K::DateTime, Ty::Str),
        opt(K::Phone, Ty::Str),
        HANDLE,
    ],
    custom_fields: false,
};
// GSW_PHONE is not in the table, but the spec's event summary says the phone relates the
// acknowledgement to its request, so it is sent.
static ADD_RECORD_ACK: MessageSchema = MessageSchema {
    name: "AddRecordAcknowledge",
    keys: &[USER_EVENT, APP_ID, CALLING_LIST, CAMPAIGN, opt(K::Phone, Ty::Str)],
    custom_fields: false,
};
static PREVIEW_RECORD: MessageSchema = MessageSchema {
    name: "PreviewRecord",
    keys: &[
        USER_EVENT,
        APP_ID,
        opt(K::Attempts, Ty::Int),
        req(K::CallResult, Ty::Int),
        opt(K::CallTime, Ty::StrOrInt),
        CALLING_LIST,
        CAMPAIGN,
        req(K::ChainId, Ty::Int),
        req(K::CpnDigits, Ty::Str),
        req(K::From, Ty::Int),
        req(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        HANDLE,
        req(K::TzOffset, Ty::Int),
        opt(K::Until, Ty::Int),
        req(K::ContactMediaType, Ty::Str),
        req(K::CampaignGroupName, Ty::Str),
        req(K::CampaignGroupDescription, Ty::Str),
    ],
    custom_fields: true,
};
static CHAINED_RECORD: MessageSchema = MessageSchema {
    name: "ChainedRecord",
    keys: &[
        USER_EVENT,
        APP_ID,
        opt(K::Attempts, Ty::Int),
        opt(K::CallTime, Ty::StrOrInt),
        CALLING_LIST,
        req(K::CallResult, Ty::Int),
        opt(K::CampaignName, Ty::Str),
        req(K::ChainId, Ty::Int),
        opt(K::From, Ty::Int),
        req(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        HANDLE,
        opt(K::TzOffset, Ty::Int),
        opt(K::Until, Ty::Int),
        req(K::ContactMediaType, Ty::Str),
        req(K::CampaignGroupName, Ty::Str),
        req(K::CampaignGroupDescription, Ty::Str),
    ],
    custom_fields: true,
};
static CHAINED_RECORDS_DATA_END: MessageSchema = MessageSchema {
    name: "ChainedRecordsDataEnd",
    keys: &[USER_EVENT, APP_ID, CALLING_LIST, CAMPAIGN, req(K::ChainId, Ty::Int), HANDLE],
    custom_fields: false,
};
// The table lists GSW_CUSTOMER_ID as a mandatory Int; customer ids are strings everywhere else
// (a user-defined field), so it is sent as a string, and always, as the table requires: empty
// when the record has none.
static RECORD_CANCEL: MessageSchema = MessageSchema {
    name: "RecordCancel",
    keys: &[
        USER_EVENT,
        APP_ID,
        CALLING_LIST,
        CAMPAIGN,
        HANDLE,
        opt(K::ChainAttr, Ty::Str),
        req(K::Phone, Ty::Str),
        req(K::CustomerId, Ty::StrOrInt),
    ],
    custom_fields: false,
};
static SCHEDULED_CALL: MessageSchema = MessageSchema {
    name: "ScheduledCall",
    keys: &[
        USER_EVENT,
        APP_ID,
        opt(K::Attempts, Ty::Int),
        req(K::CallResult, Ty::Int),
        req(K::CallTime, Ty::StrOrInt),
        req(K::CallbackType, Ty::Str),
        CALLING_LIST,
        CAMPAIGN,
        req(K::ChainId, Ty::Int),
        req(K::DateTime, Ty::Str),
        opt(K::From, Ty::Int),
        req(K::Phone, Ty::Str),
        opt(K::PhoneType, Ty::Int),
        HANDLE,
        opt(K::TzOffset, Ty::Int),
        opt(K::Until, Ty::Int),
    ],
    custom_fields: true,
};
static LOG_OUT_TIME: MessageSchema = MessageSchema {
    name: "LogOutTime",
    keys: &[USER_EVENT, APP_ID, CAMPAIGN, req(K::LogoutTime, Ty::Int)],
    custom_fields: false,
};
static LOG_OUT_ACK: MessageSchema =
    MessageSchema { name: "LogOutAcknowledge", keys: &[USER_EVENT, APP_ID, CAMPAIGN], custom_fields: false };
static ERROR: MessageSchema = MessageSchema {
    name: "Error",
    keys: &[
        USER_EVENT,
        req(K::Error, Ty::Str),
        req(K::ErrorNumber, Ty::Int),
        opt(K::AgentReqType, Ty::Str),
        APP_ID,
        opt(K::CampaignName, Ty::Str),
        opt(K::ErrorDescription, Ty::Str),
    ],
    custom_fields: false,
};

/// What the campaign notifications say about a campaign group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignInfo {
    /// Campaign name.
    pub campaign_name: CompactString,
    /// Campaign description (may be empty).
    pub campaign_description: CompactString,
    /// Campaign group name.
    pub group_name: CompactString,
    /// Campaign group description (may be empty). CampaignStarted's table does not carry
    /// it, so it is not sent there and decodes as empty.
    pub group_description: CompactString,
}

/// Acknowledgement of a request about one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordAck {
    /// Calling list of the record.
    pub calling_list: CompactString,
    /// Campaign name.
    pub campaign_name: CompactString,
    /// The record.
    pub record_handle: i64,
}

/// Acknowledgement of RequestRecordCancel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancelAck {
    /// Calling list (with a handle).
    pub calling_list: Option<CompactString>,
    /// Campaign name (with a handle).
    pub campaign_name: Option<CompactString>,
    /// The chain attribute applied.
    pub chain_attr: Option<ChainAttr>,
    /// Set when matched records are still on desktops (cancel by phone or customer id).
    pub message: Option<CompactString>,
    /// The phone cancelled.
    pub phone: Option<CompactString>,
    /// The record cancelled.
    pub record_handle: Option<i64>,
}

/// The message sent when a cancel by phone or customer id could not finish because matched
/// records are on desktops.
pub const INCOMPLETE_PROCESSING: &str = "Incomplete processing: record(s) on desktop";

/// Acknowledgement of DoNotCall.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DncAck {
    /// Calling list (with a handle).
    pub calling_list: Option<CompactString>,
    /// Campaign name (with a handle).
    pub campaign_name: Option<CompactString>,
    /// The chain attribute applied.
    pub chain_attr: Option<ChainAttr>,
    /// The phone added to the list.
    pub phone: Option<CompactString>,
    /// The customer id added to the list.
    pub customer_id: Option<CompactString>,
    /// The record marked.
    pub record_handle: Option<i64>,
    /// How long the entry lasts, seconds.
    pub duration_s: Option<i64>,
}

/// Acknowledgement of RecordReschedule or ScheduledRecordReschedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescheduleAck {
    /// Callback type.
    pub callback_type: CallbackType,
    /// Calling list.
    pub calling_list: CompactString,
    /// Campaign name.
    pub campaign_name: CompactString,
    /// The time asked for, in the record's zone.
    pub date_time: LocalDateTime,
    /// The record.
    pub record_handle: i64,
    /// New phone (ScheduledRecordReschedule).
    pub phone: Option<CompactString>,
}

/// A record as delivered to a desktop (PreviewRecord, ChainedRecord, ScheduledCall).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordData {
    /// The record handle.
    pub record_handle: i64,
    /// Calling list name.
    pub calling_list: CompactString,
    /// Campaign name.
    pub campaign_name: CompactString,
    /// Campaign group name.
    pub group_name: CompactString,
    /// Campaign group description.
    pub group_description: CompactString,
    /// Phone number.
    pub phone: CompactString,
    /// Phone type.
    pub phone_type: PhoneType,
    /// Call result of the last attempt.
    pub call_result: CallResult,
    /// Attempts so far.
    pub attempts: i64,
    /// Last call time, Unix seconds (0: never).
    pub call_time: i64,
    /// Chain id.
    pub chain_id: i64,
    /// Daily window start, seconds from midnight in the record's zone.
    pub daily_from_s: i64,
    /// Daily window end, seconds from midnight in the record's zone.
    pub daily_until_s: i64,
    /// Offset of the record's zone from UTC, seconds.
    pub tz_offset_s: i64,
    /// Media type.
    pub contact_media_type: ContactMediaType,
    /// Caller id digits (empty when none is configured).
    pub cpn_digits: CompactString,
    /// Other reserved keys attached (script id, agent id, switch DBID, timestamps, ...).
    pub extra: KvList,
    /// Custom fields, by their send_attribute keys.
    pub custom: KvList,
}

/// Keys [`RecordData`] reads into its typed fields (plus the envelope keys).
const RECORD_DATA_KEYS: &[KnownKey] = &[
    K::UserEvent,
    K::ApplicationId,
    K::ReferenceId,
    K::RecordHandle,
    K::CallingList,
    K::CampaignName,
    K::CampaignGroupName,
    K::CampaignGroupDescription,
    K::Phone,
    K::PhoneType,
    K::CallResult,
    K::Attempts,
    K::CallTime,
    K::ChainId,
    K::From,
    K::Until,
    K::TzOffset,
    K::ContactMediaType,
    K::CpnDigits,
    K::CallbackType,
    K::DateTime,
];

/// A ScheduledCall: the record and when the callback is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledCall {
    /// The record.
    pub record: RecordData,
    /// Personal or campaign callback.
    pub callback_type: CallbackType,
    /// When, in the record's zone.
    pub date_time: LocalDateTime,
}

/// A RecordCancel notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCancelNotice {
    /// Calling list.
    pub calling_list: CompactString,
    /// Campaign name.
    pub campaign_name: CompactString,
    /// The record to drop.
    pub record_handle: i64,
    /// Drop the chain or only the record.
    pub chain_attr: Option<ChainAttr>,
    /// Its phone.
    pub phone: CompactString,
    /// Its customer id, when the record has one (sent empty when it has none).
    pub customer_id: Option<CompactString>,
}

/// An error event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorEvent {
    /// The error number.
    pub code: ErrorCode,
    /// `GSW_ERROR` when it is not the code's name: one of [`INVALID_REQUEST_MESSAGES`] for a
    /// 101 in the situations the spec singles out.
    ///
    /// [`INVALID_REQUEST_MESSAGES`]: crate::protocol::INVALID_REQUEST_MESSAGES
    pub message: Option<CompactString>,
    /// `GSW_AGENT_REQ_TYPE` of the refused request, when it had one.
    pub req_type: Option<CompactString>,
    /// Campaign name, when known.
    pub campaign_name: Option<CompactString>,
    /// What was wrong, naming the key (`GSW_ERROR_DESCRIPTION`).
    pub description: Option<CompactString>,
}

/// The part of an event that differs between kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventBody {
    /// CampaignStarted.
    CampaignStarted(CampaignInfo, DialMode),
    /// CampaignLoaded.
    CampaignLoaded(CampaignInfo),
    /// CampaignUnloaded.
    CampaignUnloaded(CampaignInfo),
    /// CampaignStopped.
    CampaignStopped(CampaignInfo),
    /// CampaignModeChanged.
    CampaignModeChanged(CampaignInfo, DialMode),
    /// CampaignGroupAssigned.
    CampaignGroupAssigned(CampaignInfo),
    /// PreviewDialingModeStartAcknowledge.
    PreviewDialingModeStartAcknowledge {
        /// Campaign name.
        campaign_name: CompactString,
    },
    /// PreviewDialingModeOverAcknowledge.
    PreviewDialingModeOverAcknowledge {
        /// Campaign name.
        campaign_name: CompactString,
    },
    /// ReadyTimeAcknowledge.
    ReadyTimeAcknowledge {
        /// The record handle of the request.
        record_handle: i64,
    },
    /// UpdateCallCompletionStatsAcknowledge.
    UpdateCallCompletionStatsAcknowledge(RecordAck),
    /// RecordProcessedAcknowledge.
    RecordProcessedAcknowledge(RecordAck),
    /// RecordRejectAcknowledge.
    RecordRejectAcknowledge(RecordAck),
    /// RecordCancelAcknowledge.
    RecordCancelAcknowledge(CancelAck),
    /// DoNotCallAcknowledge.
    DoNotCallAcknowledge(DncAck),
    /// RecordRescheduleAcknowledge.
    RecordRescheduleAcknowledge(RescheduleAck),
    /// ScheduledRecordRescheduleAcknowledge.
    ScheduledRecordRescheduleAcknowledge(RescheduleAck),
    /// AddRecordAcknowledge.
    AddRecordAcknowledge {
        /// Calling list.
        calling_list: CompactString,
        /// Campaign name.
        campaign_name: CompactString,
        /// Phone of the added record.
        phone: Option<CompactString>,
    },
    /// PreviewRecord.
    PreviewRecord(RecordData),
    /// ChainedRecord.
    ChainedRecord(RecordData),
    /// ChainedRecordsDataEnd.
    ChainedRecordsDataEnd {
        /// Calling list.
        calling_list: CompactString,
        /// Campaign name.
        campaign_name: CompactString,
        /// The chain.
        chain_id: i64,
        /// The record handle of the request.
        record_handle: i64,
    },
    /// RecordCancel.
    RecordCancel(RecordCancelNotice),
    /// ScheduledCall.
    ScheduledCall(ScheduledCall),
    /// LogOutTime (`GSW_USER_EVENT` = `LogOut`).
    LogOutTime {
        /// Campaign name.
        campaign_name: CompactString,
        /// Seconds before logout is allowed.
        logout_time_s: i64,
    },
    /// LogOutAcknowledge.
    LogOutAcknowledge {
        /// Campaign name.
        campaign_name: CompactString,
    },
    /// An error.
    Error(ErrorEvent),
}

impl EventBody {
    /// Which event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::CampaignStarted(..) => EventKind::CampaignStarted,
            EventBody::CampaignLoaded(_) => EventKind::CampaignLoaded,
            EventBody::CampaignUnloaded(_) => EventKind::CampaignUnloaded,
            EventBody::CampaignStopped(_) => EventKind::CampaignStopped,
            EventBody::CampaignModeChanged(..) => EventKind::CampaignModeChanged,
            EventBody::CampaignGroupAssigned(_) => EventKind::CampaignGroupAssigned,
            EventBody::PreviewDialingModeStartAcknowledge { .. } => {
                EventKind::PreviewDialingModeStartAcknowledge
            }
            EventBody::PreviewDialingModeOverAcknowledge { .. } => {
                EventKind::PreviewDialingModeOverAcknowledge
            }
            EventBody::ReadyTimeAcknowledge { .. } => EventKind::ReadyTimeAcknowledge,
            EventBody::UpdateCallCompletionStatsAcknowledge(_) => {
                EventKind::UpdateCallCompletionStatsAcknowledge
            }
            EventBody::RecordProcessedAcknowledge(_) => EventKind::RecordProcessedAcknowledge,
            EventBody::RecordRejectAcknowledge(_) => EventKind::RecordRejectAcknowledge,
            EventBody::RecordCancelAcknowledge(_) => EventKind::RecordCancelAcknowledge,
            EventBody::DoNotCallAcknowledge(_) => EventKind::DoNotCallAcknowledge,
            EventBody::RecordRescheduleAcknowledge(_) => EventKind::RecordRescheduleAcknowledge,
            EventBody::ScheduledRecordRescheduleAcknowledge(_) => {
                EventKind::ScheduledRecordRescheduleAcknowledge
            }
            EventBody::AddRecordAcknowledge { .. } => EventKind::AddRecordAcknowledge,
            EventBody::PreviewRecord(_) => EventKind::PreviewRecord,
            EventBody::ChainedRecord(_) => EventKind::ChainedRecord,
            EventBody::ChainedRecordsDataEnd { .. } => EventKind::ChainedRecordsDataEnd,
            EventBody::RecordCancel(_) => EventKind::RecordCancel,
            EventBody::ScheduledCall(_) => EventKind::ScheduledCall,
            EventBody::LogOutTime { .. } => EventKind::LogOutTime,
            EventBody::LogOutAcknowledge { .. } => EventKind::LogOutAcknowledge,
            EventBody::Error(_) => EventKind::Error,
        }
    }
}

/// An event from the server to a desktop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `GSW_APPLICATION_ID` of the sending server.
    pub application_id: i64,
    /// `GSW_REFERENCE_ID` of the request answered, echoed exactly as sent.
    pub reference_id: Option<Value>,
    /// The rest.
    pub body: EventBody,
}

impl Event {
    /// An event with no reference id.
    pub fn new(application_id: i64, body: EventBody) -> Event {
        Event { application_id, reference_id: None, body }
    }

    /// The same event answering a request with reference id `reference_id`.
    pub fn answering(mut self, reference_id: Option<i64>) -> Event {
        self.reference_id = reference_id.map(Value::Int);
        self
    }

    /// Which event this is.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// Encodes the event as a key-value list.
    pub fn encode(&self) -> KvList {
        let mut kv = KvList::with_capacity(24);
        self.encode_into(&mut kv);
        kv
    }

    /// Appends the event to `out` as a compact JSON line (no newline), with the bytes
    /// `self.encode().write_json(out)` would write but no list built in between: the
    /// gateway's hot path. `out` is grown once up front if it is short of room.
    ///
    /// ```
    /// use pacer_engine::protocol::{Event, EventBody};
    /// let event = Event::new(101, EventBody::ReadyTimeAcknowledge { record_handle: 7 });
    /// let mut out = Vec::new();
    /// event.write_json(&mut out);
    /// assert_eq!(out, br#"{"GSW_USER_EVENT":"ReadyTimeAcknowledge","GSW_APPLICATION_ID":101,"GSW_RECORD_HANDLE":7}"#);
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut writer = JsonWriter::open(out);
        self.encode_into(&mut writer);
        writer.close();
    }

    /// Describes the event to `w`, keys in table order.
    fn encode_into<W: PairWriter>(&self, w: &mut W) {
        w.str(K::UserEvent, self.kind().name());
        w.int(K::ApplicationId, self.application_id);
        if let Some(reference) = &self.reference_id {
            w.pair(&Key::Known(K::ReferenceId), reference);
        }
        match &self.body {
            EventBody::CampaignStarted(info, mode) => {
                w.str(K::CampaignDescription, &info.campaign_description);
                w.str(K::CampaignMode, mode.as_str());
                w.str(K::CampaignName, &info.campaign_name);
                w.str(K::CampaignGroupName, &info.group_name);
            }
            EventBody::CampaignModeChanged(info, mode) => {
                w.str(K::CampaignMode, mode.as_str());
                encode_info(w, info);
            }
            EventBody::CampaignLoaded(info)
            | EventBody::CampaignUnloaded(info)
            | EventBody::CampaignStopped(info)
            | EventBody::CampaignGroupAssigned(info) => encode_info(w, info),
            EventBody::PreviewDialingModeStartAcknowledge { campaign_name }
            | EventBody::PreviewDialingModeOverAcknowledge { campaign_name }
            | EventBody::LogOutAcknowledge { campaign_name } => {
                w.str(K::CampaignName, campaign_name);
            }
            EventBody::ReadyTimeAcknowledge { record_handle } => {
                w.int(K::RecordHandle, *record_handle);
            }
            EventBody::UpdateCallCompletionStatsAcknowledge(ack)
            | EventBody::RecordProcessedAcknowledge(ack)
            | EventBody::RecordRejectAcknowledge(ack) => {
                w.str(K::CallingList, &ack.calling_list);
                w.str(K::CampaignName, &ack.campaign_name);
                w.int(K::RecordHandle, ack.record_handle);
            }
            EventBody::RecordCancelAcknowledge(ack) => {
                push_opt_str(w, K::CallingList, &ack.calling_list);
                push_opt_str(w, K::CampaignName, &ack.campaign_name);
                if let Some(attr) = ack.chain_attr {
                    w.str(K::ChainAttr, attr.as_str());
                }
                push_opt_str(w, K::Message, &ack.message);
                push_opt_str(w, K::Phone, &ack.phone);
                if let Some(handle) = ack.record_handle {
                    w.int(K::RecordHandle, handle);
                }
            }
            EventBody::DoNotCallAcknowledge(ack) => {
                push_opt_str(w, K::CallingList, &ack.calling_list);
                push_opt_str(w, K::CampaignName, &ack.campaign_name);
                if let Some(attr) = ack.chain_attr {
                    w.str(K::ChainAttr, attr.as_str());
                }
                push_opt_str(w, K::Phone, &ack.phone);
                push_opt_str(w, K::CustomerId, &ack.customer_id);
                if let Some(handle) = ack.record_handle {
                    w.int(K::RecordHandle, handle);
                }
                if let Some(duration) = ack.duration_s {
                    w.int(K::Duration, duration);
                }
            }
            EventBody::RecordRescheduleAcknowledge(ack)
            | EventBody::ScheduledRecordRescheduleAcknowledge(ack) => {
                w.str(K::CallbackType, ack.callback_type.as_str());
                w.str(K::CallingList, &ack.calling_list);
                w.str(K::CampaignName, &ack.campaign_name);
                w.str(K::DateTime, &format_compact!("{}", ack.date_time));
                push_opt_str(w, K::Phone, &ack.phone);
                w.int(K::RecordHandle, ack.record_handle);
            }
            EventBody::AddRecordAcknowledge { calling_list, campaign_name, phone } => {
                w.str(K::CallingList, calling_list);
                w.str(K::CampaignName, campaign_name);
                push_opt_str(w, K::Phone, phone);
            }
            EventBody::PreviewRecord(record) | EventBody::ChainedRecord(record) => {
                encode_record(w, record);
            }
            EventBody::ScheduledCall(call) => {
                w.str(K::CallbackType, call.callback_type.as_str());
                w.str(K::DateTime, &format_compact!("{}", call.date_time));
                encode_record(w, &call.record);
            }
            EventBody::ChainedRecordsDataEnd { calling_list, campaign_name, chain_id, record_handle } => {
                w.str(K::CallingList, calling_list);
                w.str(K::CampaignName, campaign_name);
                w.int(K::ChainId, *chain_id);
                w.int(K::RecordHandle, *record_handle);
            }
            EventBody::RecordCancel(notice) => {
                w.str(K::CallingList, &notice.calling_list);
                w.str(K::CampaignName, &notice.campaign_name);
                w.int(K::RecordHandle, notice.record_handle);
                if let Some(attr) = notice.chain_attr {
                    w.str(K::ChainAttr, attr.as_str());
                }
                w.str(K::Phone, &notice.phone);
                w.str(K::CustomerId, notice.customer_id.as_deref().unwrap_or(""));
            }
            EventBody::LogOutTime { campaign_name, logout_time_s } => {
                w.str(K::CampaignName, campaign_name);
                w.int(K::LogoutTime, *logout_time_s);
            }
            EventBody::Error(error) => {
                w.str(K::Error, error.message.as_deref().unwrap_or(error.code.name()));
                w.int(K::ErrorNumber, error.code.number());
                push_opt_str(w, K::AgentReqType, &error.req_type);
                push_opt_str(w, K::CampaignName, &error.campaign_name);
                push_opt_str(w, K::ErrorDescription, &error.description);
            }
        }
    }

    /// The event as a compact JSON object.
    pub fn encode_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        crate::kv::bytes_to_string(out)
    }

    /// Decodes an event (the desktop side of the protocol), checking its table.
    pub fn decode(kv: &KvList) -> Result<Event, ProtocolError> {
        decode_fields(&mut Fields::from_kv(kv))
    }

    /// Parses a JSON object and decodes it as an event.
    pub fn decode_json(text: &str) -> Result<Event, ProtocolError> {
        let mut fields = Fields::new(text);
        fields.read_json().map_err(|e| match e.key() {
            Some(key) => ProtocolError::invalid(Key::new(key), e.reason()),
            None => ProtocolError::new(ErrorCode::InvalidRequest).with_detail(e.to_string()),
        })?;
        decode_fields(&mut fields)
    }
}

fn decode_fields(f: &mut Fields<'_>) -> Result<Event, ProtocolError> {
    let name = match f.get(K::UserEvent) {
        None => return Err(ProtocolError::missing(K::UserEvent)),
        Some(field) if field.kind() == ValueKind::Str => field.as_str().unwrap_or_default(),
        Some(other) => {
            return Err(ProtocolError::invalid(
                K::UserEvent,
                format!("expected a string, got {}", other.kind()),
            ));
        }
    };
    let kind = EventKind::from_name(name).ok_or_else(|| {
        ProtocolError::new(ErrorCode::InvalidRequest)
            .with_key(K::UserEvent)
            .with_detail(format!("unknown event {name:?}"))
    })?;
    f.check(kind.schema())?;
    let text = |f: &Fields<'_>, key: KnownKey| f.str(key).map(CompactString::from);
    let req_text = |f: &Fields<'_>, key: KnownKey| f.req_str(key).map(CompactString::from);
    let body = match kind {
        EventKind::CampaignStarted => EventBody::CampaignStarted(campaign_info(f)?, dial_mode(f)?),
        EventKind::CampaignModeChanged => EventBody::CampaignModeChanged(campaign_info(f)?, dial_mode(f)?),
        EventKind::CampaignLoaded => EventBody::CampaignLoaded(campaign_info(f)?),
        EventKind::CampaignUnloaded => EventBody::CampaignUnloaded(campaign_info(f)?),
        EventKind::CampaignStopped => EventBody::CampaignStopped(campaign_info(f)?),
        EventKind::CampaignGroupAssigned => EventBody::CampaignGroupAssigned(campaign_info(f)?),
        EventKind::PreviewDialingModeStartAcknowledge => {
            EventBody::PreviewDialingModeStartAcknowledge { campaign_name: req_text(f, K::CampaignName)? }
        }
        EventKind::PreviewDialingModeOverAcknowledge => {
            EventBody::PreviewDialingModeOverAcknowledge { campaign_name: req_text(f, K::CampaignName)? }
        }
        EventKind::LogOutAcknowledge => {
            EventBody::LogOutAcknowledge { campaign_name: req_text(f, K::CampaignName)? }
        }
        EventKind::ReadyTimeAcknowledge => {
            EventBody::ReadyTimeAcknowledge { record_handle: f.req_int(K::RecordHandle)? }
        }
        EventKind::UpdateCallCompletionStatsAcknowledge => {
            EventBody::UpdateCallCompletionStatsAcknowledge(record_ack(f)?)
        }
        EventKind::RecordProcessedAcknowledge => EventBody::RecordProcessedAcknowledge(record_ack(f)?),
        EventKind::RecordRejectAcknowledge => EventBody::RecordRejectAcknowledge(record_ack(f)?),
        EventKind::RecordCancelAcknowledge => EventBody::RecordCancelAcknowledge(CancelAck {
            calling_list: text(f, K::CallingList),
            campaign_name: text(f, K::CampaignName),
            chain_attr: chain_attr(f)?,
            message: text(f, K::Message),
            phone: text(f, K::Phone),
            record_handle: f.int(K::RecordHandle),
        }),
        EventKind::DoNotCallAcknowledge => EventBody::DoNotCallAcknowledge(DncAck {
            calling_list: text(f, K::CallingList),
            campaign_name: text(f, K::CampaignName),
            chain_attr: chain_attr(f)?,
            phone: text(f, K::Phone),
            customer_id: f.text(K::CustomerId),
            record_handle: f.int(K::RecordHandle),
            duration_s: f.int(K::Duration),
        }),
        EventKind::RecordRescheduleAcknowledge => EventBody::RecordRescheduleAcknowledge(reschedule_ack(f)?),
        EventKind::ScheduledRecordRescheduleAcknowledge => {
            EventBody::ScheduledRecordRescheduleAcknowledge(reschedule_ack(f)?)
        }
        EventKind::AddRecordAcknowledge => EventBody::AddRecordAcknowledge {
            calling_list: req_text(f, K::CallingList)?,
            campaign_name: req_text(f, K::CampaignName)?,
            phone: text(f, K::Phone),
        },
        EventKind::PreviewRecord => EventBody::PreviewRecord(record_data(f)?),
        EventKind::ChainedRecord => EventBody::ChainedRecord(record_data(f)?),
        EventKind::ScheduledCall => EventBody::ScheduledCall(ScheduledCall {
            record: record_data(f)?,
            callback_type: callback_type(f)?,
            date_time: date_time(f)?,
        }),
        EventKind::ChainedRecordsDataEnd => EventBody::ChainedRecordsDataEnd {
            calling_list: req_text(f, K::CallingList)?,
            campaign_name: req_text(f, K::CampaignName)?,
            chain_id: f.req_int(K::ChainId)?,
            record_handle: f.req_int(K::RecordHandle)?,
        },
        EventKind::RecordCancel => EventBody::RecordCancel(RecordCancelNotice {
            calling_list: req_text(f, K::CallingList)?,
            campaign_name: req_text(f, K::CampaignName)?,
            record_handle: f.req_int(K::RecordHandle)?,
            chain_attr: chain_attr(f)?,
            phone: req_text(f, K::Phone)?,
            customer_id: f.text(K::CustomerId).filter(|id| !id.is_empty()),
        }),
        EventKind::LogOutTime => EventBody::LogOutTime {
            campaign_name: req_text(f, K::CampaignName)?,
            logout_time_s: f.req_int(K::LogoutTime)?,
        },
        EventKind::Error => {
            let number = f.req_int(K::ErrorNumber)?;
            let code = ErrorCode::from_number(number).ok_or_else(|| {
                ProtocolError::invalid(K::ErrorNumber, format!("{number} is not an error number"))
            })?;
            let name = f.req_str(K::Error)?;
            EventBody::Error(ErrorEvent {
                code,
                message: (name != code.name()).then(|| name.into()),
                req_type: text(f, K::AgentReqType),
                campaign_name: text(f, K::CampaignName),
                description: text(f, K::ErrorDescription),
            })
        }
    };
    Ok(Event {
        application_id: f.req_int(K::ApplicationId)?,
        reference_id: f.get(K::ReferenceId).map(Field::to_value),
        body,
    })
}

fn push_opt_str<W: PairWriter>(w: &mut W, key: KnownKey, value: &Option<CompactString>) {
    if let Some(v) = value {
        w.str(key, v);
    }
}

fn encode_info<W: PairWriter>(w: &mut W, info: &CampaignInfo) {
    w.str(K::CampaignName, &info.campaign_name);
    w.str(K::CampaignDescription, &info.campaign_description);
    w.str(K::CampaignGroupDescription, &info.group_description);
    w.str(K::CampaignGroupName, &info.group_name);
}

/// Writes a record's default information, its table's keys, extra reserved keys and custom
/// fields.
fn encode_record<W: PairWriter>(w: &mut W, r: &RecordData) {
    w.int(K::Attempts, r.attempts);
    w.int(K::CallResult, r.call_result.code());
    // The record events' tables type GSW_CALL_TIME as a string.
    w.int_as_str(K::CallTime, r.call_time);
    w.str(K::CallingList, &r.calling_list);
    w.str(K::CampaignName, &r.campaign_name);
    w.int(K::ChainId, r.chain_id);
    w.str(K::CpnDigits, &r.cpn_digits);
    w.int(K::From, r.daily_from_s);
    w.str(K::Phone, &r.phone);
    w.int(K::PhoneType, r.phone_type.code());
    w.int(K::RecordHandle, r.record_handle);
    w.int(K::TzOffset, r.tz_offset_s);
    w.int(K::Until, r.daily_until_s);
    w.str(K::ContactMediaType, r.contact_media_type.as_str());
    w.str(K::CampaignGroupName, &r.group_name);
    w.str(K::CampaignGroupDescription, &r.group_description);
    for (key, value) in &r.extra {
        debug_assert!(key.known().is_some_and(|k| !RECORD_DATA_KEYS.contains(&k)), "{key} in extra");
        w.pair(key, value);
    }
    encode_custom(w, &r.custom);
}

fn campaign_info(f: &Fields<'_>) -> Result<CampaignInfo, ProtocolError> {
    Ok(CampaignInfo {
        campaign_name: f.req_str(K::CampaignName)?.into(),
        campaign_description: f.str(K::CampaignDescription).unwrap_or_default().into(),
        group_name: f.req_str(K::CampaignGroupName)?.into(),
        group_description: f.str(K::CampaignGroupDescription).unwrap_or_default().into(),
    })
}

fn dial_mode(f: &Fields<'_>) -> Result<DialMode, ProtocolError> {
    let name = f.req_str(K::CampaignMode)?;
    DialMode::from_wire(name)
        .ok_or_else(|| ProtocolError::invalid(K::CampaignMode, format!("{name:?} is not a dial mode")))
}

fn chain_attr(f: &Fields<'_>) -> Result<Option<ChainAttr>, ProtocolError> {
    match f.str(K::ChainAttr) {
        None => Ok(None),
        Some(text) => ChainAttr::from_wire(text).map(Some).ok_or_else(|| {
            ProtocolError::invalid(K::ChainAttr, format!("{text:?} is not AllChain or RecordOnly"))
        }),
    }
}

fn callback_type(f: &Fields<'_>) -> Result<CallbackType, ProtocolError> {
    let text = f.req_str(K::CallbackType)?;
    CallbackType::from_wire(text).ok_or_else(|| {
        ProtocolError::invalid(K::CallbackType, format!("{text:?} is not Personal or Campaign"))
    })
}

fn date_time(f: &Fields<'_>) -> Result<LocalDateTime, ProtocolError> {
    let text = f.req_str(K::DateTime)?;
    LocalDateTime::parse(text).ok_or_else(|| {
        ProtocolError::new(ErrorCode::InvalidTimeFormat)
            .with_key(K::DateTime)
            .with_detail(format!("{text:?}"))
    })
}

fn record_ack(f: &Fields<'_>) -> Result<RecordAck, ProtocolError> {
    Ok(RecordAck {
        calling_list: f.req_str(K::CallingList)?.into(),
        campaign_name: f.req_str(K::CampaignName)?.into(),
        record_handle: f.req_int(K::RecordHandle)?,
    })
}

fn reschedule_ack(f: &Fields<'_>) -> Result<RescheduleAck, ProtocolError> {
    Ok(RescheduleAck {
        callback_type: callback_type(f)?,
        calling_list: f.req_str(K::CallingList)?.into(),
        campaign_name: f.req_str(K::CampaignName)?.into(),
        date_time: date_time(f)?,
        record_handle: f.req_int(K::RecordHandle)?,
        phone: f.str(K::Phone).map(CompactString::from),
    })
}

fn record_data(f: &mut Fields<'_>) -> Result<RecordData, ProtocolError> {
    let phone_type = match f.int(K::PhoneType) {
        None => PhoneType::NoContactType,
        Some(code) => PhoneType::from_code(code)
            .ok_or_else(|| ProtocolError::invalid(K::PhoneType, format!("{code} is not a phone type")))?,
    };
    let call_result_code = f.req_int(K::CallResult)?;
    let call_result = CallResult::from_code(call_result_code).ok_or_else(|| {
        ProtocolError::invalid(K::CallResult, format!("{call_result_code} is not a call result"))
    })?;
    let contact_media_type = match f.str(K::ContactMediaType) {
        None => phone_type.media_type(),
        Some(text) => ContactMediaType::from_wire(text).ok_or_else(|| {
            ProtocolError::invalid(K::ContactMediaType, format!("{text:?} is not a media type"))
        })?,
    };
    let mut extra = KvList::new();
    for (key, field) in f.known() {
        if !RECORD_DATA_KEYS.contains(&key) {
            extra.push_known(key, field.to_value());
        }
    }
    let custom = f.take_custom();
    Ok(RecordData {
        record_handle: f.req_int(K::RecordHandle)?,
        calling_list: f.req_str(K::CallingList)?.into(),
        campaign_name: f.str(K::CampaignName).unwrap_or_default().into(),
        group_name: f.str(K::CampaignGroupName).unwrap_or_default().into(),
        group_description: f.str(K::CampaignGroupDescription).unwrap_or_default().into(),
        phone: f.req_str(K::Phone)?.into(),
        phone_type,
        call_result,
        attempts: f.int(K::Attempts).unwrap_or(0),
        call_time: f.numeric(K::CallTime)?.unwrap_or(0),
        chain_id: f.req_int(K::ChainId)?,
        daily_from_s: f.int(K::From).unwrap_or(0),
        daily_until_s: f.int(K::Until).unwrap_or(crate::protocol::request::SECONDS_PER_DAY),
        tz_offset_s: f.int(K::TzOffset).unwrap_or(0),
        contact_media_type,
        cpn_digits: f.str(K::CpnDigits).unwrap_or_default().into(),
        extra,
        custom,
    })
}
