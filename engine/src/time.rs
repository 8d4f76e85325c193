//! Engine time: the one clock type every input carries.
//!
//! The engine never reads a clock. Callers pass a [`Time`] with every input: the simulator its
//! virtual time, `pacer serve` the wall clock, an embedding dialer whatever it trusts. A
//! [`Time`] is microseconds since the Unix epoch (UTC), so calendar questions (a record's
//! daily window in its own time zone, a callback's `GSW_DATE_TIME`) can be answered from it.

use std::time::Duration;

/// A point in time: microseconds since 1970-01-01T00:00:00Z.
///
/// ```
/// use pacer_engine::time::Time;
/// use std::time::Duration;
/// let t = Time::from_unix_s(1_790_000_000);
/// assert_eq!((t + Duration::from_millis(1500)).as_unix_s(), 1_790_000_001);
/// assert_eq!((t + Duration::from_secs(2)).saturating_duration_since(t), Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    /// The Unix epoch.
    pub const EPOCH: Time = Time(0);

    /// The time `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Time {
        Time(micros)
    }

    /// The time `seconds` whole seconds after the epoch (negative values clamp to the epoch).
    pub const fn from_unix_s(seconds: i64) -> Time {
        if seconds <= 0 { Time(0) } else { Time((seconds as u64).saturating_mul(1_000_000)) }
    }

    /// The time `seconds` (fractional) after the epoch, rounded to the microsecond; negative
    /// or non-finite values clamp to the epoch.
    pub fn from_secs_f64(seconds: f64) -> Time {
        if seconds.is_finite() && seconds > 0.0 { Time((seconds * 1e6).round() as u64) } else { Time(0) }
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn as_unix_s(self) -> i64 {
        (self.0 / 1_000_000) as i64
    }

    /// Seconds since the epoch, with the fraction.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// How long after `earlier` this is; zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// This time minus `span`, clamped at the epoch.
    pub fn saturating_sub(self, span: Duration) -> Time {
        Time(self.0.saturating_sub(duration_micros(span)))
    }
}

fn duration_micros(span: Duration) -> u64 {
    u64::try_from(span.as_micros()).unwrap_or(u64::MAX)
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, span: Duration) -> Time {
        Time(self.0.saturating_add(duration_micros(span)))
    }
}

impl std::ops::AddAssign<Duration> for Time {
    fn add_assign(&mut self, span: Duration) {
        *self = *self + span;
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}
