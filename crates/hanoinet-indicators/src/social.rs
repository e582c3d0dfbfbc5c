//! Handles on social platforms and messengers.

use crate::{Indicator, IndicatorType, Rejection};
use url::{Host, Url};

/// The platforms a handle may be on, and the web hosts whose profile links name them.
pub const PLATFORMS: &[(&str, &[&str])] = &[
    (
        "facebook",
        &[
            "facebook.com",
            "fb.com",
            "m.facebook.com",
            "www.facebook.com",
        ],
    ),
    ("instagram", &["instagram.com", "www.instagram.com"]),
    ("telegram", &["t.me", "telegram.me", "www.t.me"]),
    ("tiktok", &["tiktok.com", "www.tiktok.com"]),
    (
        "x",
        &[
            "x.com",
            "twitter.com",
            "www.x.com",
            "www.twitter.com",
            "mobile.twitter.com",
        ],
    ),
    (
        "youtube",
        &["youtube.com", "www.youtube.com", "m.youtube.com"],
    ),
    ("zalo", &["zalo.me"]),
    ("linkedin", &["linkedin.com", "www.linkedin.com"]),
    ("discord", &[]),
    ("line", &[]),
    ("signal", &[]),
    ("snapchat", &[]),
    ("viber", &[]),
    ("wechat", &[]),
    ("kakaotalk", &[]),
    ("other", &[]),
];

/// The longest handle accepted, in characters.
pub const MAX_HANDLE: usize = 64;

/// A handle: `<platform>:<handle>` in lower case without the leading `@` (`telegram:support_vcb`).
/// The value may also be a profile link (`https://t.me/support_vcb`), which names its platform, or
/// the canonical form itself.
pub fn handle(value: &str, platform: Option<&str>) -> Result<Indicator, Rejection> {
    let (platform, value) = match (platform, value.split_once(':')) {
        // The canonical form itself, as a partner sends it.
        (None, Some((p, rest))) if !rest.starts_with("//") => (Some(p), rest),
        _ => (platform, value),
    };
    let (platform, name) = if value.contains("://") {
        from_link(value)?
    } else {
        let platform = platform
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Rejection::new(
                    "platform",
                    format!("is required for a handle: one of {}", names()),
                )
            })?;
        let platform = PLATFORMS
            .iter()
            .map(|(p, _)| *p)
            .find(|p| p.eq_ignore_ascii_case(platform))
            .ok_or_else(|| Rejection::new("platform", format!("is not one of {}", names())))?;
        (platform, value.to_owned())
    };
    let name = name.trim().trim_start_matches('@').to_lowercase();
    if name.is_empty() {
        return Err(Rejection::new("value", "has no handle"));
    }
    if name.chars().count() > MAX_HANDLE {
        return Err(Rejection::new(
            "value",
            format!("is longer than {MAX_HANDLE} characters"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Rejection::new(
            "value",
            "is not a handle (letters, digits, dots, hyphens and underscores only)",
        ));
    }
    Ok(Indicator::new(
        IndicatorType::SocialHandle,
        format!("{platform}:{name}"),
    ))
}

fn names() -> String {
    PLATFORMS
        .iter()
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A profile link: its platform from the host and the handle from the first path segment.
fn from_link(value: &str) -> Result<(&'static str, String), Rejection> {
    let url = Url::parse(value)
        .map_err(|e| Rejection::new("value", format!("is not a profile link ({e})")))?;
    let host = match url.host() {
        Some(Host::Domain(h)) => h.to_owned(),
        _ => return Err(Rejection::new("value", "is not a profile link")),
    };
    let platform = PLATFORMS
        .iter()
        .find(|(_, hosts)| hosts.contains(&host.as_str()))
        .map(|(p, _)| *p)
        .ok_or_else(|| {
            Rejection::new(
                "value",
                "is a link to a site that is not a known platform (report it as a url)",
            )
        })?;
    let first = url
        .path_segments()
        .and_then(|mut s| s.next())
        .unwrap_or_default();
    if first.is_empty() {
        return Err(Rejection::new("value", "is a link without a handle"));
    }
    let decoded = percent_encoding::percent_decode_str(first)
        .decode_utf8_lossy()
        .into_owned();
    Ok((platform, decoded))
}
