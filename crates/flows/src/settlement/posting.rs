//! The posting map: which ledger account each kind of settlement amount goes to, read from a
//! settlement flow's `settings.posting` block.
//!
//! ```yaml
//! settings:
//!   posting:
//!     deposit_account: "110150"        # where the deposit lands (bank or a clearing account)
//!     ledger_currency: USD             # optional: the ledger's currency when it differs
//!     rules:
//!       - { type: Order, amount_type: ItemPrice, description: Principal, account: "401100" }
//!       - { type: "*", amount_type: ItemFees, account: "601200" }
//!       - { type: other-transaction, description: "*Reserve*", account: "130500" }
//! ```
//!
//! A rule names a transaction type, an amount type and an amount description, each as Amazon
//! spells it, `*` (the default) for any, or with `*` inside for a wildcard. The most specific
//! matching rule wins (most fields named exactly, then most fields named at all); between
//! equals, the first in the file. A row of a type this version does not know matches only a
//! rule that names that type exactly: an unknown type is never posted by a catch-all, it is
//! held until someone maps it.

use serde_json::Value;

use ferry_model::{Currency, SettlementLine};

/// One field of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
    /// `*` inside: the parts between the stars, in order.
    Wildcard(Vec<String>),
}

impl Pattern {
    fn parse(text: &str) -> Pattern {
        let text = text.trim();
        if text == "*" || text.is_empty() {
            Pattern::Any
        } else if text.contains('*') {
            Pattern::Wildcard(text.split('*').map(str::to_owned).collect())
        } else {
            Pattern::Exact(text.to_owned())
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(e) => e.eq_ignore_ascii_case(value),
            Pattern::Wildcard(parts) => wildcard(parts, &value.to_ascii_lowercase()),
        }
    }

    /// How specific: 2 exact, 1 wildcard, 0 any.
    fn weight(&self) -> u8 {
        match self {
            Pattern::Any => 0,
            Pattern::Wildcard(_) => 1,
            Pattern::Exact(_) => 2,
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, Pattern::Exact(_))
    }
}

/// `parts` are the pieces of a pattern split at `*`: the first must start the value, the last
/// end it, the others appear in order between.
fn wildcard(parts: &[String], value: &str) -> bool {
    let parts: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else { return true };
    if !value.starts_with(first.as_str()) {
        return false;
    }
    let mut rest = &value[first.len()..];
    let middle = &parts[1..parts.len().saturating_sub(1)];
    for part in middle {
        match rest.find(part.as_str()) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    parts.len() == 1 && rest.is_empty() || parts.len() > 1 && rest.ends_with(last.as_str())
}

/// A rule of the posting map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingRule {
    transaction_type: Pattern,
    amount_type: Pattern,
    description: Pattern,
    /// The ledger account, as the target writes it (F&O main account or a full ledger
    /// dimension display value, SL `Acct`).
    pub account: String,
    /// The rule's place in the file, from 1 (for messages).
    pub number: usize,
}

/// The posting map of a settlement flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingMap {
    /// Where the deposit lands: the balancing line of each journal.
    pub deposit_account: String,
    /// The ledger's currency, when it is not the settlement's.
    pub ledger_currency: Option<Currency>,
    rules: Vec<PostingRule>,
}

