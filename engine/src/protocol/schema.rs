//! The spec's attached-data tables as data: which keys each message has, their types, and
//! which are mandatory. Decoding checks a message against its table before reading it, so the
//! first missing key (102) or mistyped key (103) is found in table order, the same way for
//! every message.

use crate::kv::{KnownKey, KvList, Value};
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
const ABSENT: u16 = u16::MAX;

/// A message's pairs with an index from known key to position, built in one pass, so each
/// lookup afterwards is one array read.
pub(crate) struct Fields<'a> {
    kv: &'a KvList,
    index: [u16; N_KNOWN],
    /// Set when the list is too long for the index; lookups then scan.
    linear: bool,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(kv: &'a KvList) -> Fields<'a> {
        let mut index = [ABSENT; N_KNOWN];
        let linear = kv.len() >= usize::from(ABSENT);
        if !linear {
            for (pos, (key, _)) in kv.iter().enumerate() {
                if let Some(known) = key.known() {
                    // Positions fit: the list is shorter than ABSENT.
                    index[known as usize] = pos as u16;
                }
            }
        }
        Fields { kv, index, linear }
    }

    pub(crate) fn kv(&self) -> &'a KvList {
        self.kv
    }

    #[inline]
    pub(crate) fn get(&self, key: KnownKey) -> Option<&'a Value> {
        if self.linear {
            return self.kv.get(key);
        }
        match self.index[key as usize] {
            ABSENT => None,
            pos => self.kv.value_at(usize::from(pos)),
        }
    }

    /// Checks presence and type of every key of `schema`, in table order.
    pub(crate) fn check(&self, schema: &MessageSchema) -> Result<(), ProtocolError> {
        for spec in schema.keys {
            match self.get(spec.key) {
                None if spec.need == Need::Required => return Err(ProtocolError::missing(spec.key)),
                None => {}
                Some(value) if !spec.ty.accepts(value) => {
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
    pub(crate) fn str(&self, key: KnownKey) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// A mandatory string value.
    pub(crate) fn req_str(&self, key: KnownKey) -> Result<&'a str, ProtocolError> {
        self.str(key).ok_or_else(|| ProtocolError::missing(key))
    }

    /// An integer value (type already checked against the schema).
    pub(crate) fn int(&self, key: KnownKey) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// A mandatory integer value.
    pub(crate) fn req_int(&self, key: KnownKey) -> Result<i64, ProtocolError> {
        self.int(key).ok_or_else(|| ProtocolError::missing(key))
    }

    /// A value typed [`Ty::StrOrInt`], as text.
    pub(crate) fn text(&self, key: KnownKey) -> Option<compact_str::CompactString> {
        match self.get(key)? {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(compact_str::format_compact!("{i}")),
            Value::List(_) => None,
        }
    }

    /// A value typed [`Ty::StrOrInt`] that must hold a whole number (e.g. `GSW_CALL_TIME`).
    pub(crate) fn numeric(&self, key: KnownKey) -> Result<Option<i64>, ProtocolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(Value::Str(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ProtocolError::invalid(key, format!("{s:?} is not a whole number"))),
            Some(Value::List(_)) => Err(ProtocolError::invalid(key, "expected a number")),
        }
    }
}
