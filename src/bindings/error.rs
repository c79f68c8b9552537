//! The one place errors become JS values: a real `Error` with `name = "FerrysyncError"`, a
//! stable `code` and the message, and the TypeScript union of every code.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** Stable codes of the errors ferrysync throws (`error.code`). */
export type FerrysyncErrorCode =
  | "INVALID_OPTIONS"
  | "INVALID_RECORD"
  | "INVALID_QUERY"
  | "UNKNOWN_COLLECTION"
  | "QUOTA_EXCEEDED"
  | "DB_BLOCKED"
  | "DB_NEWER"
  | "CLOSED"
  | "STORAGE_ERROR"
  | "NO_SERVER"
  | "OFFLINE"
  | "NETWORK"
  | "UNAUTHORIZED"
  | "SERVER_UNAVAILABLE"
  | "REQUEST_REFUSED"
  | "INVALID_RESPONSE"
  | "SYNC_BUSY"
  | "NOT_FOUND"
  | "CONFLICT_OUTDATED"
  | "INVALID_ARGUMENT"
  | "PROTOCOL_ERROR";

/** What every rejected ferrysync promise carries. */
export interface FerrysyncError extends Error {
  name: "FerrysyncError";
  code: FerrysyncErrorCode;
}
"#;

/// Builds the JS error for `error`.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("FerrysyncError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &"code".into(), &error.code().into());
    js.into()
}

impl From<Error> for JsValue {
    fn from(error: Error) -> Self {
        to_js(&error)
    }
}
