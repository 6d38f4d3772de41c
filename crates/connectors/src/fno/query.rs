//! Queries and keys in F&O's dialect (DYNAMICS.md §B.2): a `$filter` builder that doubles
//! quotes in string literals, writes enums as `Microsoft.Dynamics.DataEntities.Type'Member'`
//! and "contains" as wildcard equality (`eq '*x*'`, F&O has no string functions), never
//! `in` or `has`; composite keys that always start with `dataAreaId`; first-level `$expand`
//! only; `cross-company=true` when the connection's company is not the default one.
//!
//! F&O has no escape for `*` in a string literal: a value containing `*` matches as a
//! wildcard. [`Filter::eq`] refuses such a value ([`QueryError::Wildcard`]) so an exact
//! lookup cannot silently widen.

use ferry_model::Decimal;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use thiserror::Error;

use super::models::DataAreaId;

/// The namespace of enum literals.
pub const ENUM_NAMESPACE: &str = "Microsoft.Dynamics.DataEntities";

/// A filter or key that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("the value for {field} contains '*', which F&O reads as a wildcard (there is no escape)")]
    Wildcard { field: String },
    #[error("a key needs at least one field besides dataAreaId")]
    EmptyKey,
    #[error("{field} must equal one of no values: such a filter matches nothing, so it is not sent")]
    NoValues { field: String },
}

/// A literal in a filter or key.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(Decimal),
    Integer(i64),
    /// An enum member: type name (without the namespace) and member.
    Enum {
        type_name: String,
        member: String,
    },
    /// A `DateTimeOffset`, written in UTC.
    DateTime(jiff::Timestamp),
    Null,
}

impl Literal {
    /// `Microsoft.Dynamics.DataEntities.<type_name>'<member>'`
    pub fn enumeration(type_name: &str, member: &str) -> Self {
        Literal::Enum { type_name: type_name.to_owned(), member: member.to_owned() }
    }

    /// The literal as written in a URL (before percent-encoding).
    pub fn render(&self) -> String {
        match self {
            Literal::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Literal::Number(d) => d.normalize().to_string(),
            Literal::Integer(i) => i.to_string(),
            Literal::Enum { type_name, member } => {
                format!("{ENUM_NAMESPACE}.{type_name}'{}'", member.replace('\'', "''"))
            }
            Literal::DateTime(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Literal::Null => "null".into(),
        }
    }
}

impl From<&str> for Literal {
    fn from(value: &str) -> Self {
        Literal::Text(value.to_owned())
    }
}

impl From<String> for Literal {
    fn from(value: String) -> Self {
        Literal::Text(value)
    }
}

impl From<Decimal> for Literal {
    fn from(value: Decimal) -> Self {
        Literal::Number(value)
    }
}

impl From<i64> for Literal {
    fn from(value: i64) -> Self {
        Literal::Integer(value)
    }
}

impl From<jiff::Timestamp> for Literal {
    fn from(value: jiff::Timestamp) -> Self {
        Literal::DateTime(value)
    }
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(String);

impl Filter {
    pub(crate) fn compare(field: &str, op: &str, value: Literal) -> Self {
        Filter(format!("{field} {op} {}", value.render()))
    }

    /// Exact equality; a text value with `*` is refused (it would match as a wildcard).
    pub fn eq(field: &str, value: impl Into<Literal>) -> Result<Self, QueryError> {
        let value = value.into();
        if matches!(&value, Literal::Text(s) if s.contains('*')) {
            return Err(QueryError::Wildcard { field: field.to_owned() });
        }
        Ok(Self::compare(field, "eq", value))
    }

    pub fn ne(field: &str, value: impl Into<Literal>) -> Result<Self, QueryError> {
        let value = value.into();
        if matches!(&value, Literal::Text(s) if s.contains('*')) {
            return Err(QueryError::Wildcard { field: field.to_owned() });
        }
        Ok(Self::compare(field, "ne", value))
    }

    pub fn gt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, "gt", value.into())
    }

