//! Resumable uploads: an upload declares its size (and, optionally, its SHA-256), receives its
//! bytes in order over as many calls as it takes, and becomes an attachment with its last byte.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;

use crate::records::ts;
use crate::*;

/// An upload in progress. Its chunks are staged under its id, which the attachment keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub request_id: String,
    /// Who started it: only they may add to it.
    pub user_id: String,
    pub name: String,
    /// Declared size in bytes.
    pub size: i64,
    /// Declared SHA-256 (lower-case hex), checked when the last byte is in.
    pub sha256: Option<String>,
    /// Bytes stored so far (whole chunks, then the last one).
    pub received: i64,
    /// Chunks stored so far.
    pub chunks: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const UPLOAD_COLUMNS: &str =
    "id, request_id, user_id, name, size, sha256, bytes_received, chunks, created_at, updated_at";

fn upload_row<R>(r: &R) -> Result<Upload, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Upload {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        received: r.try_get("bytes_received")?,
        chunks: r.try_get("chunks")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
    })
}

impl Store {
    pub async fn create_upload(&self, u: &Upload) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(&format!(
                "INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&u.id)
            .bind(&u.request_id)
            .bind(&u.user_id)
            .bind(&u.name)
            .bind(u.size)
            .bind(u.sha256.as_deref())
            .bind(u.received)
            .bind(u.chunks)
            .bind(to_micros(u.created_at))
            .bind(to_micros(u.updated_at))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<Upload>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        with_read!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(upload_row).transpose()
        })
    }

    /// Adds the next chunk of an upload, if it still stands at `received` bytes and `idx`
    /// chunks (compare-and-set: of two calls adding at the same offset, on any replica, one
    /// wins). Returns false when the upload moved on (or is gone).
    pub async fn append_upload_chunk(
        &self,
        id: &str,
        received: i64,
        idx: i64,
        data: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let len = i64::try_from(data.len()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let out = with_tx!(self, |tx| {
            let moved = sqlx::query(
                "UPDATE uploads SET bytes_received = bytes_received + $1, chunks = chunks + 1, updated_at = $2
                 WHERE id = $3 AND bytes_received = $4 AND chunks = $5",
            )
            .bind(len)
            .bind(to_micros(at))
            .bind(id)
            .bind(received)
            .bind(idx)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if moved {
                sqlx::query(
                    "INSERT INTO attachment_chunks (attachment_id, idx, data, received_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (attachment_id, idx) DO UPDATE SET data = excluded.data",
                )
                .bind(id)
                .bind(idx)
                .bind(data)
                .bind(to_micros(at))
                .execute(&mut *tx)
                .await?;
            }
            moved
        });
        Ok(out)
    }

    /// Ends a complete upload: the upload goes and its attachment (same id, same chunks) comes,
    /// in one transaction. Returns false if the upload was already gone.
    pub async fn finish_upload(&self, a: &Attachment) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let gone = sqlx::query("DELETE FROM uploads WHERE id = $1")
                .bind(&a.id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if gone {
                insert_attachment!(tx, a);
            }
            gone
        });
        Ok(out)
    }

    /// Abandons an upload and what it stored.
    pub async fn drop_upload(&self, id: &str) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let gone = sqlx::query("DELETE FROM uploads WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if gone {
                sqlx::query("DELETE FROM attachment_chunks WHERE attachment_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            gone
        });
        Ok(out)
    }
}
