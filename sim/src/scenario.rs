//! Scenario files: TOML describing the contact centre to simulate, validated with errors that
//! name the file, the line and the field.
//!
//! Every table refuses unknown keys (`deny_unknown_fields`), so a misspelt key is an error
//! naming it rather than a silent default. Values are checked while they are read (a
//! probability outside [0, 1], a negative mean), so the TOML reader's span points at the
//! offending value. `--set key.path=value` overrides are applied to the TOML document before
//! it is read; an override that names no field is an error naming the override.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dist::{Dist, DistSpec};

/// A scenario as read from its file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (the file stem by convention).
    pub name: String,
    /// One line saying what it simulates (shown by `pacer scenarios`).
    pub description: String,
    /// Simulated span, seconds (more than 0, at most a year).
    #[serde(deserialize_with = "duration")]
    pub duration_s: f64,
    /// Start of the simulated day, Unix seconds (default 2026-03-02 13:00 UTC, 08:00 US
    /// Eastern).
    #[serde(default = "default_start_unix_s", deserialize_with = "start_unix_s")]
    pub start_unix_s: i64,
    /// Application id of the simulated server.
    #[serde(default = "default_application_id", deserialize_with = "application_id")]
    pub application_id: i64,
    /// The campaign group.
    pub group: GroupSpec,
    /// Pacing configuration (algorithm and goal at least), read by the engine's pacing
    /// module.
    pub pacing: PacingSpec,
    /// Agents and their shifts.
    pub agents: AgentsSpec,
    /// What desktops do with the records they get.
    #[serde(default)]
    pub behaviour: BehaviourSpec,
    /// The calling list.
    pub records: RecordsSpec,
    /// How customers answer.
    pub customers: CustomersSpec,
    /// The dialer and its call progress detection.
    #[serde(default)]
    pub dialer: DialerSpec,
    /// The switch.
    #[serde(default)]
    pub switch: SwitchSpec,
    /// Injected faults.
    #[serde(default)]
    pub faults: FaultsSpec,
    /// Settings of `pacer serve` (read by the gateway, ignored by the simulator).
    #[serde(default)]
    pub serve: Option<toml::Table>,
}

fn default_start_unix_s() -> i64 {
    1_772_456_400
}
fn default_application_id() -> i64 {
    101
}

/// The campaign group the scenario runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Campaign name.
    #[serde(deserialize_with = "name")]
    pub campaign: String,
    /// Agent group name.
    #[serde(deserialize_with = "name")]
    pub agent_group: String,
    /// Dialing mode, as the protocol names it (`Predictive`, `Progressive`, `Preview`,
    /// `Power GVP`, ... or the short `Predict`, `Progress`, ...).
    #[serde(deserialize_with = "dial_mode_name")]
    pub dial_mode: String,
    /// Caller id presented on every call.
    #[serde(default, deserialize_with = "cpn_digits")]
    pub cpn_digits: Option<String>,
    /// The group's agents are virtual (an IVR group: no after-call work, no desktop
    /// behaviour beyond RecordProcessed).
    #[serde(default)]
    pub ivr: bool,
    /// Seconds after which the engine gives up a dial whose result has not come (the
    /// engine's default when unset).
    #[serde(default, deserialize_with = "optional_s")]
    pub dial_result_timeout_s: Option<f64>,
}

impl GroupSpec {
    /// The group's name, `campaign@agent_group`.
    pub fn group_name(&self) -> String {
        format!("{}@{}", self.campaign, self.agent_group)
    }
}

/// The `[pacing]` table: algorithm, goal and the engine's other pacing settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingSpec {
    /// Algorithm name (`progressive`, `predictive`, `small_group`, ...).
    #[serde(deserialize_with = "algorithm_name")]
    pub algorithm: String,
    /// Goal: exactly one of `overdial_rate`, `busy_factor`, `agent_wait_s`.
    pub goal: GoalSpec,
    /// Other settings, passed to the engine's pacing configuration as they are (checked
    /// against it when read).
    #[serde(default, deserialize_with = "pacing_settings")]
    pub settings: toml::Table,
    /// Dials the `constant_level` pacer keeps in flight (that pacer only, which needs it).
    #[serde(default)]
    pub level: Option<u32>,
}

/// The pacing algorithms' names, as `[pacing] algorithm` takes them (`oracle`: the
/// simulator's reference pacer, see [`crate::oracle`]; `constant_level`: the simulator's
/// fixed number of dials in flight, see [`crate::world::CONSTANT_LEVEL`]).
pub const ALGORITHMS: &[&str] = &[
    "progressive",
    "predictive",
    "small_group",
    "advanced_small_group",
    "time_optimized",
    "fixed_ratio",
    "vicidial_adapt",
    "oracle",
    "constant_level",
];

fn algorithm_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    if ALGORITHMS.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "unknown algorithm `{name}`, expected one of {}",
            ALGORITHMS.join(", ")
        )))
    }
}

fn dial_mode_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    match pacer_engine::protocol::DialMode::from_wire(&name) {
        Some(_) => Ok(name),
        None => {
            Err(serde::de::Error::custom(format!("`{name}` is not a dialing mode (e.g. \"Predictive\")")))
        }
    }
}

/// A pacing goal as written in a scenario; the target is checked when read (a rate or a
/// busy factor is a share in [0, 1], a wait is a finite number of seconds >= 0).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields, try_from = "GoalFields")]
pub enum GoalSpec {
    /// Keep abandoned / answered below this.
    OverdialRate(f64),
    /// Keep agents busy this share of their time.
    BusyFactor(f64),
    /// Keep the mean agent wait near this many seconds.
    AgentWaitS(f64),
}

