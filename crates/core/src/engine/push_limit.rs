//! What the server refused as too large (413) so far: the engine cuts later requests below it
//! before sending them, instead of uploading each oversized body once more to be refused again.

use crate::LocalRecord;

/// Per change, what a push carries besides its data (ids, stamp, names), roughly.
const CHANGE_OVERHEAD: usize = 200;

/// The smallest push the server refused with a 413, by changes (`too_many_changes`) and by
/// estimated bytes (its body limit). Only ever lowered, for the engine's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PushLimit {
    changes: usize,
    bytes: usize,
}

impl Default for PushLimit {
    fn default() -> Self {
        Self {
            changes: usize::MAX,
            bytes: usize::MAX,
        }
    }
}

impl PushLimit {
    /// Whether `part` may be sent as it is: a single change always may (only the server can tell
    /// whether it is too large), a larger part only while it is smaller than every refused one.
    pub(super) fn allows(&self, part: &[(String, LocalRecord)]) -> bool {
        part.len() <= 1
            || (part.len() < self.changes
                && (self.bytes == usize::MAX || estimate(part) < self.bytes))
    }

    /// The limit once the server refused `part` with a 413 whose error code is `code`.
    pub(super) fn refused(self, part: &[(String, LocalRecord)], code: &str) -> Self {
        if code == "too_many_changes" {
            Self {
                changes: self.changes.min(part.len()),
                ..self
            }
        } else {
            Self {
                bytes: self.bytes.min(estimate(part)),
                ..self
            }
        }
    }
}

/// About how many bytes `part` makes as a push request: its data as stored, plus the rest.
fn estimate(part: &[(String, LocalRecord)]) -> usize {
    part.iter()
        .map(|(collection, record)| {
            let data = record.data.raw().map_or_else(
                || serde_json::to_string(&*record.data).map_or(0, |text| text.len()),
                str::len,
            );
            collection.len() + record.id.len() + data + CHANGE_OVERHEAD
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(sizes: &[usize]) -> Vec<(String, LocalRecord)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, size)| {
                let data = json!({ "text": "x".repeat(*size) });
                let record: LocalRecord = serde_json::from_value(json!({
                    "id": format!("r{i}"), "data": data,
                    "sync": { "status": "UNSYNCED", "updatedAt": 0 }
                }))
                .unwrap();
                ("todos".to_owned(), record)
            })
            .collect()
    }

    #[test]
    fn nothing_is_cut_until_the_server_refuses() {
        assert!(PushLimit::default().allows(&part(&[10_000; 1000])));
    }

    #[test]
    fn a_part_as_large_as_a_refused_one_is_cut_and_a_smaller_one_is_not() {
        let limit = PushLimit::default().refused(&part(&[10_000; 8]), "payload_too_large");
        assert!(!limit.allows(&part(&[10_000; 8])));
        assert!(!limit.allows(&part(&[25_000; 4])));
        assert!(limit.allows(&part(&[10_000; 4])));
        assert!(limit.allows(&part(&[1_000; 60])));
        // A change alone is always sent: the server decides.
        assert!(limit.allows(&part(&[500_000])));
        // Only lowered: a larger refusal later changes nothing.
        assert_eq!(
            limit.refused(&part(&[10_000; 20]), "payload_too_large"),
            limit
        );
    }

    #[test]
    fn too_many_changes_limits_the_count_only() {
        let limit = PushLimit::default().refused(&part(&[10; 100]), "too_many_changes");
        assert!(!limit.allows(&part(&[1; 100])));
        assert!(limit.allows(&part(&[100_000; 99])));
    }
}
