//! Mapping suggestions: for each target field, source fields ranked by how likely they map
//! to it, with the reason and a confidence band. Deterministic and offline:
//!
//! - names are split into words: camelCase, snake_case, dotted paths (`shipping.address.city`),
//!   digits, and glued lower-case names by dictionary (`quantityonhand` → quantity on hand);
//! - ERP column abbreviations are expanded (`CuryTotOrd` → currency total order, `QtyAvail` →
//!   quantity available, `InvtID` → item id) and plurals/past tenses reduced to a known stem
//!   (`addresses` → address, `quantities` → quantity, `shipped` → ship);
//! - words map to commerce/ERP concepts through a synonym table (purchase ≈ order, buyer ≈
//!   customer, zip ≈ postal, shipto ≈ shipping ≈ delivery, fulfillable ≈ available);
//! - the sample value's shape (e-mail, date, money, ISO code, list of lines) and length must
//!   suit the target field's type and size;
//! - each candidate gets a confidence band, and a target field whose best candidate is only
//!   [`Confidence::Low`] (or that has none, or is a system column such as an audit stamp)
//!   abstains: no confident suggestion rather than a confident wrong one.
//!
//! The vocabulary tables live in `suggest/vocab.rs` and are frozen (see there).

mod vocab;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use vocab::{ABBREVIATIONS, GENERIC, PHRASES, STOP, SYNONYMS, VOCAB, is_system_column};

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
    /// Logical name (`emailaddress1`, `DeliveryAddressCity`), or a path in a target document
    /// (`ShippingContact.Address.City`, `SalesItems[].Sku`).
    pub name: String,
    /// Display name, when the metadata has one (`Email`, `Status Reason`).
    pub label: Option<String>,
    /// Type.
    pub kind: FieldKind,
    /// Maximum text length, when the column has one (SQL `char(10)`): a longer sample value
    /// would be truncated, so it does not fit.
    pub max_len: Option<usize>,
}

impl TargetField {
    /// A field with a display name.
    pub fn new(name: &str, label: Option<&str>, kind: FieldKind) -> Self {
        TargetField { name: name.to_owned(), label: label.map(str::to_owned), kind, max_len: None }
    }

    /// The same field with a maximum text length.
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// A field from OData metadata (`Edm.String`, `Edm.Decimal`, an enum type name …).
    pub fn from_edm(name: &str, edm_type: &str) -> Self {
        let kind = match edm_type {
            "Edm.String" => refine_text(name),
            "Edm.Decimal" | "Edm.Double" => refine_decimal(name),
            "Edm.DateTimeOffset" => FieldKind::DateTime,
            "Edm.Date" => FieldKind::Date,
            "Edm.Int32" | "Edm.Int64" | "Edm.Int16" => FieldKind::Integer,
            "Edm.Boolean" | "NoYes" => FieldKind::Boolean,
            "Edm.Guid" => FieldKind::Reference,
            _ => FieldKind::Choice,
        };
        TargetField::new(name, None, kind)
    }

    /// A column from a SQL schema: `char(10)`, `varchar(60)`, `smallint`, `float`,
    /// `smalldatetime` …, or the AL notation Business Central uses for mirrored SL tables
    /// (`Text[10]`, `Integer`, `Decimal`, `DateTime`). Unknown types give [`FieldKind::Any`].
    pub fn from_sql(name: &str, sql_type: &str) -> Self {
        let lower = sql_type.trim().to_ascii_lowercase();
        let base: String = lower.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let length = lower
            .split(['(', '['])
            .nth(1)
            .and_then(|rest| rest.split([')', ']', ',']).next())
            .and_then(|n| n.trim().parse::<usize>().ok());
        let (kind, max_len) = match base.as_str() {
            "text" | "code" | "char" | "nchar" | "varchar" | "nvarchar" | "string" => (refine_text(name), length),
            "decimal" | "numeric" | "float" | "real" | "money" | "smallmoney" | "double" => {
                (refine_decimal(name), None)
            }
            "integer" | "int" | "smallint" | "tinyint" | "bigint" => (FieldKind::Integer, None),
            "bit" | "boolean" | "bool" => (FieldKind::Boolean, None),
            "datetime" | "smalldatetime" | "datetime2" | "datetimeoffset" | "timestamptz" => {
                (FieldKind::DateTime, None)
            }
            "date" => (FieldKind::Date, None),
            "uniqueidentifier" | "guid" | "uuid" => (FieldKind::Reference, None),
            _ => (FieldKind::Any, None),
        };
        TargetField { name: name.to_owned(), label: None, kind, max_len }
    }
}

