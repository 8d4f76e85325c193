//! `pacer sweep`: a scenario run at every point of a grid of overrides, with several seeds
//! each, in parallel; per-point means with 95% confidence intervals; sharding for batch
//! systems and the merge of the shards' files.
//!
//! Runs are numbered point-major: run `i` is point `i / seeds` with seed `1 + i % seeds`, so
//! seed `s` is the same at every point (common random numbers: the points differ in the
//! grid values, not in the customers or agents drawn). Shard `k` of `n` runs the runs with
//! `i % n == k`, which spreads every point over the shards. A shard's file holds its run
//! rows only; `pacer merge` checks that the shards cover every run once and writes what the
//! unsharded sweep writes.
//!
//! The 95% interval of a mean of `n` runs is `mean ± t(0.975, n-1) s / sqrt(n)` with the
//! Student t quantile (statrs); the runs of one point are independent replications.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, anyhow, bail, ensure};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::metrics::Report;
use crate::scenario;
use crate::world::{RunOptions, run};

/// One axis of the grid: a `--set` key and the values it takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    /// The scenario key path (`pacing.goal.overdial_rate`).
    pub key: String,
    /// Its values, as written.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `key=v1,v2,...`.
    pub fn parse(spec: &str) -> anyhow::Result<Axis> {
        let (key, values) =
            spec.split_once('=').ok_or_else(|| anyhow!("--grid {spec}: expected key.path=v1,v2,..."))?;
        let key = key.trim().to_string();
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        ensure!(!key.is_empty(), "--grid {spec}: empty key");
        ensure!(values.iter().all(|v| !v.is_empty()), "--grid {spec}: empty value");
        Ok(Axis { key, values })
    }
}

/// A slice of the runs: shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// Shards in all.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parses `K/N` (0-based `K < N`).
    pub fn parse(text: &str) -> anyhow::Result<Shard> {
        let (k, n) = text.split_once('/').ok_or_else(|| anyhow!("shard `{text}`: expected K/N"))?;
        let index: u32 = k.trim().parse().map_err(|_| anyhow!("shard `{text}`: K is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| anyhow!("shard `{text}`: N is not a number"))?;
        ensure!(count > 0 && index < count, "shard `{text}`: need 0 <= K < N");
        Ok(Shard { index, count })
    }

    /// The shard a batch system gives this process, from the environment `env` reads:
    /// Slurm job arrays (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of
    /// `SLURM_ARRAY_TASK_COUNT`), or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, of
    /// `count` or else `PACER_SHARD_COUNT`). `None` when neither is set.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        count: Option<u32>,
    ) -> anyhow::Result<Option<Shard>> {
        let num = |name: &str| -> anyhow::Result<Option<u32>> {
            match env(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| anyhow!("{name}={v}: not a number")),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let n = match count {
                Some(n) => n,
                None => num("SLURM_ARRAY_TASK_COUNT")?
                    .ok_or_else(|| anyhow!("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT"))?,
            };
            ensure!(id >= min, "SLURM_ARRAY_TASK_ID {id} below SLURM_ARRAY_TASK_MIN {min}");
            return Shard::parse(&format!("{}/{n}", id - min)).map(Some);
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let n = match count {
                Some(n) => n,
                None => num("PACER_SHARD_COUNT")?.ok_or_else(|| {
                    anyhow!("JOB_COMPLETION_INDEX is set: give the shard count (--shard-count or PACER_SHARD_COUNT)")
                })?,
            };
            return Shard::parse(&format!("{index}/{n}")).map(Some);
        }
        Ok(None)
    }
}

