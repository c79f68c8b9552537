//! The short form of a pending change: one string a store may keep instead of the object, for
//! the commonest change (a record created on the device and not pushed yet).

use super::Pending;
use crate::hlc::Hlc;

impl Pending {
    /// The one-string form a store may keep instead of the object, `"<seq> <changeId> <hlc>"`,
    /// for the commonest pending change: a record created on this device and not pushed yet
    /// (however often edited since), which has no base version, no note and no list of changed
    /// fields (the whole record). `None` for any other change, and for a change id with a space.
    /// A stamp with an empty device id (a store that knows whose it is may leave it out) is
    /// written as `<millis>-<counter>`. [`Pending::from_short`] reads it back exactly.
    pub fn short(&self) -> Option<String> {
        let (seq, id, hlc) = (self.seq, &self.change_id, &self.hlc);
        self.has_short().then(|| match hlc.device.as_str() {
            "" => format!("{seq} {id} {:015}-{:06}", hlc.millis, hlc.counter),
            _ => format!("{seq} {id} {hlc}"),
        })
    }

    /// Whether [`Pending::short`] has a form for this change.
    pub fn has_short(&self) -> bool {
        self.base_version.is_none()
            && self.note.is_none()
            && self.changed_fields.is_empty()
            && !self.change_id.is_empty()
            && !self.change_id.contains(' ')
    }

    /// The change [`Pending::short`] wrote as `text`; `None` when `text` is not of that form.
    pub fn from_short(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ' ');
        let (seq, change_id, hlc) = (parts.next()?, parts.next()?, parts.next()?);
        if change_id.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // `<millis>-<counter>`: the device id was left out.
        let hlc: Hlc = match hlc.matches('-').count() {
            1 => Hlc {
                device: String::new(),
                ..format!("{hlc}-_").parse().ok()?
            },
            _ => hlc.parse().ok()?,
        };
        Some(Self {
            change_id: change_id.to_owned(),
            base_version: None,
            hlc,
            changed_fields: Vec::new(),
            seq: seq.parse().ok()?,
            note: None,
        })
    }
}