impl PostingMap {
    /// Reads `settings.posting` of flow `flow`; every problem names the flow and the place.
    pub fn from_settings(flow: &str, posting: Option<&Value>) -> Result<PostingMap, String> {
        let at = |place: &str, problem: &str| format!("flow {flow}: settings.posting{place}: {problem}");
        let Some(posting) = posting else {
            return Err(at("", "missing; a settlement flow needs a posting map (deposit_account and rules)"));
        };
        let Some(map) = posting.as_object() else { return Err(at("", "must be a mapping")) };
        for key in map.keys() {
            if !["deposit_account", "ledger_currency", "rules"].contains(&key.as_str()) {
                return Err(at(&format!(".{key}"), "unknown setting (known: deposit_account, ledger_currency, rules)"));
            }
        }
        let text = |value: Option<&Value>, place: &str| -> Result<Option<String>, String> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
                // Account numbers written without quotes arrive as numbers.
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(at(place, &format!("must be a non-empty text, got {other}"))),
            }
        };
        let deposit_account = text(map.get("deposit_account"), ".deposit_account")?
            .ok_or_else(|| at(".deposit_account", "missing: the account the deposit lands on"))?;
        let ledger_currency = text(map.get("ledger_currency"), ".ledger_currency")?
            .map(|c| Currency::from_code(&c).map_err(|e| at(".ledger_currency", &e.to_string())))
            .transpose()?;
        let Some(Value::Array(items)) = map.get("rules") else {
            return Err(at(
                ".rules",
                "missing or not a list; each rule names type, amount_type, description and account",
            ));
        };
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let place = format!(".rules[{i}]");
            let Some(rule) = item.as_object() else { return Err(at(&place, "must be a mapping")) };
            for key in rule.keys() {
                if !["type", "amount_type", "description", "account"].contains(&key.as_str()) {
                    return Err(at(
                        &format!("{place}.{key}"),
                        "unknown field (known: type, amount_type, description, account)",
                    ));
                }
            }
            let pattern = |key: &str| -> Result<Pattern, String> {
                Ok(text(rule.get(key), &format!("{place}.{key}"))?.map(|t| Pattern::parse(&t)).unwrap_or(Pattern::Any))
            };
            let account = text(rule.get("account"), &format!("{place}.account"))?
                .ok_or_else(|| at(&format!("{place}.account"), "missing: the ledger account of this rule"))?;
            rules.push(PostingRule {
                transaction_type: pattern("type")?,
                amount_type: pattern("amount_type")?,
                description: pattern("description")?,
                account,
                number: i + 1,
            });
        }
        if rules.is_empty() {
            return Err(at(".rules", "empty: nothing would post"));
        }
        Ok(PostingMap { deposit_account, ledger_currency, rules })
    }

    /// The rule a row posts by, or `None`: the row is held for a mapping.
    pub fn rule_for(&self, line: &SettlementLine) -> Option<&PostingRule> {
        self.rule_for_kind(&BucketKind::of(line))
    }

    /// The rule an aggregated kind posts by, or `None`: held.
    pub fn rule_for_kind(&self, kind: &BucketKind) -> Option<&PostingRule> {
        let mut best: Option<(&PostingRule, (u8, u8))> = None;
        for rule in &self.rules {
            if !(rule.transaction_type.matches(&kind.transaction_type)
                && rule.amount_type.matches(&kind.amount_type)
                && rule.description.matches(&kind.description))
            {
                continue;
            }
            // An unknown type or amount type is posted only by a rule naming it exactly.
            if (kind.unknown_type && !rule.transaction_type.is_exact())
                || (kind.unknown_amount_type && !rule.amount_type.is_exact())
            {
                continue;
            }
            let patterns = [&rule.transaction_type, &rule.amount_type, &rule.description];
            let exact = patterns.iter().filter(|p| p.is_exact()).count() as u8;
            let weight: u8 = patterns.iter().map(|p| p.weight()).sum();
            if best.is_none_or(|(_, b)| (exact, weight) > b) {
                best = Some((rule, (exact, weight)));
            }
        }
        best.map(|(rule, _)| rule)
    }
}

/// What settlement rows are aggregated by: transaction type, amount type and amount
/// description, as Amazon spells them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketKind {
    pub transaction_type: String,
    pub amount_type: String,
    pub description: String,
    /// The transaction type is one this version does not know.
    pub unknown_type: bool,
    /// The amount type is one this version does not know.
    pub unknown_amount_type: bool,
}

impl BucketKind {
    pub fn of(line: &SettlementLine) -> BucketKind {
        BucketKind {
            transaction_type: line.transaction_type.as_str().to_owned(),
            amount_type: line.amount_type.as_str().to_owned(),
            description: line.amount_description.clone(),
            unknown_type: line.transaction_type.is_unknown(),
            unknown_amount_type: line.amount_type.is_unknown(),
        }
    }

