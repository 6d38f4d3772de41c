//! Dataverse connector tests.
