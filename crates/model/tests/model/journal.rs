use ferry_model::{Currency, JournalEntry, JournalError, JournalLine, Side};
use jiff::civil::Date;

use super::fixtures::{journal, money, usd};

fn day() -> Date {
    "2024-05-06".parse().unwrap()
}

#[test]
fn balanced_entry_is_accepted() {
    let entry = journal();
    assert_eq!(entry.reference(), "AMZ-SETTLE-11796400482");
    assert_eq!(entry.currency(), Currency::USD);
    assert_eq!(entry.total(), usd("42.73"));
    assert_eq!(entry.lines().len(), 5);
    assert_eq!(entry.lines()[0].side, Side::Debit);
    assert_eq!(entry.lines()[0].memo.as_deref(), Some("Amazon receivable"));
}

#[test]
fn unbalanced_entry_is_refused_with_both_sums() {
    let err = JournalEntry::new(
        "J-1",
        day(),
        None,
        vec![JournalLine::debit("1200", usd("100.00")), JournalLine::credit("4000", usd("99.99"))],
    )
    .unwrap_err();
    assert_eq!(
        err,
        JournalError::Unbalanced { reference: "J-1".to_owned(), debits: usd("100.00"), credits: usd("99.99") }
    );
    let text = err.to_string();
    assert!(text.contains("unbalanced") && text.contains("100.00 USD") && text.contains("99.99 USD"), "{text}");
}

#[test]
fn mixed_currencies_are_refused_naming_the_line() {
    let err = JournalEntry::new(
        "J-2",
        day(),
        None,
        vec![JournalLine::debit("1200", usd("10.00")), JournalLine::credit("4000", money("10.00", Currency::EUR))],
    )
    .unwrap_err();
    assert_eq!(
        err,
        JournalError::MixedCurrencies {
            reference: "J-2".to_owned(),
            line: 2,
            expected: Currency::USD,
            found: Currency::EUR,
        }
    );
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn negative_amounts_and_excess_decimals_are_refused() {
    let negative = JournalEntry::new(
        "J-3",
        day(),
        None,
        vec![JournalLine::debit("1200", usd("-5.00")), JournalLine::credit("4000", usd("-5.00"))],
    );
    assert!(matches!(negative, Err(JournalError::NegativeAmount { line: 1, .. })));

    let fractional_cent = JournalEntry::new(
        "J-4",
        day(),
        None,
        vec![JournalLine::debit("1200", usd("1.005")), JournalLine::credit("4000", usd("1.005"))],
    );
    assert!(matches!(fractional_cent, Err(JournalError::NotInMinorUnits { line: 1, .. })));

    let yen = JournalEntry::new(
        "J-5",
        day(),
        None,
        vec![
            JournalLine::debit("1200", money("100.5", Currency::JPY)),
            JournalLine::credit("4000", money("100.5", Currency::JPY)),
        ],
    );
    assert!(matches!(yen, Err(JournalError::NotInMinorUnits { .. })));

    let dinar = JournalEntry::new(
        "J-6",
        day(),
        None,
        vec![
            JournalLine::debit("1200", money("1.234", Currency::KWD)),
            JournalLine::credit("4000", money("1.234", Currency::KWD)),
        ],
    );
    assert_eq!(dinar.map(|e| e.total()), Ok(money("1.234", Currency::KWD)));
}

#[test]
fn structural_problems_are_refused() {
    let one_line = JournalEntry::new("J-7", day(), None, vec![JournalLine::debit("1200", usd("0"))]);
    assert!(matches!(one_line, Err(JournalError::TooFewLines { count: 1, .. })));
    let none = JournalEntry::new("J-8", day(), None, vec![]);
    assert!(matches!(none, Err(JournalError::TooFewLines { count: 0, .. })));
    let no_ref = JournalEntry::new(
        "  ",
        day(),
        None,
        vec![JournalLine::debit("1", usd("1")), JournalLine::credit("2", usd("1"))],
    );
    assert_eq!(no_ref, Err(JournalError::EmptyReference));
    let no_account = JournalEntry::new(
        "J-9",
        day(),
        None,
        vec![JournalLine::debit("1200", usd("1")), JournalLine::credit("", usd("1"))],
    );
    assert!(matches!(no_account, Err(JournalError::EmptyAccount { line: 2, .. })));
}

#[test]
fn deserializing_an_unbalanced_entry_fails() {
    let mut json = serde_json::to_value(journal()).unwrap();
    json["lines"][0]["amount"]["amount"] = serde_json::json!("33.50");
    let err = serde_json::from_value::<JournalEntry>(json).unwrap_err();
    assert!(err.to_string().contains("unbalanced"), "{err}");
}
