//! One tenant's do-not-call list: phone numbers and customer ids, each blocked forever or
//! until an expiry (a DoNotCall request's `GSW_DURATION` added to the time it arrived).

use foldhash::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use compact_str::CompactString;

use super::ListError;
use crate::time::Time;

/// A tenant's do-not-call list.
///
/// Entries added again keep the later expiry (forever beats any time). Expired entries stop
/// blocking at their expiry and are dropped by [`DoNotCallList::purge_expired`].
///
/// ```
/// use pacer_engine::records::DoNotCallList;
/// use pacer_engine::time::Time;
/// use std::time::Duration;
/// let mut dnc = DoNotCallList::new("Acme");
/// let now = Time::from_unix_s(1_800_000_000);
/// dnc.add_phone("5551000", now, Some(Duration::from_secs(60)));
/// dnc.add_customer_id("C-42", now, None);
/// assert!(dnc.is_blocked("5551000", None, now));
/// assert!(!dnc.is_blocked("5551000", None, now + Duration::from_secs(60)));
/// assert!(dnc.is_blocked("5559999", Some("C-42"), now + Duration::from_secs(1 << 30)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoNotCallList {
    tenant: CompactString,
    phones: HashMap<CompactString, Option<Time>>,
    customer_ids: HashMap<CompactString, Option<Time>>,
}

/// What a do-not-call entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Phone,
    Customer,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Customer => "customer_id",
        }
    }
}

/// Why a do-not-call list could not be loaded.
pub type DncError = ListError;

impl DoNotCallList {
    /// An empty list for `tenant`.
    pub fn new(tenant: &str) -> DoNotCallList {
        DoNotCallList { tenant: tenant.into(), ..DoNotCallList::default() }
    }

    /// The tenant the list belongs to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Blocks `phone` from `now`, for `duration` or (when `None`) forever.
    pub fn add_phone(&mut self, phone: &str, now: Time, duration: Option<Duration>) {
        add(&mut self.phones, phone, duration.map(|d| now + d));
    }

    /// Blocks every record of customer `id` from `now`, for `duration` or forever.
    pub fn add_customer_id(&mut self, id: &str, now: Time, duration: Option<Duration>) {
        add(&mut self.customer_ids, id, duration.map(|d| now + d));
    }

    /// Removes `phone` from the list; true if it was on it.
    pub fn remove_phone(&mut self, phone: &str) -> bool {
        self.phones.remove(phone).is_some()
    }

    /// Removes customer `id` from the list; true if it was on it.
    pub fn remove_customer_id(&mut self, id: &str) -> bool {
        self.customer_ids.remove(id).is_some()
    }

    /// True if, at `now`, `phone` or `customer_id` is blocked.
    pub fn is_blocked(&self, phone: &str, customer_id: Option<&str>, now: Time) -> bool {
        let live = |entry: Option<&Option<Time>>| {
            matches!(entry, Some(None)) || matches!(entry, Some(Some(t)) if now < *t)
        };
        live(self.phones.get(phone)) || customer_id.is_some_and(|id| live(self.customer_ids.get(id)))
    }

    /// Number of entries (phones plus customer ids), expired ones included until purged.
    pub fn len(&self) -> usize {
        self.phones.len() + self.customer_ids.len()
    }

    /// True if the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the entries that expired at or before `now`; returns how many.
    pub fn purge_expired(&mut self, now: Time) -> usize {
        let before = self.len();
        let keep = |_: &CompactString, expiry: &mut Option<Time>| expiry.is_none_or(|t| now < t);
        self.phones.retain(keep);
        self.customer_ids.retain(keep);
        before - self.len()
    }

    /// Writes the list as CSV: header `kind,value,expires`, one row per entry sorted by kind
    /// then value; `kind` is `phone` or `customer_id`; `expires` is empty (forever) or the
    /// expiry as Unix seconds with six decimals (`1800000060.000000`), the form
    /// [`Time`]'s `Display` gives.
    pub fn write_csv<W: Write>(&self, writer: W) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(writer);
        out.write_record(["kind", "value", "expires"])?;
        let mut rows: Vec<(Kind, &CompactString, Option<Time>)> = self
            .phones
            .iter()
            .map(|(k, v)| (Kind::Phone, k, *v))
            .chain(self.customer_ids.iter().map(|(k, v)| (Kind::Customer, k, *v)))
            .collect();
        rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (kind, value, expires) in rows {
            let expires = expires.map(|t| t.to_string()).unwrap_or_default();
            out.write_record([kind.as_str(), value.as_str(), expires.as_str()])?;
        }
        out.flush()
    }

    /// Writes the list to `path`; see [`DoNotCallList::write_csv`].
    pub fn save_csv(&self, path: &Path) -> std::io::Result<()> {
        self.write_csv(std::io::BufWriter::new(std::fs::File::create(path)?))
    }

    /// Reads a list written by [`DoNotCallList::write_csv`]. All or nothing: a bad row is an
    /// error naming `source`, the line and the field.
    pub fn read_csv<R: Read>(reader: R, source: &str, tenant: &str) -> Result<DoNotCallList, DncError> {
        let mut csv = csv::ReaderBuilder::new().has_headers(false).from_reader(reader);
        let mut row = csv::StringRecord::new();
        let mut list = DoNotCallList::new(tenant);
        let err = |line: u64, field: Option<&str>, reason: String| {
            ListError::new(source, Some(line), field, reason)
        };
        let mut first = true;
        loop {
            match csv.read_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    let reason = match e.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            format!("the row has {len} fields but the header has {expected_len}")
                        }
                        _ => e.to_string(),
                    };
                    return Err(err(line, None, reason));
                }
            }
            let line = row.position().map_or(0, |p| p.line());
            if first {
                first = false;
                if row.iter().collect::<Vec<_>>() != ["kind", "value", "expires"] {
                    return Err(err(line, None, "the header must be `kind,value,expires`".into()));
                }
                continue;
            }
            let value = &row[1];
            if value.is_empty() {
                return Err(err(line, Some("value"), "empty".into()));
            }
            let expires = match &row[2] {
                "" => None,
                text => Some(parse_time(text).ok_or_else(|| {
                    err(line, Some("expires"), format!("`{text}` is not Unix seconds with six decimals"))
                })?),
            };
            let map = match &row[0] {
                "phone" => &mut list.phones,
                "customer_id" => &mut list.customer_ids,
                other => {
                    return Err(err(
                        line,
                        Some("kind"),
                        format!("`{other}` is not `phone` or `customer_id`"),
                    ));
                }
            };
            if map.insert(value.into(), expires).is_some() {
                return Err(err(line, Some("value"), format!("`{value}` is listed twice")));
            }
        }
        if first {
            return Err(err(1, None, "empty file: no header line".into()));
        }
        Ok(list)
    }

    /// Reads the list at `path`; see [`DoNotCallList::read_csv`].
    pub fn load_csv(path: &Path, tenant: &str) -> Result<DoNotCallList, DncError> {
        let source = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| ListError::new(&source, None, None, e.to_string()))?;
        DoNotCallList::read_csv(file, &source, tenant)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn add(map: &mut HashMap<CompactString, Option<Time>>, key: &str, expiry: Option<Time>) {
    let entry = map.entry(key.into()).or_insert(expiry);
    *entry = match (*entry, expiry) {
        (None, _) | (_, None) => None,
        (Some(a), Some(b)) => Some(a.max(b)),
    };
}

