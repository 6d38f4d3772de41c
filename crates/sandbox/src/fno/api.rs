//! One request against the store: the OData routes of `/data/` (DYNAMICS.md §B.1–B.2) with
//! F&O's company scoping: without `cross-company=true` a caller sees and addresses only its
//! default company's rows (another company's row by key is not found, as users report,
//! DYNAMICS.md §E.9); a create may name another company in `dataAreaId`.

use serde_json::{Map, Value, json};

use super::errors::FnoError;
use super::methods::{self, Ctx};
use super::odata::{self, Expand, QueryOptions, Resource};
use super::schema::{self, EntityDef, Kind};
use super::seed::Setup;
use super::store::{Row, RowKey, Store, Stored};
use crate::dataverse::filter;

/// A request, after the `/data/` prefix.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: &Value) -> Self {
        Response {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json; odata.metadata=minimal".into()),
                ("OData-Version".into(), "4.0".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn empty(status: u16) -> Self {
        Response { status, headers: vec![("OData-Version".into(), "4.0".into())], body: Vec::new() }
    }

    pub fn error(e: &FnoError) -> Self {
        let mut headers = vec![("Content-Type".into(), "application/json; charset=utf-8".into())];
        if let Some(seconds) = e.retry_after {
            headers.push(("Retry-After".into(), seconds.to_string()));
        }
        Response { status: e.status, headers, body: e.body() }
    }
}

/// What a request runs with.
pub struct Env<'a> {
    /// `scheme://host/data`
    pub base: &'a str,
    pub setup: &'a Setup,
    pub ctx: Ctx,
    /// Rows per page (F&O: at most 10,000).
    pub page_size: usize,
}

/// The key segment of a row's URL: `dataAreaId='usmf',SalesOrderNumber='SO-1'`.
pub fn key_segment(def: &EntityDef, key: &RowKey) -> String {
    def.keys
        .iter()
        .zip(key)
        .map(|(k, v)| match def.property(k).map(|p| &p.kind) {
            Some(Kind::Decimal | Kind::Int32 | Kind::Int64) => format!("{k}={v}"),
            _ => format!("{k}='{}'", v.replace('\'', "''")),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn company_of(row: &Row) -> &str {
    row.get("dataAreaId").and_then(Value::as_str).unwrap_or_default()
}

fn visible(row: &Row, options: &QueryOptions, ctx: &Ctx) -> bool {
    options.cross_company || company_of(row).eq_ignore_ascii_case(&ctx.company)
}

fn etag(stored: &Stored) -> String {
    format!("W/\"{}\"", stored.version)
}

fn render(stored: &Stored, select: Option<&[String]>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@odata.etag".into(), Value::String(etag(stored)));
    match select {
        Some(fields) => {
            for f in fields {
                out.insert(f.clone(), stored.row.get(f).cloned().unwrap_or(Value::Null));
            }
        }
        None => out.extend(stored.row.iter().map(|(k, v)| (k.clone(), v.clone()))),
    }
    out
}

/// The rows a navigation property leads to.
fn related<'s>(store: &'s Store, def: &EntityDef, row: &Row, expand: &Expand) -> (bool, Vec<&'s Stored>) {
    let Some((_, target, many)) = def.navigation().find(|(name, ..)| *name == expand.navigation) else {
        return (false, Vec::new());
    };
    // The header's own number field joins the two (`SalesOrderNumber`, …).
    let header = if many { def } else { schema::by_set(target).unwrap_or(def) };
    let join = header.keys.get(1).cloned().unwrap_or_default();
    let (company, number) = (company_of(row), row.get(&join).and_then(Value::as_str).unwrap_or_default());
    let rows = store
        .rows(target)
        .filter(|s| company_of(&s.row) == company && s.row.get(&join).and_then(Value::as_str) == Some(number))
        .collect();
    (many, rows)
}

fn render_full(store: &Store, def: &EntityDef, stored: &Stored, options: &QueryOptions) -> Map<String, Value> {
    let mut out = render(stored, options.select.as_deref());
    for expand in &options.expand {
        let (many, rows) = related(store, def, &stored.row, expand);
        let rendered: Vec<Value> = rows.iter().map(|s| Value::Object(render(s, expand.select.as_deref()))).collect();
        let value = if many { Value::Array(rendered) } else { rendered.into_iter().next().unwrap_or(Value::Null) };
        out.insert(expand.navigation.clone(), value);
    }
    out
}

fn check_expand_selects(options: &QueryOptions, def: &EntityDef) -> Result<(), FnoError> {
    for expand in &options.expand {
        if let (Some(fields), Some((_, target, _))) =
            (&expand.select, def.navigation().find(|(name, ..)| *name == expand.navigation))
            && let Some(target) = schema::by_set(target)
        {
            for f in fields {
                odata::check_property(target, f)?;
            }
        }
    }
    Ok(())
}

fn max_page_size(req: &Request, env: &Env<'_>) -> usize {
    let preferred = req.header("prefer").and_then(|p| {
        p.split(',').find_map(|item| item.trim().strip_prefix("odata.maxpagesize=")?.trim().parse::<usize>().ok())
    });
    preferred.map_or(env.page_size, |p| p.clamp(1, env.page_size)).max(1)
}

fn query(env: &Env<'_>, store: &Store, req: &Request, def: &'static EntityDef) -> Result<Response, FnoError> {
    let options = odata::parse_query(def, &req.query)?;
    check_expand_selects(&options, def)?;
    let mut rows: Vec<&Stored> = store
        .rows(&def.set)
        .filter(|s| visible(&s.row, &options, &env.ctx))
        .filter(|s| options.filter.as_ref().is_none_or(|f| filter::matches(f, &s.row)))
        .collect();
    if !options.orderby.is_empty() {
        rows.sort_by(|a, b| odata::compare_rows(&a.row, &b.row, &options.orderby));
    }
    let total = rows.len();
    let page_size = max_page_size(req, env);
    let wanted = options.top.unwrap_or(usize::MAX);
    let page: Vec<&Stored> = rows.iter().skip(options.skip).take(wanted.min(page_size)).copied().collect();
    let served_to = options.skip + page.len();
    let more = served_to < total && wanted > page.len();
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(format!("{}/$metadata#{}", env.base, def.set)));
    if options.count {
        body.insert("@odata.count".into(), Value::from(total));
    }
    body.insert(
        "value".into(),
        Value::Array(page.iter().map(|s| Value::Object(render_full(store, def, s, &options))).collect()),
    );
    if more {
        let next_top = options.top.map(|t| t - page.len());
        let qs = odata::next_query(&req.query, served_to, next_top);
        body.insert("@odata.nextLink".into(), Value::String(format!("{}/{}?{qs}", env.base, def.set)));
    }
    Ok(Response::json(200, &Value::Object(body)))
}

fn scoped<'s>(
    env: &Env<'_>,
    store: &'s Store,
    def: &EntityDef,
    key: &RowKey,
    options: &QueryOptions,
) -> Result<&'s Stored, FnoError> {
    store.get(&def.set, key).filter(|s| visible(&s.row, options, &env.ctx)).ok_or_else(|| methods::not_found(def, key))
}

