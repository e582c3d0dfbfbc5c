//! `request attach` and `request download`: evidence files of any size, in constant memory,
//! resumed after a broken connection (and after the command itself was stopped), with progress.
//!
//! - attach: the file's SHA-256 first, then a resumable upload (`POST .../uploads` with an
//!   `Idempotency-Key` derived from the request, name, size and hash, so that running the same
//!   command again finds the same upload), then `PATCH` segments from the node's offset.
//! - download: into `FILE.part`, resumed with `Range: bytes=N-` (guarded by `If-Range`), checked
//!   against the attachment's SHA-256 (its `ETag`), then renamed to `FILE` (mode 0600).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::commands::request::{Client, Conn, answer};
use crate::exit::Failure;
use crate::progress::{Progress, bytes};

/// Bytes per `PATCH`: a multiple of the node's 256 KiB chunk, held in memory once.
const SEGMENT: usize = 16 << 20;
/// Attempts in a row that make no progress before giving up.
const ATTEMPTS: u32 = 8;

#[derive(Debug, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The request to attach the file to (data to be given on it).
    pub id: String,
    /// The file.
    pub file: PathBuf,
    /// The attachment's name (default: the file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// No progress on standard error.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The request.
    pub id: String,
    /// The attachment's id.
    pub attachment: String,
    /// Where to write it (a broken-off download waits in OUT.part and is resumed).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// No progress on standard error.
    #[arg(long)]
    pub quiet: bool,
}

fn invalid(e: impl Into<anyhow::Error>) -> anyhow::Error {
    Failure::Invalid.wrap(e.into())
}

/// A file's SHA-256 (lower-case hex), read in pieces.
fn file_sha256(path: &Path, progress: &mut Progress) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        done += n as u64;
        progress.at(done);
    }
    progress.finish();
    Ok(hex::encode(h.finalize()))
}

/// Is this error worth another attempt (the node or the network), or final (the node refused)?
fn retryable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<reqwest::Error>()
            .is_some_and(|r| !r.is_builder() && !r.is_decode())
    }) || matches!(crate::exit::status(e), 3)
}

async fn pause(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt.min(10)))).await;
}

pub async fn attach(a: AttachArgs) -> anyhow::Result<()> {
    let attachment = attach_file(&a).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&attachment).unwrap_or_default()
    );
    Ok(())
}

/// Uploads `a.file`; returns the attachment it became.
pub async fn attach_file(a: &AttachArgs) -> anyhow::Result<Value> {
    let client = Client::new(&a.conn)?;
    let meta = std::fs::metadata(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))
        .map_err(|e| Failure::NotFound.wrap(e))?;
    if !meta.is_file() {
        return Err(invalid(anyhow::anyhow!(
            "{} is not a file",
            a.file.display()
        )));
    }
    let size = meta.len();
    if size == 0 {
        return Err(invalid(anyhow::anyhow!(
            "{} is empty: nothing to attach",
            a.file.display()
        )));
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => a
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .context("the file's name is not UTF-8: give --name")
            .map_err(invalid)?
            .to_owned(),
    };
    let sha = file_sha256(&a.file, &mut Progress::new("hashing", size, a.quiet))?;
    let key = {
        let mut h = Sha256::new();
        for part in [a.id.as_str(), &name, &size.to_string(), &sha] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        format!("attach-{}", &hex::encode(h.finalize())[..32])
    };
    let base = format!("/api/v1/requests/{}/uploads", a.id);
    let body = json!({"name": name, "size": size, "sha256": sha});
    let started = client
        .call_keyed(reqwest::Method::POST, &base, Some(&body), Some(key))
        .await?;
    let uid = started["id"]
        .as_str()
        .context("the node's answer has no upload id")?
        .to_owned();
    let path = format!("{base}/{uid}");
    let status = match client.call(reqwest::Method::GET, &path, None).await {
        Ok(v) => v,
        Err(e) if crate::exit::status(&e) == Failure::NotFound.code() => {
            // The upload this command started before was abandoned or discarded: a new one.
            let fresh = client
                .call(reqwest::Method::POST, &base, Some(&body))
                .await?;
            return upload_from(&client, a, fresh, &base, size).await;
        }
        Err(e) => return Err(e),
    };
    upload_from(&client, a, status, &base, size).await
}

