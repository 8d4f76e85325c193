//! Customers and their records: the calling list generated from a scenario, and what happens
//! when one of its numbers is dialed.
//!
//! A customer's fixed traits (phone type, zone, whether the number has a personalised ring
//! tone, whether it starts on the do-not-call list) are functions of the run's seed and the
//! customer's number, computed by hashing rather than stored: a 10-million-record list costs the
//! world no memory beyond the engine's own copy. Phone numbers encode the number's index
//! (`1` followed by ten digits), so a dial command leads straight back to its customer.

use std::time::Duration;

use compact_str::{CompactString, format_compact};
use pacer_engine::protocol::{CallResult, PhoneType, RecordStatus, RecordType};
use pacer_engine::records::{CallingList, ListFormat, Record, tz};

use crate::dist::{SimRng, chance, weighted};
use crate::scenario::{CustomersSpec, DialerSpec, OutcomeSpec, RecordsSpec};

/// SplitMix64's finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a well-mixed 64-bit hash of a 64-bit input.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from the seed, a number's index and a salt naming the trait.
fn unit(seed: u64, index: u64, salt: u64) -> f64 {
    (mix64(seed ^ mix64(index ^ salt.rotate_left(32))) >> 11) as f64 / (1u64 << 53) as f64
}

const SALT_TYPE: u64 = 1;
const SALT_ZONE: u64 = 2;
const SALT_RINGTONE: u64 = 3;
const SALT_DNC: u64 = 4;
const SALT_CHAIN: u64 = 5;

/// Most records one generated calling list holds: a large population is cut into several
/// lists of the group, so no single list has to grow (and be copied) to millions of records.
pub const LIST_CHUNK: u64 = 1_000_000;

/// Names of the lists a population is cut into: the scenario's list name, then `NAME-2`,
/// `NAME-3`, ...
pub fn list_names(records: &RecordsSpec) -> Vec<String> {
    let n = records.count.div_ceil(LIST_CHUNK).max(1);
    (0..n)
        .map(|i| if i == 0 { records.list.clone() } else { format!("{}-{}", records.list, i + 1) })
        .collect()
}

/// The phone number of customer number `index`.
pub fn phone_of(index: u64) -> CompactString {
    format_compact!("1{index:010}")
}

/// The index encoded in a phone number made by [`phone_of`].
pub fn index_of(phone: &str) -> Option<u64> {
    let digits = phone.strip_prefix('1')?;
    if digits.len() != 10 {
        return None;
    }
    digits.parse().ok()
}

/// The customer behind a phone number: the generated index for numbers made by
/// [`phone_of`], else a hash of the number (for lists loaded from CSV), kept apart from
/// generated indexes by its top bit.
pub fn customer_index(phone: &str) -> u64 {
    index_of(phone).unwrap_or_else(|| {
        // FNV-1a over the bytes, then mixed: stable across platforms and runs.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in phone.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
        mix64(h) | (1 << 63)
    })
}

/// Who picks up an answered call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// A person, who waits for an agent as long as their patience lasts.
    Person,
    /// An answering machine (detected as a person by mistake).
    Machine,
    /// A personalised ring tone that call progress detection took for a voice.
    Music,
}

/// What the dialer will report for one dial, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialPlan {
    /// The result call progress detection reports.
    pub reported: CallResult,
    /// Delay from the dial to the report.
    pub after: Duration,
    /// Who is on the line when the report is a live answer.
    pub party: Party,
}

/// The customer population of a run.
#[derive(Clone, Debug)]
pub struct Population {
    seed: u64,
    records: RecordsSpec,
    customers: CustomersSpec,
    dialer: DialerSpec,
    zone_weights: Vec<f64>,
    zone_names: Vec<CompactString>,
    zone_offsets: Vec<i32>,
}

impl Population {
    /// The population of a scenario under `seed`.
    pub fn new(
        seed: u64,
        records: &RecordsSpec,
        customers: &CustomersSpec,
        dialer: &DialerSpec,
    ) -> Population {
        let zones = if records.time_zones.is_empty() {
            vec![("EST".into(), -18_000, 1.0)]
        } else {
            records
                .time_zones
                .iter()
                .map(|z| {
                    let offset =
                        z.offset_s.or_else(|| tz::zone_by_name(&z.name).map(|t| t.std_offset_s)).unwrap_or(0);
                    (CompactString::from(z.name.as_str()), offset, z.weight)
                })
                .collect()
        };
        Population {
            seed,
            records: records.clone(),
            customers: customers.clone(),
            dialer: dialer.clone(),
            zone_weights: zones.iter().map(|z| z.2).collect(),
            zone_names: zones.iter().map(|z| z.0.clone()).collect(),
            zone_offsets: zones.iter().map(|z| z.1).collect(),
        }
    }

