use thiserror::Error;

/// Everything that can go wrong in the store, each naming what it was doing.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{backend} store: {context}: {source}")]
    Database {
        backend: &'static str,
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot open store `{url}`: {reason}")]
    Open { url: String, reason: String },
    #[error("migration {version} ({name}) failed on {backend}: {source}")]
    Migration {
        backend: &'static str,
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id}: {reason}")]
    Conflict { what: &'static str, id: String, reason: String },
    #[error("{what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("secret {name}: {reason}")]
    Secret { name: String, reason: String },
}

/// Attaches backend and context to a sqlx error.
pub(crate) trait DbContext<T> {
    fn db(self, backend: &'static str, context: &'static str) -> Result<T, StoreError>;
}

impl<T> DbContext<T> for Result<T, sqlx::Error> {
    fn db(self, backend: &'static str, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { backend, context, source })
    }
}
