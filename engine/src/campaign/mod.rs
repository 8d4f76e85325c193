//! Campaign groups: a campaign run by one agent group, the unit that is loaded, started, paced,
//! stopped and unloaded.
//!
//! This module holds the configuration (read from scenario files with serde) and the group's
//! lifecycle; the server ([`crate::server`]) owns the groups and drives them. A group moves
//! `Unloaded -> Loaded -> Running -> Stopped -> (Running | Unloaded)`; every change is
//! announced to the group's logged-in members with one of the spec's notifications.

use std::time::Duration;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer};

use crate::pacing::PacingConfig;
use crate::protocol::{CampaignInfo, DialMode};

/// How a group's dialing mode is written in configuration: the spec's `GSW_CAMPAIGN_MODE`
/// names (`"Predictive"`, `"Progressive with Seizing"`, `"Push Preview"`, ...) or the short
/// `GSW_DIAL_MODE` names (`"Predict"`, `"PowerGVP"`, ...).
pub fn deserialize_dial_mode<'de, D: Deserializer<'de>>(d: D) -> Result<DialMode, D::Error> {
    let name = String::deserialize(d)?;
    DialMode::from_wire(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a dial mode (e.g. \"Predictive\")")))
}

fn default_dial_mode() -> DialMode {
    DialMode::Predictive
}

/// Serde helpers for spans written as seconds (`stale_clean_timeout_s = 3600`).
pub mod duration_s {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Reads a non-negative number of seconds (integer or fraction).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(d)?;
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            serde::de::Error::custom(format!("{seconds} is not a non-negative number of seconds"))
        })
    }

    /// Writes the span as fractional seconds.
    pub fn serialize<S: Serializer>(span: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(span.as_secs_f64())
    }
}

/// Options of a campaign group (the spec's group/application options this engine honours).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupOptions {
    /// `agent_preview_mode_start`: desktops must send PreviewDialingModeStart before preview
    /// records or scheduled calls are given to them.
    pub agent_preview_mode_start: bool,
    /// `record_processed`: records of auto modes stay on the desktop until RecordProcessed
    /// (when false they are finalised when the agent's after-call work ends).
    pub record_processed: bool,
    /// `stale_clean_timeout`: a record left on a desktop this long is returned as Stale.
    #[serde(with = "duration_s", rename = "stale_clean_timeout_s")]
    pub stale_clean_timeout: Duration,
    /// `call_wait_connected_timeout`: overrides the pacing configuration's value (how long
    /// a smart logout waits for calls dialed on the agent's account).
    #[serde(default, deserialize_with = "opt_duration_s", rename = "call_wait_connected_timeout_s")]
    pub call_wait_connected_timeout: Option<Duration>,
    /// A dial whose result has not come this long after it was placed is given up: its
    /// record goes back to its list (call result Unknown Call Result, to be dialed again)
    /// and the pacer stops counting it in flight. Results lost by the telephony side would
    /// otherwise hold pacing capacity for good.
    #[serde(with = "duration_s", rename = "dial_result_timeout_s")]
    pub dial_result_timeout: Duration,
    /// Agent places the group's pacer has room for (its dense agent index).
    pub max_agents: u32,
    /// GVP modes: the IVR ports the group dials for.
    pub gvp_ports: u32,
    /// Power GVP: calls in flight per free port.
    pub power_gvp_ratio: f64,
    /// `ivr_update_on_release`: IVR groups update record fields from the call's user data
    /// when it is released.
    pub ivr_update_on_release: bool,
    /// `predictive_callback`: in auto modes campaign callbacks are dialed like any record
    /// instead of being sent to an agent as ScheduledCall.
    pub predictive_callback: bool,
    /// `GSW_SWITCH_DBID` sent with Push Preview records.
    pub switch_dbid: i64,
    /// How long a record treated by RecordProcessed (`GSW_TREATMENT`) waits before it is
    /// called again.
    #[serde(with = "duration_s", rename = "treatment_delay_s")]
    pub treatment_delay: Duration,
}

impl Default for GroupOptions {
    fn default() -> GroupOptions {
        GroupOptions {
            agent_preview_mode_start: false,
            record_processed: true,
            stale_clean_timeout: Duration::from_secs(3600),
            call_wait_connected_timeout: None,
            dial_result_timeout: Duration::from_secs(120),
            max_agents: 1024,
            gvp_ports: 30,
            power_gvp_ratio: 1.5,
            ivr_update_on_release: false,
            predictive_callback: false,
            switch_dbid: 1,
            treatment_delay: Duration::from_secs(1800),
        }
    }
}

