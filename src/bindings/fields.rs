//! Reading the app's option objects field by field (`undefined` and `null` mean "not given"),
//! with errors that name the field: a few `Reflect.get`s instead of a serde deserializer per
//! options type (kilobytes of wasm each), and IndexedDB keys and functions read as they are.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::{Error, Result};

/// The fields of one JS object; `path` prefixes the field names in errors (`"collections.a."`).
pub(crate) struct Fields<'a> {
    object: &'a JsValue,
    path: String,
    error: fn(String) -> Error,
}

impl<'a> Fields<'a> {
    /// The fields of `object`, which must be a (non-array) object; `error` makes the error of
    /// a field with the wrong type (`Error::InvalidOptions`, `Error::InvalidQuery`).
    pub(crate) fn of(
        object: &'a JsValue,
        path: String,
        error: fn(String) -> Error,
    ) -> Result<Self> {
        if !object.is_object() || Array::is_array(object) {
            let what = if path.is_empty() {
                "options"
            } else {
                path.trim_end_matches('.')
            };
            return Err(error(format!("{what} must be an object")));
        }
        Ok(Self {
            object,
            path,
            error,
        })
    }

    /// Field `name`, unless it is absent, `undefined` or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<JsValue> {
        let value = Reflect::get(self.object, &JsValue::from_str(name)).unwrap_or_default();
        (!value.is_undefined() && !value.is_null()).then_some(value)
    }

    /// The error for field `name`, which is not `what`.
    pub(crate) fn wrong(&self, name: &str, what: &str) -> Error {
        (self.error)(format!("{}{name} must be {what}", self.path))
    }

    /// `value`, read from the required field `name`, or the error that it is missing.
    pub(crate) fn required<T>(&self, value: Option<T>, name: &str, what: &str) -> Result<T> {
        value.ok_or_else(|| self.wrong(name, what))
    }

    /// A function field.
    pub(crate) fn function(&self, name: &str) -> Result<Option<JsValue>> {
        self.get(name)
            .map(|v| match v.is_function() {
                true => Ok(v),
                false => Err(self.wrong(name, "a function")),
            })
            .transpose()
    }

    /// A string field.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>> {
        self.get(name)
            .map(|v| v.as_string().ok_or_else(|| self.wrong(name, "a string")))
            .transpose()
    }

    /// A boolean field.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>> {
        self.get(name)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong(name, "a boolean")))
            .transpose()
    }

    /// A non-negative integer field of at most `u32::MAX`.
    pub(crate) fn u32(&self, name: &str) -> Result<Option<u32>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let n = value.as_f64().unwrap_or(-1.0);
        if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
            return Err(self.wrong(name, "a non-negative integer"));
        }
        Ok(Some(n as u32))
    }

    /// An array-of-strings field.
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let strings = value
            .dyn_ref::<Array>()
            .and_then(|a| a.iter().map(|s| s.as_string()).collect());
        strings
            .map(Some)
            .ok_or_else(|| self.wrong(name, "an array of strings"))
    }

    /// An object field's own enumerable entries, as the fields of each value, in key order.
    pub(crate) fn entries(&self, name: &str) -> Result<Option<Vec<(String, JsValue)>>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        if !value.is_object() || Array::is_array(&value) {
            return Err(self.wrong(name, "an object"));
        }
        let mut entries: Vec<(String, JsValue)> = Vec::new();
        for pair in Object::entries(value.unchecked_ref()).iter() {
            let pair: Array = pair.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            if let Err(i) = entries.binary_search_by(|(k, _)| k.cmp(&key)) {
                entries.insert(i, (key, pair.get(1)));
            }
        }
        Ok(Some(entries))
    }

    /// The path of field `name`'s own fields, for [`Fields::of`].
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}{name}.", self.path)
    }
}