impl fmt::Display for GoalSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoalSpec::OverdialRate(v) => write!(f, "overdial_rate={v}"),
            GoalSpec::BusyFactor(v) => write!(f, "busy_factor={v}"),
            GoalSpec::AgentWaitS(v) => write!(f, "agent_wait_s={v}"),
        }
    }
}

/// [`GoalSpec`] as written, before its target is checked.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum GoalFields {
    OverdialRate(f64),
    BusyFactor(f64),
    AgentWaitS(f64),
}

impl TryFrom<GoalFields> for GoalSpec {
    type Error = String;
    fn try_from(goal: GoalFields) -> Result<GoalSpec, String> {
        let share = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} is a share and must be in [0, 1], got {}", number(v)))
            }
        };
        Ok(match goal {
            GoalFields::OverdialRate(v) => GoalSpec::OverdialRate(share("overdial_rate", v)?),
            GoalFields::BusyFactor(v) => GoalSpec::BusyFactor(share("busy_factor", v)?),
            GoalFields::AgentWaitS(v) => GoalSpec::AgentWaitS(Seconds::try_from(v)?.0),
        })
    }
}

/// Reads the `[pacing] settings` table and checks that it converts to the engine's pacing
/// configuration, so a bad setting is reported at its line rather than when the run starts.
fn pacing_settings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<toml::Table, D::Error> {
    let table = toml::Table::deserialize(d)?;
    if !table.is_empty() {
        let config = toml::Value::Table(table.clone())
            .try_into::<pacer_engine::pacing::PacingConfig>()
            .map_err(|e| serde::de::Error::custom(format!("settings: {}", e.message().trim())))?;
        // The pacer would clamp a value out of its range; a file gets told instead.
        config
            .validate()
            .map_err(|e| serde::de::Error::custom(format!("settings.{}: {}", e.field, e.reason)))?;
    }
    Ok(table)
}

/// The latest start a scenario may give: 9999-12-31 23:59:59 UTC, which keeps every engine
/// time (microseconds in a `u64`) far from overflow.
const MAX_START_UNIX_S: i64 = 253_402_300_799;

/// Reads the start of the simulated day: Unix seconds from 0 to [`MAX_START_UNIX_S`] (the
/// engine's clock starts at the epoch and would silently clamp an earlier time).
fn start_unix_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = i64::deserialize(d)?;
    if (0..=MAX_START_UNIX_S).contains(&s) {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!("must be Unix seconds from 0 to {MAX_START_UNIX_S}, got {s}")))
    }
}

/// Reads the application id: 101 or more, as the engine requires.
fn application_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let id = i64::deserialize(d)?;
    if id >= 101 {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(format!("{id} is below 101, the first valid application id")))
    }
}

/// Longest name (campaign, agent group, list, zone) a scenario may give, bytes.
const MAX_NAME_BYTES: usize = 255;

/// Checks a name: not empty, not padded with spaces, no control characters, not absurdly long.
fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        Err("must not be empty".into())
    } else if name.trim() != name {
        Err(format!("{name:?} starts or ends with white space"))
    } else if name.chars().any(char::is_control) {
        Err(format!("{name:?} holds a control character"))
    } else if name.len() > MAX_NAME_BYTES {
        Err(format!("longer than {MAX_NAME_BYTES} bytes ({} bytes)", name.len()))
    } else {
        Ok(())
    }
}

/// Reads a name (see [`check_name`]).
fn name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    check_name(&name).map_err(|e| serde::de::Error::custom(format!("a name {e}")))?;
    Ok(name)
}

/// Reads a caller id: digits, optionally after a `+`, at most 32 of them.
fn cpn_digits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let cpn = String::deserialize(d)?;
    let digits = cpn.strip_prefix('+').unwrap_or(&cpn);
    if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom(format!(
            "{cpn:?} is not a caller id (1 to 32 digits, optionally after a `+`)"
        )));
    }
    Ok(Some(cpn))
}

/// Reads an optional span of seconds (see [`Seconds`]).
fn optional_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let s = f64::deserialize(d)?;
    Seconds::try_from(s).map(|s| Some(s.0)).map_err(serde::de::Error::custom)
}

/// Reads an optional span of seconds that must be more than 0 (see [`Seconds`]).
fn optional_positive_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let s = f64::deserialize(d)?;
    match Seconds::try_from(s) {
        Ok(Seconds(s)) if s > 0.0 => Ok(Some(s)),
        Ok(_) => Err(serde::de::Error::custom("seconds must be more than 0, got 0")),
        Err(e) => Err(serde::de::Error::custom(e)),
    }
}

/// A probability: a number in [0, 1], checked when read.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Probability(pub f64);

impl TryFrom<f64> for Probability {
    type Error = String;
    fn try_from(p: f64) -> Result<Probability, String> {
        if (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(format!("a probability must be in [0, 1], got {}", number(p)))
        }
    }
}

/// A number as an error message shows it: in full when short, in scientific notation when
/// its decimal form would run to hundreds of digits (`1e300`).
pub(crate) fn number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 { format!("{v:e}") } else { format!("{v}") }
}

/// Most agents a scenario may ask for (the simulator's memory grows with them).
pub const MAX_AGENTS: u32 = 1_000_000;
/// Most records a scenario may generate (about 340 bytes each in the engine's store).
pub const MAX_RECORDS: u64 = 100_000_000;
/// Longest simulated span, seconds (a year).
const MAX_DURATION_S: f64 = 366.0 * 86_400.0;

/// Reads a number of seconds that must be finite, not negative and at most a year (see
/// [`Seconds`]).
fn non_negative_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let s = f64::deserialize(d)?;
    Seconds::try_from(s).map(|s| s.0).map_err(serde::de::Error::custom)
}

