//! `pacer compare`: pacing algorithms side by side on one scenario, with the same seeds for
//! every algorithm (common random numbers), a table of means with 95% confidence
//! intervals, and a verdict per metric only where the intervals separate.
//!
//! Separated intervals are a conservative test (two means whose 95% intervals do not overlap
//! differ at well below the 5% level); overlapping ones say "not shown", not "equal".

use std::fmt::Write as _;

use crate::sweep::{Axis, Estimate, Metric, SweepResult, SweepSpec, sweep};

/// The metrics of the comparison, with the direction that is better.
pub const METRICS: [(Metric, &str, bool); 5] = [
    (Metric::BusyFactor, "busy factor (%)", true),
    (Metric::AbandonRate, "abandon rate (%)", false),
    (Metric::AbandonRateMaxWindow, "worst 15 min abandon (%)", false),
    (Metric::AgentWaitS, "agent wait (s)", false),
    (Metric::ContactsPerAgentHour, "contacts per agent-hour", true),
];

/// One metric's verdict.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// This algorithm's interval lies wholly on the better side of every other's.
    Best(String),
    /// The best mean's interval overlaps these algorithms' intervals.
    Overlap(Vec<String>),
}

/// The verdict on one metric from each algorithm's estimate. `higher_better` says which way
/// is better. Algorithms without an interval (one seed) never get a verdict.
pub fn verdict(estimates: &[(String, Estimate)], higher_better: bool) -> Verdict {
    let better = |a: f64, b: f64| if higher_better { a > b } else { a < b };
    let Some(best) = estimates
        .iter()
        .filter(|(_, e)| !e.mean.is_nan())
        .reduce(|a, b| if better(b.1.mean, a.1.mean) { b } else { a })
    else {
        return Verdict::Overlap(Vec::new());
    };
    let separated = |other: &Estimate| {
        !best.1.ci95.is_nan()
            && !other.ci95.is_nan()
            && if higher_better { best.1.lo() > other.hi() } else { best.1.hi() < other.lo() }
    };
    let overlapping: Vec<String> =
        estimates.iter().filter(|(n, e)| n != &best.0 && !separated(e)).map(|(n, _)| n.clone()).collect();
    if overlapping.is_empty() && estimates.len() > 1 {
        Verdict::Best(best.0.clone())
    } else {
        let mut names = vec![best.0.clone()];
        names.extend(overlapping);
        Verdict::Overlap(names)
    }
}

/// Runs `algorithms` on `scenario` (with `sets` applied) with seeds `1..=seeds`.
pub fn compare(
    scenario: &str,
    sets: &[String],
    algorithms: &[String],
    seeds: u32,
    threads: usize,
    progress: bool,
) -> anyhow::Result<SweepResult> {
    anyhow::ensure!(!algorithms.is_empty(), "--algorithms: name at least one");
    let spec = SweepSpec {
        scenario: scenario.to_string(),
        sets: sets.to_vec(),
        grid: vec![Axis { key: "pacing.algorithm".into(), values: algorithms.to_vec() }],
        seeds,
        threads,
        shard: None,
        progress,
    };
    sweep(&spec)
}

/// The comparison table with its verdicts.
pub fn table(result: &SweepResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {}: {} seeds per algorithm (the same seeds for each); mean ± 95% CI half-width",
        result.scenario, result.seeds
    );
    let names: Vec<String> = result.points.iter().map(|p| p.values.join(" ")).collect();
    let width = names.iter().map(String::len).max().unwrap_or(9).max(9);
    let _ = write!(s, "{:<26}", "metric");
    for n in &names {
        let _ = write!(s, " {n:>w$}", w = width.max(16));
    }
    let _ = writeln!(s, "  verdict");
    for (metric, label, higher) in METRICS {
        let scale =
            if matches!(metric, Metric::BusyFactor | Metric::AbandonRate | Metric::AbandonRateMaxWindow) {
                100.0
            } else {
                1.0
            };
        let _ = write!(s, "{label:<26}");
        let mut estimates = Vec::new();
        for (p, n) in result.points.iter().zip(&names) {
            let e = p.get(metric);
            let cell = if e.ci95.is_nan() {
                format!("{:.2}", e.mean * scale)
            } else {
                format!("{:.2} ± {:.2}", e.mean * scale, e.ci95 * scale)
            };
            let _ = write!(s, " {cell:>w$}", w = width.max(16));
            estimates.push((n.clone(), e));
        }
        let text = match verdict(&estimates, higher) {
            Verdict::Best(name) => format!("{name} best"),
            Verdict::Overlap(names) if names.len() > 1 => {
                format!("no verdict ({} overlap)", names.join(", "))
            }
            Verdict::Overlap(_) => "no verdict".to_string(),
        };
        let _ = writeln!(s, "  {text}");
    }
    let broken: usize = result.points.iter().map(|p| p.violations).sum();
    if broken > 0 {
        let _ = writeln!(s, "warning: {broken} runs found an invariant broken");
    }
    s
}

