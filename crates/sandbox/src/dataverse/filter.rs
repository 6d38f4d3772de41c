//! The `$filter` grammar integrations use (DYNAMICS.md §A.2 "Query options"): comparisons
//! `eq ne gt ge lt le`, `and or not ( )`, `contains startswith endswith`, literals `null`,
//! `true`/`false`, numbers, `'strings'` (`''` escapes a quote), GUIDs and dates. String
//! comparisons are case-insensitive, as in Dataverse.

use std::cmp::Ordering;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { property: String, op: CmpOp, literal: Literal },
    Function { name: StringFn, property: String, literal: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFn {
    Contains,
    StartsWith,
    EndsWith,
}

/// Which service's grammar to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Dataverse,
    /// Dynamics 365 Finance & Operations `/data/`.
    FinOps,
}

/// The namespace of F&O enum literals.
pub const FINOPS_ENUM_PREFIX: &str = "Microsoft.Dynamics.DataEntities.";

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    /// An F&O string literal with `*` wildcards (`eq '*retail*'`).
    Wildcard(String),
    /// An F&O enum literal: its type (without the namespace) and member.
    Enum {
        type_name: String,
        member: String,
    },
    Bool(bool),
    Number(Decimal),
    String(String),
    Guid(uuid::Uuid),
    Date(Timestamp),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, String> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                tokens.push((i, Token::Open));
                i += 1;
            }
            b')' => {
                tokens.push((i, Token::Close));
                i += 1;
            }
            b',' => {
                tokens.push((i, Token::Comma));
                i += 1;
            }
            b'\'' => {
                let start = i;
                i += 1;
                let mut text = String::new();
                loop {
                    let Some(&b) = bytes.get(i) else {
                        return Err(format!("unterminated string literal starting at position {start}"));
                    };
                    if b == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            text.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
                    text.push(ch);
                    i += ch.len_utf8();
                }
                tokens.push((start, Token::Str(text)));
            }
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'(' | b')' | b',' | b'\'') {
                    i += 1;
                }
                if start == i {
                    return Err(format!("unexpected character at position {start}"));
                }
                tokens.push((start, Token::Ident(input[start..i].to_owned())));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    dialect: Dialect,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> String {
        self.tokens.get(self.pos).map_or("the end".to_owned(), |(p, _)| format!("position {p}"))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.next() != Some(Token::Close) {
                return Err(format!("expected ')' at {}", self.at()));
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let at = self.at();
        let Some(Token::Ident(name)) = self.next() else {
            return Err(format!("expected a property or function at {at}"));
        };
        if self.dialect == Dialect::FinOps && matches!(name.as_str(), "contains" | "startswith" | "endswith") {
            return Err(format!(
                "the function '{name}' is not supported; use wildcard equality instead, e.g. Field eq '*text*'"
            ));
        }
        let function = match name.as_str() {
            "contains" => Some(StringFn::Contains),
            "startswith" => Some(StringFn::StartsWith),
            "endswith" => Some(StringFn::EndsWith),
            "any" | "all" => return Err(format!("lambda operator '{name}' is not supported by the sandbox")),
            _ => None,
        };
        if let Some(function) = function {
            if self.next() != Some(Token::Open) {
                return Err(format!("expected '(' after {name}"));
            }
            let Some(Token::Ident(property)) = self.next() else {
                return Err(format!("expected a property as first argument of {name}"));
            };
            if self.next() != Some(Token::Comma) {
                return Err(format!("expected ',' in {name}(...)"));
            }
            let Some(Token::Str(literal)) = self.next() else {
                return Err(format!("expected a string literal as second argument of {name}"));
            };
            if self.next() != Some(Token::Close) {
                return Err(format!("expected ')' closing {name}(...)"));
            }
            return Ok(Expr::Function { name: function, property, literal });
        }
        if name.starts_with("Microsoft.Dynamics.CRM.") || name.starts_with(FINOPS_ENUM_PREFIX) {
            return Err(format!("query function '{name}' is not supported by the sandbox"));
        }
        let at = self.at();
        let op = match self.next() {
            Some(Token::Ident(op)) => match op.as_str() {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "gt" => CmpOp::Gt,
                "ge" => CmpOp::Ge,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                "add" | "sub" | "mul" | "div" | "mod" | "has" | "in" => {
                    return Err(format!("operator '{op}' is not supported"));
                }
                other => return Err(format!("expected a comparison operator at {at}, found '{other}'")),
            },
            _ => return Err(format!("expected a comparison operator at {at}")),
        };
        let at = self.at();
        let literal = match self.next() {
            Some(Token::Str(s)) if self.dialect == Dialect::FinOps && s.contains('*') => Literal::Wildcard(s),
            Some(Token::Str(s)) => Literal::String(s),
            Some(Token::Ident(word)) if self.dialect == Dialect::FinOps && word.starts_with(FINOPS_ENUM_PREFIX) => {
                self.enum_literal(&word, &at)?
            }
            Some(Token::Ident(word)) => parse_literal(&word).ok_or(format!("invalid literal '{word}' at {at}"))?,
            _ => return Err(format!("expected a literal at {at}")),
        };
        if matches!(literal, Literal::Enum { .. }) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(format!("only eq and ne are supported on enum values (property '{name}')"));
        }
        if matches!(literal, Literal::Wildcard(_)) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(format!("wildcards are supported with eq and ne only (property '{name}')"));
        }
        Ok(Expr::Compare { property: name, op, literal })
    }

    /// `Microsoft.Dynamics.DataEntities.Type'Member'`: the identifier and the string right
    /// after it, with nothing between.
    fn enum_literal(&mut self, word: &str, at: &str) -> Result<Literal, String> {
        let type_name = &word[FINOPS_ENUM_PREFIX.len()..];
        let ident_end = self.tokens.get(self.pos - 1).map(|(p, _)| p + word.len());
        match self.tokens.get(self.pos) {
            Some((start, Token::Str(member))) if Some(*start) == ident_end && !type_name.is_empty() => {
                let member = member.clone();
                self.pos += 1;
                Ok(Literal::Enum { type_name: type_name.to_owned(), member })
            }
            _ => Err(format!("invalid enum literal '{word}' at {at}; expected {FINOPS_ENUM_PREFIX}Type'Member'")),
        }
    }
}

