//! ferrysync-server.
