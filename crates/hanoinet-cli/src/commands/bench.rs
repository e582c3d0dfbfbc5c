//! `bench delivery`: preservation requests from one node to another on loopback, measured from
//! creation to the stored receipt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use hanoinet_node::provision::network;
use hanoinet_node::{NodeHandle, Tunables};
use hanoinet_store::Durability;
use hanoinet_store::testing::{Backend, TempDir, TestDb};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Throughput and latency of request delivery between two nodes.
    Delivery(BenchArgs),
    /// Ledger append throughput, and proof production and verification at large sizes.
    Ledger(crate::commands::bench_ledger::LedgerBenchArgs),
    /// Server time of the console's inbox and request pages with many requests stored.
    Console(crate::commands::bench_console::ConsoleBenchArgs),
    /// One large attachment through two node processes: upload, transfer, download rates and
    /// the peak memory of each process.
    Evidence(crate::commands::bench_evidence::EvidenceBenchArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Requests in the throughput burst.
    #[arg(long, default_value_t = 5000)]
    pub requests: usize,
    /// Rate of the latency run, requests per second.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// Duration of the latency run, seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Concurrent API clients during the burst.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendArg,
    /// How SQLite commits in the run: `normal` (as before; the demo's), `full` (what `serve`
    /// does by default: one fsync per commit), or `both`, one after the other.
    #[arg(long, value_enum, default_value = "normal")]
    pub sqlite_sync: SyncChoice,
}

/// `--sqlite-sync` of the benchmark.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncChoice {
    Normal,
    Full,
    Both,
}

pub async fn run(c: BenchCommand) -> anyhow::Result<()> {
    crate::init_logging("error");
    let a = match c {
        BenchCommand::Delivery(a) => a,
        BenchCommand::Ledger(a) => return crate::commands::bench_ledger::run(a).await,
        BenchCommand::Console(a) => return crate::commands::bench_console::run(a).await,
        BenchCommand::Evidence(a) => return crate::commands::bench_evidence::run(a).await,
    };
    let backends: &[Backend] = match a.backend {
        BackendArg::Sqlite => &[Backend::Sqlite],
        BackendArg::Postgres => &[Backend::Postgres],
        BackendArg::Both => &[Backend::Sqlite, Backend::Postgres],
    };
    println!(
        "hanoinet bench delivery: {} cores, {} requests burst, {} req/s for {} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        a.requests,
        a.rate,
        a.seconds
    );
    let syncs: &[Durability] = match a.sqlite_sync {
        SyncChoice::Normal => &[Durability::Normal],
        SyncChoice::Full => &[Durability::Full],
        SyncChoice::Both => &[Durability::Normal, Durability::Full],
    };
    for &backend in backends {
        // PostgreSQL keeps its own settings: one run.
        let runs = if backend == Backend::Sqlite {
            syncs
        } else {
            &[Durability::Normal]
        };
        for &durability in runs {
            bench_backend(backend, durability, &a).await?;
        }
    }
    Ok(())
}

pub(crate) struct Pair {
    _tmp: TempDir,
    _dbs: Vec<TestDb>,
    pub(crate) sender: NodeHandle,
    pub(crate) receiver: NodeHandle,
    pub(crate) api: Api,
}

pub(crate) async fn pair(backend: Backend) -> anyhow::Result<Pair> {
    pair_with(backend, Durability::Normal).await
}

/// Two nodes whose SQLite databases commit with `durability`.
pub(crate) async fn pair_with(backend: Backend, durability: Durability) -> anyhow::Result<Pair> {
    let tmp = TempDir::new("bench");
    let local = network::local(tmp.path(), &["VNM/247", "FRA/247"], backend).await?;
    let mut handles = Vec::new();
    for (n, l) in local.file.nodes.iter().zip(local.listeners) {
        handles.push(
            network::start_node_durable(
                n,
                l,
                Tunables::default(),
                Arc::new(hanoinet_core::SystemClock),
                durability,
            )
            .await?,
        );
    }
    let receiver = handles.pop().context("two nodes")?;
    let sender = handles.pop().context("two nodes")?;
    let api = Api {
        url: local.file.nodes[0].api_url.clone(),
        token: local.file.nodes[0].token.clone(),
        to: "FRA/247".into(),
    };
    Ok(Pair {
        _tmp: tmp,
        _dbs: local.databases,
        sender,
        receiver,
        api,
    })
}

