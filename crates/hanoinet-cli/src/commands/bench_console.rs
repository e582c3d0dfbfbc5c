//! `hanoinet bench console`: the server time of the console's pages with many requests stored.
//! Two nodes on loopback; Viet Nam sends `--requests` preservations to France; a France officer
//! signs in to the console and loads the 24/7 inbox and request pages one after another (no
//! concurrency: the time of one page for one officer). Times are measured at the client on
//! loopback, so they include HTTP and rendering, not a browser's layout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use hanoinet_node::ops::signin;
use hanoinet_store::testing::Backend;

use crate::commands::bench::{BackendArg, pair, percentile, wait_delivered};

#[derive(Debug, Args)]
pub struct ConsoleBenchArgs {
    /// Requests stored before the pages are timed.
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    /// Loads of each page timed.
    #[arg(long, default_value_t = 200)]
    pub loads: usize,
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendArg,
}

pub async fn run(a: ConsoleBenchArgs) -> anyhow::Result<()> {
    let backends: &[Backend] = match a.backend {
        BackendArg::Sqlite => &[Backend::Sqlite],
        BackendArg::Postgres => &[Backend::Postgres],
        BackendArg::Both => &[Backend::Sqlite, Backend::Postgres],
    };
    println!(
        "hanoinet bench console: {} cores, {} requests stored, {} loads per page",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        a.requests,
        a.loads
    );
    for &backend in backends {
        bench_backend(backend, &a).await?;
    }
    Ok(())
}

async fn bench_backend(backend: Backend, a: &ConsoleBenchArgs) -> anyhow::Result<()> {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let p = pair(backend).await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (http, next, api, total) = (http.clone(), next.clone(), p.api.clone(), a.requests);
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
    wait_delivered(&p, a.requests, Duration::from_secs(1200)).await?;
    eprintln!(
        "{name}: {} requests stored and delivered in {:.0} s",
        a.requests,
        started.elapsed().as_secs_f64()
    );

    // A France officer signs in.
    let fra = &p.receiver.state;
    let officer = "bench-officer";
    hanoinet_node::provision::network::add_user(
        &fra.store,
        &fra.id,
        officer,
        hanoinet_core::access::Role::Officer,
    )
    .await?;
    let password = "a benchmark password";
    let e = signin::enrol(fra, officer, password, "operator".into()).await?;
    let secret = signin::secret_from_base32(&e.secret_base32)?;
    let base = format!("http://{}", p.receiver.addr);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let code = signin::current_code(&secret, hanoinet_core::Clock::now(&*fra.clock))?;
    let r = browser
        .post(format!("{base}/sign-in"))
        .header(reqwest::header::ORIGIN, &base)
        .form(&[
            ("username", officer),
            ("password", password),
            ("code", &code),
        ])
        .send()
        .await?;
    anyhow::ensure!(r.status() == 303, "sign-in answered {}", r.status());
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let ids: Vec<String> = fra
        .store
        .list_requests(
            Some(hanoinet_core::request::Direction::Incoming),
            hanoinet_store::ListOrder::Newest,
            a.requests as i64,
        )
        .await?
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    anyhow::ensure!(
        ids.len() >= a.requests,
        "only {} requests on France",
        ids.len()
    );

    let time_page = async |what: &str, path: &dyn Fn(usize) -> String| -> anyhow::Result<()> {
        let mut times = Vec::with_capacity(a.loads);
        let mut bytes = 0;
        for i in 0..a.loads {
            let t = Instant::now();
            let r = browser
                .get(format!("{base}{}", path(i)))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await?;
            anyhow::ensure!(r.status() == 200, "{what} answered {}", r.status());
            bytes = r.bytes().await?.len();
            times.push(t.elapsed().as_micros() as i64);
        }
        times.sort_unstable();
        println!(
            "{name:<8} {what:<13} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} bytes of HTML)",
            percentile(&times, 50.0),
            percentile(&times, 99.0),
            percentile(&times, 100.0),
            bytes
        );
        Ok(())
    };
    time_page("inbox", &|_| "/inbox".to_owned()).await?;
    let step = (ids.len() / a.loads.max(1)).max(1);
    time_page("request page", &|i| {
        format!("/requests/{}", ids[(i * step) % ids.len()])
    })
    .await?;
    time_page("outgoing", &|_| "/outgoing".to_owned()).await?;
    p.sender.shutdown().await;
    p.receiver.shutdown().await;
    Ok(())
}
