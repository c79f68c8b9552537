//! ferrysync: offline-first sync runtime for web apps (browser crate).
