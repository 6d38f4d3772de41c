//! Behaviour of the canonical model, seen from outside the crate. One test binary; the
//! modules live in `tests/model/`.

mod model {
    mod currency;
    mod fixtures;
    mod ids;
    mod inventory;
    mod journal;
    mod money;
    mod order;
    mod pii;
    mod serde_round_trip;
    mod settlement;
}
