//! One Web API operation against the store: query, retrieve, create, update/upsert (with
//! `If-Match` / `If-None-Match`), delete, lookups through `@odata.bind`, the state-changing
//! actions, and change tracking. Used for plain requests and for each `$batch` part alike.

use std::collections::HashMap;

use jiff::Timestamp;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{
    ApiError, INVALID_ARGUMENT, INVALID_STATE_TRANSITION, INVALID_STATE_TRANSITION_MESSAGE, PROPERTY_NOT_FOUND,
    UNDECLARED_PROPERTY, VALIDATION,
};
use super::odata::{self, Key, QueryOptions, Resource};
use super::schema::{self, EntityDef};
use super::store::{Row, Txn};

/// A request as the API layer sees it (from HTTP or from a `$batch` part).
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// Percent-encoded path after `/api/data/v9.2/`.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every `Prefer` preference, lower-cased.
    pub fn prefer(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("prefer"))
            .flat_map(|(_, v)| v.split(',').map(|p| p.trim().to_owned()))
            .collect()
    }

    fn prefers(&self, value: &str) -> bool {
        self.prefer().iter().any(|p| p.eq_ignore_ascii_case(value))
    }

    fn max_page_size(&self) -> Option<usize> {
        self.prefer().iter().find_map(|p| p.strip_prefix("odata.maxpagesize=").and_then(|n| n.trim().parse().ok()))
    }

    fn annotations(&self) -> bool {
        self.prefer().iter().any(|p| p.starts_with("odata.include-annotations"))
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    fn json(status: u16, body: &Value) -> Self {
        ApiResponse {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json; odata.metadata=minimal; odata.streaming=true".into()),
                ("OData-Version".into(), "4.0".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn no_content() -> Self {
        ApiResponse { status: 204, headers: vec![("OData-Version".into(), "4.0".into())], body: Vec::new() }
    }

    pub fn error(error: &ApiError) -> Self {
        let mut headers = vec![
            ("Content-Type".into(), "application/json; odata.metadata=minimal".into()),
            ("OData-Version".into(), "4.0".into()),
            ("REQ_ID".into(), Uuid::new_v4().to_string()),
        ];
        if let Some(seconds) = error.retry_after {
            headers.push(("Retry-After".into(), seconds.to_string()));
        }
        ApiResponse { status: error.status, headers, body: error.body() }
    }

    fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Settings the operations need.
pub struct Ctx<'a> {
    /// `http://host:port/api/data/v9.2`
    pub base: &'a str,
    /// Content-ID → `set(id)` of rows created earlier in the same change set.
    pub content_ids: &'a HashMap<String, String>,
}

type Result<T> = std::result::Result<T, ApiError>;

/// Runs one operation inside `txn`.
pub fn execute(ctx: &Ctx<'_>, txn: &mut Txn<'_>, req: &ApiRequest) -> Result<ApiResponse> {
    let path = resolve_content_id(ctx, &req.path)?;
    if path == "$metadata" && req.method.eq_ignore_ascii_case("GET") {
        return Ok(ApiResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/xml".into()), ("OData-Version".into(), "4.0".into())],
            body: super::metadata::csdl(txn).into_bytes(),
        });
    }
    let decoded = odata::decode(&path);
    if decoded.starts_with("EntityDefinitions") {
        return super::metadata_api::execute(ctx, txn, req, &decoded);
    }
    let resource = odata::parse_resource(&decoded)?;
    let method = req.method.to_ascii_uppercase();
    if method == "GET" {
        let target = match &resource {
            Resource::Collection(def) | Resource::Row(def, _) | Resource::Count(def) => Some(*def),
            Resource::Navigation(def, _, nav) => {
                let many = def.collection(nav).map(|m| m.target);
                let one = def.lookup(nav).map(|l| l.target);
                match many.or(one) {
                    Some(set) => schema::by_set(set),
                    None => {
                        check_column(txn, def, nav)?;
                        None
                    }
                }
            }
            Resource::Action(_) => None,
        };
        if let Some(def) = target {
            check_query_columns(txn, def, &odata::parse_query(&req.query)?)?;
        }
    }
    match (method.as_str(), resource) {
        ("GET", Resource::Collection(def)) => {
            let options = odata::parse_query(&req.query)?;
            if req.prefers("odata.track-changes") || options.deltatoken.is_some() {
                return track_changes(ctx, txn, req, def, &options);
            }
            query(ctx, txn, req, def, &options, None)
        }
        ("GET", Resource::Count(def)) => {
            let count = txn.table(def.set).map_or(0, |t| t.rows.len());
            Ok(ApiResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: count.to_string().into_bytes(),
            })
        }
        ("GET", Resource::Row(def, key)) => retrieve(ctx, txn, req, def, &key),
        ("GET", Resource::Navigation(def, key, nav)) => navigate(ctx, txn, req, def, &key, &nav),
        ("PUT" | "DELETE", Resource::Navigation(def, key, column)) => set_property(ctx, txn, req, def, &key, &column),
        ("POST", Resource::Collection(def)) => create(ctx, txn, req, def),
        ("PATCH", Resource::Row(def, key)) => upsert(ctx, txn, req, def, &key),
        ("DELETE", Resource::Row(def, key)) => delete(txn, req, def, &key),
        ("POST", Resource::Action(name)) => action(ctx, txn, req, &name),
        (_, Resource::Action(name)) => Err(ApiError::resource_not_found(&name)),
        ("PATCH" | "DELETE", Resource::Collection(_)) => {
            Err(ApiError::new(405, "0x80060888", "The requested operation is not supported on a collection."))
        }
        (m, _) => Err(ApiError::new(405, "0x80060888", format!("Method {m} is not supported on this resource."))),
    }
}

/// Refuses a column the table does not have (a custom column not created yet), as the
/// platform's OData layer does for `$select`, `$filter` and `$orderby`.
fn check_column(txn: &Txn<'_>, def: &EntityDef, column: &str) -> Result<()> {
    let column = column.split('/').next().unwrap_or(column);
    match txn.table(def.set) {
        Some(table) if !table.has_column(column) => Err(ApiError::new(
            400,
            PROPERTY_NOT_FOUND,
            format!("Could not find a property named '{column}' on type 'Microsoft.Dynamics.CRM.{}'.", def.logical),
        )),
        _ => Ok(()),
    }
}

fn filter_columns<'e>(expr: &'e super::filter::Expr, out: &mut Vec<&'e str>) {
    use super::filter::Expr;
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            filter_columns(a, out);
            filter_columns(b, out);
        }
        Expr::Not(e) => filter_columns(e, out),
        Expr::Compare { property, .. } | Expr::Function { property, .. } => out.push(property),
    }
}

