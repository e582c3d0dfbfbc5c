//! The response centre's public side: a citizen's report comes in, is given a code and a secret,
//! and its status can be asked with both; anyone may check whether a value is a confirmed,
//! public indicator. No account, so every answer reveals only what the asker already holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

use hanoinet_core::request::{FieldCode, FieldError};
use hanoinet_indicators::report::{self, Category, ReportStatus};
use hanoinet_indicators::{Context, Indicator, IndicatorStatus, IndicatorType, Raw, Tlp};
use hanoinet_ledger::entry::{Event, actors};
use hanoinet_store::{NewReport, Report, StoredIndicator};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::ledger::{commit, entry};

/// Characters of codes and secrets: no 0/O, 1/I/L, so that a code read out on the phone or
/// copied from paper comes back right.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters of a code after the State prefix (`VN-4K7M-P9QX`: about 40 bits).
const CODE_CHARS: usize = 8;
/// Characters of a secret (about 99 bits).
const SECRET_CHARS: usize = 20;

/// The node's State as the indicator rules need it.
pub fn context(state: &Node) -> NodeResult<Context> {
    Context::for_state(state.id.state().as_str()).map_err(NodeError::internal)
}

fn random_chars(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    // 256 is not a multiple of 31: the bias of `% 31` is under 1 in 8 per character, far from
    // making a 99-bit secret guessable, and kept out of the code's uniqueness by the retry.
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// What the reporter is given back.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub code: String,
    /// Shown once: only its hash is kept.
    pub secret: String,
    pub indicators: Vec<Indicator>,
}

/// Report faults as the API's field errors.
pub fn field_errors(faults: Vec<report::FieldError>) -> NodeError {
    NodeError::Invalid(
        faults
            .into_iter()
            .map(|f| FieldError::new(&f.field, f.code, format!("{} {}", f.field, f.message), None))
            .collect(),
    )
}

/// Takes in a report (its JSON body, already strict-parsed) in the reporter's language.
pub async fn submit(state: &Node, body: &Value, language: &str) -> NodeResult<Submitted> {
    let cx = context(state)?;
    let now = state.clock.now();
    let checked = report::check(body, &cx, now).map_err(field_errors)?;
    let secret = random_chars(SECRET_CHARS);
    let prefix = cx.alpha2();
    let mut last = None;
    for _ in 0..5 {
        let raw = random_chars(CODE_CHARS);
        let code = format!("{prefix}-{}-{}", &raw[..4], &raw[4..]);
        let rec = Report {
            id: uuid::Uuid::now_v7().to_string(),
            code: code.clone(),
            secret_sha256: secret_hash(&secret),
            category: checked.category,
            restricted: checked.category.is_restricted(),
            description: checked.description.clone(),
            occurred_at: checked.occurred_at,
            loss: checked
                .loss
                .as_ref()
                .map(|l| (l.minor, l.currency.to_owned())),
            payment_method: checked.payment_method.map(|p| p.as_str().to_owned()),
            contact: checked.contact.clone(),
            language: language.to_owned(),
            status: ReportStatus::Received,
            request_id: None,
            created_at: now,
            updated_at: now,
            triaged_at: None,
            closed_at: None,
        };
        let content = serde_json::to_vec(body).map_err(NodeError::internal)?;
        let logged = entry(
            state,
            Event::ReportReceived,
            actors::SYSTEM.into(),
            format!("report:{code}"),
        )
        .attr("category", checked.category.as_str())
        .attr("indicators", checked.indicators.len().to_string())
        .attr("content", commit(state, &content));
        match state
            .store
            .create_report(
                NewReport {
                    report: &rec,
                    indicators: &checked.indicators,
                },
                &[logged.encode()],
            )
            .await
        {
            Ok(()) => {
                return Ok(Submitted {
                    code,
                    secret,
                    indicators: checked.indicators,
                });
            }
            Err(e) if e.is_unique_violation() => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || NodeError::internal("no free report code"),
        NodeError::from,
    ))
}

/// A report's status, for whoever holds its code and secret. A wrong secret and an unknown code
/// get the same answer.
pub async fn status(state: &Node, code: &str, secret: &str) -> NodeResult<ReportStatus> {
    Ok(own_report(state, code, secret).await?.status)
}

