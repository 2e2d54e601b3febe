//! The change feed in PostgreSQL.
//!
//! Writers take a transaction-scoped advisory lock just before they add their rows, as the
//! last step before commit, so sequence numbers are handed out in commit order: a reader that
//! sees change N also sees every change before it. The same transaction sends
//! `NOTIFY tlsdeck_changes`, which PostgreSQL delivers on commit.

use ::postgres::{Client, Transaction};
use uuid::Uuid;

use super::listen::CHANNEL;
use super::{backend, get, id_at};
use crate::encoding::{CHANGES_KEPT, now, ts};
use crate::{Change, ChangeKind, Result, StoreError};

/// The advisory lock that orders writers of the change feed ("tlsdeck" + 2).
const CHANGES_LOCK: i64 = 0x746c_7364_6563_6b02;

/// Records that items of an org changed; call it last, just before commit.
pub(super) fn record(
    tx: &mut Transaction<'_>,
    org: Uuid,
    items: &[(ChangeKind, Uuid)],
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    let ids: Vec<String> = items.iter().map(|(_, id)| id.to_string()).collect();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).map_err(backend)?;
    tx.execute(
        "INSERT INTO changes (kind, id, org_id, at)
         SELECT kind, id, $3, $4 FROM unnest($1::text[], $2::text[]) AS item (kind, id)",
        &[&kinds, &ids, &org.to_string(), &ts(now())],
    )
    .map_err(backend)?;
    tx.execute(
        "DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - $1",
        &[&CHANGES_KEPT],
    )
    .map_err(backend)?;
    tx.batch_execute(&format!("NOTIFY {CHANNEL}")).map_err(backend)
}

pub(super) fn last(c: &mut Client) -> Result<i64> {
    let row = c.query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[]).map_err(backend)?;
    get(&row, 0)
}

pub(super) fn since(c: &mut Client, seq: i64, limit: u32) -> Result<Vec<Change>> {
    let rows = c
        .query(
            "SELECT seq, kind, id, org_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&seq, &i64::from(limit)],
        )
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let seq: i64 = get(r, 0)?;
            let kind: &str = get(r, 1)?;
            let kind = ChangeKind::from_name(kind).ok_or_else(|| StoreError::Corrupt {
                id: format!("change {seq}"),
                reason: format!("unknown kind {kind}"),
            })?;
            Ok(Change { seq, kind, id: id_at(r, 2)?, org_id: id_at(r, 3)? })
        })
        .collect()
}