/// Reads the simulated span: more than 0 seconds, at most a year.
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let s = f64::deserialize(d)?;
    if s > 0.0 && s <= MAX_DURATION_S {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be more than 0 and at most {MAX_DURATION_S} seconds, got {}",
            number(s)
        )))
    }
}

/// Reads a number of agents, at least 1 and at most [`MAX_AGENTS`].
fn agent_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u64::deserialize(d)?;
    if n == 0 {
        return Err(serde::de::Error::custom("at least 1 agent, got 0"));
    }
    u32::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_AGENTS)
        .ok_or_else(|| serde::de::Error::custom(format!("at most {MAX_AGENTS} agents, got {n}")))
}

/// Reads a number of records, at most [`MAX_RECORDS`].
fn record_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if n <= MAX_RECORDS {
        Ok(n)
    } else {
        Err(serde::de::Error::custom(format!("at most {MAX_RECORDS} records, got {n}")))
    }
}

/// A span of seconds: finite, not negative and at most a year, checked when read. The bound
/// keeps every span convertible to a `Duration` and every engine time far from overflow; no
/// setting of a simulated day means anything past it.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Seconds(pub f64);

impl TryFrom<f64> for Seconds {
    type Error = String;
    fn try_from(s: f64) -> Result<Seconds, String> {
        if !(s.is_finite() && s >= 0.0) {
            Err(format!("seconds must be finite and >= 0, got {}", number(s)))
        } else if s > MAX_DURATION_S {
            Err(format!("seconds must be at most {MAX_DURATION_S} (a year), got {}", number(s)))
        } else {
            Ok(Seconds(s))
        }
    }
}

/// A distribution, checked and built when read.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "DistSpec")]
pub struct Distribution {
    /// As written.
    pub spec: DistSpec,
    /// Ready to sample.
    pub dist: Dist,
}

impl TryFrom<DistSpec> for Distribution {
    type Error = String;
    fn try_from(spec: DistSpec) -> Result<Distribution, String> {
        let dist = spec.build()?;
        Ok(Distribution { spec, dist })
    }
}

impl Distribution {
    fn exponential(mean_s: f64) -> Distribution {
        Distribution::try_from(DistSpec::Exponential { mean_s }).expect("a positive mean")
    }
    fn constant(value_s: f64) -> Distribution {
        Distribution::try_from(DistSpec::Constant { value_s }).expect("a non-negative constant")
    }
}

/// Agents: how many, their shifts and their handling times.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSpec {
    /// Number of agents (places), at most [`MAX_AGENTS`].
    #[serde(deserialize_with = "agent_count")]
    pub count: u32,
    /// Logins are spread uniformly over this many seconds from the start.
    #[serde(default, deserialize_with = "non_negative_s")]
    pub login_spread_s: f64,
    /// Length of a shift, seconds (default: the whole run).
    #[serde(default, deserialize_with = "optional_positive_s")]
    pub shift_s: Option<f64>,
    /// Talk time.
    pub talk: Distribution,
    /// After-call work time.
    pub acw: Distribution,
    /// Probability that a desktop sends a ReadyTime estimate during after-call work.
    #[serde(default)]
    pub ready_time_hint: Probability,
    /// Relative standard deviation of the agent's estimate of remaining work.
    #[serde(default, deserialize_with = "relative_sd")]
    pub ready_time_error: f64,
    /// Breaks per shift (each through the smart-logout exchange).
    #[serde(default, deserialize_with = "break_count")]
    pub breaks: u32,
    /// Length of a break.
    #[serde(default = "default_break")]
    pub break_length: Distribution,
}

fn default_break() -> Distribution {
    Distribution::constant(900.0)
}

/// Desktop behaviour: probabilities per record handled.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourSpec {
    /// Sends UpdateCallCompletionStats during the call.
    #[serde(default)]
    pub update_stats: Probability,
    /// Rejects a preview record (RecordReject).
    #[serde(default)]
    pub reject: Probability,
    /// Cancels the record's chain (RequestRecordCancel).
    #[serde(default)]
    pub cancel: Probability,
    /// Marks the customer do-not-call (DoNotCall).
    #[serde(default)]
    pub do_not_call: Probability,
    /// Reschedules as a personal callback.
    #[serde(default)]
    pub reschedule_personal: Probability,
    /// Reschedules as a campaign callback.
    #[serde(default)]
    pub reschedule_campaign: Probability,
    /// Asks for the rest of the chain (ChainedRecordRequest).
    #[serde(default)]
    pub chained_request: Probability,
    /// Adds a new record (AddRecord), e.g. a referral.
    #[serde(default)]
    pub add_record: Probability,
    /// Sends a treatment with RecordProcessed.
    #[serde(default)]
    pub treatment: Probability,
    /// Seconds before a desktop retries after NoRecordsAvailable.
    #[serde(default = "default_retry_s", deserialize_with = "non_negative_s")]
    pub no_records_retry_s: f64,
}

fn default_retry_s() -> f64 {
    5.0
}

/// A time zone of the calling list: a zone of the engine's table, or any name with its
/// offset; the weight is finite and not negative.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "TimeZoneFields")]
pub struct TimeZoneSpec {
    /// Name as the list stores it (`EST`, `CST`, ...; see the engine's zone table).
    pub name: String,
    /// Standard offset from UTC, seconds east; taken from the zone table when absent.
    #[serde(default)]
    pub offset_s: Option<i32>,
    /// Share of records in this zone.
    pub weight: f64,
}

