//! ferrysync's pure core, shared by the browser client and the server: the wire protocol, the
//! hybrid logical clock and the conflict rules. Nothing here does I/O or knows about browsers,
//! HTTP or databases, so every rule is unit- and property-tested natively and both sides decide
//! conflicts with the same code.

pub mod backoff;
pub mod clock;
pub mod conflict;
pub mod engine;
pub mod error;
pub mod hlc;
pub mod join;
pub mod lazy_json;
pub mod protocol;
pub mod query;
pub mod record;
pub mod skew;
pub mod store;
pub mod transport;

pub use backoff::{Backoff, Retry};
pub use clock::{Clock, ManualClock};
pub use conflict::{CollectionPolicy, FieldPolicy, Strategy, Winner};
pub use engine::{Config, Engine, Status, SyncReport};
pub use error::Error;
pub use hlc::{Hlc, HlcClock};
pub use record::{LocalRecord, SyncStatus};
pub use store::{LocalStore, MemoryStore, StoreError};
pub use transport::{Transport, TransportError};
