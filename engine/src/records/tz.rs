//! Time zones of records, by their Configuration-Server-style names.
//!
//! A calling list names each record's zone (`tz_name`, or `tz_dbid` for the configuration
//! object). The engine keeps a fixed table of the usual names; a zone in the table follows its
//! daylight-saving rule (a POSIX TZ rule evaluated by `jiff`, so no time-zone database is
//! needed at run time), and a zone not in the table uses the fixed offset the record carries.
//!
//! | name | dbid | standard offset | daylight saving rule (POSIX) |
//! |------|------|-----------------|------------------------------|
//! | UTC  | 101 | +00:00 | none |
//! | GMT  | 102 | +00:00 | none |
//! | WET  | 103 | +00:00 | `WET0WEST,M3.5.0/1,M10.5.0` (UK, Ireland, Portugal) |
//! | CET  | 104 | +01:00 | `CET-1CEST,M3.5.0,M10.5.0/3` |
//! | EET  | 105 | +02:00 | `EET-2EEST,M3.5.0/3,M10.5.0/4` |
//! | MSK  | 106 | +03:00 | none |
//! | GST  | 107 | +04:00 | none (Gulf) |
//! | IST  | 108 | +05:30 | none (India) |
//! | SGT  | 109 | +08:00 | none |
//! | HKT  | 110 | +08:00 | none |
//! | AWST | 111 | +08:00 | none |
//! | JST  | 112 | +09:00 | none |
//! | KST  | 113 | +09:00 | none |
//! | ACST | 114 | +09:30 | `ACST-9:30ACDT,M10.1.0,M4.1.0/3` |
//! | AEST | 115 | +10:00 | `AEST-10AEDT,M10.1.0,M4.1.0/3` |
//! | NZST | 116 | +12:00 | `NZST-12NZDT,M9.5.0,M4.1.0/3` |
//! | NST  | 117 | -03:30 | `NST3:30NDT,M3.2.0,M11.1.0` |
//! | AST  | 118 | -04:00 | `AST4ADT,M3.2.0,M11.1.0` |
//! | EST  | 119 | -05:00 | `EST5EDT,M3.2.0,M11.1.0` |
//! | CST  | 120 | -06:00 | `CST6CDT,M3.2.0,M11.1.0` (US Central, not China) |
//! | MST  | 121 | -07:00 | `MST7MDT,M3.2.0,M11.1.0` (Mountain; Arizona would need its own entry) |
//! | PST  | 122 | -08:00 | `PST8PDT,M3.2.0,M11.1.0` |
//! | AKST | 123 | -09:00 | `AKST9AKDT,M3.2.0,M11.1.0` |
//! | HST  | 124 | -10:00 | none |
//!
//! The daylight-saving rules are the ones in force today (US since 2007, EU since 1996); the
//! engine does not replay historical rule changes.

use std::sync::OnceLock;

use crate::protocol::LocalDateTime;
use crate::time::Time;

/// Seconds in a day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// One named zone of the table.
#[derive(Debug)]
pub struct Zone {
    /// The Configuration Server style name (`EST`).
    pub name: &'static str,
    /// The dbid a calling list's `tz_dbid` column uses for it.
    pub dbid: i64,
    /// Standard-time offset, seconds east of UTC.
    pub std_offset_s: i32,
    rule: Option<jiff::tz::TimeZone>,
    /// The rule's offset changes from [`TABLE_FROM_S`] to [`TABLE_UNTIL_S`]: `(first second,
    /// offset from then on)`, in order. Retrieval asks a record's offset for every record it
    /// looks at; a binary search over these is about ten times cheaper than evaluating the
    /// POSIX rule, which `offset_at` still does outside the tabulated years.
    changes: Vec<(i64, i32)>,
    /// The offset in force at [`TABLE_FROM_S`], before the first change.
    offset_from: i32,
}

/// First second of the tabulated offset changes (1970-01-01T00:00Z).
const TABLE_FROM_S: i64 = 0;
/// First second after them (2200-01-01T00:00Z).
const TABLE_UNTIL_S: i64 = 7_258_118_400;

