//! Calling lists, their records, chains, record handles and the do-not-call list.
//!
//! - [`Record`]: one row of a calling list, mandatory fields typed with the protocol's
//!   enumerations, custom fields as [`Value`]s described by the list's [`ListFormat`].
//! - [`CallingList`]: a named list of records, loaded from and saved to CSV (header = field
//!   names, see [`CallingList::read_csv`] for the format). Loading is all or nothing: a bad row
//!   is a [`ListError`] naming file, line and field.
//! - [`RecordStore`]: every list the server has, with record handles (unique for the store's
//!   life, never reused), chains ordered by `chain_n`, phone and customer-id indexes, and the
//!   retrieval queues that hand out the next dialable record without scanning the lists.
//! - [`DoNotCallList`]: one tenant's do-not-call phones and customer ids, with expiry.
//! - [`tz`]: the time-zone table records are scheduled in.
//!
//! The module does no IO of its own beyond the explicit CSV load and save functions, and reads
//! no clock: every time-dependent question takes the time as an argument.

mod dnc;
mod index;
mod list;
mod store;
pub mod tz;

use compact_str::CompactString;

pub use crate::kv::Value;
use crate::protocol::{CallResult, PhoneType, RecordStatus, RecordType};
pub use dnc::{DncError, DoNotCallList};
pub use list::{CallingList, ListError, MANDATORY_COLUMNS, OPTIONAL_COLUMNS};
pub use store::{ListId, RecordMut, RecordStore, StoreError, UpdateError};

/// Longest contact information (`contact_info`, `GSW_PHONE`) a record may hold, bytes: more
/// than any phone number, e-mail address or messaging handle, and a bound on what one bad row
/// or request can make the engine store and echo.
pub const MAX_CONTACT_INFO_BYTES: usize = 128;

/// Checks a record's contact information for its type: not blank, at most
/// [`MAX_CONTACT_INFO_BYTES`], no control characters; and for a voice type (see
/// [`PhoneType::media_type`]) something a dialer can dial: a number of digits and the usual
/// separators (`+ - . / ( ) # * , ;`, spaces), with `x` or `ext` for an extension and `p` or
/// `w` for a pause, optionally as a `tel:` URI, or a `sip:` address. The error says what is
/// wrong, for the caller to place (a file's line and column, or a protocol error).
///
/// ```
/// use pacer_engine::protocol::PhoneType;
/// use pacer_engine::records::check_contact_info;
/// assert_eq!(check_contact_info("+1 (416) 555-0100 x12", PhoneType::BusinessWithExt), Ok(()));
/// assert_eq!(check_contact_info("ann@example.com", PhoneType::EmailAddress), Ok(()));
/// assert!(check_contact_info("555-CALL", PhoneType::Mobile).is_err());
/// assert!(check_contact_info("555\u{0}1", PhoneType::EmailAddress).is_err());
/// ```
pub fn check_contact_info(contact: &str, phone_type: PhoneType) -> Result<(), String> {
    if contact.trim().is_empty() {
        return Err("empty: every record needs contact information".into());
    }
    if contact.len() > MAX_CONTACT_INFO_BYTES {
        return Err(format!("longer than {MAX_CONTACT_INFO_BYTES} bytes ({} bytes)", contact.len()));
    }
    if contact.chars().any(char::is_control) {
        return Err(format!("{contact:?} holds a control character"));
    }
    if phone_type.media_type() == crate::protocol::ContactMediaType::Voice && !dialable(contact) {
        return Err(format!(
            "`{contact}` is not a phone number (digits, with + - . / ( ) # * , ; spaces, \
             x or ext for an extension, p or w for a pause, or a tel: or sip: address)"
        ));
    }
    Ok(())
}

/// True when `contact` is something a dialer can dial: a `sip:` / `sips:` address, or a
/// number (after an optional `tel:`, RFC 3966) of digits and the separators lists use
/// (`+ - . / ( ) # * , ; =` and any white space, such as the no-break space a spreadsheet
/// pastes), where the only words are, after the first digit, an extension marker (`x`,
/// `ext`, RFC 3966's `;ext=`) or a dial pause (`p`, `w`). Vanity numbers (`555-CALL`) and
/// placeholders (`n/a`) are refused.
fn dialable(contact: &str) -> bool {
    // Without allocating: every record of every list passes here when loaded.
    fn strip<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        let head = text.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
    }
    if let Some(address) = strip(contact, "sip:").or_else(|| strip(contact, "sips:")) {
        return !address.is_empty() && !address.chars().any(char::is_whitespace);
    }
    let number = strip(contact, "tel:").unwrap_or(contact);
    let word_ok = |word: &str, digits: bool| {
        word.is_empty() || (digits && ["x", "ext", "p", "w"].iter().any(|w| w.eq_ignore_ascii_case(word)))
    };
    let mut digits = false;
    let mut word_start = None;
    for (i, c) in number.char_indices() {
        if c.is_ascii_alphabetic() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take()
            && !word_ok(&number[start..i], digits)
        {
            return false;
        }
        if c.is_ascii_digit() {
            digits = true;
        } else if !(c.is_whitespace() || "+-./()#*,;=".contains(c)) {
            return false;
        }
    }
    digits && word_start.is_none_or(|start| word_ok(&number[start..], digits))
}