/// The algorithms of the pacing benchmark, in column order (`oracle` last: the reference).
pub const BENCH_ALGORITHMS: [&str; 7] = [
    "progressive",
    "predictive",
    "small_group",
    "advanced_small_group",
    "time_optimized",
    "vicidial_adapt",
    "oracle",
];

/// Fixed dial ratios the benchmark tries, as multiples of one answered call per ready agent
/// (`ratio * hit ratio`): from well under to well over what keeps agents busy. The top is
/// six answers per ready agent: at a hit ratio of 0.1 the best ratio was the top of a sweep
/// that ended at three, so the baseline may have been understated; the governor, not the
/// ratio, holds the abandons of the highest ratios, and the table marks a best ratio that is
/// still the top one.
const FIXED_RATIO_SPREAD: [f64; 9] = [0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 4.0, 6.0];

/// The same for the static ratio run without the engine's governor, finer where an
/// unprotected ratio still keeps its abandons under the cap (around one answer per ready
/// agent).
const STATIC_RATIO_SPREAD: [f64; 12] = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 3.0];

/// The override that switches the engine's compliance governor off (an abandon cap of 100%).
pub const NO_GOVERNOR: &str = "pacing.settings.compliance_max_abandon_rate=1.0";

/// The best ratio of a sweep whose mean abandon rate stays at or under `cap`, whether it is
/// the highest ratio tried, and how many of its runs went over the cap.
type Tuned = (Option<(String, Estimate, Estimate)>, bool, usize);

/// One benchmark scenario's figures.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// Scenario name.
    pub scenario: String,
    /// Agents.
    pub agents: u32,
    /// Live-answer probability of a dial.
    pub hit_ratio: f64,
    /// Mean talk time, seconds.
    pub talk_s: f64,
    /// Per algorithm: busy factor and abandon rate estimates.
    pub algorithms: Vec<(String, Estimate, Estimate)>,
    /// The best fixed ratio under the cap: ratio, busy factor, abandon rate.
    pub tuned_fixed: Option<(String, Estimate, Estimate)>,
    /// Whether the best fixed ratio is the highest one tried (a higher one might do better).
    pub tuned_fixed_at_top: bool,
    /// The best static ratio with the engine's governor off (what a dialer without one must
    /// be tuned to): ratio, busy factor, abandon rate.
    pub tuned_static: Option<(String, Estimate, Estimate)>,
    /// Whether the best static ratio is the highest one tried.
    pub tuned_static_at_top: bool,
    /// Runs (seeds) of the best static ratio whose own abandon rate went over the cap: with
    /// no governor the mean can be under it while single hours are not.
    pub tuned_static_runs_over_cap: usize,
}

/// Sweeps `fixed_ratio` over `spread` (answers per ready agent, divided by the hit ratio) with
/// `extra` overrides, and picks the best ratio under `cap`.
fn tune_ratio(
    name: &str,
    sets: &[String],
    extra: &[&str],
    spread: &[f64],
    hit: f64,
    (seeds, threads, cap): (u32, usize, f64),
) -> anyhow::Result<Tuned> {
    let ratio_values: std::collections::BTreeMap<String, f64> = spread
        .iter()
        .map(|k| {
            let ratio = (k / hit.max(0.01)).max(1.0);
            (format!("{ratio:.2}"), ratio)
        })
        .collect();
    let top = ratio_values.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(name, _)| name.clone());
    let ratios: Vec<String> = ratio_values.keys().cloned().collect();
    let mut fixed_sets = sets.to_vec();
    fixed_sets.push("pacing.algorithm=fixed_ratio".into());
    fixed_sets.extend(extra.iter().map(|s| s.to_string()));
    let fixed = sweep(&SweepSpec {
        scenario: name.to_string(),
        sets: fixed_sets,
        grid: vec![Axis { key: "pacing.settings.fixed_ratio".into(), values: ratios }],
        seeds,
        threads,
        shard: None,
        progress: false,
    })?;
    let tuned = fixed
        .points
        .iter()
        .filter(|p| p.get(Metric::AbandonRate).mean <= cap)
        .max_by(|a, b| a.get(Metric::BusyFactor).mean.total_cmp(&b.get(Metric::BusyFactor).mean))
        .map(|p| (p.values.join(" "), p.get(Metric::BusyFactor), p.get(Metric::AbandonRate)));
    let at_top = tuned.as_ref().is_some_and(|(ratio, _, _)| Some(ratio) == top.as_ref());
    let over = tuned.as_ref().map_or(0, |(ratio, _, _)| {
        fixed.runs.iter().filter(|r| r.values.join(" ") == *ratio && r.abandon_rate > cap).count()
    });
    Ok((tuned, at_top, over))
}

