//! The engine's configuration and the meta keys it keeps in the local store.

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
/// Meta key of the collections the pull cursor covers (the names, sorted), written with it. A
/// collection the config adds later (a newer version of the app) has records behind the cursor
/// that were never pulled, so the next pull starts over from the beginning.
pub const META_PULLED: &str = "pulledCollections";
/// Meta key of the end time of the last successful cycle.
pub const META_LAST_SYNC_AT: &str = "lastSyncAt";

/// Largest batch the protocol allows (push changes and pull page size).
pub const MAX_BATCH_SIZE: usize = 1000;
/// Default batch size.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// Which collections sync, with which conflict policy, in batches of what size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Every synced collection (once each) and its policy, sent with each push. A list, not a
    /// map: an app has a handful, and the package is smaller without another map type.
    collections: Vec<(String, CollectionPolicy)>,
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
        let config = Self {
            collections: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
        };
        collections.into_iter().fold(config, |config, name| {
            config.with_policy(&name.into(), CollectionPolicy::default())
        })
    }

    /// The same config with `policy` for `collection` (added when it is new).
    pub fn with_policy(mut self, collection: &str, policy: CollectionPolicy) -> Self {
        match self.collections.iter_mut().find(|(c, _)| c == collection) {
            Some((_, p)) => *p = policy,
            None => self.collections.push((collection.to_owned(), policy)),
        }
        self
    }

    /// The same config with another batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The policy of `collection`; `None` when it does not sync.
    pub fn policy(&self, collection: &str) -> Option<&CollectionPolicy> {
        self.collections
            .iter()
            .find(|(c, _)| c == collection)
            .map(|(_, p)| p)
    }

    /// The synced collections' names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.collections.iter().map(|(c, _)| c.as_str())
    }
}