/// The fields of a target document, from a sample of it (a web store's order JSON): one field
/// per leaf path (`ShippingContact.Address.City`, `SalesItems[].Sku`), typed by the sample
/// value's shape and the name. Arrays of records become [`FieldKind::Lines`] fields and their
/// members line fields; a money object (`{amount, currency}`) is one field.
pub fn target_fields_from_sample(sample: &Value) -> Vec<TargetField> {
    let mut fields = Vec::new();
    flatten(sample, "", 0, &mut fields);
    fields
        .into_iter()
        .filter(|f| !matches!(f.shape, Shape::Object | Shape::Address | Shape::Person))
        .filter(|f| !is_inside_money(&f.path, sample))
        .map(|f| {
            let leaf = f.path.rsplit(['.', ']']).next().unwrap_or_default().to_owned();
            let kind = match f.shape {
                Shape::Text | Shape::List => refine_text(&leaf),
                Shape::Email => FieldKind::Email,
                Shape::Phone => FieldKind::Phone,
                Shape::Date => FieldKind::Date,
                Shape::DateTime => FieldKind::DateTime,
                Shape::DecimalText | Shape::Number => refine_decimal(&leaf),
                Shape::Integer => FieldKind::Integer,
                Shape::Bool => FieldKind::Boolean,
                Shape::CurrencyCode => FieldKind::Currency,
                Shape::CountryCode => match refine_text(&leaf) {
                    FieldKind::State => FieldKind::State,
                    _ => FieldKind::Country,
                },
                Shape::Money => FieldKind::Money,
                Shape::ListOfObjects => FieldKind::Lines,
                Shape::Null => match refine_text(&leaf) {
                    FieldKind::Text => FieldKind::Any,
                    kind => kind,
                },
                Shape::Object | Shape::Address | Shape::Person => FieldKind::Any,
            };
            TargetField::new(&f.path, None, kind)
        })
        .collect()
}

/// Whether `path` is a member of a money object (its amount or currency), which the money
/// field itself stands for.
fn is_inside_money(path: &str, sample: &Value) -> bool {
    let Some((parent, _)) = path.rsplit_once('.') else { return false };
    let mut value = sample;
    for segment in parent.split('.') {
        let (key, is_array) = match segment.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (segment, false),
        };
        value = &value[key];
        if is_array {
            value = &value[0];
        }
    }
    shape_of(value) == Shape::Money
}

/// Text fields whose names say more (an e-mail column is typed String in OData).
fn refine_text(name: &str) -> FieldKind {
    let concepts = concepts(&words(name));
    let has = |w: &str| concepts.contains(w);
    if has("email") {
        FieldKind::Email
    } else if has("phone") {
        FieldKind::Phone
    } else if has("currency") {
        FieldKind::Currency
    } else if has("country") {
        FieldKind::Country
    } else if has("postal") {
        FieldKind::PostalCode
    } else if has("province") && !has("id") {
        FieldKind::State
    } else {
        FieldKind::Text
    }
}

/// Decimal fields that hold money (an amount, price, cost or total) rather than a quantity,
/// rate or measure.
fn refine_decimal(name: &str) -> FieldKind {
    let concepts = concepts(&words(name));
    let has = |w: &str| concepts.contains(w);
    let measure = ["quantity", "percent", "rate", "factor", "weight", "height", "width", "length", "depth", "volume"];
    let money = ["amount", "price", "cost", "charge", "fee", "total", "tax", "discount", "merchandise", "balance"];
    if measure.iter().any(|w| has(w)) || !money.iter().any(|w| has(w)) { FieldKind::Decimal } else { FieldKind::Money }
}