/// Weights of phone types in the generated list (finite, not negative, not all zero).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "PhoneMixFields")]
pub struct PhoneMix {
    /// Home phones.
    #[serde(default)]
    pub home: f64,
    /// Direct business phones.
    #[serde(default)]
    pub business: f64,
    /// Mobiles.
    #[serde(default)]
    pub mobile: f64,
}

impl Default for PhoneMix {
    fn default() -> PhoneMix {
        PhoneMix { home: 0.5, business: 0.2, mobile: 0.3 }
    }
}

/// The calling list, generated.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsSpec {
    /// Records (phone numbers) to generate, at most [`MAX_RECORDS`].
    #[serde(deserialize_with = "record_count")]
    pub count: u64,
    /// List name.
    #[serde(default = "default_list", deserialize_with = "name")]
    pub list: String,
    /// Longest chain (numbers per customer); chain lengths are uniform in 1..=chain_max.
    #[serde(default = "one", deserialize_with = "chain_max")]
    pub chain_max: u32,
    /// Phone type mix.
    #[serde(default)]
    pub phone_types: PhoneMix,
    /// Time zones; default one zone at UTC-5.
    #[serde(default, deserialize_with = "time_zones")]
    pub time_zones: Vec<TimeZoneSpec>,
    /// Daily window start, seconds from local midnight.
    #[serde(default = "default_from", deserialize_with = "day_second")]
    pub daily_from_s: i32,
    /// Daily window end, seconds from local midnight (before the start: the window spans
    /// midnight).
    #[serde(default = "default_till", deserialize_with = "day_second")]
    pub daily_till_s: i32,
    /// Share of numbers preloaded on the do-not-call list.
    #[serde(default)]
    pub dnc_share: Probability,
    /// Give every chain a customer id (`C<chain id>`); off saves the engine's customer-id
    /// index on very large lists.
    #[serde(default = "yes")]
    pub customer_ids: bool,
    /// Load the list from this CSV file (header = field names, the engine's list format)
    /// instead of generating it; a relative path is read from the scenario file's folder.
    /// `count` and the generation settings are then unused.
    #[serde(default)]
    pub csv: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

/// [`TimeZoneSpec`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeZoneFields {
    name: String,
    #[serde(default)]
    offset_s: Option<i32>,
    weight: f64,
}

impl TryFrom<TimeZoneFields> for TimeZoneSpec {
    type Error = String;
    fn try_from(z: TimeZoneFields) -> Result<TimeZoneSpec, String> {
        check_name(&z.name).map_err(|e| format!("a zone name {e}"))?;
        match z.offset_s {
            Some(offset) if !(-43_200..=43_200).contains(&offset) => {
                return Err(format!("offset_s must be in -43200..=43200, got {offset}"));
            }
            None if pacer_engine::records::tz::zone_by_name(&z.name).is_none() => {
                return Err(format!("`{}` is not in the engine's zone table; give its offset_s", z.name));
            }
            _ => {}
        }
        if !(z.weight.is_finite() && z.weight >= 0.0) {
            return Err(format!("weight must be finite and >= 0, got {}", number(z.weight)));
        }
        Ok(TimeZoneSpec { name: z.name, offset_s: z.offset_s, weight: z.weight })
    }
}

/// Reads the time zones: when any are given, their weights must not all be 0.
fn time_zones<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<TimeZoneSpec>, D::Error> {
    let zones = Vec::<TimeZoneSpec>::deserialize(d)?;
    if !zones.is_empty() && zones.iter().all(|z| z.weight == 0.0) {
        return Err(serde::de::Error::custom("the zones' weights must not all be 0"));
    }
    Ok(zones)
}

/// Checks relative weights: each finite and not negative, and not all zero.
fn check_weights(names: &[&str], weights: &[f64]) -> Result<(), String> {
    for (name, &w) in names.iter().zip(weights) {
        if !(w.is_finite() && w >= 0.0) {
            return Err(format!("weight {name} must be finite and >= 0, got {}", number(w)));
        }
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(format!("the weights ({}) must not all be 0", names.join(", ")));
    }
    Ok(())
}

/// [`PhoneMix`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneMixFields {
    #[serde(default)]
    home: f64,
    #[serde(default)]
    business: f64,
    #[serde(default)]
    mobile: f64,
}

impl TryFrom<PhoneMixFields> for PhoneMix {
    type Error = String;
    fn try_from(m: PhoneMixFields) -> Result<PhoneMix, String> {
        check_weights(&["home", "business", "mobile"], &[m.home, m.business, m.mobile])?;
        Ok(PhoneMix { home: m.home, business: m.business, mobile: m.mobile })
    }
}

/// Most breaks an agent may take in one shift (each is a smart-logout exchange and a return;
/// a few an hour is already more than any floor allows).
const MAX_BREAKS: u32 = 1000;

/// Reads the number of breaks per shift, at most [`MAX_BREAKS`].
fn break_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u64::deserialize(d)?;
    u32::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_BREAKS)
        .ok_or_else(|| serde::de::Error::custom(format!("at most {MAX_BREAKS} breaks per shift, got {n}")))
}

/// Reads a relative standard deviation: finite and not negative.
fn relative_sd<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "a relative standard deviation must be finite and >= 0, got {}",
            number(v)
        )))
    }
}

/// Reads the longest chain: at least 1.
fn chain_max<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n >= 1 { Ok(n) } else { Err(serde::de::Error::custom("a chain holds at least 1 number, got 0")) }
}

/// Reads a bound of the daily window: seconds from local midnight, 0 to 86400.
fn day_second<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let s = i64::deserialize(d)?;
    if (0..=86_400).contains(&s) {
        Ok(s as i32)
    } else {
        Err(serde::de::Error::custom(format!("seconds from local midnight must be in 0..=86400, got {s}")))
    }
}