/// The report with this code, for whoever holds its secret.
async fn own_report(state: &Node, code: &str, secret: &str) -> NodeResult<Report> {
    use subtle::ConstantTimeEq;
    let unknown = || NodeError::not_found("no report with this code and secret");
    let code = code.trim().to_ascii_uppercase();
    let report = state.store.report_by_code(&code).await?;
    // Hash either way, so that an unknown code takes as long as a wrong secret.
    let given = secret_hash(secret);
    let Some(report) = report else {
        return Err(unknown());
    };
    if bool::from(given.as_bytes().ct_eq(report.secret_sha256.as_bytes())) {
        Ok(report)
    } else {
        Err(unknown())
    }
}

/// What the public may learn of an indicator: that it is confirmed and public, and since when.
#[derive(Debug, Clone)]
pub struct Listing {
    pub confirmed_at: Option<jiff::Timestamp>,
    pub expires_at: Option<jiff::Timestamp>,
    pub reports: i64,
}

/// Whether an indicator is on the public list now: confirmed, TLP:CLEAR, not expired.
pub fn is_public(i: &StoredIndicator, now: jiff::Timestamp) -> bool {
    i.status == IndicatorStatus::Confirmed
        && i.tlp == Some(Tlp::Clear)
        && i.expires_at.is_none_or(|e| e > now)
        && !i.restricted
}

/// Normalises a value and says whether it is on the public list.
pub async fn check(
    state: &Node,
    kind: IndicatorType,
    raw: &Raw<'_>,
) -> NodeResult<(Indicator, Option<Listing>)> {
    let cx = context(state)?;
    let ind = hanoinet_indicators::normalise(kind, raw, &cx).map_err(|r| {
        NodeError::invalid(FieldError::new(
            r.field,
            FieldCode::Invalid,
            format!("{} {}", r.field, r.reason),
            None,
        ))
    })?;
    let stored = state.store.indicator(&ind.hash).await?;
    let now = state.clock.now();
    let listing = stored.filter(|s| is_public(s, now)).map(|s| Listing {
        confirmed_at: s.decided_at,
        expires_at: s.expires_at,
        reports: s.reports,
    });
    Ok((ind, listing))
}

/// The categories a report may have, with whether files may be attached.
pub fn categories() -> Vec<(Category, bool)> {
    Category::ALL
        .iter()
        .map(|c| (*c, !c.is_restricted()))
        .collect()
}

/// Fixed windows of calls per client address (an IPv6 client by its /64): each kind of call
/// has its own allowance per window. Kept per process: replicas each count their own.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<WindowKey, Window>>,
}

/// A kind of call and a client address (an IPv6 client by its /64).
type WindowKey = (&'static str, IpAddr);
/// When a window started, the calls counted in it, and how long it lasts.
type Window = (Instant, u32, Duration);

impl RateLimiter {
    /// Counts a call of `kind` from `addr`; `Err(wait)` when the allowance of `max` per `window`
    /// is spent.
    pub fn take(
        &self,
        kind: &'static str,
        addr: IpAddr,
        max: u32,
        window: Duration,
    ) -> Result<(), Duration> {
        let addr = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        };
        let now = Instant::now();
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        // Many addresses: forget the windows that are over (each by its own length, so that a
        // flood of one kind of call cannot reset another kind's counts).
        if w.len() > 100_000 {
            w.retain(|_, (start, _, length)| now.duration_since(*start) < *length);
        }
        let slot = w.entry((kind, addr)).or_insert((now, 0, window));
        if now.duration_since(slot.0) >= window {
            *slot = (now, 0, window);
        }
        if slot.1 >= max {
            return Err(window.saturating_sub(now.duration_since(slot.0)));
        }
        slot.1 += 1;
        Ok(())
    }
}

/// The largest screenshot accepted, in bytes.
pub const MAX_SCREENSHOT_BYTES: usize = 5 * 1024 * 1024;
/// Screenshots one report may carry.
pub const MAX_SCREENSHOTS: i64 = 5;
/// The widest and tallest screenshot accepted, in pixels.
pub const MAX_SCREENSHOT_SIDE: u32 = 8192;

