//! The sync half of the JS API: `sync()`, `status()`, `onStatus()`, conflicts and rejected
//! changes. Each method converts, forwards to core's engine (through [`SyncDriver`]) and
//! converts back.

use std::rc::Rc;

use ferrysync_core::engine::{Choice, Status};
use ferrysync_core::error::Quoted;
use js_sys::Function;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::FerrySync;
use crate::client::Inner;
use crate::network::{to_js, SyncDriver};
use crate::{Error, Result};

#[wasm_bindgen(typescript_custom_section)]
const TS_SYNC: &'static str = r#"
/** What one sync cycle did. */
export interface SyncReport {
  pushed: number; pulled: number; applied: number; skipped: number;
  rejected: number; conflicts: number; durationMs: number;
}

/** Sync status; `pending` is the number of UNSYNCED records. */
export interface SyncStatusInfo {
  online: boolean;
  syncing: boolean;
  pending: number;
  conflicts: number;
  rejected: number;
  lastSyncAt: number | null;
  lastError: { code: FerrysyncErrorCode; message: string } | null;
  health: "good" | "degraded" | "offline";
}

/** An open manual conflict. */
export interface Conflict {
  id: string;
  collection: string;
  recordId: string;
  local: Record<string, unknown> | null;
  remote: Record<string, unknown> | null;
  strategy: "manual";
  createdAt: string;
}

/** A change the server refused. */
export interface RejectedChange {
  id: string;
  collection: string;
  recordId: string;
  reason: string;
  data: Record<string, unknown> | null;
}
"#;

/// Starts the sync loop when the options name a server.
pub(super) async fn attach(inner: &Rc<Inner>) -> Result<()> {
    let Some(url) = inner.options.server_url.clone() else {
        return Ok(());
    };
    let driver = SyncDriver::start(inner, &url).await?;
    *inner.sync.borrow_mut() = Some(driver);
    Ok(())
}

/// Stops the sync loop (the database is closing).
pub(super) fn detach(inner: &Inner) {
    if let Some(driver) = inner.sync.borrow_mut().take() {
        driver.stop();
    }
}

fn driver(inner: &Inner) -> Result<Rc<SyncDriver>> {
    inner.sync.borrow().clone().ok_or(Error::NoServer)
}

fn js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    to_js(value).map_err(|e| Error::from(e).into())
}

fn status_js(status: &Status) -> JsValue {
    to_js(status).unwrap_or(JsValue::NULL)
}

#[wasm_bindgen]
impl FerrySync {
    /// Runs one sync cycle now: push every UNSYNCED change, then pull every page.
    #[wasm_bindgen(unchecked_return_type = "SyncReport")]
    pub async fn sync(&self) -> Result<JsValue, JsValue> {
        let driver = driver(&self.inner)?;
        let report = driver.sync_now().await?;
        js(&report)
    }

    /// The current sync status.
    #[wasm_bindgen(unchecked_return_type = "SyncStatusInfo")]
    pub fn status(&self) -> Result<JsValue, JsValue> {
        Ok(status_js(&driver(&self.inner)?.engine.status()))
    }

    /// Calls `callback` with every new status; returns a function that unsubscribes.
    #[wasm_bindgen(js_name = onStatus, unchecked_return_type = "() => void")]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(status: SyncStatusInfo) => void")]
        callback: Function,
    ) -> Result<JsValue, JsValue> {
        let callback = super::checked(callback)?;
        let driver = driver(&self.inner)?;
        let handle = driver.engine.on_status(Rc::new(move |status: &Status| {
            let _ = callback.call1(&JsValue::NULL, &status_js(status));
        }));
        let weak = Rc::downgrade(&driver);
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(driver) = weak.upgrade() {
                driver.engine.off_status(handle);
            }
        });
        Ok(off.into_js_value())
    }

    /// Open manual conflicts, with both versions.
    #[wasm_bindgen(unchecked_return_type = "Conflict[]")]
    pub async fn conflicts(&self) -> Result<JsValue, JsValue> {
        let driver = driver(&self.inner)?;
        let conflicts = driver.engine.conflicts().await.map_err(Error::from)?;
        js(&conflicts)
    }

    /// Resolves conflict `id` with this device's version, the server's, or merged data.
    #[wasm_bindgen(js_name = resolveConflict, unchecked_return_type = "StoredRecord | undefined")]
    pub async fn resolve_conflict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"local\" | \"remote\" | Record<string, unknown>")]
        choice: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = super::text(&id, "id")?;
        let driver = driver(&self.inner)?;
        let choice = choice_of(&choice)?;
        let record = driver
            .engine
            .resolve_conflict(&id, choice)
            .await
            .map_err(Error::from)?;
        driver.catch_up_clock();
        if record.deleted {
            return Ok(JsValue::UNDEFINED);
        }
        Ok(crate::store::row::row_of(&record).map_err(Error::from)?)
    }

    /// Changes the server refused, with its reasons.
    #[wasm_bindgen(unchecked_return_type = "RejectedChange[]")]
    pub async fn rejected(&self) -> Result<JsValue, JsValue> {
        let driver = driver(&self.inner)?;
        let rejected = driver.engine.rejected().await.map_err(Error::from)?;
        js(&rejected)
    }

    /// Drops the refused change `id`: the record returns to the server's version, fetched at
    /// once when online (else brought back by the next sync).
    #[wasm_bindgen(js_name = discardRejected)]
    pub async fn discard_rejected(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<(), JsValue> {
        let id = super::text(&id, "id")?;
        let driver = driver(&self.inner)?;
        driver
            .engine
            .discard_rejected(&id)
            .await
            .map_err(Error::from)?;
        driver.catch_up_clock();
        Ok(())
    }
}

/// `"local"`, `"remote"` or a plain object (merged data; `id` and `_sync` are ignored).
fn choice_of(value: &JsValue) -> Result<Choice> {
    if let Some(text) = value.as_string() {
        return match text.as_str() {
            "local" => Ok(Choice::Local),
            "remote" => Ok(Choice::Remote),
            other => Err(ferrysync_core::Error::InvalidArgument(format!(
                "resolution must be \"local\", \"remote\" or an object, not {}",
                Quoted(other)
            ))
            .into()),
        };
    }
    let data: Value = crate::store::row::from_js(value.clone())
        .map_err(|e| ferrysync_core::Error::InvalidArgument(e.to_string()))?;
    let Value::Object(mut map) = data else {
        return Err(ferrysync_core::Error::InvalidArgument(
            "merged data must be a plain object".to_owned(),
        )
        .into());
    };
    map.remove("id");
    map.remove("_sync");
    Ok(Choice::Merged(map))
}
