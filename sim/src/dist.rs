//! Random durations and choices: the distributions a scenario names, and the run's generator.
//!
//! Every random draw of a run comes from one [`SimRng`] seeded from the run's seed, so the same
//! scenario and seed give the same run. Continuous distributions are statrs's (which sample
//! through rand's `Distribution`); the empirical one picks uniformly among observed values.

use std::time::Duration;

use rand::Rng;
use rand::distributions::Distribution;
use serde::Deserialize;
use statrs::distribution::{Exp, Gamma, LogNormal};

/// The generator of a run: PCG-64 with a multiplicative congruential step (O'Neill 2014),
/// fast, small, and reproducible across platforms.
pub type SimRng = rand_pcg::Pcg64Mcg;

/// A distribution of durations as written in a scenario, in seconds.
///
/// ```toml
/// talk = { kind = "lognormal", mean_s = 180.0, sd_s = 90.0 }
/// acw = { kind = "exponential", mean_s = 20.0 }
/// ring = { kind = "gamma", mean_s = 12.0, shape = 4.0 }
/// hold = { kind = "empirical", values_s = [3.0, 5.0, 8.0] }
/// fixed = { kind = "constant", value_s = 2.0 }
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DistSpec {
    /// Log-normal with the given mean and standard deviation of the duration itself.
    Lognormal {
        /// Mean, seconds.
        mean_s: f64,
        /// Standard deviation, seconds.
        sd_s: f64,
    },
    /// Gamma with the given mean and shape (shape 1 is exponential).
    Gamma {
        /// Mean, seconds.
        mean_s: f64,
        /// Shape parameter k.
        shape: f64,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean, seconds.
        mean_s: f64,
    },
    /// Uniform choice among observed durations.
    Empirical {
        /// Observed durations, seconds.
        values_s: Vec<f64>,
    },
    /// Always the same duration.
    Constant {
        /// The duration, seconds.
        value_s: f64,
    },
}

/// A ready-to-sample distribution of durations.
#[derive(Clone, Debug)]
pub enum Dist {
    /// statrs log-normal.
    Lognormal(LogNormal),
    /// statrs gamma.
    Gamma(Gamma),
    /// statrs exponential.
    Exponential(Exp),
    /// Observed values.
    Empirical(Vec<f64>),
    /// A constant.
    Constant(f64),
}

impl DistSpec {
    /// Checks the parameters and builds the sampler; the error says which parameter is wrong.
    pub fn build(&self) -> Result<Dist, String> {
        fn positive(name: &str, value: f64) -> Result<f64, String> {
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(format!("{name} must be > 0, got {}", crate::scenario::number(value)))
            }
        }
        match *self {
            DistSpec::Lognormal { mean_s, sd_s } => {
                let mean = positive("mean_s", mean_s)?;
                let sd = positive("sd_s", sd_s)?;
                // Moments of the log-normal: mean = exp(mu + s^2/2), var = (exp(s^2) - 1) mean^2.
                let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                LogNormal::new(mu, sigma2.sqrt()).map(Dist::Lognormal).map_err(|e| e.to_string())
            }
            DistSpec::Gamma { mean_s, shape } => {
                let mean = positive("mean_s", mean_s)?;
                let k = positive("shape", shape)?;
                // Mean of Gamma(k, rate) is k / rate.
                Gamma::new(k, k / mean).map(Dist::Gamma).map_err(|e| e.to_string())
            }
            DistSpec::Exponential { mean_s } => {
                Exp::new(1.0 / positive("mean_s", mean_s)?).map(Dist::Exponential).map_err(|e| e.to_string())
            }
            DistSpec::Empirical { ref values_s } => {
                if values_s.is_empty() {
                    return Err("values_s must not be empty".into());
                }
                for &v in values_s {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(format!("values_s must be >= 0, got {}", crate::scenario::number(v)));
                    }
                }
                Ok(Dist::Empirical(values_s.clone()))
            }
            DistSpec::Constant { value_s } => {
                if value_s.is_finite() && value_s >= 0.0 {
                    Ok(Dist::Constant(value_s))
                } else {
                    Err(format!("value_s must be >= 0, got {}", crate::scenario::number(value_s)))
                }
            }
        }
    }

    /// The distribution's mean, seconds.
    pub fn mean_s(&self) -> f64 {
        match self {
            DistSpec::Lognormal { mean_s, .. }
            | DistSpec::Gamma { mean_s, .. }
            | DistSpec::Exponential { mean_s } => *mean_s,
            DistSpec::Empirical { values_s } => values_s.iter().sum::<f64>() / values_s.len().max(1) as f64,
            DistSpec::Constant { value_s } => *value_s,
        }
    }
}