fn opt_duration_s<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration_s::deserialize(d).map(Some)
}

/// One campaign group as configured.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignGroupConfig {
    /// Group name, by convention `"Campaign@Agent group"`.
    pub name: String,
    /// Campaign name.
    pub campaign: String,
    /// Agent group (or place group) whose members work the campaign.
    pub agent_group: String,
    /// Group description (may be empty).
    #[serde(default)]
    pub description: String,
    /// Campaign description (may be empty).
    #[serde(default)]
    pub campaign_description: String,
    /// Calling lists, by name.
    pub lists: Vec<String>,
    /// Dialing mode at load.
    #[serde(default = "default_dial_mode", deserialize_with = "deserialize_dial_mode")]
    pub dial_mode: DialMode,
    /// The pacing core's configuration.
    #[serde(default)]
    pub pacing: PacingConfig,
    /// Group options.
    #[serde(default)]
    pub options: GroupOptions,
    /// Script DBID configured on the campaign group (`GSW_SCRIPT_ID`, lowest priority).
    #[serde(default)]
    pub script_id: Option<i64>,
    /// Script DBID configured on the campaign (middle priority).
    #[serde(default)]
    pub campaign_script_id: Option<i64>,
    /// Caller id (`CPNDigits`) configured on the campaign; the server's applies when unset.
    #[serde(default)]
    pub cpn_digits: Option<String>,
    /// Caller id presentation (`CPNPresentation`) configured on the campaign.
    #[serde(default)]
    pub cpn_presentation: Option<String>,
    /// `ivr_group = true`: the agent group is a group of IVR places (virtual agents). Read
    /// once, when the group is loaded.
    #[serde(default)]
    pub ivr_group: bool,
}

impl CampaignGroupConfig {
    /// A group with default options: handy in tests and examples.
    pub fn new(name: &str, campaign: &str, agent_group: &str, lists: &[&str], dial_mode: DialMode) -> Self {
        CampaignGroupConfig {
            name: name.into(),
            campaign: campaign.into(),
            agent_group: agent_group.into(),
            description: String::new(),
            campaign_description: String::new(),
            lists: lists.iter().map(|l| l.to_string()).collect(),
            dial_mode,
            pacing: PacingConfig::default(),
            options: GroupOptions::default(),
            script_id: None,
            campaign_script_id: None,
            cpn_digits: None,
            cpn_presentation: None,
            ivr_group: false,
        }
    }

    /// What the six notifications say about this group.
    pub fn info(&self) -> CampaignInfo {
        CampaignInfo {
            campaign_name: self.campaign.as_str().into(),
            campaign_description: self.campaign_description.as_str().into(),
            group_name: self.name.as_str().into(),
            group_description: self.description.as_str().into(),
        }
    }
}

/// A group's place in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupState {
    /// Configured, not in memory: requests naming it get 106 / 105.
    Unloaded,
    /// Loaded: records may be added, cancelled, marked do-not-call; nothing is dialed.
    Loaded,
    /// Dialing (or handing out preview records).
    Running,
    /// Stopped after running: records on desktops are still processed, nothing new goes out.
    Stopped,
}

impl GroupState {
    /// True when the group is in memory (loaded, running or stopped).
    pub fn is_active(self) -> bool {
        !matches!(self, GroupState::Unloaded)
    }

    /// The state's name in status notifications.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Unloaded => "unloaded",
            GroupState::Loaded => "loaded",
            GroupState::Running => "running",
            GroupState::Stopped => "stopped",
        }
    }
}

/// A lifecycle step that is not allowed from the group's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleError {
    /// The group.
    pub group: CompactString,
    /// The state it was in.
    pub from: GroupState,
    /// What was asked.
    pub action: &'static str,
}

impl std::fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "campaign group {:?}: cannot {} while {}", self.group, self.action, self.from.name())
    }
}

impl std::error::Error for LifecycleError {}

