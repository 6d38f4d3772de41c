//! Dataverse (Dynamics 365 CE) Web API connector (being written).