fn default_list() -> String {
    "Leads".into()
}
fn one() -> u32 {
    1
}
fn default_from() -> i32 {
    8 * 3600
}
fn default_till() -> i32 {
    21 * 3600
}

/// Outcome probabilities of one phone type (the rest of 1 is no answer, so they sum to at
/// most 1).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "OutcomeFields")]
pub struct OutcomeSpec {
    /// A person answers.
    pub answer: Probability,
    /// Busy.
    #[serde(default)]
    pub busy: Probability,
    /// An answering machine answers.
    #[serde(default)]
    pub machine: Probability,
    /// A fax answers.
    #[serde(default)]
    pub fax: Probability,
    /// Special information tone (number not in service).
    #[serde(default)]
    pub sit: Probability,
}

/// [`OutcomeSpec`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeFields {
    answer: Probability,
    #[serde(default)]
    busy: Probability,
    #[serde(default)]
    machine: Probability,
    #[serde(default)]
    fax: Probability,
    #[serde(default)]
    sit: Probability,
}

impl TryFrom<OutcomeFields> for OutcomeSpec {
    type Error = String;
    fn try_from(o: OutcomeFields) -> Result<OutcomeSpec, String> {
        let sum = o.answer.0 + o.busy.0 + o.machine.0 + o.fax.0 + o.sit.0;
        // A little slack for decimal fractions whose binary sum lands just above 1.
        if sum > 1.0 + 1e-9 {
            return Err(format!("answer + busy + machine + fax + sit must be at most 1, got {sum}"));
        }
        Ok(OutcomeSpec { answer: o.answer, busy: o.busy, machine: o.machine, fax: o.fax, sit: o.sit })
    }
}

/// Outcome probabilities per phone type.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomesSpec {
    /// Home phones.
    pub home: OutcomeSpec,
    /// Business phones.
    pub business: OutcomeSpec,
    /// Mobiles.
    pub mobile: OutcomeSpec,
}

/// Customers: how they answer and how long they wait.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "CustomersFields")]
pub struct CustomersSpec {
    /// Outcome probabilities per phone type.
    pub outcomes: OutcomesSpec,
    /// How the live-answer probability moves over the run (empty: it does not).
    pub answer_profile: Vec<AnswerStep>,
    /// Ring time before a person or machine answers.
    pub ring: Distribution,
    /// How long an unanswered call rings before the dialer gives up, seconds.
    pub no_answer_s: f64,
    /// How long an answered person waits for an agent before hanging up (absent: forever).
    pub patience: Option<Distribution>,
    /// Share of numbers with a personalised ring tone (music instead of ring-back).
    pub personalised_ringtone: Probability,
}

/// One step of [`CustomersSpec::answer_profile`]: from `from_s` seconds into the run (until
/// the next step), every phone type's live-answer probability is `factor` times the one in
/// `outcomes`; the difference is taken from, or given to, no answer. Contact rates move over
/// a day (lunchtime, evenings), and a fixed dial ratio tuned for one part of it is wrong for
/// another: the benchmark's drifting scenarios (`scenarios/bench-drift/`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnswerStep {
    /// Seconds into the run the step starts at.
    #[serde(deserialize_with = "non_negative_s")]
    pub from_s: f64,
    /// Multiplier of the live-answer probabilities (at least 0).
    pub factor: f64,
}

impl CustomersSpec {
    /// The live-answer multiplier `elapsed_s` seconds into the run (1 before the first step).
    pub fn answer_factor(&self, elapsed_s: f64) -> f64 {
        self.answer_profile
            .iter()
            .take_while(|step| step.from_s <= elapsed_s)
            .last()
            .map_or(1.0, |s| s.factor)
    }

    /// The live-answer multiplier averaged over the first `duration_s` seconds of a run.
    pub fn mean_answer_factor(&self, duration_s: f64) -> f64 {
        if duration_s <= 0.0 {
            return self.answer_factor(0.0);
        }
        let mut bounds: Vec<f64> = vec![0.0];
        bounds.extend(self.answer_profile.iter().map(|s| s.from_s).filter(|&t| t > 0.0 && t < duration_s));
        bounds.push(duration_s);
        bounds.windows(2).map(|w| (w[1] - w[0]) * self.answer_factor(w[0])).sum::<f64>() / duration_s
    }
}

/// [`CustomersSpec`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomersFields {
    outcomes: OutcomesSpec,
    #[serde(default, deserialize_with = "answer_profile")]
    answer_profile: Vec<AnswerStep>,
    ring: Distribution,
    #[serde(default = "default_no_answer_s", deserialize_with = "non_negative_s")]
    no_answer_s: f64,
    #[serde(default)]
    patience: Option<Distribution>,
    #[serde(default)]
    personalised_ringtone: Probability,
}

/// Reads `answer_profile`: steps in time order, each factor a number at least 0.
fn answer_profile<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<AnswerStep>, D::Error> {
    let steps = Vec::<AnswerStep>::deserialize(d)?;
    let mut last = f64::NEG_INFINITY;
    for (i, step) in steps.iter().enumerate() {
        if !(step.factor.is_finite() && step.factor >= 0.0) {
            return Err(serde::de::Error::custom(format!(
                "answer_profile[{i}].factor must be a number at least 0, got {}",
                step.factor
            )));
        }
        if step.from_s <= last {
            return Err(serde::de::Error::custom(format!(
                "answer_profile[{i}].from_s must be later than the step before ({last} s), got {} s",
                step.from_s
            )));
        }
        last = step.from_s;
    }
    Ok(steps)
}

