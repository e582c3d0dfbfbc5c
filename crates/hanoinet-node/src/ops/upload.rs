//! Attachments staged for a transfer: uploaded as a stream, stored in chunks.

use hanoinet_core::request::FieldCode;
use hanoinet_store::AttachmentState;
use sha2::{Digest, Sha256};

use hanoinet_core::text::{Lines, clean};
use hanoinet_store::{Attachment, User};

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
    let name = match clean(name.unwrap_or_default(), MAX_NAME_CHARS, Lines::One) {
        Ok(n) if !n.contains(['/', '\\']) && n != "." && n != ".." => n,
        _ => {
            return Err(NodeError::Invalid(vec![field(
                "name",
                FieldCode::Invalid,
                "name is required: a file name of at most 200 characters, without slashes, control or bidirectional-override characters",
            )]));
        }
    };
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
