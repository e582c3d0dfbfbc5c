//! `bench ledger`: append throughput, and the time to produce and verify proofs in large logs.

use std::time::Instant;

use clap::Args;
use rand::RngExt;

use hanoinet_ledger::entry::Event;
use hanoinet_ledger::tree::Plan;
use hanoinet_ledger::{Entry, verify};
use hanoinet_node::ops::ledger::{NodeCache, fetch_nodes};
use hanoinet_store::Store;
use hanoinet_store::testing::{Backend, TestDb};

use super::bench::BackendArg;

#[derive(Debug, Args)]
pub struct LedgerBenchArgs {
    /// Log sizes at which to measure proofs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    pub sizes: Vec<u64>,
    /// Entries appended in the batched-append measurement.
    #[arg(long, default_value_t = 200_000)]
    pub batched: usize,
    /// Entries appended one per transaction.
    #[arg(long, default_value_t = 5_000)]
    pub single: usize,
    /// Proofs produced per measurement.
    #[arg(long, default_value_t = 1000)]
    pub proofs: usize,
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendArg,
}

/// A realistic entry (~250 bytes): a request created, with its commitments.
fn entry(i: u64) -> Vec<u8> {
    Entry::new(
        Event::RequestCreated.as_str(),
        jiff::Timestamp::UNIX_EPOCH,
        "VNM/247",
        "user:01a20000-0000-7000-8000-000000000001".into(),
        format!("request:01a20000-0000-7000-8000-{i:012}"),
    )
    .attr("type", "preservation")
    .attr("peer", "FRA/247")
    .attr("envelope", format!("01a20000-0000-7000-9000-{i:012}"))
    .attr(
        "envelope_hash",
        hex::encode(hanoinet_protocol::sha256(&i.to_be_bytes())),
    )
    .attr("fields", Entry::commitment(&i.to_le_bytes()))
    .encode()
}

const BATCH: u64 = 20_000;

async fn grow(store: &Store, to: u64) -> anyhow::Result<()> {
    let mut size = store.ledger_size().await?;
    let start = Instant::now();
    while size < to {
        let n = BATCH.min(to - size);
        let batch: Vec<Vec<u8>> = (size..size + n).map(entry).collect();
        store.append_ledger(&batch).await?;
        store.integrate(n as i64).await?;
        size += n;
        if size % 1_000_000 == 0 || size == to {
            eprint!(
                "\r  log at {size} entries ({:.0} entries/s)   ",
                size as f64 / start.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
    eprintln!();
    Ok(())
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let p99 = v
        .get(((v.len() as f64 - 1.0) * 0.99).round() as usize)
        .copied()
        .unwrap_or(0.0);
    (mean, p99)
}

pub async fn run(a: LedgerBenchArgs) -> anyhow::Result<()> {
    let backends: &[Backend] = match a.backend {
        BackendArg::Sqlite => &[Backend::Sqlite],
        BackendArg::Postgres => &[Backend::Postgres],
        BackendArg::Both => &[Backend::Sqlite, Backend::Postgres],
    };
    for &backend in backends {
        let name = if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        };
        println!(
            "hanoinet bench ledger ({name}), {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );

        // Appends, one entry per transaction (each integrated at once, as a node would).
        let db = TestDb::new(backend, None).await?;
        let store = Store::connect(&db.url).await?;
        let t = Instant::now();
        for i in 0..a.single as u64 {
            store.append_ledger(&[entry(i)]).await?;
        }
        store.integrate(a.single as i64).await?;
        let per_tx = a.single as f64 / t.elapsed().as_secs_f64();
        // Appends batched in one transaction, integrated in batches.
        let t = Instant::now();
        let mut done = 0u64;
        while done < a.batched as u64 {
            let n = BATCH.min(a.batched as u64 - done);
            let batch: Vec<Vec<u8>> = (done..done + n).map(entry).collect();
            store.append_ledger(&batch).await?;
            store.integrate(n as i64).await?;
            done += n;
        }
        let batched = a.batched as f64 / t.elapsed().as_secs_f64();
        println!(
            "{name:<8} append   one entry per transaction: {per_tx:.0} entries/s; batched ({BATCH} per transaction, integrated): {batched:.0} entries/s"
        );
        store.close().await;
        drop(db);

        let db = TestDb::new(backend, None).await?;
        let store = Store::connect(&db.url).await?;
        let mut sizes = a.sizes.clone();
        sizes.sort_unstable();
        for &size in &sizes {
            grow(&store, size).await?;
            let root = Plan::Root { size }
                .compute(&store.ledger_nodes(&Plan::Root { size }.needed()).await?)?[0];
            // The node keeps upper tree levels in memory; the benchmark measures the same path.
            let cache = NodeCache::default();
            let mut rng = rand::rng();
            let (mut inc_times, mut con_times, mut inclusion_cases, mut consistency_cases) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..a.proofs {
                let index = rng.random_range(0..size);
                let t = Instant::now();
                let plan = Plan::Inclusion { index, size };
                let path = plan.compute(&fetch_nodes(&store, &cache, &plan.needed()).await?)?;
                inc_times.push(t.elapsed().as_secs_f64() * 1e3);
                inclusion_cases.push((index, path));

                let first = rng.random_range(1..=size);
                let t = Instant::now();
                let plan = Plan::Consistency {
                    first,
                    second: size,
                };
                let path = plan.compute(&fetch_nodes(&store, &cache, &plan.needed()).await?)?;
                con_times.push(t.elapsed().as_secs_f64() * 1e3);
                let first_root = Plan::Root { size: first }.compute(
                    &store
                        .ledger_nodes(&Plan::Root { size: first }.needed())
                        .await?,
                )?[0];
                consistency_cases.push((first, first_root, path));
            }
            // Verification is pure computation: measure it in a loop.
            let leaves: Vec<Vec<u8>> = inclusion_cases.iter().map(|(i, _)| entry(*i)).collect();
            let t = Instant::now();
            let mut ok = 0usize;
            let rounds = 20;
            for _ in 0..rounds {
                for ((index, path), leaf) in inclusion_cases.iter().zip(&leaves) {
                    ok += usize::from(verify::inclusion(leaf, *index, size, path, &root));
                }
            }
            let inc_verify = (rounds * inclusion_cases.len()) as f64 / t.elapsed().as_secs_f64();
            anyhow::ensure!(
                ok == rounds * inclusion_cases.len(),
                "an inclusion proof did not verify"
            );
            let t = Instant::now();
            let mut ok = 0usize;
            for _ in 0..rounds {
                for (first, first_root, path) in &consistency_cases {
                    ok += usize::from(verify::consistency(*first, first_root, size, &root, path));
                }
            }
            let con_verify = (rounds * consistency_cases.len()) as f64 / t.elapsed().as_secs_f64();
            anyhow::ensure!(
                ok == rounds * consistency_cases.len(),
                "a consistency proof did not verify"
            );
            let (im, ip) = stats(inc_times);
            let (cm, cp) = stats(con_times);
            println!(
                "{name:<8} {size:>9} entries: inclusion proof {im:.3} ms mean, {ip:.3} ms p99; consistency proof {cm:.3} ms mean, {cp:.3} ms p99; verify {inc_verify:.0} inclusion/s, {con_verify:.0} consistency/s"
            );
        }
        store.close().await;
    }
    Ok(())
}