fn parse_literal(word: &str) -> Option<Literal> {
    match word {
        "null" => return Some(Literal::Null),
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        _ => {}
    }
    if word.len() == 36
        && let Ok(guid) = uuid::Uuid::parse_str(word)
    {
        return Some(Literal::Guid(guid));
    }
    if let Some(ts) = parse_date(word) {
        return Some(Literal::Date(ts));
    }
    word.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(word).ok()).map(Literal::Number)
}

/// `2024-05-01`, `2024-05-01T10:00:00Z` or with an offset.
pub fn parse_date(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let date = text.parse::<jiff::civil::Date>().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// Parses a `$filter` value; the error says what and where.
pub fn parse(input: &str) -> Result<Expr, String> {
    parse_dialect(input, Dialect::Dataverse)
}

/// Parses a `$filter` value in `dialect`'s grammar.
pub fn parse_dialect(input: &str, dialect: Dialect) -> Result<Expr, String> {
    let mut parser = Parser { tokens: tokenize(input)?, pos: 0, dialect };
    let expr = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return Err(format!("unexpected input at {}", parser.at()));
    }
    Ok(expr)
}

fn value_of<'a>(row: &'a Map<String, Value>, property: &str) -> &'a Value {
    row.get(property).unwrap_or(&Value::Null)
}

fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(n), Literal::Number(b)) => n.to_string().parse::<Decimal>().ok().map(|a| a.cmp(b)),
        (Value::String(s), Literal::Number(b)) => s.parse::<Decimal>().ok().map(|a| a.cmp(b)),
        (Value::String(s), Literal::Guid(g)) => uuid::Uuid::parse_str(s).ok().map(|a| a.cmp(g)),
        (Value::String(s), Literal::Date(d)) => parse_date(s).map(|a| a.cmp(d)),
        (Value::String(s), Literal::String(b)) => Some(s.to_lowercase().cmp(&b.to_lowercase())),
        (Value::String(s), Literal::Wildcard(pattern)) => {
            Some(if wildcard_match(&s.to_lowercase(), &pattern.to_lowercase()) {
                Ordering::Equal
            } else {
                Ordering::Less
            })
        }
        (Value::String(s), Literal::Enum { member, .. }) => {
            Some(if s.eq_ignore_ascii_case(member) { Ordering::Equal } else { Ordering::Less })
        }
        (Value::Number(n), Literal::String(b)) => Some(n.to_string().cmp(b)),
        (Value::Bool(a), Literal::String(b)) => Some(a.to_string().cmp(&b.to_lowercase())),
        _ => None,
    }
}