impl TryFrom<CustomersFields> for CustomersSpec {
    type Error = String;
    fn try_from(c: CustomersFields) -> Result<CustomersSpec, String> {
        for (i, step) in c.answer_profile.iter().enumerate() {
            let o = &c.outcomes;
            for (name, t) in [("home", &o.home), ("business", &o.business), ("mobile", &o.mobile)] {
                let sum = t.answer.0 * step.factor + t.busy.0 + t.machine.0 + t.fax.0 + t.sit.0;
                if sum > 1.0 + 1e-9 {
                    return Err(format!(
                        "answer_profile[{i}].factor {} makes {name}'s answer + busy + machine + fax + sit {sum}, more than 1",
                        step.factor
                    ));
                }
            }
        }
        Ok(CustomersSpec {
            outcomes: c.outcomes,
            answer_profile: c.answer_profile,
            ring: c.ring,
            no_answer_s: c.no_answer_s,
            patience: c.patience,
            personalised_ringtone: c.personalised_ringtone,
        })
    }
}

fn default_no_answer_s() -> f64 {
    25.0
}

/// The dialer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialerSpec {
    /// Lines (simultaneous calls); 0 means unlimited.
    #[serde(default)]
    pub lines: u32,
    /// Delay from dial to a busy / SIT result.
    #[serde(default = "default_result_delay")]
    pub result_delay: Distribution,
    /// Answering-machine detection: a person classified as a machine.
    #[serde(default)]
    pub amd_false_positive: Probability,
    /// Answering-machine detection: a machine classified as a person.
    #[serde(default)]
    pub amd_false_negative: Probability,
    /// A personalised ring tone misread as a live answer by call progress detection.
    #[serde(default)]
    pub ringtone_misread: Probability,
    /// Time call progress detection takes after an answer, seconds.
    #[serde(default = "default_cpd_s", deserialize_with = "non_negative_s")]
    pub cpd_s: f64,
}

fn default_result_delay() -> Distribution {
    Distribution::exponential(3.0)
}
fn default_cpd_s() -> f64 {
    0.5
}

impl Default for DialerSpec {
    fn default() -> DialerSpec {
        DialerSpec {
            lines: 0,
            result_delay: default_result_delay(),
            amd_false_positive: Probability(0.0),
            amd_false_negative: Probability(0.0),
            ringtone_misread: Probability(0.0),
            cpd_s: default_cpd_s(),
        }
    }
}

/// The switch.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    /// An answered call with no agent after this many seconds is dropped (an overdial).
    #[serde(default = "default_compliance_s", deserialize_with = "non_negative_s")]
    pub compliance_time_s: f64,
}

fn default_compliance_s() -> f64 {
    2.0
}

impl Default for SwitchSpec {
    fn default() -> SwitchSpec {
        SwitchSpec { compliance_time_s: default_compliance_s() }
    }
}

/// Injected faults, each a probability per opportunity.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsSpec {
    /// A desktop crashes while it holds a record (per record delivered).
    #[serde(default)]
    pub desktop_crash: Probability,
    /// A crashed desktop comes back (logs in again) after `crash_downtime_s`.
    #[serde(default)]
    pub crash_return: Probability,
    /// Seconds a crashed desktop stays away before it comes back.
    #[serde(default = "default_downtime_s", deserialize_with = "non_negative_s")]
    pub crash_downtime_s: f64,
    /// A telephony event is lost on its way to the engine.
    #[serde(default)]
    pub telephony_lost: Probability,
    /// A telephony event reaches the engine twice.
    #[serde(default)]
    pub telephony_duplicate: Probability,
    /// A dial's result never arrives.
    #[serde(default)]
    pub dial_result_lost: Probability,
    /// Telephony logs the agent out in the middle of a call.
    #[serde(default)]
    pub telephony_logout_mid_call: Probability,
    /// A request is sent with a malformed value (wrong type).
    #[serde(default)]
    pub malformed_request: Probability,
    /// A request carries an unknown reserved field.
    #[serde(default)]
    pub unknown_field: Probability,
    /// A request carries another server's application id.
    #[serde(default)]
    pub other_application_id: Probability,
    /// Seconds between audits of agent states by telephony: each audit reports every
    /// logged-in agent's ready / not-ready state again, as a CTI link does to resynchronise
    /// after it lost events, so an agent whose state change was lost is not idle for the rest
    /// of the shift. 0 (the default) never audits. The audit's own events can be lost too.
    #[serde(default)]
    pub state_audit_s: Seconds,
}

fn default_downtime_s() -> f64 {
    60.0
}

impl FaultsSpec {
    /// True when any fault is switched on.
    pub fn any(&self) -> bool {
        [
            self.desktop_crash,
            self.telephony_lost,
            self.telephony_duplicate,
            self.dial_result_lost,
            self.telephony_logout_mid_call,
            self.malformed_request,
            self.unknown_field,
            self.other_application_id,
        ]
        .iter()
        .any(|p| p.0 > 0.0)
    }
}

/// A scenario that could not be read: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or `--set k=v` for an override).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted path of the field, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Largest scenario file read, bytes.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Reads a scenario file and applies `overrides` (each `key.path=value`).
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let error = |line: Option<usize>, message: String| ScenarioError {
        file: file.clone(),
        line,
        column: None,
        field: None,
        message,
    };
    // A scenario is a page of settings; a file far past that is not one, and is not read into
    // memory whole.
    let size = std::fs::metadata(path).map_err(|e| error(None, format!("cannot read: {e}")))?.len();
    if size > MAX_SCENARIO_BYTES {
        return Err(error(None, format!("{size} bytes: a scenario file has at most {MAX_SCENARIO_BYTES}")));
    }
    let bytes = std::fs::read(path).map_err(|e| error(None, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        error(Some(line), "not UTF-8 text".into())
    })?;
    let mut scenario = parse(&text, &file, overrides)?;
    if let Some(csv) = &scenario.records.csv
        && csv.is_relative()
        && let Some(dir) = path.parent()
    {
        scenario.records.csv = Some(dir.join(csv));
    }
    Ok(scenario)
}

