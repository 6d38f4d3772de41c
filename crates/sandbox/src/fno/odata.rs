//! URLs of `/data/` (DYNAMICS.md §B.1–B.2): resources, composite keys that must name every
//! key field including `dataAreaId`, and the query options F&O implements (`$filter` in its
//! dialect, `$select`, `$top`, `$skip`, `$orderby`, `$count`, first-level `$expand`,
//! `cross-company`).

use std::cmp::Ordering;

use serde_json::Value;

use super::errors::FnoError;
use super::schema::{self, EntityDef, Kind};
use super::store::{Row, RowKey, key_text};
use crate::dataverse::filter::{self, Dialect, Expr, Literal};
use crate::dataverse::odata::{decode, split_top};

/// What a path names.
#[derive(Debug)]
pub enum Resource {
    ServiceDocument,
    Metadata,
    Batch,
    Collection(&'static EntityDef),
    Count(&'static EntityDef),
    Entity(&'static EntityDef, RowKey),
}

fn parse_key_value(text: &str) -> Result<Value, FnoError> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Value::String(inner.replace("''", "'")));
    }
    text.parse::<rust_decimal::Decimal>()
        .ok()
        .and_then(|d| serde_json::Number::from_f64(d.to_string().parse().ok()?))
        .map(Value::Number)
        .ok_or_else(|| FnoError::bad_request(format!("The key value '{text}' is not a valid literal.")))
}

/// Parses `dataAreaId='usmf',SalesOrderNumber='SO-1'`. Every key field must be named, as
/// F&O requires ("all fields of the entity key must be provided").
pub fn parse_key(def: &EntityDef, text: &str) -> Result<RowKey, FnoError> {
    let parts = split_top(text, ',');
    let count_error = || {
        FnoError::bad_request(format!(
            "The number of keys specified in the URI does not match number of key properties for the resource '{}'. The key must name {}.",
            def.qualified_type(),
            def.keys.join(", ")
        ))
    };
    if parts.len() != def.keys.len() {
        return Err(count_error());
    }
    let mut row = Row::new();
    for part in parts {
        let Some((name, value)) = part.split_once('=') else { return Err(count_error()) };
        let name = name.trim();
        if !def.keys.iter().any(|k| k == name) {
            return Err(FnoError::bad_request(format!(
                "'{name}' is not a key property of '{}'; its key is {}.",
                def.qualified_type(),
                def.keys.join(", ")
            )));
        }
        row.insert(name.to_owned(), parse_key_value(value)?);
    }
    super::store::key_of(def, &row).map_err(|_| count_error())
}

/// Parses the path after `/data/`.
pub fn parse_resource(path: &str) -> Result<Resource, FnoError> {
    let path = decode(path);
    let path = path.trim_end_matches('/');
    match path {
        "" => return Ok(Resource::ServiceDocument),
        "$metadata" => return Ok(Resource::Metadata),
        "$batch" => return Ok(Resource::Batch),
        _ => {}
    }
    let (head, tail) = match path.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (path, None),
    };
    let (set, key) = match head.find('(') {
        Some(open) if head.ends_with(')') => (&head[..open], Some(&head[open + 1..head.len() - 1])),
        Some(_) => return Err(FnoError::bad_request(format!("The URI segment '{head}' is not valid."))),
        None => (head, None),
    };
    let def = schema::by_set(set)
        .ok_or_else(|| FnoError::not_found(format!("Resource not found for the segment '{set}'.")))?;
    match (key, tail) {
        (None, None) => Ok(Resource::Collection(def)),
        (None, Some("$count")) => Ok(Resource::Count(def)),
        (Some(key), None) => Ok(Resource::Entity(def, parse_key(def, key)?)),
        (_, Some(tail)) => Err(FnoError::not_found(format!("Resource not found for the segment '{tail}'."))),
    }
}

/// One `$expand` item.
#[derive(Debug, Clone)]
pub struct Expand {
    pub navigation: String,
    pub select: Option<Vec<String>>,
}