impl Dist {
    /// One draw, seconds.
    pub fn sample_s(&self, rng: &mut SimRng) -> f64 {
        match self {
            Dist::Lognormal(d) => d.sample(rng),
            Dist::Gamma(d) => d.sample(rng),
            Dist::Exponential(d) => d.sample(rng),
            Dist::Empirical(values) => values[rng.gen_range(0..values.len())],
            Dist::Constant(v) => *v,
        }
    }

    /// One draw as a duration (microsecond resolution, capped at a day).
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        Duration::from_micros((self.sample_s(rng).clamp(0.0, 86_400.0) * 1e6) as u64)
    }
}

/// A Bernoulli trial with probability `p` (values outside [0, 1] clamp).
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rng.r#gen::<f64>() < p)
}

/// Index drawn with the given weights (which need not sum to 1); `None` when all are zero.
pub fn weighted(rng: &mut SimRng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.r#gen::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if w <= 0.0 {
            continue;
        }
        if x < w {
            return Some(i);
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn mean_and_sd(dist: &Dist, n: usize) -> (f64, f64) {
        let mut rng = SimRng::seed_from_u64(11);
        let xs: Vec<f64> = (0..n).map(|_| dist.sample_s(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn lognormal_has_the_mean_and_sd_asked_for() {
        let d = DistSpec::Lognormal { mean_s: 180.0, sd_s: 90.0 }.build().unwrap();
        let (mean, sd) = mean_and_sd(&d, 200_000);
        assert!((mean - 180.0).abs() < 2.0, "{mean}");
        assert!((sd - 90.0).abs() < 3.0, "{sd}");
    }

    #[test]
    fn gamma_and_exponential_means() {
        let g = DistSpec::Gamma { mean_s: 12.0, shape: 4.0 }.build().unwrap();
        let (mean, sd) = mean_and_sd(&g, 200_000);
        assert!((mean - 12.0).abs() < 0.1, "{mean}");
        assert!((sd - 6.0).abs() < 0.1, "{sd}"); // sd = mean / sqrt(k)
        let e = DistSpec::Exponential { mean_s: 20.0 }.build().unwrap();
        let (mean, sd) = mean_and_sd(&e, 200_000);
        assert!((mean - 20.0).abs() < 0.2 && (sd - 20.0).abs() < 0.3, "{mean} {sd}");
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(DistSpec::Exponential { mean_s: 0.0 }.build().unwrap_err(), "mean_s must be > 0, got 0");
        assert!(DistSpec::Empirical { values_s: vec![] }.build().unwrap_err().contains("values_s"));
        assert!(DistSpec::Gamma { mean_s: 1.0, shape: -1.0 }.build().unwrap_err().contains("shape"));
    }

    #[test]
    fn weighted_choice_follows_weights() {
        let mut rng = SimRng::seed_from_u64(3);
        let mut counts = [0usize; 3];
        for _ in 0..100_000 {
            counts[weighted(&mut rng, &[1.0, 0.0, 3.0]).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 100_000.0;
        assert!((share - 0.75).abs() < 0.01, "{share}");
        assert_eq!(weighted(&mut rng, &[0.0, 0.0]), None);
    }
}
