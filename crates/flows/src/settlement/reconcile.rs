//! The reconciliation report of a settlement: every aggregate with its rows, amount, account
//! (or "held"), the deposit, and the difference, to the cent. Finance staff read it in the
//! console or as CSV; it is what ties the ledger to the bank.

use ferry_model::{Money, MoneyError};
use ferry_store::MoneyObservation;
use serde::Serialize;

use super::journal::{Aggregate, Plan};

/// How an aggregate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// In a journal (this one or an earlier part).
    Posted,
    /// No posting rule names it yet.
    Held,
    /// Its rows sum to zero: nothing to post.
    Nil,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconLine {
    pub transaction_type: String,
    pub amount_type: String,
    pub amount_description: String,
    pub rows: u64,
    /// Settlement currency, signed as Amazon writes it.
    pub amount: String,
    pub account: Option<String>,
    pub status: LineStatus,
}

/// A settlement's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub settlement_id: String,
    pub currency: String,
    pub deposit: String,
    pub rows: u64,
    /// Σ of every row.
    pub rows_total: String,
    /// Σ of what is posted (this plan and earlier parts).
    pub posted: String,
    /// Σ of what is held for a posting rule.
    pub held: String,
    /// Deposit − Σ rows: `0.00` when the rows explain the deposit.
    pub unexplained: String,
    /// True when the rows explain the deposit and nothing is held: the ledger ties to the bank.
    pub ties: bool,
    pub lines: Vec<ReconLine>,
}

impl Reconciliation {
    /// The report of `aggregate` after `plan` (and the earlier parts it skipped) posted.
    pub fn of(aggregate: &Aggregate, plan: &Plan) -> Result<Reconciliation, MoneyError> {
        let currency = aggregate.summary.total.currency();
        let mut posted = Money::zero(currency);
        let mut held = Money::zero(currency);
        let mut lines = Vec::new();
        for bucket in aggregate.buckets() {
            let now = plan.posted.iter().find(|p| p.kind == bucket.kind);
            let is_held = plan.held.iter().any(|h| h.kind == bucket.kind);
            let (status, account) = if bucket.amount.is_zero() {
                (LineStatus::Nil, None)
            } else if is_held {
                held = held.checked_add(&bucket.amount)?;
                (LineStatus::Held, None)
            } else {
                posted = posted.checked_add(&bucket.amount)?;
                (LineStatus::Posted, now.map(|p| p.account.clone()))
            };
            lines.push(ReconLine {
                transaction_type: bucket.kind.transaction_type.clone(),
                amount_type: bucket.kind.amount_type.clone(),
                amount_description: bucket.kind.description.clone(),
                rows: bucket.rows,
                amount: bucket.amount.amount().to_string(),
                account,
                status,
            });
        }
        let unexplained = aggregate.unexplained()?;
        Ok(Reconciliation {
            settlement_id: aggregate.summary.settlement_id.to_string(),
            currency: currency.code().to_owned(),
            deposit: aggregate.summary.total.amount().to_string(),
            rows: aggregate.rows,
            rows_total: aggregate.sum.amount().to_string(),
            posted: posted.amount().to_string(),
            held: held.amount().to_string(),
            unexplained: unexplained.amount().to_string(),
            ties: unexplained.is_zero() && held.is_zero(),
            lines,
        })
    }

