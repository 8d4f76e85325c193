//! The key-value list model every desktop-protocol message is made of.
//!
//! A message is a list of pairs. A key is a case-sensitive string; a value is a string, a
//! 64-bit integer (the spec's `Int` and `Int64` alike) or a nested list. Pairs may arrive in any
//! order and are found by key. One message never holds the same key twice: a duplicate is bad
//! input, reported with the key it repeats.
//!
//! Speed: the reserved `GSW_*` keys the protocol defines are a [`KnownKey`] (a one-byte enum),
//! so reading or writing them costs no heap allocation; short custom keys and string values are
//! stored inline by [`CompactString`] (up to 24 bytes) and allocate only when longer.
//!
//! JSON mapping (used by the gateway and the test corpora): string <-> string, integer <->
//! number without a fraction, list <-> object. Floats, booleans, `null` and arrays have no
//! meaning in the protocol and are refused with an error naming the key.

mod json;
mod write;

pub(crate) use json::{Sink, parse_into as parse_json_into};
pub(crate) use write::{JsonWriter, PairWriter};

use std::cell::RefCell;
use std::fmt;

use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! known_keys {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// A key reserved by the protocol (every one starts with `GSW_`).
        ///
        /// Known keys are matched once when a message is parsed; after that, looking one up is
        /// a byte comparison.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KnownKey {
            $($(#[$doc])* $variant,)*
        }

        impl KnownKey {
            /// Every known key, in declaration order.
            pub const ALL: &'static [KnownKey] = &[$(KnownKey::$variant,)*];

            /// The key as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(KnownKey::$variant => $name,)*
                }
            }

            /// The key as a JSON object member starts: quoted, then a colon.
            pub(crate) const fn json_prefix(self) -> &'static str {
                match self {
                    $(KnownKey::$variant => concat!("\"", $name, "\":"),)*
                }
            }

            /// The known key spelled exactly `name` (keys are case-sensitive), if any.
            ///
            /// One cheap hash and, almost always, one comparison of two words: a string
            /// `match` over every key would compare against them one after another.
            #[inline]
            pub fn from_name(name: &str) -> Option<KnownKey> {
                KnownKey::lookup(name)
            }

            /// [`KnownKey::from_name`], inlined into the JSON reader's loop.
            #[inline(always)]
            pub(crate) fn lookup(name: &str) -> Option<KnownKey> {
                // Reserved keys all start with the prefix; anything else is custom, and one
                // comparison sends it on its way.
                let bytes = name.as_bytes();
                if bytes.len() < RESERVED_PREFIX.len() || bytes[..4] != *RESERVED_PREFIX.as_bytes() {
                    return None;
                }
                let sig = KeySignature::of(bytes);
                let mut slot = sig.hash();
                loop {
                    let entry = KEY_TABLE[slot];
                    if entry == EMPTY_SLOT {
                        return None;
                    }
                    let index = usize::from(entry);
                    if KEY_SIGNATURES[index] == sig
                        && (bytes.len() <= KeySignature::EXACT_MAX_LEN
                            || KnownKey::ALL[index].as_str().as_bytes() == bytes)
                    {
                        return Some(KnownKey::ALL[index]);
                    }
                    slot = (slot + 1) & (KEY_TABLE_SIZE - 1);
                }
            }
        }
    };
}

/// The prefix every reserved key carries; custom keys must not use it.
pub const RESERVED_PREFIX: &str = "GSW_";

/// Slots of the open-addressing table from key name to [`KnownKey`] (a power of two, about
/// three times the number of keys so probes stay short).
const KEY_TABLE_SIZE: usize = 256;
const EMPTY_SLOT: u8 = u8::MAX;

/// What identifies a reserved key cheaply: its length and two little-endian words of the bytes
/// after the prefix (the first eight and the last eight, zero-padded when shorter). For keys of
/// up to [`KeySignature::EXACT_MAX_LEN`] bytes the two words cover every byte, so equal
/// signatures mean equal keys; longer keys are compared in full after the signatures match.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KeySignature {
    len: usize,
    head: u64,
    tail: u64,
}

impl KeySignature {
    /// Prefix (4) plus head (8) plus tail (8) bytes.
    const EXACT_MAX_LEN: usize = 20;

    #[inline]
    const fn of(bytes: &[u8]) -> KeySignature {
        let len = bytes.len();
        let (head, tail) = if len >= 12 {
            (load_word(bytes, 4), load_word(bytes, len - 8))
        } else {
            let mut head = 0u64;
            let mut i = RESERVED_PREFIX.len();
            while i < len {
                head |= (bytes[i] as u64) << (8 * (i - RESERVED_PREFIX.len()));
                i += 1;
            }
            (head, 0)
        };
        KeySignature { len, head, tail }
    }

