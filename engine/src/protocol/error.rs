//! Protocol error numbers (101-120) and the error a request is answered with.

use std::fmt;

use crate::kv::{Key, KnownKey};

/// Every error number the server answers a desktop with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// 101: unknown request type, or a request the current state does not allow.
    InvalidRequest,
    /// 102: a mandatory key is missing.
    AttributeNotFound,
    /// 103: a key has the wrong type or value.
    InvalidAttributeValue,
    /// 104: no such agent.
    AgentNotFound,
    /// 105: no such campaign group.
    CampaignGroupNotFound,
    /// 106: no campaign is loaded.
    NoActiveCampaigns,
    /// 107: no preview campaign is running.
    NoRunningPreviewCampaigns,
    /// 108: no record to give out now.
    NoRecordsAvailable,
    /// 109: no such record, or already processed.
    RecordNotFound,
    /// 110: a time that does not meet the request's conditions (e.g. in the past).
    InvalidTime,
    /// 111: a time string that cannot be read.
    InvalidTimeFormat,
    /// 112: no call for the record handle.
    NoCallFound,
    /// 113: the record store failed.
    DbError,
    /// 114: no such chain.
    ChainedRecordsNotFound,
    /// 115: the record to add already exists.
    RecordAlreadyExists,
    /// 116: the record cannot be added.
    AddRecordError,
    /// 117: no scheduled record to reschedule.
    ScheduledRecordNotFound,
    /// 118: preview mode already started.
    PreviewModeAlreadyStarted,
    /// 119: preview mode not started.
    PreviewModeNotStarted,
    /// 120: the same ReadyTime was sent twice for one record.
    DuplicateRequest,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidRequest,
        ErrorCode::AttributeNotFound,
        ErrorCode::InvalidAttributeValue,
        ErrorCode::AgentNotFound,
        ErrorCode::CampaignGroupNotFound,
        ErrorCode::NoActiveCampaigns,
        ErrorCode::NoRunningPreviewCampaigns,
        ErrorCode::NoRecordsAvailable,
        ErrorCode::RecordNotFound,
        ErrorCode::InvalidTime,
        ErrorCode::InvalidTimeFormat,
        ErrorCode::NoCallFound,
        ErrorCode::DbError,
        ErrorCode::ChainedRecordsNotFound,
        ErrorCode::RecordAlreadyExists,
        ErrorCode::AddRecordError,
        ErrorCode::ScheduledRecordNotFound,
        ErrorCode::PreviewModeAlreadyStarted,
        ErrorCode::PreviewModeNotStarted,
        ErrorCode::DuplicateRequest,
    ];

    /// The number carried in `GSW_ERROR_NUMBER`.
    pub const fn number(self) -> i64 {
        match self {
            ErrorCode::InvalidRequest => 101,
            ErrorCode::AttributeNotFound => 102,
            ErrorCode::InvalidAttributeValue => 103,
            ErrorCode::AgentNotFound => 104,
            ErrorCode::CampaignGroupNotFound => 105,
            ErrorCode::NoActiveCampaigns => 106,
            ErrorCode::NoRunningPreviewCampaigns => 107,
            ErrorCode::NoRecordsAvailable => 108,
            ErrorCode::RecordNotFound => 109,
            ErrorCode::InvalidTime => 110,
            ErrorCode::InvalidTimeFormat => 111,
            ErrorCode::NoCallFound => 112,
            ErrorCode::DbError => 113,
            ErrorCode::ChainedRecordsNotFound => 114,
            ErrorCode::RecordAlreadyExists => 115,
            ErrorCode::AddRecordError => 116,
            ErrorCode::ScheduledRecordNotFound => 117,
            ErrorCode::PreviewModeAlreadyStarted => 118,
            ErrorCode::PreviewModeNotStarted => 119,
            ErrorCode::DuplicateRequest => 120,
        }
    }

    /// The code numbered `number`, if any.
    pub fn from_number(number: i64) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.number() == number)
    }

    /// The name carried in `GSW_ERROR`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::AttributeNotFound => "Attribute Not Found",
            ErrorCode::InvalidAttributeValue => "Invalid Attribute Value",
            ErrorCode::AgentNotFound => "Agent Not Found",
            ErrorCode::CampaignGroupNotFound => "Campaign Group Not Found",
            ErrorCode::NoActiveCampaigns => "No Active Campaigns",
            ErrorCode::NoRunningPreviewCampaigns => "No Running Preview Campaigns",
            ErrorCode::NoRecordsAvailable => "No Records Available",
            ErrorCode::RecordNotFound => "Record Not Found",
            ErrorCode::InvalidTime => "Invalid Time",
            ErrorCode::InvalidTimeFormat => "Invalid Time Format",
            ErrorCode::NoCallFound => "No call found for the record handle",
            ErrorCode::DbError => "DB Error",
            ErrorCode::ChainedRecordsNotFound => "Chained Records not found",
            ErrorCode::RecordAlreadyExists => "Record Already Exists",
            ErrorCode::AddRecordError => "Add Record Error",
            ErrorCode::ScheduledRecordNotFound => "Scheduled record not found",
            ErrorCode::PreviewModeAlreadyStarted => "Preview mode has already been started",
            ErrorCode::PreviewModeNotStarted => "Preview mode has not been started",
            ErrorCode::DuplicateRequest => "Duplicate request is not allowed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.number())
    }
}