/// The lifecycle rules: which state each admin action leads to, or why it is refused.
///
/// ```
/// use pacer_engine::campaign::{GroupState, transition, LifecycleAction};
/// assert_eq!(transition(GroupState::Unloaded, LifecycleAction::Load), Some(GroupState::Loaded));
/// assert_eq!(transition(GroupState::Loaded, LifecycleAction::Start), Some(GroupState::Running));
/// assert_eq!(transition(GroupState::Running, LifecycleAction::Unload), None);
/// ```
pub fn transition(from: GroupState, action: LifecycleAction) -> Option<GroupState> {
    use GroupState as S;
    use LifecycleAction as A;
    match (from, action) {
        (S::Unloaded, A::Load) => Some(S::Loaded),
        (S::Loaded | S::Stopped, A::Start) => Some(S::Running),
        (S::Running, A::Stop) => Some(S::Stopped),
        // A running group is stopped before it is unloaded, so its records come back first.
        (S::Loaded | S::Stopped, A::Unload) => Some(S::Unloaded),
        _ => None,
    }
}

/// An admin step of the lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleAction {
    /// Load into memory.
    Load,
    /// Start dialing.
    Start,
    /// Stop dialing.
    Stop,
    /// Unload from memory.
    Unload,
}

impl LifecycleAction {
    /// The action's verb.
    pub fn name(self) -> &'static str {
        match self {
            LifecycleAction::Load => "load",
            LifecycleAction::Start => "start",
            LifecycleAction::Stop => "stop",
            LifecycleAction::Unload => "unload",
        }
    }
}

/// Picks the `GSW_SCRIPT_ID` of a record: the calling list's script first, then the
/// campaign's, then the campaign group's.
///
/// The spec lists exactly this order (list highest, group lowest) and then, in its closing
/// sentence, says the campaign's script wins over the list's when both are set. The two
/// cannot both hold; this follows the numbered list, which is the rule the spec states as
/// the order.
///
/// ```
/// use pacer_engine::campaign::script_id;
/// assert_eq!(script_id(Some(1), Some(2), Some(3)), Some(1));
/// assert_eq!(script_id(None, Some(2), Some(3)), Some(2));
/// assert_eq!(script_id(None, None, Some(3)), Some(3));
/// ```
pub fn script_id(list: Option<i64>, campaign: Option<i64>, group: Option<i64>) -> Option<i64> {
    list.or(campaign).or(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_only_the_documented_steps() {
        use GroupState as S;
        use LifecycleAction as A;
        let states = [S::Unloaded, S::Loaded, S::Running, S::Stopped];
        let actions = [A::Load, A::Start, A::Stop, A::Unload];
        let mut allowed = Vec::new();
        for s in states {
            for a in actions {
                if let Some(to) = transition(s, a) {
                    allowed.push((s, a, to));
                }
            }
        }
        assert_eq!(
            allowed,
            vec![
                (S::Unloaded, A::Load, S::Loaded),
                (S::Loaded, A::Start, S::Running),
                (S::Loaded, A::Unload, S::Unloaded),
                (S::Running, A::Stop, S::Stopped),
                (S::Stopped, A::Start, S::Running),
                (S::Stopped, A::Unload, S::Unloaded),
            ]
        );
    }

    #[test]
    fn group_config_reads_from_toml_with_defaults_and_mode_names() {
        let text = r#"
            name = "Sales@Team A"
            campaign = "Sales"
            agent_group = "Team A"
            lists = ["Leads"]
            dial_mode = "Progressive with Seizing"
            script_id = 7
            [options]
            agent_preview_mode_start = true
            stale_clean_timeout_s = 90
        "#;
        let config: CampaignGroupConfig = toml::from_str(text).unwrap();
        assert_eq!(config.dial_mode, DialMode::ProgressiveWithSeizing);
        assert!(config.options.agent_preview_mode_start);
        assert!(config.options.record_processed);
        assert_eq!(config.options.stale_clean_timeout, Duration::from_secs(90));
        assert_eq!(config.script_id, Some(7));
        assert_eq!(config.info().group_name, "Sales@Team A");

        let bad = text.replace("Progressive with Seizing", "Turbo");
        let err = toml::from_str::<CampaignGroupConfig>(&bad).unwrap_err().to_string();
        assert!(err.contains("\"Turbo\" is not a dial mode"), "{err}");
        let bad = text.replace("stale_clean_timeout_s = 90", "stale_timeout = 90");
        assert!(toml::from_str::<CampaignGroupConfig>(&bad).is_err(), "unknown options are refused");
    }
}
