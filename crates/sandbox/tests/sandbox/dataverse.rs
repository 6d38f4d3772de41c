//! Dataverse sandbox tests.
