//! The wire's unit enums (`SyncStatus`, `Strategy`, `ResultStatus`, …) read back from their
//! names. Each enum keeps serde's derived `Serialize` (its `rename_all` spelling) and reads
//! through [`index`], one string visitor for all of them: serde's derived enum visitor is
//! instantiated per enum and per deserializer, kilobytes of the wasm package each.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// The position in `names` of the string `d` holds; any other string is serde's "unknown
/// variant" error, listing `names`.
pub(crate) fn index<'de, D: Deserializer<'de>>(
    d: D,
    names: &'static [&'static str],
) -> Result<usize, D::Error> {
    d.deserialize_str(Name(names))
}

struct Name(&'static [&'static str]);

impl Visitor<'_> for Name {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of ")?;
        for (i, name) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}`{name}`")?;
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|name| *name == v)
            .ok_or_else(|| E::unknown_variant(v, self.0))
    }
}

/// Implements `Deserialize` for a unit enum through [`index`]: `NAMES` lists the variants as
/// `Serialize` spells them, in the order of the variants given.
macro_rules! deserialize_by_name {
    ($ty:ty, [$($variant:ident = $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The variants' names on the wire, as `Serialize` writes them.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let i = $crate::protocol::names::index(d, Self::NAMES)?;
                // `index` only returns positions in `NAMES`, one per variant.
                [$(Self::$variant),+].get(i).copied().ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom("variant index out of range")
                })
            }
        }
    };
}
pub(crate) use deserialize_by_name;

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use crate::conflict::{FieldPolicy, Strategy, Winner};
    use crate::protocol::{ConflictStatus, Resolution, ResultStatus};
    use crate::record::SyncStatus;

    /// Every variant reads back from what `Serialize` writes, from text and from a `Value`; an
    /// unknown name is serde's usual error.
    fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(variants: &[T]) {
        for v in variants {
            let text = serde_json::to_string(v).unwrap();
            assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), v, "{text}");
            let value = serde_json::to_value(v).unwrap();
            assert_eq!(&serde_json::from_value::<T>(value).unwrap(), v, "{text}");
        }
        let error = serde_json::from_str::<T>("\"nope\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("unknown variant `nope`, expected "),
            "{error}"
        );
        let error = serde_json::from_str::<T>("1").unwrap_err().to_string();
        assert!(
            error.starts_with("invalid type: integer `1`, expected one of `"),
            "{error}"
        );
    }

    #[test]
    fn every_unit_enum_reads_back_what_it_writes() {
        use SyncStatus as S;
        round_trips(&[S::Synced, S::Unsynced, S::Conflict, S::Rejected]);
        use Strategy as St;
        round_trips(&[
            St::ServerWins,
            St::ClientWins,
            St::NewestWins,
            St::Merge,
            St::Manual,
        ]);
        round_trips(&[Winner::Server, Winner::Client, Winner::Merged]);
        round_trips(&[FieldPolicy::Max, FieldPolicy::Min]);
        use ResultStatus as R;
        round_trips(&[R::Applied, R::Skipped, R::Rejected, R::Conflict]);
        use ConflictStatus as C;
        round_trips(&[C::Open, C::Resolved, C::Auto, C::Superseded]);
        use Resolution as Res;
        round_trips(&[Res::Server, Res::Client, Res::Merged]);
        assert_eq!(S::NAMES, ["SYNCED", "UNSYNCED", "CONFLICT", "REJECTED"]);
    }
}
