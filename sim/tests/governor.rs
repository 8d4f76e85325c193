//! The compliance governor around the simulated floor: at a hit ratio of 0.1 the default
//! `confidence` mode keeps the abandon rate at or under the cap and agents far busier than the
//! worst-case `hard` mode, and the opt-in `posterior` mode busier still (the benchmark suite's
//! `h10` rows; `scenarios/bench/README.md`).

use pacer_sim::scenario;
use pacer_sim::world::{RunOptions, run};

fn busy_and_abandon(mode: &str, seed: u64) -> (f64, f64) {
    let path = scenario::resolve("bench/n0050-h10-t60").expect("bench scenario");
    let sets = vec![
        // Twenty minutes keep the test fast; the shift starts with an empty window, the
        // governor's hardest part.
        "duration_s=1200".to_string(),
        "records.count=20000".to_string(),
        format!("pacing.settings.compliance_mode={mode}"),
    ];
    let s = scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
    let outcome = run(&s, &RunOptions { seed, ..RunOptions::default() }).unwrap();
    assert!(outcome.violation.is_none(), "{mode}: {:?}", outcome.violation);
    (outcome.report.busy_factor, outcome.report.abandon_rate)
}

#[test]
fn confidence_mode_holds_the_cap_without_idling_agents() {
    for seed in [1, 2] {
        let (hard_busy, hard_abandon) = busy_and_abandon("hard", seed);
        let (busy, abandon) = busy_and_abandon("confidence", seed);
        assert!(hard_abandon <= 0.03 && abandon <= 0.03, "seed {seed}: {hard_abandon} {abandon}");
        assert!(busy >= hard_busy + 0.2, "seed {seed}: busy {busy:.3} vs hard {hard_busy:.3}");
    }
}

#[test]
fn posterior_mode_keeps_ten_agents_busier_at_a_hit_ratio_of_a_tenth() {
    // The whole hour of `n0010-h10-t60` without its shift (so no credit for the answers to
    // come), where `confidence` binds all along (a budget of a few abandons): the
    // beta-binomial tail lets agents work more and still holds the cap.
    let gain = mean_gain(
        ["pacing.settings.shift_length=0", "pacing.settings.compliance_mode=confidence"],
        ["pacing.settings.shift_length=0", "pacing.settings.compliance_mode=posterior"],
    );
    assert!(gain >= 0.03, "mean gain {gain:.3}");
}

#[test]
fn the_rest_of_the_shift_keeps_ten_agents_busier_at_a_hit_ratio_of_a_tenth() {
    // The same hour told its shift: the answers still to come count towards the cap, so the
    // first minutes are not paced as if the window had to stay under it on its own.
    let gain = mean_gain(
        ["pacing.settings.shift_length=0", "pacing.settings.compliance_mode=confidence"],
        ["pacing.settings.shift_length=3600", "pacing.settings.compliance_mode=confidence"],
    );
    assert!(gain >= 0.02, "mean gain {gain:.3}");
}

/// The mean busy-factor gain of `better` over `base` on `n0010-h10-t60`, seeds 1 to 3, each
/// run of `better` at or under the cap.
fn mean_gain(base: [&str; 2], better: [&str; 2]) -> f64 {
    let path = scenario::resolve("bench/n0010-h10-t60").expect("bench scenario");
    let busy_and_abandon = |sets: [&str; 2], seed: u64| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let s = scenario::load(&path, &sets).unwrap_or_else(|e| panic!("{e}"));
        let outcome = run(&s, &RunOptions { seed, ..RunOptions::default() }).unwrap();
        assert!(outcome.violation.is_none(), "{sets:?}: {:?}", outcome.violation);
        (outcome.report.busy_factor, outcome.report.abandon_rate)
    };
    let (mut gain, seeds) = (0.0, [1, 2, 3]);
    for seed in seeds {
        let (before, _) = busy_and_abandon(base, seed);
        let (after, abandon) = busy_and_abandon(better, seed);
        assert!(abandon <= 0.03, "seed {seed}: {abandon}");
        gain += (after - before) / seeds.len() as f64;
    }
    gain
}
