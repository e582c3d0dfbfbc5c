//! `bench evidence`: one large attachment from an officer's file to the other side's disk, through
//! two real node processes (`hanoinet serve`, SQLite, `synchronous=FULL` as `serve` defaults):
//! upload (resumable, in segments), the transfer (chunks sealed as they go), the download
//! (streamed), with the rate of each step and the peak resident memory of both nodes and of the
//! client, against their memory at rest. Memory that stays flat while gigabytes pass is the
//! point.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use hanoinet_node::provision::network::{self, NetworkNode, NodeSpec};
use hanoinet_store::testing::{TempDir, free_port};

use crate::commands::evidence::{AttachArgs, DownloadArgs, attach_file, download_file};
use crate::commands::request::Conn;

#[derive(Debug, Args)]
pub struct EvidenceBenchArgs {
    /// Size of the attachment, MiB.
    #[arg(long, default_value_t = 2048)]
    pub size_mib: u64,
    /// Print the figures as one JSON object (for scripts and tests).
    #[arg(long)]
    pub json: bool,
    /// Where to keep the nodes and files (default: a temporary directory, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Resident memory of one process (`/proc/PID/status`), bytes: all of it (`VmRSS`), its peak
/// (`VmHWM`), and the part that is the process's own heap and stacks (`RssAnon`) as against
/// pages of files it maps (`RssFile`: SQLite's memory-mapped reads, which the kernel can drop).
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    rss: u64,
    hwm: u64,
    anon: u64,
    file: u64,
}

fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (this benchmark needs Linux)"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Ok(Memory {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    })
}

/// The highest of each figure seen for each process, sampled every 50 ms while the work runs
/// (`VmHWM` alone cannot tell heap from mapped file pages).
#[derive(Clone, Default)]
struct Sampler(std::sync::Arc<std::sync::Mutex<Vec<Memory>>>);