/// How sure a candidate is. A target field whose best candidate is [`Confidence::Low`]
/// abstains: the candidates are shown as hints, not as a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A weak or ambiguous match: do not map without checking.
    Low,
    /// A plausible match.
    Medium,
    /// The names and the value's shape agree.
    High,
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
    /// How sure.
    pub confidence: Confidence,
}

/// Candidates for one target field, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The target field.
    pub target: String,
    /// Up to five candidates, best first; empty when nothing is plausible.
    pub candidates: Vec<Candidate>,
    /// The best candidate's confidence; `None` when there is no candidate.
    pub confidence: Option<Confidence>,
    /// No confident suggestion: no candidate, only low-confidence ones, or a system column.
    pub abstained: bool,
    /// Why the field abstained, when it did.
    pub note: Option<String>,
}

impl Suggestion {
    /// The suggested source: the best candidate, unless the field abstained.
    pub fn best(&self) -> Option<&Candidate> {
        if self.abstained { None } else { self.candidates.first() }
    }
}

/// Ranks the fields of `source_sample` (a sample record) for each of `target_fields`.
pub fn suggest(source_sample: &Value, target_fields: &[TargetField]) -> Vec<Suggestion> {
    let mut sources = Vec::new();
    flatten(source_sample, "", 0, &mut sources);
    sources.retain(|s| !is_system_column(s.path.rsplit(['.', ']']).next().unwrap_or_default()));
    target_fields.iter().map(|target| suggest_one(target, &sources)).collect()
}

fn suggest_one(target: &TargetField, sources: &[SourceField]) -> Suggestion {
    let leaf = target.name.rsplit(['.', ']']).next().unwrap_or_default();
    if is_system_column(leaf) {
        return Suggestion {
            target: target.name.clone(),
            candidates: Vec::new(),
            confidence: None,
            abstained: true,
            note: Some(
                "system column (audit stamp, row version, company scope or spare user field): the target fills it"
                    .to_owned(),
            ),
        };
    }
    // (unclamped score, candidate): the shown score is capped at 1, the order is not.
    let mut candidates: Vec<(f64, Candidate)> = sources.iter().filter_map(|s| score(target, s)).collect();
    let same_sample = |a: &str, b: &str| {
        let value = |p: &str| sources.iter().find(|s| s.path == p).and_then(|s| s.sample.as_deref());
        value(a).is_some_and(|v| Some(v) == value(b))
    };
    // Deterministic order: score, then the shallower path (header before line fields), then
    // the path itself.
    candidates.sort_by(|(ra, a), (rb, b)| {
        rb.total_cmp(ra).then_with(|| depth(&a.source).cmp(&depth(&b.source))).then_with(|| a.source.cmp(&b.source))
    });
    // A near tie between unrelated sources (not a money object and its amount) is ambiguous:
    // one band less for each of them.
    if let Some((top_raw, top)) = candidates.first().cloned() {
        let tied: Vec<usize> = candidates
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, (raw, c))| {
                top_raw - raw <= 0.02 && !related(&top.source, &c.source) && !same_sample(&top.source, &c.source)
            })
            .map(|(i, _)| i)
            .collect();
        if !tied.is_empty() {
            for i in std::iter::once(0).chain(tied) {
                let c = &mut candidates[i].1;
                c.confidence = match c.confidence {
                    Confidence::High => Confidence::Medium,
                    _ => Confidence::Low,
                };
                c.reason.push_str("; ambiguous: another source scores the same");
            }
        }
    }
    let candidates: Vec<Candidate> = candidates.into_iter().take(5).map(|(_, c)| c).collect();
    let confidence = candidates.first().map(|c| c.confidence);
    let abstained = confidence.is_none_or(|c| c == Confidence::Low);
    let note = abstained.then(|| match confidence {
        None => "no source field fits".to_owned(),
        Some(_) => "only low-confidence candidates".to_owned(),
    });
    Suggestion { target: target.name.clone(), candidates, confidence, abstained, note }
}

/// `OrderTotal` and `OrderTotal.Amount` are the same value; so are two paths one of which
/// contains the other.
fn related(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with(['.', '[']));
    inside(a, b) || inside(b, a)
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
    /// Characters in the sample value, for text values.
    text_len: Option<usize>,
    /// Under an array (a line field).
    in_array: bool,
    /// The sample value as JSON, for scalars.
    sample: Option<String>,
}

