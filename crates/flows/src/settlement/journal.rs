//! From settlement rows to balanced journals: rows are aggregated while the report streams by
//! (transaction type, amount type, amount description), each aggregate is posted to the
//! account its posting rule names, and one balancing line puts the net on the deposit
//! account. Aggregates without a rule are held: the rest posts now, and they post later in a
//! journal of their own once a rule names them (every journal balances on its own, and the
//! journals of a settlement together tie to the deposit).
//!
//! Memory does not grow with the report: one aggregate per kind (a few dozen in practice)
//! and one fee series per (fee, SKU).

use std::collections::{BTreeMap, BTreeSet};

use ferry_connectors::amazon::settlement::SettlementSummary;
use ferry_model::{
    AmazonSettlementId, Currency, Decimal, JournalEntry, JournalError, JournalLine, Money, MoneyError,
    SettlementAmountType, SettlementLine,
};
use jiff::tz::TimeZone;

use super::posting::{BucketKind, PostingMap};

/// The rows of one kind in one settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub kind: BucketKind,
    pub rows: u64,
    /// Σ amount, in the settlement's currency, signed as Amazon writes it (fees negative).
    pub amount: Money,
}

/// Fees per unit of a SKU in one settlement (for the anomaly flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuFee {
    /// `Commission`, `FBAPerUnitFulfillmentFee`…
    pub fee: String,
    pub sku: String,
    pub units: i64,
    /// Σ amount, signed as Amazon writes it.
    pub amount: Money,
}

/// A whole settlement, aggregated.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub summary: SettlementSummary,
    pub rows: u64,
    /// Σ amount of every row.
    pub sum: Money,
    buckets: BTreeMap<BucketKind, Bucket>,
    sku_fees: BTreeMap<(String, String), (i64, Money)>,
}

/// Why a settlement cannot be aggregated or planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("settlement {settlement} row {row}: {source}")]
    Amount { settlement: AmazonSettlementId, row: u64, source: MoneyError },
    #[error(
        "settlement {settlement}: the ledger is in {ledger} and the settlement in {settlement_currency}; no exchange rate {settlement_currency}→{ledger} for {date} is kept (add it with `ferry rates set`)"
    )]
    NoRate { settlement: AmazonSettlementId, settlement_currency: Currency, ledger: Currency, date: jiff::civil::Date },
    #[error("settlement {settlement}: {source}")]
    Journal { settlement: AmazonSettlementId, source: JournalError },
}

impl Aggregate {
    pub fn new(summary: SettlementSummary) -> Aggregate {
        let zero = Money::zero(summary.total.currency());
        Aggregate { summary, rows: 0, sum: zero, buckets: BTreeMap::new(), sku_fees: BTreeMap::new() }
    }

    /// Adds one row (rows arrive one at a time from the streaming reader).
    pub fn add(&mut self, line: &SettlementLine) -> Result<(), PlanError> {
        let row = self.rows + 1;
        let err = |source| PlanError::Amount { settlement: self.summary.settlement_id.clone(), row, source };
        self.sum = self.sum.checked_add(&line.amount).map_err(err)?;
        let kind = BucketKind::of(line);
        let zero = Money::zero(self.summary.total.currency());
        let bucket = self.buckets.entry(kind.clone()).or_insert(Bucket { kind, rows: 0, amount: zero });
        bucket.rows += 1;
        bucket.amount = bucket.amount.checked_add(&line.amount).map_err(err)?;
        if line.amount_type == SettlementAmountType::ItemFees
            && let (Some(sku), Some(units)) = (&line.sku, line.quantity)
        {
            let entry = self.sku_fees.entry((line.amount_description.clone(), sku.to_string())).or_insert((0, zero));
            entry.0 += units;
            entry.1 = entry.1.checked_add(&line.amount).map_err(err)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The aggregates, in a stable order.
    pub fn buckets(&self) -> impl Iterator<Item = &Bucket> {
        self.buckets.values()
    }

    /// Fees per (fee, SKU) with the units they were charged on.
    pub fn sku_fees(&self) -> impl Iterator<Item = SkuFee> + '_ {
        self.sku_fees.iter().map(|((fee, sku), (units, amount))| SkuFee {
            fee: fee.clone(),
            sku: sku.clone(),
            units: *units,
            amount: *amount,
        })
    }

    /// Deposit − Σ rows: zero when the rows explain the deposit to the cent.
    pub fn unexplained(&self) -> Result<Money, MoneyError> {
        self.summary.total.checked_sub(&self.sum)
    }

    /// The accounting date: the deposit date, else the settlement's end (UTC calendar day).
    pub fn accounting_date(&self) -> jiff::civil::Date {
        self.summary.deposit_date.unwrap_or(self.summary.end).to_zoned(TimeZone::UTC).date()
    }
}

/// One aggregate as a journal will post it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    pub kind: BucketKind,
    pub rows: u64,
    /// In the settlement's currency.
    pub amount: Money,
    pub account: String,
    /// In the ledger's currency (the same as `amount` when no conversion).
    pub ledger_amount: Money,
}

