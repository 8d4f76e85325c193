//! The server's inputs, outputs and configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use compact_str::CompactString;
use serde::Deserialize;

use crate::campaign::{CampaignGroupConfig, GroupState, duration_s};
use crate::kv::KvList;
use crate::pacing::Goal;
use crate::protocol::{CallResult, DialMode, Event};
use crate::records::{CallingList, Record};
use crate::time::Time;

/// A desktop's (place's) directory number: where desktop events go and requests come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dn(pub CompactString);

impl Dn {
    /// The DN `name`.
    pub fn new(name: &str) -> Dn {
        Dn(name.into())
    }
}

impl std::fmt::Display for Dn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A call the server asked the dialer to place; assigned by the server in [`Output::Dial`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// An agent group: who works the campaign groups that name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroupConfig {
    /// Group name (what [`CampaignGroupConfig::agent_group`] refers to).
    pub name: String,
    /// Agent login ids of the members.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Place DNs of the members (place groups, IVR groups).
    #[serde(default)]
    pub places: Vec<String>,
}

fn default_application_id() -> i64 {
    101
}

fn default_backup_grace() -> Duration {
    Duration::from_secs(60)
}

fn default_tick() -> Duration {
    Duration::from_millis(100)
}

fn opt_duration_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration_s::deserialize(d).map(Some)
}

/// The server's configuration.
///
/// An agent group named by a campaign group but absent from `agent_groups` is open: every
/// agent that logs in is a member. That keeps small scenarios short.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `GSW_APPLICATION_ID` of this server (valid values start at 101).
    #[serde(default = "default_application_id")]
    pub application_id: i64,
    /// The campaign groups (all start unloaded; [`AdminCommand::Load`] loads them).
    #[serde(default)]
    pub groups: Vec<CampaignGroupConfig>,
    /// The agent groups.
    #[serde(default)]
    pub agent_groups: Vec<AgentGroupConfig>,
    /// Script DBIDs configured on calling lists, by list name (highest `GSW_SCRIPT_ID`
    /// priority).
    #[serde(default)]
    pub list_script_ids: BTreeMap<String, i64>,
    /// Server-wide caller id (`CPNDigits` on the application), used when the campaign has none.
    #[serde(default)]
    pub cpn_digits: Option<String>,
    /// Server-wide caller id presentation (`CPNPresentation`).
    #[serde(default)]
    pub cpn_presentation: Option<String>,
    /// After a backup takes over, how long requests for the old application id are still
    /// answered.
    #[serde(default = "default_backup_grace", with = "duration_s", rename = "backup_grace_s")]
    pub backup_grace: Duration,
    /// Interval of the periodic summary of active groups ([`StatusKind::Summary`]); none when
    /// unset.
    #[serde(default, deserialize_with = "opt_duration_s", rename = "status_interval_s")]
    pub status_interval: Option<Duration>,
    /// How often a running group is re-paced when nothing else happens.
    #[serde(default = "default_tick", with = "duration_s", rename = "tick_s")]
    pub tick: Duration,
}

impl ServerConfig {
    /// A configuration with these groups and defaults elsewhere.
    pub fn new(application_id: i64, groups: Vec<CampaignGroupConfig>) -> ServerConfig {
        ServerConfig {
            application_id,
            groups,
            agent_groups: Vec::new(),
            list_script_ids: BTreeMap::new(),
            cpn_digits: None,
            cpn_presentation: None,
            backup_grace: default_backup_grace(),
            status_interval: None,
            tick: default_tick(),
        }
    }
}

/// A configuration the server cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The campaign group (or other object) at fault.
    pub object: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Everything the server reacts to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A raw desktop request from the desktop at `dn`; the server decodes it and answers
    /// errors itself.
    Desktop {
        /// Where it came from (and where replies go).
        dn: Dn,
        /// The request.
        kv: KvList,
    },
    /// Something the switch or dialer reports.
    Telephony(TelephonyEvent),
    /// Time passed: the caller sends this at [`crate::server::Server::next_wakeup`].
    Timer,
    /// An operator's command.
    Admin(AdminCommand),
}

/// Telephony events: agent states from the switch, call progress from the dialer.
#[derive(Clone, Debug)]
pub enum TelephonyEvent {
    /// An agent logged in at a place.
    AgentLogin {
        /// The place.
        dn: Dn,
        /// The agent's login id.
        agent_id: CompactString,
    },
    /// The agent at `dn` logged out (records left on the desktop go back to their lists).
    AgentLogout {
        /// The place.
        dn: Dn,
    },
    /// The agent at `dn` is ready for a call (after-call work over).
    AgentReady {
        /// The place.
        dn: Dn,
    },
    /// The agent at `dn` is not ready.
    AgentNotReady {
        /// The place.
        dn: Dn,
    },
    /// Call progress detection's outcome for a dial.
    CallResult {
        /// The call.
        call: CallId,
        /// What was detected (`Answer` for a live person).
        result: CallResult,
    },
    /// An answered call reached the agent at `dn` (the routed one, or another after a
    /// transfer).
    CallConnected {
        /// The call.
        call: CallId,
        /// Where it is now.
        dn: Dn,
    },
    /// The conversation is over; the agent goes to after-call work.
    CallReleased {
        /// The call.
        call: CallId,
    },
    /// The conversation is over and the call's user data came back with it (IVR places:
    /// `ivr_update_on_release` reads record fields from it).
    CallReleasedWithData {
        /// The call.
        call: CallId,
        /// The call's user data at release (custom fields by send_attribute key,
        /// `GSW_CALL_RESULT`, `GSW_PHONE`, ...).
        user_data: KvList,
    },
    /// The customer hung up while waiting for an agent.
    CallAbandoned {
        /// The call.
        call: CallId,
    },
}

