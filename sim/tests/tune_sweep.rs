//! Sweeps, shards and their merge, compare, the oracle and the plots, on short runs.

use std::path::PathBuf;

use pacer_sim::sweep::{Axis, Format, Metric, Shard, SweepResult, SweepSpec, merge, render, sweep, write};
use pacer_sim::world::{RunOptions, run};

fn spec(shard: Option<Shard>) -> SweepSpec {
    SweepSpec {
        scenario: "small-20".into(),
        sets: vec!["duration_s=900".into()],
        grid: vec![
            Axis::parse("pacing.algorithm=progressive,predictive").unwrap(),
            Axis::parse("pacing.goal.overdial_rate=0.02,0.05").unwrap(),
        ],
        seeds: 2,
        threads: 2,
        shard,
        progress: false,
    }
}

/// Wall-clock time is the one field that differs between identical sweeps.
fn without_wall(mut r: SweepResult) -> SweepResult {
    for run in &mut r.runs {
        run.wall_seconds = 0.0;
    }
    r
}

#[test]
fn merged_shards_are_byte_identical_to_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let whole = without_wall(sweep(&spec(None)).unwrap());
    assert_eq!(whole.runs.len(), 8);
    assert_eq!(whole.points.len(), 4);
    // Common random numbers: seed s is the same at every point.
    assert!(whole.runs.iter().enumerate().all(|(i, r)| r.seed == (i % 2) as u64 + 1 && r.point == i / 2));
    for ext in ["csv", "json"] {
        let mut files: Vec<PathBuf> = Vec::new();
        for k in 0..3 {
            let part = without_wall(sweep(&spec(Some(Shard { index: k, count: 3 }))).unwrap());
            assert!(part.points.is_empty());
            let file = dir.path().join(format!("shard-{k}.{ext}"));
            write(&part, &file).unwrap();
            files.push(file);
        }
        // Any order of files.
        files.reverse();
        let merged = merge(&files).unwrap();
        let format = Format::of(&files[0]).unwrap();
        assert_eq!(render(&merged, format).unwrap(), render(&whole, format).unwrap(), "{ext}");
        // A missing or doubled shard is refused.
        assert!(merge(&files[..2]).is_err());
        let doubled = vec![files[0].clone(), files[0].clone(), files[1].clone()];
        assert!(merge(&doubled).is_err());
    }
    // Points differ in what they measure (the grid does something).
    let bf = |p: usize| whole.points[p].get(Metric::Dials).mean;
    assert_ne!(bf(0), bf(2));
    let csv = render(&whole, Format::Csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8 + 4);
    assert!(csv.lines().next().unwrap().contains("busy_factor_ci95"));
}