impl Zone {
    /// The offset from UTC (seconds east) in force at Unix second `unix_s`.
    pub fn offset_at(&self, unix_s: i64) -> i32 {
        match &self.rule {
            None => self.std_offset_s,
            Some(_) if (TABLE_FROM_S..TABLE_UNTIL_S).contains(&unix_s) => {
                match self.changes.partition_point(|&(start, _)| start <= unix_s) {
                    0 => self.offset_from,
                    n => self.changes[n - 1].1,
                }
            }
            Some(tz) => match jiff::Timestamp::from_second(unix_s) {
                Ok(ts) => tz.to_offset(ts).seconds(),
                Err(_) => self.std_offset_s,
            },
        }
    }

    /// The offset in force at `unix_s` and the span of time it holds for.
    pub fn span_at(&self, unix_s: i64) -> OffsetSpan {
        let Some(tz) = &self.rule else { return OffsetSpan::fixed(self.std_offset_s) };
        let Ok(ts) = jiff::Timestamp::from_second(unix_s) else {
            return OffsetSpan::fixed(self.std_offset_s);
        };
        // `preceding` yields transitions strictly before `ts`; one at `ts` itself starts the span.
        let after = jiff::Timestamp::from_second(unix_s.saturating_add(1)).unwrap_or(ts);
        OffsetSpan {
            offset_s: tz.to_offset(ts).seconds(),
            start_s: tz.preceding(after).next().map_or(i64::MIN, |t| t.timestamp().as_second()),
            end_s: tz.following(ts).next().map_or(i64::MAX, |t| t.timestamp().as_second()),
        }
    }

    /// The first offset change strictly after `unix_s`, if the zone has any.
    pub fn next_transition_after(&self, unix_s: i64) -> Option<i64> {
        let tz = self.rule.as_ref()?;
        let ts = jiff::Timestamp::from_second(unix_s).ok()?;
        tz.following(ts).next().map(|t| t.timestamp().as_second())
    }

    /// True if the zone observes daylight saving time.
    pub fn has_dst(&self) -> bool {
        self.rule.is_some()
    }
}

const TABLE: &[(&str, i32, Option<&str>)] = &[
    ("UTC", 0, None),
    ("GMT", 0, None),
    ("WET", 0, Some("WET0WEST,M3.5.0/1,M10.5.0")),
    ("CET", 3600, Some("CET-1CEST,M3.5.0,M10.5.0/3")),
    ("EET", 7200, Some("EET-2EEST,M3.5.0/3,M10.5.0/4")),
    ("MSK", 10800, None),
    ("GST", 14400, None),
    ("IST", 19800, None),
    ("SGT", 28800, None),
    ("HKT", 28800, None),
    ("AWST", 28800, None),
    ("JST", 32400, None),
    ("KST", 32400, None),
    ("ACST", 34200, Some("ACST-9:30ACDT,M10.1.0,M4.1.0/3")),
    ("AEST", 36000, Some("AEST-10AEDT,M10.1.0,M4.1.0/3")),
    ("NZST", 43200, Some("NZST-12NZDT,M9.5.0,M4.1.0/3")),
    ("NST", -12600, Some("NST3:30NDT,M3.2.0,M11.1.0")),
    ("AST", -14400, Some("AST4ADT,M3.2.0,M11.1.0")),
    ("EST", -18000, Some("EST5EDT,M3.2.0,M11.1.0")),
    ("CST", -21600, Some("CST6CDT,M3.2.0,M11.1.0")),
    ("MST", -25200, Some("MST7MDT,M3.2.0,M11.1.0")),
    ("PST", -28800, Some("PST8PDT,M3.2.0,M11.1.0")),
    ("AKST", -32400, Some("AKST9AKDT,M3.2.0,M11.1.0")),
    ("HST", -36000, None),
];

/// First dbid of the table; the n-th zone has `FIRST_DBID + n`.
const FIRST_DBID: i64 = 101;

