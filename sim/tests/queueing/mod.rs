//! Closed forms of the M/M/n+M (Erlang A) and M/M/n (Erlang C) queues, shared by the tests
//! that check the simulator against them (`erlang.rs`: the switch model alone;
//! `erlang_scenario.rs`: whole runs of `scenarios/erlang-a.toml` through the engine).

/// Erlang A (Palm 1943; Mandelbaum & Zeltyn, "The Palm/Erlang-A queue", 2007).
///
/// With arrival rate λ, service rate μ per agent, abandonment rate θ per waiting customer and
/// n agents, the number in system is a birth-death process with stationary probabilities
///
/// ```text
///   π_j = π_0 (λ/μ)^j / j!                               for j <= n
///   π_j = π_n ∏_{k=1}^{j-n} λ / (nμ + kθ)                for j >  n
/// ```
///
/// By PASTA an arrival waits with probability P(wait) = Σ_{j>=n} π_j, and abandonments occur at
/// rate θ Σ_{j>n} (j-n) π_j, so P(abandon) = θ Σ_{j>n} (j-n) π_j / λ.
/// The infinite sum is truncated once the terms fall below 1e-16 of the total.
pub fn erlang_a(n: u32, lambda: f64, mu: f64, theta: f64) -> (f64, f64) {
    let mut terms = Vec::new();
    let mut p = 1.0f64;
    terms.push(p);
    for j in 1..=n {
        p *= lambda / (mu * j as f64);
        terms.push(p);
    }
    let mut k = 1u32;
    loop {
        p *= lambda / (n as f64 * mu + k as f64 * theta);
        terms.push(p);
        k += 1;
        if p < 1e-16 * terms.iter().sum::<f64>() || k > 1_000_000 {
            break;
        }
    }
    let total: f64 = terms.iter().sum();
    let p_wait: f64 = terms[n as usize..].iter().sum::<f64>() / total;
    let queued: f64 = terms[n as usize..].iter().enumerate().map(|(q, t)| q as f64 * t).sum::<f64>() / total;
    (p_wait, theta * queued / lambda)
}

/// Erlang C (Erlang 1917): with offered load a = λ/μ < n,
///
/// ```text
///   P(wait) = [a^n / n! · n / (n - a)] / [Σ_{k=0}^{n-1} a^k / k!  +  a^n / n! · n / (n - a)]
/// ```
pub fn erlang_c(n: u32, a: f64) -> f64 {
    let mut term = 1.0f64; // a^k / k!
    let mut below = 0.0;
    for k in 0..n {
        below += term;
        term *= a / (k + 1) as f64;
    }
    let top = term * n as f64 / (n as f64 - a);
    top / (below + top)
}