/// `GSW_ERROR` of a 101 refused because the agent must send PreviewDialingModeStart first.
pub const PREVIEW_START_REQUIRED: &str = "PreviewDialingModeStart is required";
/// `GSW_ERROR` of a 101 refusing a smart logout when no auto-dialing campaign group runs.
pub const NO_AUTO_CAMPAIGN: &str = "There is no 'Auto' campaign started";
/// `GSW_ERROR` of a 101 refusing a request from an agent who has smartly logged out.
pub const SMARTLY_LOGGED_OUT: &str = "Agent smartly logged out";

/// The texts `GSW_ERROR` carries instead of "Invalid Request" when a 101 is one of the three
/// situations the spec's error table singles out (its note on 101); a desktop tells them apart
/// by that text, so it goes in `GSW_ERROR` itself, and in `GSW_ERROR_DESCRIPTION` too.
pub const INVALID_REQUEST_MESSAGES: &[&str] = &[PREVIEW_START_REQUIRED, NO_AUTO_CAMPAIGN, SMARTLY_LOGGED_OUT];

/// Why a request is refused: the error number, the key at fault where there is one, and a
/// sentence for the log and for `GSW_ERROR_DESCRIPTION`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    code: ErrorCode,
    key: Option<Key>,
    detail: Option<String>,
}

impl ProtocolError {
    /// An error with no key and no detail.
    pub fn new(code: ErrorCode) -> ProtocolError {
        ProtocolError { code, key: None, detail: None }
    }

    /// 102 for a missing mandatory key.
    pub fn missing(key: KnownKey) -> ProtocolError {
        ProtocolError { code: ErrorCode::AttributeNotFound, key: Some(key.into()), detail: None }
    }

    /// 103 for a key with a bad type or value, saying what was expected.
    pub fn invalid(key: impl Into<Key>, detail: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code: ErrorCode::InvalidAttributeValue,
            key: Some(key.into()),
            detail: Some(detail.into()),
        }
    }

    /// Adds a sentence of detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> ProtocolError {
        self.detail = Some(detail.into());
        self
    }

    /// Names the key at fault.
    pub fn with_key(mut self, key: impl Into<Key>) -> ProtocolError {
        self.key = Some(key.into());
        self
    }

    /// The error number.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The key at fault, if any.
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// The detail sentence, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The text for `GSW_ERROR_DESCRIPTION`: the key and what is wrong with it.
    pub fn description(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.name())?;
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_101_to_120_and_round_trip() {
        let numbers: Vec<i64> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        assert_eq!(numbers, (101..=120).collect::<Vec<_>>());
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_number(code.number()), Some(code));
        }
        assert_eq!(ErrorCode::from_number(100), None);
    }

    #[test]
    fn description_names_the_key() {
        let e = ProtocolError::missing(KnownKey::RecordHandle);
        assert_eq!(e.description(), "Attribute Not Found: GSW_RECORD_HANDLE");
        let e = ProtocolError::invalid(KnownKey::ReadyTime, "must be greater than 0");
        assert_eq!(e.to_string(), "Invalid Attribute Value: GSW_READY_TIME: must be greater than 0");
    }
}
