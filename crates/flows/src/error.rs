//! Why a tenant's flows could not be built: a connection that cannot be dialled, a secret not
//! set, a flow file that does not fit its template. Each message names the connection or the
//! file (and line) so the operator knows what to fix.

/// A problem found while building a tenant's connections and flows.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A connection's options or secrets do not let Ferry build its client.
    #[error("connection {connection}: {message}")]
    Connection { connection: String, message: String },
    /// A secret the connection needs is not set (or cannot be opened).
    #[error("secret {name} is not set (ferry secrets set {name})")]
    Secret { name: String },
    /// A secret is set but does not open under this node's key.
    #[error("secret {name} cannot be opened: {message}")]
    SecretUnreadable { name: String, message: String },
    /// The flow files do not fit the templates or the tenant's connections; one line each.
    #[error("the flows folder {folder} has problems:\n{}", problems.join("\n"))]
    Flows { folder: String, problems: Vec<String> },
    /// The store did not answer.
    #[error(transparent)]
    Store(#[from] ferry_store::StoreError),
}

impl BuildError {
    pub(crate) fn connection(connection: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        BuildError::Connection { connection: connection.to_string(), message: message.to_string() }
    }
}
