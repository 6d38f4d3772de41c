//! Mapping suggestions: for each target field, source fields ranked by how likely they map
//! to it, with the reason. Deterministic and offline: names are split into words
//! (`emailaddress1` → email address 1, `PurchaseDate` → purchase date), words are mapped
//! to commerce/CRM concepts through a synonym table (purchase ≈ order, buyer ≈ customer,
//! zip ≈ postal, shipto ≈ shipping ≈ delivery), and the sample value's shape (e-mail, date,
//! money, ISO code, list of lines) must suit the target field's type.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// What a target field holds, from its entity metadata (Dataverse attribute type, OData Edm type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A calendar date.
    Date,
    /// An instant.
    DateTime,
    /// Money or a decimal amount.
    Money,
    /// A decimal number (quantity, rate).
    Decimal,
    /// A whole number.
    Integer,
    /// A yes/no.
    Boolean,
    /// An ISO 4217 currency (code or lookup to a currency record).
    Currency,
    /// A country (ISO code or name).
    Country,
    /// A state or province.
    State,
    /// A postal code.
    PostalCode,
    /// A choice / status code.
    Choice,
    /// A reference to another record (customer, product).
    Reference,
    /// Child records (order lines).
    Lines,
    /// Unknown type: no type evidence either way.
    Any,
}

/// A field of the target entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetField {
    /// Logical name (`emailaddress1`, `DeliveryAddressCity`).
    pub name: String,
    /// Display name, when the metadata has one (`Email`, `Status Reason`).
    pub label: Option<String>,
    /// Type.
    pub kind: FieldKind,
}

impl TargetField {
    /// A field with a display name.
    pub fn new(name: &str, label: Option<&str>, kind: FieldKind) -> Self {
        TargetField { name: name.to_owned(), label: label.map(str::to_owned), kind }
    }

    /// A field from OData metadata (`Edm.String`, `Edm.Decimal`, an enum type name …).
    pub fn from_edm(name: &str, edm_type: &str) -> Self {
        let kind = match edm_type {
            "Edm.String" => refine_text(name),
            "Edm.Decimal" | "Edm.Double" => {
                if name.contains("Amount") || name.contains("Price") {
                    FieldKind::Money
                } else {
                    FieldKind::Decimal
                }
            }
            "Edm.DateTimeOffset" => FieldKind::DateTime,
            "Edm.Date" => FieldKind::Date,
            "Edm.Int32" | "Edm.Int64" | "Edm.Int16" => FieldKind::Integer,
            "Edm.Boolean" | "NoYes" => FieldKind::Boolean,
            "Edm.Guid" => FieldKind::Reference,
            _ => FieldKind::Choice,
        };
        TargetField { name: name.to_owned(), label: None, kind }
    }
}

/// Text fields whose names say more (an e-mail column is typed String in OData).
fn refine_text(name: &str) -> FieldKind {
    let words = words(name);
    let has = |w: &str| words.iter().any(|x| x == w);
    if has("email") {
        FieldKind::Email
    } else if has("phone") || has("telephone") {
        FieldKind::Phone
    } else if has("currency") {
        FieldKind::Currency
    } else if has("country") {
        FieldKind::Country
    } else if has("zip") || has("postal") {
        FieldKind::PostalCode
    } else {
        FieldKind::Text
    }
}

/// One ranked candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Source path (`ShippingAddress.City`, `addresses[].city`).
    pub source: String,
    /// 0..1, higher is better.
    pub score: f64,
    /// Why, in words.
    pub reason: String,
}

/// Candidates for one target field, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The target field.
    pub target: String,
    /// Up to five candidates, best first; empty when nothing is plausible.
    pub candidates: Vec<Candidate>,
}