    /// Slot in [`KEY_TABLE`]: a multiplicative (Fibonacci) hash of the mixed words, its top
    /// byte (Knuth, TAOCP vol. 3, 6.4).
    #[inline]
    const fn hash(self) -> usize {
        let mixed = self.head ^ self.tail.wrapping_mul(31) ^ self.len as u64;
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize & (KEY_TABLE_SIZE - 1)
    }
}

/// Eight bytes of `bytes` from `at`, little-endian (the caller guarantees they exist).
#[inline]
const fn load_word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        word[i] = bytes[at + i];
        i += 1;
    }
    u64::from_le_bytes(word)
}

/// Name -> index into [`KnownKey::ALL`], linear probing, built at compile time.
static KEY_TABLE: [u8; KEY_TABLE_SIZE] = {
    let mut table = [EMPTY_SLOT; KEY_TABLE_SIZE];
    assert!(KnownKey::ALL.len() < KEY_TABLE_SIZE / 2 && KnownKey::ALL.len() < EMPTY_SLOT as usize);
    let mut index = 0;
    while index < KnownKey::ALL.len() {
        let mut slot = KeySignature::of(KnownKey::ALL[index].as_str().as_bytes()).hash();
        while table[slot] != EMPTY_SLOT {
            slot = (slot + 1) & (KEY_TABLE_SIZE - 1);
        }
        table[slot] = index as u8;
        index += 1;
    }
    table
};

/// The signature of each known key, in [`KnownKey::ALL`] order.
static KEY_SIGNATURES: [KeySignature; KnownKey::ALL.len()] = {
    let mut signatures = [KeySignature { len: 0, head: 0, tail: 0 }; KnownKey::ALL.len()];
    let mut index = 0;
    while index < KnownKey::ALL.len() {
        signatures[index] = KeySignature::of(KnownKey::ALL[index].as_str().as_bytes());
        index += 1;
    }
    signatures
};