fn body(to: &str, i: usize) -> serde_json::Value {
    json!({
        "type": "preservation", "to": to,
        "requesting_authority": "Benchmark Unit",
        "offence": "ICT fraud (Art. 13)",
        "summary_of_facts": format!("Benchmark request {i}"),
        "data_to_preserve": "Subscriber records",
        "relationship_to_offence": "Used in the fraud",
        "custodian_or_location": "unknown",
        "necessity": "Short retention",
        "mla_request_to_follow": true, "offence_category": "ict_theft_or_fraud", "language": "en", "proportionality_justification": "One account, two months of records"
    })
}

/// Waits until `n` request envelopes are delivered; returns their (created, delivered) times.
pub(crate) async fn wait_delivered(
    p: &Pair,
    n: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<(i64, i64)>> {
    let start = Instant::now();
    loop {
        let times = p
            .sender
            .state
            .store
            .delivery_times("preservation_request")
            .await?;
        if times.len() >= n {
            return Ok(times);
        }
        anyhow::ensure!(
            start.elapsed() < timeout,
            "only {} of {n} delivered after {timeout:?}",
            times.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

fn latencies(times: &[(i64, i64)]) -> Vec<i64> {
    let mut l: Vec<i64> = times.iter().map(|(c, d)| d - c).collect();
    l.sort_unstable();
    l
}

async fn bench_backend(
    backend: Backend,
    durability: Durability,
    a: &BenchArgs,
) -> anyhow::Result<()> {
    let name = match (backend, durability) {
        (Backend::Sqlite, Durability::Full) => "sqlite/full",
        (Backend::Sqlite, Durability::Normal) => "sqlite/normal",
        (Backend::Postgres, _) => "postgres",
    };
    // Burst: sustained throughput.
    let p = pair_with(backend, durability).await?;
    let http = reqwest::Client::new();
    for i in 0..50 {
        p.api.post(&http, i).await?;
    }
    wait_delivered(&p, 50, Duration::from_secs(60)).await?;
    let warm = 50;
    let total = a.requests;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..a.clients.max(1) {
        let (http, next, api) = (http.clone(), next.clone(), p.api.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, anyhow::Error>(());
                }
                api.post(&http, i).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let times = wait_delivered(&p, warm + total, Duration::from_secs(600)).await?;
    let mut burst: Vec<(i64, i64)> = times;
    burst.sort_unstable();
    let burst = &burst[warm..];
    let first_created = burst.iter().map(|t| t.0).min().unwrap_or(0);
    let last_delivered = burst.iter().map(|t| t.1).max().unwrap_or(0);
    let secs = (last_delivered - first_created) as f64 / 1e6;
    let l = latencies(burst);
    println!(
        "{name:<13} burst    {total} requests in {secs:.2} s = {:.0} requests/s sustained (created -> receipt stored); latency p50 {:.1} ms, p99 {:.1} ms",
        total as f64 / secs,
        percentile(&l, 50.0),
        percentile(&l, 99.0)
    );
    p.sender.shutdown().await;
    p.receiver.shutdown().await;

    // Paced: latency at a fixed rate.
    let p = pair_with(backend, durability).await?;
    let n = (a.rate * a.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(a.rate.max(1)));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for i in 0..n {
        ticker.tick().await;
        let http = http.clone();
        let api = p.api.clone();
        tasks.push(tokio::spawn(async move { api.post(&http, i).await }));
    }
    for t in tasks {
        t.await??;
    }
    let times = wait_delivered(&p, n, Duration::from_secs(120)).await?;
    let l = latencies(&times);
    println!(
        "{name:<13} paced    {n} requests at {} req/s; latency created -> receipt stored p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        a.rate,
        percentile(&l, 50.0),
        percentile(&l, 99.0),
        percentile(&l, 100.0)
    );
    p.sender.shutdown().await;
    p.receiver.shutdown().await;
    Ok(())
}

/// The sender's API, as the benchmark's clients use it.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) url: String,
    pub(crate) token: String,
    to: String,
}

impl Api {
    pub(crate) async fn post(&self, http: &reqwest::Client, i: usize) -> anyhow::Result<()> {
        let r = http
            .post(format!("{}/api/v1/requests", self.url))
            .bearer_auth(&self.token)
            .json(&body(&self.to, i))
            .send()
            .await?;
        anyhow::ensure!(
            r.status() == reqwest::StatusCode::CREATED,
            "create answered {}",
            r.status()
        );
        Ok(())
    }
}