#[test]
fn bad_grid_values_name_the_override() {
    let mut s = spec(None);
    s.grid = vec![Axis::parse("pacing.algorithm=nonsense").unwrap()];
    let e = sweep(&s).unwrap_err().to_string();
    assert!(e.contains("nonsense"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "kind,scenario,shard,point,seeds,seed\nrun,x,0/1,zero,1,1\n").unwrap();
    assert!(merge(&[file]).is_err());
}

#[test]
fn compare_table_has_every_algorithm_and_metric() {
    let r = pacer_sim::compare::compare(
        "small-5",
        &["duration_s=900".into()],
        &["progressive".into(), "oracle".into()],
        2,
        2,
        false,
    )
    .unwrap();
    let t = pacer_sim::compare::table(&r);
    for word in
        ["progressive", "oracle", "busy factor", "abandon rate", "agent wait", "contacts per agent-hour"]
    {
        assert!(t.contains(word), "{word} missing from\n{t}");
    }
    assert!(r.runs.iter().all(|r| r.violation.is_empty()));
}

#[test]
fn oracle_runs_clean_and_paces_beyond_progressive() {
    let path = pacer_sim::scenario::resolve("small-20").unwrap();
    let load = |algorithm: &str, mode: &str| {
        pacer_sim::scenario::load(
            &path,
            &[
                "duration_s=1800".into(),
                format!("pacing.algorithm={algorithm}"),
                format!("group.dial_mode={mode}"),
            ],
        )
        .unwrap()
    };
    let options = RunOptions { seed: 3, ..RunOptions::default() };
    let oracle = run(&load("oracle", "Predict"), &options).unwrap();
    let progressive = run(&load("progressive", "Progress"), &options).unwrap();
    assert!(oracle.violation.is_none(), "{:?}", oracle.violation);
    assert_eq!(oracle.report.algorithm, "oracle");
    // The oracle dials ahead of agents becoming free; progressive waits for them.
    assert!(oracle.report.busy_factor > progressive.report.busy_factor);
    assert!(oracle.report.agent_wait_s_mean < progressive.report.agent_wait_s_mean);
}

#[test]
fn run_and_sweep_plots_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let path = pacer_sim::scenario::resolve("small-20").unwrap();
    let scenario = pacer_sim::scenario::load(&path, &["duration_s=1200".into()]).unwrap();
    let options = RunOptions {
        seed: 1,
        trace_every: Some(std::time::Duration::from_secs(10)),
        ..RunOptions::default()
    };
    let outcome = run(&scenario, &options).unwrap();
    assert!(outcome.trace.len() >= 120, "{}", outcome.trace.len());
    assert!(outcome.trace.iter().all(|p| p.abandon_cap == 0.03));
    assert!(outcome.trace.iter().any(|p| p.agents_busy > 0));
    let svg = dir.path().join("run.svg");
    pacer_sim::plot::draw_run(&outcome.trace, "small-20", &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    for word in ["Dial level", "answered calls waiting", "cap", "simulated time (min)"] {
        assert!(text.contains(word), "{word}");
    }
    let whole = sweep(&spec(None)).unwrap();
    let file = dir.path().join("sweep.svg");
    pacer_sim::plot::draw_sweep(&pacer_sim::sweep::pareto_points(&whole), Some(0.03), "t", &file).unwrap();
    assert!(std::fs::read_to_string(&file).unwrap().contains("Pareto frontier"));
    assert!(pacer_sim::plot::draw_run(&outcome.trace, "x", &dir.path().join("run.gif")).is_err());
}

#[test]
fn external_level_hook_replaces_the_algorithm_but_not_the_caps() {
    use pacer_engine::pacing::{AgentIdx, AgentState, GroupPacer, PacingConfig};
    use pacer_engine::time::Time;
    let t0 = Time::from_unix_s(1_790_000_000);
    let config = PacingConfig { compliance_max_abandon_rate: 1.0, ..PacingConfig::default() };
    let pacer = GroupPacer::new(config, 10, t0);
    for i in 0..3 {
        pacer.agent_state(AgentIdx(i), AgentState::Ready, t0);
    }
    let own = pacer.decide(t0).dials;
    pacer.set_external_level(Some(5.0));
    assert_eq!(pacer.decide(t0).dials, 5);
    pacer.dial_placed(t0);
    pacer.dial_placed(t0);
    // The level counts calls in progress: two placed, three more.
    assert_eq!(pacer.decide(t0).dials, 3);
    // The per-agent cap (4 calls per available agent) still applies.
    pacer.set_external_level(Some(100.0));
    assert_eq!(pacer.decide(t0).dials, 12 - 2);
    // Cleared (NaN clears too): the algorithm decides again, as on a pacer never steered.
    pacer.set_external_level(Some(f64::NAN));
    let fresh =
        GroupPacer::new(PacingConfig { compliance_max_abandon_rate: 1.0, ..PacingConfig::default() }, 10, t0);
    for i in 0..3 {
        fresh.agent_state(AgentIdx(i), AgentState::Ready, t0);
    }
    assert_eq!(fresh.decide(t0).dials, own);
    fresh.dial_placed(t0);
    fresh.dial_placed(t0);
    assert_eq!(pacer.decide(t0).dials, fresh.decide(t0).dials);
    pacer.set_external_level(Some(4.0));
    pacer.set_external_level(None);
    assert_eq!(pacer.decide(t0).dials, fresh.decide(t0).dials);
}

#[test]
fn a_one_seed_sweep_prints_means_without_intervals() {
    let mut one = spec(None);
    one.seeds = 1;
    one.grid.truncate(1);
    let r = sweep(&one).unwrap();
    let text = pacer_sim::sweep::table(&r);
    assert!(!text.contains("NaN"), "{text}");
    assert!(!text.contains('±'), "one run per point has no interval: {text}");
    let two = pacer_sim::sweep::table(&sweep(&spec(None)).unwrap());
    assert!(two.contains('±'), "{two}");
}
