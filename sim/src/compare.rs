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
}