/// Sends the file from where the upload stands until it is complete; returns the attachment.
async fn upload_from(
    client: &Client,
    a: &AttachArgs,
    mut status: Value,
    base: &str,
    size: u64,
) -> anyhow::Result<Value> {
    let uid = status["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("{base}/{uid}");
    let url = format!("{}{path}", client.base);
    let mut file =
        std::fs::File::open(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let mut progress = Progress::new(format!("uploading {}", a.file.display()), size, a.quiet);
    let mut buf = vec![0u8; SEGMENT];
    let mut failures = 0u32;
    while status["complete"] != json!(true) {
        let offset = status["offset"].as_u64().unwrap_or(0);
        progress.at(offset);
        file.seek(SeekFrom::Start(offset))?;
        let want = usize::try_from((size - offset).min(SEGMENT as u64)).unwrap_or(SEGMENT);
        file.read_exact(&mut buf[..want])
            .with_context(|| format!("{} changed while it was uploaded", a.file.display()))?;
        let sent = client
            .http
            .patch(&url)
            .bearer_auth(&client.token)
            .header("Upload-Offset", offset)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(buf[..want].to_vec())
            .send()
            .await;
        let next = match sent {
            Ok(resp) => answer(&url, resp).await,
            Err(e) => Err(Failure::Unavailable
                .wrap(anyhow::Error::new(e).context(format!("cannot reach {url}")))),
        };
        match next {
            Ok(v) => {
                if v["offset"].as_u64().unwrap_or(0) > offset || v["complete"] == json!(true) {
                    failures = 0;
                }
                status = v;
            }
            Err(e) if retryable(&e) && failures < ATTEMPTS => {
                failures += 1;
                progress.note(&format!(
                    "{e:#}; resuming (attempt {failures} of {ATTEMPTS})"
                ));
                pause(failures).await;
                // Where the node stands now (whole chunks of the broken call were kept).
                if let Ok(v) = client.call(reqwest::Method::GET, &path, None).await {
                    status = v;
                }
            }
            Err(e) if crate::exit::status(&e) == Failure::Conflict.code() => {
                // Someone moved it on (another run of this command): go on from there.
                failures += 1;
                if failures > ATTEMPTS {
                    return Err(e);
                }
                status = client.call(reqwest::Method::GET, &path, None).await?;
            }
            Err(e) => return Err(e),
        }
    }
    progress.finish();
    Ok(status["attachment"].clone())
}

pub async fn download(a: DownloadArgs) -> anyhow::Result<()> {
    let done = download_file(&a).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&done).unwrap_or_default()
    );
    Ok(())
}