fn flatten(value: &Value, path: &str, level: usize, out: &mut Vec<SourceField>) {
    if level > 6 {
        return;
    }
    if !path.is_empty() {
        let (leaf, parents) = path_words(path);
        out.push(SourceField {
            path: path.to_owned(),
            leaf,
            parents,
            shape: shape_of(value),
            text_len: value.as_str().map(|s| s.chars().count()),
            in_array: path.contains("[]"),
            sample: (!value.is_object() && !value.is_array()).then(|| value.to_string()),
        });
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

/// The words of a path's last segment and of the segments above it.
fn path_words(path: &str) -> (Vec<String>, Vec<String>) {
    let segments: Vec<&str> = path.split(['.', '[', ']']).filter(|s| !s.is_empty()).collect();
    let leaf = segments.last().map(|s| words(s)).unwrap_or_default();
    let parents = segments[..segments.len().saturating_sub(1)].iter().flat_map(|s| words(s)).collect();
    (leaf, parents)
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
            if (has("Amount") && (has("CurrencyCode") || has("currency"))) || (has("value") && has("currencyCode")) {
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
        // US state and Canadian province codes look like ISO country codes.
        (K::State, S::CountryCode) => 0.9,
        (K::PostalCode, S::Integer) => 0.6,
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

fn concept(word: &str) -> &str {
    SYNONYMS.iter().find(|group| group.contains(&word)).map_or(word, |group| group[0])
}

/// Splits a field name into lower-case words: camelCase, snake_case, dots, digits, glued
/// lower-case words by dictionary (`quantityonhand` → quantity on hand), ERP abbreviations
/// expanded (`CuryID` → currency id), plurals and past tenses stemmed to a known word
/// (`addresses` → address), and set phrases joined (`on hand` → onhand).
pub fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let tokens = raw_tokens(name);
    for (i, token) in tokens.iter().enumerate() {
        if token.chars().all(|c| c.is_ascii_digit()) {
            // `Addr1`, `ShipAddr2`: a numbered address ending the name is a street line
            // (`address1_city` is the city of the first address).
            if i + 1 == tokens.len() && out.last().is_some_and(|w| concept(w) == "address") {
                out.push("street".to_owned());
            }
            continue;
        }
        out.extend(normalise(token));
    }
    join_phrases(out)
}

/// camelCase, snake_case, dots and digit boundaries; lower-cased; digits kept as tokens.
fn raw_tokens(name: &str) -> Vec<String> {
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
    raw
}

fn in_synonyms(word: &str) -> bool {
    SYNONYMS.iter().any(|g| g.contains(&word))
}

/// A dictionary word (not an abbreviation).
fn known(word: &str) -> bool {
    in_synonyms(word) || VOCAB.contains(&word) || STOP.contains(&word)
}

fn abbreviation(word: &str) -> Option<&'static str> {
    ABBREVIATIONS.iter().find(|(short, _)| *short == word).map(|(_, long)| *long)
}

/// One token → its words: a known word as is, an abbreviation expanded, a plural or past
/// tense stemmed, a glued name split; otherwise the token unchanged.
fn normalise(token: &str) -> Vec<String> {
    if known(token) {
        // `ordered`, `shipped`, `invoiced` are dictionary words (for splitting glued names)
        // whose stem carries the concept.
        return match stem(token) {
            Some(stem) if !in_synonyms(token) && in_synonyms(&stem) => vec![stem],
            _ => vec![token.to_owned()],
        };
    }
    if let Some(long) = abbreviation(token) {
        return long.split(' ').map(str::to_owned).collect();
    }
    if let Some(stem) = stem(token) {
        return vec![stem];
    }
    match split_glued(token) {
        Some(parts) => parts
            .into_iter()
            .flat_map(|p| match abbreviation(&p) {
                Some(long) if !known(&p) => long.split(' ').map(str::to_owned).collect(),
                _ => vec![stem(&p).unwrap_or(p)],
            })
            .collect(),
        None => vec![token.to_owned()],
    }
}

/// A light stemmer: the first reduction that gives a known word (`quantities` → quantity,
/// `addresses` → address, `shipped` → ship, `pricing` → price), or `None`.
fn stem(word: &str) -> Option<String> {
    if word.len() <= 3 {
        return None;
    }
    let mut tries: Vec<String> = Vec::new();
    let undouble = |s: &str| -> Option<String> {
        let b = s.as_bytes();
        (b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2]).then(|| s[..s.len() - 1].to_owned())
    };
    if let Some(s) = word.strip_suffix("ies") {
        tries.push(format!("{s}y"));
    }
    if let Some(s) = word.strip_suffix("es") {
        tries.push(s.to_owned());
    }
    if let Some(s) = word.strip_suffix('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        tries.push(s.to_owned());
    }
    if let Some(s) = word.strip_suffix("ed") {
        tries.push(s.to_owned());
        tries.extend(undouble(s));
        tries.push(format!("{s}e"));
    }
    if let Some(s) = word.strip_suffix("ing") {
        tries.push(s.to_owned());
        tries.extend(undouble(s));
        tries.push(format!("{s}e"));
    }
    tries.into_iter().find(|t| t.len() >= 3 && known(t))
}

/// `stateorprovince` → state or province, `qtyonhand` → qty on hand: the split into the
/// fewest dictionary words (then the fewest abbreviations); `None` when there is none.
fn split_glued(word: &str) -> Option<Vec<String>> {
    if word.len() < 5 {
        return None;
    }
    const SHORT: &[&str] = &["on", "to", "or", "by", "id", "of", "in", "is"];
    let piece_cost = |piece: &str| -> Option<usize> {
        if piece.len() == 2 {
            SHORT.contains(&piece).then_some(0)
        } else if piece.len() >= 3 && (known(piece) || stem(piece).is_some()) {
            Some(0)
        } else if piece.len() >= 3 && abbreviation(piece).is_some() {
            Some(1)
        } else {
            None
        }
    };
    let n = word.len();
    // best[i]: (pieces, abbreviations, start of the last piece) covering word[..i].
    let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    for end in 1..=n {
        for start in 0..end {
            let (Some((count, abbrevs, _)), Some(piece)) = (best[start], word.get(start..end)) else { continue };
            let Some(cost) = piece_cost(piece) else { continue };
            let candidate = (count + 1, abbrevs + cost, start);
            if best[end].is_none_or(|(c, a, _)| (candidate.0, candidate.1) < (c, a)) {
                best[end] = Some(candidate);
            }
        }
    }
    let (count, _, _) = best[n]?;
    if count < 2 {
        return None;
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, _, start) = best[end]?;
        parts.push(word[start..end].to_owned());
        end = start;
    }
    parts.reverse();
    Some(parts)
}

