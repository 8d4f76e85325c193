//! A JSON reader specialised for key-value lists: objects whose values are strings, integers
//! or objects. It is the hot path of every message the gateway reads.
//!
//! Why not serde_json alone: on the reference machine serde_json needs ~215 ns just to skip a
//! typical 450-byte RecordProcessed line through its generic visitor machinery (and ~1.1 us to
//! build a `Value`), which leaves little of the 500 ns decode budget. This reader knows the
//! shape it wants, refuses anything else at the first byte, and hands borrowed key and string
//! slices straight to a [`Sink`]: the protocol decoder's sink keeps them borrowed, so a known
//! key and its value cost no copy and no allocation.
//!
//! Shape of the hot loop: values travel as scalars (`&str`, `i64`) into per-kind sink calls,
//! not as enums moved through the stack; a profile showed store-forwarding stalls on exactly
//! such moves taking a third of the time.
//!
//! It follows RFC 8259 for everything it accepts (string escapes including surrogate pairs,
//! number grammar, whitespace), and the test suite checks it against the serde_json path on
//! random inputs: same lists, same errors, same keys named.

use compact_str::CompactString;

use super::{Key, KnownKey, KvError, KvErrorKind, KvList, PAIRWISE_DUPLICATE_CHECK_MAX, PathNode, Value};

// Duplicate known keys are tracked in a 128-bit mask.
const _: () = assert!(KnownKey::ALL.len() <= 128);

/// Deepest nesting accepted (serde_json's own limit is 128).
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `text` as one JSON object into a key-value list.
pub(crate) fn parse(text: &str) -> Result<KvList, KvError> {
    let mut list = KvList::with_capacity(16);
    parse_into(text, &mut list)?;
    Ok(list)
}

/// Parses `text` as one JSON object, handing its pairs to `sink` as they are read. Nested
/// objects always become [`KvList`]s; only the outermost object's pairs go to the sink, so a
/// decoder can keep borrowed slices of the input instead of building a list first.
pub(crate) fn parse_into<'a, S: Sink<'a>>(text: &'a str, sink: &mut S) -> Result<(), KvError> {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, depth: 0 };
    parser.skip_ws();
    match parser.peek() {
        Some(b'{') => parser.object(None, sink)?,
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return Err(KvError::new(KvErrorKind::NotAnObject, None));
        }
        Some(_) => return Err(parser.syntax("expected a JSON object")),
        None => return Err(parser.syntax("EOF while parsing a value")),
    }
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.syntax("trailing characters"));
    }
    Ok(())
}

