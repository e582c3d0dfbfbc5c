//! Attachments staged for a transfer: uploaded as a stream in one call, or as a resumable
//! upload over as many calls as it takes; stored in chunks either way.

use hanoinet_core::request::FieldCode;
use hanoinet_store::AttachmentState;
use sha2::{Digest, Sha256};

use hanoinet_core::text::{Lines, clean};
use hanoinet_store::{Attachment, Upload, User};
use serde_json::Value;

use crate::error::{Detail, ErrorCode, NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::require_officer;
use crate::ops::requests::load;

use super::data::*;

/// Where an upload's bytes come from: the next piece, `None` at the end, or why it broke off
/// (a front end's own timeouts and limits).
pub trait ByteSource: Send {
    fn next(
        &mut self,
    ) -> impl std::future::Future<Output = Option<NodeResult<bytes::Bytes>>> + Send;
}

/// Stages an attachment on request `id` (to be sent with a transfer later): streamed into
/// chunks with its SHA-256 and size, up to `Tunables::max_attachment_bytes`. The chunks are
/// staged as they come and the attachment exists only from its one final commit; the chunks of
/// an upload that fails are dropped (or, if the process dies, removed by the clocks'
/// stale-upload sweep).
pub async fn upload(
    state: &Node,
    user: &User,
    id: &str,
    name: Option<&str>,
    source: &mut impl ByteSource,
) -> NodeResult<Attachment> {
    let rec = attachable(state, user, id).await?;
    let name = file_name(name)?;
    let now = state.clock.now();
    let a = Attachment {
        id: uuid::Uuid::now_v7().to_string(),
        request_id: rec.id,
        transfer_id: None,
        name,
        sha256: None,
        size: 0,
        chunks: 0,
        state: AttachmentState::Staged,
        created_at: now,
    };
    let mut hasher = Sha256::new();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let (mut size, mut idx) = (0usize, 0i64);
    let max = state.tunables.max_attachment_bytes;
    let result: NodeResult<()> = async {
        while let Some(data) = source.next().await {
            let data = data?;
            size += data.len();
            if size > max {
                return Err(NodeError::refused(
                    ErrorCode::PayloadTooLarge,
                    format!("attachments are limited to {max} bytes"),
                ));
            }
            hasher.update(&data);
            buf.extend_from_slice(&data);
            while buf.len() >= CHUNK_BYTES {
                let rest = buf.split_off(CHUNK_BYTES);
                state.store.put_chunk(&a.id, idx, &buf, now).await?;
                idx += 1;
                buf = rest;
            }
        }
        if !buf.is_empty() {
            state.store.put_chunk(&a.id, idx, &buf, now).await?;
            idx += 1;
        }
        if size == 0 {
            return Err(NodeError::Invalid(vec![field(
                "body",
                FieldCode::Empty,
                "the attachment is empty",
            )]));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        state.store.drop_attachment(&a.id).await?;
        return Err(e);
    }
    let sha = hex::encode(hasher.finalize());
    let size = i64::try_from(size).map_err(NodeError::internal)?;
    let a = Attachment {
        sha256: Some(sha),
        size,
        chunks: idx,
        state: AttachmentState::Staged,
        ..a
    };
    if let Err(e) = state.store.stage_attachment(&a).await {
        state.store.drop_attachment(&a.id).await?;
        return Err(e.into());
    }
    Ok(a)
}

/// The request `id`, if `user` may attach data to it now.
async fn attachable(
    state: &Node,
    user: &User,
    id: &str,
) -> NodeResult<hanoinet_store::RequestRecord> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    if !may_give(&rec) && !may_give_later(&rec) {
        return Err(NodeError::conflict(format!(
            "this node cannot give data on this request ({}, {}): nothing to attach",
            rec.direction.as_str(),
            rec.status.as_str()
        ))
        .with_detail(Detail::status(rec.status)));
    }
    Ok(rec)
}

/// An attachment's name: one line, no slashes, no control or bidi-override characters.
fn file_name(name: Option<&str>) -> NodeResult<String> {
    match clean(name.unwrap_or_default(), MAX_NAME_CHARS, Lines::One) {
        Ok(n) if !n.contains(['/', '\\']) && n != "." && n != ".." => Ok(n),
        _ => Err(NodeError::Invalid(vec![field(
            "name",
            FieldCode::Invalid,
            "name is required: a file name of at most 200 characters, without slashes, control or bidirectional-override characters",
        )])),
    }
}

/// Where a resumable upload stands.
#[derive(Debug)]
pub enum UploadState {
    /// Bytes still to come, from `received`.
    Open(Upload),
    /// Every byte arrived and the hash checked: the attachment (same id).
    Done(Attachment),
}

/// Starts a resumable upload on request `id`: `{"name", "size", "sha256"?}`. The bytes follow
/// in order ([`append`]); the upload becomes an attachment with its last byte, once its SHA-256
/// (if declared) matches.
pub async fn start(state: &Node, user: &User, id: &str, body: Value) -> NodeResult<Upload> {
    let rec = attachable(state, user, id).await?;
    let obj = body.as_object().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    if !body.is_object() {
        errors.push(field(
            "body",
            FieldCode::Invalid,
            "an upload is a JSON object: {\"name\", \"size\", \"sha256\"?}",
        ));
    }
    for k in obj.keys() {
        if !["name", "size", "sha256"].contains(&k.as_str()) {
            errors.push(field(
                k,
                FieldCode::UnknownField,
                format!("{k:?} is not a field of an upload (name, size, sha256)"),
            ));
        }
    }
    let name = match file_name(obj.get("name").and_then(Value::as_str)) {
        Ok(n) => Some(n),
        Err(NodeError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let max = state.tunables.max_attachment_bytes as i64;
    let size = match obj.get("size").map(Value::as_i64) {
        Some(Some(n)) if (1..=max).contains(&n) => Some(n),
        None => {
            errors.push(field(
                "size",
                FieldCode::Missing,
                "size is required: the file's length in bytes",
            ));
            None
        }
        _ => {
            errors.push(field(
                "size",
                FieldCode::OutOfRange,
                format!("size is a whole number of bytes from 1 to {max}"),
            ));
            None
        }
    };
    let sha256 = match obj.get("sha256") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(h.to_ascii_lowercase())
        }
        Some(_) => {
            errors.push(field(
                "sha256",
                FieldCode::Invalid,
                "sha256 is the file's SHA-256 as 64 hexadecimal characters",
            ));
            None
        }
    };
    let (Some(name), Some(size), true) = (name, size, errors.is_empty()) else {
        return Err(NodeError::Invalid(errors));
    };
    let now = state.clock.now();
    let u = Upload {
        id: uuid::Uuid::now_v7().to_string(),
        request_id: rec.id.to_string(),
        user_id: user.id.clone(),
        name,
        size,
        sha256,
        received: 0,
        chunks: 0,
        created_at: now,
        updated_at: now,
    };
    state.store.create_upload(&u).await?;
    Ok(u)
}

/// Where upload `uid` on request `id` stands (its attachment once complete).
pub async fn status(state: &Node, user: &User, id: &str, uid: &str) -> NodeResult<UploadState> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    if let Some(u) = state.store.upload(uid).await?
        && u.request_id == rec.id.to_string()
    {
        return Ok(UploadState::Open(u));
    }
    match state.store.attachment(uid).await? {
        Some(a) if a.request_id == rec.id => Ok(UploadState::Done(a)),
        _ => Err(NodeError::not_found(format!(
            "no upload {uid} on request {id} (unfinished uploads are removed after {STALE_UPLOAD_DAYS} days without a byte)"
        ))),
    }
}

