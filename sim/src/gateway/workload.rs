//! A steady workload of request lines for the serve-example scenario, used by the gateway's
//! throughput bench: five agents log in, then each cycle of five lines asks for the
//! campaign's status, toggles an agent not ready and ready again (which re-paces the group
//! and may dial), sends a ReadyTime estimate and advances the clock by 10 ms.

/// `n` input lines (the five logins first).
pub fn lines(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for k in 1..=5 {
        out.push(format!(r#"{{"t": 0, "tel": "AgentLogin", "dn": "700{k}", "agent": "100{k}"}}"#));
        out.push(format!(r#"{{"t": 0, "tel": "AgentReady", "dn": "700{k}"}}"#));
    }
    let mut i = 0u64;
    while out.len() < n {
        i += 1;
        let t = i as f64 * 0.01;
        let dn = 7001 + i % 5;
        let line = match i % 5 {
            0 => format!(
                r#"{{"t": {t:.2}, "dn": "{dn}", "kv": {{"GSW_AGENT_REQ_TYPE": "CampaignStatusRequest", "GSW_APPLICATION_ID": 101, "GSW_CAMPAIGN_NAME": "Sales", "GSW_REFERENCE_ID": {i}}}}}"#
            ),
            1 => format!(r#"{{"t": {t:.2}, "tel": "AgentNotReady", "dn": "{dn}"}}"#),
            2 => format!(r#"{{"t": {t:.2}, "tel": "AgentReady", "dn": "{}"}}"#, 7001 + (i - 1) % 5),
            3 => format!(
                r#"{{"t": {t:.2}, "dn": "{dn}", "kv": {{"GSW_AGENT_REQ_TYPE": "ReadyTime", "GSW_APPLICATION_ID": 101, "GSW_RECORD_HANDLE": {i}, "GSW_READY_TIME": 5, "GSW_REFERENCE_ID": {i}}}}}"#
            ),
            _ => format!(r#"{{"t": {t:.2}}}"#),
        };
        out.push(line);
    }
    out.truncate(n);
    out
}