    /// `Order/ItemPrice/Principal`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.transaction_type, self.amount_type, self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(rules: Value) -> PostingMap {
        PostingMap::from_settings("f7", Some(&json!({ "deposit_account": "110150", "rules": rules }))).unwrap()
    }

    fn kind(t: &str, a: &str, d: &str) -> BucketKind {
        BucketKind {
            transaction_type: t.into(),
            amount_type: a.into(),
            description: d.into(),
            unknown_type: false,
            unknown_amount_type: false,
        }
    }

    #[test]
    fn the_most_specific_rule_wins_whatever_its_place() {
        let m = map(json!([
            { "amount_type": "ItemFees", "account": "600000" },
            { "type": "Order", "amount_type": "ItemFees", "description": "Commission", "account": "601100" },
            { "type": "*", "amount_type": "ItemFees", "description": "FBA*Fee", "account": "601200" },
        ]));
        let account = |k: BucketKind| m.rule_for_kind(&k).map(|r| r.account.clone());
        assert_eq!(account(kind("Order", "ItemFees", "Commission")).as_deref(), Some("601100"));
        assert_eq!(account(kind("Order", "ItemFees", "FBAPerUnitFulfillmentFee")).as_deref(), Some("601200"));
        assert_eq!(account(kind("Refund", "ItemFees", "RefundCommission")).as_deref(), Some("600000"));
        assert_eq!(account(kind("Order", "ItemPrice", "Principal")), None, "no rule: held");
    }

    #[test]
    fn an_unknown_type_is_posted_only_by_a_rule_that_names_it() {
        let m = map(json!([
            { "account": "699999" },
            { "type": "NewAmazonThing", "account": "650000" },
        ]));
        let mut k = kind("SomethingElse", "ItemFees", "X");
        k.unknown_type = true;
        assert_eq!(m.rule_for_kind(&k), None, "a catch-all never posts an unknown type");
        let mut named = kind("NewAmazonThing", "ItemFees", "X");
        named.unknown_type = true;
        assert_eq!(m.rule_for_kind(&named).map(|r| r.account.as_str()), Some("650000"));
        assert_eq!(m.rule_for_kind(&kind("Order", "ItemPrice", "Tax")).map(|r| r.account.as_str()), Some("699999"));
    }

    #[test]
    fn wildcards_match_inside_descriptions_without_regard_to_case() {
        let m = map(json!([{ "description": "*reserve*", "account": "130500" }]));
        assert!(
            m.rule_for_kind(&kind("other-transaction", "other-transaction", "Previous Reserve Amount Balance"))
                .is_some()
        );
        assert!(m.rule_for_kind(&kind("other-transaction", "other-transaction", "Current Reserve Amount")).is_some());
        assert!(m.rule_for_kind(&kind("Order", "ItemPrice", "Principal")).is_none());
        let prefix = map(json!([{ "description": "FBA*", "account": "1" }]));
        assert!(prefix.rule_for_kind(&kind("Order", "ItemFees", "FBAPerUnitFulfillmentFee")).is_some());
        assert!(prefix.rule_for_kind(&kind("Order", "ItemFees", "Commission")).is_none());
    }

    #[test]
    fn a_wrong_posting_map_is_refused_naming_the_place() {
        let err = |v: Value| PostingMap::from_settings("settle", Some(&v)).unwrap_err();
        assert!(err(json!({ "rules": [{ "account": "1" }] })).contains("settings.posting.deposit_account: missing"));
        let e = err(json!({ "deposit_account": "1", "rules": [{ "type": "Order" }] }));
        assert!(e.contains("flow settle: settings.posting.rules[0].account: missing"), "{e}");
        let e = err(json!({ "deposit_account": "1", "rules": [{ "acount": "1" }] }));
        assert!(e.contains("rules[0].acount: unknown field"), "{e}");
        let e = err(json!({ "deposit_account": "1", "ledger_currency": "XYZ", "rules": [{ "account": "1" }] }));
        assert!(e.contains("settings.posting.ledger_currency"), "{e}");
        assert!(PostingMap::from_settings("settle", None).unwrap_err().contains("missing"));
        let e = err(json!({ "deposit_account": "1", "rules": [] }));
        assert!(e.contains("empty"), "{e}");
    }
}
