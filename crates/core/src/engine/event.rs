//! [`RecordEvent`]: what the engine tells subscribers when sync changed a stored record.

use std::rc::Rc;

use crate::record::LocalRecord;

/// A record changed by a pull, an acknowledgement or a resolution; `record` is `None` when the
/// row was removed (an acknowledged or pulled delete).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordEvent {
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// The record as now stored.
    pub record: Option<LocalRecord>,
}

/// Subscriber to records changed by sync (not by the app's own writes).
pub type RecordListener = Rc<RecordFn>;

/// The callback inside a [`RecordListener`].
pub type RecordFn = dyn Fn(&[RecordEvent]);
