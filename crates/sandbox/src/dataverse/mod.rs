//! Dataverse Web API sandbox (being written).
