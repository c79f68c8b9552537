//! [`LazyJson`]: a record's data kept as the JSON text it arrived in, parsed only when something
//! looks inside it.
//!
//! Most records a device pulls are only passed on: from the server's answer into a row, with
//! nothing reading a field. Kept as text, such a record costs a scan of its JSON and a copy of
//! the text, instead of a tree of allocated strings and maps built and written out again.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON value of type `T`, held as its text until first read ([`Deref`]) and as the value once
/// changed ([`DerefMut`]). Serializing writes the text as it came while the value is unchanged.
///
/// Its text reads as a `T` (a [`Fields`] is read from, or made of, an object's text only), with
/// one exception the scan cannot see: a lone UTF-16 surrogate escape (`"\ud83d"`) in a string,
/// which no parse accepts. A value read from such a text is `T::default()`. Text from outside is
/// therefore read with [`LazyJson::checked`] where its content matters (the server does, for every
/// pushed change), and the browser refuses such strings when the app writes them.
pub struct LazyJson<T> {
    /// The text, while the value has not been changed since.
    raw: Option<Box<RawValue>>,
    value: OnceLock<T>,
}

/// A record's fields: a JSON object, without `id` and `_sync`.
pub type Fields = LazyJson<Map<String, Value>>;

impl<T> LazyJson<T> {
    /// The JSON text, while it is what the value holds (until a change through [`DerefMut`]).
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref().map(RawValue::get)
    }
}

impl<T: DeserializeOwned + Default> LazyJson<T> {
    /// A value from its JSON text, which must read as a `T`.
    fn from_raw(raw: Box<RawValue>) -> Self {
        Self {
            raw: Some(raw),
            value: OnceLock::new(),
        }
    }

    /// The value, parsed.
    pub fn into_inner(self) -> T {
        self.parsed();
        self.value.into_inner().expect("parsed above")
    }

    /// The value, parsed now if it was not yet; the parse's error when the text, though it scanned
    /// as JSON, does not read as a `T` (a lone UTF-16 surrogate escape in a string, say).
    pub fn checked(&self) -> Result<&T, serde_json::Error> {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let value = match &self.raw {
            Some(raw) => serde_json::from_str(raw.get())?,
            None => T::default(),
        };
        Ok(self.value.get_or_init(|| value))
    }

    fn parsed(&self) -> &T {
        self.value.get_or_init(|| match &self.raw {
            // (Reads but for a lone surrogate: see the type's invariant.)
            Some(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
            None => T::default(),
        })
    }
}

impl LazyJson<Value> {
    /// The fields of an object value; any other value has none. Unparsed, they stay text.
    pub fn into_fields(self) -> Fields {
        match (self.raw, self.value.into_inner()) {
            (_, Some(Value::Object(map))) => map.into(),
            (Some(raw), None) => Fields::from_object_raw(raw).unwrap_or_default(),
            (_, _) => Fields::default(),
        }
    }
}

impl Fields {
    /// The fields of `text`, which must be a JSON object's text (the members of rows read back
    /// from the store, put together again); `None` when it is not.
    pub fn from_object_text(text: String) -> Option<Self> {
        Self::from_object_raw(RawValue::from_string(text).ok()?)
    }

    /// The fields of `raw` when it is an object's text.
    fn from_object_raw(raw: Box<RawValue>) -> Option<Self> {
        raw.get().starts_with('{').then(|| Self::from_raw(raw))
    }

    /// The fields as a JSON value: still their text while they are unchanged.
    pub fn to_value(&self) -> LazyJson<Value> {
        match &self.raw {
            Some(raw) => LazyJson::from_raw(raw.clone()),
            None => Value::Object((**self).clone()).into(),
        }
    }
}

impl<T> From<T> for LazyJson<T> {
    fn from(value: T) -> Self {
        Self {
            raw: None,
            value: OnceLock::from(value),
        }
    }
}

impl<T: Default> Default for LazyJson<T> {
    fn default() -> Self {
        T::default().into()
    }
}

impl<T: DeserializeOwned + Default> Deref for LazyJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.parsed()
    }
}

impl<T: DeserializeOwned + Default> DerefMut for LazyJson<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.parsed();
        self.raw = None;
        self.value.get_mut().expect("parsed above")
    }
}

impl<T: Clone> Clone for LazyJson<T> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            value: self.value.clone(),
        }
    }
}

impl<T: DeserializeOwned + Default + PartialEq> PartialEq for LazyJson<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.raw(), other.raw()) {
            (Some(a), Some(b)) if a == b => true,
            _ => **self == **other,
        }
    }
}

impl<T: DeserializeOwned + Default + PartialEq> PartialEq<T> for LazyJson<T> {
    fn eq(&self, other: &T) -> bool {
        **self == *other
    }
}

impl<T: DeserializeOwned + Default + fmt::Debug> fmt::Debug for LazyJson<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Serialize> Serialize for LazyJson<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.raw, self.value.get()) {
            (Some(raw), _) => raw.serialize(s),
            (None, Some(value)) => value.serialize(s),
            // Unreachable: without its text, a value is always set.
            (None, None) => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for LazyJson<Value> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self::from_raw)
    }
}

