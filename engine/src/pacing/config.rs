//! Pacing settings: the algorithm, the goal and the limits, as read from scenario files.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A pacing algorithm. See the files of [`crate::pacing`] for each rule and its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// One dial (times `fixed_ratio`, at least 1) per ready agent not yet covered.
    Progressive,
    /// Classic predictive: expected agents free within the call set-up time over the hit
    /// ratio, corrected by the goal controller.
    Predictive,
    /// Small-group pacing: the number of dials that keeps the expected share of answered calls
    /// finding no agent under the goal, from the binomial distribution of agents becoming free.
    SmallGroup,
    /// [`Algorithm::SmallGroup`] with per-agent probabilities from the desktops' ReadyTime
    /// estimates and each agent's elapsed time in state (Poisson-binomial).
    AdvancedSmallGroup,
    /// Keeps the overdial rate at the goal over the campaign's whole run, spending slack.
    TimeOptimized,
    /// Baseline: `fixed_ratio` dials per ready agent.
    FixedRatio,
    /// Baseline: VICIdial's adaptive dial level, reimplemented from its description.
    VicidialAdapt,
}

impl Algorithm {
    /// Every algorithm, in declaration order.
    pub const ALL: [Algorithm; 7] = [
        Algorithm::Progressive,
        Algorithm::Predictive,
        Algorithm::SmallGroup,
        Algorithm::AdvancedSmallGroup,
        Algorithm::TimeOptimized,
        Algorithm::FixedRatio,
        Algorithm::VicidialAdapt,
    ];