    pub fn ge(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, "ge", value.into())
    }

    pub fn lt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, "lt", value.into())
    }

    pub fn le(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, "le", value.into())
    }

    /// An enum field equal to a member (only `eq`/`ne` work on enums in F&O).
    pub fn enum_eq(field: &str, type_name: &str, member: &str) -> Self {
        Self::compare(field, "eq", Literal::enumeration(type_name, member))
    }

    pub fn enum_ne(field: &str, type_name: &str, member: &str) -> Self {
        Self::compare(field, "ne", Literal::enumeration(type_name, member))
    }

    /// "contains", as F&O implements it: `field eq '*text*'` (`*` in `text` stays a wildcard).
    pub fn contains(field: &str, text: &str) -> Self {
        Self::compare(field, "eq", Literal::Text(format!("*{text}*")))
    }

    pub fn starts_with(field: &str, text: &str) -> Self {
        Self::compare(field, "eq", Literal::Text(format!("{text}*")))
    }

    pub fn ends_with(field: &str, text: &str) -> Self {
        Self::compare(field, "eq", Literal::Text(format!("*{text}")))
    }

    /// One of several values: `(f eq a or f eq b)` (F&O has no `in`).
    pub fn any_of<L: Into<Literal>>(field: &str, values: impl IntoIterator<Item = L>) -> Result<Self, QueryError> {
        let parts: Vec<Filter> = values.into_iter().map(|v| Filter::eq(field, v)).collect::<Result<_, _>>()?;
        if parts.is_empty() {
            return Err(QueryError::NoValues { field: field.to_owned() });
        }
        Ok(Filter(format!("({})", parts.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join(" or "))))
    }

    pub fn and(self, other: Filter) -> Self {
        Filter(format!("({}) and ({})", self.0, other.0))
    }

    pub fn or(self, other: Filter) -> Self {
        Filter(format!("({}) or ({})", self.0, other.0))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Filter(format!("not ({})", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Query options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    select: Vec<String>,
    filter: Option<Filter>,
    expand: Vec<(String, Vec<String>)>,
    orderby: Vec<(String, bool)>,
    top: Option<u32>,
    skip: Option<u32>,
    count: bool,
    cross_company: bool,
}

/// Characters percent-encoded in a query value (everything but unreserved and a few safe
/// OData punctuation marks).
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'=')
    .add(b'\\')
    .add(b'^');

/// Characters percent-encoded in a key segment of a path.
const PATH_KEY: &AsciiSet = &QUERY_VALUE.remove(b'=').add(b'/');

impl Query {
    pub fn new() -> Self {
        Query::default()
    }

    pub fn select<S: AsRef<str>>(mut self, fields: &[S]) -> Self {
        self.select = fields.iter().map(|f| f.as_ref().to_owned()).collect();
        self
    }

    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.and(filter),
            None => filter,
        });
        self
    }

    /// First-level `$expand` of a navigation property with its own `$select`.
    pub fn expand<S: AsRef<str>>(mut self, navigation: &str, fields: &[S]) -> Self {
        self.expand.push((navigation.to_owned(), fields.iter().map(|f| f.as_ref().to_owned()).collect()));
        self
    }

    pub fn order_by(mut self, field: &str, descending: bool) -> Self {
        self.orderby.push((field.to_owned(), descending));
        self
    }

    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }

    pub fn skip(mut self, n: u32) -> Self {
        self.skip = Some(n);
        self
    }

    pub fn count(mut self) -> Self {
        self.count = true;
        self
    }

    /// `cross-company=true`: rows of every company the user may see.
    pub fn cross_company(mut self) -> Self {
        self.cross_company = true;
        self
    }

    pub fn is_cross_company(&self) -> bool {
        self.cross_company
    }

    /// The encoded query string (without `?`).
    pub fn to_query_string(&self) -> String {
        let enc = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
        let mut parts = Vec::new();
        if let Some(filter) = &self.filter {
            parts.push(format!("$filter={}", enc(filter.as_str())));
        }
        if !self.select.is_empty() {
            parts.push(format!("$select={}", enc(&self.select.join(","))));
        }
        if !self.expand.is_empty() {
            let items: Vec<String> = self
                .expand
                .iter()
                .map(
                    |(nav, fields)| {
                        if fields.is_empty() { nav.clone() } else { format!("{nav}($select={})", fields.join(",")) }
                    },
                )
                .collect();
            parts.push(format!("$expand={}", enc(&items.join(","))));
        }
        if !self.orderby.is_empty() {
            let items: Vec<String> =
                self.orderby.iter().map(|(f, d)| if *d { format!("{f} desc") } else { f.clone() }).collect();
            parts.push(format!("$orderby={}", enc(&items.join(","))));
        }
        if let Some(top) = self.top {
            parts.push(format!("$top={top}"));
        }
        if let Some(skip) = self.skip {
            parts.push(format!("$skip={skip}"));
        }
        if self.count {
            parts.push("$count=true".into());
        }
        if self.cross_company {
            parts.push("cross-company=true".into());
        }
        parts.join("&")
    }
}

/// A composite key: `dataAreaId` first, then the entity's other key fields.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityKey {
    company: DataAreaId,
    fields: Vec<(String, Literal)>,
}

impl EntityKey {
    pub fn new(company: &DataAreaId) -> Self {
        EntityKey { company: company.clone(), fields: Vec::new() }
    }

    /// Adds a key field.
    pub fn with(mut self, field: &str, value: impl Into<Literal>) -> Self {
        self.fields.push((field.to_owned(), value.into()));
        self
    }

    pub fn company(&self) -> &DataAreaId {
        &self.company
    }

    /// `dataAreaId='usmf',SalesOrderNumber='SO-1'`, percent-encoded for a path.
    pub fn segment(&self) -> Result<String, QueryError> {
        if self.fields.is_empty() {
            return Err(QueryError::EmptyKey);
        }
        let mut parts = vec![format!("dataAreaId={}", Literal::Text(self.company.as_str().to_owned()).render())];
        parts.extend(self.fields.iter().map(|(f, v)| format!("{f}={}", v.render())));
        Ok(utf8_percent_encode(&parts.join(","), PATH_KEY).to_string())
    }

    /// `Set(dataAreaId='usmf',…)`
    pub fn path(&self, entity_set: &str) -> Result<String, QueryError> {
        Ok(format!("{entity_set}({})", self.segment()?))
    }
}
