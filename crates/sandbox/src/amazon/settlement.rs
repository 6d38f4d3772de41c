//! Settlement report V2 flat files (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`), generated
//! for the Reports API, tests and benchmarks: tab-separated, a summary row whose
//! `total-amount` is exactly the sum of the rows, then orders (principal, tax, shipping,
//! commission, FBA fees), refunds, other transactions and, if asked, transaction types that
//! Ferry does not know.

use std::io::{self, Write};

use rust_decimal::Decimal;

/// The 23 V2 columns in Amazon's order.
pub const V2_COLUMNS: [&str; 23] = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct SettlementSpec {
    pub settlement_id: String,
    /// Transaction rows (the summary row and header come on top).
    pub rows: u64,
    pub seed: u64,
    pub currency: String,
    /// Share of orders refunded.
    pub refund_share: f64,
    /// Share of rows with a transaction type unknown to Ferry.
    pub unknown_share: f64,
    /// Decimal commas and day-first dates, as some EU marketplaces write them.
    pub eu_format: bool,
}

impl Default for SettlementSpec {
    fn default() -> Self {
        SettlementSpec {
            settlement_id: "12345678901".into(),
            rows: 1000,
            seed: 11,
            currency: "USD".into(),
            refund_share: 0.05,
            unknown_share: 0.01,
            eu_format: false,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSettlement {
    /// The deposit (`total-amount`), equal to the sum of the rows.
    pub deposit: Decimal,
    pub rows: u64,
    pub refunds: u64,
    pub unknown: u64,
}

struct Row {
    kind: &'static str,
    order: u64,
    amount_type: &'static str,
    description: &'static str,
    amount: Decimal,
    sku: u64,
    quantity: Option<u32>,
    minute: u64,
}

/// Yields rows deterministically from the seed, so the total can be computed in a first pass
/// and the file streamed in a second without holding rows in memory.
fn rows(spec: &SettlementSpec) -> impl Iterator<Item = Row> + '_ {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut pending: Vec<Row> = Vec::new();
    let mut order = 0u64;
    let mut produced = 0u64;
    std::iter::from_fn(move || {
        if produced >= spec.rows {
            return None;
        }
        if pending.is_empty() {
            order += 1;
            let minute = order;
            let sku = rng.u64(1..=500);
            if rng.f64() < spec.unknown_share * 4.0 {
                let amount = -Decimal::new(rng.i64(100..5000), 2);
                pending.push(Row {
                    kind: "Vine Enrollment Fee",
                    order: 0,
                    amount_type: "other-transaction",
                    description: "Vine Enrollment Fee",
                    amount,
                    sku: 0,
                    quantity: None,
                    minute,
                });
            } else if rng.f64() < 0.05 {
                let amount = -Decimal::new(rng.i64(100..20000), 2);
                pending.push(Row {
                    kind: "other-transaction",
                    order: 0,
                    amount_type: "other-transaction",
                    description: "Storage Fee",
                    amount,
                    sku: 0,
                    quantity: None,
                    minute,
                });
            } else {
                let quantity = rng.u32(1..=3);
                let principal = Decimal::new(rng.i64(500..20000), 2) * Decimal::from(quantity);
                let tax = (principal * Decimal::new(8, 2)).round_dp(2);
                let commission = -(principal * Decimal::new(15, 2)).round_dp(2);
                let fba = -Decimal::new(322, 2) * Decimal::from(quantity);
                let refund = rng.f64() < spec.refund_share;
                let (kind, sign) = if refund { ("Refund", -Decimal::ONE) } else { ("Order", Decimal::ONE) };
                let q = Some(quantity);
                pending.push(Row {
                    kind,
                    order,
                    amount_type: "ItemPrice",
                    description: "Principal",
                    amount: principal * sign,
                    sku,
                    quantity: q,
                    minute,
                });
                pending.push(Row {
                    kind,
                    order,
                    amount_type: "ItemPrice",
                    description: "Tax",
                    amount: tax * sign,
                    sku,
                    quantity: q,
                    minute,
                });
                pending.push(Row {
                    kind,
                    order,
                    amount_type: "ItemFees",
                    description: "Commission",
                    amount: commission * sign,
                    sku,
                    quantity: q,
                    minute,
                });
                if refund {
                    let refund_commission = (principal * Decimal::new(3, 2)).round_dp(2);
                    pending.push(Row {
                        kind,
                        order,
                        amount_type: "ItemFees",
                        description: "RefundCommission",
                        amount: -refund_commission,
                        sku,
                        quantity: q,
                        minute,
                    });
                } else {
                    pending.push(Row {
                        kind,
                        order,
                        amount_type: "ItemFees",
                        description: "FBAPerUnitFulfillmentFee",
                        amount: fba,
                        sku,
                        quantity: q,
                        minute,
                    });
                }
            }
            pending.reverse();
        }
        produced += 1;
        pending.pop()
    })
}

fn amount_text(amount: Decimal, eu: bool) -> String {
    let text = format!("{:.2}", amount);
    if eu { text.replace('.', ",") } else { text }
}

/// Writes a V2 file for `spec` to `out` (plain text; wrap `out` in a gzip encoder for `.gz`).
pub fn write_settlement_v2(out: impl Write, spec: &SettlementSpec) -> io::Result<GeneratedSettlement> {
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    let mut generated = GeneratedSettlement { deposit: Decimal::ZERO, rows: 0, refunds: 0, unknown: 0 };
    for row in rows(spec) {
        generated.deposit += row.amount;
        generated.rows += 1;
        if row.kind == "Refund" && row.description == "Principal" {
            generated.refunds += 1;
        }
        if row.kind == "Vine Enrollment Fee" {
            generated.unknown += 1;
        }
    }
    let eu = spec.eu_format;
    let (start, end, deposit_date) = if eu {
        ("01.01.2026 00:00:00 UTC", "15.01.2026 00:00:00 UTC", "17.01.2026 00:00:00 UTC")
    } else {
        ("2026-01-01T00:00:00+00:00", "2026-01-15T00:00:00+00:00", "2026-01-17T00:00:00+00:00")
    };
    writeln!(out, "{}", V2_COLUMNS.join("\t"))?;
    writeln!(
        out,
        "{}\t{start}\t{end}\t{deposit_date}\t{}\t{}{}",
        spec.settlement_id,
        amount_text(generated.deposit, eu),
        spec.currency,
        "\t".repeat(V2_COLUMNS.len() - 6)
    )?;
    for row in rows(spec) {
        let seconds = 60 + row.minute * 17 % (14 * 86_400 - 120);
        let (day, rest) = (1 + seconds / 86_400, seconds % 86_400);
        let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
        let (posted_date, posted_time) = if eu {
            (format!("{day:02}.01.2026"), format!("{day:02}.01.2026 {h:02}:{m:02}:{s:02} UTC"))
        } else {
            (format!("2026-01-{day:02}"), format!("2026-01-{day:02} {h:02}:{m:02}:{s:02} UTC"))
        };
        let order_id = if row.order == 0 {
            String::new()
        } else {
            format!("1{:02}-{:07}-{:07}", row.order % 100, row.order % 10_000_000, (row.order * 7919) % 10_000_000)
        };
        let (sku, quantity, fulfillment) = if row.order == 0 {
            (String::new(), String::new(), "")
        } else {
            (format!("FERRY-SKU-{:04}", row.sku), row.quantity.map(|q| q.to_string()).unwrap_or_default(), "AFN")
        };
        let adjustment = if row.kind == "Refund" { format!("adj-{}", row.order) } else { String::new() };
        writeln!(
            out,
            "{id}\t\t\t\t\t{currency}\t{kind}\t{order_id}\t\t{adjustment}\t\tAmazon.com\t{amount_type}\t{description}\t{amount}\t{fulfillment}\t{posted_date}\t{posted_time}\t{item}\t\t\t{sku}\t{quantity}",
            id = spec.settlement_id,
            currency = spec.currency,
            kind = row.kind,
            amount_type = row.amount_type,
            description = row.description,
            amount = amount_text(row.amount, eu),
            item = if row.order == 0 { String::new() } else { format!("{:014}", row.order) },
        )?;
    }
    out.flush()?;
    Ok(generated)
}