fn check_options_columns(
    txn: &Txn<'_>,
    def: &EntityDef,
    select: Option<&[String]>,
    filter: Option<&super::filter::Expr>,
    orderby: &[(String, bool)],
) -> Result<()> {
    let mut columns: Vec<&str> = select.unwrap_or_default().iter().map(String::as_str).collect();
    if let Some(filter) = filter {
        filter_columns(filter, &mut columns);
    }
    columns.extend(orderby.iter().map(|(c, _)| c.as_str()));
    columns.into_iter().try_for_each(|c| check_column(txn, def, c))
}

fn check_query_columns(txn: &Txn<'_>, def: &EntityDef, options: &QueryOptions) -> Result<()> {
    check_options_columns(txn, def, options.select.as_deref(), options.filter.as_ref(), &options.orderby)?;
    for expand in &options.expand {
        let target =
            def.lookup(&expand.nav).map(|l| l.target).or_else(|| def.collection(&expand.nav).map(|m| m.target));
        if let Some(target) = target.and_then(schema::by_set) {
            check_options_columns(txn, target, expand.select.as_deref(), expand.filter.as_ref(), &expand.orderby)?;
        }
    }
    Ok(())
}

/// `$1` or `$1/…` → the row created by Content-ID 1.
fn resolve_content_id(ctx: &Ctx<'_>, path: &str) -> Result<String> {
    let Some(rest) = path.strip_prefix('$') else { return Ok(path.to_owned()) };
    if rest.starts_with("batch") || rest.starts_with("metadata") {
        return Ok(path.to_owned());
    }
    let (id, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let target = ctx.content_ids.get(id).ok_or_else(|| {
        ApiError::bad_request(format!("Content-ID Reference: '${id}' does not exist in the batch context."))
    })?;
    Ok(if tail.is_empty() { target.clone() } else { format!("{target}/{tail}") })
}

fn parse_body(req: &ApiRequest) -> Result<Map<String, Value>> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Invalid JSON in the request body at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))),
    }
}

