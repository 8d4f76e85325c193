//! A JSON reader specialised for key-value lists: objects whose values are strings, integers
//! or objects. It is the hot path of every message the gateway reads.
//!
//! Why not serde_json alone: on the reference machine serde_json needs ~290 ns just to skip a
//! typical 450-byte RecordProcessed line through its generic visitor machinery, which leaves no
//! room for the 500 ns decode budget. This reader knows the shape it wants, refuses anything
//! else at the first byte, and borrows key and string slices straight from the input.
//!
//! It follows RFC 8259 for everything it accepts (string escapes including surrogate pairs,
//! number grammar, whitespace), and the test suite checks it against the serde_json path on
//! random inputs: same lists, same errors, same keys named.

use compact_str::CompactString;

use super::{Key, KvError, KvErrorKind, KvList, PAIRWISE_DUPLICATE_CHECK_MAX, PathNode, Value};

// Duplicate known keys are tracked in a 128-bit mask.
const _: () = assert!(super::KnownKey::ALL.len() <= 128);

/// Deepest nesting accepted (serde_json's own limit is 128).
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `text` as one JSON object into a key-value list.
pub(crate) fn parse(text: &str) -> Result<KvList, KvError> {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, depth: 0 };
    parser.skip_ws();
    let list = match parser.peek() {
        Some(b'{') => parser.object(None)?,
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return Err(KvError::new(KvErrorKind::NotAnObject, None));
        }
        Some(_) => return Err(parser.syntax("expected a JSON object")),
        None => return Err(parser.syntax("EOF while parsing a value")),
    };
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.syntax("trailing characters"));
    }
    Ok(list)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

/// A string read from the input: borrowed when it has no escapes (the usual case).
enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
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

    fn syntax(&self, what: &str) -> KvError {
        // Line and column, 1-based, as serde_json reports them.
        let consumed = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = consumed.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = consumed.iter().rev().take_while(|&&b| b != b'\n').count();
        KvError::new(KvErrorKind::Syntax(format!("{what} at line {line} column {column}")), None)
    }

    fn fail(&self, kind: KvErrorKind, node: &PathNode<'_>) -> KvError {
        KvError::new(kind, Some(node.join()))
    }

    #[inline]
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), KvError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    /// Reads an object; the current byte is `{`.
    fn object(&mut self, path: Option<&PathNode<'_>>) -> Result<KvList, KvError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        self.pos += 1;
        let mut list = KvList::with_capacity(16);
        let mut known_seen: u128 = 0;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(list);
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("key must be a string"));
            }
            let key_text = self.string()?;
            let key = Key::new(key_text.as_str());
            self.skip_ws();
            self.expect(b':', "expected `:`")?;
            self.skip_ws();
            let node = PathNode { parent: path, key: key.as_str() };
            let value = match self.peek() {
                Some(b'"') => Value::Str(match self.string()? {
                    Text::Borrowed(s) => CompactString::new(s),
                    Text::Owned(s) => CompactString::from(s),
                }),
                Some(b'-' | b'0'..=b'9') => self.number(&node)?,
                Some(b'{') => Value::List(self.object(Some(&node))?),
                Some(b'[') => return Err(self.fail(KvErrorKind::Array, &node)),
                Some(b't') => return Err(self.literal(b"true", KvErrorKind::Bool, &node)),
                Some(b'f') => return Err(self.literal(b"false", KvErrorKind::Bool, &node)),
                Some(b'n') => return Err(self.literal(b"null", KvErrorKind::Null, &node)),
                Some(_) => return Err(self.syntax("expected value")),
                None => return Err(self.syntax("EOF while parsing a value")),
            };
            let duplicate = match &key {
                // Known keys: one bit each.
                Key::Known(known) => {
                    let bit = 1u128 << (*known as u32);
                    let seen = known_seen & bit != 0;
                    known_seen |= bit;
                    seen
                }
                // Custom keys: compared with the other custom keys only, pairwise while the list
                // is short, and by one sort at the end when it is long.
                Key::Custom(_) => {
                    list.pairs.len() < PAIRWISE_DUPLICATE_CHECK_MAX
                        && list.pairs.iter().any(|(k, _)| *k == key)
                }
            };
            if duplicate {
                return Err(self.fail(KvErrorKind::DuplicateKey, &node));
            }
            list.pairs.push((key, value));
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
        if list.pairs.len() > PAIRWISE_DUPLICATE_CHECK_MAX
            && let Some(key) = list.find_duplicate()
        {
            let node = PathNode { parent: path, key: key.as_str() };
            return Err(self.fail(KvErrorKind::DuplicateKey, &node));
        }
        self.depth -= 1;
        Ok(list)
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

    /// Reads a string; the current byte is `"`.
    fn string(&mut self) -> Result<Text<'a>, KvError> {
        self.pos += 1;
        let start = self.pos;
        // Fast scan, eight bytes at a time: most strings have no escapes or control characters.
        self.pos += special_byte_offset(&self.bytes[self.pos..]);
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'"' => {
                    self.pos += 1;
                    // Both ends are ASCII quotes, so the slice is on character boundaries.
                    return Ok(Text::Borrowed(&self.text[start..self.pos - 1]));
                }
                b'\\' => break,
                0x00..=0x1f => return Err(self.syntax("control character in string")),
                _ => self.pos += 1,
            }
        }
        if self.pos >= self.bytes.len() {
            return Err(self.syntax("EOF while parsing a string"));
        }
        let mut owned = String::with_capacity(self.pos - start + 16);
        owned.push_str(&self.text[start..self.pos]);
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.syntax("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(Text::Owned(owned));
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
                    // Copy the run up to the next quote or backslash in one go.
                    let run_start = self.pos;
                    while let Some(&c) = self.bytes.get(self.pos) {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
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

    /// Reads a number: an integer becomes a value; a fraction or exponent is refused.
    fn number(&mut self, node: &PathNode<'_>) -> Result<Value, KvError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // Magnitude accumulated as u64, so i64::MIN fits.
        let mut magnitude: u64 = 0;
        let mut overflow = false;
        match self.peek() {
            Some(b'0') => self.pos += 1,
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
        if float {
            return Err(self.fail(KvErrorKind::Float, node));
        }
        let value = if overflow {
            None
        } else if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.map(Value::Int).ok_or_else(|| self.fail(KvErrorKind::IntegerOutOfRange, node))
    }
}

/// Offset of the first byte in `bytes` that ends a plain run of string content: a quote, a
/// backslash or a control character (or `bytes.len()` when there is none). Checks eight bytes
/// per step with the SWAR tricks of "Bit Twiddling Hacks" (Anderson): a byte is below `n` when
/// `(x - n) & !x & 0x80` is set in its lane.
#[inline]
fn special_byte_offset(bytes: &[u8]) -> usize {
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
    offset
}
