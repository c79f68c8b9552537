//! The shapes that cross the JS boundary, with generated TypeScript (`tsify`), plus the record
//! types no Rust struct describes (a record is the app's own object).

use ferrysync_core::engine::{Config, MAX_BATCH_SIZE};
use ferrysync_core::error::Quoted;
use ferrysync_core::query::RangeSpec;
use ferrysync_core::CollectionPolicy;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use super::fields::Fields;
use crate::{Error, Result};

#[wasm_bindgen(typescript_custom_section)]
const TS_RECORDS: &'static str = r#"
/** Where a record stands with the server. */
export type SyncStatus = "SYNCED" | "UNSYNCED" | "CONFLICT" | "REJECTED";

/** The `_sync` metadata of every record read. */
export interface SyncInfo {
  status: SyncStatus;
  /** Last server version this device knows of; absent before the first sync. */
  version?: number;
  /** Local time of the last change, ms since the Unix epoch. */
  updatedAt: number;
}

/** A record to write: any JSON-compatible object; `id` is generated (UUID v4) when absent. */
export type RecordInput = { id?: string; [field: string]: unknown };

/** A record as read: the app's fields, `id` and `_sync`. */
export type StoredRecord = { id: string; _sync: SyncInfo; [field: string]: unknown };

/** One change delivered to `subscribe` callbacks (local writes and pulled changes). */
export type ChangeEvent =
  | { op: "put"; collection: string; id: string; record: StoredRecord }
  | { op: "delete"; collection: string; id: string };
"#;

/// Options of `FerrySync.open`; keys this version does not know are ignored.
#[derive(Debug, Clone, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    /// IndexedDB database name.
    pub name: String,
    /// The sync server's base URL (used by the sync engine). The sync options are typed `never`
    /// in the store alone (`ferrysync/store`), which refuses a `serverUrl`.
    #[cfg_attr(feature = "sync", tsify(optional))]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub server_url: Option<String>,
    /// Collections by name.
    #[tsify(type = "Record<string, CollectionConfig>")]
    pub collections: Entries<CollectionConfig>,
    /// Bearer token for the sync server.
    #[cfg_attr(feature = "sync", tsify(optional))]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub token: Option<String>,
    /// Returns a (fresh) token; called when there is none and once again after a 401.
    #[cfg_attr(
        feature = "sync",
        tsify(optional, type = "() => string | Promise<string>")
    )]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub get_token: JsValue,
    /// Sync on `online`, after local writes (debounced) and every `syncIntervalMs` (default true).
    #[cfg_attr(feature = "sync", tsify(optional))]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub auto_sync: Option<bool>,
    /// Interval between automatic cycles, in ms (default 300000).
    #[cfg_attr(feature = "sync", tsify(optional))]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub sync_interval_ms: Option<u32>,
    /// Changes per push request and records per pull page, 1 to 1000 (default 500; anything else
    /// is an `INVALID_OPTIONS` error).
    #[cfg_attr(feature = "sync", tsify(optional))]
    #[cfg_attr(not(feature = "sync"), tsify(optional, type = "never"))]
    pub batch_size: Option<u32>,
}

/// One collection's configuration.
#[derive(Debug, Clone, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CollectionConfig {
    /// Fields to index for `query`.
    #[tsify(optional)]
    pub indexes: Vec<String>,
    /// Conflict policy name (`"newest_wins"` when absent), applied by the server.
    #[tsify(
        optional,
        type = "\"newest_wins\" | \"server_wins\" | \"client_wins\" | \"merge\" | \"manual\""
    )]
    pub conflict: Option<String>,
    /// Per-field policies applied to every write, e.g. `{ score: "max" }` (a score only goes up).
    #[tsify(optional, type = "Record<string, \"max\" | \"min\">")]
    pub fields: Entries<String>,
}