/// Ranks the fields of `source_sample` (a sample record) for each of `target_fields`.
pub fn suggest(source_sample: &Value, target_fields: &[TargetField]) -> Vec<Suggestion> {
    let mut sources = Vec::new();
    flatten(source_sample, "", 0, &mut sources);
    target_fields
        .iter()
        .map(|target| {
            let mut candidates: Vec<Candidate> = sources.iter().filter_map(|s| score(target, s)).collect();
            // Deterministic order: score, then the shallower path (header before line
            // fields), then the path itself.
            candidates.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| depth(&a.source).cmp(&depth(&b.source)))
                    .then_with(|| a.source.cmp(&b.source))
            });
            candidates.truncate(5);
            Suggestion { target: target.name.clone(), candidates }
        })
        .collect()
}

/// Like [`suggest`] for a source described by a JSON Schema (`properties`, `type`,
/// `format`, `items`) instead of a sample: the schema is turned into a representative
/// sample whose values have the declared shapes.
pub fn suggest_from_schema(source_schema: &Value, target_fields: &[TargetField]) -> Vec<Suggestion> {
    suggest(&sample_from_schema(source_schema, 0), target_fields)
}

fn sample_from_schema(schema: &Value, level: usize) -> Value {
    if level > 6 {
        return Value::Null;
    }
    let kind = match &schema["type"] {
        Value::String(t) => t.as_str(),
        // ["string", "null"]: the first non-null type.
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .map(|props| props.iter().map(|(k, v)| (k.clone(), sample_from_schema(v, level + 1))).collect())
                .unwrap_or_default(),
        ),
        "array" => Value::Array(vec![sample_from_schema(&schema["items"], level + 1)]),
        "integer" => Value::from(1),
        "number" => Value::from(1.5),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => Value::String(
            match schema["format"].as_str() {
                Some("email") => "someone@example.com",
                Some("date-time") => "2026-01-01T00:00:00Z",
                Some("date") => "2026-01-01",
                _ => "text",
            }
            .to_owned(),
        ),
    }
}

fn depth(path: &str) -> usize {
    path.matches(['.', '[']).count()
}

/// The shape of a sample value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    Email,
    Phone,
    Date,
    DateTime,
    DecimalText,
    Number,
    Integer,
    Bool,
    CurrencyCode,
    CountryCode,
    Money,
    Address,
    Person,
    Object,
    ListOfObjects,
    List,
    Null,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Text => "text",
            Shape::Email => "an e-mail address",
            Shape::Phone => "a phone number",
            Shape::Date => "a date",
            Shape::DateTime => "a timestamp",
            Shape::DecimalText => "a decimal amount",
            Shape::Number => "a number",
            Shape::Integer => "a whole number",
            Shape::Bool => "a boolean",
            Shape::CurrencyCode => "an ISO 4217 currency code",
            Shape::CountryCode => "an ISO country code",
            Shape::Money => "a money value",
            Shape::Address => "an address",
            Shape::Person => "a person or buyer record",
            Shape::Object => "an object",
            Shape::ListOfObjects => "a list of records",
            Shape::List => "a list",
            Shape::Null => "empty in the sample",
        }
    }
}

struct SourceField {
    path: String,
    leaf: Vec<String>,
    parents: Vec<String>,
    shape: Shape,
}

fn flatten(value: &Value, path: &str, level: usize, out: &mut Vec<SourceField>) {
    if level > 6 {
        return;
    }
    if !path.is_empty() {
        let segments: Vec<&str> = path.split(['.', '[', ']']).filter(|s| !s.is_empty()).collect();
        let leaf = segments.last().map(|s| words(s)).unwrap_or_default();
        let parents = segments[..segments.len().saturating_sub(1)].iter().flat_map(|s| words(s)).collect();
        out.push(SourceField { path: path.to_owned(), leaf, parents, shape: shape_of(value) });
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                flatten(child, &child_path, level + 1, out);
            }
        }
        Value::Array(items) => {
            if let Some(Value::Object(map)) = items.first() {
                for (key, child) in map {
                    flatten(child, &format!("{path}[].{key}"), level + 1, out);
                }
            }
        }
        _ => {}
    }
}

