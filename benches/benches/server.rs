//! Outbound server benchmark.
//!
//! - `server/handle_mixed`: `Server::handle` on a mixed stream of typed desktop requests and
//!   telephony events from 1,000 agents working one predictive campaign group over a
//!   1,000,000-record calling list. Each iteration handles one input: the stream is generated
//!   on the fly from the server's own outputs by a small deterministic world (a third of the
//!   dials answer; answered calls connect, are released, get an UpdateCallCompletionStats and
//!   a RecordProcessed, and the agent goes ready again; a timer every 100 inputs; a
//!   CampaignStatusRequest every 50). When 900,000 records have been dialed the world
//!   starts over on a fresh list, outside the timed part. Only the `handle` call is timed (`iter_custom`, a clock
//!   read either side of it, which adds some 40 ns to every figure); building the next input
//!   and consuming the outputs are the world's work and are not.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use pacer_engine::campaign::CampaignGroupConfig;
use pacer_engine::kv::KvList;
use pacer_engine::protocol::{CallResult, DialMode};
use pacer_engine::records::{CallingList, CustomFieldDef, FieldType, ListFormat, Record, RecordStore};
use pacer_engine::server::{AdminCommand, Dn, Input, Output, Server, ServerConfig, TelephonyEvent};
use pacer_engine::time::Time;

const N_AGENTS: usize = 1_000;
const N_RECORDS: i64 = 1_000_000;
/// Dials after which the world starts over with a fresh list.
const RESET_AFTER_DIALS: u64 = 900_000;

struct World {
    server: Server,
    now: Time,
    pending: VecDeque<Input>,
    out: Vec<Output>,
    dns: Vec<Dn>,
    n: u64,
    dials: u64,
    resets: u32,
}

fn request(kind: &str, dn_records: i64) -> KvList {
    let mut kv = KvList::with_capacity(8);
    kv.set("GSW_AGENT_REQ_TYPE", kind);
    kv.set("GSW_APPLICATION_ID", 101);
    kv.set("GSW_CAMPAIGN_NAME", "Bench");
    kv.set("GSW_CALLING_LIST", "Leads");
    kv.set("GSW_RECORD_HANDLE", dn_records);
    kv.set("GSW_REFERENCE_ID", 7);
    kv
}

impl World {
    fn new() -> World {
        let format = ListFormat {
            custom: vec![
                CustomFieldDef::new("customer_name", FieldType::Varchar, Some("customer_name")),
                CustomFieldDef::new("balance_cents", FieldType::Int, Some("balance_cents")),
            ],
        };
        let mut list = CallingList::new("Leads", format);
        for i in 1..=N_RECORDS {
            let mut record = Record::new(i, &format!("1555{i:07}"), "UTC");
            record.daily_from_s = 0;
            record.daily_till_s = 86_400;
            record.custom = vec![Some("Jane Q. Public".into()), Some(i.into())];
            list.push(record).expect("valid record");
        }
        let mut store = RecordStore::new();
        store.add_list(list).expect("one list");
        let group =
            CampaignGroupConfig::new("Bench@Floor", "Bench", "Floor", &["Leads"], DialMode::Predictive);
        let mut group = group;
        group.options.max_agents = N_AGENTS as u32;
        let server = Server::new(ServerConfig::new(101, vec![group]), store).expect("valid config");
        let mut world = World {
            server,
            now: Time::from_unix_s(1_800_000_000),
            pending: VecDeque::new(),
            out: Vec::with_capacity(64),
            dns: (0..N_AGENTS).map(|a| Dn::new(&format!("{}", 10_000 + a))).collect(),
            n: 0,
            dials: 0,
            resets: 0,
        };
        world.feed(Input::Admin(AdminCommand::Load { group: "Bench@Floor".into() }));
        world.feed(Input::Admin(AdminCommand::Start { group: "Bench@Floor".into() }));
        for a in 0..N_AGENTS {
            let dn = world.dns[a].clone();
            world.feed(Input::Telephony(TelephonyEvent::AgentLogin {
                dn: dn.clone(),
                agent_id: format!("a{a}").into(),
            }));
            world.feed(Input::Telephony(TelephonyEvent::AgentReady { dn }));
        }
        world
    }

    fn feed(&mut self, input: Input) {
        self.server.handle(self.now, input, &mut self.out);
        self.react();
    }

    /// Turns the server's outputs into the world's next inputs.
    fn react(&mut self) {
        for output in self.out.drain(..) {
            match output {
                Output::Dial(dial) => {
                    self.dials += 1;
                    let result = if dial.call.0 % 3 == 0 { CallResult::Answer } else { CallResult::NoAnswer };
                    self.pending
                        .push_back(Input::Telephony(TelephonyEvent::CallResult { call: dial.call, result }));
                }
                Output::Route { call, dn, kv } => {
                    let handle = kv.get_by_name("GSW_RECORD_HANDLE").and_then(|v| v.as_int()).unwrap_or(0);
                    self.pending
                        .push_back(Input::Telephony(TelephonyEvent::CallConnected { call, dn: dn.clone() }));
                    self.pending.push_back(Input::Telephony(TelephonyEvent::CallReleased { call }));
                    let mut update = request("UpdateCallCompletionStats", handle);
                    update.set("GSW_CALL_RESULT", 33);
                    update.set("balance_cents", 500);
                    self.pending.push_back(Input::Desktop { dn: dn.clone(), kv: update });
                    self.pending
                        .push_back(Input::Desktop { dn: dn.clone(), kv: request("RecordProcessed", handle) });
                    self.pending.push_back(Input::Telephony(TelephonyEvent::AgentReady { dn }));
                }
                _ => {}
            }
        }
    }

    /// Handles the next input; returns the time `handle` took.
    fn step(&mut self) -> Duration {
        if self.dials >= RESET_AFTER_DIALS {
            // The list is nearly used up: a fresh floor (built outside the timed part), so
            // the measured mix never turns into an idle server's.
            let (n, resets) = (self.n, self.resets + 1);
            *self = World::new();
            (self.n, self.resets) = (n, resets);
        }
        self.n += 1;
        self.now += Duration::from_micros(500);
        let input = if self.n.is_multiple_of(100) {
            Input::Timer
        } else if self.n.is_multiple_of(50) {
            let dn = self.dns[(self.n / 50) as usize % N_AGENTS].clone();
            let mut kv = KvList::with_capacity(3);
            kv.set("GSW_AGENT_REQ_TYPE", "CampaignStatusRequest");
            kv.set("GSW_APPLICATION_ID", 101);
            Input::Desktop { dn, kv }
        } else {
            match self.pending.pop_front() {
                Some(input) => input,
                None => Input::Timer,
            }
        };
        let started = Instant::now();
        self.server.handle(self.now, input, &mut self.out);
        let took = started.elapsed();
        self.react();
        took
    }
}

fn server(c: &mut Criterion) {
    let mut world = World::new();
    let mut group = c.benchmark_group("server");
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("handle_mixed", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| world.step()).sum::<Duration>())
    });
    group.finish();
    black_box(&world.server);
    eprintln!(
        "server/handle_mixed: {} inputs, {} fresh floors, {} dials on the last, {} records held at the end, invariants {:?}",
        world.n,
        world.resets,
        world.dials,
        world.server.records_held(),
        world.server.check_invariants().map(|_| "hold")
    );
}

criterion_group!(benches, server);
criterion_main!(benches);