/// Reads a scenario from `text` (named `file` in errors) and applies `overrides`.
pub fn parse(text: &str, file: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    // The file alone first: its errors point at its own lines.
    let base = read(text, file)?;
    if overrides.is_empty() {
        return Ok(base);
    }
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ScenarioError {
        file: file.into(),
        line: None,
        column: None,
        field: None,
        message: e.message().to_string(),
    })?;
    // Overrides one at a time, so an error is blamed on the override that caused it.
    for set in overrides {
        let blame = format!("--set {set}");
        let (path, value) = apply_override(&mut doc, set).map_err(|message| ScenarioError {
            file: blame.clone(),
            line: None,
            column: None,
            field: None,
            message,
        })?;
        read(&doc.to_string(), &blame).map_err(|mut e| {
            e.line = None;
            e.column = None;
            e.field = Some(e.field.unwrap_or_else(|| path.clone()));
            e.message = format!("{} (value {value})", e.message);
            e
        })?;
    }
    read(&doc.to_string(), "--set")
}

/// Applies one `a.b.c=value` to the document; returns the path and the value's text.
fn apply_override(doc: &mut toml_edit::DocumentMut, set: &str) -> Result<(String, String), String> {
    let (path, raw) = set.split_once('=').ok_or_else(|| "expected key.path=value".to_string())?;
    let path = path.trim();
    let keys: Vec<&str> = path.split('.').map(str::trim).collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("bad key path `{path}`"));
    }
    // A value that is not TOML (`predictive`) is taken as a string.
    let value: toml_edit::Value = raw.trim().parse().unwrap_or_else(|_| toml_edit::Value::from(raw.trim()));
    let mut item = doc.as_item_mut();
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        let table =
            item.as_table_like_mut().ok_or_else(|| format!("`{}` is not a table", keys[..i].join(".")))?;
        if last {
            table.insert(key, toml_edit::Item::Value(value.clone()));
            break;
        }
        if table.get(key).is_none() {
            table.insert(key, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        item = table.get_mut(key).expect("just inserted");
    }
    Ok((path.to_string(), raw.trim().to_string()))
}

fn read(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str::<Scenario>(text).map_err(|e| located_error(text, file, &e))
}

/// A TOML reader's error on `text` (named `file`), with the line, column and field its span
/// points at.
pub(crate) fn located_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
    let (line, column) = e.span().map(|span| line_column(text, span.start)).unzip();
    let field = field_of(e.message()).or_else(|| e.span().and_then(|span| key_path_at(text, span)));
    ScenarioError { file: file.into(), line, column, field, message: e.message().trim().to_string() }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// The field a serde message names (`unknown field `x``, `missing field `x``).
fn field_of(message: &str) -> Option<String> {
    let start = message.find("field `")? + "field `".len();
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// The dotted key at `span`: the last `[table]` header above it and the key on its line.
fn key_path_at(text: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string())?;
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_start_matches('[').trim_end_matches(']').trim().to_string());
    Some(match header {
        Some(h) if !key.is_empty() => format!("{h}.{key}"),
        _ => key,
    })
}

/// Where scenario files are looked for: `./scenarios`, then the repository's.
pub fn scenario_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from("scenarios"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")]
}

