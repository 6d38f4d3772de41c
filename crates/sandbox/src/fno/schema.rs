//! The entities the sandbox serves, read from the vendored field list
//! `reference/dynamics/samples/fo-entity-fields.json` (names, EDM or enum types, nullability
//! and keys from a real F&O `$metadata`), plus what the list lacks: the entity type names,
//! the enum members the reference knows (DYNAMICS.md §B.4), the navigation properties for
//! `$expand`, the real names of enum types the list's generator re-cased, and one sandbox
//! addition, `ModifiedDateTime`, the poll cursor (stock entities
//! have none; installations add one by extending the entity, and the reference is silent).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const FIELDS: &str = include_str!("../../../../reference/dynamics/samples/fo-entity-fields.json");
/// The real names of enum types that the field list's generator re-cased (`EfDocPresenceTypeBr`
/// is `EFDocPresenceType_BR`): facts read off CustomerV3's CSDL (DYNAMICS.md §B.4 and §D; the
/// verbatim excerpt is not vendored, its source states no licence) and, for
/// `LedgerJournalACType`, the reference's text.
const RENAMED_ENUMS: &[(&str, &str)] = &[
    ("Abc", "ABC"),
    ("CompanyTypeMx", "CompanyType_MX"),
    ("CreditCardCvc", "CreditCardCVC"),
    ("CustWhtContributionTypeBr", "CustWhtContributionType_BR"),
    ("CustomerTypeIn", "CustomerType_IN"),
    ("EfDocPresenceTypeBr", "EFDocPresenceType_BR"),
    ("LedgerJournalAcType", "LedgerJournalACType"),
    ("McrsoAllocPriority", "MCRSOAllocPriority"),
    ("NatureOfAssesseeIn", "NatureOfAssessee_IN"),
    ("PanStatusIn", "PANStatus_IN"),
    ("SalesInvoicePostingTypeRu", "SalesInvoicePostingType_RU"),
];

/// The namespace of every type.
pub const NAMESPACE: &str = "Microsoft.Dynamics.DataEntities";
/// The sandbox's modification timestamp (see the module notes).
pub const MODIFIED: &str = "ModifiedDateTime";

/// The entity sets served, with their entity type names. The type names of the two on-hand
/// entities are not in the reference (inferred from the set names).
pub const SERVED: &[(&str, &str)] = &[
    ("SalesOrderHeadersV2", "SalesOrderHeaderV2"),
    ("SalesOrderLines", "SalesOrderLine"),
    ("CustomersV3", "CustomerV3"),
    ("ReleasedProductsV2", "ReleasedProductV2"),
    ("WarehousesOnHandV2", "WarehouseOnHandV2"),
    ("InventorySitesOnHandV2", "InventorySiteOnHandV2"),
    ("ReturnOrderHeaders", "ReturnOrderHeader"),
    ("ReturnOrderLines", "ReturnOrderLine"),
    ("LedgerJournalHeaders", "LedgerJournalHeader"),
    ("LedgerJournalLines", "LedgerJournalLine"),
];

/// Enum members known from the reference (DYNAMICS.md §B.4). Values: NoYes and
/// LedgerJournalACType as the metadata gives them; the others in listed order (the
/// generator that the reference read dropped numeric values).
pub const ENUMS: &[(&str, &[(&str, i64)])] = &[
    ("NoYes", &[("No", 0), ("Yes", 1)]),
    ("SalesStatus", &[("None", 0), ("Backorder", 1), ("Delivered", 2), ("Invoiced", 3), ("Canceled", 4)]),
    (
        "SalesOrderProcessingStatus",
        &[
            ("None", 0),
            ("Active", 1),
            ("Confirmed", 2),
            ("Picked", 3),
            ("PartiallyDelivered", 4),
            ("Delivered", 5),
            ("Invoiced", 6),
            ("PartiallyInvoiced", 7),
            ("Canceled", 8),
            ("DeliveredPartiallyInvoiced", 9),
        ],
    ),
    (
        "ReturnStatusLine",
        &[
            ("None", 0),
            ("Awaiting", 1),
            ("Registered", 2),
            ("Quarantine", 3),
            ("Received", 4),
            ("Invoiced", 5),
            ("Canceled", 6),
        ],
    ),
    (
        "LedgerJournalACType",
        &[("Ledger", 0), ("Cust", 1), ("Vend", 2), ("Project", 3), ("FixedAssets", 5), ("Bank", 6)],
    ),
    ("EcoResProductType", &[("Item", 1), ("Service", 2)]),
];

