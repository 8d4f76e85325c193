//! The spec's attached-data tables as data: which keys each message has, their types, and
//! which are mandatory. Decoding checks a message against its table before reading it, so the
//! first missing key (102) or mistyped key (103) is found in table order, the same way for
//! every message.

use std::borrow::Cow;

use compact_str::CompactString;
use smallvec::SmallVec;

use crate::kv::{self, Key, KnownKey, KvError, KvList, Sink, Value, ValueKind};
use crate::protocol::error::ProtocolError;

/// The type a table gives a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `String`.
    Str,
    /// `Int` / `Integer` / `Int64`.
    Int,
    /// A key the tables type inconsistently (e.g. `GSW_CALL_TIME` is a `String` in the
    /// record events but an `Integer` among the reserved keys; `GSW_CUSTOMER_ID` a `String`
    /// in requests but an `Int` in RecordCancel): either is accepted, a nested list is not.
    StrOrInt,
}

impl Ty {
    /// True when `value` has this type.
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Ty::Str, Value::Str(_))
                | (Ty::Int, Value::Int(_))
                | (Ty::StrOrInt, Value::Str(_) | Value::Int(_))
        )
    }

    fn expected(self) -> &'static str {
        match self {
            Ty::Str => "expected a string",
            Ty::Int => "expected an integer",
            Ty::StrOrInt => "expected a string or an integer",
        }
    }
}

/// Whether a key must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    /// Always mandatory (102 when missing).
    Required,
    /// May be left out.
    Optional,
    /// Mandatory under a rule the message's decoder checks (RequestRecordCancel and
    /// DoNotCall: campaign and calling list when a record handle is given, otherwise a phone
    /// or customer id).
    Conditional,
}

/// One row of an attached-data table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// The key.
    pub key: KnownKey,
    /// Its type.
    pub ty: Ty,
    /// Whether it is mandatory.
    pub need: Need,
}

/// One message's attached-data table.
#[derive(Clone, Copy, Debug)]
pub struct MessageSchema {
    /// The message name (the value of `GSW_AGENT_REQ_TYPE` or `GSW_USER_EVENT`).
    pub name: &'static str,
    /// The rows, in the spec's order.
    pub keys: &'static [KeySpec],
    /// True when the message may carry custom fields (keys without the `GSW_` prefix).
    pub custom_fields: bool,
}

impl MessageSchema {
    /// The row of `key`, if the table has one.
    pub fn spec(&self, key: KnownKey) -> Option<&KeySpec> {
        self.keys.iter().find(|s| s.key == key)
    }

    /// The mandatory keys, in table order.
    pub fn required(&self) -> impl Iterator<Item = KnownKey> + '_ {
        self.keys.iter().filter(|s| s.need == Need::Required).map(|s| s.key)
    }
}

/// Shorthand for table rows.
pub(crate) const fn req(key: KnownKey, ty: Ty) -> KeySpec {
    KeySpec { key, ty, need: Need::Required }
}

/// Shorthand for table rows.
pub(crate) const fn opt(key: KnownKey, ty: Ty) -> KeySpec {
    KeySpec { key, ty, need: Need::Optional }
}

/// Shorthand for table rows.
pub(crate) const fn cond(key: KnownKey, ty: Ty) -> KeySpec {
    KeySpec { key, ty, need: Need::Conditional }
}

const N_KNOWN: usize = KnownKey::ALL.len();

// Positions in `Fields::known` are stored plus one in a byte: a message holds each known key
// at most once, so there are never more than `N_KNOWN` of them.
const _: () = assert!(N_KNOWN < u8::MAX as usize);

/// The value of a known key as a decoder sees it, borrowed from the JSON line or the list
/// it was read from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field<'s> {
    /// A string.
    Str(&'s str),
    /// An integer.
    Int(i64),
    /// A nested list (which no table allows for a known key, but which must be reported).
    List(&'s KvList),
}

impl<'s> Field<'s> {
    /// Which kind of value this is.
    pub(crate) fn kind(self) -> ValueKind {
        match self {
            Field::Str(_) => ValueKind::Str,
            Field::Int(_) => ValueKind::Int,
            Field::List(_) => ValueKind::List,
        }
    }

    /// The string, if this is one.
    #[inline]
    pub(crate) fn as_str(self) -> Option<&'s str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    #[inline]
    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            Field::Int(i) => Some(i),
            _ => None,
        }
    }

    /// An owned copy, for the few places that keep the value as it was sent.
    pub(crate) fn to_value(self) -> Value {
        match self {
            Field::Str(s) => Value::from(s),
            Field::Int(i) => Value::Int(i),
            Field::List(list) => Value::List(list.clone()),
        }
    }

    fn accepted_by(self, ty: Ty) -> bool {
        matches!(
            (ty, self.kind()),
            (Ty::Str, ValueKind::Str)
                | (Ty::Int, ValueKind::Int)
                | (Ty::StrOrInt, ValueKind::Str | ValueKind::Int)
        )
    }
}

