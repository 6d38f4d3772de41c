//! A customer: a person, a company, or a person at a company.
//!
//! Names, email and phone are [`Pii`]: `{:?}` of a customer prints `<redacted>` for them, so
//! an order can be logged or traced without leaking the buyer.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::pii::Pii;
use crate::record_ref::RecordRef;

/// A person's name. Only the last name is required because that is what Dataverse requires
/// of a contact; a name that cannot be split goes there whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    /// Given name.
    pub first: Option<Pii<String>>,
    /// Family name, or the whole name when it cannot be split.
    pub last: Pii<String>,
}

/// Who the customer is. Amazon without a Restricted Data Token gives no name at all, hence
/// [`CustomerKind::Guest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerKind {
    /// No name known (PII-limited guest).
    Guest,
    /// A private person (Dataverse contact).
    Person(PersonName),
    /// A company (Dataverse account).
    Company {
        /// Company name.
        name: Pii<String>,
    },
    /// A person buying for a company (contact under an account).
    PersonAtCompany {
        /// The person.
        person: PersonName,
        /// The company name.
        company: Pii<String>,
    },
}

/// What an address is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressRole {
    /// Invoices go here.
    Billing,
    /// Goods go here.
    Shipping,
    /// Anything else (e.g. a second office).
    Other,
}

/// An address of a customer with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAddress {
    /// What the address is for.
    pub role: AddressRole,
    /// The address.
    pub address: Address,
}

/// A customer as the source knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The record in the source system, when it has one (Amazon buyers do not).
    pub source: Option<RecordRef>,
    /// Person, company or both.
    pub kind: CustomerKind,
    /// Email (for Amazon, the anonymized relay address).
    pub email: Option<Pii<String>>,
    /// Phone.
    pub phone: Option<Pii<String>>,
    /// Addresses, primary first within each role.
    pub addresses: Vec<CustomerAddress>,
}

impl Customer {
    /// A customer of `kind` with no contact details yet.
    pub fn new(kind: CustomerKind) -> Self {
        Customer { source: None, kind, email: None, phone: None, addresses: Vec::new() }
    }

    /// The person's name, if the customer is or includes a person.
    pub fn person(&self) -> Option<&PersonName> {
        match &self.kind {
            CustomerKind::Person(person) | CustomerKind::PersonAtCompany { person, .. } => Some(person),
            CustomerKind::Guest | CustomerKind::Company { .. } => None,
        }
    }

    /// The company name, if the customer is or includes a company.
    pub fn company(&self) -> Option<&Pii<String>> {
        match &self.kind {
            CustomerKind::Company { name } => Some(name),
            CustomerKind::PersonAtCompany { company, .. } => Some(company),
            CustomerKind::Guest | CustomerKind::Person(_) => None,
        }
    }

    /// The name to show on a target record: "First Last" for a person, else the company.
    /// Returns PII in clear; never log it.
    pub fn exposed_display_name(&self) -> Option<String> {
        if let Some(person) = self.person() {
            return Some(match &person.first {
                Some(first) => format!("{} {}", first.expose(), person.last.expose()),
                None => person.last.expose().clone(),
            });
        }
        self.company().map(|name| name.expose().clone())
    }

    /// The email in clear, for matching or writing to a target. Never log it.
    pub fn exposed_email(&self) -> Option<&str> {
        self.email.as_ref().map(|email| email.expose().as_str())
    }

    /// The first address with `role`.
    pub fn address(&self, role: AddressRole) -> Option<&Address> {
        self.addresses.iter().find(|a| a.role == role).map(|a| &a.address)
    }
}