known_keys! {
    /// Time the call was abandoned (Unix seconds).
    Abandoned => "GSW_ABANDONED",
    /// Time after-call work completed (Unix seconds).
    AcwCompleted => "GSW_ACW_COMPLETED",
    /// Time an agent answered the call (Unix seconds).
    AgentAnswered => "GSW_AGENT_ANSWERED",
    /// Configuration DBID of the agent.
    AgentDbid => "GSW_AGENT_DBID",
    /// Login id of the last agent who worked with the record.
    AgentId => "GSW_AGENT_ID",
    /// Time an agent released the call (Unix seconds).
    AgentReleased => "GSW_AGENT_RELEASED",
    /// The request name on every desktop-to-server message.
    AgentReqType => "GSW_AGENT_REQ_TYPE",
    /// The server's application id (101 and up).
    ApplicationId => "GSW_APPLICATION_ID",
    /// Present when a seizing-mode call was not merged with its engaging call.
    AsmOverdial => "GSW_ASM_OVERDIAL",
    /// Handle of a record dialed with guaranteed connection.
    AssuredHandle => "GSW_ASSURED_HANDLE",
    /// Number of attempts made on the record.
    Attempts => "GSW_ATTEMPTS",
    /// Name of the pre-dial validation rule that blocked a call.
    BlockingRule => "GSW_BLOCKING_RULE",
    /// Type of the compliance object that blocked a call.
    BlockingRuleType => "GSW_BLOCKING_RULE_TYPE",
    /// Unique id of one call attempt, for reporting.
    CallAttemptGuid => "GSW_CALL_ATTEMPT_GUID",
    /// Configuration DBID of the calling list.
    CallListDbid => "GSW_CALL_LIST_DBID",
    /// Call result (see [`crate::protocol::CallResult`]).
    CallResult => "GSW_CALL_RESULT",
    /// Present when the call is a test call for answering-machine detection.
    CallResultFeedback => "GSW_CALL_RESULT_FEEDBACK",
    /// When the record was last called (Unix seconds).
    CallTime => "GSW_CALL_TIME",
    /// Callback type: `Personal` or `Campaign`.
    CallbackType => "GSW_CALLBACK_TYPE",
    /// Name of the calling list.
    CallingList => "GSW_CALLING_LIST",
    /// Ready plus retrieved chains of a campaign (statistics).
    CampaignComplete => "GSW_CAMPAIGN_COMPLETE",
    /// Configuration DBID of the campaign.
    CampaignDbid => "GSW_CAMPAIGN_DBID",
    /// Description of the campaign (may be empty).
    CampaignDescription => "GSW_CAMPAIGN_DESCRIPTION",
    /// Configuration DBID of the campaign group.
    CampaignGroupDbid => "GSW_CAMPAIGN_GROUP_DBID",
    /// Description of the campaign group (may be empty).
    CampaignGroupDescription => "GSW_CAMPAIGN_GROUP_DESCRIPTION",
    /// Unique id of the campaign group.
    CampaignGroupGuid => "GSW_CAMPAIGN_GROUP_GUID",
    /// Name of the campaign group; takes priority over the campaign name.
    CampaignGroupName => "GSW_CAMPAIGN_GROUP_NAME",
    /// Dialing mode as a name (see [`crate::protocol::DialMode`]).
    CampaignMode => "GSW_CAMPAIGN_MODE",
    /// Name of the campaign.
    CampaignName => "GSW_CAMPAIGN_NAME",
    /// Name of the campaign template script.
    CampaignTemplateName => "GSW_CAMPAIGN_TEMPLATE_NAME",
    /// `AllChain` or `RecordOnly`.
    ChainAttr => "GSW_CHAIN_ATTR",
    /// Chain id shared by the records of one customer.
    ChainId => "GSW_CHAIN_ID",
    /// Position of a record in its chain.
    ChainN => "GSW_CHAIN_N",
    /// Time processing of the call attempt completed (Unix seconds).
    CompleteProcessing => "GSW_COMPLETE_PROCESSING",
    /// Media type of the contact (see [`crate::protocol::ContactMediaType`]).
    ContactMediaType => "GSW_CONTACT_MEDIA_TYPE",
    /// The customer's country code.
    CountryCode => "GSW_COUNTRY_CODE",
    /// Time call-progress detection completed (Unix seconds).
    CpdCompleted => "GSW_CPD_COMPLETED",
    /// Caller id digits used for the record.
    CpnDigits => "GSW_CPN_DIGITS",
    /// Caller id set the digits came from.
    CpnDigitsSet => "GSW_CPN_DIGITS_SET",
    /// Customer id used by cancel and do-not-call requests.
    CustomerId => "GSW_CUSTOMER_ID",
    /// Area code of the device.
    DAreaCode => "GSW_D_AREA_CODE",
    /// Region code of the device.
    DStateCode => "GSW_D_STATE_CODE",
    /// Time zone of the device.
    DTzJavaName => "GSW_D_TZ_JAVA_NAME",
    /// Date and time of a scheduled call, `MM/DD/YY HH:MM` or `MM/DD/YYYY HH:MM`.
    DateTime => "GSW_DATE_TIME",
    /// Device mask.
    DeviceMask => "GSW_DEVICE_MASK",
    /// Dialing mode as a number (see [`crate::protocol::DialMode`]).
    DialMode => "GSW_DIAL_MODE",
    /// Time dialing started (Unix seconds).
    Dialing => "GSW_DIALING",
    /// Do-not-call duration in seconds.
    Duration => "GSW_DURATION",
    /// Error name.
    Error => "GSW_ERROR",
    /// Error description.
    ErrorDescription => "GSW_ERROR_DESCRIPTION",
    /// Error number (101-120).
    ErrorNumber => "GSW_ERROR_NUMBER",
    /// Start of the daily window, seconds from midnight in the record's zone.
    From => "GSW_FROM",
    /// Configuration DBID of the agent group.
    GroupDbid => "GSW_GROUP_DBID",
    /// Call report submission sequence number (0 or 1).
    HistSequenceNum => "GSW_HIST_SEQUENCE_NUM",
    /// Ready chains of a calling list (statistics).
    ListComplete => "GSW_LIST_COMPLETE",
    /// Seconds before a smart logout is allowed.
    LogoutTime => "GSW_LOGOUT_TIME",
    /// Free-text message of a cancel or do-not-call exchange.
    Message => "GSW_MESSAGE",
    /// Optimisation method of a predictive group.
    OptimizeBy => "GSW_OPTIMIZE_BY",
    /// Optimisation goal of a predictive group.
    OptimizeGoal => "GSW_OPTIMIZE_GOAL",
    /// The customer's phone number.
    Phone => "GSW_PHONE",
    /// Phone type (see [`crate::protocol::PhoneType`]).
    PhoneType => "GSW_PHONE_TYPE",
    /// The customer's postal code.
    PostalCode => "GSW_POSTAL_CODE",
    /// Seconds until the agent expects to be ready.
    ReadyTime => "GSW_READY_TIME",
    /// Unique record handle (1 and up).
    RecordHandle => "GSW_RECORD_HANDLE",
    /// Record status (see [`crate::protocol::RecordStatus`]).
    RecordStatus => "GSW_RECORD_STATUS",
    /// Record type (see [`crate::protocol::RecordType`]).
    RecordType => "GSW_RECORD_TYPE",
    /// Request reference id, echoed on every reply.
    ReferenceId => "GSW_REFERENCE_ID",
    /// Time the call was released (Unix seconds).
    Released => "GSW_RELEASED",
    /// Scheduled processes in progress (statistics).
    SchedRecNum => "GSW_SCHED_REC_NUM",
    /// Reschedule time of a record (Unix seconds).
    ScheduledTime => "GSW_SCHEDULED_TIME",
    /// DBID of the script attached to the record.
    ScriptId => "GSW_SCRIPT_ID",
    /// Time processing of the call attempt started (Unix seconds).
    StartProcessing => "GSW_START_PROCESSING",
    /// Statistics event type.
    StatEvent => "GSW_STAT_EVENT",
    /// The customer's region code.
    StateCode => "GSW_STATE_CODE",
    /// Configuration DBID of the switch.
    SwitchDbid => "GSW_SWITCH_DBID",
    /// Contact-centre id of the tenant.
    TenantCcid => "GSW_TENANT_CCID",
    /// Name of the tenant.
    TenantName => "GSW_TENANT_NAME",
    /// Treatment applied by RecordProcessed (see [`crate::protocol::Treatment`]).
    Treatment => "GSW_TREATMENT",
    /// The customer's time zone code.
    TzCode => "GSW_TZ_CODE",
    /// The customer's time zone, Java name.
    TzJavaName => "GSW_TZ_JAVA_NAME",
    /// Configuration time zone name (e.g. `EST`).
    TzName => "GSW_TZ_NAME",
    /// Offset of the record's zone from UTC, seconds (-43200 to 43200).
    TzOffset => "GSW_TZ_OFFSET",
    /// End of the daily window, seconds from midnight in the record's zone.
    Until => "GSW_UNTIL",
    /// The event name on every server-to-desktop message.
    UserEvent => "GSW_USER_EVENT",
}

