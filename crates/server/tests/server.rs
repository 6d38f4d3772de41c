//! Server tests over real sockets.

mod server {}
