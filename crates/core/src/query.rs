//! Range queries over one index: the app's `{ eq, gt, gte, lt, lte }` options checked and turned
//! into at most one lower and one upper bound, whatever the key type (the browser uses JS values).

use serde::{Deserialize, Serialize};

/// The bound options of a query, as the app gives them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RangeSpec<K> {
    /// Exactly this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<K>,
    /// Keys greater than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<K>,
    /// Keys greater than or equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<K>,
    /// Keys less than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<K>,
    /// Keys less than or equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<K>,
}

/// One end of a range: the key and whether the key itself is excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound<K> {
    /// The boundary key.
    pub key: K,
    /// True when the boundary key itself is excluded (`gt`, `lt`).
    pub open: bool,
}

/// A checked key range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range<K> {
    /// Every key.
    All,
    /// Exactly one key.
    Only(K),
    /// Keys between the bounds; a missing bound is unbounded.
    Between {
        /// Lower bound.
        lower: Option<Bound<K>>,
        /// Upper bound.
        upper: Option<Bound<K>>,
    },
}

/// Why query options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// `eq` was combined with a range bound.
    #[error("`eq` cannot be combined with `gt`, `gte`, `lt` or `lte`")]
    EqWithRange,
    /// Both `gt` and `gte` (or both `lt` and `lte`) were given.
    #[error("only one of `{0}` and `{1}` may be given")]
    TwoBounds(&'static str, &'static str),
}

impl<K> RangeSpec<K> {
    /// The range these options describe, or why they are contradictory.
    pub fn range(self) -> Result<Range<K>, QueryError> {
        let lower = one_of(self.gt, self.gte, "gt", "gte")?;
        let upper = one_of(self.lt, self.lte, "lt", "lte")?;
        match (self.eq, lower, upper) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(QueryError::EqWithRange),
            (Some(key), None, None) => Ok(Range::Only(key)),
            (None, None, None) => Ok(Range::All),
            (None, lower, upper) => Ok(Range::Between { lower, upper }),
        }
    }
}

fn one_of<K>(
    open: Option<K>,
    closed: Option<K>,
    open_name: &'static str,
    closed_name: &'static str,
) -> Result<Option<Bound<K>>, QueryError> {
    match (open, closed) {
        (Some(_), Some(_)) => Err(QueryError::TwoBounds(open_name, closed_name)),
        (Some(key), None) => Ok(Some(Bound { key, open: true })),
        (None, Some(key)) => Ok(Some(Bound { key, open: false })),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RangeSpec<i32> {
        RangeSpec::default()
    }

    #[test]
    fn no_options_is_everything() {
        assert_eq!(spec().range(), Ok(Range::All));
    }

    #[test]
    fn eq_is_one_key() {
        let s = RangeSpec {
            eq: Some(3),
            ..spec()
        };
        assert_eq!(s.range(), Ok(Range::Only(3)));
    }

    #[test]
    fn bounds_keep_openness() {
        let s = RangeSpec {
            gt: Some(1),
            lte: Some(5),
            ..spec()
        };
        assert_eq!(
            s.range(),
            Ok(Range::Between {
                lower: Some(Bound { key: 1, open: true }),
                upper: Some(Bound {
                    key: 5,
                    open: false
                }),
            })
        );
        let s = RangeSpec {
            lt: Some(5),
            ..spec()
        };
        assert_eq!(
            s.range(),
            Ok(Range::Between {
                lower: None,
                upper: Some(Bound { key: 5, open: true }),
            })
        );
    }

    #[test]
    fn contradictions_are_refused() {
        let s = RangeSpec {
            gt: Some(1),
            gte: Some(1),
            ..spec()
        };
        assert_eq!(s.range(), Err(QueryError::TwoBounds("gt", "gte")));
        let s = RangeSpec {
            lt: Some(1),
            lte: Some(1),
            ..spec()
        };
        assert_eq!(s.range(), Err(QueryError::TwoBounds("lt", "lte")));
        let s = RangeSpec {
            eq: Some(1),
            lt: Some(2),
            ..spec()
        };
        assert_eq!(s.range(), Err(QueryError::EqWithRange));
    }
}