/// A record handle: the record's identity on the wire (`GSW_RECORD_HANDLE`).
///
/// A [`RecordStore`] hands them out from 1 upwards, one per record it is given, and never
/// hands the same one out twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordHandle(pub i64);

impl std::fmt::Display for RecordHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The data type of a custom field, as the calling list's table declares it.
///
/// On the desktop protocol an `INT` field travels as an integer and every other type as a
/// string (the spec's custom data formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `INT`: sent as an integer.
    Int,
    /// `FLOAT`: sent as a string; the text is kept exactly as loaded.
    Float,
    /// `CHAR`: sent as a string.
    Char,
    /// `DATETIME`: sent as a string, kept exactly as loaded.
    DateTime,
    /// `VARCHAR`: sent as a string.
    Varchar,
}

impl FieldType {
    /// Every type.
    pub const ALL: &'static [FieldType] =
        &[FieldType::Int, FieldType::Float, FieldType::Char, FieldType::DateTime, FieldType::Varchar];

    /// The SQL-style name (`INT`, `FLOAT`, `CHAR`, `DATETIME`, `VARCHAR`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldType::Int => "INT",
            FieldType::Float => "FLOAT",
            FieldType::Char => "CHAR",
            FieldType::DateTime => "DATETIME",
            FieldType::Varchar => "VARCHAR",
        }
    }

    /// The type named `name`, case-insensitively; `INTEGER` is accepted for `INT`.
    pub fn from_name(name: &str) -> Option<FieldType> {
        let upper = name.to_ascii_uppercase();
        match upper.as_str() {
            "INT" | "INTEGER" => Some(FieldType::Int),
            "FLOAT" => Some(FieldType::Float),
            "CHAR" => Some(FieldType::Char),
            "DATETIME" => Some(FieldType::DateTime),
            "VARCHAR" => Some(FieldType::Varchar),
            _ => None,
        }
    }

    /// Parses a non-empty cell of this type into the value carried on the protocol, or says
    /// why it is not one.
    pub fn parse(self, text: &str) -> Result<Value, String> {
        match self {
            FieldType::Int => text
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("`{text}` is not an integer (INT field)")),
            FieldType::Float => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Value::Str(CompactString::from(text))),
                _ => Err(format!("`{text}` is not a finite number (FLOAT field)")),
            },
            FieldType::Char | FieldType::DateTime | FieldType::Varchar => {
                Ok(Value::Str(CompactString::from(text)))
            }
        }
    }
}

impl FieldType {
    /// The value a desktop sent for a field of this type (UpdateCallCompletionStats,
    /// RecordProcessed, AddRecord), converted to the form the record keeps: an integer for
    /// `INT` (a string of digits is accepted), a string for the others (an integer is
    /// written out). A nested list, or text that is not of the type, is refused with the
    /// reason.
    pub fn coerce(self, value: &Value) -> Result<Value, String> {
        match (self, value) {
            (FieldType::Int, Value::Int(_)) => Ok(value.clone()),
            (_, Value::Str(s)) => self.parse(s),
            (_, Value::Int(i)) => Ok(Value::Str(compact_str::format_compact!("{i}"))),
            (_, Value::List(_)) => Err(format!("a key-value list cannot fill a {self} field")),
        }
    }

