//! OData pieces of a request: the resource path (`accounts(…)/Account_Tasks`), key literals
//! (primary and alternate keys), and the query options `$select $filter $orderby $top $count
//! $expand $skiptoken $deltatoken`, with rendering of rows as the Web API returns them.

use std::cmp::Ordering;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::ApiError;
use super::filter::{self, Expr};
use super::schema::{self, EntityDef};
use super::store::{Row, Stored, Table};

/// How a row is addressed.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Id(Uuid),
    /// Column → value, as written in the URL.
    Alternate(Vec<(String, Value)>),
}

/// What the path names.
#[derive(Debug, Clone)]
pub enum Resource {
    Collection(&'static EntityDef),
    Count(&'static EntityDef),
    Row(&'static EntityDef, Key),
    /// `set(key)/nav`: a collection- or single-valued navigation property.
    Navigation(&'static EntityDef, Key, String),
    Action(String),
}

pub fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Splits at `sep` outside quotes and parentheses.
pub fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_key_value(text: &str) -> Result<Value, ApiError> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Value::String(inner.replace("''", "'")));
    }
    if let Ok(id) = Uuid::parse_str(text) {
        return Ok(Value::String(id.to_string()));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::from(n));
    }
    match text {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        _ => Err(ApiError::bad_request(format!("Bad Request - Error in query syntax: invalid key value '{text}'"))),
    }
}

/// Parses `(…)` content: a GUID or `name=value,…`.
pub fn parse_key(def: &EntityDef, text: &str) -> Result<Key, ApiError> {
    let text = text.trim();
    if let Ok(id) = Uuid::parse_str(text) {
        return Ok(Key::Id(id));
    }
    let mut pairs = Vec::new();
    for part in split_top(text, ',') {
        let Some((name, value)) = part.split_once('=') else {
            return Err(ApiError::bad_request(format!("Bad Request - Error in query syntax: invalid key '{text}'")));
        };
        pairs.push((name.trim().to_owned(), parse_key_value(value)?));
    }
    if let [(name, Value::String(v))] = pairs.as_slice()
        && name == def.primary_id
        && let Ok(id) = Uuid::parse_str(v)
    {
        return Ok(Key::Id(id));
    }
    Ok(Key::Alternate(pairs))
}

/// Splits `name(key)` into the name and the key text.
fn split_segment(segment: &str) -> Result<(&str, Option<&str>), ApiError> {
    match segment.find('(') {
        Some(open) if segment.ends_with(')') => Ok((&segment[..open], Some(&segment[open + 1..segment.len() - 1]))),
        Some(_) => Err(ApiError::bad_request(format!("Bad Request - Error in query syntax: '{segment}'"))),
        None => Ok((segment, None)),
    }
}

/// Parses the path after `/api/data/v9.2/` (already percent-decoded).
pub fn parse_resource(path: &str) -> Result<Resource, ApiError> {
    let path = path.trim_matches('/');
    let (first, rest) = match path.find(')') {
        Some(close) if path[..close].contains('(') => (&path[..=close], path[close + 1..].trim_start_matches('/')),
        _ => match path.split_once('/') {
            Some((a, b)) => (a, b),
            None => (path, ""),
        },
    };
    let (name, key) = split_segment(first)?;
    let Some(def) = schema::by_set(name) else {
        if key.is_none() && rest.is_empty() && !name.is_empty() {
            return Ok(Resource::Action(name.trim_start_matches("Microsoft.Dynamics.CRM.").to_owned()));
        }
        return Err(ApiError::resource_not_found(name));
    };
    match (key, rest) {
        (None, "") => Ok(Resource::Collection(def)),
        (None, "$count") => Ok(Resource::Count(def)),
        (Some(k), "") => Ok(Resource::Row(def, parse_key(def, k)?)),
        (Some(k), nav) if !nav.contains('/') => Ok(Resource::Navigation(def, parse_key(def, k)?, nav.to_owned())),
        _ => Err(ApiError::resource_not_found(path)),
    }
}

/// One `$expand` item.
#[derive(Debug, Clone, Default)]
pub struct Expand {
    pub nav: String,
    pub select: Option<Vec<String>>,
    pub filter: Option<Expr>,
    pub orderby: Vec<(String, bool)>,
    pub top: Option<usize>,
}

/// The query options of a request.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub select: Option<Vec<String>>,
    pub filter: Option<Expr>,
    /// (column, descending)
    pub orderby: Vec<(String, bool)>,
    pub top: Option<usize>,
    pub count: bool,
    pub expand: Vec<Expand>,
    pub skiptoken: Option<String>,
    pub deltatoken: Option<String>,
    /// The options as received (still encoded), minus paging tokens, to build next links.
    pub raw: Vec<String>,
}

fn parse_list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn parse_orderby(text: &str) -> Result<Vec<(String, bool)>, ApiError> {
    parse_list(text)
        .into_iter()
        .map(|item| {
            let mut words = item.split_whitespace();
            let column = words.next().unwrap_or_default().to_owned();
            match words.next() {
                None | Some("asc") => Ok((column, false)),
                Some("desc") => Ok((column, true)),
                Some(other) => {
                    Err(ApiError::bad_request(format!("Invalid $orderby direction '{other}' for '{column}'")))
                }
            }
        })
        .collect()
}

