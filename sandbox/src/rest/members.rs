//! `GET /api/members` (any session; `server/internal/api/members`).
//!
//! The room authenticates like Neko's `multiuser` provider: passwords decide the role and no
//! member is ever stored, so — as on a real `multiuser` server, whose `SelectAll` returns an
//! empty map — the list is always empty. `limit` and `offset` are accepted and, as there,
//! change nothing.

use axum::Json;
use serde_json::Value;

use super::extract::Caller;

/// `GET /api/members[?limit=&offset=]`: `200 []`.
pub(super) async fn list(_caller: Caller) -> Json<Vec<Value>> {
    Json(Vec::new())
}
