//! Settlement → general ledger (F7), the part every ledger shares: the posting map a flow
//! file gives ([`posting`]), the aggregation of a settlement's rows into balanced journals
//! with held kinds posted later ([`journal`]), and the reconciliation report and fee
//! observations ([`reconcile`]). Each ledger's flow (F&O `LedgerJournalHeaders`/`Lines`, SL
//! `GLTran`) writes the journals these plan.

pub mod journal;
pub mod posting;
pub mod reconcile;

pub use journal::{Aggregate, Bucket, Plan, PlanError, PlannedLine, plan};
pub use posting::{BucketKind, PostingMap};
pub use reconcile::{Reconciliation, fee_observations};
