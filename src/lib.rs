//! ferrysync: offline-first sync runtime for web apps (browser crate).
//!
//! The app API is the exported `FerrySync` class ([`bindings`]); it keeps records in IndexedDB
//! ([`store::IndexedDb`], an implementation of core's [`ferrysync_core::LocalStore`]) and tracks
//! for each one whether the server has it yet. Everything here only adapts `ferrysync-core` to the
//! browser; the rules for writes, coalescing and acknowledgements live in core.
//!
//! Without the `sync` feature the crate is the store alone: the store's code that only the sync
//! engine calls (acknowledgements, pulled pages, folds) is then unused, and left out of the build.
#![cfg_attr(not(feature = "sync"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
pub mod bindings;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
pub mod clock;
pub mod error;
#[cfg(all(target_arch = "wasm32", feature = "sync"))]
mod network;
#[cfg(target_arch = "wasm32")]
pub mod store;
#[cfg(all(target_arch = "wasm32", feature = "sync"))]
pub mod transport;

pub use error::{Error, Result};
#[cfg(target_arch = "wasm32")]
pub use store::IndexedDb;
