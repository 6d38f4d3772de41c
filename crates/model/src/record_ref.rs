//! A reference to a record in any system, for the places where ids of every system travel
//! together (the xref table, run traces, dead letters).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{ClarityId, DataverseId, IdError, SystemId};

/// The systems Ferry talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// Amazon Selling Partner API.
    Amazon,
    /// Dataverse (Dynamics 365 CE / CRM).
    Dataverse,
    /// Dynamics 365 Finance & Operations.
    FinanceOperations,
    /// Dynamics SL (on-premise).
    DynamicsSl,
    /// Clarity eCommerce.
    Clarity,
}

impl System {
    /// Every system, in declaration order.
    pub const ALL: [System; 5] =
        [System::Amazon, System::Dataverse, System::FinanceOperations, System::DynamicsSl, System::Clarity];

    /// The stable name used in storage and serde, e.g. `"finance_operations"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            System::Amazon => "amazon",
            System::Dataverse => "dataverse",
            System::FinanceOperations => "finance_operations",
            System::DynamicsSl => "dynamics_sl",
            System::Clarity => "clarity",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for System {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        System::ALL.into_iter().find(|system| system.as_str() == s).ok_or_else(|| {
            IdError::new("System", s, "expected amazon, dataverse, finance_operations, dynamics_sl or clarity")
        })
    }
}

/// A record of any system: `system` + `entity` (the system's own entity name, e.g.
/// `"salesorder"` or `"order"`) + `id` as text. Validated on construction and deserialize:
/// the entity is 1–128 of `[A-Za-z0-9_.-]`, the id 1–256 characters without control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RecordRefParts")]
pub struct RecordRef {
    system: System,
    entity: String,
    id: String,
}

/// Unvalidated wire form of [`RecordRef`].
#[derive(Deserialize)]
struct RecordRefParts {
    system: System,
    entity: String,
    id: String,
}

impl TryFrom<RecordRefParts> for RecordRef {
    type Error = IdError;

    fn try_from(parts: RecordRefParts) -> Result<Self, Self::Error> {
        RecordRef::new(parts.system, parts.entity, parts.id)
    }
}

impl RecordRef {
    /// Validates and builds a reference.
    pub fn new(system: System, entity: impl Into<String>, id: impl Into<String>) -> Result<Self, IdError> {
        let entity = entity.into();
        let id = id.into();
        let entity_ok = (1..=128).contains(&entity.len())
            && entity.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !entity_ok {
            return Err(IdError::new(
                "RecordRef entity",
                &entity,
                "expected 1 to 128 characters of A-Z, a-z, 0-9, '_', '.' or '-'",
            ));
        }
        let id_ok = (1..=256).contains(&id.chars().count()) && !id.chars().any(char::is_control);
        if !id_ok {
            return Err(IdError::new("RecordRef id", &id, "expected 1 to 256 characters without control characters"));
        }
        Ok(RecordRef { system, entity, id })
    }

    /// For ids that are already validated by their own type (see [`SystemId`]).
    pub(crate) fn from_trusted(system: System, entity: &str, id: &str) -> Self {
        RecordRef { system, entity: entity.to_owned(), id: id.to_owned() }
    }

    /// A Dataverse row of `entity` (its logical name, e.g. `"contact"`).
    pub fn dataverse(entity: impl Into<String>, id: DataverseId) -> Result<Self, IdError> {
        RecordRef::new(System::Dataverse, entity, id.to_string())
    }

    /// A Clarity eCommerce record of `entity` (e.g. `"account"`).
    pub fn clarity(entity: impl Into<String>, id: &ClarityId) -> Result<Self, IdError> {
        RecordRef::new(System::Clarity, entity, id.as_str())
    }

    /// The system holding the record.
    pub fn system(&self) -> System {
        self.system
    }

    /// The system's entity name.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The id as text.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the id back as its typed form, if this reference is of that type's system and
    /// entity.
    pub fn typed<T>(&self) -> Result<T, IdError>
    where
        T: SystemId + FromStr<Err = IdError>,
    {
        if self.system != T::SYSTEM || self.entity != T::ENTITY {
            return Err(IdError::new(
                std::any::type_name::<T>().rsplit("::").next().unwrap_or("id"),
                &format!("{self}"),
                "reference is to another system or entity",
            ));
        }
        self.id.parse()
    }
}

impl fmt::Display for RecordRef {
    /// `system:entity:id`, e.g. `amazon:order:123-1234567-1234567`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.system, self.entity, self.id)
    }
}
