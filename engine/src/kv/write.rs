//! Writing a message's pairs: into a [`KvList`], or straight to a compact JSON line.
//!
//! Encoders describe a message once, as calls on a [`PairWriter`]; the same description builds
//! a list (for callers that inspect or edit it) or writes JSON bytes with no list in between:
//! known keys come from a table of their quoted forms, integers are formatted by `itoa`
//! without going through `fmt`, and strings are copied in runs, escaped only where a byte
//! needs it. The bytes are those serde_json writes for the same list (the tests compare them).

use compact_str::CompactString;

use super::json::special_byte_offset;
use super::{Key, KnownKey, KvList, Value};

/// Where an encoder puts a message's pairs, in order. Each key is written at most once.
pub(crate) trait PairWriter {
    /// A known key with a string.
    fn str(&mut self, key: KnownKey, value: &str);
    /// A known key with an integer.
    fn int(&mut self, key: KnownKey, value: i64);
    /// A known key with an integer sent as a string (a table types it `String`).
    fn int_as_str(&mut self, key: KnownKey, value: i64);
    /// Any key with any value (reserved keys passed through, custom fields).
    fn pair(&mut self, key: &Key, value: &Value);
}

impl PairWriter for KvList {
    fn str(&mut self, key: KnownKey, value: &str) {
        self.push_known(key, Value::Str(CompactString::new(value)));
    }

    fn int(&mut self, key: KnownKey, value: i64) {
        self.push_known(key, Value::Int(value));
    }

    fn int_as_str(&mut self, key: KnownKey, value: i64) {
        self.push_known(key, Value::Str(CompactString::new(itoa::Buffer::new().format(value))));
    }

    fn pair(&mut self, key: &Key, value: &Value) {
        self.push_unique(key.clone(), value.clone());
    }
}

/// A JSON object being written to a byte buffer.
pub(crate) struct JsonWriter<'o> {
    out: &'o mut Vec<u8>,
    /// No pair written yet (so the next one needs no comma).
    empty: bool,
}

/// Room made up front for a message: a typical record event is 500 to 700 bytes, and one
/// reservation beats growing the buffer two or three times while writing.
const TYPICAL_MESSAGE_BYTES: usize = 768;

impl<'o> JsonWriter<'o> {
    /// Opens an object at the end of `out`.
    #[inline]
    pub(crate) fn open(out: &'o mut Vec<u8>) -> JsonWriter<'o> {
        out.reserve(TYPICAL_MESSAGE_BYTES);
        out.push(b'{');
        JsonWriter { out, empty: true }
    }

    /// Closes the object.
    #[inline]
    pub(crate) fn close(self) {
        self.out.push(b'}');
    }

    #[inline]
    fn separate(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    /// Writes the separator and a known key's `"KEY":`. The padded table entry is copied whole
    /// (a fixed-size copy the compiler does in a few vector moves, where a copy of the exact
    /// length is a call to `memcpy`) and the padding cut off again.
    #[inline]
    fn known_key(&mut self, key: KnownKey) {
        let start = self.out.len();
        let entry = &PADDED_PREFIXES[key as usize];
        if self.empty {
            // No comma before the first pair.
            self.out.extend_from_slice(&entry.bytes[1..]);
            self.out.truncate(start + usize::from(entry.len) - 1);
        } else {
            self.out.extend_from_slice(&entry.bytes);
            self.out.truncate(start + usize::from(entry.len));
        }
        self.empty = false;
    }
}

/// Bytes of a padded table entry: the longest `,"GSW_...":` with room to spare.
const PADDED_PREFIX_BYTES: usize = 48;

/// A known key as written after another pair: `,"KEY":`, zero-padded.
struct PaddedPrefix {
    bytes: [u8; PADDED_PREFIX_BYTES],
    len: u8,
}

/// `,"KEY":` for every known key, in [`KnownKey::ALL`] order, built at compile time.
static PADDED_PREFIXES: [PaddedPrefix; KnownKey::ALL.len()] = {
    let mut table = [const { PaddedPrefix { bytes: [0; PADDED_PREFIX_BYTES], len: 0 } }; KnownKey::ALL.len()];
    let mut index = 0;
    while index < KnownKey::ALL.len() {
        let prefix = KnownKey::ALL[index].json_prefix().as_bytes();
        assert!(prefix.len() < PADDED_PREFIX_BYTES);
        table[index].bytes[0] = b',';
        let mut i = 0;
        while i < prefix.len() {
            table[index].bytes[i + 1] = prefix[i];
            i += 1;
        }
        table[index].len = (prefix.len() + 1) as u8;
        index += 1;
    }
    table
};

impl PairWriter for JsonWriter<'_> {
    #[inline]
    fn str(&mut self, key: KnownKey, value: &str) {
        self.known_key(key);
        write_str(self.out, value);
    }

    #[inline]
    fn int(&mut self, key: KnownKey, value: i64) {
        self.known_key(key);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    #[inline]
    fn int_as_str(&mut self, key: KnownKey, value: i64) {
        self.known_key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.out.push(b'"');
    }

    fn pair(&mut self, key: &Key, value: &Value) {
        match key {
            Key::Known(known) => self.known_key(*known),
            Key::Custom(name) => {
                self.separate();
                write_str(self.out, name);
                self.out.push(b':');
            }
        }
        write_value(self.out, value);
    }
}

/// Appends `list` as a compact JSON object.
pub(crate) fn write_list(out: &mut Vec<u8>, list: &KvList) {
    let mut writer = JsonWriter::open(out);
    for (key, value) in list {
        writer.pair(key, value);
    }
    writer.close();
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => write_str(out, s),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::List(list) => write_list(out, list),
    }
}

/// Appends `text` as a JSON string. Runs of plain bytes are copied whole; a quote, a backslash
/// or a control character is escaped as serde_json does (short forms where JSON has one,
/// `\u00XX` with lower-case hex otherwise).
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut start = 0;
    loop {
        let run = special_byte_offset(&bytes[start..]);
        out.extend_from_slice(&bytes[start..start + run]);
        start += run;
        let Some(&special) = bytes.get(start) else { break };
        escape(out, special);
        start += 1;
    }
    out.push(b'"');
}

#[cold]
fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
    }
}