    /// Phone type of number `index`.
    pub fn phone_type(&self, index: u64) -> PhoneType {
        let mix = self.records.phone_types;
        let total = (mix.home + mix.business + mix.mobile).max(f64::MIN_POSITIVE);
        let x = unit(self.seed, index, SALT_TYPE) * total;
        if x < mix.home {
            PhoneType::HomePhone
        } else if x < mix.home + mix.business {
            PhoneType::DirectBusinessPhone
        } else {
            PhoneType::Mobile
        }
    }

    fn zone(&self, index: u64) -> usize {
        let total: f64 = self.zone_weights.iter().sum();
        let mut x = unit(self.seed, index, SALT_ZONE) * total;
        for (i, w) in self.zone_weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        self.zone_weights.len() - 1
    }

    /// True when number `index` plays music instead of ring-back.
    pub fn has_ringtone(&self, index: u64) -> bool {
        unit(self.seed, index, SALT_RINGTONE) < self.customers.personalised_ringtone.0
    }

    /// True when number `index` is on the do-not-call list from the start.
    pub fn preloaded_dnc(&self, index: u64) -> bool {
        unit(self.seed, index, SALT_DNC) < self.records.dnc_share.0
    }

    /// The record for number `index`, in chain `chain_id` at position `chain_n`.
    pub fn record(&self, index: u64, chain_id: i64, chain_n: i32) -> Record {
        let zone = self.zone(index);
        // Built field by field (not `Record::new`, which looks the zone up by name): list
        // generation is the set-up cost of the 10-million-record scenario.
        let mut record = Record {
            record_id: index as i64 + 1,
            phone: phone_of(index),
            phone_type: self.phone_type(index),
            record_type: RecordType::General,
            record_status: RecordStatus::Ready,
            call_result: CallResult::UnknownCallResult,
            attempts: 0,
            dial_sched_time: None,
            call_time: None,
            daily_from_s: self.records.daily_from_s,
            daily_till_s: self.records.daily_till_s,
            tz_name: self.zone_names[zone].clone(),
            tz_offset_s: self.zone_offsets[zone],
            agent_id: None,
            chain_id,
            chain_n,
            customer_id: self.records.customer_ids.then(|| format_compact!("C{chain_id}")),
            switch_dbid: None,
            custom: Vec::new(),
        };
        // A number on the do-not-call list from the start is marked in the list, as a list
        // imported after a do-not-call scrub would be.
        if self.preloaded_dnc(index) {
            record.record_type = RecordType::NoCall;
            record.call_result = CallResult::DoNotCall;
        }
        record
    }