fn zones() -> &'static [Zone] {
    static ZONES: OnceLock<Vec<Zone>> = OnceLock::new();
    ZONES.get_or_init(|| {
        TABLE
            .iter()
            .zip(FIRST_DBID..)
            .map(|(&(name, std_offset_s, rule), dbid)| {
                // The rules are constants of this file, checked by a unit test.
                let rule =
                    rule.map(|r| jiff::tz::TimeZone::posix(r).expect("valid POSIX rule in the zone table"));
                let (changes, offset_from) = tabulate(rule.as_ref(), std_offset_s);
                Zone { name, dbid, std_offset_s, rule, changes, offset_from }
            })
            .collect()
    })
}

/// The offset changes of `rule` between [`TABLE_FROM_S`] and [`TABLE_UNTIL_S`], and the
/// offset in force at the start.
fn tabulate(rule: Option<&jiff::tz::TimeZone>, std_offset_s: i32) -> (Vec<(i64, i32)>, i32) {
    let Some(tz) = rule else { return (Vec::new(), std_offset_s) };
    let from = jiff::Timestamp::from_second(TABLE_FROM_S).expect("1970 is a valid timestamp");
    let changes = tz
        .following(from)
        .map(|t| (t.timestamp().as_second(), t.offset().seconds()))
        .take_while(|&(s, _)| s < TABLE_UNTIL_S)
        .collect();
    (changes, tz.to_offset(from).seconds())
}

/// Every zone of the table, in dbid order.
pub fn all_zones() -> &'static [Zone] {
    zones()
}

/// The zone named `name` (case-sensitive, as the Configuration Server spells it).
pub fn zone_by_name(name: &str) -> Option<&'static Zone> {
    zones().get(zone_index(name)?)
}

/// The index in [`all_zones`] of the zone named `name`. Retrieval asks this for every record
/// it looks at, so the name is packed into one integer (its length and up to four bytes) and
/// matched against the table's packed names: one integer search instead of a string compare
/// per name of equal length (18 of the 24 names have three letters).
pub fn zone_index(name: &str) -> Option<usize> {
    const fn pack(name: &[u8]) -> u64 {
        let mut key = (name.len() as u64) << 32;
        let mut i = 0;
        while i < name.len() && i < 4 {
            key |= (name[i] as u64) << (8 * i);
            i += 1;
        }
        key
    }
    const KEYS: [u64; TABLE.len()] = {
        let mut keys = [0u64; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            keys[i] = pack(TABLE[i].0.as_bytes());
            i += 1;
        }
        keys
    };
    if name.len() > 4 {
        return None;
    }
    let key = pack(name.as_bytes());
    KEYS.iter().position(|&k| k == key)
}

/// The zone whose configuration dbid is `dbid`.
pub fn zone_by_dbid(dbid: i64) -> Option<&'static Zone> {
    let idx = usize::try_from(dbid.checked_sub(FIRST_DBID)?).ok()?;
    zones().get(idx)
}

/// The offset (seconds east of UTC) in force at `unix_s` for a record whose zone is `tz_name`
/// with fallback offset `tz_offset_s` (used when the name is not in the table).
pub fn offset_at(tz_name: &str, tz_offset_s: i32, unix_s: i64) -> i32 {
    match zone_by_name(tz_name) {
        Some(zone) => zone.offset_at(unix_s),
        None => tz_offset_s,
    }
}

/// An offset from UTC and the span of Unix seconds `start_s..end_s` it holds for (between two
/// daylight-saving changes, or forever for a fixed zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSpan {
    /// Seconds east of UTC.
    pub offset_s: i32,
    /// First second of the span.
    pub start_s: i64,
    /// First second after the span (the next change).
    pub end_s: i64,
}

impl OffsetSpan {
    /// A fixed offset, forever.
    pub const fn fixed(offset_s: i32) -> OffsetSpan {
        OffsetSpan { offset_s, start_s: i64::MIN, end_s: i64::MAX }
    }

    /// True if the span covers `unix_s`.
    pub fn covers(&self, unix_s: i64) -> bool {
        self.start_s <= unix_s && unix_s < self.end_s
    }
}

/// The offset spans of every zone of the table, cached as time moves on: retrieval asks for a
/// zone's offset for every record it looks at, and the answer changes twice a year.
#[derive(Clone, Debug, Default)]
pub struct OffsetCache {
    spans: Vec<OffsetSpan>,
}