/// The id of the row `key` names, or `None` if there is none (key columns are validated).
fn find(txn: &Txn<'_>, def: &EntityDef, key: &Key) -> Result<Option<Uuid>> {
    match key {
        Key::Id(id) => Ok(txn.get(def.set, *id).map(|_| *id)),
        Key::Alternate(pairs) => {
            let table = txn.table(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
            let columns: Vec<String> = pairs.iter().map(|(c, _)| c.clone()).collect();
            let Some(index) = table.key_index(&columns) else {
                return Err(ApiError::bad_request(format!(
                    "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.{0}'. Ensure that the names and number of key properties match the declared key properties for the resource 'Microsoft.Dynamics.CRM.{0}'.",
                    def.logical
                )));
            };
            for (column, value) in pairs {
                if let Value::String(s) = value
                    && s.contains(['/', '<', '>', '*', '%', '&', ':', '\\', '?', '+'])
                {
                    return Err(ApiError::bad_request(format!(
                        "The value of key column '{column}' contains a character that alternate keys do not support (/ < > * % & : \\ ? +)."
                    )));
                }
            }
            let values: Row = pairs.iter().cloned().collect();
            Ok(table.find_by_key(index, &values))
        }
    }
}

fn entity_url(ctx: &Ctx<'_>, def: &EntityDef, id: Uuid) -> String {
    format!("{}/{}({id})", ctx.base, def.set)
}

fn select_of(options: &QueryOptions) -> Option<&[String]> {
    options.select.as_deref()
}

/// Renders a row with its `$expand`ed navigation properties.
fn render_full(
    txn: &Txn<'_>,
    def: &EntityDef,
    id: Uuid,
    options: &QueryOptions,
    annotations: bool,
) -> Result<Map<String, Value>> {
    let stored = txn.get(def.set, id).ok_or_else(|| ApiError::not_found(def.logical, id))?;
    let mut out = odata::render(def, stored, select_of(options), annotations);
    for expand in &options.expand {
        if let Some(lookup) = def.lookup(&expand.nav) {
            let target = schema::by_set(lookup.target).ok_or_else(|| ApiError::resource_not_found(lookup.target))?;
            let column = format!("_{}_value", lookup.attribute);
            let related = stored
                .row
                .get(&column)
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .filter(|_| {
                    stored
                        .row
                        .get(&format!("{column}@Microsoft.Dynamics.CRM.lookuplogicalname"))
                        .and_then(Value::as_str)
                        == Some(target.logical)
                })
                .and_then(|rid| txn.get(target.set, rid));
            let value = related.map_or(Value::Null, |r| {
                Value::Object(odata::render(target, r, expand.select.as_deref(), annotations))
            });
            out.insert(expand.nav.clone(), value);
        } else if let Some(many) = def.collection(&expand.nav) {
            let target = schema::by_set(many.target).ok_or_else(|| ApiError::resource_not_found(many.target))?;
            let rows = related_rows(txn, target, many.attribute, id, expand.filter.as_ref(), &expand.orderby);
            let mut items: Vec<Value> = rows
                .iter()
                .map(|rid| {
                    txn.get(target.set, *rid)
                        .map(|r| Value::Object(odata::render(target, r, expand.select.as_deref(), annotations)))
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            if let Some(top) = expand.top {
                items.truncate(top);
            }
            out.insert(expand.nav.clone(), Value::Array(items));
        } else {
            return Err(ApiError::bad_request(format!(
                "Could not find a property named '{}' on type 'Microsoft.Dynamics.CRM.{}'.",
                expand.nav, def.logical
            )));
        }
    }
    Ok(out)
}

fn related_rows(
    txn: &Txn<'_>,
    target: &EntityDef,
    attribute: &str,
    id: Uuid,
    filter: Option<&super::filter::Expr>,
    orderby: &[(String, bool)],
) -> Vec<Uuid> {
    let Some(table) = txn.table(target.set) else { return Vec::new() };
    let column = format!("_{attribute}_value");
    let wanted = id.to_string();
    odata::select_rows(table, filter, orderby)
        .into_iter()
        .filter(|(_, s)| s.row.get(&column).and_then(Value::as_str) == Some(wanted.as_str()))
        .map(|(rid, _)| *rid)
        .collect()
}

fn query(
    ctx: &Ctx<'_>,
    txn: &Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    options: &QueryOptions,
    only: Option<&[Uuid]>,
) -> Result<ApiResponse> {
    let table = txn.table(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
    let page_size = req.max_page_size();
    let annotations = req.annotations();
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(odata::context(ctx.base, def.set, select_of(options))));
    let mut value = Vec::new();
    let mut next = None;
    if let Some(only) = only {
        for id in only.iter().take(options.top.unwrap_or(usize::MAX)) {
            value.push(Value::Object(render_full(txn, def, *id, options, annotations)?));
        }
    } else {
        let page = odata::page(table, options, page_size, None)?;
        if options.count {
            body.insert("@odata.count".into(), Value::from(page.total.min(5000)));
        }
        for (id, _) in &page.rows {
            value.push(Value::Object(render_full(txn, def, **id, options, annotations)?));
        }
        next = page.next;
    }
    body.insert("value".into(), Value::Array(value));
    if let Some(token) = next {
        let mut parts = options.raw.clone();
        parts.push(format!("$skiptoken={token}"));
        body.insert("@odata.nextLink".into(), Value::String(format!("{}/{}?{}", ctx.base, def.set, parts.join("&"))));
    }
    let mut response = ApiResponse::json(200, &Value::Object(body));
    if let Some(n) = page_size {
        response = response.with("Preference-Applied", format!("odata.maxpagesize={}", n.min(5000)));
    }
    Ok(response)
}

fn retrieve(ctx: &Ctx<'_>, txn: &Txn<'_>, req: &ApiRequest, def: &'static EntityDef, key: &Key) -> Result<ApiResponse> {
    let options = odata::parse_query(&req.query)?;
    let id = find(txn, def, key)?.ok_or_else(|| missing(def, key))?;
    let stored = txn.get(def.set, id).ok_or_else(|| ApiError::not_found(def.logical, id))?;
    let etag = stored.etag();
    if options.expand.is_empty() && !req.annotations() && req.header("if-none-match").is_some_and(|v| v.trim() == etag)
    {
        return Ok(ApiResponse { status: 304, headers: vec![("ETag".into(), etag)], body: Vec::new() });
    }
    let mut body = render_full(txn, def, id, &options, req.annotations())?;
    body.insert(
        "@odata.context".into(),
        Value::String(format!("{}/$entity", odata::context(ctx.base, def.set, select_of(&options)))),
    );
    Ok(ApiResponse::json(200, &Value::Object(body)).with("ETag", etag))
}

fn navigate(
    ctx: &Ctx<'_>,
    txn: &Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    key: &Key,
    nav: &str,
) -> Result<ApiResponse> {
    let id = find(txn, def, key)?.ok_or_else(|| missing(def, key))?;
    let options = odata::parse_query(&req.query)?;
    if let Some(many) = def.collection(nav) {
        let target = schema::by_set(many.target).ok_or_else(|| ApiError::resource_not_found(many.target))?;
        let ids = related_rows(txn, target, many.attribute, id, options.filter.as_ref(), &options.orderby);
        return query(ctx, txn, req, target, &options, Some(&ids));
    }
    if let Some(lookup) = def.lookup(nav) {
        let target = schema::by_set(lookup.target).ok_or_else(|| ApiError::resource_not_found(lookup.target))?;
        let stored = txn.get(def.set, id).ok_or_else(|| ApiError::not_found(def.logical, id))?;
        let related = stored
            .row
            .get(&format!("_{}_value", lookup.attribute))
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        let Some(rid) = related.filter(|rid| txn.get(target.set, *rid).is_some()) else {
            return Ok(ApiResponse::no_content());
        };
        return retrieve(ctx, txn, &ApiRequest { query: req.query.clone(), ..req.clone() }, target, &Key::Id(rid));
    }
    // A single column: `accounts(<id>)/name` → `{"value": …}`.
    let stored = txn.get(def.set, id).ok_or_else(|| ApiError::not_found(def.logical, id))?;
    let value = stored.row.get(nav).filter(|_| !nav.contains('@')).cloned().unwrap_or(Value::Null);
    let body = json!({
        "@odata.context": format!("{}/$metadata#{}({id})/{nav}", ctx.base, def.set),
        "value": value,
    });
    Ok(ApiResponse::json(200, &body))
}

/// `PUT set(key)/column {"value": …}` sets one column; `DELETE set(key)/column` clears it.
fn set_property(
    ctx: &Ctx<'_>,
    txn: &mut Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    key: &Key,
    column: &str,
) -> Result<ApiResponse> {
    if def.lookup(column).is_some() || def.collection(column).is_some() || column.starts_with('$') {
        return Err(ApiError::bad_request(format!("'{column}' is not a column that can be set on its own.")));
    }
    let value = if req.method.eq_ignore_ascii_case("PUT") {
        parse_body(req)?
            .remove("value")
            .ok_or_else(|| ApiError::bad_request("A single-property PUT needs a body like {\"value\": …}."))?
    } else {
        Value::Null
    };
    let body: Map<String, Value> = [(column.to_owned(), value)].into_iter().collect();
    let id = find(txn, def, key)?.ok_or_else(|| missing(def, key))?;
    let request = ApiRequest { method: "PATCH".into(), headers: vec![("if-match".into(), "*".into())], ..req.clone() };
    upsert(ctx, txn, &ApiRequest { body: Value::Object(body).to_string().into_bytes(), ..request }, def, &Key::Id(id))
}

fn missing(def: &EntityDef, key: &Key) -> ApiError {
    match key {
        Key::Id(id) => ApiError::not_found(def.logical, id),
        Key::Alternate(_) => ApiError::key_not_found(def.logical),
    }
}

/// Resolves an `@odata.bind` value (`/accounts(…)`, `accounts(…)`, an absolute URL, or `$n`)
/// to the set and id of an existing row.
fn resolve_bind(ctx: &Ctx<'_>, txn: &Txn<'_>, value: &str) -> Result<(&'static EntityDef, Uuid)> {
    let mut path = value.trim().to_owned();
    if let Some(id) = path.strip_prefix('$') {
        path = ctx.content_ids.get(id).cloned().ok_or_else(|| {
            ApiError::bad_request(format!("Content-ID Reference: '${id}' does not exist in the batch context."))
        })?;
    }
    if let Some(at) = path.find("/api/data/v9.") {
        path = path[at..].splitn(5, '/').nth(4).unwrap_or_default().to_owned();
    }
    match odata::parse_resource(&odata::decode(path.trim_start_matches('/')))? {
        Resource::Row(def, key) => {
            let id = find(txn, def, &key)?.ok_or_else(|| missing(def, &key))?;
            Ok((def, id))
        }
        _ => Err(ApiError::bad_request(format!("The @odata.bind value '{value}' does not identify a single record."))),
    }
}

fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Applies a create/update body to `row`; returns the columns written (the webhook Target).
fn apply_body(
    ctx: &Ctx<'_>,
    txn: &Txn<'_>,
    def: &'static EntityDef,
    body: &Map<String, Value>,
    row: &mut Row,
    creating: bool,
) -> Result<Row> {
    let mut target = Row::new();
    for (name, value) in body {
        if let Some(nav) = name.strip_suffix("@odata.bind") {
            let Some(lookup) = def.lookup(nav) else {
                return Err(ApiError::bad_request(format!(
                    "An undeclared property '{nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
                )));
            };
            let Value::String(reference) = value else {
                return Err(ApiError::bad_request(format!(
                    "The value of '{name}' must be a string such as '/{}(<guid>)'.",
                    lookup.target
                )));
            };
            let (target_def, id) = resolve_bind(ctx, txn, reference)?;
            if target_def.set != lookup.target {
                return Err(ApiError::bad_request(format!(
                    "The navigation property '{nav}' expects a record of '{}', not '{}'.",
                    lookup.target, target_def.set
                )));
            }
            if !creating && def.not_updatable.contains(&lookup.attribute) {
                continue;
            }
            let column = format!("_{}_value", lookup.attribute);
            row.insert(column.clone(), Value::String(id.to_string()));
            row.insert(
                format!("{column}@Microsoft.Dynamics.CRM.lookuplogicalname"),
                Value::String(target_def.logical.into()),
            );
            row.insert(
                format!("{column}@Microsoft.Dynamics.CRM.associatednavigationproperty"),
                Value::String(nav.into()),
            );
            target.insert(
                lookup.attribute.to_owned(),
                json!({ "LogicalName": target_def.logical, "Id": id.to_string() }),
            );
            continue;
        }
        if name.contains('@') {
            continue; // Other annotations (e.g. @odata.type) carry no data.
        }
        if name == def.primary_id {
            continue; // The id comes from the URL or is chosen by `create`.
        }
        if matches!(value, Value::Object(_) | Value::Array(_)) {
            return Err(ApiError::bad_request(format!(
                "'{name}' does not accept related rows here: deep insert works on create through navigation properties of {}, deep update is not supported.",
                def.logical
            )));
        }
        if name.starts_with('_') && name.ends_with("_value") {
            return Err(ApiError::bad_request(format!(
                "The property '{name}' cannot be written; set the lookup with '<navigationproperty>@odata.bind'."
            )));
        }
        let table = txn.table(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
        if !table.has_column(name) {
            return Err(ApiError::new(
                400,
                UNDECLARED_PROPERTY,
                format!(
                    "Error identified in Payload provided by the user for Entity :'{}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{}'. Make sure to only use property names that are defined by the type or mark the type as open type.",
                    def.set, def.logical
                ),
            ));
        }
        if !creating && def.not_updatable.contains(&name.as_str()) {
            continue; // Not valid for update: the platform keeps the created value.
        }
        if let (Value::String(s), Some(max)) = (value, def.max_length(name).or_else(|| table.custom_max_length(name)))
            && s.chars().count() > max
        {
            return Err(ApiError::new(
                400,
                VALIDATION,
                format!(
                    "A validation error occurred.  The length of the '{name}' attribute of the '{}' entity exceeded the maximum allowed length of '{max}'.",
                    def.logical
                ),
            ));
        }
        row.insert(name.clone(), value.clone());
        target.insert(name.clone(), value.clone());
    }
    Ok(target)
}

/// Checks and completes statecode/statuscode after a body was applied.
fn apply_state(
    def: &EntityDef,
    id: Uuid,
    body: &Map<String, Value>,
    row: &mut Row,
    previous_state: Option<i64>,
) -> Result<()> {
    if def.states.is_empty() {
        return Ok(());
    }
    let as_int = |v: Option<&Value>| v.and_then(Value::as_i64);
    let asked_state = as_int(body.get("statecode"));
    let asked_status = as_int(body.get("statuscode"));
    if body.contains_key("statecode") && asked_state.is_none()
        || body.contains_key("statuscode") && asked_status.is_none()
    {
        return Err(ApiError::bad_request("statecode and statuscode must be integers."));
    }
    let state_code = asked_state.or(previous_state).unwrap_or(def.states[0].code);
    let state = def.state(state_code).ok_or_else(|| {
        ApiError::bad_request(format!("{state_code} is not a valid state code on {} with Id {id}.", def.logical))
    })?;
    if asked_state.is_some()
        && asked_state != previous_state
        && let Some(message) = state.requires_message
    {
        return Err(ApiError::bad_request(format!(
            "This message can not be used to set the state of {0} to {1}. In order to set state of {0} to {1}, use the {message}Request message instead.",
            def.schema, state.label
        )));
    }
    let status = match asked_status {
        Some(s) => s,
        None if asked_state.is_some() || previous_state.is_none() => state.default_status,
        None => as_int(row.get("statuscode")).unwrap_or(state.default_status),
    };
    if !state.statuses.contains(&status) {
        return Err(ApiError::bad_request(format!(
            "{status} is not a valid status code for state code {}State.{} on {} with Id {id}.",
            def.schema, state.label, def.logical
        )));
    }
    row.insert("statecode".into(), Value::from(state.code));
    row.insert("statuscode".into(), Value::from(status));
    Ok(())
}

fn composite(row: &Row, prefix: &str) -> Option<String> {
    let get = |c: &str| {
        row.get(&format!("{prefix}_{c}")).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let mut lines: Vec<String> = ["line1", "line2", "line3"].iter().filter_map(|c| get(c)).collect();
    let city_line: Vec<String> = ["city", "stateorprovince", "postalcode"].iter().filter_map(|c| get(c)).collect();
    if !city_line.is_empty() {
        lines.push(city_line.join(" "));
    }
    lines.extend(get("country"));
    (!lines.is_empty()).then(|| lines.join("\r\n"))
}

/// Columns the platform computes.
fn computed(def: &EntityDef, id: Uuid, row: &mut Row, creating: bool) {
    let stamp = now();
    if creating {
        row.insert("createdon".into(), Value::String(stamp.clone()));
        match def.logical {
            "salesorder" if row.get("ordernumber").is_none_or(Value::is_null) => {
                let n = id.as_u128() % 100_000;
                row.insert(
                    "ordernumber".into(),
                    Value::String(format!("ORD-{n:05}-{}", &id.simple().to_string()[..6].to_uppercase())),
                );
            }
            "incident" if row.get("ticketnumber").is_none_or(Value::is_null) => {
                let n = id.as_u128() % 100_000;
                row.insert(
                    "ticketnumber".into(),
                    Value::String(format!("CAS-{n:05}-{}", &id.simple().to_string()[..6].to_uppercase())),
                );
            }
            _ => {}
        }
    }
    row.insert("modifiedon".into(), Value::String(stamp));
    row.insert(def.primary_id.to_owned(), Value::String(id.to_string()));
    if matches!(def.logical, "contact" | "lead") {
        let name = [row.get("firstname"), row.get("lastname")]
            .iter()
            .filter_map(|v| v.and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        row.insert("fullname".into(), Value::String(name));
    }
    if matches!(def.logical, "contact" | "account") {
        for prefix in ["address1", "address2"] {
            let key = format!("{prefix}_composite");
            match composite(row, prefix) {
                Some(text) => row.insert(key, Value::String(text)),
                None => row.remove(&key),
            };
        }
    }
}

fn check_required(def: &EntityDef, row: &Row) -> Result<()> {
    for column in def.required {
        let present = [column.to_string(), format!("_{column}_value")]
            .iter()
            .any(|c| row.get(c).is_some_and(|v| !v.is_null() && v.as_str() != Some("")));
        if !present {
            return Err(ApiError::new(
                400,
                INVALID_ARGUMENT,
                format!("Attribute '{column}' of entity '{}' is required and cannot be null.", def.logical),
            ));
        }
    }
    Ok(())
}

/// Creates a row with `id` from `body` (plus key columns from the URL).
fn insert_new(
    ctx: &Ctx<'_>,
    txn: &mut Txn<'_>,
    def: &'static EntityDef,
    id: Uuid,
    body: &Map<String, Value>,
    key_columns: &[(String, Value)],
) -> Result<()> {
    // Deep insert: related rows given inline are created with the row (single-valued
    // navigation properties first, so they can be bound; collections after).
    let mut body = body.clone();
    let mut children = Vec::new();
    for (name, value) in body.clone() {
        match value {
            Value::Object(related) if def.lookup(&name).is_some() => {
                let lookup = def.lookup(&name).ok_or_else(|| ApiError::resource_not_found(&name))?;
                let target =
                    schema::by_set(lookup.target).ok_or_else(|| ApiError::resource_not_found(lookup.target))?;
                let related_id = Uuid::new_v4();
                insert_new(ctx, txn, target, related_id, &related, &[])?;
                body.remove(&name);
                body.insert(format!("{name}@odata.bind"), Value::String(format!("/{}({related_id})", target.set)));
            }
            Value::Array(items) if def.collection(&name).is_some() => {
                let many = def.collection(&name).ok_or_else(|| ApiError::resource_not_found(&name))?;
                let target = schema::by_set(many.target).ok_or_else(|| ApiError::resource_not_found(many.target))?;
                let back =
                    target.lookups.iter().find(|l| l.attribute == many.attribute && l.target == def.set).ok_or_else(
                        || ApiError::bad_request(format!("Deep insert through '{name}' is not supported.")),
                    )?;
                for item in items {
                    let Value::Object(child) = item else {
                        return Err(ApiError::bad_request(format!("The items of '{name}' must be JSON objects.")));
                    };
                    children.push((target, back.nav, child));
                }
                body.remove(&name);
            }
            _ => {}
        }
    }
    let mut row = Row::new();
    for (column, value) in key_columns {
        row.insert(column.clone(), value.clone());
        // A key on a lookup column (`_x_value`) sets the lookup.
        let lookup =
            column.strip_prefix('_').and_then(|c| c.strip_suffix("_value")).and_then(|a| def.lookup_by_attribute(a));
        if let Some(target) = lookup.and_then(|l| schema::by_set(l.target)) {
            row.insert(
                format!("{column}@Microsoft.Dynamics.CRM.lookuplogicalname"),
                Value::String(target.logical.into()),
            );
        }
    }
    let target = apply_body(ctx, txn, def, &body, &mut row, true)?;
    apply_state(def, id, &body, &mut row, None)?;
    computed(def, id, &mut row, true);
    check_required(def, &row)?;
    txn.put(def, id, row, target)?;
    for (child_def, nav, mut child) in children {
        child.insert(format!("{nav}@odata.bind"), Value::String(format!("/{}({id})", def.set)));
        insert_new(ctx, txn, child_def, Uuid::new_v4(), &child, &[])?;
    }
    Ok(())
}

fn created_response(
    ctx: &Ctx<'_>,
    txn: &Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    id: Uuid,
    status: u16,
) -> Result<ApiResponse> {
    let url = entity_url(ctx, def, id);
    if req.prefers("return=representation") {
        let options = odata::parse_query(&req.query)?;
        let mut body = render_full(txn, def, id, &options, req.annotations())?;
        body.insert(
            "@odata.context".into(),
            Value::String(format!("{}/$entity", odata::context(ctx.base, def.set, select_of(&options)))),
        );
        let etag = txn.get(def.set, id).map(|s| s.etag()).unwrap_or_default();
        return Ok(ApiResponse::json(status, &Value::Object(body))
            .with("Preference-Applied", "return=representation")
            .with("ETag", etag));
    }
    Ok(ApiResponse::no_content().with("Location", url.clone()).with("OData-EntityId", url))
}

fn create(ctx: &Ctx<'_>, txn: &mut Txn<'_>, req: &ApiRequest, def: &'static EntityDef) -> Result<ApiResponse> {
    let body = parse_body(req)?;
    let id = match body.get(def.primary_id) {
        Some(Value::String(s)) => Uuid::parse_str(s)
            .map_err(|_| ApiError::bad_request(format!("'{}' must be a GUID, got '{s}'.", def.primary_id)))?,
        Some(_) => return Err(ApiError::bad_request(format!("'{}' must be a GUID string.", def.primary_id))),
        None => Uuid::new_v4(),
    };
    if txn.get(def.set, id).is_some() {
        return Err(ApiError::new(412, super::errors::DUPLICATE_RECORD, "Cannot insert duplicate key."));
    }
    insert_new(ctx, txn, def, id, &body, &[])?;
    created_response(ctx, txn, req, def, id, 201)
}

fn check_if_match(req: &ApiRequest, etag: &str) -> Result<()> {
    match req.header("if-match").map(str::trim) {
        None | Some("*") => Ok(()),
        Some(tag) if tag == etag => Ok(()),
        Some(_) => Err(ApiError::new(
            412,
            "",
            "The version of the existing record doesn't match the RowVersion property provided.",
        )),
    }
}

fn upsert(
    ctx: &Ctx<'_>,
    txn: &mut Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    key: &Key,
) -> Result<ApiResponse> {
    let body = parse_body(req)?;
    match find(txn, def, key)? {
        Some(id) => {
            if req.header("if-none-match").map(str::trim) == Some("*") {
                return Err(ApiError::new(412, "", "A record with matching key values already exists."));
            }
            let stored = txn.get(def.set, id).ok_or_else(|| ApiError::not_found(def.logical, id))?;
            check_if_match(req, &stored.etag())?;
            let mut row = stored.row.clone();
            let previous_state = row.get("statecode").and_then(Value::as_i64);
            refuse_if_read_only(def, id, previous_state)?;
            let target = apply_body(ctx, txn, def, &body, &mut row, false)?;
            apply_state(def, id, &body, &mut row, previous_state)?;
            computed(def, id, &mut row, false);
            let mut target = target;
            target.insert(def.primary_id.to_owned(), Value::String(id.to_string()));
            txn.put(def, id, row, target)?;
            if req.prefers("return=representation") {
                return created_response(ctx, txn, req, def, id, 200);
            }
            let url = entity_url(ctx, def, id);
            Ok(ApiResponse::no_content().with("OData-EntityId", url))
        }
        None => {
            if req.header("if-match").is_some() {
                return Err(missing(def, key));
            }
            let (id, key_columns) = match key {
                Key::Id(id) => (*id, Vec::new()),
                Key::Alternate(pairs) => (Uuid::new_v4(), pairs.clone()),
            };
            insert_new(ctx, txn, def, id, &body, &key_columns)?;
            created_response(ctx, txn, req, def, id, 201)
        }
    }
}

fn delete(txn: &mut Txn<'_>, req: &ApiRequest, def: &'static EntityDef, key: &Key) -> Result<ApiResponse> {
    let id = find(txn, def, key)?.ok_or_else(|| missing(def, key))?;
    if let Some(stored) = txn.get(def.set, id) {
        check_if_match(req, &stored.etag())?;
    }
    // Order lines go with their order (cascade delete).
    if def.logical == "salesorder"
        && let Some(lines) = schema::by_logical("salesorderdetail")
    {
        for line in related_rows(txn, lines, "salesorderid", id, None, &[]) {
            txn.remove(lines, line);
        }
    }
    txn.remove(def, id);
    Ok(ApiResponse::no_content())
}

/// Fulfilled, canceled and invoiced orders are read-only in Dataverse: an update is refused.
/// (DYNAMICS.md is silent on the answer; the message is the one Dynamics shows for the sales
/// entities' read-only states.)
fn refuse_if_read_only(def: &EntityDef, id: Uuid, state: Option<i64>) -> Result<()> {
    if def.logical != "salesorder" {
        return Ok(());
    }
    match state.and_then(|code| def.state(code)) {
        Some(s) if matches!(s.code, 2..=4) => Err(ApiError::new(
            400,
            INVALID_ARGUMENT,
            format!("Cannot Update a Read-Only Entity: salesorder With Id = {id} is {}.", s.label),
        )),
        _ => Ok(()),
    }
}

/// FulfillSalesOrder, CancelSalesOrder, CloseIncident: the messages Dataverse requires for
/// these state changes (an Update is refused, see `apply_state`).
fn action(ctx: &Ctx<'_>, txn: &mut Txn<'_>, req: &ApiRequest, name: &str) -> Result<ApiResponse> {
    let body = parse_body(req)?;
    let (activity_param, activity_set, parent_nav, parent_set, state_code) = match name {
        "FulfillSalesOrder" => ("OrderClose", "orderclosures", "salesorderid", "salesorders", 3),
        "CancelSalesOrder" => ("OrderClose", "orderclosures", "salesorderid", "salesorders", 2),
        "CloseIncident" => ("IncidentResolution", "incidentresolutions", "incidentid", "incidents", 1),
        other => return Err(ApiError::resource_not_found(other)),
    };
    let Some(Value::Object(activity)) = body.get(activity_param) else {
        return Err(ApiError::bad_request(format!("{name} requires the parameter '{activity_param}'.")));
    };
    let bind = activity.get(&format!("{parent_nav}@odata.bind")).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request(format!("{activity_param} must bind '{parent_nav}@odata.bind' to the record to close."))
    })?;
    let (parent, parent_id) = resolve_bind(ctx, txn, bind)?;
    if parent.set != parent_set {
        return Err(ApiError::bad_request(format!("{name} applies to {parent_set}, not {}.", parent.set)));
    }
    // A closed order (or resolved case) cannot be closed again: the second FulfillSalesOrder
    // of a retry is refused, not applied twice.
    let current = txn.get(parent.set, parent_id).and_then(|r| r.row.get("statecode").and_then(Value::as_i64));
    if current.is_some_and(|code| code != 0 && !(parent.logical == "salesorder" && code == 1)) {
        return Err(ApiError::new(400, INVALID_STATE_TRANSITION, INVALID_STATE_TRANSITION_MESSAGE));
    }
    let state = parent.state(state_code).ok_or_else(|| ApiError::bad_request("unknown state"))?;
    let status = match body.get("Status").and_then(Value::as_i64) {
        None | Some(-1) => state.default_status,
        Some(s) => s,
    };
    if !state.statuses.contains(&status) {
        return Err(ApiError::bad_request(format!(
            "{status} is not a valid status code for state code {}State.{} on {} with Id {parent_id}.",
            parent.schema, state.label, parent.logical
        )));
    }
    let activity_def = schema::by_set(activity_set).ok_or_else(|| ApiError::resource_not_found(activity_set))?;
    insert_new(ctx, txn, activity_def, Uuid::new_v4(), activity, &[])?;
    let stored = txn.get(parent.set, parent_id).ok_or_else(|| ApiError::not_found(parent.logical, parent_id))?;
    let mut row = stored.row.clone();
    row.insert("statecode".into(), Value::from(state.code));
    row.insert("statuscode".into(), Value::from(status));
    if name == "FulfillSalesOrder" {
        row.insert("datefulfilled".into(), Value::String(now()));
    }
    computed(parent, parent_id, &mut row, false);
    let target: Row =
        [("statecode".to_owned(), Value::from(state.code)), ("statuscode".to_owned(), Value::from(status))]
            .into_iter()
            .collect();
    txn.put(parent, parent_id, row, target)?;
    Ok(ApiResponse::no_content())
}

const TOKEN_SET: &percent_encoding::AsciiSet = NON_ALPHANUMERIC;

fn delta_link(ctx: &Ctx<'_>, def: &EntityDef, options: &QueryOptions, version: u64) -> String {
    let stamp = Timestamp::now().strftime("%m/%d/%Y %H:%M:%S").to_string();
    let token = utf8_percent_encode(&format!("{version}!{stamp}"), TOKEN_SET).to_string().to_lowercase();
    let mut parts: Vec<String> = options.raw.clone();
    parts.push(format!("$deltatoken={token}"));
    format!("{}/{}?{}", ctx.base, def.set, parts.join("&"))
}

/// Change tracking: the first call returns the rows and a delta link; the delta link returns
/// what changed since, deleted rows as `$deletedEntity`.
fn track_changes(
    ctx: &Ctx<'_>,
    txn: &Txn<'_>,
    req: &ApiRequest,
    def: &'static EntityDef,
    options: &QueryOptions,
) -> Result<ApiResponse> {
    for (present, option) in [
        (options.filter.is_some(), "$filter"),
        (!options.orderby.is_empty(), "$orderby"),
        (!options.expand.is_empty(), "$expand"),
        (options.top.is_some(), "$top"),
    ] {
        if present {
            return Err(ApiError::bad_request(format!(
                "The \"{option}\" query parameter isn't supported when Change Tracking is enabled."
            )));
        }
    }
    let table = txn.table(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
    // An initial sync spanning pages keeps the version it started at, so changes made
    // while it pages are in the first delta.
    let started = options.skiptoken.as_deref().map(odata::parse_cookie).transpose()?.and_then(|c| c.tracking_version);
    let version = started.unwrap_or_else(|| txn_version(txn));
    let select = select_of(options);
    let mut body = Map::new();
    let mut value = Vec::new();
    match &options.deltatoken {
        None => {
            let page = odata::page(table, options, req.max_page_size(), Some(version))?;
            for (_, stored) in &page.rows {
                value.push(Value::Object(odata::render(def, stored, select, false)));
            }
            body.insert("@odata.context".into(), Value::String(odata::context(ctx.base, def.set, select)));
            match page.next {
                Some(token) => {
                    let mut parts = options.raw.clone();
                    parts.push(format!("$skiptoken={token}"));
                    body.insert(
                        "@odata.nextLink".into(),
                        Value::String(format!("{}/{}?{}", ctx.base, def.set, parts.join("&"))),
                    );
                }
                None => {
                    body.insert("@odata.deltaLink".into(), Value::String(delta_link(ctx, def, options, version)));
                }
            }
        }
        Some(token) => {
            let since: u64 = token.split('!').next().and_then(|n| n.trim().parse().ok()).ok_or_else(|| {
                ApiError::bad_request("Invalid $deltatoken: pass back the @odata.deltaLink unchanged.")
            })?;
            let mut latest: Vec<(Uuid, bool)> = Vec::new();
            let mut seen = HashMap::new();
            for (seq, id, deleted) in table.changes.iter().rev() {
                if *seq <= since {
                    break;
                }
                if seen.insert(*id, *deleted).is_none() {
                    latest.push((*id, *deleted));
                }
            }
            latest.reverse();
            // New and updated rows first, then deletions (as the platform returns them).
            for (id, _) in latest.iter().filter(|(_, d)| !d) {
                if let Some(stored) = table.rows.get(id) {
                    value.push(Value::Object(odata::render(def, stored, select, false)));
                }
            }
            for (id, _) in latest.iter().filter(|(id, d)| *d && !table.rows.contains_key(id)) {
                value.push(json!({
                    "@odata.context": format!("{}/$metadata#{}/$deletedEntity", ctx.base, def.set),
                    "id": id.to_string(),
                    "reason": "deleted",
                }));
            }
            body.insert(
                "@odata.context".into(),
                Value::String(format!("{}/$delta", odata::context(ctx.base, def.set, select))),
            );
            body.insert("@odata.deltaLink".into(), Value::String(delta_link(ctx, def, options, version)));
        }
    }
    body.insert("value".into(), Value::Array(value));
    Ok(ApiResponse::json(200, &Value::Object(body)).with("Preference-Applied", "odata.track-changes"))
}

fn txn_version(txn: &Txn<'_>) -> u64 {
    txn.store_version()
}