/// Query options of a request.
#[derive(Debug, Default)]
pub struct QueryOptions {
    pub filter: Option<Expr>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub skip: usize,
    pub orderby: Vec<(String, bool)>,
    pub count: bool,
    pub expand: Vec<Expand>,
    pub cross_company: bool,
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn number(name: &str, text: &str) -> Result<usize, FnoError> {
    text.trim().parse().map_err(|_| FnoError::bad_request(format!("Invalid value '{text}' for {name}.")))
}

fn parse_expand(def: &EntityDef, text: &str) -> Result<Vec<Expand>, FnoError> {
    let mut out = Vec::new();
    for item in split_top(text, ',') {
        let item = item.trim();
        let (navigation, options) = match item.find('(') {
            Some(open) if item.ends_with(')') => (&item[..open], Some(&item[open + 1..item.len() - 1])),
            _ => (item, None),
        };
        if navigation.contains('/') {
            return Err(FnoError::not_supported(format!(
                "Only first-level $expand is supported; '{navigation}' expands a second level."
            )));
        }
        if !def.navigation().any(|(name, ..)| name == navigation) {
            return Err(FnoError::bad_request(format!(
                "Could not find a navigation property named '{navigation}' on type '{}'.",
                def.qualified_type()
            )));
        }
        let mut select = None;
        for option in options.map(|o| split_top(o, ';')).unwrap_or_default() {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            match name.trim() {
                "$select" => select = Some(list(value)),
                "$expand" => {
                    return Err(FnoError::not_supported(format!(
                        "Only first-level $expand is supported; '{navigation}($expand={value})' expands a second level."
                    )));
                }
                other => {
                    return Err(FnoError::not_supported(format!(
                        "The query option '{other}' is not supported inside $expand."
                    )));
                }
            }
        }
        out.push(Expand { navigation: navigation.to_owned(), select });
    }
    Ok(out)
}

/// Parses the query string (percent-encoded) for requests on `def`.
pub fn parse_query(def: &EntityDef, query: &str) -> Result<QueryOptions, FnoError> {
    let mut options = QueryOptions::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "$filter" => {
                let expr = filter::parse_dialect(&value, Dialect::FinOps).map_err(|e| {
                    if e.contains("not supported") {
                        FnoError::not_supported(format!("Invalid $filter: {e}"))
                    } else {
                        FnoError::bad_request(format!("Invalid $filter: {e}"))
                    }
                })?;
                check_filter(def, &expr)?;
                options.filter = Some(expr);
            }
            "$select" => options.select = Some(list(&value)),
            "$top" => options.top = Some(number("$top", &value)?),
            "$skip" => options.skip = number("$skip", &value)?,
            "$count" => options.count = value.trim() == "true",
            "$orderby" => {
                for item in list(&value) {
                    let mut words = item.split_whitespace();
                    let field = words.next().unwrap_or_default().to_owned();
                    let descending = match words.next() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(other) => {
                            return Err(FnoError::bad_request(format!("Invalid $orderby direction '{other}'.")));
                        }
                    };
                    options.orderby.push((field, descending));
                }
            }
            "$expand" => options.expand = parse_expand(def, &value)?,
            "cross-company" => options.cross_company = value.trim().eq_ignore_ascii_case("true"),
            "$format" | "$skiptoken" => {}
            other if other.starts_with('$') => {
                return Err(FnoError::not_supported(format!("The query option '{other}' is not supported.")));
            }
            _ => {}
        }
    }
    let mut names: Vec<&str> = options.select.iter().flatten().map(String::as_str).collect();
    names.extend(options.orderby.iter().map(|(f, _)| f.as_str()));
    for name in names {
        check_property(def, name)?;
    }
    Ok(options)
}

/// Refuses a property the type lacks.
pub fn check_property(def: &EntityDef, name: &str) -> Result<(), FnoError> {
    if def.property(name).is_none() {
        return Err(FnoError::bad_request(format!(
            "Could not find a property named '{name}' on type '{}'.",
            def.qualified_type()
        )));
    }
    Ok(())
}

/// Every property a filter names must exist; enum literals must be of the property's enum
/// type and name one of its members (when the members are known).
fn check_filter(def: &EntityDef, expr: &Expr) -> Result<(), FnoError> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_filter(def, a)?;
            check_filter(def, b)
        }
        Expr::Not(a) => check_filter(def, a),
        Expr::Function { property, .. } => check_property(def, property),
        Expr::Compare { property, literal, .. } => {
            check_property(def, property)?;
            let kind = def.property(property).map(|p| &p.kind);
            match (kind, literal) {
                (Some(Kind::Enum(expected)), Literal::Enum { type_name, member }) => {
                    if type_name != expected {
                        return Err(FnoError::bad_request(format!(
                            "A binary operator with incompatible types was detected. Found operand types '{}.{expected}' and '{}.{type_name}' for operator kind 'Equal'.",
                            schema::NAMESPACE,
                            schema::NAMESPACE
                        )));
                    }
                    if let Some(members) = schema::enum_members(expected)
                        && !members.iter().any(|(m, _)| m == member)
                    {
                        return Err(FnoError::bad_request(format!(
                            "The string '{member}' is not a valid enumerated type constant for '{}.{expected}'.",
                            schema::NAMESPACE
                        )));
                    }
                    Ok(())
                }
                (Some(Kind::Enum(expected)), Literal::String(_) | Literal::Wildcard(_)) => {
                    Err(FnoError::bad_request(format!(
                        "A binary operator with incompatible types was detected. Found operand types '{}.{expected}' and 'Edm.String' for operator kind 'Equal'; write enum values as {}.{expected}'Member'.",
                        schema::NAMESPACE,
                        schema::NAMESPACE
                    )))
                }
                (Some(kind), Literal::Enum { type_name, .. }) if !matches!(kind, Kind::Enum(_)) => {
                    Err(FnoError::bad_request(format!(
                        "A binary operator with incompatible types was detected. Found operand types '{}' and '{}.{type_name}' for operator kind 'Equal'.",
                        kind.csdl(),
                        schema::NAMESPACE
                    )))
                }
                _ => Ok(()),
            }
        }
    }
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let x = x.to_string().parse::<rust_decimal::Decimal>().unwrap_or_default();
            let y = y.to_string().parse::<rust_decimal::Decimal>().unwrap_or_default();
            x.cmp(&y)
        }
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => key_text(a).cmp(&key_text(b)),
    }
}

/// Compares two rows by `$orderby` (a stable sort keeps key order for ties).
pub fn compare_rows(a: &Row, b: &Row, orderby: &[(String, bool)]) -> Ordering {
    for (field, descending) in orderby {
        let ord = compare_values(a.get(field).unwrap_or(&Value::Null), b.get(field).unwrap_or(&Value::Null));
        let ord = if *descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The query string of the next page: the same options with `$skip` moved on (F&O pages
/// with `$skip`, DYNAMICS.md simulator checklist) and `$top` reduced by what was served.
pub fn next_query(query: &str, skip: usize, top: Option<usize>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "$skip" && name != "$top" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("$skip", &skip.to_string());
    if let Some(top) = top {
        out.append_pair("$top", &top.to_string());
    }
    out.finish()
}