impl OffsetCache {
    /// The span covering `unix_s` of a record's zone (`tz_offset_s` fixed if the name is not
    /// in the table).
    pub fn span(&mut self, tz_name: &str, tz_offset_s: i32, unix_s: i64) -> OffsetSpan {
        let Some(idx) = zone_index(tz_name) else { return OffsetSpan::fixed(tz_offset_s) };
        if self.spans.is_empty() {
            // An empty span: every first look computes.
            self.spans = vec![OffsetSpan { offset_s: 0, start_s: 0, end_s: 0 }; TABLE.len()];
        }
        let cached = self.spans[idx];
        if cached.covers(unix_s) {
            return cached;
        }
        let span = zones()[idx].span_at(unix_s);
        self.spans[idx] = span;
        span
    }
}

/// A daily calling window: seconds from local midnight, `from` inclusive, `till` exclusive.
/// `from > till` is a window that spans midnight; `from == till` is an empty window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyWindow {
    /// Opening, seconds from local midnight.
    pub from_s: i64,
    /// Closing, seconds from local midnight.
    pub till_s: i64,
}

impl DailyWindow {
    /// True if second-of-day `sod` lies inside the window.
    pub fn contains(self, sod: i64) -> bool {
        let DailyWindow { from_s, till_s } = self;
        if from_s < till_s {
            from_s <= sod && sod < till_s
        } else if from_s > till_s {
            sod >= from_s || sod < till_s
        } else {
            false
        }
    }

    /// Seconds from second-of-day `sod` until the window next opens (0 if it is open now);
    /// `None` for an empty window.
    pub fn wait_s(self, sod: i64) -> Option<i64> {
        if self.from_s == self.till_s {
            return None;
        }
        if self.contains(sod) {
            return Some(0);
        }
        Some((self.from_s - sod).rem_euclid(SECONDS_PER_DAY))
    }
}

/// Local second-of-day of `unix_s` at `offset_s`.
pub fn second_of_day(unix_s: i64, offset_s: i32) -> i64 {
    (unix_s + i64::from(offset_s)).rem_euclid(SECONDS_PER_DAY)
}

/// When to look at a record's window next: the first Unix second at or after `unix_s` at
/// which the window is open, or `None` for an empty window.
///
/// The answer is computed with the offset in force at `unix_s`. If a daylight-saving change
/// falls before that opening, the change itself is returned instead (the opening moves with
/// it), so the answer is never later than the true opening: a record parked until then is
/// never missed while its window is open.
pub fn next_open(window: DailyWindow, tz_name: &str, tz_offset_s: i32, unix_s: i64) -> Option<i64> {
    let span = zone_by_name(tz_name).map_or(OffsetSpan::fixed(tz_offset_s), |z| z.span_at(unix_s));
    next_open_in(window, span, unix_s)
}

/// [`next_open`] with the offset span covering `unix_s` already known.
pub fn next_open_in(window: DailyWindow, span: OffsetSpan, unix_s: i64) -> Option<i64> {
    let open = unix_s + window.wait_s(second_of_day(unix_s, span.offset_s))?;
    Some(open.min(span.end_s.max(unix_s)))
}

