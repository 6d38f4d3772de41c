//! Building Web API URLs: query options (`$select $filter $expand $orderby $top $count`), a
//! typed `$filter` builder with correct literal quoting, and record keys (primary GUID or
//! alternate key, `salesorders(ordernumber='A''1')`).

use std::fmt;

use ferry_model::{DataverseId, Decimal, Timestamp};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use thiserror::Error;

/// Characters escaped in a query option value or key (space, quotes stay readable).
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b';');

pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, QUERY).to_string()
}

/// A literal in a filter or key.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    String(String),
    Guid(DataverseId),
    Date(jiff::civil::Date),
    Timestamp(Timestamp),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Decimal(d) => write!(f, "{}", d.normalize()),
            // OData doubles a quote inside a string literal.
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Guid(g) => write!(f, "{g}"),
            Literal::Date(d) => write!(f, "{d}"),
            Literal::Timestamp(t) => write!(f, "{}", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::String(v.to_owned())
    }
}
impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::String(v)
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<bool> for Literal {
    fn from(v: bool) -> Self {
        Literal::Bool(v)
    }
}
impl From<DataverseId> for Literal {
    fn from(v: DataverseId) -> Self {
        Literal::Guid(v)
    }
}
impl From<Decimal> for Literal {
    fn from(v: Decimal) -> Self {
        Literal::Decimal(v)
    }
}
impl From<Timestamp> for Literal {
    fn from(v: Timestamp) -> Self {
        Literal::Timestamp(v)
    }
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(String);

impl Filter {
    fn cmp(column: &str, op: &str, value: impl Into<Literal>) -> Self {
        Filter(format!("{column} {op} {}", value.into()))
    }
    pub fn eq(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "eq", value)
    }
    pub fn ne(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "ne", value)
    }
    pub fn gt(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "gt", value)
    }
    pub fn ge(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "ge", value)
    }
    pub fn lt(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "lt", value)
    }
    pub fn le(column: &str, value: impl Into<Literal>) -> Self {
        Self::cmp(column, "le", value)
    }
    pub fn is_null(column: &str) -> Self {
        Self::cmp(column, "eq", Literal::Null)
    }
    pub fn contains(column: &str, text: &str) -> Self {
        Filter(format!("contains({column},{})", Literal::from(text)))
    }
    pub fn starts_with(column: &str, text: &str) -> Self {
        Filter(format!("startswith({column},{})", Literal::from(text)))
    }
    pub fn ends_with(column: &str, text: &str) -> Self {
        Filter(format!("endswith({column},{})", Literal::from(text)))
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

/// Query options of a collection or row request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    select: Vec<String>,
    filter: Option<Filter>,
    expand: Vec<String>,
    orderby: Vec<String>,
    top: Option<u32>,
    count: bool,
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }
    /// Columns to return (always recommended: otherwise every column comes back).
    pub fn select<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.select = columns.iter().map(|c| c.as_ref().to_owned()).collect();
        self
    }
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }
    /// One level of `$expand` with the related columns to return.
    pub fn expand<S: AsRef<str>>(mut self, navigation: &str, columns: &[S]) -> Self {
        let cols: Vec<&str> = columns.iter().map(AsRef::as_ref).collect();
        self.expand.push(if cols.is_empty() {
            navigation.to_owned()
        } else {
            format!("{navigation}($select={})", cols.join(","))
        });
        self
    }
    pub fn order_by(mut self, column: &str, descending: bool) -> Self {
        self.orderby.push(if descending { format!("{column} desc") } else { format!("{column} asc") });
        self
    }
    /// Don't combine with paging (`odata.maxpagesize`).
    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }
    /// Adds `@odata.count` (capped at 5000 by the platform).
    pub fn count(mut self) -> Self {
        self.count = true;
        self
    }

    /// The encoded query string, without `?` (empty when no option is set).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if !self.select.is_empty() {
            parts.push(format!("$select={}", encode(&self.select.join(","))));
        }
        if let Some(filter) = &self.filter {
            parts.push(format!("$filter={}", encode(filter.as_str())));
        }
        if !self.expand.is_empty() {
            parts.push(format!("$expand={}", encode(&self.expand.join(","))));
        }
        if !self.orderby.is_empty() {
            parts.push(format!("$orderby={}", encode(&self.orderby.join(","))));
        }
        if let Some(top) = self.top {
            parts.push(format!("$top={top}"));
        }
        if self.count {
            parts.push("$count=true".into());
        }
        parts.join("&")
    }
}

/// A key that cannot address a row.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("alternate key '{column}' has no value")]
    Empty { column: String },
    #[error(
        "alternate key '{column}' contains '{character}', which Dataverse alternate keys do not support (/ < > * % & : \\ ? +)"
    )]
    Unsupported { column: String, character: char },
    #[error("an alternate key needs at least one column")]
    NoColumns,
}

/// How a row is addressed.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordKey {
    Id(DataverseId),
    /// Columns of an alternate key with their values (lookup columns as `_x_value`).
    Alternate(Vec<(String, Literal)>),
}

impl RecordKey {
    /// A single-column alternate key with a string value.
    pub fn alternate(column: &str, value: impl Into<Literal>) -> Self {
        RecordKey::Alternate(vec![(column.to_owned(), value.into())])
    }

    /// The `(…)` part of the URL, checked and encoded.
    pub fn segment(&self) -> Result<String, KeyError> {
        match self {
            RecordKey::Id(id) => Ok(format!("({id})")),
            RecordKey::Alternate(parts) => {
                if parts.is_empty() {
                    return Err(KeyError::NoColumns);
                }
                let mut out = Vec::new();
                for (column, value) in parts {
                    if let Literal::String(s) = value {
                        if s.is_empty() {
                            return Err(KeyError::Empty { column: column.clone() });
                        }
                        if let Some(character) = s.chars().find(|c| "/<>*%&:\\?+".contains(*c)) {
                            return Err(KeyError::Unsupported { column: column.clone(), character });
                        }
                    }
                    out.push(format!("{column}={}", encode(&value.to_string())));
                }
                Ok(format!("({})", out.join(",")))
            }
        }
    }

    /// `salesorders(ordernumber='X')`
    pub fn path(&self, entity_set: &str) -> Result<String, KeyError> {
        Ok(format!("{entity_set}{}", self.segment()?))
    }
}

/// The reference to bind a lookup: `/accounts(<guid>)`.
pub fn bind(entity_set: &str, id: DataverseId) -> String {
    format!("/{entity_set}({id})")
}