/// What one run measured (a row of the results).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Point index (row-major over the axes, the first axis slowest).
    pub point: usize,
    /// The point's values, one per axis.
    pub values: Vec<String>,
    /// The run's seed.
    pub seed: u64,
    /// Share of logged-in agent time busy.
    pub busy_factor: f64,
    /// Abandoned / answered live.
    pub abandon_rate: f64,
    /// Worst 15-minute abandon rate.
    pub abandon_rate_max_window: f64,
    /// Mean agent wait, seconds.
    pub agent_wait_s_mean: f64,
    /// Connected calls per logged-in agent hour.
    pub contacts_per_agent_hour: f64,
    /// Dials placed.
    pub dials: u64,
    /// Live answers.
    pub answered_live: u64,
    /// Abandoned calls.
    pub abandoned: u64,
    /// An invariant the run found broken (empty when none).
    pub violation: String,
    /// Wall-clock seconds of the run (the one field that differs between identical sweeps).
    pub wall_seconds: f64,
}

impl RunRow {
    fn from_report(point: usize, values: Vec<String>, report: &Report, violation: String) -> RunRow {
        RunRow {
            point,
            values,
            seed: report.seed,
            busy_factor: report.busy_factor,
            abandon_rate: report.abandon_rate,
            abandon_rate_max_window: report.abandon_rate_max_window,
            agent_wait_s_mean: report.agent_wait_s_mean,
            contacts_per_agent_hour: report.contacts_per_agent_hour,
            dials: report.dials,
            answered_live: report.answered_live,
            abandoned: report.abandoned,
            violation,
            wall_seconds: report.wall_seconds + report.setup_wall_seconds,
        }
    }

    /// The value of metric `m`.
    pub fn metric(&self, m: Metric) -> f64 {
        match m {
            Metric::BusyFactor => self.busy_factor,
            Metric::AbandonRate => self.abandon_rate,
            Metric::AbandonRateMaxWindow => self.abandon_rate_max_window,
            Metric::AgentWaitS => self.agent_wait_s_mean,
            Metric::ContactsPerAgentHour => self.contacts_per_agent_hour,
            Metric::Dials => self.dials as f64,
            Metric::AnsweredLive => self.answered_live as f64,
            Metric::Abandoned => self.abandoned as f64,
        }
    }
}

/// The measures a sweep summarises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Busy factor.
    BusyFactor,
    /// Abandon rate over the run.
    AbandonRate,
    /// Worst 15-minute abandon rate.
    AbandonRateMaxWindow,
    /// Mean agent wait.
    AgentWaitS,
    /// Contacts per agent hour.
    ContactsPerAgentHour,
    /// Dials.
    Dials,
    /// Live answers.
    AnsweredLive,
    /// Abandoned calls.
    Abandoned,
}

impl Metric {
    /// Every metric, in column order.
    pub const ALL: [Metric; 8] = [
        Metric::BusyFactor,
        Metric::AbandonRate,
        Metric::AbandonRateMaxWindow,
        Metric::AgentWaitS,
        Metric::ContactsPerAgentHour,
        Metric::Dials,
        Metric::AnsweredLive,
        Metric::Abandoned,
    ];

    /// Column name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::BusyFactor => "busy_factor",
            Metric::AbandonRate => "abandon_rate",
            Metric::AbandonRateMaxWindow => "abandon_rate_max_window",
            Metric::AgentWaitS => "agent_wait_s_mean",
            Metric::ContactsPerAgentHour => "contacts_per_agent_hour",
            Metric::Dials => "dials",
            Metric::AnsweredLive => "answered_live",
            Metric::Abandoned => "abandoned",
        }
    }
}

/// A mean and the half-width of its 95% confidence interval (NaN with one run).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Half-width of the 95% Student t interval.
    pub ci95: f64,
}

impl Estimate {
    /// The estimate from `xs` (independent replications).
    pub fn of(xs: &[f64]) -> Estimate {
        let n = xs.len();
        if n == 0 {
            return Estimate { mean: f64::NAN, ci95: f64::NAN };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate { mean, ci95: f64::NAN };
        }
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let t =
            StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("positive degrees of freedom").inverse_cdf(0.975);
        Estimate { mean, ci95: t * (var / n as f64).sqrt() }
    }

    /// Lower end of the interval.
    pub fn lo(&self) -> f64 {
        self.mean - self.ci95
    }

    /// Upper end of the interval.
    pub fn hi(&self) -> f64 {
        self.mean + self.ci95
    }
}