impl fmt::Display for KnownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key of a key-value pair: one the protocol reserves, or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A reserved `GSW_*` key.
    Known(KnownKey),
    /// Any other key, kept as written (it may still start with `GSW_` when a peer sends a
    /// reserved-looking key this engine does not know; see [`Key::has_reserved_prefix`]).
    Custom(CompactString),
}

impl Key {
    /// The key spelled `name`: known when the protocol reserves it, custom otherwise.
    pub fn new(name: &str) -> Key {
        match KnownKey::from_name(name) {
            Some(known) => Key::Known(known),
            None => Key::Custom(CompactString::new(name)),
        }
    }

    /// The key as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Key::Known(known) => known.as_str(),
            Key::Custom(name) => name.as_str(),
        }
    }

    /// The known key, if this is one.
    pub fn known(&self) -> Option<KnownKey> {
        match self {
            Key::Known(known) => Some(*known),
            Key::Custom(_) => None,
        }
    }

    /// True for a custom key that uses the reserved `GSW_` prefix, which custom fields must not.
    pub fn has_reserved_prefix(&self) -> bool {
        matches!(self, Key::Custom(name) if name.starts_with(RESERVED_PREFIX))
    }
}

impl From<KnownKey> for Key {
    fn from(known: KnownKey) -> Key {
        Key::Known(known)
    }
}

impl From<&str> for Key {
    fn from(name: &str) -> Key {
        Key::new(name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<KnownKey> for Key {
    fn eq(&self, other: &KnownKey) -> bool {
        matches!(self, Key::Known(known) if known == other)
    }
}

/// The value of a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string (the spec's `String`).
    Str(CompactString),
    /// An integer (the spec's `Int`, `Integer`, `Int64` and `Long`).
    Int(i64),
    /// A nested key-value list.
    List(KvList),
}

/// The three kinds of value, for error messages and schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// [`Value::Str`].
    Str,
    /// [`Value::Int`].
    Int,
    /// [`Value::List`].
    List,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueKind::Str => "string",
            ValueKind::Int => "integer",
            ValueKind::List => "key-value list",
        })
    }
}

impl Value {
    /// Which kind of value this is.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::Str(_) => ValueKind::Str,
            Value::Int(_) => ValueKind::Int,
            Value::List(_) => ValueKind::List,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The nested list, if this is one.
    pub fn as_list(&self) -> Option<&KvList> {
        match self {
            Value::List(list) => Some(list),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(CompactString::new(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(CompactString::from(s))
    }
}

impl From<CompactString> for Value {
    fn from(s: CompactString) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<KvList> for Value {
    fn from(list: KvList) -> Value {
        Value::List(list)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::List(list) => write!(f, "{list}"),
        }
    }
}

/// What was wrong with a key-value list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvErrorKind {
    /// The key occurs twice in one list.
    DuplicateKey,
    /// A JSON number with a fraction or exponent, or `-0` (which JSON readers such as
    /// serde_json take for the float -0.0).
    Float,
    /// A JSON boolean.
    Bool,
    /// A JSON `null`.
    Null,
    /// A JSON array.
    Array,
    /// An integer outside the signed 64-bit range.
    IntegerOutOfRange,
    /// The text is not a JSON object (or not JSON at all).
    NotAnObject,
    /// The JSON itself is malformed; the parser's message.
    Syntax(String),
}

/// An error building a key-value list, naming the key at fault where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvError {
    kind: KvErrorKind,
    /// Path of keys from the outermost list to the offending key, joined by `/`.
    key: Option<String>,
}

impl KvError {
    fn new(kind: KvErrorKind, key: Option<String>) -> KvError {
        KvError { kind, key }
    }

    /// What went wrong.
    pub fn kind(&self) -> &KvErrorKind {
        &self.kind
    }

