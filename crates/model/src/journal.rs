//! A balanced general-ledger journal entry.
//!
//! The only way to get a [`JournalEntry`] (constructor or deserialize) checks it: one
//! currency, debits equal credits, amounts in the currency's minor units. A ledger would
//! reject the rest anyway, but later, in another system, with a less useful message.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::money::{Money, MoneyError};

/// Debit or credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Debit (left side).
    Debit,
    /// Credit (right side).
    Credit,
}

/// One posting: an account, a side and a non-negative amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    /// Ledger account as the target writes it (SL `Acct`, F&O main account or a full
    /// ledger-dimension string).
    pub account: String,
    /// Debit or credit.
    pub side: Side,
    /// Amount, zero or positive: the side carries the sign.
    pub amount: Money,
    /// Line text.
    pub memo: Option<String>,
}

impl JournalLine {
    /// A debit of `amount` to `account`.
    pub fn debit(account: impl Into<String>, amount: Money) -> Self {
        JournalLine { account: account.into(), side: Side::Debit, amount, memo: None }
    }

    /// A credit of `amount` to `account`.
    pub fn credit(account: impl Into<String>, amount: Money) -> Self {
        JournalLine { account: account.into(), side: Side::Credit, amount, memo: None }
    }

    /// Adds line text.
    pub fn with_memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }
}

/// Why a journal entry was refused. `line` numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The reference (idempotency key at the target) is empty.
    #[error("journal entry has an empty reference")]
    EmptyReference,
    /// Fewer than two lines cannot balance anything.
    #[error("journal entry {reference:?} has {count} line(s); at least 2 are needed")]
    TooFewLines {
        /// The entry's reference.
        reference: String,
        /// Lines given.
        count: usize,
    },
    /// A line has no account.
    #[error("journal entry {reference:?} line {line}: empty account")]
    EmptyAccount {
        /// The entry's reference.
        reference: String,
        /// Line number.
        line: usize,
    },
    /// A line's amount is negative; flip its side instead.
    #[error("journal entry {reference:?} line {line}: negative amount {amount}; use the other side")]
    NegativeAmount {
        /// The entry's reference.
        reference: String,
        /// Line number.
        line: usize,
        /// The amount.
        amount: Money,
    },
    /// A line's amount has more decimals than the currency allows.
    #[error(
        "journal entry {reference:?} line {line}: amount {amount} has more decimals than {currency} allows; round it first",
        currency = amount.currency()
    )]
    NotInMinorUnits {
        /// The entry's reference.
        reference: String,
        /// Line number.
        line: usize,
        /// The amount.
        amount: Money,
    },
    /// A line is in another currency than the first line.
    #[error("journal entry {reference:?} line {line}: currency {found} differs from {expected}")]
    MixedCurrencies {
        /// The entry's reference.
        reference: String,
        /// Line number.
        line: usize,
        /// The first line's currency.
        expected: Currency,
        /// This line's currency.
        found: Currency,
    },
    /// Debits and credits differ.
    #[error("journal entry {reference:?} is unbalanced: debits {debits}, credits {credits}")]
    Unbalanced {
        /// The entry's reference.
        reference: String,
        /// Sum of debits.
        debits: Money,
        /// Sum of credits.
        credits: Money,
    },
    /// A sum overflowed.
    #[error("journal entry {reference:?}: {source}")]
    Amount {
        /// The entry's reference.
        reference: String,
        /// The arithmetic error.
        source: MoneyError,
    },
}

/// A balanced journal entry in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JournalEntryParts")]
pub struct JournalEntry {
    reference: String,
    date: Date,
    description: Option<String>,
    lines: Vec<JournalLine>,
}

/// Unchecked wire form of [`JournalEntry`].
#[derive(Deserialize)]
struct JournalEntryParts {
    reference: String,
    date: Date,
    description: Option<String>,
    lines: Vec<JournalLine>,
}

impl TryFrom<JournalEntryParts> for JournalEntry {
    type Error = JournalError;

    fn try_from(parts: JournalEntryParts) -> Result<Self, Self::Error> {
        JournalEntry::new(parts.reference, parts.date, parts.description, parts.lines)
    }
}

impl JournalEntry {
    /// Checks and builds an entry. `reference` is what the target uses to recognise a
    /// re-post (e.g. `AMZ-SETTLE-1234567890`); `date` is the accounting date, a calendar
    /// day in the ledger's own calendar rather than an instant.
    pub fn new(
        reference: impl Into<String>,
        date: Date,
        description: Option<String>,
        lines: Vec<JournalLine>,
    ) -> Result<Self, JournalError> {
        let reference = reference.into();
        if reference.trim().is_empty() {
            return Err(JournalError::EmptyReference);
        }
        let Some(first) = lines.first() else {
            return Err(JournalError::TooFewLines { reference, count: 0 });
        };
        if lines.len() < 2 {
            return Err(JournalError::TooFewLines { reference, count: lines.len() });
        }
        let currency = first.amount.currency();
        let mut debits = Money::zero(currency);
        let mut credits = Money::zero(currency);
        for (index, line) in lines.iter().enumerate() {
            let number = index + 1;
            if line.account.trim().is_empty() {
                return Err(JournalError::EmptyAccount { reference, line: number });
            }
            if line.amount.currency() != currency {
                return Err(JournalError::MixedCurrencies {
                    reference,
                    line: number,
                    expected: currency,
                    found: line.amount.currency(),
                });
            }
            if line.amount.is_negative() {
                return Err(JournalError::NegativeAmount { reference, line: number, amount: line.amount });
            }
            if !line.amount.is_in_minor_units() {
                return Err(JournalError::NotInMinorUnits { reference, line: number, amount: line.amount });
            }
            let total = match line.side {
                Side::Debit => &mut debits,
                Side::Credit => &mut credits,
            };
            *total = match total.checked_add(&line.amount) {
                Ok(sum) => sum,
                Err(source) => return Err(JournalError::Amount { reference, source }),
            };
        }
        if debits != credits {
            return Err(JournalError::Unbalanced { reference, debits, credits });
        }
        Ok(JournalEntry { reference, date, description, lines })
    }

    /// The reference (idempotency key at the target).
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The accounting date.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Header text.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The lines, in the order given.
    pub fn lines(&self) -> &[JournalLine] {
        &self.lines
    }

    /// The single currency of every line.
    pub fn currency(&self) -> Currency {
        // `new` guarantees at least two lines; the fallback is never reached.
        self.lines.first().map_or(Currency::USD, |line| line.amount.currency())
    }

    /// Sum of the debits, which equals the sum of the credits.
    pub fn total(&self) -> Money {
        // Cannot fail: `new` already summed these same lines without error.
        let currency = self.currency();
        self.lines
            .iter()
            .filter(|line| line.side == Side::Debit)
            .try_fold(Money::zero(currency), |sum, line| sum.checked_add(&line.amount))
            .unwrap_or(Money::zero(currency))
    }

    /// Consumes the entry, returning its lines.
    pub fn into_lines(self) -> Vec<JournalLine> {
        self.lines
    }
}
