//! Field values as written in a flow file, and the names they reference.
//!
//! A field value is a literal (`Draft`), one whole `{{ expr }}` (keeps the value's type: a
//! list stays a list, money stays a mapping), or text with `{{ }}` parts (always text). The
//! last form is turned into one expression joined with `~`, so every field is a single
//! compiled MiniJinja expression and runs without the template machinery.

/// How a field value is evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSource {
    /// Constant text, no `{{ }}`.
    Literal(String),
    /// An expression; `offset` is where it starts in the written value (for columns).
    Expr {
        /// MiniJinja expression source.
        source: String,
        /// Character offset of the first `{{` in the written value.
        offset: usize,
    },
}

/// Why a field value cannot be an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Character offset in the written value.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits a written field value into literal text and `{{ }}` expressions.
pub fn parse_field(text: &str) -> Result<FieldSource, SyntaxError> {
    if let Some(pos) = text.find("{%") {
        return Err(SyntaxError {
            offset: char_offset(text, pos),
            message: "statements ({% %}) are not allowed in a field; use one {{ expression }}".into(),
        });
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(&rest[..open]));
        }
        let inner_start = open + 2;
        let close = find_close(&rest[inner_start..]).ok_or_else(|| SyntaxError {
            offset: char_offset(text, base + open),
            message: "`{{` is not closed by `}}`".into(),
        })?;
        let inner = rest[inner_start..inner_start + close].trim();
        if inner.is_empty() {
            return Err(SyntaxError { offset: char_offset(text, base + open), message: "empty `{{ }}`".into() });
        }
        parts.push(Part::Expr(inner));
        let consumed = inner_start + close + 2;
        base += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    let first_expr = text.find("{{").map(|p| char_offset(text, p));
    let Some(offset) = first_expr else {
        return Ok(FieldSource::Literal(text.to_owned()));
    };
    let source = match parts.as_slice() {
        [Part::Expr(e)] => (*e).to_owned(),
        [Part::Text(t), Part::Expr(e)] | [Part::Expr(e), Part::Text(t)] if t.trim().is_empty() => (*e).to_owned(),
        _ => parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => quote(t),
                // `string` so a none renders as text rather than failing the concatenation.
                Part::Expr(e) => format!("(({e}) | string)"),
            })
            .collect::<Vec<_>>()
            .join(" ~ "),
    };
    Ok(FieldSource::Expr { source, offset })
}

enum Part<'a> {
    Text(&'a str),
    Expr(&'a str),
}

/// The `}}` that closes an expression, skipping `}}` inside string literals.
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// A name an expression uses, with its character offset in the written value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRef {
    /// What kind of name.
    pub kind: NameKind,
    /// The name.
    pub name: String,
    /// Character offset in the written value.
    pub offset: usize,
}

/// Kinds of names an expression references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// `x | name`.
    Filter,
    /// `x is name`.
    Test,
    /// `name(...)` at the top level.
    Function,
    /// The first string argument of `value_map(...)`.
    ValueMap,
}

#[derive(Debug)]
enum Tok<'a> {
    Ident(&'a str, usize),
    Str(String, usize),
    Punct(char),
}

/// Names of filters, tests, functions and value maps used in the `{{ }}` parts of `text`.
/// A lexical scan: enough to point at the name, the compiler catches real syntax errors.
pub fn referenced_names(text: &str) -> Vec<NameRef> {
    let toks = tokens(text);
    let mut out = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        let Tok::Ident(name, offset) = tok else { continue };
        let prev = i.checked_sub(1).and_then(|j| toks.get(j));
        let next = toks.get(i + 1);
        let kind = match prev {
            Some(Tok::Punct('|')) => Some(NameKind::Filter),
            Some(Tok::Ident("is", _)) => Some(NameKind::Test),
            Some(Tok::Ident("not", _))
                if matches!(i.checked_sub(2).and_then(|j| toks.get(j)), Some(Tok::Ident("is", _))) =>
            {
                Some(NameKind::Test)
            }
            Some(Tok::Punct('.')) => None,
            _ if matches!(next, Some(Tok::Punct('('))) => Some(NameKind::Function),
            _ => None,
        };
        let Some(kind) = kind else { continue };
        if kind == NameKind::Test && *name == "not" {
            continue;
        }
        out.push(NameRef { kind, name: (*name).to_owned(), offset: *offset });
        if kind == NameKind::Filter
            && *name == "value_map"
            && let (Some(Tok::Punct('(')), Some(Tok::Str(arg, arg_offset))) = (toks.get(i + 1), toks.get(i + 2))
        {
            out.push(NameRef { kind: NameKind::ValueMap, name: arg.clone(), offset: *arg_offset });
        }
    }
    out
}

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut inside = false;
    let mut i = 0;
    while i < chars.len() {
        let (byte, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        if !inside {
            if c == '{' && next == Some('{') {
                inside = true;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if c == '}' && next == Some('}') {
            inside = false;
            i += 2;
        } else if c == '\'' || c == '"' {
            let start = i;
            let mut value = String::new();
            i += 1;
            while i < chars.len() && chars[i].1 != c {
                if chars[i].1 == '\\' {
                    i += 1;
                }
                if let Some((_, ch)) = chars.get(i) {
                    value.push(*ch);
                }
                i += 1;
            }
            toks.push(Tok::Str(value, start));
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_') {
                i += 1;
            }
            let end = chars.get(i).map(|(b, _)| *b).unwrap_or(text.len());
            toks.push(Tok::Ident(&text[byte..end], start));
        } else {
            if !c.is_whitespace() {
                toks.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    toks
}

/// Dotted variable paths in an expression source (`order.BuyerInfo.BuyerEmail`), used to
/// say which field was missing when strict undefined stops an evaluation.
pub(crate) fn dotted_paths(source: &str) -> Vec<Vec<String>> {
    let wrapped = format!("{{{{{source}}}}}");
    let toks = tokens(&wrapped);
    let mut paths = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let starts_path = matches!(toks[i], Tok::Ident(..))
            && !matches!(
                i.checked_sub(1).and_then(|j| toks.get(j)),
                Some(Tok::Punct('.' | '|')) | Some(Tok::Ident("is", _))
            );
        if !starts_path {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        if let Tok::Ident(name, _) = toks[i] {
            path.push(name.to_owned());
        }
        i += 1;
        while i + 1 < toks.len() {
            match (&toks[i], &toks[i + 1]) {
                (Tok::Punct('.'), Tok::Ident(name, _)) => path.push((*name).to_owned()),
                (Tok::Punct('['), Tok::Str(name, _)) if matches!(toks.get(i + 2), Some(Tok::Punct(']'))) => {
                    path.push(name.clone());
                    i += 1;
                }
                _ => break,
            }
            i += 2;
        }
        if !matches!(toks.get(i), Some(Tok::Punct('('))) {
            paths.push(path);
        }
    }
    paths
}