impl Sampler {
    fn start(pids: Vec<u32>) -> (Self, tokio::task::JoinHandle<()>) {
        let me = Self(std::sync::Arc::new(std::sync::Mutex::new(vec![
            Memory::default();
            pids.len()
        ])));
        let shared = me.clone();
        let task = tokio::spawn(async move {
            loop {
                for (i, pid) in pids.iter().enumerate() {
                    if let Ok(m) = memory(*pid) {
                        let mut all = shared.0.lock().unwrap_or_else(|e| e.into_inner());
                        let p = &mut all[i];
                        p.rss = p.rss.max(m.rss);
                        p.hwm = p.hwm.max(m.hwm);
                        p.anon = p.anon.max(m.anon);
                        p.file = p.file.max(m.file);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        (me, task)
    }

    fn peaks(&self) -> Vec<Memory> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A node process that is killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> anyhow::Result<Served> {
    Ok(Served(
        Command::new(std::env::current_exe()?)
            .args(["serve", "--dir"])
            .arg(dir)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting hanoinet serve")?,
    ))
}

async fn wait_up(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{url} did not come up")
}

async fn call(
    http: &reqwest::Client,
    node: &NetworkNode,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = http
        .request(method, format!("{}{path}", node.api_url))
        .bearer_auth(&node.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
    Ok(v)
}

/// Polls `f` every 100 ms until it holds, for at most `within`.
async fn until(
    within: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{what}: not within {} s", within.as_secs())
}

/// Writes `size` bytes that do not compress (xorshift), in 1 MiB pieces.
fn write_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = usize::try_from(left.min(buf.len() as u64))?;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn footprint(rest: Memory, peak: Memory) -> Value {
    json!({
        "rss_at_rest": rest.rss,
        "rss_peak": peak.hwm,
        "anon_at_rest": rest.anon,
        "anon_peak": peak.anon,
        "file_at_rest": rest.file,
        "file_peak": peak.file,
    })
}

pub async fn run(a: EvidenceBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.size_mib > 0, "--size-mib must be at least 1");
    let size = a.size_mib << 20;
    let tmp = match &a.dir {
        Some(_) => None,
        None => Some(TempDir::new("bench-evidence")),
    };
    let root = match (&a.dir, &tmp) {
        (Some(d), _) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        (None, Some(t)) => t.path().to_owned(),
        (None, None) => unreachable!("a directory or a temporary one"),
    };
    let mut specs = Vec::new();
    for id in ["VNM/247", "FRA/247"] {
        specs.push(NodeSpec {
            id: id.parse()?,
            listen: format!("127.0.0.1:{}", free_port()),
            database: None,
        });
    }
    let net = network::provision(
        &root.join("nodes"),
        &specs,
        network::demo_states(network::today())?,
        true,
    )
    .await?;
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let file = root.join("evidence.img");
    let out = root.join("received.img");
    if !a.json {
        println!(
            "hanoinet bench evidence: {} MiB from FRA/247 to VNM/247, {} cores, SQLite synchronous=FULL",
            a.size_mib,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
    }
    write_file(&file, size)?;
    let servers = [serve(&vnm.dir)?, serve(&fra.dir)?];
    let http = reqwest::Client::new();
    for n in [vnm, fra] {
        wait_up(&http, &n.api_url).await?;
    }
    let mut pids: Vec<u32> = servers.iter().map(|s| s.0.id()).collect();
    pids.push(std::process::id());
    let rest: Vec<Memory> = pids
        .iter()
        .map(|p| memory(*p))
        .collect::<anyhow::Result<_>>()?;
    let (sampler, sampling) = Sampler::start(pids.clone());

    // A request for stored data, accepted by FRA.
    let mut body = hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::StoredData,
        "FRA/247",
        "",
    );
    if let Some(o) = body.as_object_mut() {
        o.remove("follows_request");
    }
    let created = call(
        &http,
        vnm,
        reqwest::Method::POST,
        "/api/v1/requests",
        Some(body),
    )
    .await?;
    let id = created["id"].as_str().context("no request id")?.to_owned();
    until(Duration::from_secs(60), "the request arrives", async || {
        Ok(call(
            &http,
            fra,
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await
        .is_ok_and(|v| v["status"] == "delivered"))
    })
    .await?;
    call(
        &http,
        fra,
        reqwest::Method::POST,
        &format!("/api/v1/requests/{id}/responses"),
        Some(json!({"decision": "accept"})),
    )
    .await?;

    let conn = |n: &NetworkNode| Conn {
        url: n.api_url.clone(),
        token: Some(n.token.clone()),
        token_file: None,
        ca_file: None,
    };
    let started = Instant::now();
    let attachment = attach_file(&AttachArgs {
        conn: conn(fra),
        id: id.clone(),
        file: file.clone(),
        name: Some("evidence.img".into()),
        quiet: a.json,
    })
    .await?;
    let upload = started.elapsed();
    let aid = attachment["id"]
        .as_str()
        .context("no attachment id")?
        .to_owned();
    let sha = attachment["sha256"].as_str().unwrap_or_default().to_owned();

    let started = Instant::now();
    call(
        &http,
        fra,
        reqwest::Method::POST,
        &format!("/api/v1/requests/{id}/data"),
        Some(json!({"conditions": {"purpose": "Benchmark", "use_limitation": "None",
            "retention_until": "2030-01-01", "onward_transfer": "prohibited"}, "attachments": [aid]})),
    )
    .await?;
    let mut received_id = String::new();
    until(
        Duration::from_secs(3600),
        "the transfer arrives",
        async || {
            let v = call(
                &http,
                vnm,
                reqwest::Method::GET,
                &format!("/api/v1/requests/{id}/data"),
                None,
            )
            .await?;
            let a = &v["transfers"][0]["attachments"][0];
            if a["state"] == "corrupt" {
                anyhow::bail!("the attachment arrived corrupt");
            }
            received_id = a["id"].as_str().unwrap_or_default().to_owned();
            Ok(a["state"] == "complete")
        },
    )
    .await?;
    let transfer = started.elapsed();

    let started = Instant::now();
    let downloaded = download_file(&DownloadArgs {
        conn: conn(vnm),
        id: id.clone(),
        attachment: received_id,
        out: out.clone(),
        force: true,
        quiet: a.json,
    })
    .await?;
    let download = started.elapsed();
    anyhow::ensure!(
        downloaded["sha256"] == json!(sha),
        "the download does not hash to the upload's SHA-256"
    );
    // A last sample with the peaks the kernel kept.
    tokio::time::sleep(Duration::from_millis(100)).await;
    sampling.abort();
    let mut peaks = sampler.peaks();
    for (p, pid) in peaks.iter_mut().zip(&pids) {
        let m = memory(*pid)?;
        p.hwm = p.hwm.max(m.hwm);
    }
    drop(servers);

    let rate = |d: Duration| mib(size) / d.as_secs_f64().max(0.001);
    let figures = json!({
        "size_bytes": size,
        "sha256": sha,
        "sha256_matches": true,
        "upload_seconds": upload.as_secs_f64(),
        "transfer_seconds": transfer.as_secs_f64(),
        "download_seconds": download.as_secs_f64(),
        "receiver": footprint(rest[0], peaks[0]),
        "sender": footprint(rest[1], peaks[1]),
        "client": footprint(rest[2], peaks[2]),
    });
    if a.json {
        println!("{figures}");
    } else {
        println!(
            "  upload (hash + resumable upload):  {:>7.1} s  {:>6.1} MiB/s",
            upload.as_secs_f64(),
            rate(upload)
        );
        println!(
            "  transfer (sealed chunks, FRA → VNM, checked): {:>7.1} s  {:>6.1} MiB/s",
            transfer.as_secs_f64(),
            rate(transfer)
        );
        println!(
            "  download (streamed, then checked): {:>7.1} s  {:>6.1} MiB/s",
            download.as_secs_f64(),
            rate(download)
        );
        for (name, r, p) in [
            ("sender FRA/247", rest[1], peaks[1]),
            ("receiver VNM/247", rest[0], peaks[0]),
            ("client (this process)", rest[2], peaks[2]),
        ] {
            println!(
                "  {name:<22} RSS at rest {:>6.1} MiB, peak {:>6.1} MiB ({:+.1} MiB while {} MiB passed; heap {:+.1}, mapped file pages {:+.1})",
                mib(r.rss),
                mib(p.hwm),
                mib(p.hwm) - mib(r.rss),
                a.size_mib,
                mib(p.anon) - mib(r.anon),
                mib(p.file) - mib(r.file),
            );
        }
        println!("  SHA-256 of both ends: {sha}");
    }
    Ok(())
}
