//! The serve scenario: a simulator scenario file (so `pacer run` can simulate the same floor)
//! with a `[serve]` table the simulator ignores.
//!
//! ```toml
//! [serve]
//! lists_dir = "lists"          # calling lists, `<list>.csv`, relative to the scenario file
//! start = true                 # load and start the campaign group when `pacer serve` begins
//! status_interval_s = 60       # periodic summary of active groups (none when absent)
//! places = [{ dn = "7001", agent = "1001" }, ...]   # the agent group's members
//! ```
//!
//! The campaign group is the simulator's `[group]` (name `campaign@agent_group`), with its
//! `[pacing]`; its one calling list is `[records] list`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pacer_engine::records::{CallingList, RecordStore};
use pacer_engine::server::{AgentGroupConfig, Dn, ServerConfig};
use serde::Deserialize;

use crate::scenario::{self, Scenario};

/// One place of the agent group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceSpec {
    /// The desktop's DN.
    pub dn: String,
    /// The agent who works there.
    pub agent: String,
}

/// The `[serve]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSpec {
    /// Directory of the calling lists, relative to the scenario file.
    #[serde(default = "default_lists_dir")]
    pub lists_dir: String,
    /// Load and start the campaign group at start-up.
    #[serde(default = "yes")]
    pub start: bool,
    /// Interval of the periodic status summary, seconds.
    #[serde(default)]
    pub status_interval_s: Option<f64>,
    /// The agent group's places; when empty any DN may log in.
    #[serde(default)]
    pub places: Vec<PlaceSpec>,
}

fn default_lists_dir() -> String {
    "lists".into()
}
fn yes() -> bool {
    true
}

impl Default for ServeSpec {
    fn default() -> ServeSpec {
        ServeSpec { lists_dir: default_lists_dir(), start: true, status_interval_s: None, places: Vec::new() }
    }
}

/// Everything `pacer serve` needs from its scenario.
#[derive(Debug)]
pub struct ServeScenario {
    /// The scenario as the simulator reads it.
    pub scenario: Scenario,
    /// Its `[serve]` table.
    pub serve: ServeSpec,
    /// The engine's configuration.
    pub config: ServerConfig,
    /// Where the calling lists are (from the scenario, unless `--lists` overrides it).
    pub lists_dir: PathBuf,
    /// The campaign group's name.
    pub group: String,
    /// Known DNs (empty: any).
    pub dns: BTreeSet<Dn>,
}

/// Reads the scenario at `path` with `--set` overrides.
pub fn load(path: &Path, overrides: &[String], lists_dir: Option<&Path>) -> Result<ServeScenario, String> {
    let scenario = scenario::load(path, overrides).map_err(|e| e.to_string())?;
    let serve: ServeSpec = match &scenario.serve {
        None => ServeSpec::default(),
        Some(table) => toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("{}: [serve]: {}", path.display(), e.message()))?,
    };
    let mut config =
        crate::world::server_config(&scenario).map_err(|e| format!("{}: {e}", path.display()))?;
    let group = scenario.group.group_name();
    if let Some(s) = serve.status_interval_s {
        let span = Duration::try_from_secs_f64(s).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
            format!("{}: [serve] status_interval_s: {s} is not a positive number", path.display())
        })?;
        config.status_interval = Some(span);
    }
    let mut dns = BTreeSet::new();
    if !serve.places.is_empty() {
        for place in &serve.places {
            if place.dn.is_empty() || !dns.insert(Dn::new(&place.dn)) {
                return Err(format!(
                    "{}: [serve] places: DN {:?} is empty or repeated",
                    path.display(),
                    place.dn
                ));
            }
        }
        config.agent_groups.push(AgentGroupConfig {
            name: scenario.group.agent_group.clone(),
            agents: serve.places.iter().map(|p| p.agent.clone()).collect(),
            places: serve.places.iter().map(|p| p.dn.clone()).collect(),
        });
        for g in &mut config.groups {
            g.options.max_agents = g.options.max_agents.max(serve.places.len() as u32);
        }
    }
    let lists_dir = match lists_dir {
        Some(dir) => dir.to_path_buf(),
        None => path.parent().unwrap_or(Path::new(".")).join(&serve.lists_dir),
    };
    Ok(ServeScenario { scenario, serve, config, lists_dir, group, dns })
}

/// Loads every calling list the campaign groups name from `dir` (`<list>.csv`).
pub fn load_lists(config: &ServerConfig, dir: &Path) -> Result<RecordStore, String> {
    let mut names = BTreeSet::new();
    for g in &config.groups {
        names.extend(g.lists.iter().cloned());
    }
    let mut store = RecordStore::new();
    for name in names {
        let path = super::journal::list_path(dir, &name);
        let list = CallingList::load_csv(&path, &name, None).map_err(|e| e.to_string())?;
        store.add_list(list).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(store)
}