/// The summary of one grid point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointSummary {
    /// Point index.
    pub point: usize,
    /// Its values, one per axis.
    pub values: Vec<String>,
    /// Runs summarised.
    pub runs: usize,
    /// Runs that found an invariant broken.
    pub violations: usize,
    /// Each metric's estimate, in [`Metric::ALL`] order.
    pub metrics: Vec<NamedEstimate>,
}

/// A metric's estimate with the metric's name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedEstimate {
    /// The metric ([`Metric::name`]).
    pub metric: String,
    /// Mean.
    pub mean: f64,
    /// Half-width of the 95% interval.
    pub ci95: f64,
}

impl PointSummary {
    /// The estimate of metric `m`.
    pub fn get(&self, m: Metric) -> Estimate {
        self.metrics
            .iter()
            .find(|e| e.metric == m.name())
            .map_or(Estimate { mean: f64::NAN, ci95: f64::NAN }, |e| Estimate { mean: e.mean, ci95: e.ci95 })
    }

    /// `key=value` pairs joined by spaces.
    pub fn label(&self, axes: &[Axis]) -> String {
        axes.iter()
            .zip(&self.values)
            .map(|(a, v)| format!("{}={v}", short_key(&a.key)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn short_key(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// A sweep's results: the runs done (all of them, or one shard's) and, when all were done,
/// the per-point summaries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepResult {
    /// Scenario name.
    pub scenario: String,
    /// The grid.
    pub grid: Vec<Axis>,
    /// Seeds per point (`1..=seeds`).
    pub seeds: u32,
    /// The shard these runs are (`None`: all runs).
    pub shard: Option<String>,
    /// The runs, in run order.
    pub runs: Vec<RunRow>,
    /// Per-point summaries (empty for a shard).
    pub points: Vec<PointSummary>,
}

/// What a sweep runs.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// Scenario name or path.
    pub scenario: String,
    /// Overrides applied at every point, before the grid's.
    pub sets: Vec<String>,
    /// The grid (no axis: one point).
    pub grid: Vec<Axis>,
    /// Seeds per point.
    pub seeds: u32,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Only this shard.
    pub shard: Option<Shard>,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

/// The points of a grid, the first axis slowest; one empty point for an empty grid.
pub fn points(grid: &[Axis]) -> Vec<Vec<String>> {
    let mut points: Vec<Vec<String>> = vec![Vec::new()];
    for axis in grid {
        points = points
            .iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(v.clone());
                    q
                })
            })
            .collect();
    }
    points
}

/// Most worker threads a sweep may ask for (each is an operating-system thread).
pub const MAX_THREADS: usize = 1024;