/// An operator's command.
#[derive(Clone, Debug)]
pub enum AdminCommand {
    /// Load a campaign group.
    Load {
        /// Group name.
        group: String,
    },
    /// Start dialing.
    Start {
        /// Group name.
        group: String,
    },
    /// Stop dialing.
    Stop {
        /// Group name.
        group: String,
    },
    /// Unload.
    Unload {
        /// Group name.
        group: String,
    },
    /// Change the dialing mode.
    SetMode {
        /// Group name.
        group: String,
        /// The new mode.
        mode: DialMode,
    },
    /// Change the optimisation goal.
    SetGoal {
        /// Group name.
        group: String,
        /// The new goal.
        goal: Goal,
    },
    /// Add a calling list to the store.
    AddList {
        /// The list.
        list: CallingList,
    },
    /// This server becomes primary under a new application id (a backup taking over): it
    /// announces the id to every logged-in desktop and answers the old one for
    /// [`ServerConfig::backup_grace`].
    TakeOver {
        /// The new `GSW_APPLICATION_ID`.
        application_id: i64,
    },
    /// A place joins an agent group while groups run.
    JoinAgentGroup {
        /// Agent group name.
        agent_group: String,
        /// The place.
        dn: Dn,
    },
    /// A place leaves an agent group.
    LeaveAgentGroup {
        /// Agent group name.
        agent_group: String,
        /// The place.
        dn: Dn,
    },
}

/// A dial the server asks the dialer to place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialCommand {
    /// The call's id; telephony events about it name it.
    pub call: CallId,
    /// Number to dial.
    pub phone: CompactString,
    /// The record dialed.
    pub record_handle: i64,
    /// Campaign group name.
    pub group: CompactString,
    /// Caller id digits (`CPNDigits`), when configured.
    pub cpn_digits: Option<CompactString>,
    /// Caller id presentation (`CPNPresentation`), when configured.
    pub cpn_presentation: Option<CompactString>,
    /// The seized agent's place (seizing modes) or IVR place, when one is engaged before
    /// dialing.
    pub engaged_dn: Option<Dn>,
    /// The call's user data: the record's default information and custom fields.
    pub kv: KvList,
}

/// What a status notification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    /// The group was loaded.
    Loaded,
    /// Dialing started.
    Started,
    /// Dialing stopped.
    Stopped,
    /// The group was unloaded.
    Unloaded,
    /// The dialing mode changed.
    ModeChanged,
    /// Periodic summary of an active group.
    Summary,
}

/// A status notification for an application server (delivered over HTTP by the gateway).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusNotification {
    /// What happened.
    pub kind: StatusKind,
    /// When.
    pub at: Time,
    /// Campaign group name.
    pub group: CompactString,
    /// Campaign name.
    pub campaign: CompactString,
    /// The group's state after the change.
    pub state: GroupState,
    /// Its dialing mode.
    pub mode: DialMode,
    /// Members logged in.
    pub agents_logged_in: u32,
    /// Members ready.
    pub agents_ready: u32,
    /// Dials not yet answered or failed.
    pub dials_in_flight: u32,
    /// Records held (on desktops, in calls, waiting callbacks).
    pub records_held: u32,
    /// Dials placed since load.
    pub dials_total: u64,
    /// Answered calls dropped or abandoned before reaching an agent, since load.
    pub overdials_total: u64,
    /// Live answers since load.
    pub answered_total: u64,
}

/// An admin command the server refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRejected {
    /// The command, as its name and group.
    pub command: String,
    /// Why.
    pub reason: String,
}

/// Every effect of an input.
#[derive(Clone, Debug)]
pub enum Output {
    /// An event for the desktop at `dn` (callers encode it).
    ToDesktop {
        /// The desktop.
        dn: Dn,
        /// The event.
        event: Event,
    },
    /// Place a call.
    Dial(DialCommand),
    /// Send an answered call to the agent at `dn`, with the record's data.
    Route {
        /// The call.
        call: CallId,
        /// The agent's place.
        dn: Dn,
        /// The call's user data.
        kv: KvList,
    },
    /// Release an answered call that found no agent within the compliance time (overdial).
    Drop {
        /// The call.
        call: CallId,
    },
    /// A record changed: for the list store / journal.
    RecordUpdate {
        /// Its calling list.
        list: CompactString,
        /// The record as it now is.
        record: Record,
    },
    /// A group's status changed, or the periodic summary.
    Status(StatusNotification),
    /// An admin command was refused.
    AdminRejected(AdminRejected),
}

/// A broken invariant, found by [`crate::server::Server::check_invariants`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation {
    /// What is broken, with the record or place concerned.
    pub what: String,
}

impl std::fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invariant violated: {}", self.what)
    }
}

impl std::error::Error for InvariantViolation {}
