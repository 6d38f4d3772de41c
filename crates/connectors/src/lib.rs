//! Ferry's connectors. Each remote system is one module with the same files: `auth` (token
//! cache with refresh ahead), `client` (typed operations), `models` (wire types),
//! `transformers` (wire ↔ canonical), `limits` (the API's published limits), `webhooks`
//! (signature checks, event parsing), `errors` (classification into runtime failures).
//! A connector never sleeps or retries on its own: it classifies every failure and the
//! runtime decides. Plumbing shared by connectors lives at this crate's top level.

#[cfg(feature = "amazon")]
pub mod amazon;
#[cfg(feature = "dataverse")]
pub mod dataverse;
#[cfg(feature = "fno")]
pub mod fno;
pub mod http;
pub mod ingress;
#[cfg(any(feature = "dataverse", feature = "fno"))]
pub mod retry_gate;
pub mod token;