/// Navigation properties: (set, name, target set, is a collection). The join is on the
/// key fields the two share (`dataAreaId` and the header number).
pub const NAVIGATION: &[(&str, &str, &str, bool)] = &[
    ("SalesOrderHeadersV2", "SalesOrderLines", "SalesOrderLines", true),
    ("SalesOrderLines", "SalesOrderHeader", "SalesOrderHeadersV2", false),
    ("ReturnOrderHeaders", "ReturnOrderLines", "ReturnOrderLines", true),
    ("ReturnOrderLines", "ReturnOrderHeader", "ReturnOrderHeaders", false),
    ("LedgerJournalHeaders", "LedgerJournalLines", "LedgerJournalLines", true),
    ("LedgerJournalLines", "LedgerJournalHeader", "LedgerJournalHeaders", false),
];

/// The EDM type of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    String,
    Decimal,
    Int32,
    Int64,
    DateTimeOffset,
    Guid,
    /// An enum, by type name (without the namespace).
    Enum(String),
}

impl Kind {
    fn parse(text: &str) -> Kind {
        match text {
            "Edm.String" => Kind::String,
            "Edm.Decimal" => Kind::Decimal,
            "Edm.Int32" => Kind::Int32,
            "Edm.Int64" => Kind::Int64,
            "Edm.DateTimeOffset" => Kind::DateTimeOffset,
            "Edm.Guid" => Kind::Guid,
            other => Kind::Enum(other.to_owned()),
        }
    }

    /// The CSDL `Type` attribute.
    pub fn csdl(&self) -> String {
        match self {
            Kind::String => "Edm.String".into(),
            Kind::Decimal => "Edm.Decimal".into(),
            Kind::Int32 => "Edm.Int32".into(),
            Kind::Int64 => "Edm.Int64".into(),
            Kind::DateTimeOffset => "Edm.DateTimeOffset".into(),
            Kind::Guid => "Edm.Guid".into(),
            Kind::Enum(name) => format!("{NAMESPACE}.{name}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

#[derive(Debug, Clone)]
pub struct EntityDef {
    pub set: String,
    pub type_name: String,
    pub keys: Vec<String>,
    pub properties: Vec<Property>,
    index: HashMap<String, usize>,
}

impl EntityDef {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.index.get(name).map(|&i| &self.properties[i])
    }

    /// `Microsoft.Dynamics.DataEntities.SalesOrderHeaderV2`
    pub fn qualified_type(&self) -> String {
        format!("{NAMESPACE}.{}", self.type_name)
    }

    /// The navigation properties of this set: (name, target set, collection).
    pub fn navigation(&self) -> impl Iterator<Item = (&'static str, &'static str, bool)> + '_ {
        NAVIGATION.iter().filter(|(set, ..)| *set == self.set).map(|(_, name, target, many)| (*name, *target, *many))
    }
}

/// Every served entity.
#[derive(Debug)]
pub struct Schema {
    pub entities: Vec<EntityDef>,
}

#[derive(Deserialize)]
struct FieldsFile {
    entities: HashMap<String, FieldsEntity>,
}

#[derive(Deserialize)]
struct FieldsEntity {
    keys: Vec<String>,
    properties: Vec<FieldsProperty>,
}

#[derive(Deserialize)]
struct FieldsProperty {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    nullable: bool,
}

fn load() -> Schema {
    // The file is compiled in; a test proves it parses, so a failure here is a build defect.
    let file: FieldsFile = match serde_json::from_str(FIELDS) {
        Ok(file) => file,
        Err(e) => panic!("the vendored fo-entity-fields.json does not parse: {e}"),
    };
    let renamed: HashMap<String, String> =
        RENAMED_ENUMS.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    let mut entities = Vec::new();
    for (set, type_name) in SERVED {
        let Some(source) = file.entities.get(*set) else {
            panic!("the vendored fo-entity-fields.json lacks {set}");
        };
        let mut properties: Vec<Property> = source
            .properties
            .iter()
            .map(|p| {
                let kind = renamed.get(&p.kind).map_or(p.kind.as_str(), String::as_str);
                Property { name: p.name.clone(), kind: Kind::parse(kind), nullable: p.nullable }
            })
            .collect();
        properties.push(Property { name: MODIFIED.into(), kind: Kind::DateTimeOffset, nullable: false });
        let index = properties.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect();
        entities.push(EntityDef {
            set: (*set).to_owned(),
            type_name: (*type_name).to_owned(),
            keys: source.keys.clone(),
            properties,
            index,
        });
    }
    Schema { entities }
}

/// The schema (parsed once).
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(load)
}

/// The entity served at `set` (case-sensitive, as F&O's routes are).
pub fn by_set(set: &str) -> Option<&'static EntityDef> {
    schema().entities.iter().find(|e| e.set == set)
}

/// The members of an enum, if the reference knows them.
pub fn enum_members(type_name: &str) -> Option<&'static [(&'static str, i64)]> {
    ENUMS.iter().find(|(name, _)| *name == type_name).map(|(_, members)| *members)
}

/// Every enum type the served entities use, sorted.
pub fn enum_types() -> Vec<String> {
    let mut out: Vec<String> = schema()
        .entities
        .iter()
        .flat_map(|e| e.properties.iter())
        .filter_map(|p| match &p.kind {
            Kind::Enum(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