/// Where a known key's value is, in 16 plain bytes: a span of the input, an integer, or an
/// index into [`Fields::others`]. (Plain integers rather than an enum with borrowed and owned
/// payloads: the compiler stores those field by field, where an enum was built on the stack
/// and copied, and the copy stalled on store forwarding at every pair.)
#[derive(Clone, Copy)]
struct Slot {
    key: KnownKey,
    kind: SlotKind,
    /// Text: start << 32 | end, byte offsets into the input. Int: the value's bits. Other:
    /// the index in `others`.
    data: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Text,
    Int,
    Other,
}

/// A known key's value that is not a plain span of the input: an unescaped string, a nested
/// list, or anything from a list (which has no single input text).
enum Other<'a> {
    Str(&'a str),
    Owned(CompactString),
    List(Cow<'a, KvList>),
}

/// A message split for decoding: its known keys, each found by one array read, and its custom
/// pairs, already in the list the typed result keeps.
///
/// Filled straight from a JSON line ([`Fields::read_json`], the gateway's hot path: no
/// intermediate [`KvList`], and no heap allocation for known keys) or from a list
/// ([`Fields::from_kv`]).
pub(crate) struct Fields<'a> {
    /// The JSON line the spans point into (empty when built from a list).
    text: &'a str,
    /// Position plus one in `known` of each known key; 0 when absent.
    index: [u8; N_KNOWN],
    /// The known keys, in the order they came.
    known: SmallVec<[Slot; KNOWN_INLINE]>,
    /// Values of known keys that are not spans of the input.
    others: Vec<Other<'a>>,
    /// The custom pairs, in the order they came.
    custom: KvList,
}

/// Known keys held without a heap allocation: more than any message's table lists.
const KNOWN_INLINE: usize = 24;

/// Room made for custom pairs at the first one, so a typical message's fields (the spec's
/// send_attribute list) fill one allocation instead of growing through several.
const CUSTOM_FIRST_RESERVE: usize = 8;