/// Runs the pacing benchmark on every scenario file of `dir`: each algorithm with the
/// scenario's goal, and `fixed_ratio` swept to find the best static ratio whose mean abandon
/// rate stays at or under `cap`.
pub fn bench(
    dir: &std::path::Path,
    sets: &[String],
    seeds: u32,
    threads: usize,
    cap: f64,
) -> anyhow::Result<Vec<BenchRow>> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let scenario = crate::scenario::load(&file, sets).map_err(|e| anyhow::anyhow!("{e}"))?;
        let o = &scenario.customers.outcomes;
        let mix = &scenario.records.phone_types;
        let hit = (o.home.answer.0 * mix.home
            + o.business.answer.0 * mix.business
            + o.mobile.answer.0 * mix.mobile)
            / (mix.home + mix.business + mix.mobile).max(1e-9);
        let algorithms: Vec<String> = BENCH_ALGORITHMS.iter().map(|s| s.to_string()).collect();
        let result = compare(&name, sets, &algorithms, seeds, threads, false)?;
        let per_algorithm = result
            .points
            .iter()
            .map(|p| (p.values.join(" "), p.get(Metric::BusyFactor), p.get(Metric::AbandonRate)))
            .collect();
        let run = (seeds, threads, cap);
        let (tuned_fixed, tuned_fixed_at_top, _) =
            tune_ratio(&name, sets, &[], &FIXED_RATIO_SPREAD, hit, run)?;
        let (tuned_static, tuned_static_at_top, tuned_static_runs_over_cap) =
            tune_ratio(&name, sets, &[NO_GOVERNOR], &STATIC_RATIO_SPREAD, hit, run)?;
        rows.push(BenchRow {
            scenario: scenario.name.clone(),
            agents: scenario.agents.count,
            hit_ratio: hit,
            talk_s: scenario.agents.talk.spec.mean_s(),
            algorithms: per_algorithm,
            tuned_fixed,
            tuned_fixed_at_top,
            tuned_static,
            tuned_static_at_top,
            tuned_static_runs_over_cap,
        });
    }
    Ok(rows)
}