/// Downloads an attachment to `a.out`; returns what was written (path, size, SHA-256).
pub async fn download_file(a: &DownloadArgs) -> anyhow::Result<Value> {
    let client = Client::new(&a.conn)?;
    if a.out.exists() && !a.force {
        return Err(Failure::Conflict.wrap(anyhow::anyhow!(
            "{} exists: give --force to replace it",
            a.out.display()
        )));
    }
    let part = {
        let mut p = a.out.clone().into_os_string();
        p.push(".part");
        PathBuf::from(p)
    };
    let url = format!(
        "{}/api/v1/requests/{}/attachments/{}",
        client.base, a.id, a.attachment
    );
    let mut progress: Option<Progress> = None;
    let mut etag: Option<String> = None;
    let mut failures = 0u32;
    let (size, sha) = loop {
        let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let mut req = client.http.get(&url).bearer_auth(&client.token);
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
            if let Some(t) = &etag {
                req = req.header(reqwest::header::IF_RANGE, t);
            }
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if failures < ATTEMPTS => {
                failures += 1;
                if let Some(p) = &progress {
                    p.note(&format!("{e}; resuming (attempt {failures} of {ATTEMPTS})"));
                }
                pause(failures).await;
                continue;
            }
            Err(e) => {
                return Err(Failure::Unavailable
                    .wrap(anyhow::Error::new(e).context(format!("cannot reach {url}"))));
            }
        };
        let status = resp.status();
        let tag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let total = match (status.as_u16(), &tag) {
            (200, _) => resp.content_length(),
            (206, _) => resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.parse().ok()),
            (416, _) => {
                // The part file is already whole (or longer than the attachment: start over).
                let total = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes */"))
                    .and_then(|v| v.parse::<u64>().ok());
                match (total, etag.clone().or(tag)) {
                    (Some(t), Some(tag)) if t == have => break (t, unquote(&tag)),
                    _ => {
                        std::fs::remove_file(&part).ok();
                        continue;
                    }
                }
            }
            _ => {
                return Err(answer(&url, resp)
                    .await
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("{url} answered {status}")));
            }
        };
        let Some(total) = total else {
            return Err(anyhow::anyhow!(
                "{url} did not say how long the attachment is"
            ));
        };
        let Some(tag) = tag else {
            return Err(anyhow::anyhow!("{url} did not give the attachment's ETag"));
        };
        etag = Some(tag.clone());
        let start = if status.as_u16() == 206 { have } else { 0 };
        let mut file = open_part(&part, start)?;
        let p = progress.get_or_insert_with(|| {
            Progress::new(
                format!("downloading to {}", a.out.display()),
                total,
                a.quiet,
            )
        });
        p.at(start);
        let mut resp = resp;
        let mut at = start;
        let broke = loop {
            match resp.chunk().await {
                Ok(Some(bytes)) => {
                    file.write_all(&bytes)?;
                    at += bytes.len() as u64;
                    p.at(at);
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        file.flush()?;
        drop(file);
        match broke {
            None if at == total => break (total, unquote(&tag)),
            None => {
                failures += 1;
                p.note(&format!(
                    "the node sent {} of {}; resuming",
                    bytes(at),
                    bytes(total)
                ));
            }
            Some(e) => {
                failures += 1;
                p.note(&format!("{e}; resuming (attempt {failures} of {ATTEMPTS})"));
            }
        }
        if failures > ATTEMPTS {
            return Err(Failure::Unavailable.wrap(anyhow::anyhow!(
                "the download of {} broke off {failures} times; run the command again to resume from {}",
                a.attachment,
                part.display()
            )));
        }
        pause(failures).await;
    };
    if let Some(p) = &mut progress {
        p.finish();
    }
    let got = file_sha256(&part, &mut Progress::new("checking", size, a.quiet))?;
    if got != sha {
        std::fs::remove_file(&part).ok();
        return Err(anyhow::anyhow!(
            "the bytes received hash to {got}, not to the attachment's SHA-256 {sha}: discarded, run the command again"
        ));
    }
    std::fs::rename(&part, &a.out)
        .with_context(|| format!("moving {} to {}", part.display(), a.out.display()))?;
    Ok(json!({
        "attachment": a.attachment,
        "path": a.out,
        "size": size,
        "sha256": sha,
    }))
}

fn unquote(tag: &str) -> String {
    tag.trim_start_matches("W/").trim_matches('"').to_owned()
}

/// The part file, cut to `start` bytes and open for appending; readable by its owner only
/// (evidence), also when it was there before.
fn open_part(path: &Path, start: u64) -> anyhow::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // A part file left by something else may be readable by others: evidence is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    f.set_len(start)?;
    f.seek(SeekFrom::Start(start))?;
    Ok(f)
}
