//! The simulator's queue and switch against closed-form queueing results.
//!
//! The full outbound loop cannot reduce to a textbook queue: the engine decides when to dial,
//! so arrivals of answered calls are not Poisson, and in the outbound world the engine itself
//! picks the agent (the world's switch only checks that the agent it names is ready). These
//! tests therefore drive the world's switch model directly
//! ([`pacer_sim::world::switch::Switch`]: its longest-idle agent selection and first-come
//! first-served call queue) with the event queue ([`pacer_sim::queue::EventQueue`]) and the
//! scenario distributions ([`pacer_sim::dist`]) in an inbound configuration: Poisson arrivals
//! of customers, exponential talk times, exponential patience. That is the M/M/n+M (Erlang A)
//! queue, and with infinite patience M/M/n (Erlang C).

use pacer_engine::time::Time;
use pacer_sim::dist::{DistSpec, SimRng};
use pacer_sim::queue::EventQueue;
use pacer_sim::world::switch::Switch;
use rand::SeedableRng;

mod queueing;
use queueing::{erlang_a, erlang_c};

#[derive(Clone, Copy)]
enum Ev {
    Arrival,
    ServiceEnd(u32),
    PatienceEnd(u32),
}

/// Simulates `arrivals` customers after a warm-up; returns (P(wait), P(abandon)).
fn simulate(n: u32, lambda: f64, mu: f64, theta: f64, arrivals: u64, seed: u64) -> (f64, f64) {
    let mut rng = SimRng::seed_from_u64(seed);
    let inter = DistSpec::Exponential { mean_s: 1.0 / lambda }.build().unwrap();
    let service = DistSpec::Exponential { mean_s: 1.0 / mu }.build().unwrap();
    let patience = (theta > 0.0).then(|| DistSpec::Exponential { mean_s: 1.0 / theta }.build().unwrap());
    let mut queue = EventQueue::new();
    let mut switch: Switch<u32> = Switch::new(n as usize);
    for agent in 0..n {
        switch.agent_ready(agent);
    }
    // Per call: still waiting for an agent?
    let mut waiting: Vec<bool> = Vec::new();
    let warmup = arrivals / 10;
    let (mut seen, mut waited, mut abandoned) = (0u64, 0u64, 0u64);
    queue.push(Time::EPOCH, Ev::Arrival);
    while let Some((now, ev)) = queue.pop() {
        match ev {
            Ev::Arrival => {
                let call = waiting.len() as u32;
                let counted = call as u64 >= warmup;
                if call as u64 >= warmup + arrivals {
                    break;
                }
                queue.push(now + inter.sample(&mut rng), Ev::Arrival);
                seen += counted as u64;
                match switch.take_longest_idle() {
                    Some(agent) => {
                        waiting.push(false);
                        queue.push(now + service.sample(&mut rng), Ev::ServiceEnd(agent));
                    }
                    None => {
                        waited += counted as u64;
                        waiting.push(true);
                        switch.enqueue_call(call);
                        if let Some(p) = &patience {
                            queue.push(now + p.sample(&mut rng), Ev::PatienceEnd(call));
                        }
                    }
                }
            }
            Ev::ServiceEnd(agent) => match switch.take_waiting_call(|c| waiting[c as usize]) {
                Some(call) => {
                    waiting[call as usize] = false;
                    queue.push(now + service.sample(&mut rng), Ev::ServiceEnd(agent));
                }
                None => switch.agent_ready(agent),
            },
            Ev::PatienceEnd(call) => {
                if waiting[call as usize] {
                    waiting[call as usize] = false;
                    abandoned += (call as u64 >= warmup) as u64;
                }
            }
        }
    }
    (waited as f64 / seen as f64, abandoned as f64 / seen as f64)
}

fn assert_close(what: &str, simulated: f64, exact: f64) {
    let relative = (simulated - exact).abs() / exact;
    assert!(
        relative < 0.02,
        "{what}: simulated {simulated:.5} vs closed form {exact:.5} ({:.2}% off)",
        relative * 100.0
    );
}

#[test]
fn erlang_a_abandon_and_wait_probabilities() {
    // (agents, offered load λ/μ, θ/μ): under, at and over capacity, patient and impatient.
    for (i, &(n, load, theta)) in [(10u32, 9.0, 0.5), (30, 30.0, 1.0), (5, 5.5, 0.25)].iter().enumerate() {
        let mu = 1.0 / 60.0; // one-minute calls
        let (p_wait, p_abandon) = erlang_a(n, load * mu, mu, theta * mu);
        let (sim_wait, sim_abandon) = simulate(n, load * mu, mu, theta * mu, 1_000_000, 17 + i as u64);
        eprintln!(
            "n={n} load={load} θ/μ={theta}: P(wait) {sim_wait:.5} vs {p_wait:.5}, P(abandon) {sim_abandon:.5} vs {p_abandon:.5}"
        );
        assert_close(&format!("P(wait) n={n} load={load} θ/μ={theta}"), sim_wait, p_wait);
        assert_close(&format!("P(abandon) n={n} load={load} θ/μ={theta}"), sim_abandon, p_abandon);
    }
}

#[test]
fn erlang_c_wait_probability_with_infinite_patience() {
    for (i, &(n, load)) in [(10u32, 8.0), (25, 22.0)].iter().enumerate() {
        let mu = 1.0 / 120.0;
        let exact = erlang_c(n, load);
        // Erlang A tends to Erlang C as θ -> 0: the two closed forms agree.
        assert!((erlang_a(n, load * mu, mu, 1e-12).0 - exact).abs() < 1e-6);
        let (sim_wait, sim_abandon) = simulate(n, load * mu, mu, 0.0, 800_000, 41 + i as u64);
        eprintln!("n={n} load={load}: P(wait) {sim_wait:.5} vs {exact:.5}");
        assert_eq!(sim_abandon, 0.0);
        assert_close(&format!("P(wait) n={n} load={load}"), sim_wait, exact);
    }
}

#[test]
fn closed_forms_match_textbook_values() {
    // Erlang C, 10 agents at 8 erlangs: 0.409 (standard tables).
    assert!((erlang_c(10, 8.0) - 0.4092).abs() < 1e-3, "{}", erlang_c(10, 8.0));
    // One agent, infinite patience: P(wait) = utilisation.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
}