/// The benchmark as a Markdown table: busy factor (%) per algorithm, a mark where the mean
/// abandon rate exceeds `cap`, and each algorithm's share of the oracle's busy-factor gain
/// over progressive.
pub fn bench_markdown(rows: &[BenchRow], cap: f64, seeds: u32) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Busy factor (%, mean of {seeds} seeds) at an abandon-rate cap of {:.0}%; in brackets the share of the \
         oracle's busy-factor gain over progressive; `!` marks a mean abandon rate above the cap. The tuned \
         fixed ratio runs through the engine's compliance governor; the static ratio is the best fixed ratio \
         with the governor off, as a dialer without one must be tuned.\n",
        cap * 100.0
    );
    let _ = write!(s, "| scenario | agents | hit | talk s |");
    for a in BENCH_ALGORITHMS {
        let _ = write!(s, " {a} |");
    }
    let _ = writeln!(s, " tuned fixed ratio | static ratio, no governor |");
    let _ = writeln!(s, "|{}", "---|".repeat(6 + BENCH_ALGORITHMS.len()));
    for r in rows {
        let find = |n: &str| r.algorithms.iter().find(|(a, _, _)| a == n).map(|(_, b, a)| (*b, *a));
        let base = find("progressive").map(|(b, _)| b.mean);
        let top = find("oracle").map(|(b, _)| b.mean);
        let share = |b: f64| match (base, top) {
            (Some(p), Some(o)) if (o - p).abs() > 1e-3 => format!(" ({:.0}%)", (b - p) / (o - p) * 100.0),
            _ => String::new(),
        };
        let cell = |b: Estimate, a: Estimate, extra: String| {
            format!("{:.1}{}{extra}", b.mean * 100.0, if a.mean > cap { "!" } else { "" })
        };
        let _ = write!(s, "| {} | {} | {:.1} | {:.0} |", r.scenario, r.agents, r.hit_ratio, r.talk_s);
        for a in BENCH_ALGORITHMS {
            match find(a) {
                Some((b, ab)) if a != "progressive" && a != "oracle" => {
                    let _ = write!(s, " {} |", cell(b, ab, share(b.mean)));
                }
                Some((b, ab)) => {
                    let _ = write!(s, " {} |", cell(b, ab, String::new()));
                }
                None => {
                    let _ = write!(s, " - |");
                }
            }
        }
        let over = r.tuned_static_runs_over_cap;
        for (tuned, at_top, over) in
            [(&r.tuned_fixed, r.tuned_fixed_at_top, 0), (&r.tuned_static, r.tuned_static_at_top, over)]
        {
            match tuned {
                Some((ratio, b, a)) => {
                    let top = if at_top { " (top of sweep)" } else { "" };
                    let over =
                        if over > 0 { format!(", {over}/{seeds} runs over the cap") } else { String::new() };
                    let _ = write!(s, " {} @ {ratio}{top}{over} |", cell(*b, *a, share(b.mean)));
                }
                None => {
                    let _ = write!(s, " none under the cap |");
                }
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\nMean abandon rate (%):\n");
    let _ = write!(s, "| scenario |");
    for a in BENCH_ALGORITHMS {
        let _ = write!(s, " {a} |");
    }
    let _ = writeln!(s, " tuned fixed ratio | static ratio, no governor |");
    let _ = writeln!(s, "|{}", "---|".repeat(3 + BENCH_ALGORITHMS.len()));
    for r in rows {
        let _ = write!(s, "| {} |", r.scenario);
        for a in BENCH_ALGORITHMS {
            match r.algorithms.iter().find(|(n, _, _)| n == a) {
                Some((_, _, ab)) => {
                    let _ = write!(s, " {:.2} |", ab.mean * 100.0);
                }
                None => {
                    let _ = write!(s, " - |");
                }
            }
        }
        for tuned in [&r.tuned_fixed, &r.tuned_static] {
            match tuned {
                Some((_, _, a)) => {
                    let _ = write!(s, " {:.2} |", a.mean * 100.0);
                }
                None => {
                    let _ = write!(s, " - |");
                }
            }
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(mean: f64, ci95: f64) -> Estimate {
        Estimate { mean, ci95 }
    }

    #[test]
    fn verdict_only_when_intervals_separate() {
        let xs = vec![
            ("a".to_string(), e(0.80, 0.01)),
            ("b".to_string(), e(0.85, 0.01)),
            ("c".to_string(), e(0.70, 0.02)),
        ];
        assert_eq!(verdict(&xs, true), Verdict::Best("b".into()));
        assert_eq!(verdict(&xs, false), Verdict::Best("c".into()));
        let ys = vec![("a".to_string(), e(0.80, 0.03)), ("b".to_string(), e(0.85, 0.03))];
        assert_eq!(verdict(&ys, true), Verdict::Overlap(vec!["b".into(), "a".into()]));
        // One seed: no interval, no verdict.
        let zs = vec![("a".to_string(), e(0.80, f64::NAN)), ("b".to_string(), e(0.85, f64::NAN))];
        assert!(matches!(verdict(&zs, true), Verdict::Overlap(_)));
    }

    #[test]
    fn bench_table_marks_a_best_fixed_ratio_at_the_top_of_the_sweep() {
        let row = |at_top| BenchRow {
            scenario: "n0050-h10-t60".into(),
            agents: 50,
            hit_ratio: 0.1,
            talk_s: 60.0,
            algorithms: vec![
                ("progressive".into(), e(0.275, 0.01), e(0.0, 0.0)),
                ("predictive".into(), e(0.84, 0.01), e(0.018, 0.005)),
                ("oracle".into(), e(0.85, 0.01), e(0.031, 0.005)),
            ],
            tuned_fixed: Some(("60.00".into(), e(0.82, 0.01), e(0.02, 0.004))),
            tuned_fixed_at_top: at_top,
            tuned_static: Some(("12.00".into(), e(0.78, 0.01), e(0.025, 0.004))),
            tuned_static_at_top: false,
            tuned_static_runs_over_cap: 1,
        };
        let top = bench_markdown(&[row(true)], 0.03, 3);
        assert!(
            top.contains("82.0 (95%) @ 60.00 (top of sweep) | 78.0 (88%) @ 12.00, 1/3 runs over the cap |"),
            "{top}"
        );
        assert!(top.contains("| 2.00 | 2.50 |"), "both baselines' abandon rates: {top}");
        // The oracle above the cap is marked; predictive's share of its gain is printed.
        assert!(top.contains("| 84.0 (98%) |") && top.contains("| 85.0! |"), "{top}");
        let inside = bench_markdown(&[row(false)], 0.03, 3);
        assert!(inside.contains("@ 60.00 |") && !inside.contains("top of sweep"), "{inside}");
    }
}