fn shape_of(value: &Value) -> Shape {
    match value {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                Shape::Integer
            } else {
                Shape::Number
            }
        }
        Value::String(s) => text_shape(s.trim()),
        Value::Array(items) => {
            if items.first().is_some_and(Value::is_object) {
                Shape::ListOfObjects
            } else {
                Shape::List
            }
        }
        Value::Object(map) => {
            let has = |k: &str| map.keys().any(|key| key.eq_ignore_ascii_case(k));
            if (has("Amount") && has("CurrencyCode")) || (has("amount") && has("currency")) {
                Shape::Money
            } else if has("City")
                || has("PostalCode")
                || has("postalCode")
                || has("AddressLine1")
                || has("line1")
                || has("street1")
            {
                Shape::Address
            } else if map.keys().any(|k| {
                let w = words(k);
                w.iter().any(|x| x == "email") || w.iter().any(|x| x == "name")
            }) {
                Shape::Person
            } else {
                Shape::Object
            }
        }
    }
}

fn text_shape(s: &str) -> Shape {
    let bytes = s.as_bytes();
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if s.contains('@') && s.rsplit('@').next().is_some_and(|d| d.contains('.')) && !s.contains(' ') {
        Shape::Email
    } else if bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-' && bytes[..4].iter().all(u8::is_ascii_digit) {
        if bytes.len() > 10 { Shape::DateTime } else { Shape::Date }
    } else if bytes.len() == 3
        && bytes.iter().all(u8::is_ascii_uppercase)
        && ferry_model::Currency::from_code(s).is_ok()
    {
        Shape::CurrencyCode
    } else if bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase) {
        Shape::CountryCode
    } else if !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.matches('.').count() == 1
    {
        Shape::DecimalText
    } else if digits >= 7
        && s.bytes().all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
        && (s.starts_with('+') || s.contains(' ') || s.contains('('))
    {
        Shape::Phone
    } else {
        Shape::Text
    }
}

/// How well a source shape suits a target kind: (factor, reason). 1 fits, 0.6 acceptable,
/// 0.15 a mismatch that would need a conversion nobody intends.
fn type_fit(kind: FieldKind, shape: Shape) -> (f64, String) {
    use FieldKind as K;
    use Shape as S;
    let fit = match (kind, shape) {
        (_, S::Null) | (K::Any, _) => 0.8,
        (K::Email, S::Email) | (K::Phone, S::Phone) | (K::Currency, S::CurrencyCode) | (K::Country, S::CountryCode) => {
            1.0
        }
        (K::Date | K::DateTime, S::Date | S::DateTime) => 1.0,
        (K::Money, S::Money | S::DecimalText) | (K::Decimal, S::DecimalText | S::Number | S::Integer) => 1.0,
        (K::Integer, S::Integer) | (K::Boolean, S::Bool) | (K::Lines, S::ListOfObjects) => 1.0,
        (K::Reference, S::Person | S::Object) => 1.0,
        (K::Reference, S::Email | S::Text | S::Integer) => 0.6,
        (K::Money, S::Number | S::Integer) | (K::Decimal, S::Money) | (K::Integer, S::DecimalText) => 0.6,
        (K::Choice, S::Text | S::Integer | S::Bool) => 0.9,
        (K::Country | K::State | K::PostalCode, S::Text) => 0.9,
        (K::PostalCode, S::Integer) | (K::State, S::CountryCode) => 0.6,
        (K::Text, S::Text | S::Email | S::Phone | S::CountryCode | S::CurrencyCode) => 0.9,
        (K::Text, S::Integer | S::DecimalText | S::Date | S::DateTime) => 0.5,
        (K::Phone | K::Email, S::Text) => 0.4,
        (K::Text, S::Address | S::Person) => 0.4,
        _ => 0.15,
    };
    let reason = if fit >= 0.9 {
        format!("sample value is {}, fits {:?}", shape.label(), kind)
    } else if fit >= 0.5 {
        format!("sample value is {}, convertible to {:?}", shape.label(), kind)
    } else {
        format!("sample value is {}, unlikely for {:?}", shape.label(), kind)
    };
    (fit, reason)
}

