//! The engine's configuration and the meta keys it keeps in the local store.

use std::collections::BTreeMap;

use crate::conflict::CollectionPolicy;

/// Meta key of this device's id.
pub const META_DEVICE_ID: &str = "deviceId";
/// Meta key of the pull cursor.
pub const META_CURSOR: &str = "cursor";
/// Meta key of the newest hybrid-logical-clock stamp issued or seen.
pub const META_HLC: &str = "hlc";
/// Meta key of the last outbox position handed out.
pub const META_SEQ: &str = "seq";
/// Meta key of the open manual conflicts' details (the server's side of each).
pub const META_CONFLICTS: &str = "conflicts";
/// Meta key set (`true`) while the pull must bring this device's own writes too: after
/// [`Engine::discard_rejected`](super::Engine::discard_rejected) reset the cursor to fetch a
/// record's server version again. Cleared when that pull reaches the end.
pub const META_PULL_OWN: &str = "pullOwn";
/// Meta key of the end time of the last successful cycle.
pub const META_LAST_SYNC_AT: &str = "lastSyncAt";

/// Largest batch the protocol allows (push changes and pull page size).
pub const MAX_BATCH_SIZE: usize = 1000;
/// Default batch size.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// Which collections sync, with which conflict policy, in batches of what size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Every synced collection and its policy (sent with each push).
    pub collections: BTreeMap<String, CollectionPolicy>,
    /// Changes per push request and records per pull page, `1..=1000` (clamped).
    pub batch_size: usize,
}

impl Config {
    /// `collections` with the default policy (`newest_wins`) and batch size.
    pub fn new<I, S>(collections: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            collections: collections
                .into_iter()
                .map(|c| (c.into(), CollectionPolicy::default()))
                .collect(),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// The same config with `policy` for `collection`.
    pub fn with_policy(mut self, collection: &str, policy: CollectionPolicy) -> Self {
        self.collections.insert(collection.to_owned(), policy);
        self
    }

    /// The same config with another batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
}