fn parse_top(text: &str) -> Result<usize, ApiError> {
    text.trim().parse().map_err(|_| ApiError::bad_request(format!("Invalid value '{text}' for $top")))
}

fn parse_filter(text: &str) -> Result<Expr, ApiError> {
    filter::parse(text).map_err(|e| ApiError::bad_request(format!("Invalid $filter: {e}")))
}

fn parse_expand(text: &str) -> Result<Vec<Expand>, ApiError> {
    let mut out = Vec::new();
    for item in split_top(text, ',') {
        let item = item.trim();
        let (nav, inner) = split_segment(item)?;
        let mut expand = Expand { nav: nav.to_owned(), ..Expand::default() };
        if let Some(inner) = inner {
            for option in split_top(inner, ';') {
                let Some((name, value)) = option.split_once('=') else { continue };
                match name.trim() {
                    "$select" => expand.select = Some(parse_list(value)),
                    "$filter" => expand.filter = Some(parse_filter(value)?),
                    "$orderby" => expand.orderby = parse_orderby(value)?,
                    "$top" => expand.top = Some(parse_top(value)?),
                    "$expand" => {
                        return Err(ApiError::bad_request("The sandbox supports one level of $expand"));
                    }
                    other => return Err(ApiError::bad_request(format!("Unsupported option '{other}' in $expand"))),
                }
            }
        }
        out.push(expand);
    }
    Ok(out)
}

/// Parses a raw query string.
pub fn parse_query(query: &str) -> Result<QueryOptions, ApiError> {
    let mut options = QueryOptions::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode(raw_name), decode(raw_value));
        match name.as_str() {
            "$select" => options.select = Some(parse_list(&value)),
            "$filter" => options.filter = Some(parse_filter(&value)?),
            "$orderby" => options.orderby = parse_orderby(&value)?,
            "$top" => options.top = Some(parse_top(&value)?),
            "$count" => options.count = value == "true",
            "$expand" => options.expand = parse_expand(&value)?,
            "$skiptoken" => {
                options.skiptoken = Some(value);
                continue;
            }
            "$deltatoken" => {
                options.deltatoken = Some(value);
                continue;
            }
            "$skip" => return Err(ApiError::bad_request("The query parameter $skip is not supported")),
            other if other.starts_with('$') && other != "$apply" => {
                return Err(ApiError::bad_request(format!("The query parameter {other} is not supported")));
            }
            _ => {}
        }
        options.raw.push(pair.to_owned());
    }
    Ok(options)
}

/// Encoding of a paging cookie inside `$skiptoken` (lowercase hex, as in the sample).
const COOKIE_INNER: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');
/// Encoding of the `$skiptoken` value in a next link (keeps `=` and `/`, as in the sample).
const SKIPTOKEN: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'%').add(b'#').add(b'&').add(b'?').add(b'{').add(b'}');

/// A paging position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cookie {
    pub page: usize,
    pub last: Option<Uuid>,
    pub tracking_version: Option<u64>,
}

/// The `$skiptoken` for the page after `page`, in the shape of the reference sample.
/// `tracking` carries the change-tracking version of an initial sync across its pages.
pub fn skiptoken(pid: &str, page: usize, first: Uuid, last: Uuid, tracking: Option<u64>) -> String {
    let brace = |id: Uuid| format!("{{{}}}", id.hyphenated().to_string().to_uppercase());
    let inner =
        format!("<cookie page=\"{page}\"><{pid} last=\"{}\" first=\"{}\" /></cookie>", brace(last), brace(first));
    let inner = utf8_percent_encode(&inner, COOKIE_INNER).to_string().to_lowercase();
    let cookie = match tracking {
        None => format!("<cookie pagenumber=\"{}\" pagingcookie=\"{inner}\" istracking=\"False\" />", page + 1),
        Some(version) => format!(
            "<cookie pagenumber=\"{}\" pagingcookie=\"{inner}\" istracking=\"True\" trackingversion=\"{version}\" />",
            page + 1
        ),
    };
    utf8_percent_encode(&cookie, SKIPTOKEN).to_string()
}

/// Reads a decoded `$skiptoken`.
pub fn parse_cookie(token: &str) -> Result<Cookie, ApiError> {
    let bad = || ApiError::bad_request("Invalid $skiptoken: it must be passed back unchanged from @odata.nextLink");
    let attr = |text: &str, name: &str| -> Option<String> {
        let start = text.find(&format!("{name}=\""))? + name.len() + 2;
        let end = text[start..].find('"')? + start;
        Some(text[start..end].to_owned())
    };
    let page: usize = attr(token, "pagenumber").and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let inner = attr(token, "pagingcookie").map(|c| decode(&c)).unwrap_or_default();
    let last = attr(&inner, "last").and_then(|l| Uuid::parse_str(l.trim_matches(['{', '}'])).ok());
    let tracking_version = attr(token, "trackingversion").and_then(|v| v.parse().ok());
    Ok(Cookie { page: page.max(1), last, tracking_version })
}