    /// The offending key (a `/`-joined path for nested lists), if the error has one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

impl KvError {
    /// What is wrong, without the key.
    pub fn reason(&self) -> String {
        match &self.kind {
            KvErrorKind::Syntax(msg) => format!("malformed JSON: {msg}"),
            kind => Self::reason_of(kind).to_string(),
        }
    }

    fn reason_of(kind: &KvErrorKind) -> &'static str {
        match kind {
            KvErrorKind::DuplicateKey => "duplicate key",
            KvErrorKind::Float => "a number with a fraction is not allowed (integers only)",
            KvErrorKind::Bool => "booleans are not allowed (string, integer or object only)",
            KvErrorKind::Null => "null is not allowed (string, integer or object only)",
            KvErrorKind::Array => "arrays are not allowed (string, integer or object only)",
            KvErrorKind::IntegerOutOfRange => "integer out of the 64-bit signed range",
            KvErrorKind::NotAnObject => "a key-value list must be a JSON object",
            KvErrorKind::Syntax(_) => "malformed JSON",
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            KvErrorKind::DuplicateKey => "duplicate key",
            KvErrorKind::Float => "a number with a fraction is not allowed (integers only)",
            KvErrorKind::Bool => "booleans are not allowed (string, integer or object only)",
            KvErrorKind::Null => "null is not allowed (string, integer or object only)",
            KvErrorKind::Array => "arrays are not allowed (string, integer or object only)",
            KvErrorKind::IntegerOutOfRange => "integer out of the 64-bit signed range",
            KvErrorKind::NotAnObject => "a key-value list must be a JSON object",
            KvErrorKind::Syntax(msg) => return write!(f, "malformed JSON: {msg}"),
        };
        match &self.key {
            Some(key) => write!(f, "key {key}: {what}"),
            None => f.write_str(what),
        }
    }
}

impl std::error::Error for KvError {}

/// Lists longer than this are checked for duplicates by sorting instead of pairwise, so a
/// hostile message with many keys costs `n log n`, not `n²`.
const PAIRWISE_DUPLICATE_CHECK_MAX: usize = 32;

/// An ordered list of key-value pairs with unique keys.
///
/// Insertion order is kept (so encoding is deterministic); lookups are by key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KvList {
    pairs: Vec<(Key, Value)>,
}

impl KvList {
    /// An empty list.
    pub fn new() -> KvList {
        KvList { pairs: Vec::new() }
    }

    /// An empty list with room for `capacity` pairs.
    pub fn with_capacity(capacity: usize) -> KvList {
        KvList { pairs: Vec::with_capacity(capacity) }
    }