/// Parses `SECONDS.MICROS` (exactly six decimals) as written by `Time`'s `Display`.
fn parse_time(text: &str) -> Option<Time> {
    let (secs, micros) = text.split_once('.')?;
    if secs.is_empty()
        || micros.len() != 6
        || !(secs.bytes().chain(micros.bytes()).all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    Some(Time::from_micros(secs.checked_mul(1_000_000)?.checked_add(micros)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Time = Time::from_unix_s(1_800_000_000);

    #[test]
    fn expiry_is_exclusive_and_later_expiry_wins() {
        let mut dnc = DoNotCallList::new("t");
        dnc.add_phone("1", T0, Some(Duration::from_secs(10)));
        assert!(dnc.is_blocked("1", None, T0 + Duration::from_secs(9)));
        assert!(!dnc.is_blocked("1", None, T0 + Duration::from_secs(10)));
        dnc.add_phone("1", T0, Some(Duration::from_secs(5)));
        assert!(
            dnc.is_blocked("1", None, T0 + Duration::from_secs(9)),
            "a shorter duration does not shorten"
        );
        dnc.add_phone("1", T0, None);
        assert!(dnc.is_blocked("1", None, T0 + Duration::from_secs(1 << 40)));
        dnc.add_phone("1", T0, Some(Duration::from_secs(1)));
        assert!(dnc.is_blocked("1", None, T0 + Duration::from_secs(1 << 40)), "forever stays forever");
        assert!(!dnc.is_blocked("2", None, T0));
        assert!(!dnc.is_blocked("2", Some("c"), T0));
        dnc.add_customer_id("c", T0, Some(Duration::from_secs(3)));
        assert!(dnc.is_blocked("2", Some("c"), T0));
        assert_eq!(dnc.purge_expired(T0 + Duration::from_secs(3)), 1);
        assert!(!dnc.is_blocked("2", Some("c"), T0));
        assert!(dnc.remove_phone("1"));
        assert!(dnc.is_empty());
    }

    #[test]
    fn csv_round_trip_and_errors() {
        let mut dnc = DoNotCallList::new("t");
        dnc.add_phone("555,1", T0, Some(Duration::from_micros(1_500_001)));
        dnc.add_phone("5550", T0, None);
        dnc.add_customer_id("C\"1", T0, None);
        let mut out = Vec::new();
        dnc.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "kind,value,expires\nphone,\"555,1\",1800000001.500001\nphone,5550,\ncustomer_id,\"C\"\"1\",\n"
        );
        assert_eq!(DoNotCallList::read_csv(text.as_bytes(), "dnc.csv", "t").unwrap(), dnc);
        for (bad, expected) in [
            ("", "dnc.csv:1: empty file: no header line"),
            ("kind,value\n", "dnc.csv:1: the header must be `kind,value,expires`"),
            (
                "kind,value,expires\nfax,1,\n",
                "dnc.csv:2: field `kind`: `fax` is not `phone` or `customer_id`",
            ),
            (
                "kind,value,expires\nphone,1,12\n",
                "dnc.csv:2: field `expires`: `12` is not Unix seconds with six decimals",
            ),
            ("kind,value,expires\nphone,,\n", "dnc.csv:2: field `value`: empty"),
            ("kind,value,expires\nphone,1,\nphone,1,\n", "dnc.csv:3: field `value`: `1` is listed twice"),
            ("kind,value,expires\nphone,1\n", "dnc.csv:2: the row has 2 fields but the header has 3"),
        ] {
            let err = DoNotCallList::read_csv(bad.as_bytes(), "dnc.csv", "t").unwrap_err();
            assert_eq!(err.to_string(), expected, "input {bad:?}");
        }
    }
}