/// Synonym groups: every word in a group stands for the group's first word (the concept).
#[rustfmt::skip]
const SYNONYMS: &[&[&str]] = &[
    &["order", "purchase", "salesorder", "sales", "so", "requisition"],
    &["id", "number", "no", "nbr", "num", "identifier", "ref", "reference", "key"],
    &["external", "amazon", "marketplace", "channel", "customers"],
    &["date", "datetime", "time", "timestamp", "on", "created", "creation"],
    &["status", "state", "reason", "statuscode", "stage"],
    &["customer", "buyer", "purchaser", "client", "contact", "account", "party", "ordering"],
    &["ship", "shipping", "shipto", "delivery", "deliver", "destination", "recipient"],
    &["street", "line", "address1", "line1", "street1", "addressline"],
    &["address", "addresses", "addr"],
    &["total", "grand", "sum"],
    &["amount", "amt", "value"],
    &["currency", "curr", "transactioncurrency", "ccy"],
    &["email", "mail", "emailaddress"],
    &["phone", "telephone", "tel", "mobile", "cell"],
    &["first", "given", "forename"],
    &["last", "family", "surname"],
    &["name", "fullname"],
    &["city", "town", "locality"],
    &["province", "stateorprovince", "region", "county"],
    &["postal", "zip", "postcode", "postalcode", "zipcode"],
    &["country", "countryregion", "nation", "iso"],
    &["quantity", "qty"],
    &["price", "unitprice", "priceperunit"],
    &["sku", "item", "product", "itemnumber", "productnumber", "asin"],
    &["lines", "items", "orderitems", "details", "detail"],
    &["description", "title", "memo", "note"],
    &["tax", "vat"],
];

/// Words that carry no meaning for matching.
const STOP: &[&str] = &["info", "the", "of", "to", "code", "new", "msdyn", "data", "er"];

/// Vocabulary for splitting glued lower-case names (`stateorprovince`, `emailaddress1`).
const EXTRA_WORDS: &[&str] = &[
    "address",
    "state",
    "or",
    "province",
    "email",
    "telephone",
    "first",
    "last",
    "name",
    "order",
    "number",
    "total",
    "amount",
    "status",
    "code",
    "ship",
    "to",
    "city",
    "postal",
    "country",
    "line",
    "transaction",
    "currency",
    "id",
    "date",
    "submit",
    "fulfilled",
    "customer",
    "price",
    "per",
    "unit",
    "request",
    "delivery",
    "by",
    "description",
    "full",
    "job",
    "title",
    "birth",
    "mobile",
    "phone",
    "business",
    "home",
    "account",
    "contact",
    "sales",
    "detail",
    "product",
    "quantity",
    "tax",
    "discount",
    "freight",
    "zip",
    "street",
    "region",
    "external",
    "reference",
    "lines",
];

fn concept(word: &str) -> &str {
    SYNONYMS.iter().find(|group| group.contains(&word)).map_or(word, |group| group[0])
}

/// Splits a field name into lower-case words: camelCase, snake_case, dots, digits, and glued
/// lower-case words by dictionary.
pub fn words(name: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = !c.is_alphanumeric()
            || (c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()))
            || (c.is_uppercase() && prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase))
            || (c.is_ascii_digit() != prev.is_some_and(|p| p.is_ascii_digit())
                && prev.is_some_and(char::is_alphanumeric));
        if boundary && !current.is_empty() {
            raw.push(std::mem::take(&mut current));
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        }
    }
    if !current.is_empty() {
        raw.push(current);
    }
    raw.into_iter().flat_map(|w| split_glued(&w)).filter(|w| !w.chars().all(|c| c.is_ascii_digit())).collect()
}

fn known(word: &str) -> bool {
    EXTRA_WORDS.contains(&word) || SYNONYMS.iter().any(|g| g.contains(&word))
}

/// `stateorprovince` → state or province; left as is when no split into known words exists.
fn split_glued(word: &str) -> Vec<String> {
    if word.len() < 6 || SYNONYMS.iter().any(|g| g.contains(&word)) {
        return vec![word.to_owned()];
    }
    let n = word.len();
    // best[i]: fewest words covering word[..i].
    let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0));
    for end in 1..=n {
        for start in 0..end {
            let (Some((count, _)), Some(piece)) = (best[start], word.get(start..end)) else { continue };
            if known(piece) && best[end].is_none_or(|(c, _)| count + 1 < c) {
                best[end] = Some((count + 1, start));
            }
        }
    }
    if best[n].is_none() {
        return vec![word.to_owned()];
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let Some((_, start)) = best[end] else { break };
        parts.push(word[start..end].to_owned());
        end = start;
    }
    parts.reverse();
    parts
}