/// Abandons upload `uid` and what it stored.
pub async fn abandon(state: &Node, user: &User, id: &str, uid: &str) -> NodeResult<()> {
    let u = open_upload(state, user, id, uid).await?;
    state.store.drop_upload(&u.id).await?;
    forget_hasher(state, &u.id);
    Ok(())
}

/// The open upload `uid` on request `id`, if `user` started it.
async fn open_upload(state: &Node, user: &User, id: &str, uid: &str) -> NodeResult<Upload> {
    match status(state, user, id, uid).await? {
        UploadState::Open(u) if u.user_id == user.id => Ok(u),
        UploadState::Open(_) => Err(NodeError::forbidden(
            "this upload was started by another user: only they may add to it",
        )),
        UploadState::Done(a) => Err(NodeError::conflict(format!(
            "upload {uid} is complete: attachment {} ({} bytes)",
            a.id, a.size
        ))),
    }
}

fn mismatch(u: &Upload, offset: i64) -> NodeError {
    NodeError::conflict(format!(
        "upload {} stands at byte {}, not {offset}: send from {}",
        u.id, u.received, u.received
    ))
    .with_detail(Detail {
        code: Some("upload_offset_mismatch"),
        offset: Some(u.received),
        ..Detail::default()
    })
}

/// Adds bytes to upload `uid` from `offset`, which must be where it stands. Whole chunks are
/// stored as they fill (a broken-off call keeps every whole chunk it delivered: the upload's
/// offset says where to go on); the last chunk is stored with the last byte, then the hash is
/// checked and the attachment made.
pub async fn append(
    state: &Node,
    user: &User,
    id: &str,
    uid: &str,
    offset: i64,
    source: &mut impl ByteSource,
) -> NodeResult<UploadState> {
    let mut u = open_upload(state, user, id, uid).await?;
    if offset != u.received {
        return Err(mismatch(&u, offset));
    }
    let chunk = CHUNK_BYTES as i64;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let mut hasher = take_hasher(state, &u);
    let result: NodeResult<()> = async {
        while let Some(data) = source.next().await {
            let data = data?;
            let len = i64::try_from(data.len()).map_err(NodeError::internal)?;
            if u.received + i64::try_from(buf.len()).map_err(NodeError::internal)? + len > u.size {
                return Err(NodeError::refused(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "upload {} declared {} bytes; these bytes go beyond that",
                        u.id, u.size
                    ),
                ));
            }
            buf.extend_from_slice(&data);
            while buf.len() >= CHUNK_BYTES {
                let rest = buf.split_off(CHUNK_BYTES);
                store_chunk(state, &mut u, &buf, hasher.as_mut()).await?;
                buf = rest;
            }
            if !buf.is_empty() && u.received + i64::try_from(buf.len()).unwrap_or(0) == u.size {
                store_chunk(state, &mut u, &buf, hasher.as_mut()).await?;
                buf.clear();
            }
        }
        Ok(())
    }
    .await;
    keep_hasher(state, &u, hasher);
    result?;
    debug_assert!(u.received == u.size || u.received % chunk == 0);
    if u.received < u.size {
        return Ok(UploadState::Open(u));
    }
    finish(state, u).await.map(UploadState::Done)
}