impl<'a> Fields<'a> {
    #[inline]
    fn empty(text: &'a str) -> Fields<'a> {
        Fields {
            text,
            index: [0; N_KNOWN],
            known: SmallVec::new(),
            others: Vec::new(),
            custom: KvList::new(),
        }
    }

    /// The fields of a list (its custom pairs are copied).
    pub(crate) fn from_kv(kv: &'a KvList) -> Fields<'a> {
        let mut fields = Fields::empty("");
        for (key, value) in kv {
            match key {
                Key::Known(known) => match value {
                    Value::Int(i) => fields.push_known(*known, SlotKind::Int, *i as u64),
                    Value::Str(s) => fields.push_other(*known, Other::Str(s.as_str())),
                    Value::List(list) => fields.push_other(*known, Other::List(Cow::Borrowed(list))),
                },
                Key::Custom(_) => fields.push_custom(key.clone(), value.clone()),
            }
        }
        fields
    }

    /// Fields to be filled by [`Fields::read_json`] from `text`. (Filled in place: the inline
    /// storage is a few hundred bytes, which moving a filled value would copy.)
    #[inline]
    pub(crate) fn new(text: &'a str) -> Fields<'a> {
        Fields::empty(text)
    }

    /// Reads the JSON line given to [`Fields::new`] into these (empty) fields, with the same
    /// checks and errors as [`KvList::from_json_str`].
    pub(crate) fn read_json(&mut self) -> Result<(), KvError> {
        debug_assert!(self.known.is_empty() && self.custom.is_empty(), "read into used fields");
        kv::parse_json_into(self.text, self)
    }

    #[inline]
    fn push_known(&mut self, key: KnownKey, kind: SlotKind, data: u64) {
        self.known.push(Slot { key, kind, data });
        // At most N_KNOWN distinct keys, so the position fits (see the assertion above).
        self.index[key as usize] = self.known.len() as u8;
    }

    fn push_other(&mut self, key: KnownKey, other: Other<'a>) {
        self.others.push(other);
        self.push_known(key, SlotKind::Other, (self.others.len() - 1) as u64);
    }

    #[inline]
    fn push_custom(&mut self, key: Key, value: Value) {
        if self.custom.is_empty() {
            self.custom.reserve(CUSTOM_FIRST_RESERVE);
        }
        self.custom.push_unique(key, value);
    }

    #[inline]
    fn field(&self, slot: Slot) -> Field<'_> {
        match slot.kind {
            SlotKind::Int => Field::Int(slot.data as i64),
            SlotKind::Text => {
                let (start, end) = ((slot.data >> 32) as usize, (slot.data & u64::from(u32::MAX)) as usize);
                // The span was cut by the reader between ASCII quotes, so it is in range and
                // on character boundaries; `get` keeps even a broken invariant from panicking.
                Field::Str(self.text.get(start..end).unwrap_or_default())
            }
            SlotKind::Other => match self.others.get(slot.data as usize) {
                Some(Other::Str(s)) => Field::Str(s),
                Some(Other::Owned(s)) => Field::Str(s.as_str()),
                Some(Other::List(list)) => Field::List(list),
                None => Field::Str(""),
            },
        }
    }

    /// The value of a known key.
    #[inline]
    pub(crate) fn get(&self, key: KnownKey) -> Option<Field<'_>> {
        match self.index[key as usize] {
            0 => None,
            pos => self.known.get(usize::from(pos) - 1).map(|slot| self.field(*slot)),
        }
    }

    /// The known keys, in the order they came.
    pub(crate) fn known(&self) -> impl Iterator<Item = (KnownKey, Field<'_>)> {
        self.known.iter().map(|slot| (slot.key, self.field(*slot)))
    }

    /// The custom pairs, in the order they came.
    pub(crate) fn custom(&self) -> &KvList {
        &self.custom
    }

    /// Takes the custom pairs out (a decoder that keeps them all, once checked).
    pub(crate) fn take_custom(&mut self) -> KvList {
        std::mem::take(&mut self.custom)
    }

    /// Checks presence and type of every key of `schema`, in table order.
    pub(crate) fn check(&self, schema: &MessageSchema) -> Result<(), ProtocolError> {
        for spec in schema.keys {
            match self.get(spec.key) {
                None if spec.need == Need::Required => return Err(ProtocolError::missing(spec.key)),
                None => {}
                Some(value) if !value.accepted_by(spec.ty) => {
                    return Err(ProtocolError::invalid(
                        spec.key,
                        format!("{}, got {}", spec.ty.expected(), value.kind()),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// A string value (type already checked against the schema).
    #[inline]
    pub(crate) fn str(&self, key: KnownKey) -> Option<&str> {
        self.get(key).and_then(Field::as_str)
    }

    /// A mandatory string value.
    #[inline]
    pub(crate) fn req_str(&self, key: KnownKey) -> Result<&str, ProtocolError> {
        self.str(key).ok_or_else(|| ProtocolError::missing(key))
    }

    /// An integer value (type already checked against the schema).
    #[inline]
    pub(crate) fn int(&self, key: KnownKey) -> Option<i64> {
        self.get(key).and_then(Field::as_int)
    }

    /// A mandatory integer value.
    #[inline]
    pub(crate) fn req_int(&self, key: KnownKey) -> Result<i64, ProtocolError> {
        self.int(key).ok_or_else(|| ProtocolError::missing(key))
    }

    /// A value typed [`Ty::StrOrInt`], as text.
    pub(crate) fn text(&self, key: KnownKey) -> Option<CompactString> {
        match self.get(key)? {
            Field::Int(i) => Some(compact_str::format_compact!("{i}")),
            field => field.as_str().map(CompactString::from),
        }
    }

    /// A value typed [`Ty::StrOrInt`] that must hold a whole number (e.g. `GSW_CALL_TIME`).
    pub(crate) fn numeric(&self, key: KnownKey) -> Result<Option<i64>, ProtocolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Field::Int(i)) => Ok(Some(i)),
            Some(Field::List(_)) => Err(ProtocolError::invalid(key, "expected a number")),
            Some(field) => {
                let s = field.as_str().unwrap_or_default();
                s.trim()
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| ProtocolError::invalid(key, format!("{s:?} is not a whole number")))
            }
        }
    }
}

impl<'a> Sink<'a> for Fields<'a> {
    #[inline]
    fn stored(&self) -> usize {
        self.known.len() + self.custom.len()
    }

    #[inline]
    fn has_custom(&self, name: &str) -> bool {
        self.custom.iter().any(|(k, _)| k.as_str() == name)
    }

    fn duplicate_custom(&self) -> Option<&Key> {
        self.custom.find_duplicate()
    }

    #[inline]
    fn known_str(&mut self, key: KnownKey, value: &'a str, start: usize) {
        // Offsets fit in 32 bits unless the line is over 4 GiB, which then takes the general
        // path.
        match (u32::try_from(start), u32::try_from(start + value.len())) {
            (Ok(start), Ok(end)) => {
                self.push_known(key, SlotKind::Text, (u64::from(start) << 32) | u64::from(end))
            }
            _ => self.push_other(key, Other::Str(value)),
        }
    }

    #[inline]
    fn known_int(&mut self, key: KnownKey, value: i64) {
        self.push_known(key, SlotKind::Int, value as u64);
    }

    fn known_value(&mut self, key: KnownKey, value: Value) {
        match value {
            Value::Str(s) => self.push_other(key, Other::Owned(s)),
            Value::Int(i) => self.known_int(key, i),
            Value::List(list) => self.push_other(key, Other::List(Cow::Owned(list))),
        }
    }

    #[inline]
    fn custom_str(&mut self, name: &str, value: &'a str) {
        self.push_custom(Key::Custom(CompactString::new(name)), Value::Str(CompactString::new(value)));
    }

    fn custom_value(&mut self, name: &str, value: Value) {
        self.push_custom(Key::Custom(CompactString::new(name)), value);
    }
}