fn concepts(words: &[String]) -> BTreeSet<String> {
    words.iter().filter(|w| !STOP.contains(&w.as_str())).map(|w| concept(w).to_owned()).collect()
}

fn score(target: &TargetField, source: &SourceField) -> Option<Candidate> {
    let mut best_name = 0.0;
    let mut best_reason = String::new();
    let labels = std::iter::once(target.name.as_str()).chain(target.label.as_deref());
    for written in labels {
        let target_concepts = concepts(&words(written));
        if target_concepts.is_empty() {
            continue;
        }
        let (name, reason) = name_similarity(&target_concepts, source);
        if name > best_name {
            best_name = name;
            best_reason = format!("{reason} (vs \"{written}\")");
        }
    }
    let (fit, type_reason) = type_fit(target.kind, source.shape);
    if best_name <= 0.0 {
        // No shared words, but a value of exactly the right shape for a specific type
        // (an e-mail for an e-mail field) is still worth showing, ranked low.
        let specific =
            !matches!(target.kind, FieldKind::Text | FieldKind::Any | FieldKind::Choice | FieldKind::Reference);
        return (specific && fit >= 1.0).then(|| Candidate {
            source: source.path.clone(),
            score: 0.3,
            reason: format!("name differs; {type_reason}"),
        });
    }
    // `address1_line2` wants `street2`, not `street1`: compare the names' last numbers.
    let numbers =
        match (last_number(&target.name), last_number(source.path.rsplit(['.', ']']).next().unwrap_or_default())) {
            (Some(t), Some(s)) if t == s => 0.05,
            (Some(_), Some(_)) => -0.15,
            _ => 0.0,
        };
    let score = (best_name * (0.35 + 0.65 * fit) + numbers).clamp(0.0, 1.0);
    (score >= 0.1).then(|| Candidate {
        source: source.path.clone(),
        score: (score * 1000.0).round() / 1000.0,
        reason: format!("{best_reason}; {type_reason}"),
    })
}

/// Weighted overlap of concepts: the leaf name counts fully, parent objects half
/// (`ShippingAddress.City` is a city first, a shipping-address field second).
fn name_similarity(target: &BTreeSet<String>, source: &SourceField) -> (f64, String) {
    let mut weights: BTreeMap<String, f64> = BTreeMap::new();
    for c in concepts(&source.parents) {
        weights.insert(c, 0.5);
    }
    for c in concepts(&source.leaf) {
        weights.insert(c, 1.0);
    }
    if weights.is_empty() {
        return (0.0, String::new());
    }
    let matched: Vec<&String> = target.iter().filter(|c| weights.contains_key(*c)).collect();
    let matched_weight: f64 = matched.iter().map(|c| weights[*c]).sum();
    let leaf_weight = weights.values().filter(|w| **w >= 1.0).count() as f64;
    let leaf_unmatched = weights.iter().filter(|(c, w)| **w >= 1.0 && !target.contains(*c)).count() as f64;
    // Dice over the target's concepts and the source leaf's concepts; parents add evidence
    // but unmatched parent words cost nothing.
    let denom = target.len() as f64 + leaf_weight;
    let dice = 2.0 * matched_weight / denom;
    let penalty = 0.05 * leaf_unmatched;
    let score = (dice - penalty).max(0.0);
    if matched.is_empty() {
        return (0.0, String::new());
    }
    let shared: Vec<&str> = matched.iter().map(|s| s.as_str()).collect();
    (score, format!("name shares {}", shared.join(", ")))
}

/// The last run of digits in a name (`address1_line2` → 2).
fn last_number(name: &str) -> Option<u32> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    name[start..end].parse().ok()
}
