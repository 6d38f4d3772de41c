//! Seeding: plausible orders for a demo, a test or a benchmark, reproducible from a seed.

use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;

use super::state::{Item, Order, PostalAddress, Status};

/// The sandbox catalogue: SKUs a target system is expected to know.
pub const CATALOG_SIZE: usize = 20;

/// The `n`th catalogue SKU.
pub fn catalog_sku(n: usize) -> String {
    format!("FERRY-SKU-{:04}", n % CATALOG_SIZE + 1)
}

/// The ASIN of the `n`th catalogue SKU.
pub fn catalog_asin(n: usize) -> String {
    format!("B0{:08}", n % CATALOG_SIZE + 1)
}

/// SKUs that start with this prefix are not in the catalogue (the "invalid SKU" share).
pub const INVALID_SKU_PREFIX: &str = "UNMAPPED-";

/// A fresh 3-7-7 order id.
pub fn order_id(rng: &mut fastrand::Rng) -> String {
    format!("{:03}-{:07}-{:07}", rng.u32(100..999), rng.u32(0..10_000_000), rng.u32(0..10_000_000))
}

const CITIES: &[(&str, &str, &str)] =
    &[("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boston", "MA", "02108")];

/// One seeded order placed at `created`. `invalid` makes its first line's SKU unknown.
pub fn order(rng: &mut fastrand::Rng, id: String, marketplace_id: &str, created: Timestamp, invalid: bool) -> Order {
    let status = match rng.u32(0..10) {
        0 => Status::Pending,
        1..=6 => Status::Unshipped,
        7 => Status::Canceled,
        _ => Status::Shipped,
    };
    let lines = rng.usize(1..=3);
    let items = (0..lines)
        .map(|line| {
            let n = rng.usize(0..CATALOG_SIZE);
            let sku = if invalid && line == 0 {
                format!("{INVALID_SKU_PREFIX}{:05}", rng.u32(0..100_000))
            } else {
                catalog_sku(n)
            };
            let quantity = rng.u32(1..=3);
            let unit_price = Decimal::new(i64::from(rng.u32(499..19_999)), 2);
            let tax = (unit_price * Decimal::from(quantity) * Decimal::new(8, 2)).round_dp(2);
            Item {
                item_id: format!("{:014}", rng.u64(10_000_000_000_000..99_999_999_999_999)),
                asin: catalog_asin(n),
                title: format!("Ferry sample product {}", n % CATALOG_SIZE + 1),
                sku,
                quantity,
                quantity_shipped: if status == Status::Shipped { quantity } else { 0 },
                unit_price,
                tax,
            }
        })
        .collect();
    let (city, state, zip) = CITIES[rng.usize(0..CITIES.len())];
    let buyer = rng.u32(1000..9999);
    Order {
        id,
        marketplace_id: marketplace_id.to_owned(),
        created,
        last_updated: created + SignedDuration::from_secs(i64::from(rng.u32(60..3600))),
        status,
        fulfilled_by_amazon: rng.bool(),
        currency: "USD".into(),
        buyer_name: format!("Sample Buyer {buyer}"),
        buyer_email: format!("buyer{buyer}@marketplace.amazon.com"),
        address: PostalAddress {
            name: format!("Sample Buyer {buyer}"),
            line1: format!("{} Main St", rng.u32(1..999)),
            city: city.into(),
            state: state.into(),
            postal_code: zip.into(),
            country: "US".into(),
            phone: "+1 206-555-0100".into(),
        },
        shipping_price: Decimal::new(499, 2),
        items,
        packages: Vec::new(),
        changed_at: std::time::Instant::now(),
    }
}