    /// True if `value` has the form a record keeps for this type.
    pub fn holds(self, value: &Value) -> bool {
        match value {
            Value::Int(_) => self == FieldType::Int,
            Value::Str(s) => self != FieldType::Int && (self != FieldType::Float || self.parse(s).is_ok()),
            Value::List(_) => false,
        }
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One custom (user-defined) column of a calling list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldDef {
    /// The column name.
    pub name: CompactString,
    /// The key the field's value is attached under on desktop events and dialed calls; `None`
    /// means the field is not sent.
    pub send_attribute: Option<CompactString>,
    /// The declared data type.
    pub data_type: FieldType,
}

impl CustomFieldDef {
    /// A field named `name` of type `data_type`, sent under `send_attribute` if given.
    pub fn new(name: &str, data_type: FieldType, send_attribute: Option<&str>) -> CustomFieldDef {
        CustomFieldDef {
            name: name.into(),
            send_attribute: send_attribute.map(CompactString::from),
            data_type,
        }
    }
}

/// The custom columns of a calling list, in column order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFormat {
    /// The custom fields; [`Record::custom`] is indexed like this.
    pub custom: Vec<CustomFieldDef>,
}

impl ListFormat {
    /// The index of the custom field named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.custom.iter().position(|f| f.name == name)
    }

    /// The custom fields of `record` that are sent with it: (send_attribute key, value) in
    /// column order, skipping fields without a send_attribute and empty cells. `INT` values
    /// are integers and every other type a string, as the spec's custom data formats say.
    ///
    /// ```
    /// use pacer_engine::records::{CustomFieldDef, FieldType, ListFormat, Record, Value};
    /// let format = ListFormat { custom: vec![
    ///     CustomFieldDef::new("balance", FieldType::Int, Some("bal")),
    ///     CustomFieldDef::new("notes", FieldType::Varchar, None),
    /// ]};
    /// let mut r = Record::new(1, "5551000", "EST");
    /// r.custom = vec![Some(Value::Int(40)), Some(Value::Str("vip".into()))];
    /// let sent: Vec<_> = format.sent_fields(&r).collect();
    /// assert_eq!(sent, vec![("bal", &Value::Int(40))]);
    /// ```
    pub fn sent_fields<'a>(&'a self, record: &'a Record) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.custom
            .iter()
            .zip(&record.custom)
            .filter_map(|(def, value)| Some((def.send_attribute.as_deref()?, value.as_ref()?)))
    }

    /// The index of the custom field sent under key `send_attribute`.
    pub fn index_of_send_attribute(&self, send_attribute: &str) -> Option<usize> {
        self.custom.iter().position(|f| f.send_attribute.as_deref() == Some(send_attribute))
    }
}

/// Default daily window start for new records: 08:00 local time.
pub const DEFAULT_DAILY_FROM_S: i32 = 28_800;
/// Default daily window end for new records: 18:00 local time.
pub const DEFAULT_DAILY_TILL_S: i32 = 64_800;

/// One row of a calling list.
///
/// Field names follow the calling list's columns; `phone` is `contact_info`, `phone_type` is
/// `contact_info_type`, `daily_from_s` / `daily_till_s` are `daily_from` / `daily_till`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `record_id`: the row's id in the list (positive, unique in the list).
    pub record_id: i64,
    /// `contact_info`: the phone number (or address) to contact.
    pub phone: CompactString,
    /// `contact_info_type`.
    pub phone_type: PhoneType,
    /// `record_type`.
    pub record_type: RecordType,
    /// `record_status`.
    pub record_status: RecordStatus,
    /// `call_result` of the last attempt.
    pub call_result: CallResult,
    /// `attempts` so far.
    pub attempts: i32,
    /// `dial_sched_time`: when a rescheduled record or callback is due, Unix seconds.
    pub dial_sched_time: Option<i64>,
    /// `call_time`: when the record was last called, Unix seconds.
    pub call_time: Option<i64>,
    /// `daily_from`: window start, seconds from local midnight.
    pub daily_from_s: i32,
    /// `daily_till`: window end, seconds from local midnight.
    pub daily_till_s: i32,
    /// The zone's name (see [`tz`]).
    pub tz_name: CompactString,
    /// Standard offset of the zone, seconds east of UTC; used as is for zones not in the table.
    pub tz_offset_s: i32,
    /// `agent_id`: login id of the last agent who worked the record.
    pub agent_id: Option<CompactString>,
    /// `chain_id`: the chain (one customer, several numbers) the record belongs to.
    pub chain_id: i64,
    /// `chain_n`: position in the chain.
    pub chain_n: i32,
    /// `customer_id`: the customer identifier do-not-call requests may name.
    pub customer_id: Option<CompactString>,
    /// `switch_dbid`: the switch for push-preview interactions.
    pub switch_dbid: Option<i64>,
    /// Custom fields, indexed like [`ListFormat::custom`]; `None` is an empty cell.
    pub custom: Vec<Option<Value>>,
}