/// The instant a local date and time in the zone names, or `None` before the epoch.
///
/// The offset is found by two fixed-point steps from the standard offset; in the hour skipped
/// by a spring-forward change this lands an hour later, and in the repeated autumn hour it
/// picks the first (daylight) instance.
pub fn local_to_utc(tz_name: &str, tz_offset_s: i32, local: LocalDateTime) -> Option<Time> {
    let base = zone_by_name(tz_name).map_or(tz_offset_s, |z| z.std_offset_s);
    let guess = local.to_unix(i64::from(base));
    let off1 = offset_at(tz_name, tz_offset_s, guess);
    let mut unix_s = local.to_unix(i64::from(off1));
    let off2 = offset_at(tz_name, tz_offset_s, unix_s);
    if off2 != off1 {
        unix_s = local.to_unix(i64::from(off2));
    }
    (unix_s >= 0).then(|| Time::from_unix_s(unix_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tabulated offsets agree with the POSIX rule itself at every change, a second either
    /// side of it, and at a spread of instants across the table's years and outside them.
    #[test]
    fn tabulated_offsets_match_the_rule() {
        let by_rule = |zone: &Zone, s: i64| {
            zone.rule.as_ref().map_or(zone.std_offset_s, |tz| {
                tz.to_offset(jiff::Timestamp::from_second(s).unwrap()).seconds()
            })
        };
        let mut checked = 0;
        for zone in all_zones() {
            assert_eq!(zone.has_dst(), !zone.changes.is_empty(), "{}", zone.name);
            let mut instants: Vec<i64> = zone.changes.iter().flat_map(|&(s, _)| [s - 1, s, s + 1]).collect();
            instants.extend((-40i64..300).map(|k| k * 27_449_611 + 12_345));
            for s in instants {
                assert_eq!(zone.offset_at(s), by_rule(zone, s), "{} at {s}", zone.name);
                checked += 1;
            }
        }
        assert!(checked > 20_000);
    }

    #[test]
    fn every_rule_parses_and_dbids_are_dense() {
        for (i, zone) in all_zones().iter().enumerate() {
            assert_eq!(zone_by_dbid(zone.dbid).unwrap().name, zone.name);
            assert_eq!(zone.dbid, FIRST_DBID + i as i64);
            assert_eq!(zone_by_name(zone.name).unwrap().dbid, zone.dbid);
        }
        assert_eq!(all_zones().len(), TABLE.len());
        assert!(zone_by_name("est").is_none(), "names are case-sensitive");
        assert!(zone_by_dbid(100).is_none());
        assert!(zone_by_dbid(FIRST_DBID + TABLE.len() as i64).is_none());
    }

    #[test]
    fn daylight_saving_shifts_us_and_eu_zones() {
        // 2027-01-15 12:00Z is winter everywhere north; 2027-07-15 12:00Z is summer.
        let winter = 1_800_014_400;
        let summer = 1_815_652_800;
        let est = zone_by_name("EST").unwrap();
        assert_eq!(est.offset_at(winter), -18000);
        assert_eq!(est.offset_at(summer), -14400);
        let cet = zone_by_name("CET").unwrap();
        assert_eq!(cet.offset_at(winter), 3600);
        assert_eq!(cet.offset_at(summer), 7200);
        let aest = zone_by_name("AEST").unwrap();
        assert_eq!(aest.offset_at(winter), 39600, "January is summer in Sydney");
        assert_eq!(aest.offset_at(summer), 36000);
        assert_eq!(zone_by_name("JST").unwrap().offset_at(summer), 32400);
        assert_eq!(offset_at("XYZ", 1234, summer), 1234, "unknown names use the record's offset");
    }

    #[test]
    fn windows_plain_wrapping_and_empty() {
        let day = DailyWindow { from_s: 8 * 3600, till_s: 18 * 3600 };
        assert!(!day.contains(8 * 3600 - 1));
        assert!(day.contains(8 * 3600));
        assert!(day.contains(18 * 3600 - 1));
        assert!(!day.contains(18 * 3600));
        assert_eq!(day.wait_s(7 * 3600), Some(3600));
        assert_eq!(day.wait_s(19 * 3600), Some(13 * 3600));
        assert_eq!(day.wait_s(9 * 3600), Some(0));
        let night = DailyWindow { from_s: 22 * 3600, till_s: 2 * 3600 };
        assert!(night.contains(23 * 3600));
        assert!(night.contains(3600));
        assert!(!night.contains(2 * 3600));
        assert_eq!(night.wait_s(12 * 3600), Some(10 * 3600));
        let empty = DailyWindow { from_s: 3600, till_s: 3600 };
        assert!(!empty.contains(3600));
        assert_eq!(empty.wait_s(0), None);
        let all_day = DailyWindow { from_s: 0, till_s: SECONDS_PER_DAY };
        assert!(all_day.contains(0) && all_day.contains(SECONDS_PER_DAY - 1));
    }

    #[test]
    fn next_open_stops_at_a_daylight_saving_change() {
        // US DST starts 2027-03-14 at 07:00Z (02:00 EST). A window opening 08:00 local, asked
        // at 2027-03-13 20:00Z (15:00 EST, closed): 08:00 EDT on the 14th is 12:00Z, but the
        // offset in force says 13:00Z, so the answer is the change at 07:00Z.
        let window = DailyWindow { from_s: 8 * 3600, till_s: 9 * 3600 };
        let asked = 1_804_968_000; // 2027-03-13T20:00:00Z
        let change = 1_805_007_600; // 2027-03-14T07:00:00Z
        assert_eq!(zone_by_name("EST").unwrap().next_transition_after(asked), Some(change));
        assert_eq!(next_open(window, "EST", -18000, asked), Some(change));
        // Asked again at the change, the opening is exact: 12:00Z.
        assert_eq!(next_open(window, "EST", -18000, change), Some(change + 5 * 3600));
        // Zones without DST, and unknown zones, have no change to stop at.
        assert_eq!(
            next_open(window, "JST", 0, asked),
            Some(asked + (8 * 3600 - (asked + 32400) % 86400).rem_euclid(86400))
        );
        assert_eq!(next_open(window, "XYZ", 0, asked), Some(asked + 12 * 3600));
        assert_eq!(next_open(DailyWindow { from_s: 5, till_s: 5 }, "EST", 0, asked), None);
    }

    #[test]
    fn offset_spans_run_between_changes_and_the_cache_follows_them() {
        let asked = 1_804_968_000; // 2027-03-13T20:00:00Z, EST
        let change = 1_805_007_600; // 2027-03-14T07:00:00Z, to EDT
        let est = zone_by_name("EST").unwrap();
        let span = est.span_at(asked);
        assert_eq!((span.offset_s, span.end_s), (-18000, change));
        assert!(span.start_s < asked && span.start_s > asked - 366 * 86_400);
        let after = est.span_at(change);
        assert_eq!((after.offset_s, after.start_s), (-14400, change), "a span starts at its change");
        assert_eq!(est.span_at(change - 1).end_s, change);
        assert_eq!(zone_by_name("JST").unwrap().span_at(asked), OffsetSpan::fixed(32400));
        let mut cache = OffsetCache::default();
        assert_eq!(cache.span("EST", 0, asked), span);
        assert_eq!(cache.span("EST", 0, change - 1), span);
        assert_eq!(cache.span("EST", 0, change).offset_s, -14400);
        assert_eq!(cache.span("EST", 0, asked), span, "going back recomputes");
        assert_eq!(cache.span("Lunar", 4321, asked), OffsetSpan::fixed(4321));
        for zone in all_zones() {
            assert_eq!(zone_index(zone.name).map(|i| all_zones()[i].name), Some(zone.name));
        }
        // Near misses of the packed key: a longer name with a known prefix, a trailing NUL,
        // another case, a prefix.
        for name in ["ESTX", "EST\0", "AWSTX", "est", "ES", "", "AKST5", "UTC\0\0"] {
            assert_eq!(zone_index(name), None, "{name:?}");
        }
    }

    #[test]
    fn local_times_convert_with_the_offset_in_force() {
        let july = LocalDateTime::parse("07/15/2027 09:00").unwrap();
        let jan = LocalDateTime::parse("01/15/2027 09:00").unwrap();
        // 09:00 EDT is 13:00Z; 09:00 EST is 14:00Z.
        assert_eq!(local_to_utc("EST", -18000, july).unwrap().as_unix_s(), july.to_unix(0) + 4 * 3600);
        assert_eq!(local_to_utc("EST", -18000, jan).unwrap().as_unix_s(), jan.to_unix(0) + 5 * 3600);
        assert_eq!(local_to_utc("ZZZ", 3600, jan).unwrap().as_unix_s(), jan.to_unix(0) - 3600);
        let early = LocalDateTime::parse("01/01/1970 00:30").unwrap();
        assert_eq!(local_to_utc("CET", 3600, early), None, "before the epoch");
    }
}
