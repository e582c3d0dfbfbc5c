//! What `GET /metrics` reports, in the Prometheus text exposition format (version 0.0.4):
//! counters and a histogram this process keeps, and gauges read from the database when scraped.
//! Labels carry node ids, route templates, status codes and error codes, never case content.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the delivery latency histogram's buckets.
const LATENCY_BOUNDS: [f64; 14] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0,
];

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    delivery_failures: Mutex<BTreeMap<(String, String), u64>>,
    rejected: Mutex<BTreeMap<(String, &'static str), u64>>,
    delivered: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS.len()],
    latency_sum_micros: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(key)
        .or_insert(0) += 1;
}

impl Metrics {
    /// One HTTP request answered: its route template (`/api/v1/requests/{id}`), method, status.
    pub fn http_request(&self, route: &str, method: &str, status: u16) {
        bump(&self.http, (route.to_owned(), method.to_owned(), status));
    }

    /// A delivery attempt to `peer` failed, for reason `code`.
    pub fn delivery_failed(&self, peer: &str, code: &str) {
        bump(&self.delivery_failures, (peer.to_owned(), code.to_owned()));
    }

    /// An envelope from `sender` was refused with `code`.
    pub fn envelope_rejected(&self, sender: &str, code: &'static str) {
        bump(&self.rejected, (sender.to_owned(), code));
    }

    /// An envelope was delivered `latency` after it was queued.
    pub fn delivered(&self, latency: std::time::Duration) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let secs = latency.as_secs_f64();
        for (b, bound) in self.latency_buckets.iter().zip(LATENCY_BOUNDS) {
            if secs <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// A label value, escaped as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// What the exposition says besides the counters: read from the node and its database when
/// scraped.
#[derive(Debug)]
pub struct Snapshot {
    pub node: String,
    pub registry_serial: u64,
    /// Every peer in the registry (a backlog of 0 is reported too).
    pub peers: Vec<String>,
    pub gauges: hanoinet_store::Gauges,
    pub outages: Vec<hanoinet_store::PeerOutage>,
    pub now: jiff::Timestamp,
}

/// The whole exposition.
pub fn render(m: &Metrics, s: Snapshot) -> String {
    let Snapshot {
        node,
        registry_serial,
        peers,
        gauges: g,
        outages,
        now,
    } = s;
    let mut out = String::with_capacity(4096);

    header(
        &mut out,
        "hanoinet_build_info",
        "gauge",
        "The build this process runs.",
    );
    let _ = writeln!(
        out,
        "hanoinet_build_info{{node=\"{}\",version=\"{}\",commit=\"{}\"}} 1",
        label(&node),
        label(crate::VERSION),
        label(crate::COMMIT)
    );
    header(
        &mut out,
        "hanoinet_registry_serial",
        "gauge",
        "Serial of the registry in force.",
    );
    let _ = writeln!(out, "hanoinet_registry_serial {registry_serial}");

    header(
        &mut out,
        "hanoinet_outbox_backlog",
        "gauge",
        "Envelopes queued for a peer and not delivered yet.",
    );
    let mut backlog: BTreeMap<String, i64> = peers.into_iter().map(|p| (p, 0)).collect();
    backlog.extend(g.backlog);
    for (peer, n) in &backlog {
        let _ = writeln!(
            out,
            "hanoinet_outbox_backlog{{peer=\"{}\"}} {n}",
            label(peer)
        );
    }
    header(
        &mut out,
        "hanoinet_peer_unreachable_seconds",
        "gauge",
        "How long every delivery to a peer has been failing (peers in an outage only).",
    );
    for o in &outages {
        let _ = writeln!(
            out,
            "hanoinet_peer_unreachable_seconds{{peer=\"{}\"}} {}",
            label(&o.peer),
            now.duration_since(o.failing_since).as_secs_f64().max(0.0)
        );
    }

    header(
        &mut out,
        "hanoinet_delivery_latency_seconds",
        "histogram",
        "Time from queueing an envelope to the peer's receipt.",
    );
    for (b, bound) in m.latency_buckets.iter().zip(LATENCY_BOUNDS) {
        let _ = writeln!(
            out,
            "hanoinet_delivery_latency_seconds_bucket{{le=\"{bound}\"}} {}",
            b.load(Ordering::Relaxed)
        );
    }
    let count = m.delivered.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "hanoinet_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "hanoinet_delivery_latency_seconds_sum {}",
        m.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "hanoinet_delivery_latency_seconds_count {count}");

    header(
        &mut out,
        "hanoinet_delivery_failures_total",
        "counter",
        "Failed delivery attempts, by peer and reason (unreachable, timeout, bad_receipt, not_in_registry, or the peer's error code).",
    );
    for ((peer, code), n) in m
        .delivery_failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(
            out,
            "hanoinet_delivery_failures_total{{peer=\"{}\",code=\"{}\"}} {n}",
            label(peer),
            label(code)
        );
    }
    header(
        &mut out,
        "hanoinet_envelopes_rejected_total",
        "counter",
        "Envelopes this node refused, by claimed sender and error code.",
    );
    for ((sender, code), n) in m
        .rejected
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(
            out,
            "hanoinet_envelopes_rejected_total{{sender=\"{}\",code=\"{code}\"}} {n}",
            label(sender)
        );
    }

    header(
        &mut out,
        "hanoinet_ack_deadlines_pending",
        "gauge",
        "Incoming requests awaiting acknowledgement within their deadline.",
    );
    let _ = writeln!(out, "hanoinet_ack_deadlines_pending {}", g.ack_pending);
    header(
        &mut out,
        "hanoinet_ack_deadlines_missed",
        "gauge",
        "Incoming requests still unacknowledged after their deadline.",
    );
    let _ = writeln!(out, "hanoinet_ack_deadlines_missed {}", g.ack_missed);
    header(
        &mut out,
        "hanoinet_ledger_entries",
        "gauge",
        "Entries in the ledger.",
    );
    let _ = writeln!(out, "hanoinet_ledger_entries {}", g.ledger_size);

    header(
        &mut out,
        "hanoinet_http_requests_total",
        "counter",
        "HTTP requests answered, by route template, method and status.",
    );
    for ((route, method, status), n) in m
        .http
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(
            out,
            "hanoinet_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
            label(route),
            label(method)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative() {
        let m = Metrics::default();
        m.delivered(std::time::Duration::from_millis(30));
        m.delivered(std::time::Duration::from_secs(2));
        let b: Vec<u64> = m
            .latency_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(b[0], 0, "30 ms is above 10 ms");
        assert_eq!(b[1], 1, "30 ms is within 50 ms");
        assert_eq!(b[6], 2, "both are within 2.5 s");
        assert_eq!(m.delivered.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