impl<'de> Deserialize<'de> for Fields {
    /// Any JSON object (its text is only scanned, as any JSON text is by the deserializer).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_object_raw(Box::<RawValue>::deserialize(d)?)
            .ok_or_else(|| serde::de::Error::custom("expected a JSON object"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lazy<T>(text: &str) -> LazyJson<T>
    where
        LazyJson<T>: DeserializeOwned,
    {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn checked_tells_text_that_scans_but_does_not_read() {
        // A lone surrogate escape passes the scan (escapes are not decoded) but not a parse.
        let cut: LazyJson<Value> = lazy(r#"{"t": "\ud83d"}"#);
        let err = cut.checked().expect_err("no valid string");
        assert!(err.to_string().contains("escape"), "{err}");
        let whole: LazyJson<Value> = lazy(r#"{"t": "\ud83d\ude00"}"#);
        assert_eq!(whole.checked().unwrap(), &json!({"t": "\u{1f600}"}));
        assert_eq!(
            whole.raw(),
            Some(r#"{"t": "\ud83d\ude00"}"#),
            "the text is kept"
        );
    }

    #[test]
    fn a_value_is_read_from_its_text_and_written_back_as_it_came() {
        let text = r#"{"b": 1,  "a": [true, null, "é"]}"#;
        let fields: Fields = lazy(text);
        assert_eq!(fields.raw(), Some(text));
        assert_eq!(fields.get("b"), Some(&json!(1)));
        assert_eq!(fields.raw(), Some(text), "reading keeps the text");
        assert_eq!(serde_json::to_string(&fields).unwrap(), text);
    }

    #[test]
    fn a_change_drops_the_text() {
        let mut fields: Fields = lazy(r#"{"a":1}"#);
        fields.insert("b".into(), json!(2));
        assert_eq!(fields.raw(), None);
        assert_eq!(serde_json::to_string(&fields).unwrap(), r#"{"a":1,"b":2}"#);
        let built: Fields = json!({"a": 1, "b": 2}).as_object().cloned().unwrap().into();
        assert_eq!(fields, built);
    }

    #[test]
    fn equal_values_are_equal_whatever_their_text() {
        assert_eq!(
            lazy::<Value>(r#"{"a": 1, "b": 2}"#),
            lazy(r#"{"b":2,"a":1}"#)
        );
        assert_ne!(lazy::<Value>(r#"{"a": 1}"#), lazy(r#"{"a": 2}"#));
        assert_eq!(lazy::<Value>("null"), LazyJson::from(Value::Null));
    }

    #[test]
    fn only_an_object_has_fields() {
        let fields = |v: LazyJson<Value>| v.into_fields();
        assert_eq!(
            *fields(lazy(r#"{"a":1}"#)),
            *json!({"a": 1}).as_object().unwrap()
        );
        assert_eq!(fields(lazy(r#"{"a":1}"#)).raw(), Some(r#"{"a":1}"#));
        assert!(fields(lazy("[1]")).is_empty());
        assert!(fields(lazy("null")).is_empty());
        assert!(fields(LazyJson::from(json!({"a": 1}))).contains_key("a"));
        // Where an object is expected, anything else is refused.
        assert!(serde_json::from_str::<Fields>("[1]").is_err());
    }

    #[test]
    fn a_field_keeps_its_own_text_only() {
        #[derive(Deserialize)]
        struct Page {
            data: Fields,
            next: LazyJson<Value>,
        }
        let page: Page =
            serde_json::from_str("{\"data\" :  { \"a\" : 1 } , \"next\": null }").unwrap();
        assert_eq!(page.data.raw(), Some("{ \"a\" : 1 }"));
        assert_eq!(page.next.raw(), Some("null"));
    }

    #[test]
    fn fields_from_their_text_stay_text_as_a_value() {
        let fields =
            Fields::from_object_text(r#"{"a":[1,{"b":null}],"c":"\u00e9"}"#.into()).unwrap();
        let value = fields.to_value();
        assert_eq!(value.raw(), fields.raw());
        assert_eq!(*value, json!({"a": [1, {"b": null}], "c": "é"}));
        assert!(Fields::from_object_text("[1]".into()).is_none());
        assert!(Fields::from_object_text("{\"a\":".into()).is_none());
        let built = Fields::from(json!({"a": 1}).as_object().cloned().unwrap());
        assert_eq!(built.to_value().raw(), None);
        assert_eq!(*built.to_value(), json!({"a": 1}));
    }

    #[test]
    fn values_read_through_a_value_deserializer_too() {
        let fields: Fields = serde_json::from_value(json!({"a": [1, 2]})).unwrap();
        assert_eq!(fields.get("a"), Some(&json!([1, 2])));
        assert_eq!(serde_json::to_value(&fields).unwrap(), json!({"a": [1, 2]}));
    }
}