async fn store_chunk(
    state: &Node,
    u: &mut Upload,
    bytes: &[u8],
    hasher: Option<&mut Sha256>,
) -> NodeResult<()> {
    let now = state.clock.now();
    if !state
        .store
        .append_upload_chunk(&u.id, u.received, u.chunks, bytes, now)
        .await?
    {
        // Another call added to it meanwhile (or it was abandoned).
        let at = state.store.upload(&u.id).await?;
        return Err(match at {
            Some(now_at) => mismatch(&now_at, u.received),
            None => NodeError::not_found(format!("upload {} was abandoned", u.id)),
        });
    }
    if let Some(h) = hasher {
        h.update(bytes);
    }
    u.received += i64::try_from(bytes.len()).map_err(NodeError::internal)?;
    u.chunks += 1;
    u.updated_at = now;
    Ok(())
}

/// Checks a complete upload's hash and makes it an attachment.
async fn finish(state: &Node, u: Upload) -> NodeResult<Attachment> {
    let sha = match take_hasher(state, &u) {
        Some(h) => hex::encode(h.finalize()),
        None => {
            // Not hashed as it came (another process took part of it): read it back.
            let mut h = Sha256::new();
            for idx in 0..u.chunks {
                let c = state
                    .store
                    .chunk(&u.id, idx)
                    .await?
                    .ok_or_else(|| NodeError::internal("an upload's chunk is missing"))?;
                h.update(&c);
            }
            hex::encode(h.finalize())
        }
    };
    forget_hasher(state, &u.id);
    if let Some(declared) = &u.sha256
        && *declared != sha
    {
        state.store.drop_upload(&u.id).await?;
        return Err(NodeError::Invalid(vec![field(
            "sha256",
            FieldCode::Invalid,
            format!(
                "the {} bytes received hash to {sha}, not to the declared {declared}: the upload is discarded; start again",
                u.size
            ),
        )]));
    }
    let a = Attachment {
        id: u.id.clone(),
        request_id: u.request_id.parse().map_err(NodeError::internal)?,
        transfer_id: None,
        name: u.name.clone(),
        sha256: Some(sha),
        size: u.size,
        chunks: u.chunks,
        state: AttachmentState::Staged,
        created_at: state.clock.now(),
    };
    if !state.store.finish_upload(&a).await? {
        return match state.store.attachment(&u.id).await? {
            Some(done) => Ok(done),
            None => Err(NodeError::not_found(format!(
                "upload {} was abandoned",
                u.id
            ))),
        };
    }
    Ok(a)
}

/// Uploads hashed as their bytes come, by id: the hash so far and the bytes it covers. A call
/// that continues where the last one in this process stopped goes on hashing; otherwise the
/// hash is computed from the stored chunks at the end.
#[derive(Debug, Default)]
pub struct Hashers(std::sync::Mutex<std::collections::HashMap<String, (i64, Sha256)>>);

/// At most this many uploads are hashed as they come (the others are hashed at the end).
const MAX_HASHERS: usize = 256;

fn take_hasher(state: &Node, u: &Upload) -> Option<Sha256> {
    if u.received == 0 {
        return Some(Sha256::new());
    }
    let mut map = state
        .upload_hashers
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match map.remove(&u.id) {
        Some((at, h)) if at == u.received => Some(h),
        _ => None,
    }
}

fn keep_hasher(state: &Node, u: &Upload, hasher: Option<Sha256>) {
    let Some(h) = hasher else { return };
    let mut map = state
        .upload_hashers
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= MAX_HASHERS && !map.contains_key(&u.id) {
        return;
    }
    map.insert(u.id.clone(), (u.received, h));
}

fn forget_hasher(state: &Node, id: &str) {
    state
        .upload_hashers
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(id);
}