/// Where the pairs of the outermost object go, one call per pair and kind of value. Duplicate
/// known keys are caught by the reader itself; the sink answers for custom keys, which only it
/// stores. A custom key is any key that is not a [`KnownKey`], named by its text.
pub(crate) trait Sink<'a> {
    /// Number of pairs stored so far.
    fn stored(&self) -> usize;
    /// True when the custom key `name` is already stored (asked only while the object is
    /// short, see [`PAIRWISE_DUPLICATE_CHECK_MAX`]).
    fn has_custom(&self, name: &str) -> bool;
    /// For a long object, once it is read: the custom key stored twice whose second occurrence
    /// comes first.
    fn duplicate_custom(&self) -> Option<&Key>;
    /// Stores a known key with a string borrowed from the input, which starts at byte
    /// `start` of the input.
    fn known_str(&mut self, key: KnownKey, value: &'a str, start: usize);
    /// Stores a known key with an integer.
    fn known_int(&mut self, key: KnownKey, value: i64);
    /// Stores a known key with any other value (an unescaped string, a nested list).
    fn known_value(&mut self, key: KnownKey, value: Value);
    /// Stores a custom key with a string borrowed from the input.
    fn custom_str(&mut self, name: &str, value: &'a str);
    /// Stores a custom key with any other value.
    fn custom_value(&mut self, name: &str, value: Value);
}

impl<'a> Sink<'a> for KvList {
    #[inline]
    fn stored(&self) -> usize {
        self.pairs.len()
    }

    #[inline]
    fn has_custom(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| matches!(k, Key::Custom(c) if c == name))
    }

    fn duplicate_custom(&self) -> Option<&Key> {
        self.find_duplicate()
    }

    #[inline]
    fn known_str(&mut self, key: KnownKey, value: &'a str, _start: usize) {
        self.pairs.push((Key::Known(key), Value::Str(CompactString::new(value))));
    }

    #[inline]
    fn known_int(&mut self, key: KnownKey, value: i64) {
        self.pairs.push((Key::Known(key), Value::Int(value)));
    }

    fn known_value(&mut self, key: KnownKey, value: Value) {
        self.pairs.push((Key::Known(key), value));
    }

    #[inline]
    fn custom_str(&mut self, name: &str, value: &'a str) {
        self.pairs.push((Key::Custom(CompactString::new(name)), Value::Str(CompactString::new(value))));
    }

    fn custom_value(&mut self, name: &str, value: Value) {
        self.pairs.push((Key::Custom(CompactString::new(name)), value));
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    #[cold]
    #[inline(never)]
    fn syntax(&self, what: &str) -> KvError {
        // Line and column, 1-based, as serde_json reports them.
        let consumed = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = consumed.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = consumed.iter().rev().take_while(|&&b| b != b'\n').count();
        KvError::new(KvErrorKind::Syntax(format!("{what} at line {line} column {column}")), None)
    }

    #[cold]
    #[inline(never)]
    fn fail(&self, kind: KvErrorKind, node: &PathNode<'_>) -> KvError {
        KvError::new(kind, Some(node.join()))
    }

    /// Reads a nested object into a list; the current byte is `{`.
    fn nested(&mut self, path: &PathNode<'_>) -> Result<KvList, KvError> {
        let mut list = KvList::new();
        self.object(Some(path), &mut list)?;
        Ok(list)
    }

    /// Reads an object into `sink`; the current byte is `{`.
    fn object<S: Sink<'a>>(&mut self, path: Option<&PathNode<'_>>, sink: &mut S) -> Result<(), KvError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        self.pos += 1;
        // One bit per known key (two words: cheaper to index than one u128).
        let mut known_seen = [0u64; 2];
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("key must be a string"));
            }
            // Holds the key's text only when it had escapes.
            let unescaped_key: String;
            let key_text: &str = match self.plain_string() {
                Some(text) => text,
                None => {
                    unescaped_key = self.escaped_string()?;
                    &unescaped_key
                }
            };
            let known = KnownKey::lookup(key_text);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected `:`"));
            }
            self.pos += 1;
            self.skip_ws();
            let node = PathNode { parent: path, key: key_text };
            // Whether the key repeats is known now, but reported only once the value has been
            // read, so a malformed value is reported first (as serde_json's reader does).
            let duplicate = match known {
                // Known keys: one bit each.
                Some(known) => {
                    let (word, bit) = (known as usize >> 6, 1u64 << (known as usize & 63));
                    let seen = known_seen[word] & bit != 0;
                    known_seen[word] |= bit;
                    seen
                }
                // Custom keys: compared with the other custom keys only, pairwise while the list
                // is short, and by one sort at the end when it is long.
                None => sink.stored() < PAIRWISE_DUPLICATE_CHECK_MAX && sink.has_custom(key_text),
            };
            match self.peek() {
                Some(b'"') => {
                    let value_start = self.pos + 1;
                    if let Some(value) = self.plain_string() {
                        if duplicate {
                            return Err(self.fail(KvErrorKind::DuplicateKey, &node));
                        }
                        match known {
                            Some(known) => sink.known_str(known, value, value_start),
                            None => sink.custom_str(key_text, value),
                        }
                    } else {
                        let value = Value::Str(CompactString::from(self.escaped_string()?));
                        if duplicate {
                            return Err(self.fail(KvErrorKind::DuplicateKey, &node));
                        }
                        match known {
                            Some(known) => sink.known_value(known, value),
                            None => sink.custom_value(key_text, value),
                        }
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    let value = self.number(&node)?;
                    if duplicate {
                        return Err(self.fail(KvErrorKind::DuplicateKey, &node));
                    }
                    match known {
                        Some(known) => sink.known_int(known, value),
                        None => sink.custom_value(key_text, Value::Int(value)),
                    }
                }
                Some(b'{') => {
                    let value = Value::List(self.nested(&node)?);
                    if duplicate {
                        return Err(self.fail(KvErrorKind::DuplicateKey, &node));
                    }
                    match known {
                        Some(known) => sink.known_value(known, value),
                        None => sink.custom_value(key_text, value),
                    }
                }
                Some(b'[') => return Err(self.fail(KvErrorKind::Array, &node)),
                Some(b't') => return Err(self.literal(b"true", KvErrorKind::Bool, &node)),
                Some(b'f') => return Err(self.literal(b"false", KvErrorKind::Bool, &node)),
                Some(b'n') => return Err(self.literal(b"null", KvErrorKind::Null, &node)),
                Some(_) => return Err(self.syntax("expected value")),
                None => return Err(self.syntax("EOF while parsing a value")),
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.syntax("expected `,` or `}`")),
                None => return Err(self.syntax("EOF while parsing an object")),
            }
        }
        if sink.stored() > PAIRWISE_DUPLICATE_CHECK_MAX
            && let Some(key) = sink.duplicate_custom()
        {
            let node = PathNode { parent: path, key: key.as_str() };
            return Err(self.fail(KvErrorKind::DuplicateKey, &node));
        }
        self.depth -= 1;
        Ok(())
    }

    /// A `true`/`false`/`null` literal: the protocol has no place for it, but malformed JSON
    /// is still reported as such.
    fn literal(&mut self, word: &[u8], kind: KvErrorKind, node: &PathNode<'_>) -> KvError {
        if self.bytes[self.pos..].starts_with(word) {
            self.fail(kind, node)
        } else {
            self.syntax("expected value")
        }
    }

    /// Reads a string without escapes or control characters, borrowed from the input; the
    /// current byte is `"`. `None`, with the position unchanged, for any other string: the
    /// caller then reads it with [`Parser::escaped_string`].
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        // Find the closing quote eight bytes at a time.
        let end = start + special_byte_offset(&self.bytes[start..]);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            // Both ends are ASCII quotes, so the slice is on character boundaries.
            Some(&self.text[start..end])
        } else {
            None
        }
    }

    /// Reads a string that holds an escape (or is malformed); the current byte is `"`.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self) -> Result<String, KvError> {
        self.pos += 1;
        let mut owned = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.syntax("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(owned);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&escape) = self.bytes.get(self.pos) else {
                        return Err(self.syntax("EOF while parsing a string"));
                    };
                    self.pos += 1;
                    match escape {
                        b'"' => owned.push('"'),
                        b'\\' => owned.push('\\'),
                        b'/' => owned.push('/'),
                        b'b' => owned.push('\u{8}'),
                        b'f' => owned.push('\u{c}'),
                        b'n' => owned.push('\n'),
                        b'r' => owned.push('\r'),
                        b't' => owned.push('\t'),
                        b'u' => owned.push(self.unicode_escape()?),
                        _ => return Err(self.syntax("invalid escape")),
                    }
                }
                0x00..=0x1f => return Err(self.syntax("control character in string")),
                _ => {
                    // Copy the run up to the next special byte in one go (special bytes are
                    // ASCII, so the run ends on a character boundary).
                    let run_start = self.pos;
                    self.pos += special_byte_offset(&self.bytes[self.pos..]);
                    owned.push_str(&self.text[run_start..self.pos]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, KvError> {
        let digits =
            self.bytes.get(self.pos..self.pos + 4).ok_or_else(|| self.syntax("EOF in \\u escape"))?;
        let mut value: u16 = 0;
        for &d in digits {
            let nibble = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.syntax("invalid \\u escape")),
            };
            value = (value << 4) | u16::from(nibble);
        }
        self.pos += 4;
        Ok(value)
    }

    /// The character of a `\uXXXX` escape (the `\u` already read), joining surrogate pairs.
    fn unicode_escape(&mut self) -> Result<char, KvError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.syntax("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.syntax("lone leading surrogate in hex escape"));
                }
                0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.syntax("lone trailing surrogate in hex escape")),
            other => u32::from(other),
        };
        char::from_u32(code).ok_or_else(|| self.syntax("invalid unicode code point"))
    }

    /// Reads a number: an integer is returned; a fraction or exponent is refused.
    #[inline(always)]
    fn number(&mut self, node: &PathNode<'_>) -> Result<i64, KvError> {
        // Fast path: an optional minus and 1 to 18 digits, not starting with a zero unless it
        // is the only one, not a negative zero, followed by neither a fraction nor an
        // exponent: no overflow is possible, and anything else takes the full path below.
        let bytes = self.bytes;
        let negative = bytes.get(self.pos) == Some(&b'-');
        let digits_start = self.pos + usize::from(negative);
        let mut end = digits_start;
        // Wrapping arithmetic: a result past 18 digits is discarded below, unused.
        let mut magnitude: u64 = 0;
        while let Some(&byte) = bytes.get(end) {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            magnitude = magnitude.wrapping_mul(10).wrapping_add(u64::from(digit));
            end += 1;
        }
        let n_digits = end - digits_start;
        if n_digits > 0
            && n_digits <= 18
            && (n_digits == 1 || bytes[digits_start] != b'0')
            && !(negative && magnitude == 0)
            && !matches!(bytes.get(end), Some(b'.' | b'e' | b'E'))
        {
            self.pos = end;
            // At most 18 digits: below 10^18, so the cast and the negation are exact.
            let magnitude = magnitude as i64;
            return Ok(if negative { -magnitude } else { magnitude });
        }
        self.number_full(node)
    }

    /// Any number, by the JSON grammar.
    #[cold]
    #[inline(never)]
    fn number_full(&mut self, node: &PathNode<'_>) -> Result<i64, KvError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // Magnitude accumulated as u64, so i64::MIN fits.
        let mut magnitude: u64 = 0;
        let mut overflow = false;
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                // No leading zeros (RFC 8259, section 6).
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.syntax("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    match magnitude.checked_mul(10).and_then(|m| m.checked_add(u64::from(d - b'0'))) {
                        Some(m) => magnitude = m,
                        None => overflow = true,
                    }
                    self.pos += 1;
                }
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("invalid number"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("invalid number"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            float = true;
        }
        // serde_json refuses a float beyond the range of f64 as malformed ("number out of
        // range") rather than as a float, and so does this reader, so the two agree (found
        // by the property test on `{"":-0.1e400`). The standard parser rounds the text the
        // way serde_json does, to infinity past f64::MAX.
        if float && self.text[start..self.pos].parse::<f64>().is_ok_and(f64::is_infinite) {
            return Err(self.syntax("number out of range"));
        }
        // serde_json reads `-0` as the float -0.0, and so does this reader, so the two agree
        // on every input (found by fuzzing); the protocol has no use for a negative zero.
        if float || (negative && magnitude == 0 && !overflow) {
            return Err(self.fail(KvErrorKind::Float, node));
        }
        let value = if overflow {
            None
        } else if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or_else(|| self.fail(KvErrorKind::IntegerOutOfRange, node))
    }
}

/// Offset of the first byte in `bytes` that ends a plain run of string content: a quote, a
/// backslash or a control character (or `bytes.len()` when there is none). Checks eight bytes
/// per step with the SWAR tricks of "Bit Twiddling Hacks" (Anderson): a byte is below `n` when
/// `(x - n) & !x & 0x80` is set in its lane.
#[inline(always)]
pub(super) fn special_byte_offset(bytes: &[u8]) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn has_zero(x: u64) -> u64 {
        x.wrapping_sub(LOW) & !x & HIGH
    }
    let mut offset = 0;
    while let Some(chunk) = bytes.get(offset..offset + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = has_zero(word ^ (LOW * u64::from(b'"')));
        let backslash = has_zero(word ^ (LOW * u64::from(b'\\')));
        let control = word.wrapping_sub(LOW * 0x20) & !word & HIGH;
        let hits = quote | backslash | control;
        if hits != 0 {
            // Lanes below the first true hit cannot be false positives (borrows only run
            // upwards), so the lowest set lane is exact.
            return offset + (hits.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    // The last few bytes, one at a time.
    while let Some(&b) = bytes.get(offset) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        offset += 1;
    }
    offset
}
