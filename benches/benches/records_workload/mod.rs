//! The calling list the `records/*` benches and the `records_load` example use: a generated
//! CSV with every mandatory column and four custom fields, shaped like a real outbound list.

use std::io::Write;
use std::path::Path;

/// Custom columns of the generated list: header tags as `CallingList::read_csv` reads them.
const CUSTOM_HEADER: &str =
    "customer_name:VARCHAR:customer_name,balance_cents:INT:balance_cents,tier:CHAR:tier,notes";

/// Zones the generated records are spread over (North America and Europe).
const ZONES: &[&str] = &["EST", "CST", "MST", "PST", "CET", "WET"];

/// Writes an `n`-row calling list to `path`. Deterministic: the same `n` gives the same
/// bytes. Records come in chains of one to three numbers; about one in twenty is a
/// rescheduled record with a `dial_sched_time`, one in fifty a callback.
pub fn write_list(path: &Path, n: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "record_id,contact_info,contact_info_type,record_type,record_status,call_result,attempts,\
         dial_sched_time,call_time,daily_from,daily_till,tz_name,agent_id,chain_id,chain_n,customer_id,{CUSTOM_HEADER}"
    )?;
    // A small linear congruential generator (Knuth's MMIX constants) keeps the file
    // reproducible without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut chain_id = 0u64;
    let mut chain_left = 0u64;
    let mut chain_n = 0u64;
    for i in 1..=n as u64 {
        if chain_left == 0 {
            chain_id += 1;
            chain_left = 1 + next() % 3;
            chain_n = 0;
        }
        let r = next();
        let zone = ZONES[(r % ZONES.len() as u64) as usize];
        let (record_type, sched) = match r % 100 {
            0..=4 => (3, format!("{}", 1_800_000_000 + r % 200_000)),
            5..=6 => (6, format!("{}", 1_800_000_000 + r % 200_000)),
            _ => (2, String::new()),
        };
        let attempts = r % 4;
        let call_time = if attempts > 0 { format!("{}", 1_799_900_000 + r % 90_000) } else { String::new() };
        writeln!(
            out,
            "{i},+1416{phone:07},{ptype},{record_type},1,28,{attempts},{sched},{call_time},{from},{till},{zone},,\
             {chain_id},{chain_n},CUST{chain_id:08},Customer {chain_id},{balance},{tier},{notes}",
            phone = (r * 7919) % 10_000_000,
            ptype = 1 + r % 4,
            from = 28_800 + (r % 4) * 1800,
            till = 64_800 + (r % 3) * 3600,
            balance = (r % 5_000_000) as i64 - 1_000_000,
            tier = ["gold", "silver", "bronze"][(r % 3) as usize],
            notes = if r % 10 == 0 { "\"called back, asked for \"\"Sam\"\"\"" } else { "" },
        )?;
        chain_left -= 1;
        chain_n += 1;
    }
    out.flush()
}
