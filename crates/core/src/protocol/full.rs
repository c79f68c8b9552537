//! `POST /api/sync/full`: a push then a pull in one round trip.

use serde::{Deserialize, Serialize};

use super::change::{Change, ServerRecord};
use super::pull::{PullRequest, PullResponse};
use super::push::{PushRequest, PushResponse};
use crate::conflict::CollectionPolicy;

/// A push and the pull that follows it; both name the same device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullRequest<C = Change, P = CollectionPolicy> {
    /// Applied first.
    #[serde(bound(deserialize = "C: Deserialize<'de>, P: Deserialize<'de> + Default"))]
    pub push: PushRequest<C, P>,
    /// Served after the push committed, so it includes the push's own writes.
    pub pull: PullRequest,
}

/// The results of both halves (`R`: how the pull's records are held, see [`PullResponse`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullResponse<R = ServerRecord> {
    /// The push's per-change results.
    pub push: PushResponse,
    /// The pull's page.
    pub pull: PullResponse<R>,
}
