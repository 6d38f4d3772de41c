//! Amazon SP-API + LWA + SQS sandbox (being written).