    /// Builds a list from pairs, refusing a duplicate key.
    ///
    /// ```
    /// use pacer_engine::kv::{KvList, KnownKey};
    /// let list = KvList::from_pairs([("GSW_PHONE", "5551234".into()), ("tier", 3.into())]).unwrap();
    /// assert_eq!(list.get_str(KnownKey::Phone), Some("5551234"));
    /// assert!(KvList::from_pairs([("a", 1.into()), ("a", 2.into())]).is_err());
    /// ```
    pub fn from_pairs<K: Into<Key>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Result<KvList, KvError> {
        let list = KvList { pairs: pairs.into_iter().map(|(k, v)| (k.into(), v)).collect() };
        match list.find_duplicate() {
            Some(key) => Err(KvError::new(KvErrorKind::DuplicateKey, Some(key.to_string()))),
            None => Ok(list),
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the list has no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Key, &Value)> {
        self.pairs.iter().map(|(k, v)| (k, v))
    }

    /// The value of a known key.
    #[inline]
    pub fn get(&self, key: KnownKey) -> Option<&Value> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value of any key, by its wire name.
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        match KnownKey::from_name(name) {
            Some(known) => self.get(known),
            None => self.pairs.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v),
        }
    }

    /// The string value of a known key, if present and a string.
    pub fn get_str(&self, key: KnownKey) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The integer value of a known key, if present and an integer.
    pub fn get_int(&self, key: KnownKey) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// True when the key is present.
    pub fn contains(&self, key: KnownKey) -> bool {
        self.get(key).is_some()
    }

    /// Adds a pair, refusing a key already present (the list is unchanged then).
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Result<(), KvError> {
        let key = key.into();
        if self.pairs.iter().any(|(k, _)| *k == key) {
            return Err(KvError::new(KvErrorKind::DuplicateKey, Some(key.to_string())));
        }
        self.pairs.push((key, value.into()));
        Ok(())
    }

    /// Sets a pair: replaces the value when the key is present, appends it otherwise.
    pub fn set(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    /// Appends a known key whose absence the caller guarantees (encoders building a message
    /// from typed fields, each written once). Checked in debug builds.
    #[inline]
    pub(crate) fn push_known(&mut self, key: KnownKey, value: Value) {
        debug_assert!(!self.contains(key), "{key} pushed twice");
        self.pairs.push((Key::Known(key), value));
    }

    /// Appends a pair whose key the caller guarantees is absent. Checked in debug builds.
    #[inline]
    pub(crate) fn push_unique(&mut self, key: Key, value: Value) {
        debug_assert!(!self.pairs.iter().any(|(k, _)| *k == key), "{key} pushed twice");
        self.pairs.push((key, value));
    }

    /// Makes room for `additional` more pairs.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.pairs.reserve(additional);
    }

    /// Removes a key, returning its value.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let index = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(index).1)
    }

    /// The first key that occurs more than once, if any.
    pub(crate) fn find_duplicate(&self) -> Option<&Key> {
        let n = self.pairs.len();
        if n <= PAIRWISE_DUPLICATE_CHECK_MAX {
            for i in 1..n {
                if self.pairs[..i].iter().any(|(k, _)| *k == self.pairs[i].0) {
                    return Some(&self.pairs[i].0);
                }
            }
            return None;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| self.pairs[a].0.as_str().cmp(self.pairs[b].0.as_str()).then(a.cmp(&b)));
        // Among the duplicated keys, report the one whose second occurrence comes first, as
        // the pairwise check does.
        order
            .windows(2)
            .filter(|w| self.pairs[w[0]].0 == self.pairs[w[1]].0)
            .map(|w| w[1])
            .min()
            .map(|i| &self.pairs[i].0)
    }

    /// Parses a JSON object into a list, refusing duplicates and values the protocol cannot
    /// carry, with an error naming the key.
    ///
    /// ```
    /// use pacer_engine::kv::KvList;
    /// let list = KvList::from_json_str(r#"{"GSW_RECORD_HANDLE": 7, "note": "hi"}"#).unwrap();
    /// assert_eq!(list.len(), 2);
    /// let err = KvList::from_json_str(r#"{"GSW_RECORD_HANDLE": 7.5}"#).unwrap_err();
    /// assert_eq!(err.key(), Some("GSW_RECORD_HANDLE"));
    /// ```
    pub fn from_json_str(text: &str) -> Result<KvList, KvError> {
        json::parse(text)
    }

    /// [`KvList::from_json_str`] through serde_json's generic deserializer: slower, kept as the
    /// reference the fast reader is tested against.
    pub fn from_json_str_serde(text: &str) -> Result<KvList, KvError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let list = Self::deserialize_tracked(&mut de)?;
        de.end().map_err(|e| KvError::new(KvErrorKind::Syntax(e.to_string()), None))?;
        Ok(list)
    }

    /// Parses a JSON object given as a `serde_json::Value` (slower than [`KvList::from_json_str`]).
    pub fn from_json_value(value: &serde_json::Value) -> Result<KvList, KvError> {
        Self::deserialize_tracked(value)
    }

    /// Deserializes with structured error tracking: the visitor records what went wrong and
    /// where, so the caller gets a [`KvError`] rather than a formatted serde message.
    fn deserialize_tracked<'de, D>(deserializer: D) -> Result<KvList, KvError>
    where
        D: Deserializer<'de>,
        D::Error: fmt::Display,
    {
        let tracker = ErrorTracker::default();
        match deserializer.deserialize_map(ListVisitor { tracker: &tracker, depth_path: None }) {
            Ok(list) => Ok(list),
            Err(e) => Err(tracker.take().unwrap_or_else(|| {
                let message = e.to_string();
                // serde_json refuses a non-object top level before our visitor sees it.
                if message.starts_with("invalid type") {
                    KvError::new(KvErrorKind::NotAnObject, None)
                } else {
                    KvError::new(KvErrorKind::Syntax(message), None)
                }
            })),
        }
    }

    /// The list as a compact JSON object.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        bytes_to_string(out)
    }

    /// Appends the list as a compact JSON object to `out` (the same bytes serde_json writes).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write::write_list(out, self);
    }
}

/// The JSON text the writers produced: UTF-8 by construction (they copy whole `str`s and
/// ASCII), so the check cannot fail; a lossy conversion keeps that a non-panicking path.
pub(crate) fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl fmt::Debug for KvList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.pairs.iter().map(|(k, v)| (k.as_str(), v))).finish()
    }
}

impl fmt::Display for KvList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}: {v}")?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a KvList {
    type Item = &'a (Key, Value);
    type IntoIter = std::slice::Iter<'a, (Key, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter()
    }
}

impl IntoIterator for KvList {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter()
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(s) => serializer.serialize_str(s),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::List(list) => list.serialize(serializer),
        }
    }
}

