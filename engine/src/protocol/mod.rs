//! The desktop protocol: every request a desktop sends (`GSW_AGENT_REQ_TYPE`) and every event
//! the server sends (`GSW_USER_EVENT`), typed, validated against the spec's tables, and
//! encoded back to key-value lists.
//!
//! The protocol layer knows nothing about records, campaigns or time: it turns key-value lists
//! into typed values and back, and says precisely what is wrong with a bad message (the error
//! number and the key).
//!
//! ```
//! use pacer_engine::protocol::{Request, RequestBody};
//! let line = r#"{"GSW_AGENT_REQ_TYPE": "RecordProcessed", "GSW_APPLICATION_ID": 101,
//!     "GSW_CAMPAIGN_NAME": "Sales", "GSW_CALLING_LIST": "Leads", "GSW_RECORD_HANDLE": 9,
//!     "GSW_CALL_RESULT": 33, "GSW_REFERENCE_ID": 5, "tier": "gold"}"#;
//! let request = Request::decode_json(line).unwrap();
//! let RequestBody::RecordProcessed(processed) = &request.body else { unreachable!() };
//! assert_eq!(processed.record_handle, 9);
//! assert_eq!(processed.custom.get_by_name("tier").and_then(|v| v.as_str()), Some("gold"));
//! assert_eq!(request.reference_id, Some(5));
//! ```

mod enums;
mod error;
mod event;
mod request;
pub mod schema;

pub use enums::{
    CallResult, CallbackType, ChainAttr, ContactMediaType, DialMode, LocalDateTime, PhoneType, RecordStatus,
    RecordType, Treatment,
};
pub use error::{
    ErrorCode, INVALID_REQUEST_MESSAGES, NO_AUTO_CAMPAIGN, PREVIEW_START_REQUIRED, ProtocolError,
    SMARTLY_LOGGED_OUT,
};
pub use event::{
    CampaignInfo, CancelAck, DncAck, ErrorEvent, Event, EventBody, EventKind, INCOMPLETE_PROCESSING,
    RecordAck, RecordCancelNotice, RecordData, RescheduleAck, ScheduledCall,
};
pub use request::{
    AddRecord, DEFAULT_DAILY_FROM_S, DEFAULT_DAILY_UNTIL_S, DecodeError, DoNotCall, FieldChanges,
    RecordCancel, RecordProcessed, RecordSelector, RecordUpdate, Request, RequestBody, RequestKind,
    Reschedule, SECONDS_PER_DAY, Target, TargetName,
};
