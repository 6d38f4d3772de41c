//! Postal address.
//!
//! Everything that locates a person (recipient, street lines, postal code, phone) is
//! [`Pii`], so `{:?}` of an address shows only city, region and country: enough to debug a
//! mapping, not enough to find the buyer.

use serde::{Deserialize, Serialize};

use crate::ids::string_id;
use crate::pii::Pii;

fn check_country_code(value: &str) -> Result<(), &'static str> {
    (value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()))
        .then_some(())
        .ok_or("expected 2 uppercase letters (ISO 3166-1 alpha-2) like US")
}

string_id! {
    /// ISO 3166-1 alpha-2 country code such as `US` or `GB`. Only the shape is checked: the
    /// list changes and carriers use user-assigned codes (`XK`), and rejecting a real
    /// address costs more than passing an odd code to a target that validates its own.
    CountryCode, check_country_code
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Name of the person the parcel is for (may differ from the buyer).
    pub recipient: Option<Pii<String>>,
    /// Company at the address.
    pub company: Option<Pii<String>>,
    /// Street lines in order (Amazon's AddressLine1..3, Dataverse line1..3).
    pub lines: Pii<Vec<String>>,
    /// City or town.
    pub city: Option<String>,
    /// State, province or region code as the source gives it (e.g. `WA`, `ON`).
    pub state_or_province: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<Pii<String>>,
    /// Country.
    pub country: CountryCode,
    /// Phone number at the address.
    pub phone: Option<Pii<String>>,
}

impl Address {
    /// An address in `country` with nothing else known yet.
    pub fn new(country: CountryCode) -> Self {
        Address {
            recipient: None,
            company: None,
            lines: Pii::new(Vec::new()),
            city: None,
            state_or_province: None,
            postal_code: None,
            country,
            phone: None,
        }
    }

    /// The street lines, for code that must write them to a target. Never log them.
    pub fn exposed_lines(&self) -> &[String] {
        self.lines.expose()
    }
}