impl Record {
    /// A record with the defaults AddRecord gives: Direct Business Phone, General, Ready,
    /// Unknown Call Result, no attempts, window 08:00-18:00, chain `record_id` position 0, and
    /// the zone's standard offset (0 for a zone not in the table). `custom` starts empty;
    /// fill it to the list's format before adding the record to a list.
    ///
    /// ```
    /// use pacer_engine::records::Record;
    /// use pacer_engine::protocol::RecordStatus;
    /// let r = Record::new(7, "5551234", "EST");
    /// assert_eq!(r.record_status, RecordStatus::Ready);
    /// assert_eq!(r.tz_offset_s, -18000);
    /// assert_eq!((r.chain_id, r.chain_n), (7, 0));
    /// ```
    pub fn new(record_id: i64, phone: &str, tz_name: &str) -> Record {
        Record {
            record_id,
            phone: phone.into(),
            phone_type: PhoneType::DirectBusinessPhone,
            record_type: RecordType::General,
            record_status: RecordStatus::Ready,
            call_result: CallResult::UnknownCallResult,
            attempts: 0,
            dial_sched_time: None,
            call_time: None,
            daily_from_s: DEFAULT_DAILY_FROM_S,
            daily_till_s: DEFAULT_DAILY_TILL_S,
            tz_name: tz_name.into(),
            tz_offset_s: tz::zone_by_name(tz_name).map_or(0, |z| z.std_offset_s),
            agent_id: None,
            chain_id: record_id,
            chain_n: 0,
            customer_id: None,
            switch_dbid: None,
            custom: Vec::new(),
        }
    }

    /// The record's daily window.
    pub fn window(&self) -> tz::DailyWindow {
        tz::DailyWindow { from_s: i64::from(self.daily_from_s), till_s: i64::from(self.daily_till_s) }
    }

    /// The zone's offset from UTC (seconds east) in force at `now`: what `GSW_TZ_OFFSET`
    /// carries.
    pub fn offset_at(&self, now: crate::time::Time) -> i32 {
        tz::offset_at(&self.tz_name, self.tz_offset_s, now.as_unix_s())
    }

    /// True for the callback record types, which are delivered when due
    /// ([`RecordStore::due_scheduled`]) rather than retrieved for dialing.
    pub fn is_callback(&self) -> bool {
        matches!(self.record_type, RecordType::PersonalCallBack | RecordType::CampaignCallBack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types_by_name_and_the_values_they_keep() {
        for &t in FieldType::ALL {
            assert_eq!(FieldType::from_name(t.as_str()), Some(t));
            assert_eq!(FieldType::from_name(&t.as_str().to_lowercase()), Some(t));
        }
        assert_eq!(FieldType::from_name("INTEGER"), Some(FieldType::Int));
        assert_eq!(FieldType::from_name("TEXT"), None);
        let s = |text: &str| Value::Str(text.into());
        assert_eq!(FieldType::Int.coerce(&s("42")), Ok(Value::Int(42)));
        assert_eq!(FieldType::Int.coerce(&Value::Int(-1)), Ok(Value::Int(-1)));
        assert!(FieldType::Int.coerce(&s("4.2")).is_err());
        assert_eq!(FieldType::Varchar.coerce(&Value::Int(7)), Ok(s("7")));
        assert_eq!(FieldType::Float.coerce(&s("2.50")), Ok(s("2.50")), "FLOAT text kept as sent");
        assert!(FieldType::Float.coerce(&s("NaN")).is_err());
        assert!(FieldType::Float.coerce(&s("inf")).is_err());
        assert!(FieldType::Char.coerce(&Value::List(crate::kv::KvList::new())).is_err());
        assert!(FieldType::Int.holds(&Value::Int(1)) && !FieldType::Int.holds(&s("1")));
        assert!(FieldType::DateTime.holds(&s("2027-01-01 10:00")) && !FieldType::Char.holds(&Value::Int(1)));
        assert!(!FieldType::Float.holds(&s("x")));
    }

    #[test]
    fn sent_fields_skip_unsent_and_empty_ones() {
        let format = ListFormat {
            custom: vec![
                CustomFieldDef::new("a", FieldType::Int, Some("key_a")),
                CustomFieldDef::new("b", FieldType::Char, Some("key_b")),
                CustomFieldDef::new("c", FieldType::Char, None),
            ],
        };
        let mut r = Record::new(1, "1", "UTC");
        r.custom = vec![None, Some(Value::Str("x".into())), Some(Value::Str("y".into()))];
        let sent: Vec<_> = format.sent_fields(&r).collect();
        assert_eq!(sent, vec![("key_b", &Value::Str("x".into()))]);
        assert_eq!(format.index_of("c"), Some(2));
        assert_eq!(format.index_of_send_attribute("key_a"), Some(0));
        assert_eq!(format.index_of_send_attribute("c"), None);
    }
}