fn body_object(req: &Request) -> Result<Map<String, Value>, FnoError> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FnoError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(FnoError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

fn check_if_match(req: &Request, stored: &Stored) -> Result<(), FnoError> {
    match req.header("if-match").map(str::trim) {
        None | Some("*") => Ok(()),
        Some(tag) if tag == etag(stored) => Ok(()),
        Some(_) => Err(FnoError::new(
            412,
            super::errors::ODATA_EXCEPTION,
            "The record has been changed since it was read (the If-Match ETag does not match).",
        )),
    }
}

/// Runs one request; `$batch` and `$metadata` are answered by the caller.
pub fn execute(env: &Env<'_>, store: &mut Store, req: &Request) -> Result<Response, FnoError> {
    let resource = odata::parse_resource(&req.path)?;
    match (req.method.as_str(), resource) {
        ("GET", Resource::ServiceDocument) => {
            let sets: Vec<Value> = schema::schema()
                .entities
                .iter()
                .map(|e| json!({"name": e.set, "kind": "EntitySet", "url": e.set}))
                .collect();
            Ok(Response::json(200, &json!({"@odata.context": format!("{}/$metadata", env.base), "value": sets})))
        }
        ("GET", Resource::Collection(def)) => query(env, store, req, def),
        ("GET", Resource::Count(def)) => {
            let options = odata::parse_query(def, &req.query)?;
            let n = store
                .rows(&def.set)
                .filter(|s| visible(&s.row, &options, &env.ctx))
                .filter(|s| options.filter.as_ref().is_none_or(|f| filter::matches(f, &s.row)))
                .count();
            Ok(Response {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: n.to_string().into_bytes(),
            })
        }
        ("GET", Resource::Entity(def, key)) => {
            let options = odata::parse_query(def, &req.query)?;
            check_expand_selects(&options, def)?;
            let stored = scoped(env, store, def, &key, &options)?;
            let mut body = render_full(store, def, stored, &options);
            body.insert("@odata.context".into(), Value::String(format!("{}/$metadata#{}/$entity", env.base, def.set)));
            Ok(Response::json(200, &Value::Object(body)))
        }
        ("POST", Resource::Collection(def)) => {
            let body = body_object(req)?;
            let row = methods::create(store, env.setup, def, body, &env.ctx)?;
            let key = super::store::key_of(def, &row).unwrap_or_default();
            let location = format!("{}/{}({})", env.base, def.set, key_segment(def, &key));
            let stored = store.get(&def.set, &key).cloned().unwrap_or(Stored { row, version: 0 });
            let minimal = req.header("prefer").is_some_and(|p| p.contains("return=minimal"));
            let mut response = if minimal {
                Response::empty(204)
            } else {
                let mut body = render(&stored, None);
                body.insert(
                    "@odata.context".into(),
                    Value::String(format!("{}/$metadata#{}/$entity", env.base, def.set)),
                );
                Response::json(201, &Value::Object(body))
            };
            response.headers.push(("Location".into(), location.clone()));
            response.headers.push(("OData-EntityId".into(), location));
            response.headers.push(("ETag".into(), etag(&stored)));
            Ok(response)
        }
        ("PATCH" | "PUT" | "MERGE", Resource::Entity(def, key)) => {
            let options = odata::parse_query(def, &req.query)?;
            let stored = scoped(env, store, def, &key, &options)?;
            check_if_match(req, stored)?;
            let body = body_object(req)?;
            methods::update(store, env.setup, def, &key, body, &env.ctx)?;
            Ok(Response::empty(204))
        }
        ("DELETE", Resource::Entity(def, key)) => {
            let options = odata::parse_query(def, &req.query)?;
            let stored = scoped(env, store, def, &key, &options)?;
            check_if_match(req, stored)?;
            methods::delete(store, def, &key)?;
            Ok(Response::empty(204))
        }
        ("PATCH" | "PUT" | "DELETE", Resource::Collection(def)) => Err(FnoError::bad_request(format!(
            "More than one resource was found for the {} request on '{}': a key is required.",
            req.method, def.set
        ))),
        (method, _) => Err(FnoError::new(
            405,
            super::errors::ODATA_EXCEPTION,
            format!("The HTTP method '{method}' is not allowed on this resource."),
        )),
    }
}