impl OpenOptions {
    /// Reads the options object; a missing or mistyped field is an `INVALID_OPTIONS` error
    /// naming it.
    pub(crate) fn from_js(options: &JsValue) -> Result<Self> {
        let f = Fields::of(options, String::new(), Error::InvalidOptions)?;
        let mut collections = Vec::new();
        let entries = f.required(f.entries("collections")?, "collections", "an object")?;
        for (name, value) in entries {
            let c = Fields::of(
                &value,
                f.path(&format!("collections.{name}")),
                Error::InvalidOptions,
            )?;
            let mut fields = Vec::new();
            for (field, rule) in c.entries("fields")?.unwrap_or_default() {
                let rule = rule
                    .as_string()
                    .ok_or_else(|| c.wrong(&format!("fields.{field}"), "a string"))?;
                fields.push((field, rule));
            }
            let config = CollectionConfig {
                indexes: c.strings("indexes")?.unwrap_or_default(),
                conflict: c.string("conflict")?,
                fields: Entries(fields),
            };
            collections.push((name, config));
        }
        Ok(Self {
            name: f.required(f.string("name")?, "name", "a string")?,
            server_url: f.string("serverUrl")?,
            collections: Entries(collections),
            token: f.string("token")?,
            get_token: f.function("getToken")?.unwrap_or_default(),
            auto_sync: f.bool("autoSync")?,
            sync_interval_ms: f.u32("syncIntervalMs")?,
            batch_size: f
                .u32("batchSize")?
                .map(|n| match (1..=MAX_BATCH_SIZE as u32).contains(&n) {
                    true => Ok(n),
                    false => Err(f.wrong(
                        "batchSize",
                        &format!("an integer from 1 to {MAX_BATCH_SIZE}"),
                    )),
                })
                .transpose()?,
        })
    }

    /// The sync engine's config: every collection with its strategy and field policies, and the
    /// batch size. An unknown strategy or field policy is an `INVALID_OPTIONS` error.
    pub(crate) fn sync_config(&self) -> Result<Config> {
        let mut config = Config::new(self.collections.keys().cloned());
        for (name, collection) in self.collections.iter() {
            let mut policy = CollectionPolicy::default();
            if let Some(conflict) = &collection.conflict {
                policy.strategy = parse(conflict, "conflict strategy", name)?;
            }
            for (field, rule) in collection.fields.iter() {
                policy
                    .fields
                    .insert(field.clone(), parse(rule, "field policy", name)?);
            }
            config = config.with_policy(name, policy);
        }
        if let Some(batch) = self.batch_size {
            config = config.with_batch_size(batch as usize);
        }
        Ok(config)
    }
}

/// An options object's entries sorted by key: a `Vec`, as options have a few entries and every
/// `BTreeMap` type costs the wasm package kilobytes.
#[derive(Debug, Clone)]
pub struct Entries<V>(pub Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Entries<V> {
    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// One of core's snake_case policy names, or an `INVALID_OPTIONS` error naming what was wrong.
fn parse<T: serde::de::DeserializeOwned>(value: &str, what: &str, collection: &str) -> Result<T> {
    serde_json::from_value(value.into()).map_err(|_| {
        Error::InvalidOptions(format!(
            "unknown {what} {} for {}",
            Quoted(value),
            Quoted(collection)
        ))
    })
}

/// Options of `query`: an index (the id when absent), a range, a limit and a direction.
#[derive(Debug, Clone, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct QueryOptions {
    /// Index (field) to range over; `"id"` or absent: the record id.
    #[tsify(optional)]
    pub index: Option<String>,
    /// Exactly this key.
    #[tsify(optional, type = "IDBValidKey")]
    pub eq: JsValue,
    /// Keys greater than this.
    #[tsify(optional, type = "IDBValidKey")]
    pub gt: JsValue,
    /// Keys greater than or equal to this.
    #[tsify(optional, type = "IDBValidKey")]
    pub gte: JsValue,
    /// Keys less than this.
    #[tsify(optional, type = "IDBValidKey")]
    pub lt: JsValue,
    /// Keys less than or equal to this.
    #[tsify(optional, type = "IDBValidKey")]
    pub lte: JsValue,
    /// Most records to return.
    #[tsify(optional)]
    pub limit: Option<u32>,
    /// Highest keys first.
    #[tsify(optional)]
    pub reverse: bool,
}

impl QueryOptions {
    /// Reads the options object (`undefined` and `null` fields mean "not given"); a field of the
    /// wrong type is an `INVALID_QUERY` error naming it. The bounds are IndexedDB keys (dates,
    /// arrays, binary), kept as they are.
    pub(crate) fn from_js(options: &JsValue) -> Result<Self> {
        let f = Fields::of(options, String::new(), Error::InvalidQuery)?;
        let key = |name: &str| f.get(name).unwrap_or_default();
        Ok(Self {
            index: f.string("index")?,
            eq: key("eq"),
            gt: key("gt"),
            gte: key("gte"),
            lt: key("lt"),
            lte: key("lte"),
            limit: f.u32("limit")?,
            reverse: f.bool("reverse")?.unwrap_or_default(),
        })
    }

    /// The bounds as core's range spec (`undefined` means "not given").
    pub(crate) fn range_spec(&self) -> RangeSpec<JsValue> {
        let given = |v: &JsValue| (!v.is_undefined()).then(|| v.clone());
        RangeSpec {
            eq: given(&self.eq),
            gt: given(&self.gt),
            gte: given(&self.gte),
            lt: given(&self.lt),
            lte: given(&self.lte),
        }
    }
}
