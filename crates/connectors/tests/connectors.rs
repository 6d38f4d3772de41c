//! Connector tests against the sandboxes over real sockets.

mod connectors {
    mod amazon;
    mod dataverse;
    mod token;
}
