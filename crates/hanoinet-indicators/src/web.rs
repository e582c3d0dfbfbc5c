//! Web addresses, domains and e-mail addresses.
//!
//! A URL is parsed by the WHATWG URL Standard (the `url` crate: IDNA to lower-case A-labels,
//! IPv4 in any notation to dotted decimal, default ports dropped, `.` and `..` segments resolved),
//! then brought to the canonical form of Google Safe Browsing's URL hashing: no user name or
//! password, no fragment, no leading, trailing or repeated dots in the host, no repeated slashes
//! in the path, and the path and query unescaped until nothing is left to unescape, then escaped
//! again exactly where they hold bytes at or below space, at or above DEL, `#` or `%`. The
//! registrable domain is read from the Public Suffix List compiled into the `psl` crate (never
//! fetched at run time).

use crate::{Indicator, IndicatorType, Rejection};
use email_address::{EmailAddress, Options};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, percent_encode};
use url::{Host, Url};

/// The bytes Safe Browsing escapes in a canonical path or query (besides every byte ≥ 0x80).
const ESCAPED: &AsciiSet = &CONTROLS.add(b' ').add(b'#').add(b'%');

/// How many rounds of unescaping a value may need (`%25%32%35…`) before it is refused.
const MAX_UNESCAPES: usize = 16;

/// A web address (`http` or `https`; a bare `host/path` is read as `http://host/path`).
pub fn url(value: &str) -> Result<Indicator, Rejection> {
    let url = web_url(value)?;
    Ok(Indicator::new(IndicatorType::Url, url.into()))
}

/// The registrable domain of a host name or of a URL's host (`login.bank.example.co.uk` →
/// `example.co.uk`; `evil.blogspot.com` stays itself, as the list names `blogspot.com`).
pub fn domain(value: &str) -> Result<Indicator, Rejection> {
    let url = web_url(value)?;
    match url.host() {
        Some(Host::Domain(host)) => {
            let registrable = registrable(host)?;
            Ok(Indicator::new(
                IndicatorType::Domain,
                registrable.to_owned(),
            ))
        }
        _ => Err(Rejection::new(
            "value",
            "is an IP address, not a domain name (report it as a url)",
        )),
    }
}

/// The registrable domain of a URL (none for an IP address).
pub fn registrable_domain(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    match url.host() {
        Some(Host::Domain(host)) => registrable(host).ok().map(str::to_owned),
        _ => None,
    }
}

/// An e-mail address (RFC 5322 `addr-spec`, by the `email_address` crate): the domain to
/// lower-case A-labels, the local part as written (it may be case-sensitive).
pub fn email(value: &str) -> Result<Indicator, Rejection> {
    let value = strip_prefix_ignore_case(value, "mailto:").unwrap_or(value);
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
    };
    let address = EmailAddress::parse_with_options(value, options)
        .map_err(|e| Rejection::new("value", format!("is not an e-mail address ({e})")))?;
    let domain = match Host::parse(address.domain()) {
        Ok(Host::Domain(d)) => clean_host(&d)?,
        _ => return Err(Rejection::new("value", "has no valid domain after the @")),
    };
    registrable(&domain)?;
    let canonical = format!("{}@{domain}", address.local_part());
    Ok(Indicator::new(IndicatorType::Email, canonical))
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// Parses a web address and brings it to its canonical form.
fn web_url(value: &str) -> Result<Url, Rejection> {
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let mut url = Url::parse(&text)
        .map_err(|e| Rejection::new("value", format!("is not a web address ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Rejection::new(
            "value",
            "is not a web address (only http and https are accepted)",
        ));
    }
    match url.host() {
        Some(Host::Domain(host)) => {
            let host = clean_host(host)?;
            registrable(&host)?;
            url.set_host(Some(&host))
                .map_err(|e| Rejection::new("value", format!("has an invalid host ({e})")))?;
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {}
        None => return Err(Rejection::new("value", "has no host")),
    }
    // A URL with a host always takes these; nothing to refuse.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    let path = unescape(url.path())?;
    let mut collapsed = Vec::with_capacity(path.len());
    for &b in &path {
        if !(b == b'/' && collapsed.last() == Some(&b'/')) {
            collapsed.push(b);
        }
    }
    url.set_path(&percent_encode(&collapsed, ESCAPED).to_string());
    match url.query() {
        Some("") => url.set_query(None),
        Some(query) => {
            let query = percent_encode(&unescape(query)?, ESCAPED).to_string();
            url.set_query(Some(&query));
        }
        None => {}
    }
    Ok(url)
}

/// Unescapes until no `%XX` is left.
fn unescape(s: &str) -> Result<Vec<u8>, Rejection> {
    let mut bytes = s.as_bytes().to_vec();
    for _ in 0..MAX_UNESCAPES {
        let next: Vec<u8> = percent_decode(&bytes).collect();
        if next == bytes {
            return Ok(bytes);
        }
        bytes = next;
    }
    Err(Rejection::new("value", "is escaped too many times over"))
}

/// A host without leading, trailing or repeated dots.
fn clean_host(host: &str) -> Result<String, Rejection> {
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.is_empty() {
        return Err(Rejection::new("value", "has an empty host"));
    }
    Ok(labels.join("."))
}

/// The registrable domain of a clean host, or why there is none.
fn registrable(host: &str) -> Result<&str, Rejection> {
    psl::domain_str(host).ok_or_else(|| {
        Rejection::new(
            "value",
            "is a public suffix (like com or co.uk), not a domain someone registered",
        )
    })
}