    /// The report as CSV: one row per aggregate, then the totals.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record([
            "transaction-type",
            "amount-type",
            "amount-description",
            "rows",
            "amount",
            "currency",
            "account",
            "status",
        ])?;
        for l in &self.lines {
            let status = match l.status {
                LineStatus::Posted => "posted",
                LineStatus::Held => "held",
                LineStatus::Nil => "nil",
            };
            out.write_record([
                l.transaction_type.as_str(),
                &l.amount_type,
                &l.amount_description,
                &l.rows.to_string(),
                &l.amount,
                &self.currency,
                l.account.as_deref().unwrap_or(""),
                status,
            ])?;
        }
        let rows = self.rows.to_string();
        for (what, n, amount) in [
            ("deposit", "", self.deposit.as_str()),
            ("rows total", rows.as_str(), &self.rows_total),
            ("posted", "", &self.posted),
            ("held", "", &self.held),
            ("unexplained", "", &self.unexplained),
        ] {
            out.write_record(["total", "", what, n, amount, &self.currency, "", ""])?;
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// What the settlement tells the anomaly flags: each fee's average per row per settlement
/// type, and each fee per unit per SKU. Never buyer data: kinds and SKUs only.
pub fn fee_observations(aggregate: &Aggregate, flow: &str) -> Vec<MoneyObservation> {
    let at = aggregate.summary.deposit_date.unwrap_or(aggregate.summary.end);
    let currency = aggregate.summary.total.currency();
    let record = aggregate.summary.settlement_id.to_string();
    let mut out = Vec::new();
    let observe = |field: String, per: &str, key: String, amount: Money| MoneyObservation {
        flow: flow.to_owned(),
        field,
        per: per.to_owned(),
        key,
        currency: currency.code().to_owned(),
        record: record.clone(),
        amount: amount.round_to_minor_units().amount().abs().to_string(),
        at,
    };
    for bucket in aggregate.buckets() {
        // Fees are what Amazon takes: negative amounts of fee-like kinds.
        let fee_like = bucket.kind.amount_type.to_ascii_lowercase().contains("fee");
        if fee_like && bucket.amount.is_negative() && bucket.rows > 0 {
            let average = Money::new(bucket.amount.amount() / ferry_model::Decimal::from(bucket.rows), currency);
            out.push(observe("fee per row".into(), "settlement type", bucket.kind.label(), average));
        }
    }
    for fee in aggregate.sku_fees() {
        if fee.units > 0 && fee.amount.is_negative() {
            let per_unit = Money::new(fee.amount.amount() / ferry_model::Decimal::from(fee.units), currency);
            out.push(observe(format!("{} per unit", fee.fee), "SKU", fee.sku, per_unit));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::settlement::journal::{Aggregate, plan};
    use crate::settlement::posting::PostingMap;
    use ferry_connectors::amazon::settlement::SettlementReader;
    use serde_json::json;

    const REPORT: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id\n\
11796400131\t2026-11-01 00:00:00 UTC\t2026-11-15 00:00:00 UTC\t2026-11-17 08:00:00 UTC\t52.08\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n\
11796400131\t\t\t\t\t\tOrder\t113-0000001-0000001\t\t\t\tAmazon.com\tItemPrice\tPrincipal\t75.00\tAFN\t2026-11-03\t2026-11-03 10:00:00 UTC\t1\t\t\tMUG-1\t3\t\n\
11796400131\t\t\t\t\t\tOrder\t113-0000001-0000001\t\t\t\tAmazon.com\tItemFees\tCommission\t-11.25\tAFN\t2026-11-03\t2026-11-03 10:00:00 UTC\t1\t\t\tMUG-1\t3\t\n\
11796400131\t\t\t\t\t\tOrder\t113-0000001-0000001\t\t\t\tAmazon.com\tItemFees\tFBAPerUnitFulfillmentFee\t-9.66\tAFN\t2026-11-03\t2026-11-03 10:00:00 UTC\t1\t\t\tMUG-1\t3\t\n\
11796400131\t\t\t\t\t\tSomethingNew\t\t\t\t\tAmazon.com\tother-transaction\tMystery\t-2.01\t\t2026-11-04\t2026-11-04 10:00:00 UTC\t\t\t\t\t\t\n";

    fn aggregate() -> Aggregate {
        let mut reader = SettlementReader::new(REPORT.as_bytes()).unwrap();
        let mut a = Aggregate::new(reader.summary().clone());
        for line in reader.by_ref() {
            a.add(&line.unwrap()).unwrap();
        }
        a
    }

    fn posting() -> PostingMap {
        PostingMap::from_settings(
            "settle",
            Some(&json!({ "deposit_account": "110150", "rules": [
                { "type": "Order", "amount_type": "ItemPrice", "account": "401100" },
                { "amount_type": "ItemFees", "account": "601200" },
            ]})),
        )
        .unwrap()
    }

    #[test]
    fn the_report_ties_the_rows_to_the_deposit_and_names_what_is_held() {
        let a = aggregate();
        let p = plan(&a, &posting(), &BTreeSet::new(), 1, None).unwrap();
        let r = Reconciliation::of(&a, &p).unwrap();
        assert_eq!((r.deposit.as_str(), r.rows_total.as_str(), r.unexplained.as_str()), ("52.08", "52.08", "0.00"));
        assert_eq!((r.posted.as_str(), r.held.as_str()), ("54.09", "-2.01"));
        assert!(!r.ties, "a held row keeps the settlement from tying");
        let csv = r.to_csv().unwrap();
        assert!(csv.contains("SomethingNew,other-transaction,Mystery,1,-2.01,USD,,held"), "{csv}");
        assert!(csv.contains("Order,ItemPrice,Principal,1,75.00,USD,401100,posted"), "{csv}");
        assert!(csv.contains("total,,unexplained,,0.00,USD,,"), "{csv}");
    }

    #[test]
    fn fees_become_observations_per_settlement_type_and_per_sku_unit() {
        let a = aggregate();
        let obs = fee_observations(&a, "settlement-to-ledger");
        let fba = obs.iter().find(|o| o.field == "FBAPerUnitFulfillmentFee per unit").expect("per unit");
        assert_eq!((fba.per.as_str(), fba.key.as_str(), fba.amount.as_str()), ("SKU", "MUG-1", "3.22"));
        let commission = obs.iter().find(|o| o.key == "Order/ItemFees/Commission").expect("per type");
        assert_eq!((commission.field.as_str(), commission.amount.as_str()), ("fee per row", "11.25"));
        assert!(obs.iter().all(|o| o.record == "11796400131" && o.currency == "USD"));
        assert!(!obs.iter().any(|o| o.key.contains("Principal")), "a sale is not a fee");
    }
}
