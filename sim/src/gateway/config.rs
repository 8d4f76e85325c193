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

/// One place of the agent group (DN and agent both non-empty, checked when read).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "PlaceFields")]
pub struct PlaceSpec {
    /// The desktop's DN.
    pub dn: String,
    /// The agent who works there.
    pub agent: String,
}

/// [`PlaceSpec`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceFields {
    dn: String,
    agent: String,
}

impl TryFrom<PlaceFields> for PlaceSpec {
    type Error = String;
    fn try_from(p: PlaceFields) -> Result<PlaceSpec, String> {
        for (what, value) in [("dn", &p.dn), ("agent", &p.agent)] {
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err(format!("{what} {value:?} is empty or holds a control character"));
            }
        }
        Ok(PlaceSpec { dn: p.dn, agent: p.agent })
    }
}

/// Reads the places: no DN twice.
fn places<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PlaceSpec>, D::Error> {
    let places = Vec::<PlaceSpec>::deserialize(d)?;
    let mut seen = BTreeSet::new();
    for place in &places {
        if !seen.insert(place.dn.as_str()) {
            return Err(serde::de::Error::custom(format!("DN {:?} is given twice", place.dn)));
        }
    }
    Ok(places)
}

/// Reads the status interval: more than 0 seconds, at most a year.
fn status_interval_s<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let s = f64::deserialize(d)?;
    match scenario::Seconds::try_from(s) {
        Ok(scenario::Seconds(s)) if s > 0.0 => Ok(Some(s)),
        Ok(_) => Err(serde::de::Error::custom("seconds must be more than 0, got 0")),
        Err(e) => Err(serde::de::Error::custom(e)),
    }
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
    #[serde(default, deserialize_with = "status_interval_s")]
    pub status_interval_s: Option<f64>,
    /// The agent group's places; when empty any DN may log in.
    #[serde(default, deserialize_with = "places")]
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
            .map_err(|e: toml::de::Error| serve_error(path, &e))?,
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
            // Checked when read; kept so a place list built in code is held to the same rule.
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

/// The error of a `[serve]` table that does not read, located in the file when the file's own
/// table is the one at fault (an override may be instead: then no line is known).
fn serve_error(path: &Path, error: &toml::de::Error) -> String {
    /// The scenario file seen only for its `[serve]` table.
    #[derive(Deserialize)]
    struct ServeFile {
        #[serde(default)]
        #[allow(dead_code)] // Read only for the error it gives.
        serve: Option<ServeSpec>,
    }
    if let Ok(text) = std::fs::read_to_string(path)
        && let Err(located) = toml::from_str::<ServeFile>(&text)
        && located.span().is_some()
    {
        return scenario::located_error(&text, &path.display().to_string(), &located).to_string();
    }
    format!("{}: [serve]: {}", path.display(), error.message().trim())
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