    /// The algorithm's name in settings and reports (`"small_group"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Progressive => "progressive",
            Algorithm::Predictive => "predictive",
            Algorithm::SmallGroup => "small_group",
            Algorithm::AdvancedSmallGroup => "advanced_small_group",
            Algorithm::TimeOptimized => "time_optimized",
            Algorithm::FixedRatio => "fixed_ratio",
            Algorithm::VicidialAdapt => "vicidial_adapt",
        }
    }

    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Algorithm {
        Algorithm::ALL.get(code as usize).copied().unwrap_or(Algorithm::Predictive)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An algorithm name that is not one of [`Algorithm::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        write!(f, "unknown pacing algorithm {:?} (expected one of: {})", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;
    fn from_str(s: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

/// What the pacing optimises for. The goal and its value may change while running
/// ([`super::GroupPacer::set_goal`]); the compliance governor bounds every goal.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Target share of answered-live calls that reach no agent (e.g. 0.03).
    OverdialRate(f64),
    /// Target share of logged-in agent time spent busy in talk and after-call work (e.g. 0.85).
    BusyFactor(f64),
    /// Target mean time, in seconds, an agent waits ready for the next call.
    AgentWaitS(f64),
}

impl Goal {
    /// The goal's value (a rate, a share or seconds).
    pub fn value(self) -> f64 {
        match self {
            Goal::OverdialRate(v) | Goal::BusyFactor(v) | Goal::AgentWaitS(v) => v,
        }
    }

    /// The goal with its value brought into range: rates and shares into [0, 1], seconds
    /// non-negative, NaN to the default.
    pub fn sanitized(self) -> Goal {
        let fix = |v: f64, hi: f64, default: f64| if v.is_nan() { default } else { v.clamp(0.0, hi) };
        match self {
            Goal::OverdialRate(v) => Goal::OverdialRate(fix(v, 1.0, 0.03)),
            Goal::BusyFactor(v) => Goal::BusyFactor(fix(v, 1.0, 0.85)),
            Goal::AgentWaitS(v) => Goal::AgentWaitS(fix(v, 86_400.0, 10.0)),
        }
    }

    /// Packs kind and value into one word so that a decision never sees the kind of one goal
    /// with the value of another: the value in billionths (far finer than any goal needs;
    /// up to 86,400 s fits in 47 bits) above two bits of kind.
    pub(crate) fn pack(self) -> u64 {
        let goal = self.sanitized();
        let kind = match goal {
            Goal::OverdialRate(_) => 0,
            Goal::BusyFactor(_) => 1,
            Goal::AgentWaitS(_) => 2,
        };
        // `as` saturates; the value is already in range and not NaN.
        (((goal.value() * 1e9).round() as u64) << 2) | kind
    }

    pub(crate) fn unpack(word: u64) -> Goal {
        // Dividing (not multiplying by 1e-9) gives the double nearest to the decimal value.
        let value = (word >> 2) as f64 / 1e9;
        match word & 3 {
            0 => Goal::OverdialRate(value),
            1 => Goal::BusyFactor(value),
            _ => Goal::AgentWaitS(value),
        }
    }
}

impl Default for Goal {
    fn default() -> Goal {
        Goal::OverdialRate(0.03)
    }
}

/// What VICIdial's adaptive dial level does when the day's drop share exceeds its limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VicidialDropMode {
    /// The level falls to 1 (VICIdial's "hard limit").
    #[default]
    HardLimit,
    /// The level halves at each adaptation while over the limit ("average").
    Average,
    /// Over the limit, the level's excess above 1 shrinks with the share of the day gone
    /// ("tapered"): generous in the morning, strict by evening.
    Tapered,
}

/// Settings of the `vicidial_adapt` baseline.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VicidialConfig {
    /// Highest dial level (dials per active agent); VICIdial's default is 3.0.
    pub max_level: f64,
    /// Day drop share above which `drop_mode` applies (VICIdial default 3%).
    pub drop_limit: f64,
    /// Target difference between ready agents and waiting customers (VICIdial's
    /// "adaptive dl diff target"; positive keeps spare agents).
    pub diff_target: f64,
    /// -40..=40; positive damps decreases (more aggressive), negative damps increases.
    pub intensity: i32,
    /// What happens over the drop limit.
    pub drop_mode: VicidialDropMode,
    /// Level at the start.
    pub initial_level: f64,
}

impl Default for VicidialConfig {
    fn default() -> VicidialConfig {
        VicidialConfig {
            max_level: 3.0,
            drop_limit: 0.03,
            diff_target: 0.0,
            intensity: 0,
            drop_mode: VicidialDropMode::HardLimit,
            initial_level: 1.0,
        }
    }
}

/// How the compliance governor bounds the abandons that the calls in progress can still
/// cause (see `governor.rs` for both rules and their sources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceMode {
    /// Worst case: every call in progress beyond the agents ready now is answered and
    /// abandoned. The cap holds with certainty (as long as ready agents take their calls),
    /// at a large cost in agent idle time when the hit ratio is low.
    Hard,
    /// The answers among the calls in progress are bounded by a high upper quantile of the
    /// binomial distribution at an upper confidence bound of the hit ratio, so the cap holds
    /// with probability at least `compliance_confidence` at each decision.
    #[default]
    Confidence,
    /// As `confidence` above the small-group size. In groups of at most
    /// `small_group_max_agents` available agents, one predictive distribution instead of two
    /// bounds: the answers among the calls in flight are beta-binomial at the hit ratio's
    /// posterior (Jeffreys prior, the estimator window's dials), and the calls in progress
    /// push the abandon rate over the cap with predictive probability at most
    /// `(1 - compliance_confidence) / 2` at each decision (the tail each of `confidence`'s
    /// two bounds has; the other half is left for the free-time model's error), busy agents
    /// freeing up as the holding-time model expects. Never fewer dials than `confidence`
    /// without busy agents.
    Posterior,
}

impl ComplianceMode {
    /// The mode's name in settings (`"hard"`, `"confidence"`, `"posterior"`).
    pub fn name(self) -> &'static str {
        match self {
            ComplianceMode::Hard => "hard",
            ComplianceMode::Confidence => "confidence",
            ComplianceMode::Posterior => "posterior",
        }
    }
}

/// Settings of one campaign group's pacer. Durations read from files as seconds (`30`,
/// `0.5`) or with a unit (`"500ms"`, `"30s"`, `"15m"`, `"24h"`, `"30d"`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// The algorithm (may change while running).
    pub algorithm: Algorithm,
    /// The goal (may change while running).
    pub goal: Goal,
    /// With an overdial-rate goal, groups with at most this many available agents are paced
    /// by the small-group algorithm, larger ones by the classic predictive one. Default 50:
    /// below it the dials that meet an overdial goal differ from the classic expected-value
    /// dials by a factor that swings from state to state (by 20% at 50 agents, 32% at 30,
    /// 61% at 20), more than the classic rule's single correction can follow; above it the
    /// classic rule is within about 20% and ten times cheaper (the test
    /// `switch_point_evidence` in `small_group.rs` computes the table).
    pub small_group_max_agents: u32,
    /// Dials per ready agent for `fixed_ratio` (and `progressive` when above 1).
    pub fixed_ratio: f64,
    /// Cap on calls in progress (in flight + answered waiting) per available agent.
    pub max_dials_per_agent: f64,
    /// The compliance cap: abandoned / answered-live over `compliance_window` never exceeds
    /// it, whatever the goal. 1.0 turns the governor off (for baselines only).
    pub compliance_max_abandon_rate: f64,
    /// How the governor bounds the abandons the calls in progress can cause: `hard` (every
    /// call beyond the ready agents may abandon), `confidence` (the default: a binomial
    /// upper quantile of their answers, at an upper confidence bound of the hit ratio) or
    /// `posterior` (in small groups, a beta-binomial predictive quantile instead). The
    /// default keeps the cap with a stated confidence without holding agents idle: at a hit
    /// ratio of 0.1 the worst-case rule allows about a tenth of the calls in progress that
    /// keep agents busy (the benchmark suite's `h10` rows; see `scenarios/bench/README.md`).
    pub compliance_mode: ComplianceMode,
    /// In `confidence` mode, the least probability that the calls in progress at a decision
    /// cannot push the abandon rate over the cap, even if no busy agent frees up in time (in
    /// groups of at most `small_group_max_agents` available agents: with the busy agents
    /// freeing up as the holding-time model expects) (0.5..=1; 1 is the `hard` rule).
    /// Default 0.999.
    pub compliance_confidence: f64,
    /// The regulatory window of the compliance cap (e.g. 24 h or 30 days).
    #[serde(deserialize_with = "de_duration")]
    pub compliance_window: Duration,
    /// Window of the online estimators and of the closed-loop correction.
    #[serde(deserialize_with = "de_duration")]
    pub estimator_window: Duration,
    /// Longest a logging-out agent waits for the dials counted on them to settle.
    #[serde(deserialize_with = "de_duration")]
    pub call_wait_connected_timeout: Duration,
    /// An answered call waits at most this long for an agent before it is dropped.
    #[serde(deserialize_with = "de_duration")]
    pub compliance_time: Duration,
    /// How long the group dials once it is started: its shift (0, the default: not known).
    /// When set, the governor (`confidence` and `posterior` modes) also counts towards the
    /// compliance cap the answers that the rest of the shift is sure to bring even at a
    /// progressive pace (a lower confidence bound; see `governor.rs`), so a group that has
    /// just started is not held to the budget of the few answers it has had so far. The
    /// server starts the shift at each Start and ends it at Stop; a `GroupPacer` used on its
    /// own starts it at its creation, and an embedder whose shift changes calls
    /// [`super::GroupPacer::set_shift_end`]. At most 366 days.
    #[serde(deserialize_with = "de_duration")]
    pub shift_length: Duration,
    /// N of the "last N answered calls" overdial horizon.
    pub overdial_last_n: u32,
    /// T of the "last T" overdial horizon.
    #[serde(deserialize_with = "de_duration")]
    pub overdial_last_t: Duration,
    /// The group's UTC offset in seconds: the overdial "day" starts at local midnight.
    pub day_utc_offset_s: i32,
    /// Settings of the `vicidial_adapt` baseline.
    pub vicidial: VicidialConfig,
}

impl Default for PacingConfig {
    fn default() -> PacingConfig {
        PacingConfig {
            algorithm: Algorithm::Predictive,
            goal: Goal::default(),
            small_group_max_agents: 50,
            fixed_ratio: 1.0,
            max_dials_per_agent: 4.0,
            compliance_max_abandon_rate: 0.03,
            compliance_mode: ComplianceMode::Confidence,
            compliance_confidence: 0.999,
            compliance_window: Duration::from_secs(86_400),
            estimator_window: Duration::from_secs(900),
            call_wait_connected_timeout: Duration::from_secs(60),
            compliance_time: Duration::from_secs(2),
            shift_length: Duration::ZERO,
            overdial_last_n: 100,
            overdial_last_t: Duration::from_secs(900),
            day_utc_offset_s: 0,
            vicidial: VicidialConfig::default(),
        }
    }
}

/// The longest `shift_length` a group may be given.
const MAX_SHIFT: Duration = Duration::from_secs(366 * 86_400);

/// A setting out of range: which field and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacingConfigError {
    /// The field's name, as in settings files.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PacingConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pacing setting {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for PacingConfigError {}

impl PacingConfig {
    /// Checks every setting's range. The pacer itself clamps what it is given, so this is for
    /// callers that want to reject a bad settings file with a clear message instead.
    pub fn validate(&self) -> Result<(), PacingConfigError> {
        let err = |field: &'static str, reason: String| Err(PacingConfigError { field, reason });
        let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        match self.goal {
            Goal::OverdialRate(v) | Goal::BusyFactor(v) if !share(v) => {
                return err("goal", format!("{v} is not a share between 0 and 1"));
            }
            Goal::AgentWaitS(v) if !(v.is_finite() && v >= 0.0) => {
                return err("goal", format!("{v} is not a number of seconds"));
            }
            _ => {}
        }
        if !share(self.compliance_max_abandon_rate) {
            return err(
                "compliance_max_abandon_rate",
                format!("{} is not a share between 0 and 1", self.compliance_max_abandon_rate),
            );
        }
        if !(self.compliance_confidence.is_finite() && (0.5..=1.0).contains(&self.compliance_confidence)) {
            return err(
                "compliance_confidence",
                format!("{} is not a probability between 0.5 and 1", self.compliance_confidence),
            );
        }
        if !(self.fixed_ratio.is_finite() && self.fixed_ratio >= 0.0) {
            return err("fixed_ratio", format!("{} is not a non-negative number", self.fixed_ratio));
        }
        if !(self.max_dials_per_agent.is_finite() && self.max_dials_per_agent > 0.0) {
            return err(
                "max_dials_per_agent",
                format!("{} is not a positive number", self.max_dials_per_agent),
            );
        }
        for (field, d) in [
            ("compliance_window", self.compliance_window),
            ("estimator_window", self.estimator_window),
            ("overdial_last_t", self.overdial_last_t),
        ] {
            if d < Duration::from_secs(1) {
                return err(field, format!("{d:?} is shorter than a second"));
            }
        }
        if self.shift_length > MAX_SHIFT {
            return err("shift_length", format!("{:?} is longer than 366 days", self.shift_length));
        }
        if self.overdial_last_n == 0 || self.overdial_last_n > 65_536 {
            return err("overdial_last_n", format!("{} is not in 1..=65536", self.overdial_last_n));
        }
        if !(-86_400..=86_400).contains(&self.day_utc_offset_s) {
            return err("day_utc_offset_s", format!("{} is more than a day", self.day_utc_offset_s));
        }
        let v = &self.vicidial;
        if !(v.max_level.is_finite() && v.max_level >= 1.0) {
            return err("vicidial.max_level", format!("{} is below 1", v.max_level));
        }
        if !share(v.drop_limit) {
            return err("vicidial.drop_limit", format!("{} is not a share between 0 and 1", v.drop_limit));
        }
        if !(-40..=40).contains(&v.intensity) {
            return err("vicidial.intensity", format!("{} is not in -40..=40", v.intensity));
        }
        Ok(())
    }
}

/// Reads a duration as seconds (integer or float), a string with a unit (`ms`, `s`, `m`, `h`,
/// `d`), or serde's own `{ secs, nanos }` form.
fn de_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
        Std { secs: u64, nanos: u32 },
    }
    use serde::de::Error;
    match Raw::deserialize(deserializer)? {
        Raw::Secs(s) => {
            Duration::try_from_secs_f64(s).map_err(|_| D::Error::custom(format!("bad duration {s}")))
        }
        Raw::Text(text) => parse_duration(&text).map_err(D::Error::custom),
        Raw::Std { secs, nanos } => Ok(Duration::new(secs, nanos)),
    }
}

/// Parses `"500ms"`, `"30s"`, `"2.5m"`, `"24h"`, `"30d"` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().map_err(|_| format!("bad duration {text:?}: no number"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => return Err(format!("bad duration {text:?}: unknown unit {other:?} (ms, s, m, h, d)")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("bad duration {text:?}: out of range"))
}

#[cfg(all(test, not(pacer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
            assert_eq!(Algorithm::from_code(a.code()), a);
        }
        let err = "predictve".parse::<Algorithm>().unwrap_err();
        assert!(err.to_string().contains("predictve") && err.to_string().contains("small_group"));
    }

    #[test]
    fn goal_packs_kind_and_value() {
        for g in [Goal::OverdialRate(0.03), Goal::BusyFactor(0.85), Goal::AgentWaitS(12.5)] {
            let back = Goal::unpack(g.pack());
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&g));
            assert_eq!(back, g);
        }
        assert_eq!(Goal::unpack(Goal::OverdialRate(7.0).pack()).value(), 1.0);
    }

    #[test]
    fn config_from_toml_with_units() {
        let cfg: PacingConfig = toml::from_str(
            r#"
            algorithm = "small_group"
            goal = { busy_factor = 0.9 }
            compliance_window = "30d"
            estimator_window = 600
            call_wait_connected_timeout = "1.5m"
            compliance_time = "2000ms"
            [vicidial]
            max_level = 4.0
            drop_mode = "tapered"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.algorithm, Algorithm::SmallGroup);
        assert_eq!(cfg.goal, Goal::BusyFactor(0.9));
        assert_eq!(cfg.compliance_window, Duration::from_secs(30 * 86_400));
        assert_eq!(cfg.estimator_window, Duration::from_secs(600));
        assert_eq!(cfg.call_wait_connected_timeout, Duration::from_secs(90));
        assert_eq!(cfg.compliance_time, Duration::from_secs(2));
        assert_eq!(cfg.vicidial.drop_mode, VicidialDropMode::Tapered);
        assert_eq!(cfg.small_group_max_agents, 50);
        assert_eq!(cfg.compliance_mode, ComplianceMode::Confidence);
        assert_eq!(cfg.compliance_confidence, 0.999);
        let cfg: PacingConfig =
            toml::from_str("compliance_mode = \"hard\"\ncompliance_confidence = 0.99").unwrap();
        assert_eq!((cfg.compliance_mode, cfg.compliance_confidence), (ComplianceMode::Hard, 0.99));
        assert_eq!(cfg.compliance_mode.name(), "hard");
        let cfg: PacingConfig = toml::from_str("compliance_mode = \"posterior\"").unwrap();
        assert_eq!(
            (cfg.compliance_mode, cfg.compliance_mode.name()),
            (ComplianceMode::Posterior, "posterior")
        );
        assert!(toml::from_str::<PacingConfig>("compliance_mode = \"lenient\"").is_err());
        let err = toml::from_str::<PacingConfig>("estimator_window = \"10 parsecs\"").unwrap_err();
        assert!(err.to_string().contains("parsecs"), "{err}");
        assert!(toml::from_str::<PacingConfig>("speed = 3").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(PacingConfig::default().validate(), Ok(()));
        let bad = PacingConfig { goal: Goal::OverdialRate(1.5), ..PacingConfig::default() };
        assert_eq!(bad.validate().unwrap_err().field, "goal");
        let bad = PacingConfig { max_dials_per_agent: f64::NAN, ..PacingConfig::default() };
        assert_eq!(bad.validate().unwrap_err().field, "max_dials_per_agent");
        let bad = PacingConfig { shift_length: Duration::from_secs(367 * 86_400), ..PacingConfig::default() };
        assert_eq!(bad.validate().unwrap_err().field, "shift_length");
        let cfg: PacingConfig = toml::from_str("shift_length = \"8h\"").unwrap();
        assert_eq!((cfg.shift_length, cfg.validate()), (Duration::from_secs(8 * 3600), Ok(())));
        assert_eq!(PacingConfig::default().shift_length, Duration::ZERO);
        let bad = PacingConfig { estimator_window: Duration::from_millis(10), ..PacingConfig::default() };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.field, "estimator_window");
        assert!(e.to_string().contains("estimator_window"), "{e}");
        let bad = PacingConfig {
            vicidial: VicidialConfig { intensity: 99, ..VicidialConfig::default() },
            ..PacingConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "vicidial.intensity");
        for confidence in [0.3, 1.5, f64::NAN] {
            let bad = PacingConfig { compliance_confidence: confidence, ..PacingConfig::default() };
            assert_eq!(bad.validate().unwrap_err().field, "compliance_confidence");
        }
        let edge = PacingConfig { compliance_confidence: 1.0, ..PacingConfig::default() };
        assert_eq!(edge.validate(), Ok(()));
    }
}