/// What a settlement posts now.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The journal's reference (its idempotency key at the ledger): `AMZ-SETTLE-<id>` for the
    /// first, `AMZ-SETTLE-<id>-<n>` for a later one that posts rows held before.
    pub reference: String,
    /// `None` when nothing is left to post.
    pub journal: Option<JournalEntry>,
    pub posted: Vec<PlannedLine>,
    /// Aggregates without a posting rule (held), or with a zero amount (nothing to post).
    pub held: Vec<Bucket>,
    /// The rate used, settlement currency → ledger currency.
    pub rate: Option<Decimal>,
}

/// The reference of a settlement's `part`-th journal (from 1).
pub fn reference(settlement: &AmazonSettlementId, part: u32) -> String {
    if part <= 1 { format!("AMZ-SETTLE-{settlement}") } else { format!("AMZ-SETTLE-{settlement}-{part}") }
}

/// Plans the `part`-th journal of a settlement: every aggregate with a posting rule that is
/// not in `already` (posted by an earlier part). `rate` converts the settlement's currency to
/// the ledger's when the map names another ledger currency (each line is converted and
/// rounded to the ledger currency's minor units; the balancing line is their sum, so the
/// journal balances exactly).
pub fn plan(
    aggregate: &Aggregate,
    map: &PostingMap,
    already: &BTreeSet<BucketKind>,
    part: u32,
    rate: Option<Decimal>,
) -> Result<Plan, PlanError> {
    let settlement = &aggregate.summary.settlement_id;
    let currency = aggregate.summary.total.currency();
    let ledger = map.ledger_currency.unwrap_or(currency);
    let date = aggregate.accounting_date();
    let rate = if ledger == currency {
        None
    } else {
        Some(rate.ok_or_else(|| PlanError::NoRate {
            settlement: settlement.clone(),
            settlement_currency: currency,
            ledger,
            date,
        })?)
    };
    let convert = |amount: &Money| -> Money {
        match rate {
            None => *amount,
            Some(r) => Money::new(amount.amount() * r, ledger).round_to_minor_units(),
        }
    };
    let mut posted = Vec::new();
    let mut held = Vec::new();
    for bucket in aggregate.buckets() {
        if already.contains(&bucket.kind) {
            continue;
        }
        match map.rule_for_kind(&bucket.kind) {
            Some(rule) if !bucket.amount.is_zero() => posted.push(PlannedLine {
                kind: bucket.kind.clone(),
                rows: bucket.rows,
                amount: bucket.amount,
                account: rule.account.clone(),
                ledger_amount: convert(&bucket.amount),
            }),
            Some(_) => {}
            None => held.push(bucket.clone()),
        }
    }
    let reference = reference(settlement, part);
    let journal_err = |source| PlanError::Journal { settlement: settlement.clone(), source };
    let mut lines = Vec::with_capacity(posted.len() + 1);
    let mut net = Money::zero(ledger);
    for p in &posted {
        net = net
            .checked_add(&p.ledger_amount)
            .map_err(|source| journal_err(JournalError::Amount { reference: reference.clone(), source }))?;
        // Money to the seller (a sale) is a credit to its account; a fee (negative) a debit.
        let line = if p.ledger_amount.is_negative() {
            JournalLine::debit(&p.account, p.ledger_amount.abs())
        } else {
            JournalLine::credit(&p.account, p.ledger_amount)
        };
        lines.push(line.with_memo(p.kind.label()));
    }
    if !net.is_zero() {
        let memo = format!("Amazon settlement {settlement}");
        lines.push(if net.is_negative() {
            JournalLine::credit(&map.deposit_account, net.abs()).with_memo(memo)
        } else {
            JournalLine::debit(&map.deposit_account, net).with_memo(memo)
        });
    }
    let journal = if lines.len() < 2 {
        None
    } else {
        let description = format!(
            "Amazon settlement {settlement} ({} to {})",
            aggregate.summary.start.to_zoned(TimeZone::UTC).date(),
            aggregate.summary.end.to_zoned(TimeZone::UTC).date()
        );
        Some(JournalEntry::new(reference.clone(), date, Some(description), lines).map_err(journal_err)?)
    };
    Ok(Plan { reference, journal, posted, held, rate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::{Side, Timestamp};
    use serde_json::json;

    fn usd(s: &str) -> Money {
        Money::parse(s, "USD").unwrap()
    }

    fn summary(total: &str) -> SettlementSummary {
        SettlementSummary {
            settlement_id: "11796400131".parse().unwrap(),
            start: "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            end: "2026-11-15T00:00:00Z".parse::<Timestamp>().unwrap(),
            deposit_date: Some("2026-11-17T08:00:00Z".parse::<Timestamp>().unwrap()),
            total: usd(total),
        }
    }

    fn row(t: &str, a: &str, d: &str, amount: &str, sku: Option<&str>, qty: Option<i64>) -> SettlementLine {
        SettlementLine {
            settlement_id: "11796400131".parse().unwrap(),
            transaction_type: t.into(),
            amount_type: a.into(),
            amount_description: d.into(),
            order_id: Some("113-0000001-0000001".into()),
            merchant_order_id: None,
            adjustment_id: None,
            shipment_id: None,
            marketplace_name: Some("Amazon.com".into()),
            fulfillment_id: Some("AFN".into()),
            order_item_code: None,
            sku: sku.map(|s| s.parse().unwrap()),
            quantity: qty,
            amount: usd(amount),
            posted_at: "2026-11-03T10:00:00Z".parse().unwrap(),
        }
    }

    fn map(ledger: Option<&str>) -> PostingMap {
        let mut posting = json!({
            "deposit_account": "110150",
            "rules": [
                { "type": "Order", "amount_type": "ItemPrice", "account": "401100" },
                { "amount_type": "ItemFees", "account": "601200" },
                { "type": "other-transaction", "description": "*Reserve*", "account": "130500" },
            ]
        });
        if let Some(l) = ledger {
            posting["ledger_currency"] = json!(l);
        }
        PostingMap::from_settings("settle", Some(&posting)).unwrap()
    }

    fn aggregate(total: &str, rows: &[SettlementLine]) -> Aggregate {
        let mut a = Aggregate::new(summary(total));
        for r in rows {
            a.add(r).unwrap();
        }
        a
    }

    fn sample() -> Vec<SettlementLine> {
        vec![
            row("Order", "ItemPrice", "Principal", "25.00", Some("MUG-1"), Some(1)),
            row("Order", "ItemPrice", "Principal", "50.00", Some("MUG-1"), Some(2)),
            row("Order", "ItemPrice", "Shipping", "4.99", Some("MUG-1"), Some(1)),
            row("Order", "ItemFees", "Commission", "-11.25", Some("MUG-1"), Some(3)),
            row("Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-9.66", Some("MUG-1"), Some(3)),
            row("other-transaction", "other-transaction", "Current Reserve Amount", "-10.00", None, None),
            row("NewKindOfThing", "ItemFees", "Mystery", "-2.08", None, None),
        ]
    }

    #[test]
    fn a_settlement_becomes_one_balanced_journal_and_unknown_kinds_are_held() {
        let a = aggregate("47.00", &sample());
        assert!(a.unexplained().unwrap().is_zero(), "the rows explain the deposit");
        let plan = plan(&a, &map(None), &BTreeSet::new(), 1, None).unwrap();
        assert_eq!(plan.reference, "AMZ-SETTLE-11796400131");
        let journal = plan.journal.expect("a journal");
        let lines: Vec<(String, Side, String)> =
            journal.lines().iter().map(|l| (l.account.clone(), l.side, l.amount.amount().to_string())).collect();
        // Aggregated by kind: the two Principal rows are one line.
        assert!(lines.contains(&("401100".into(), Side::Credit, "75.00".into())), "{lines:?}");
        assert!(lines.contains(&("401100".into(), Side::Credit, "4.99".into())), "{lines:?}");
        assert!(lines.contains(&("601200".into(), Side::Debit, "11.25".into())), "{lines:?}");
        assert!(lines.contains(&("601200".into(), Side::Debit, "9.66".into())), "{lines:?}");
        assert!(lines.contains(&("130500".into(), Side::Debit, "10.00".into())), "{lines:?}");
        // The deposit line carries what posted: 47.00 + 2.08 held.
        assert_eq!(lines.last(), Some(&("110150".into(), Side::Debit, "49.08".into())));
        assert_eq!(plan.held.len(), 1);
        assert_eq!(plan.held[0].kind.label(), "NewKindOfThing/ItemFees/Mystery");
        assert_eq!(journal.date().to_string(), "2026-11-17", "the deposit's day");
    }

    #[test]
    fn held_rows_post_later_in_a_second_journal_and_the_two_tie_to_the_deposit() {
        let a = aggregate("47.00", &sample());
        let first = plan(&a, &map(None), &BTreeSet::new(), 1, None).unwrap();
        let posted: BTreeSet<BucketKind> = first.posted.iter().map(|p| p.kind.clone()).collect();
        // Nothing new to post until a rule names the unknown kind.
        let again = plan(&a, &map(None), &posted, 2, None).unwrap();
        assert!(again.journal.is_none());
        assert_eq!(again.held.len(), 1);
        let mapped = PostingMap::from_settings(
            "settle",
            Some(&json!({
                "deposit_account": "110150",
                "rules": [
                    { "type": "Order", "amount_type": "ItemPrice", "account": "401100" },
                    { "amount_type": "ItemFees", "account": "601200" },
                    { "type": "NewKindOfThing", "account": "609900" },
                ]
            })),
        )
        .unwrap();
        let second = plan(&a, &mapped, &posted, 2, None).unwrap();
        assert_eq!(second.reference, "AMZ-SETTLE-11796400131-2");
        let journal = second.journal.expect("the held rows post");
        assert_eq!(journal.lines().len(), 2);
        assert_eq!(journal.lines()[0].account, "609900");
        let deposit_lines: Money = [first.journal.unwrap(), journal]
            .iter()
            .flat_map(|j| j.lines().iter().filter(|l| l.account == "110150").cloned().collect::<Vec<_>>())
            .fold(usd("0"), |sum, l| match l.side {
                Side::Debit => sum.checked_add(&l.amount).unwrap(),
                Side::Credit => sum.checked_sub(&l.amount).unwrap(),
            });
        assert_eq!(deposit_lines, usd("47.00"), "the journals together put the deposit on the bank");
    }

    #[test]
    fn another_ledger_currency_converts_every_line_and_still_balances() {
        let a = aggregate("47.00", &sample());
        let err = plan(&a, &map(Some("EUR")), &BTreeSet::new(), 1, None).unwrap_err().to_string();
        assert!(err.contains("no exchange rate USD→EUR for 2026-11-17"), "{err}");
        let rate: Decimal = "0.9137".parse().unwrap();
        let plan = plan(&a, &map(Some("EUR")), &BTreeSet::new(), 1, Some(rate)).unwrap();
        let journal = plan.journal.unwrap();
        assert_eq!(journal.currency().code(), "EUR");
        let principal = plan.posted.iter().find(|p| p.kind.description == "Principal").unwrap();
        assert_eq!(principal.ledger_amount.amount().to_string(), "68.53", "75.00 × 0.9137 rounded to the cent");
        assert_eq!(principal.amount, usd("75.00"), "the settlement amount is kept beside it");
    }

    #[test]
    fn fees_are_kept_per_sku_and_unit() {
        let a = aggregate("47.00", &sample());
        let fees: Vec<SkuFee> = a.sku_fees().collect();
        let fba = fees.iter().find(|f| f.fee == "FBAPerUnitFulfillmentFee").unwrap();
        assert_eq!((fba.sku.as_str(), fba.units, fba.amount), ("MUG-1", 3, usd("-9.66")));
        assert!(fees.iter().all(|f| f.fee != "Principal"), "only fees");
    }
}