impl Serialize for KvList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.pairs.len()))?;
        for (k, v) in &self.pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for KvList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KvList, D::Error> {
        let tracker = ErrorTracker::default();
        deserializer.deserialize_map(ListVisitor { tracker: &tracker, depth_path: None }).map_err(|e| {
            match tracker.take() {
                Some(kv_error) => de::Error::custom(kv_error),
                None => e,
            }
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let tracker = ErrorTracker::default();
        deserializer.deserialize_any(ValueVisitor { tracker: &tracker, path: None }).map_err(
            |e| match tracker.take() {
                Some(kv_error) => de::Error::custom(kv_error),
                None => e,
            },
        )
    }
}

/// Where a visitor leaves the structured error before returning serde's opaque one.
#[derive(Default)]
struct ErrorTracker(RefCell<Option<KvError>>);

impl ErrorTracker {
    fn fail<E: de::Error>(&self, kind: KvErrorKind, path: Option<&PathNode<'_>>) -> E {
        let key = path.map(PathNode::join);
        let error = KvError::new(kind, key);
        let message = error.to_string();
        // Keep the first (innermost) error: outer visitors see the inner one propagate.
        self.0.borrow_mut().get_or_insert(error);
        E::custom(message)
    }

    fn take(&self) -> Option<KvError> {
        self.0.borrow_mut().take()
    }
}

/// The key path from the outermost list to the value being read, linked through the stack so
/// reading a value never allocates; it is joined into a string only for an error.
struct PathNode<'p> {
    parent: Option<&'p PathNode<'p>>,
    key: &'p str,
}

impl PathNode<'_> {
    fn join(&self) -> String {
        let mut keys = vec![self.key];
        let mut node = self.parent;
        while let Some(n) = node {
            keys.push(n.key);
            node = n.parent;
        }
        keys.reverse();
        keys.join("/")
    }
}

struct ListVisitor<'t, 'p> {
    tracker: &'t ErrorTracker,
    /// Path of the list being read (None for the outermost), for error messages.
    depth_path: Option<&'p PathNode<'p>>,
}

impl<'de> Visitor<'de> for ListVisitor<'_, '_> {
    type Value = KvList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of keys to strings, integers or objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KvList, A::Error> {
        let mut list = KvList::with_capacity(map.size_hint().unwrap_or(16).min(64));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let node = PathNode { parent: self.depth_path, key: key.as_str() };
            let value = map.next_value_seed(ValueSeed { tracker: self.tracker, path: &node })?;
            // Duplicates are checked inline for short lists (the common case) and by one sort
            // at the end for long ones.
            if list.pairs.len() < PAIRWISE_DUPLICATE_CHECK_MAX && list.pairs.iter().any(|(k, _)| *k == key) {
                return Err(self.tracker.fail(KvErrorKind::DuplicateKey, Some(&node)));
            }
            list.pairs.push((key, value));
        }
        if list.pairs.len() > PAIRWISE_DUPLICATE_CHECK_MAX
            && let Some(key) = list.find_duplicate()
        {
            let node = PathNode { parent: self.depth_path, key: key.as_str() };
            return Err(self.tracker.fail(KvErrorKind::DuplicateKey, Some(&node)));
        }
        Ok(list)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<KvList, A::Error> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }

    fn visit_unit<E: de::Error>(self) -> Result<KvList, E> {
        Err(self.tracker.fail(KvErrorKind::NotAnObject, self.depth_path))
    }
}

/// Reads a key without allocating for known keys or short custom ones.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key::new(v))
    }
}

struct ValueSeed<'t, 'p> {
    tracker: &'t ErrorTracker,
    path: &'p PathNode<'p>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor { tracker: self.tracker, path: Some(self.path) })
    }
}

struct ValueVisitor<'t, 'p> {
    tracker: &'t ErrorTracker,
    /// None only for a bare value deserialized on its own.
    path: Option<&'p PathNode<'p>>,
}