/// `*` matches any run of characters (F&O's wildcard equality).
fn wildcard_match(text: &str, pattern: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if pieces.len() == 1 {
        return text == pattern;
    }
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `row` matches.
pub fn matches(expr: &Expr, row: &Map<String, Value>) -> bool {
    match expr {
        Expr::And(a, b) => matches(a, row) && matches(b, row),
        Expr::Or(a, b) => matches(a, row) || matches(b, row),
        Expr::Not(a) => !matches(a, row),
        Expr::Compare { property, op, literal } => {
            let ord = compare(value_of(row, property), literal);
            match op {
                CmpOp::Eq => ord == Some(Ordering::Equal),
                // `ne null` is true for any value; `ne x` is true for null too.
                CmpOp::Ne => ord != Some(Ordering::Equal),
                CmpOp::Gt => ord == Some(Ordering::Greater),
                CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                CmpOp::Lt => ord == Some(Ordering::Less),
                CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            }
        }
        Expr::Function { name, property, literal } => {
            let Value::String(s) = value_of(row, property) else { return false };
            let (s, needle) = (s.to_lowercase(), literal.to_lowercase());
            match name {
                StringFn::Contains => s.contains(&needle),
                StringFn::StartsWith => s.starts_with(&needle),
                StringFn::EndsWith => s.ends_with(&needle),
            }
        }
    }
}

/// Properties the filter reads (to check they exist).
pub fn properties(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            properties(a, out);
            properties(b, out);
        }
        Expr::Not(a) => properties(a, out),
        Expr::Compare { property, .. } | Expr::Function { property, .. } => out.push(property.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn grammar_covers_integration_filters() {
        let r = row(json!({"name":"O'Brien Ltd","revenue":1500.5,"statecode":0,"createdon":"2024-05-02T10:00:00Z",
            "_parentcustomerid_value":"49b0be2e-d01c-ed11-b83e-000d3a572421","fax":null}));
        let cases = [
            ("name eq 'o''brien ltd'", true),
            ("revenue gt 1000 and statecode eq 0", true),
            ("not (revenue le 1500.5)", false),
            ("contains(name,'BRIEN') or startswith(name,'x')", true),
            ("endswith(name,'Ltd')", true),
            ("fax eq null and name ne null", true),
            ("_parentcustomerid_value eq 49B0BE2E-D01C-ED11-B83E-000D3A572421", true),
            ("createdon ge 2024-05-01 and createdon lt 2024-05-02T11:00:00Z", true),
            ("statecode eq 1 or (revenue lt 10)", false),
        ];
        for (filter, expected) in cases {
            let expr = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!(matches(&expr, &r), expected, "{filter}");
        }
    }

    #[test]
    fn finops_dialect_has_wildcards_and_enums_and_refuses_functions() {
        let r = row(json!({"OrganizationName":"Contoso Retail San Diego","SalesOrderStatus":"Backorder"}));
        let cases = [
            ("OrganizationName eq '*retail*'", true),
            ("OrganizationName eq 'contoso*'", true),
            ("OrganizationName eq '*diego'", true),
            ("OrganizationName eq '*x*'", false),
            ("OrganizationName ne '*retail*'", false),
            ("SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'", true),
            ("SalesOrderStatus ne Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'", false),
        ];
        for (filter, expected) in cases {
            let expr = parse_dialect(filter, Dialect::FinOps).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!(matches(&expr, &r), expected, "{filter}");
        }
        for refused in [
            "contains(OrganizationName,'x')",
            "SalesOrderStatus gt Microsoft.Dynamics.DataEntities.SalesStatus'None'",
            "SalesOrderStatus in ('Backorder')",
            "SalesOrderStatus has Microsoft.Dynamics.DataEntities.SalesStatus'None'",
        ] {
            assert!(parse_dialect(refused, Dialect::FinOps).is_err(), "{refused}");
        }
        // Dataverse keeps its functions and reads `*` as a character.
        let expr = parse("OrganizationName eq '*retail*'").unwrap_or_else(|e| panic!("{e}"));
        assert!(!matches(&expr, &r));
        assert!(parse("contains(OrganizationName,'retail')").is_ok());
    }

    #[test]
    fn errors_say_where() {
        assert!(parse("name eq 'x").unwrap_err().contains("unterminated"));
        assert!(parse("revenue add 1").unwrap_err().contains("not supported"));
        assert!(parse("name eq 'x' foo").unwrap_err().contains("position"));
    }
}