    /// The calling lists: `count` numbers in chains of 1..=chain_max numbers (one customer
    /// per chain, sharing the zone of the chain's first number), cut into lists of at most
    /// [`LIST_CHUNK`] records named by [`list_names`].
    pub fn calling_lists(&self) -> impl Iterator<Item = CallingList> + '_ {
        let names = list_names(&self.records);
        let count = self.records.count;
        let chain_max = u64::from(self.records.chain_max.max(1));
        let mut index = 0u64;
        names.into_iter().map(move |name| {
            // A chunk ends at a chain boundary; the last one takes the rest.
            let chunk_end = (index + LIST_CHUNK).min(count);
            let mut list = CallingList::new(&name, ListFormat::default());
            while index < chunk_end {
                let len = 1 + (unit(self.seed, index, SALT_CHAIN) * chain_max as f64) as u64;
                let chain_id = index as i64 + 1;
                let first_zone = self.zone(index);
                for n in 0..len.min(count - index) {
                    let mut record = self.record(index + n, chain_id, n as i32);
                    record.tz_name = self.zone_names[first_zone].clone();
                    record.tz_offset_s = self.zone_offsets[first_zone];
                    list.push(record).expect("generated records are unique and valid");
                }
                index += len;
            }
            if index >= count {
                index = count;
            }
            list
        })
    }

    /// All the numbers in one list (see [`Population::calling_lists`]); for small lists.
    pub fn calling_list(&self) -> CallingList {
        let mut list = CallingList::new(&self.records.list, ListFormat::default());
        let count = self.records.count;
        let chain_max = u64::from(self.records.chain_max.max(1));
        let mut index = 0u64;
        while index < count {
            let len = 1 + (unit(self.seed, index, SALT_CHAIN) * chain_max as f64) as u64;
            let chain_id = index as i64 + 1;
            let first_zone = self.zone(index);
            for n in 0..len.min(count - index) {
                let mut record = self.record(index + n, chain_id, n as i32);
                record.tz_name = self.zone_names[first_zone].clone();
                record.tz_offset_s = self.zone_offsets[first_zone];
                list.push(record).expect("generated records are unique and valid");
            }
            index += len;
        }
        list
    }

    fn outcome_spec(&self, phone_type: PhoneType) -> &OutcomeSpec {
        let o = &self.customers.outcomes;
        match phone_type {
            PhoneType::HomePhone => &o.home,
            PhoneType::Mobile => &o.mobile,
            _ => &o.business,
        }
    }

    /// What the dial of number `index` (of `phone_type`) placed `elapsed_s` seconds into the
    /// run gives (the live-answer probability follows `customers.answer_profile`).
    pub fn plan_dial(&self, index: u64, phone_type: PhoneType, elapsed_s: f64, rng: &mut SimRng) -> DialPlan {
        let o = self.outcome_spec(phone_type);
        let answer = o.answer.0 * self.customers.answer_factor(elapsed_s);
        let no_answer = (1.0 - answer - o.busy.0 - o.machine.0 - o.fax.0 - o.sit.0).max(0.0);
        let which = weighted(rng, &[answer, o.machine.0, o.fax.0, o.busy.0, o.sit.0, no_answer]).unwrap_or(5);
        let cpd = Duration::from_secs_f64(self.dialer.cpd_s.max(0.0));
        let answered_after = |rng: &mut SimRng| self.customers.ring.dist.sample(rng) + cpd;
        let plan = |reported, after, party| DialPlan { reported, after, party };
        match which {
            0 => {
                let after = answered_after(rng);
                if chance(rng, self.dialer.amd_false_positive.0) {
                    plan(CallResult::AnsweringMachineDetected, after, Party::Person)
                } else {
                    plan(CallResult::Answer, after, Party::Person)
                }
            }
            1 => {
                let after = answered_after(rng);
                if chance(rng, self.dialer.amd_false_negative.0) {
                    plan(CallResult::Answer, after, Party::Machine)
                } else {
                    plan(CallResult::AnsweringMachineDetected, after, Party::Machine)
                }
            }
            2 => plan(CallResult::FaxDetected, answered_after(rng), Party::Machine),
            3 => plan(CallResult::Busy, self.dialer.result_delay.dist.sample(rng), Party::Person),
            4 => plan(CallResult::SitInvalidNum, self.dialer.result_delay.dist.sample(rng), Party::Person),
            _ => {
                if self.has_ringtone(index) && chance(rng, self.dialer.ringtone_misread.0) {
                    plan(CallResult::Answer, answered_after(rng), Party::Music)
                } else {
                    plan(
                        CallResult::NoAnswer,
                        Duration::from_secs_f64(self.customers.no_answer_s.max(0.0)),
                        Party::Person,
                    )
                }
            }
        }
    }

    /// How long an answered person waits for an agent; `None` for ever (or not a person).
    pub fn patience(&self, party: Party, rng: &mut SimRng) -> Option<Duration> {
        match party {
            Party::Person => self.customers.patience.as_ref().map(|p| p.dist.sample(rng)),
            Party::Machine | Party::Music => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use rand::SeedableRng;

    const TEXT: &str = r#"
name = "t"
description = "t"
duration_s = 60
[group]
campaign = "S"
agent_group = "A"
dial_mode = "Predictive"
[pacing]
algorithm = "predictive"
goal = { overdial_rate = 0.03 }
[agents]
count = 1
talk = { kind = "constant", value_s = 1 }
acw = { kind = "constant", value_s = 1 }
[records]
count = 1000
chain_max = 3
dnc_share = 0.1
time_zones = [{ name = "EST", weight = 1 }, { name = "PST", weight = 1 }]
[customers]
ring = { kind = "constant", value_s = 10 }
personalised_ringtone = 0.2
[customers.outcomes]
home = { answer = 0.5, busy = 0.5 }
business = { answer = 0.5, busy = 0.5 }
mobile = { answer = 0.5, busy = 0.5 }
[dialer]
ringtone_misread = 1.0
amd_false_positive = 0.1
"#;

    fn population() -> Population {
        let s = parse(TEXT, "t", &[]).unwrap();
        Population::new(5, &s.records, &s.customers, &s.dialer)
    }

    #[test]
    fn phone_numbers_round_trip() {
        assert_eq!(phone_of(42), "10000000042");
        assert_eq!(index_of(&phone_of(9_999_999_999)), Some(9_999_999_999));
        assert_eq!(index_of("5551234"), None);
    }

    #[test]
    fn list_has_every_number_once_in_chains() {
        let p = population();
        let list = p.calling_list();
        assert_eq!(list.len(), 1000);
        let lists: Vec<CallingList> = p.calling_lists().collect();
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].records(), list.records());
        let records = list.records();
        for (i, r) in records.iter().enumerate() {
            assert_eq!(index_of(&r.phone), Some(i as u64));
            if r.chain_n > 0 {
                let prev = &records[i - 1];
                assert_eq!(
                    (prev.chain_id, prev.chain_n + 1, &prev.tz_name),
                    (r.chain_id, r.chain_n, &r.tz_name)
                );
            }
        }
        assert!(records.iter().any(|r| r.chain_n == 2));
        assert!(records.iter().any(|r| r.tz_offset_s == -28_800));
        let dnc = (0..1000).filter(|&i| p.preloaded_dnc(i)).count();
        assert!((60..140).contains(&dnc), "{dnc}");
    }

    #[test]
    fn dial_outcomes_follow_the_probabilities() {
        let p = population();
        let mut rng = SimRng::seed_from_u64(1);
        let (mut answer, mut amd, mut busy) = (0, 0, 0);
        for i in 0..20_000 {
            let plan = p.plan_dial(i, PhoneType::HomePhone, 0.0, &mut rng);
            match plan.reported {
                CallResult::Answer => {
                    answer += 1;
                    assert_eq!(plan.after, Duration::from_millis(10_500));
                }
                CallResult::AnsweringMachineDetected => amd += 1,
                CallResult::Busy => busy += 1,
                other => panic!("{other:?}"),
            }
        }
        // Half answer; a tenth of those are misread as machines.
        assert!((answer as f64 / 20_000.0 - 0.45).abs() < 0.015, "{answer}");
        assert!((amd as f64 / 20_000.0 - 0.05).abs() < 0.01, "{amd}");
        assert!((busy as f64 / 20_000.0 - 0.5).abs() < 0.015, "{busy}");
    }

    #[test]
    fn the_answer_profile_moves_live_answers_to_and_from_no_answer() {
        let s =
            parse(TEXT, "t", &["customers.answer_profile=[{ from_s = 100, factor = 0.4 }]".into()]).unwrap();
        let p = Population::new(5, &s.records, &s.customers, &s.dialer);
        let mut rng = SimRng::seed_from_u64(1);
        let share = |elapsed_s: f64, rng: &mut SimRng| {
            let plans: Vec<DialPlan> =
                (0..20_000).map(|i| p.plan_dial(i, PhoneType::HomePhone, elapsed_s, rng)).collect();
            let n = |f: &dyn Fn(&DialPlan) -> bool| plans.iter().filter(|x| f(x)).count() as f64 / 20_000.0;
            let person_answered = |x: &DialPlan| {
                x.party == Party::Person
                    && matches!(x.reported, CallResult::Answer | CallResult::AnsweringMachineDetected)
            };
            (n(&person_answered), n(&|x| x.reported == CallResult::Busy))
        };
        // Before the step: half are answered by a person (as above); after it a fifth, and busy
        // is unchanged: the other 0.3 ring out (some misread as voices, by a machine or a
        // ring tone, which are not people).
        let (before, busy_before) = share(99.0, &mut rng);
        let (after, busy_after) = share(100.0, &mut rng);
        assert!((before - 0.5).abs() < 0.015 && (after - 0.2).abs() < 0.015, "{before} {after}");
        assert!((busy_before - 0.5).abs() < 0.015 && (busy_after - 0.5).abs() < 0.015);
    }
}