fn join_phrases(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for (phrase, replacement) in PHRASES {
            let end = i + phrase.len();
            if end <= words.len() && words[i..end].iter().zip(phrase.iter()).all(|(w, p)| w == p) {
                out.extend(replacement.iter().map(|w| (*w).to_owned()));
                i = end;
                continue 'outer;
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

fn concepts(words: &[String]) -> BTreeSet<String> {
    words.iter().filter(|w| !STOP.contains(&w.as_str())).map(|w| concept(w).to_owned()).collect()
}

/// A field name as weighted concepts: the leaf's concepts 1, the parents' 0.5.
fn weighted(leaf: &[String], parents: &[String]) -> BTreeMap<String, f64> {
    let mut weights: BTreeMap<String, f64> = BTreeMap::new();
    for c in concepts(parents) {
        weights.insert(c, 0.5);
    }
    for c in concepts(leaf) {
        weights.insert(c, 1.0);
    }
    weights
}

fn score(target: &TargetField, source: &SourceField) -> Option<(f64, Candidate)> {
    let mut best: Option<NameMatch> = None;
    let mut best_written = "";
    let (leaf, parents) = path_words(&target.name);
    let mut spellings = vec![(target.name.as_str(), weighted(&leaf, &parents))];
    if let Some(label) = target.label.as_deref() {
        spellings.push((label, weighted(&words(label), &[])));
    }
    for (written, target_concepts) in &spellings {
        if target_concepts.is_empty() {
            continue;
        }
        let m = name_similarity(target_concepts, source);
        if m.score > best.as_ref().map_or(0.0, |b| b.score) {
            best = Some(m);
            best_written = written;
        }
    }
    let (mut fit, mut type_reason) = type_fit(target.kind, source.shape);
    if let (Some(max), Some(len)) = (target.max_len, source.text_len)
        && len > max
    {
        fit = fit.min(0.3);
        type_reason = format!("sample value has {len} characters, the column holds {max}");
    }
    let Some(name) = best else {
        // No shared words, but a value of exactly the right shape for a specific type
        // (an e-mail for an e-mail field) is still worth showing, ranked low.
        let specific =
            !matches!(target.kind, FieldKind::Text | FieldKind::Any | FieldKind::Choice | FieldKind::Reference);
        return (specific && fit >= 1.0).then(|| {
            let candidate = Candidate {
                source: source.path.clone(),
                score: 0.3,
                reason: format!("name differs; {type_reason}"),
                confidence: Confidence::Low,
            };
            (0.3, candidate)
        });
    };
    // `address1_line2` wants `street2`, not `street1`: compare the names' last numbers.
    // (Adjustments are penalties only, so that a perfect name match cannot saturate at 1
    // and tie with the wrongly numbered one.)
    let numbers =
        match (last_number(&target.name), last_number(source.path.rsplit(['.', ']']).next().unwrap_or_default())) {
            (Some(t), Some(s)) if t != s => -0.2,
            _ => 0.0,
        };
    // A line field of a target document prefers a line field of the source.
    let lines = if target.name.contains("[]") && !source.in_array { -0.1 } else { 0.0 };
    // Unclamped: the name score passes 1 when a path's parents match too, and the
    // adjustments must still separate candidates there.
    let raw = name.score * (0.35 + 0.65 * fit) + numbers + lines;
    let score = raw.clamp(0.0, 1.0);
    if score < 0.1 {
        return None;
    }
    let mut confidence = if score >= HIGH {
        Confidence::High
    } else if score >= MEDIUM {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let mut reason = format!("{} (vs \"{best_written}\"); {type_reason}", name.reason);
    if fit < 0.5 || !name.leaf_match {
        confidence = Confidence::Low;
    }
    if !name.unmatched_specific.is_empty() {
        // A distinctive word of the target is not in the source's name: at most medium;
        // low when half or more of the distinctive words are missing, one band less when the source's
        // name has a distinctive word of its own instead (`ProductSizeId` vs `OrderItemId`).
        reason.push_str(&format!("; \"{}\" not in the source's name", name.unmatched_specific.join(", ")));
        confidence = confidence.min(Confidence::Medium);
        if name.coverage <= 0.5 {
            confidence = Confidence::Low;
        }
        if !name.conflicting.is_empty() {
            confidence = one_less(confidence);
            reason.push_str(&format!(", which says \"{}\" instead", name.conflicting.join(", ")));
        }
    } else if name.only_generic && name.target_unmatched && !name.conflicting.is_empty() {
        // Only generic words (id, status) match, the target has more, and the source's name
        // is about something else (`SalesUnitId` vs `MarketplaceId`): one band less.
        confidence = one_less(confidence);
        reason
            .push_str(&format!("; only generic words match, the source is about \"{}\"", name.conflicting.join(", ")));
    }
    let candidate =
        Candidate { source: source.path.clone(), score: (score * 1000.0).round() / 1000.0, reason, confidence };
    Some((raw, candidate))
}

/// Score from which a candidate whose leaf name matches is [`Confidence::High`].
const HIGH: f64 = 0.6;
/// Score from which a candidate is [`Confidence::Medium`].
const MEDIUM: f64 = 0.4;

fn one_less(c: Confidence) -> Confidence {
    match c {
        Confidence::High => Confidence::Medium,
        _ => Confidence::Low,
    }
}

struct NameMatch {
    score: f64,
    reason: String,
    /// A concept of the source's own name (not only of its parents) matches.
    leaf_match: bool,
    /// Distinctive (not generic) concepts of the target's name (leaf or parents) the source lacks.
    unmatched_specific: Vec<String>,
    /// Share of the target's distinctive leaf concepts the source has (1 when it has none).
    coverage: f64,
    /// Distinctive concepts of the source's name (leaf or parents) the target lacks.
    conflicting: Vec<String>,
    /// Every shared concept is generic.
    only_generic: bool,
    /// Some concept of the target's leaf name is not in the source's name.
    target_unmatched: bool,
}

/// Weighted overlap of concepts: leaf names count fully, parent objects half
/// (`ShippingAddress.City` is a city first, a shipping-address field second), on both sides.
fn name_similarity(target: &BTreeMap<String, f64>, source: &SourceField) -> NameMatch {
    let weights = weighted(&source.leaf, &source.parents);
    let none = NameMatch {
        score: 0.0,
        reason: String::new(),
        leaf_match: false,
        unmatched_specific: Vec::new(),
        coverage: 0.0,
        conflicting: Vec::new(),
        only_generic: false,
        target_unmatched: false,
    };
    if weights.is_empty() {
        return none;
    }
    let matched: Vec<&String> = target.keys().filter(|c| weights.contains_key(*c)).collect();
    if matched.is_empty() {
        return none;
    }
    let matched_weight: f64 = matched.iter().map(|c| weights[*c].min(target[*c])).sum();
    let target_leaf = target.values().filter(|w| **w >= 1.0).count() as f64;
    let leaf_weight = weights.values().filter(|w| **w >= 1.0).count() as f64;
    let leaf_unmatched = weights.iter().filter(|(c, w)| **w >= 1.0 && !target.contains_key(*c)).count() as f64;
    // Dice over the target's and the source's leaf concepts; parents add evidence but
    // unmatched parent words cost nothing.
    let dice = 2.0 * matched_weight / (target_leaf + leaf_weight);
    let penalty = 0.05 * leaf_unmatched;
    let score = (dice - penalty).max(0.0);
    let leaf_match = matched.iter().any(|c| weights[*c] >= 1.0);
    let generic = |c: &str| GENERIC.contains(&c);
    // Distinctive words of the target's leaf and, for a path, of its parents
    // (`billingContact.address.city`): both disqualify a source that says something else.
    let unmatched_specific: Vec<String> =
        target.keys().filter(|c| !weights.contains_key(*c) && !generic(c)).cloned().collect();
    let unmatched_leaf = target.iter().filter(|(c, w)| **w >= 1.0 && !weights.contains_key(*c) && !generic(c)).count();
    let specific = target.iter().filter(|(c, w)| **w >= 1.0 && !generic(c)).count();
    let coverage = if specific == 0 { 1.0 } else { 1.0 - unmatched_leaf as f64 / specific as f64 };
    let conflicting: Vec<String> =
        weights.keys().filter(|c| !target.contains_key(*c) && !generic(c)).cloned().collect();
    let shared: Vec<&str> = matched.iter().map(|s| s.as_str()).collect();
    NameMatch {
        score,
        reason: format!("name shares {}", shared.join(", ")),
        leaf_match,
        unmatched_specific,
        coverage,
        conflicting,
        only_generic: matched.iter().all(|c| generic(c)),
        target_unmatched: target.iter().any(|(c, w)| *w >= 1.0 && !weights.contains_key(c)),
    }
}

/// The last run of digits in a name (`address1_line2` → 2).
fn last_number(name: &str) -> Option<u32> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    name[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_only_to_known_words() {
        assert_eq!(stem("quantities").as_deref(), Some("quantity"));
        assert_eq!(stem("addresses").as_deref(), Some("address"));
        assert_eq!(stem("shipped").as_deref(), Some("ship"));
        assert_eq!(stem("pricing").as_deref(), Some("price"));
        assert_eq!(stem("asdfgs"), None);
    }

    #[test]
    fn glued_splits_prefer_words_over_abbreviations() {
        assert_eq!(split_glued("quantityonhand").unwrap(), ["quantity", "onhand"]);
        assert_eq!(split_glued("qtyonhand").unwrap(), ["qty", "onhand"]);
        assert_eq!(split_glued("custordnbr").unwrap(), ["cust", "ord", "nbr"]);
        assert_eq!(split_glued("warehouse"), None);
    }
}
