//! Reading the citizens' report form as posted: `application/x-www-form-urlencoded` (a form
//! without files) or `multipart/form-data` (the same fields and up to
//! [`reports::MAX_SCREENSHOTS`] screenshots under the name `screenshot`), within bounded sizes
//! and with the pause between two reads bounded, so a slow or oversized post costs the node
//! little.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::node::Node;
use crate::ops::reports;

/// The largest body of a form without files, in bytes.
pub const MAX_FORM: usize = 32 * 1024;
/// The largest multipart body: the fields and every screenshot at its limit.
pub const MAX_MULTIPART: usize =
    MAX_FORM + reports::MAX_SCREENSHOTS as usize * (reports::MAX_SCREENSHOT_BYTES + 4096);

/// What the form posted.
#[derive(Debug, Default)]
pub struct Posted {
    /// The first value of each field.
    pub fields: Map<String, Value>,
    /// The screenshots chosen, in order (empty file inputs left out).
    pub files: Vec<Vec<u8>>,
    /// Why a file was refused before anything was kept: (1-based file number, message key).
    pub refused: Vec<(usize, &'static str)>,
    /// Files sent after the restricted category was chosen: read past, never held.
    pub discarded: usize,
}

/// Whether the request carries a multipart body.
pub fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The form's fields (and files); `Err(())` when the body cannot be read (too large, cut,
/// paused too long, not a form): the caller answers `400`.
pub async fn read(state: &Node, req: Request) -> Result<Posted, ()> {
    let pause = state.tunables.body_read_timeout;
    if !is_multipart(&req) {
        let body = tokio::time::timeout(pause, axum::body::to_bytes(req.into_body(), MAX_FORM))
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        let mut fields = Map::new();
        for (k, v) in url::form_urlencoded::parse(&body) {
            fields
                .entry(k.into_owned())
                .or_insert(Value::String(v.into_owned()));
        }
        return Ok(Posted {
            fields,
            ..Posted::default()
        });
    }
    let mut form = Multipart::from_request(req, &()).await.map_err(|_| ())?;
    let mut out = Posted::default();
    let mut text_bytes = 0usize;
    let mut files = 0usize;
    loop {
        let next = tokio::time::timeout(pause, form.next_field())
            .await
            .map_err(|_| ())?;
        let Some(mut field) = next.map_err(|_| ())? else {
            break;
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "screenshot" {
            // The category comes first on the form: a file for the restricted category is
            // not even held in memory.
            let restricted = out
                .fields
                .get("category")
                .and_then(Value::as_str)
                .and_then(hanoinet_indicators::report::Category::parse)
                .is_some_and(hanoinet_indicators::report::Category::is_restricted);
            let mut bytes = Vec::new();
            let mut too_big = restricted;
            while let Some(chunk) = tokio::time::timeout(pause, field.chunk())
                .await
                .map_err(|_| ())?
                .map_err(|_| ())?
            {
                // Past the limit the rest is read and dropped: the answer names the file.
                if !too_big && bytes.len() + chunk.len() > reports::MAX_SCREENSHOT_BYTES {
                    too_big = true;
                    bytes = Vec::new();
                }
                if !too_big {
                    bytes.extend_from_slice(&chunk);
                }
            }
            if bytes.is_empty() && !too_big {
                continue; // a file input left empty
            }
            files += 1;
            if restricted {
                out.discarded += 1;
            } else if too_big {
                out.refused.push((files, "pub-fault-screenshot-size"));
            } else if files > reports::MAX_SCREENSHOTS as usize {
                out.refused.push((files, "pub-fault-screenshot-count"));
            } else {
                out.files.push(bytes);
            }
            continue;
        }
        let text = tokio::time::timeout(pause, field.text())
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        text_bytes += text.len();
        if text_bytes > MAX_FORM {
            return Err(());
        }
        out.fields.entry(name).or_insert(Value::String(text));
    }
    Ok(out)
}
