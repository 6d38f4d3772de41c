//! A wrapper for buyer personal data.
//!
//! Amazon's Data Protection Policy and our own guarantee (no buyer PII in logs, traces or
//! error messages) mean a name or an email must not reach a `{:?}` by accident. Wrapping
//! the value makes redaction a property of the type, so every struct that holds one (and
//! derives `Debug`) is safe without remembering a hand-written impl.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Text shown instead of a personal value.
pub const REDACTED: &str = "<redacted>";

/// Personal data: `Debug` prints `<redacted>`; there is no `Display`. Read the value with
/// [`Pii::expose`], which is easy to find in review. Serde is transparent because the
/// value has to reach the target system.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    /// Wraps a personal value.
    pub fn new(value: T) -> Self {
        Pii(value)
    }

    /// The value itself, for code that must write it to a target. Never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value, for code that must hand it over. Never log it.
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Pii(value)
    }
}

impl From<&str> for Pii<String> {
    fn from(value: &str) -> Self {
        Pii(value.to_owned())
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