fn order(a: &Row, b: &Row, orderby: &[(String, bool)]) -> Ordering {
    for (column, desc) in orderby {
        let (x, y) = (a.get(column).unwrap_or(&Value::Null), b.get(column).unwrap_or(&Value::Null));
        let ord = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            (Value::Number(m), Value::Number(n)) => {
                m.as_f64().unwrap_or(0.0).partial_cmp(&n.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
            }
            (Value::String(m), Value::String(n)) => m.to_lowercase().cmp(&n.to_lowercase()),
            (m, n) => m.to_string().cmp(&n.to_string()),
        };
        let ord = if *desc { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Rows of `table` matching `filter`, ordered.
pub fn select_rows<'a>(
    table: &'a Table,
    filter: Option<&Expr>,
    orderby: &[(String, bool)],
) -> Vec<(&'a Uuid, &'a Stored)> {
    let mut rows: Vec<(&Uuid, &Stored)> =
        table.rows.iter().filter(|(_, s)| filter.is_none_or(|f| filter::matches(f, &s.row))).collect();
    if !orderby.is_empty() {
        rows.sort_by(|a, b| order(&a.1.row, &b.1.row, orderby));
    }
    rows
}

/// One page of a query: the rows, and where the next page starts.
pub struct Page<'a> {
    pub rows: Vec<(&'a Uuid, &'a Stored)>,
    pub next: Option<String>,
    pub total: usize,
}

/// Applies filter, order, `$top` and paging. Without `$orderby` pages continue after the last
/// primary key (like the platform's paging cookie); with it, by page number.
pub fn page<'a>(
    table: &'a Table,
    options: &QueryOptions,
    page_size: Option<usize>,
    tracking: Option<u64>,
) -> Result<Page<'a>, ApiError> {
    let cookie = options.skiptoken.as_deref().map(parse_cookie).transpose()?;
    let filter = options.filter.as_ref();
    let size = page_size.unwrap_or(5000).clamp(1, 5000);
    let total = if options.count { select_rows(table, filter, &[]).len() } else { 0 };
    if options.top.is_some() && page_size.is_none() {
        let top = options.top.unwrap_or(0);
        let mut rows = select_rows(table, filter, &options.orderby);
        rows.truncate(top.min(5000));
        return Ok(Page { rows, next: None, total });
    }
    let page_number = cookie.map_or(1, |c| c.page);
    let mut rows: Vec<(&Uuid, &Stored)> = if options.orderby.is_empty() {
        let after = cookie.and_then(|c| c.last);
        let range = match after {
            Some(last) => table.rows.range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded)),
            None => table.rows.range(..),
        };
        range.filter(|(_, s)| filter.is_none_or(|f| filter::matches(f, &s.row))).take(size + 1).collect()
    } else {
        select_rows(table, filter, &options.orderby).into_iter().skip((page_number - 1) * size).take(size + 1).collect()
    };
    let next = if rows.len() > size {
        rows.truncate(size);
        let first = *rows[0].0;
        let last = *rows[rows.len() - 1].0;
        Some(skiptoken(table.def.primary_id, page_number, first, last, tracking))
    } else {
        None
    };
    Ok(Page { rows, next, total })
}

/// Whether `key` is an internal annotation kept beside a lookup value.
fn is_annotation(key: &str) -> bool {
    key.contains('@')
}

/// A row as the Web API returns it: `@odata.etag`, the selected columns (null when empty),
/// the primary id; lookup annotations only when asked for.
pub fn render(def: &EntityDef, stored: &Stored, select: Option<&[String]>, annotations: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@odata.etag".into(), Value::String(stored.etag()));
    let put = |column: &str, out: &mut Map<String, Value>| {
        out.insert(column.to_owned(), stored.row.get(column).cloned().unwrap_or(Value::Null));
        if annotations {
            for suffix in
                ["Microsoft.Dynamics.CRM.lookuplogicalname", "Microsoft.Dynamics.CRM.associatednavigationproperty"]
            {
                let key = format!("{column}@{suffix}");
                if let Some(v) = stored.row.get(&key) {
                    out.insert(key, v.clone());
                }
            }
        }
    };
    match select {
        Some(columns) => {
            for column in columns {
                put(column, &mut out);
            }
        }
        None => {
            for column in stored.row.keys().filter(|k| !is_annotation(k)) {
                put(column, &mut out);
            }
        }
    }
    out.insert(def.primary_id.to_owned(), stored.row.get(def.primary_id).cloned().unwrap_or(Value::Null));
    out
}

/// The `@odata.context` of a collection (`…/$metadata#contacts(fullname)`).
pub fn context(base: &str, set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(columns) if !columns.is_empty() => format!("{base}/$metadata#{set}({})", columns.join(",")),
        _ => format!("{base}/$metadata#{set}"),
    }
}