/// Runs the sweep (or its shard).
pub fn sweep(spec: &SweepSpec) -> anyhow::Result<SweepResult> {
    ensure!(spec.seeds > 0, "--seeds must be at least 1");
    ensure!(spec.threads <= MAX_THREADS, "--threads {}: at most {MAX_THREADS}", spec.threads);
    for (i, axis) in spec.grid.iter().enumerate() {
        // A key twice would set the field twice, the second value silently winning; a value
        // twice would run (and later merge) the same point twice.
        ensure!(
            spec.grid[..i].iter().all(|a| a.key != axis.key),
            "--grid {}: the key is given twice",
            axis.key
        );
        for (j, v) in axis.values.iter().enumerate() {
            ensure!(!axis.values[..j].contains(v), "{}: the value `{v}` is given twice", axis.key);
        }
    }
    let path = scenario::resolve(&spec.scenario)
        .ok_or_else(|| anyhow!("no scenario {:?} (try `pacer scenarios`)", spec.scenario))?;
    let grid_points = points(&spec.grid);
    // Every point's scenario is read (and checked) before anything runs.
    let scenarios = grid_points
        .iter()
        .map(|values| {
            let mut sets = spec.sets.clone();
            sets.extend(spec.grid.iter().zip(values).map(|(a, v)| format!("{}={v}", a.key)));
            // The engine paces predictive dialing modes with a predictive algorithm whatever
            // the configuration names (progressive is a dialing mode there): a point asking
            // for progressive pacing runs the group in progressive mode.
            if spec.grid.iter().zip(values).any(|(a, v)| a.key == "pacing.algorithm" && v == "progressive") {
                sets.push("group.dial_mode=Progress".into());
            }
            scenario::load(&path, &sets).map_err(|e| anyhow!("{e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let name = scenarios[0].name.clone();
    let seeds = spec.seeds as usize;
    let total = grid_points.len() * seeds;
    let runs: Vec<usize> =
        (0..total).filter(|i| spec.shard.is_none_or(|s| *i % s.count as usize == s.index as usize)).collect();
    if let Some(shard) = spec.shard {
        // Its file could name neither the sweep nor itself, and `pacer merge` would refuse it.
        ensure!(
            !runs.is_empty(),
            "shard {shard} has no runs: the sweep has {total}, so at most {total} shards"
        );
    }
    let bar = if spec.progress {
        let bar = indicatif::ProgressBar::new(runs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} runs, ETA {eta}",
            )
            .expect("a valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let failed = AtomicBool::new(false);
    let work = || {
        runs.par_iter()
            .map(|&i| {
                let (point, seed) = (i / seeds, (i % seeds) as u64 + 1);
                let options = RunOptions { seed, ..RunOptions::default() };
                let outcome = run(&scenarios[point], &options)
                    .map_err(|e| anyhow!("{}: point {point} seed {seed}: {e}", path.display()))?;
                let violation = outcome.violation.map(|v| v.to_string()).unwrap_or_default();
                if !violation.is_empty() {
                    failed.store(true, Ordering::Relaxed);
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                Ok(RunRow::from_report(point, grid_points[point].clone(), &outcome.report, violation))
            })
            .collect::<anyhow::Result<Vec<RunRow>>>()
    };
    let rows = if spec.threads > 0 {
        rayon::ThreadPoolBuilder::new().num_threads(spec.threads).build()?.install(work)?
    } else {
        work()?
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if failed.load(Ordering::Relaxed) {
        eprintln!("warning: some runs found an invariant broken (see the `violation` column)");
    }
    let mut result = SweepResult {
        scenario: name,
        grid: spec.grid.clone(),
        seeds: spec.seeds,
        shard: spec.shard.map(|s| s.to_string()),
        runs: rows,
        points: Vec::new(),
    };
    if spec.shard.is_none() {
        result.points = summarise(&result.runs, grid_points.len());
    }
    Ok(result)
}

/// Per-point summaries of complete runs.
pub fn summarise(runs: &[RunRow], points: usize) -> Vec<PointSummary> {
    (0..points)
        .map(|p| {
            let rows: Vec<&RunRow> = runs.iter().filter(|r| r.point == p).collect();
            PointSummary {
                point: p,
                values: rows.first().map(|r| r.values.clone()).unwrap_or_default(),
                runs: rows.len(),
                violations: rows.iter().filter(|r| !r.violation.is_empty()).count(),
                metrics: Metric::ALL
                    .iter()
                    .map(|&m| {
                        let e = Estimate::of(&rows.iter().map(|r| r.metric(m)).collect::<Vec<_>>());
                        NamedEstimate { metric: m.name().to_string(), mean: e.mean, ci95: e.ci95 }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Output format, from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values: run rows then point rows.
    Csv,
    /// One JSON document.
    Json,
}

impl Format {
    /// The format a file name asks for.
    pub fn of(path: &Path) -> anyhow::Result<Format> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            _ => bail!("{}: the results file must end in .csv or .json", path.display()),
        }
    }
}

const META_COLUMNS: [&str; 4] = ["kind", "scenario", "shard", "point"];

fn csv_header(grid: &[Axis]) -> Vec<String> {
    let mut h: Vec<String> = META_COLUMNS.iter().map(|s| s.to_string()).collect();
    h.extend(grid.iter().map(|a| a.key.clone()));
    h.push("seeds".into());
    h.push("seed".into());
    h.push("runs".into());
    for m in Metric::ALL {
        h.push(m.name().into());
        h.push(format!("{}_ci95", m.name()));
    }
    h.push("violation".into());
    h.push("wall_seconds".into());
    h
}

/// The result as text in `format`.
pub fn render(result: &SweepResult, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(result)? + "\n"),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(csv_header(&result.grid))?;
            let shard = result.shard.clone().unwrap_or_default();
            for r in &result.runs {
                let mut rec =
                    vec!["run".to_string(), result.scenario.clone(), shard.clone(), r.point.to_string()];
                rec.extend(r.values.iter().cloned());
                rec.push(result.seeds.to_string());
                rec.push(r.seed.to_string());
                rec.push("1".into());
                for m in Metric::ALL {
                    rec.push(r.metric(m).to_string());
                    rec.push(String::new());
                }
                rec.push(r.violation.clone());
                rec.push(r.wall_seconds.to_string());
                w.write_record(&rec)?;
            }
            for p in &result.points {
                let mut rec =
                    vec!["mean".to_string(), result.scenario.clone(), shard.clone(), p.point.to_string()];
                rec.extend(p.values.iter().cloned());
                rec.push(result.seeds.to_string());
                rec.push(String::new());
                rec.push(p.runs.to_string());
                for m in Metric::ALL {
                    let e = p.get(m);
                    rec.push(e.mean.to_string());
                    rec.push(e.ci95.to_string());
                }
                rec.push(if p.violations > 0 { format!("{} runs", p.violations) } else { String::new() });
                rec.push(String::new());
                w.write_record(&rec)?;
            }
            Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow!("{e}"))?)?)
        }
    }
}

/// Writes the result to `path` in the format its name says.
pub fn write(result: &SweepResult, path: &Path) -> anyhow::Result<()> {
    let text = render(result, Format::of(path)?)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One shard's (or a whole sweep's) file read back.
fn read_file(path: &Path) -> anyhow::Result<SweepResult> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match Format::of(path)? {
        Format::Json => {
            #[derive(Deserialize)]
            struct Doc {
                scenario: String,
                grid: Vec<Axis>,
                seeds: u32,
                shard: Option<String>,
                runs: Vec<RunRow>,
            }
            let doc: Doc = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a sweep result", path.display()))?;
            Ok(SweepResult {
                scenario: doc.scenario,
                grid: doc.grid,
                seeds: doc.seeds,
                shard: doc.shard,
                runs: doc.runs,
                points: Vec::new(),
            })
        }
        Format::Csv => read_csv(&text, path),
    }
}

fn read_csv(text: &str, path: &Path) -> anyhow::Result<SweepResult> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| anyhow!("{}: no column `{name}`", path.display()));
    let (kind, scen, shard, point, seeds, seed) =
        (need("kind")?, need("scenario")?, need("shard")?, need("point")?, need("seeds")?, need("seed")?);
    // The grid's keys are the columns between `point` and `seeds`; a file whose columns are in
    // another order is not one this program wrote.
    ensure!(
        point < seeds,
        "{}: line 1: column `seeds` comes before column `point` (the grid's keys go between them)",
        path.display()
    );
    let axis_cols = point + 1..seeds;
    let grid_keys: Vec<String> = header[axis_cols.clone()].to_vec();
    let metric_cols: Vec<usize> =
        Metric::ALL.iter().map(|m| need(m.name())).collect::<anyhow::Result<_>>()?;
    let (violation, wall) = (need("violation")?, need("wall_seconds")?);
    let mut out = SweepResult {
        scenario: String::new(),
        grid: grid_keys.iter().map(|k| Axis { key: k.clone(), values: Vec::new() }).collect(),
        seeds: 0,
        shard: None,
        runs: Vec::new(),
        points: Vec::new(),
    };
    for rec in r.records() {
        let rec = rec.with_context(|| format!("{}", path.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |c: usize| rec.get(c).unwrap_or("");
        let bad =
            |c: usize, what: &str| anyhow!("{}: line {line}, field `{}`: {what}", path.display(), header[c]);
        match field(kind) {
            "run" => {}
            // Summaries are recomputed from the runs.
            "mean" => continue,
            other => return Err(bad(kind, &format!("`{other}` is neither `run` nor `mean`"))),
        }
        let row_seeds: u32 = field(seeds).parse().map_err(|_| bad(seeds, "not a number"))?;
        let row_shard = Some(field(shard).to_string()).filter(|s| !s.is_empty());
        if out.runs.is_empty() {
            out.scenario = field(scen).to_string();
            out.shard = row_shard;
            out.seeds = row_seeds;
        } else {
            // Every run of one file belongs to the same sweep and shard.
            ensure!(
                field(scen) == out.scenario,
                bad(scen, &format!("differs from `{}` above", out.scenario))
            );
            ensure!(row_shard == out.shard, bad(shard, "differs from the rows above"));
            ensure!(row_seeds == out.seeds, bad(seeds, &format!("differs from {} above", out.seeds)));
        }
        let num = |c: usize| -> anyhow::Result<f64> { field(c).parse().map_err(|_| bad(c, "not a number")) };
        let int =
            |c: usize| -> anyhow::Result<u64> { field(c).parse().map_err(|_| bad(c, "not a whole number")) };
        let m = |k: usize| num(metric_cols[k]);
        out.runs.push(RunRow {
            point: int(point)? as usize,
            values: axis_cols.clone().map(|c| field(c).to_string()).collect(),
            seed: int(seed)?,
            busy_factor: m(0)?,
            abandon_rate: m(1)?,
            abandon_rate_max_window: m(2)?,
            agent_wait_s_mean: m(3)?,
            contacts_per_agent_hour: m(4)?,
            dials: int(metric_cols[5])?,
            answered_live: int(metric_cols[6])?,
            abandoned: int(metric_cols[7])?,
            violation: field(violation).to_string(),
            wall_seconds: num(wall)?,
        });
    }
    ensure!(!out.runs.is_empty(), "{}: no runs (no row of kind `run`)", path.display());
    // The axes' values in point order (a CSV keeps them per row only).
    let mut seen = BTreeSet::new();
    let mut by_point: Vec<&RunRow> = out.runs.iter().filter(|r| seen.insert(r.point)).collect();
    by_point.sort_by_key(|r| r.point);
    for (a, axis) in out.grid.iter_mut().enumerate() {
        for r in &by_point {
            if !axis.values.contains(&r.values[a]) {
                axis.values.push(r.values[a].clone());
            }
        }
    }
    Ok(out)
}

/// Combines shard files into the result of the whole sweep: every shard `k/n` of one `n`
/// present once, same scenario, grid and seeds, every run present once.
pub fn merge(files: &[PathBuf]) -> anyhow::Result<SweepResult> {
    ensure!(!files.is_empty(), "merge: no files");
    let parts = files.iter().map(|f| read_file(f)).collect::<anyhow::Result<Vec<_>>>()?;
    let first = &parts[0];
    let mut shards = BTreeSet::new();
    let mut count = None;
    for (part, file) in parts.iter().zip(files) {
        ensure!(
            part.scenario == first.scenario,
            "{}: scenario {} differs from {}",
            file.display(),
            part.scenario,
            first.scenario
        );
        ensure!(part.seeds == first.seeds, "{}: {} seeds, not {}", file.display(), part.seeds, first.seeds);
        ensure!(
            part.grid.iter().map(|a| &a.key).eq(first.grid.iter().map(|a| &a.key)),
            "{}: a different grid",
            file.display()
        );
        let shard = part.shard.as_deref().ok_or_else(|| anyhow!("{}: not a shard's file", file.display()))?;
        let shard = Shard::parse(shard).with_context(|| format!("{}", file.display()))?;
        ensure!(
            count.is_none_or(|c| c == shard.count),
            "{}: shard {shard} of a different split",
            file.display()
        );
        count = Some(shard.count);
        ensure!(shards.insert(shard.index), "{}: shard {shard} given twice", file.display());
    }
    let count = count.expect("at least one file");
    ensure!(shards.len() as u32 == count, "merge: {} of {count} shards given", shards.len());
    let mut runs: Vec<RunRow> = parts.iter().flat_map(|p| p.runs.iter().cloned()).collect();
    let seeds = first.seeds as usize;
    runs.sort_by_key(|r| (r.point, r.seed));
    // The grid: each axis's values in the order the points first show them. Points run through
    // the grid with the first axis slowest, so with every point present this is the order the
    // sweep was given, whichever shard's file came first and whatever its format.
    for (part, file) in parts.iter().zip(files) {
        for r in &part.runs {
            // A run's figures are what a simulation can produce: shares in [0, 1], the rest
            // finite and not negative. An edited or corrupted figure would skew its point's
            // mean and interval without a trace. The worst window's abandon rate is no share:
            // a window counts the abandons of calls answered in the window before, so an
            // overloaded floor can show more than 1 (see the metrics test
            // `a_window_can_abandon_more_calls_than_it_answers`).
            for m in Metric::ALL {
                let v = r.metric(m);
                let share = matches!(m, Metric::BusyFactor | Metric::AbandonRate);
                ensure!(
                    v.is_finite() && v >= 0.0 && (!share || v <= 1.0),
                    "{}: run of point {} seed {}: {} is {v}, not {}",
                    file.display(),
                    r.point,
                    r.seed,
                    m.name(),
                    if share { "a share in [0, 1]" } else { "a finite number >= 0" }
                );
            }
            ensure!(
                r.wall_seconds.is_finite() && r.wall_seconds >= 0.0,
                "{}: run of point {} seed {}: wall_seconds is {}, not a finite number >= 0",
                file.display(),
                r.point,
                r.seed,
                r.wall_seconds
            );
            ensure!(
                r.values.len() == first.grid.len(),
                "{}: run of point {} seed {} has {} grid values, the grid has {} keys",
                file.display(),
                r.point,
                r.seed,
                r.values.len(),
                first.grid.len()
            );
        }
    }
    for pair in runs.windows(2) {
        ensure!(
            pair[0].point != pair[1].point || pair[0].values == pair[1].values,
            "merge: runs of point {} disagree on its grid values: seed {} has {:?}, seed {} has {:?}",
            pair[0].point,
            pair[0].seed,
            pair[0].values,
            pair[1].seed,
            pair[1].values
        );
    }
    let mut grid: Vec<Axis> =
        first.grid.iter().map(|a| Axis { key: a.key.clone(), values: Vec::new() }).collect();
    for r in &runs {
        for (axis, v) in grid.iter_mut().zip(&r.values) {
            if !axis.values.contains(v) {
                axis.values.push(v.clone());
            }
        }
    }
    // Every run's values must be those of its point: a run whose values were edited or
    // shifted would otherwise be summarised under the wrong point.
    let grid_points = points(&grid);
    for (part, file) in parts.iter().zip(files) {
        for r in &part.runs {
            let expected = grid_points.get(r.point).ok_or_else(|| {
                anyhow!(
                    "{}: run of point {} seed {}: the grid has {} points",
                    file.display(),
                    r.point,
                    r.seed,
                    grid_points.len()
                )
            })?;
            ensure!(
                &r.values == expected,
                "{}: run of point {} seed {}: values {:?}, but the grid's point {} is {:?}",
                file.display(),
                r.point,
                r.seed,
                r.values,
                r.point,
                expected
            );
        }
    }
    let n_points = grid_points.len();
    ensure!(runs.len() == n_points * seeds, "merge: {} runs, the grid has {}", runs.len(), n_points * seeds);
    for (i, r) in runs.iter().enumerate() {
        ensure!(
            r.point == i / seeds && r.seed == (i % seeds) as u64 + 1,
            "merge: run of point {} seed {} missing or twice",
            i / seeds,
            (i % seeds) + 1
        );
    }
    let points = summarise(&runs, n_points);
    Ok(SweepResult { scenario: first.scenario.clone(), grid, seeds: first.seeds, shard: None, runs, points })
}

/// The sweep as a text table (for the terminal): one line per point.
pub fn table(result: &SweepResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "scenario {}  {} seeds per point", result.scenario, result.seeds);
    let _ = writeln!(
        s,
        "{:<40} {:>16} {:>16} {:>16} {:>14} {:>14}",
        "point", "busy factor %", "abandon %", "worst 15 min %", "agent wait s", "contacts/ag-h"
    );
    // One seed has no interval: the mean alone, not "± NaN".
    let pct = |e: Estimate| {
        if e.ci95.is_nan() {
            format!("{:.2}", e.mean * 100.0)
        } else {
            format!("{:.2} ± {:.2}", e.mean * 100.0, e.ci95 * 100.0)
        }
    };
    let num = |e: Estimate| {
        if e.ci95.is_nan() { format!("{:.1}", e.mean) } else { format!("{:.1} ± {:.1}", e.mean, e.ci95) }
    };
    for p in &result.points {
        let _ = writeln!(
            s,
            "{:<40} {:>16} {:>16} {:>16} {:>14} {:>14}{}",
            p.label(&result.grid),
            pct(p.get(Metric::BusyFactor)),
            pct(p.get(Metric::AbandonRate)),
            pct(p.get(Metric::AbandonRateMaxWindow)),
            num(p.get(Metric::AgentWaitS)),
            num(p.get(Metric::ContactsPerAgentHour)),
            if p.violations > 0 {
                format!("  ({} runs broke an invariant)", p.violations)
            } else {
                String::new()
            }
        );
    }
    s
}

/// The Pareto plot's points.
pub fn pareto_points(result: &SweepResult) -> Vec<crate::plot::ParetoPoint> {
    result
        .points
        .iter()
        .map(|p| {
            let (a, b) = (p.get(Metric::AbandonRate), p.get(Metric::BusyFactor));
            let zero_nan = |x: f64| if x.is_nan() { 0.0 } else { x };
            crate::plot::ParetoPoint {
                label: p.label(&result.grid),
                abandon_rate: a.mean,
                abandon_ci: zero_nan(a.ci95),
                busy_factor: b.mean,
                busy_ci: zero_nan(b.ci95),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_first_axis_slowest() {
        let grid = vec![Axis::parse("a=1,2").unwrap(), Axis::parse("b=x,y,z").unwrap()];
        let p = points(&grid);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], vec!["1", "x"]);
        assert_eq!(p[1], vec!["1", "y"]);
        assert_eq!(p[3], vec!["2", "x"]);
        assert_eq!(points(&[]), vec![Vec::<String>::new()]);
        assert!(Axis::parse("a").is_err());
        assert!(Axis::parse("a=1,,2").is_err());
    }

    #[test]
    fn shards_from_arguments_and_environment() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x/4").is_err());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        static SLURM: [(&str, &str); 3] =
            [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        assert_eq!(Shard::from_env(env(&SLURM), None).unwrap(), Some(Shard { index: 2, count: 4 }));
        static K8S: [(&str, &str); 2] = [("JOB_COMPLETION_INDEX", "1"), ("PACER_SHARD_COUNT", "3")];
        assert_eq!(Shard::from_env(env(&K8S), None).unwrap(), Some(Shard { index: 1, count: 3 }));
        assert_eq!(Shard::from_env(env(&K8S), Some(5)).unwrap(), Some(Shard { index: 1, count: 5 }));
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "1")]), None).is_err());
        assert_eq!(Shard::from_env(env(&[]), None).unwrap(), None);
    }

    #[test]
    fn student_t_interval() {
        // Two values 1 and 3: mean 2, s = sqrt(2), t(0.975, 1) = 12.706.
        let e = Estimate::of(&[1.0, 3.0]);
        assert_eq!(e.mean, 2.0);
        assert!((e.ci95 - 12.706_2 * 1.0).abs() < 1e-3, "{}", e.ci95);
        assert!(Estimate::of(&[5.0]).ci95.is_nan());
        let e = Estimate::of(&[2.0; 10]);
        assert_eq!((e.mean, e.ci95), (2.0, 0.0));
    }
}