/// A screenshot decoded (PNG or JPEG only, within the size limits) and written again in its own
/// format, turned upright as its EXIF orientation said: nothing of the file but its pixels is
/// kept (no EXIF, GPS position, camera, XMP, comments or trailing data).
pub fn strip_image(bytes: &[u8]) -> NodeResult<(Vec<u8>, &'static str)> {
    use image::{ImageDecoder, ImageFormat, ImageReader};
    let refuse =
        |why: String| NodeError::invalid(FieldError::new("file", FieldCode::Invalid, why, None));
    let format = image::guess_format(bytes)
        .map_err(|_| refuse("the file is not an image (PNG or JPEG)".into()))?;
    let kind = match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        other => {
            return Err(refuse(format!(
                "{other:?} images are not accepted: send a PNG or JPEG screenshot"
            )));
        }
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SCREENSHOT_SIDE);
    limits.max_image_height = Some(MAX_SCREENSHOT_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| refuse(format!("the image cannot be read: {e}")))?;
    let orientation = decoder
        .orientation()
        .map_err(|e| refuse(format!("the image cannot be read: {e}")))?;
    let mut img = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| refuse(format!("the image cannot be read: {e}")))?;
    img.apply_orientation(orientation);
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                .encode_image(&rgb)
                .map_err(NodeError::internal)?;
        }
        _ => img
            .write_to(&mut out, ImageFormat::Png)
            .map_err(NodeError::internal)?,
    }
    Ok((out.into_inner(), kind))
}

/// Attaches a screenshot to a report, for whoever holds its code and secret. Refused for a
/// report of child sexual abuse material (never a file: the link only) and for a closed one.
pub async fn attach(
    state: &Node,
    code: &str,
    secret: &str,
    bytes: &[u8],
) -> NodeResult<hanoinet_store::ReportFile> {
    let report = own_report(state, code, secret).await?;
    if report.restricted {
        return Err(NodeError::forbidden(
            "reports of child sexual abuse material never take files: give the link only",
        ));
    }
    if report.status == ReportStatus::Closed {
        return Err(NodeError::conflict(format!(
            "report {} is closed",
            report.code
        )));
    }
    let (clean, kind) = strip_image(bytes)?;
    let sha = hex::encode(Sha256::digest(&clean));
    let file = hanoinet_store::ReportFile {
        id: uuid::Uuid::now_v7().to_string(),
        report_id: report.id.clone(),
        content_type: kind.to_owned(),
        size: clean.len() as i64,
        sha256: sha,
        created_at: state.clock.now(),
    };
    let logged = entry(
        state,
        Event::ReportFileAdded,
        actors::SYSTEM.into(),
        format!("report:{}", report.code),
    )
    .attr("content_type", kind)
    .attr("size", clean.len().to_string())
    .attr("content", commit(state, &clean));
    if !state
        .store
        .add_report_file(&file, &clean, MAX_SCREENSHOTS, &[logged.encode()])
        .await?
    {
        return Err(NodeError::conflict(format!(
            "a report carries at most {MAX_SCREENSHOTS} screenshots"
        )));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limiter_counts_per_kind_and_address() {
        let r = RateLimiter::default();
        let hour = Duration::from_secs(3600);
        let a: IpAddr = "192.0.2.7"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert!(r.take("report", a, 2, hour).is_ok());
        assert!(r.take("report", a, 2, hour).is_ok());
        let wait = r.take("report", a, 2, hour).err().unwrap_or_default();
        assert!(wait > Duration::from_secs(3500), "{wait:?}");
        // Another kind, another address: their own allowances.
        assert!(r.take("check", a, 2, hour).is_ok());
        let b: IpAddr = "192.0.2.8".parse().unwrap_or(a);
        assert!(r.take("report", b, 2, hour).is_ok());
        // One IPv6 /64 is one client; an IPv4-mapped address is its IPv4 address.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap_or(a);
        assert!(r.take("report", v6("2001:db8:1:2::1"), 1, hour).is_ok());
        assert!(
            r.take("report", v6("2001:db8:1:2:ffff::9"), 1, hour)
                .is_err()
        );
        assert!(r.take("report", v6("2001:db8:1:3::1"), 1, hour).is_ok());
        assert!(r.take("report", v6("::ffff:192.0.2.7"), 2, hour).is_err());
    }
}