/// Resolves `name` to a file: a path as given, or `NAME` / `NAME.toml` in a scenario directory.
pub fn resolve(name: &str) -> Option<PathBuf> {
    let direct = PathBuf::from(name);
    if direct.is_file() {
        return Some(direct);
    }
    for dir in scenario_dirs() {
        for candidate in [dir.join(name), dir.join(format!("{name}.toml"))] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Every scenario file of the first scenario directory that exists, sorted by name.
pub fn list() -> Vec<PathBuf> {
    for dir in scenario_dirs() {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            return files;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "t"
description = "test"
duration_s = 600

[group]
campaign = "Sales"
agent_group = "Team A"
dial_mode = "Predict"

[pacing]
algorithm = "predictive"
goal = { overdial_rate = 0.03 }

[agents]
count = 3
talk = { kind = "exponential", mean_s = 60 }
acw = { kind = "constant", value_s = 5 }

[records]
count = 100

[customers]
ring = { kind = "gamma", mean_s = 8, shape = 4 }
[customers.outcomes]
home = { answer = 0.4, busy = 0.1 }
business = { answer = 0.3 }
mobile = { answer = 0.5, machine = 0.2 }
"#;

    #[test]
    fn answer_profile_steps_the_answer_probability_over_the_run() {
        let s = parse(SMALL, "t.toml", &[]).unwrap();
        assert!(s.customers.answer_profile.is_empty());
        assert_eq!((s.customers.answer_factor(0.0), s.customers.mean_answer_factor(600.0)), (1.0, 1.0));
        let sets =
            ["customers.answer_profile=[{ from_s = 200, factor = 1.5 }, { from_s = 400, factor = 0.5 }]"
                .into()];
        let c = parse(SMALL, "t.toml", &sets).unwrap().customers;
        let at = |t: f64| c.answer_factor(t);
        assert_eq!(
            (at(0.0), at(199.9), at(200.0), at(399.0), at(400.0), at(1e9)),
            (1.0, 1.0, 1.5, 1.5, 0.5, 0.5)
        );
        // A third of the run at each: (1 + 1.5 + 0.5) / 3.
        assert!((c.mean_answer_factor(600.0) - 1.0).abs() < 1e-12);
        // Steps past the run's end do not count; a step at 0 replaces the 1.
        assert!((c.mean_answer_factor(300.0) - (200.0 + 1.5 * 100.0) / 300.0).abs() < 1e-12);
        let sets = ["customers.answer_profile=[{ from_s = 0, factor = 1.25 }]".into()];
        assert_eq!(parse(SMALL, "t.toml", &sets).unwrap().customers.mean_answer_factor(600.0), 1.25);
        // A factor that would push a phone type's probabilities past 1 is refused by name:
        // mobile has 0.5 answer + 0.2 machine, so 1.7 is too much.
        let sets = ["customers.answer_profile=[{ from_s = 10, factor = 1.7 }]".into()];
        let e = parse(SMALL, "t.toml", &sets).unwrap_err();
        assert!(e.to_string().contains("mobile's answer"), "{e}");
    }

    #[test]
    fn reads_a_minimal_scenario_with_defaults() {
        let s = parse(SMALL, "t.toml", &[]).unwrap();
        assert_eq!(s.agents.count, 3);
        assert_eq!(s.pacing.goal, GoalSpec::OverdialRate(0.03));
        assert_eq!(s.switch.compliance_time_s, 2.0);
        assert_eq!(s.records.list, "Leads");
        assert!(!s.faults.any());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = SMALL.replace("count = 3", "count = 3\ncuont = 4");
        let e = parse(&text, "t.toml", &[]).unwrap_err();
        assert_eq!(e.file, "t.toml");
        assert_eq!(e.line, Some(17));
        assert_eq!(e.field.as_deref(), Some("cuont"));
        assert!(e.to_string().starts_with("t.toml:17:1: field `cuont`: unknown field `cuont`"), "{e}");
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let text = SMALL.replace("busy = 0.1", "busy = 1.5");
        let e = parse(&text, "t.toml", &[]).unwrap_err();
        assert_eq!(e.line, Some(26));
        assert!(e.message.contains("probability must be in [0, 1], got 1.5"), "{e}");
        let text = SMALL.replace("mean_s = 60", "mean_s = -60");
        let e = parse(&text, "t.toml", &[]).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(17), Some("agents.talk")), "{e}");
        assert!(e.message.contains("mean_s must be > 0"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let text = SMALL.replace("duration_s = 600\n", "");
        let e = parse(&text, "t.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("duration_s"), "{e}");
    }

    #[test]
    fn overrides_apply_before_reading() {
        let sets = [
            "agents.count=7".to_string(),
            "pacing.algorithm=progressive".to_string(),
            "pacing.goal={busy_factor=0.9}".to_string(),
            "faults.telephony_lost=0.01".to_string(),
        ];
        let s = parse(SMALL, "t.toml", &sets).unwrap();
        assert_eq!(s.agents.count, 7);
        assert_eq!(s.pacing.algorithm, "progressive");
        assert_eq!(s.pacing.goal, GoalSpec::BusyFactor(0.9));
        assert!(s.faults.any());
    }

    #[test]
    fn unknown_override_path_is_named() {
        let e = parse(SMALL, "t.toml", &["agents.cuont=7".to_string()]).unwrap_err();
        assert_eq!(e.file, "--set agents.cuont=7");
        assert_eq!(e.field.as_deref(), Some("cuont"));
        let e = parse(SMALL, "t.toml", &["agents.count.x=7".to_string()]).unwrap_err();
        assert!(e.message.contains("`agents.count` is not a table"), "{e}");
        let e = parse(SMALL, "t.toml", &["faults.desktop_crash=2".to_string()]).unwrap_err();
        assert!(e.message.contains("probability"), "{e}");
        for (set, field, says) in [
            ("duration_s=-5", "duration_s", "more than 0"),
            ("duration_s=nan", "duration_s", "more than 0"),
            ("agents.count=100000000", "agents.count", "at most 1000000 agents"),
            ("records.count=1000000000", "records.count", "at most 100000000 records"),
            ("switch.compliance_time_s=-1", "switch.compliance_time_s", "seconds must be finite and >= 0"),
            ("agents.login_spread_s=inf", "agents.login_spread_s", "seconds must be finite and >= 0"),
        ] {
            let e = parse(SMALL, "t.toml", &[set.to_string()]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{set}: {e}");
            assert!(e.message.contains(says), "{set}: {e}");
        }
        let e = parse(SMALL, "t.toml", &["faults.state_audit_s=-5".to_string()]).unwrap_err();
        assert!(e.message.contains("seconds must be finite and >= 0, got -5"), "{e}");
        let e = parse(SMALL, "t.toml", &["pacing.algorithm=nope".to_string()]).unwrap_err();
        assert!(e.message.contains("unknown algorithm `nope`"), "{e}");
        assert_eq!(e.field.as_deref(), Some("pacing.algorithm"));
    }

    #[test]
    fn bad_names_point_at_their_line() {
        let e = parse(&SMALL.replace("\"predictive\"", "\"psychic\""), "t.toml", &[]).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(12), Some("pacing.algorithm")), "{e}");
        let e = parse(&SMALL.replace("\"Predict\"", "\"Telepathic\""), "t.toml", &[]).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(9), Some("group.dial_mode")), "{e}");
    }

    #[test]
    fn shipped_scenarios_all_read() {
        let files = list();
        assert!(files.len() >= 8, "{files:?}");
        for file in files {
            let s = load(&file, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Some(s.name.as_str()), file.file_stem().and_then(|s| s.to_str()));
        }
    }
}