impl<'de> Visitor<'de> for ValueVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an integer or an object")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(CompactString::new(v)))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(CompactString::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(self.tracker.fail(KvErrorKind::IntegerOutOfRange, self.path)),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(self.tracker.fail(KvErrorKind::IntegerOutOfRange, self.path)),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(self.tracker.fail(KvErrorKind::IntegerOutOfRange, self.path)),
        }
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Value, E> {
        Err(self.tracker.fail(KvErrorKind::Float, self.path))
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Value, E> {
        Err(self.tracker.fail(KvErrorKind::Bool, self.path))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Err(self.tracker.fail(KvErrorKind::Null, self.path))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Err(self.tracker.fail(KvErrorKind::Null, self.path))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Value, A::Error> {
        Err(self.tracker.fail(KvErrorKind::Array, self.path))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        ListVisitor { tracker: self.tracker, depth_path: self.path }.visit_map(map).map(Value::List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(json: &str, kind: KvErrorKind, key: Option<&str>) {
        let err = KvList::from_json_str(json).unwrap_err();
        assert_eq!(err.kind(), &kind, "{json}: {err}");
        assert_eq!(err.key(), key, "{json}: {err}");
    }

    #[test]
    fn known_keys_round_trip_their_names() {
        for &key in KnownKey::ALL {
            assert_eq!(KnownKey::from_name(key.as_str()), Some(key));
            assert!(key.as_str().starts_with(RESERVED_PREFIX));
        }
        assert_eq!(KnownKey::from_name("gsw_phone"), None, "keys are case-sensitive");
    }

    #[test]
    fn near_misses_of_known_keys_are_custom() {
        // Every one-byte change, at every position (the middle of long keys included, which
        // the signature does not cover), one byte more and one byte less.
        for &key in KnownKey::ALL {
            let name = key.as_str();
            for position in 0..name.len() {
                let mut bytes = name.as_bytes().to_vec();
                bytes[position] = if bytes[position] == b'X' { b'Y' } else { b'X' };
                let changed = String::from_utf8(bytes).unwrap();
                assert_eq!(KnownKey::from_name(&changed), None, "{changed}");
            }
            assert_eq!(KnownKey::from_name(&format!("{name}S")), None);
            assert_eq!(KnownKey::from_name(&name[..name.len() - 1]), None);
        }
        assert_eq!(KnownKey::from_name(""), None);
        assert_eq!(KnownKey::from_name("GSW_"), None);
    }

    #[test]
    fn parses_all_three_value_kinds_in_any_order() {
        let list =
            KvList::from_json_str(r#"{"nested": {"inner": 1}, "GSW_PHONE": "555", "GSW_RECORD_HANDLE": 42}"#)
                .unwrap();
        assert_eq!(list.get_str(KnownKey::Phone), Some("555"));
        assert_eq!(list.get_int(KnownKey::RecordHandle), Some(42));
        let nested = list.get_by_name("nested").and_then(Value::as_list).unwrap();
        assert_eq!(nested.get_by_name("inner"), Some(&Value::Int(1)));
        assert_eq!(list.iter().next().unwrap().0.as_str(), "nested", "order is kept");
    }

    #[test]
    fn refuses_what_the_protocol_cannot_carry_naming_the_key() {
        check_err(r#"{"a": 1.5}"#, KvErrorKind::Float, Some("a"));
        check_err(r#"{"a": 1e3}"#, KvErrorKind::Float, Some("a"));
        check_err(r#"{"a": -0}"#, KvErrorKind::Float, Some("a"));
        assert_eq!(
            KvList::from_json_str(r#"{"a": 0, "b": -10}"#).unwrap().get_by_name("b"),
            Some(&Value::Int(-10))
        );
        check_err(r#"{"a": true}"#, KvErrorKind::Bool, Some("a"));
        check_err(r#"{"a": null}"#, KvErrorKind::Null, Some("a"));
        check_err(r#"{"a": [1]}"#, KvErrorKind::Array, Some("a"));
        check_err(r#"{"a": {"b": 2.5}}"#, KvErrorKind::Float, Some("a/b"));
        check_err(r#"{"a": 18446744073709551615}"#, KvErrorKind::IntegerOutOfRange, Some("a"));
        check_err(r#"[1, 2]"#, KvErrorKind::NotAnObject, None);
        check_err(r#""x""#, KvErrorKind::NotAnObject, None);
        assert!(matches!(KvList::from_json_str(r#"{"a": 1"#).unwrap_err().kind(), KvErrorKind::Syntax(_)));
        assert!(matches!(
            KvList::from_json_str(r#"{"a": 1} trailing"#).unwrap_err().kind(),
            KvErrorKind::Syntax(_)
        ));
    }

    #[test]
    fn duplicate_keys_are_errors_in_short_long_and_nested_lists() {
        check_err(r#"{"GSW_PHONE": "1", "GSW_PHONE": "2"}"#, KvErrorKind::DuplicateKey, Some("GSW_PHONE"));
        check_err(r#"{"x": {"k": 1, "k": 2}}"#, KvErrorKind::DuplicateKey, Some("x/k"));
        let mut long = String::from("{");
        for i in 0..100 {
            long.push_str(&format!("\"k{i}\": {i},"));
        }
        long.push_str("\"k57\": 0}");
        check_err(&long, KvErrorKind::DuplicateKey, Some("k57"));
    }

    #[test]
    fn json_round_trip_preserves_pairs() {
        let text = r#"{"GSW_AGENT_REQ_TYPE":"RecordProcessed","n":-3,"sub":{"a":"b"}}"#;
        let list = KvList::from_json_str(text).unwrap();
        assert_eq!(list.to_json_string(), text);
        let via_serde: KvList = serde_json::from_str(text).unwrap();
        assert_eq!(via_serde, list);
        let err = serde_json::from_str::<KvList>(r#"{"k": false}"#).unwrap_err();
        assert!(err.to_string().contains("key k"), "{err}");
    }

    #[test]
    fn insert_refuses_duplicates_and_set_replaces() {
        let mut list = KvList::new();
        list.insert(KnownKey::Phone, "1").unwrap();
        assert!(list.insert("GSW_PHONE", "2").is_err(), "the wire name is the same key");
        list.set(KnownKey::Phone, "3");
        assert_eq!(list.get_str(KnownKey::Phone), Some("3"));
        assert_eq!(list.len(), 1);
        assert!(Key::new("GSW_MADE_UP").has_reserved_prefix());
        assert!(!Key::new("GSW_PHONE").has_reserved_prefix());
    }
}
