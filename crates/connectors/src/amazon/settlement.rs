//! A streaming parser for the settlement report V2 flat file
//! (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`): tab-separated, gzip or plain, a summary
//! row first (settlement id, dates, deposit total, currency), then one row per amount.
//! Rows are read one at a time into a reused buffer, so memory stays flat whatever the size
//! of the file. Columns are found by header name (Amazon has added columns before).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use ferry_model::{
    AmazonSettlementId, Currency, Decimal, Money, SettlementLine, SettlementTransactionType, Sku, Timestamp,
};
use flate2::read::MultiGzDecoder;
use jiff::civil;
use jiff::tz::TimeZone;

/// A file that cannot be read; names the row (1 = header) and the column.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("settlement file: {0}")]
    Io(#[from] std::io::Error),
    #[error("settlement file row {row}: {source}")]
    Csv { row: u64, source: csv::Error },
    #[error("settlement file: the header has no {0} column")]
    MissingColumn(&'static str),
    #[error(
        "settlement file: no summary row (the first row after the header must carry settlement-id and total-amount)"
    )]
    NoSummary,
    #[error("settlement file row {row}, column {column}: {problem}")]
    Value { row: u64, column: &'static str, problem: String },
}

/// The summary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSummary {
    pub settlement_id: AmazonSettlementId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub deposit_date: Option<Timestamp>,
    /// The deposit.
    pub total: Money,
}

/// Positions of the columns we read.
#[derive(Debug, Clone, Copy)]
struct Columns {
    settlement_id: usize,
    start: usize,
    end: usize,
    deposit_date: usize,
    total_amount: usize,
    currency: usize,
    transaction_type: usize,
    order_id: usize,
    merchant_order_id: usize,
    adjustment_id: usize,
    shipment_id: usize,
    marketplace_name: usize,
    amount_type: usize,
    amount_description: usize,
    amount: usize,
    fulfillment_id: usize,
    posted_date: usize,
    posted_date_time: Option<usize>,
    order_item_code: usize,
    sku: usize,
    quantity: usize,
}

impl Columns {
    fn find(header: &csv::ByteRecord) -> Result<Self, SettlementError> {
        let position = |name: &'static str| {
            header
                .iter()
                .position(|h| trim(h).eq_ignore_ascii_case(name.as_bytes()))
                .ok_or(SettlementError::MissingColumn(name))
        };
        Ok(Columns {
            settlement_id: position("settlement-id")?,
            start: position("settlement-start-date")?,
            end: position("settlement-end-date")?,
            deposit_date: position("deposit-date")?,
            total_amount: position("total-amount")?,
            currency: position("currency")?,
            transaction_type: position("transaction-type")?,
            order_id: position("order-id")?,
            merchant_order_id: position("merchant-order-id")?,
            adjustment_id: position("adjustment-id")?,
            shipment_id: position("shipment-id")?,
            marketplace_name: position("marketplace-name")?,
            amount_type: position("amount-type")?,
            amount_description: position("amount-description")?,
            amount: position("amount")?,
            fulfillment_id: position("fulfillment-id")?,
            posted_date: position("posted-date")?,
            posted_date_time: position("posted-date-time").ok(),
            order_item_code: position("order-item-code")?,
            sku: position("sku")?,
            quantity: position("quantity-purchased")?,
        })
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    // The header may start with a UTF-8 byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.trim_ascii()
}

/// Decodes one field as UTF-8 (Amazon's EU files have been seen in Windows-1252: such bytes
/// are read as Latin-1 rather than failing the report).
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s.trim()),
        Err(_) => std::borrow::Cow::Owned(bytes.iter().map(|&b| b as char).collect::<String>().trim().to_owned()),
    }
}

fn optional(bytes: &[u8]) -> Option<String> {
    let t = text(bytes);
    (!t.is_empty()).then(|| t.into_owned())
}

/// Parses an amount: `1234.56`, `-3.22`, or a decimal comma (`1.234,56`, `-3,22`) as EU
/// marketplaces write it.
pub fn parse_amount(raw: &str) -> Option<Decimal> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(d) = raw.parse::<Decimal>() {
        return Some(d);
    }
    let normalized = match (raw.rfind(','), raw.rfind('.')) {
        (Some(comma), Some(dot)) if comma > dot => raw.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => raw.replace(',', ""),
        (Some(_), None) => raw.replace(',', "."),
        _ => return None,
    };
    normalized.parse().ok()
}

fn digits(bytes: &[u8]) -> Option<i32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0i32, |n, b| n * 10 + i32::from(b - b'0')))
}

/// Parses Amazon's settlement dates: ISO 8601 with offset (`2003-10-03T16:00:00-07:00`),
/// `2023-01-01 00:00:00 UTC` (also `GMT`), a bare date `2023-01-01` (midnight UTC), and the
/// day-first forms of EU files (`03.10.2003`, `03.10.2003 16:00:00 UTC`).
pub fn parse_date(raw: &str) -> Option<Timestamp> {
    let raw = raw.trim();
    let b = raw.as_bytes();
    let civil_utc = |y: i32, mo: i32, d: i32, h: i32, mi: i32, s: i32| -> Option<Timestamp> {
        let date = civil::Date::new(i16::try_from(y).ok()?, i8::try_from(mo).ok()?, i8::try_from(d).ok()?).ok()?;
        let time = civil::Time::new(i8::try_from(h).ok()?, i8::try_from(mi).ok()?, i8::try_from(s).ok()?, 0).ok()?;
        TimeZone::UTC.to_timestamp(date.to_datetime(time)).ok()
    };
    let utc_suffix = |rest: &[u8]| rest.is_empty() || rest == b" UTC" || rest == b" GMT" || rest == b"Z";
    // yyyy-mm-dd[ hh:mm:ss UTC]
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
        if b.len() == 10 {
            return civil_utc(y, mo, d, 0, 0, 0);
        }
        if b.len() >= 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':' && utc_suffix(&b[19..]) {
            return civil_utc(y, mo, d, digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
        }
        return raw.parse::<Timestamp>().ok();
    }
    // dd.mm.yyyy[ hh:mm:ss UTC]
    if b.len() >= 10 && b[2] == b'.' && b[5] == b'.' {
        let (d, mo, y) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..10])?);
        if b.len() == 10 {
            return civil_utc(y, mo, d, 0, 0, 0);
        }
        if b.len() >= 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':' && utc_suffix(&b[19..]) {
            return civil_utc(y, mo, d, digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
        }
    }
    None
}

/// Reads a settlement V2 file row by row.
pub struct SettlementReader<R: Read> {
    csv: csv::Reader<R>,
    columns: Columns,
    summary: SettlementSummary,
    record: csv::ByteRecord,
    row: u64,
    /// The last posted date seen: consecutive rows of an order share it.
    last_date: (Vec<u8>, Option<Timestamp>),
}

/// Wraps `reader` in a gzip decoder if it starts with gzip's magic bytes.
pub fn maybe_gzip<'a>(reader: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) { Ok(Box::new(MultiGzDecoder::new(buffered))) } else { Ok(Box::new(buffered)) }
}

impl<'a> SettlementReader<Box<dyn Read + 'a>> {
    /// Opens a file or stream, gzip-compressed or plain.
    pub fn open(reader: impl Read + 'a) -> Result<Self, SettlementError> {
        SettlementReader::new(maybe_gzip(reader)?)
    }
}

impl<R: Read> SettlementReader<R> {
    /// Reads the header and the summary row of a plain (already decompressed) stream.
    pub fn new(reader: R) -> Result<Self, SettlementError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .has_headers(false)
            .flexible(true)
            .quoting(false)
            .buffer_capacity(256 * 1024)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        if !csv.read_byte_record(&mut record).map_err(|source| SettlementError::Csv { row: 1, source })? {
            return Err(SettlementError::MissingColumn("settlement-id"));
        }
        let columns = Columns::find(&record)?;
        if !csv.read_byte_record(&mut record).map_err(|source| SettlementError::Csv { row: 2, source })? {
            return Err(SettlementError::NoSummary);
        }
        let summary = summary(&columns, &record)?;
        Ok(SettlementReader { csv, columns, summary, record, row: 2, last_date: (Vec::new(), None) })
    }

    pub fn summary(&self) -> &SettlementSummary {
        &self.summary
    }

    /// Reads every remaining row into totals that reconcile with the deposit.
    pub fn totals(self) -> Result<SettlementTotals, SettlementError> {
        let mut totals = SettlementTotals::new(self.summary.clone());
        for line in self {
            totals.add(&line?)?;
        }
        Ok(totals)
    }

    fn field(&self, index: usize) -> &[u8] {
        self.record.get(index).unwrap_or_default()
    }

    fn posted_at(&mut self) -> Result<Timestamp, SettlementError> {
        let c = self.columns;
        let raw = c.posted_date_time.map(|i| self.field(i)).filter(|f| !f.trim_ascii().is_empty());
        let (column, raw) = match raw {
            Some(raw) => ("posted-date-time", raw.to_vec()),
            None => ("posted-date", self.field(c.posted_date).to_vec()),
        };
        if self.last_date.0 == raw
            && let Some(at) = self.last_date.1
        {
            return Ok(at);
        }
        let at = parse_date(&text(&raw)).ok_or_else(|| SettlementError::Value {
            row: self.row,
            column,
            problem: format!("{:?} is not a date Amazon uses", text(&raw)),
        })?;
        self.last_date = (raw, Some(at));
        Ok(at)
    }

    fn line(&mut self) -> Result<SettlementLine, SettlementError> {
        let c = self.columns;
        let row = self.row;
        let bad = |column: &'static str, problem: String| SettlementError::Value { row, column, problem };
        let settlement_id = text(self.field(c.settlement_id));
        if settlement_id != self.summary.settlement_id.as_str() {
            return Err(bad("settlement-id", format!("{settlement_id:?} differs from the summary row's")));
        }
        let amount_text = text(self.field(c.amount));
        let amount =
            parse_amount(&amount_text).ok_or_else(|| bad("amount", format!("{amount_text:?} is not a decimal")))?;
        let currency = self.summary.total.currency();
        let currency_text = text(self.field(c.currency));
        if !currency_text.is_empty() && currency_text != currency.code() {
            return Err(bad("currency", format!("{currency_text} differs from the settlement's {}", currency.code())));
        }
        let sku = match optional(self.field(c.sku)) {
            Some(sku) => Some(Sku::new(sku).map_err(|e| bad("sku", e.reason().to_owned()))?),
            None => None,
        };
        let quantity = match optional(self.field(c.quantity)) {
            Some(q) => {
                Some(q.parse::<i64>().map_err(|_| bad("quantity-purchased", format!("{q:?} is not an integer")))?)
            }
            None => None,
        };
        let posted_at = self.posted_at()?;
        Ok(SettlementLine {
            settlement_id: self.summary.settlement_id.clone(),
            transaction_type: SettlementTransactionType::from(text(self.field(c.transaction_type)).as_ref()),
            amount_type: text(self.field(c.amount_type)).into_owned().into(),
            amount_description: text(self.field(c.amount_description)).into_owned(),
            order_id: optional(self.field(c.order_id)),
            merchant_order_id: optional(self.field(c.merchant_order_id)),
            adjustment_id: optional(self.field(c.adjustment_id)),
            shipment_id: optional(self.field(c.shipment_id)),
            marketplace_name: optional(self.field(c.marketplace_name)),
            fulfillment_id: optional(self.field(c.fulfillment_id)),
            order_item_code: optional(self.field(c.order_item_code)),
            sku,
            quantity,
            amount: Money::new(amount, currency),
            posted_at,
        })
    }
}

impl<R: Read> Iterator for SettlementReader<R> {
    type Item = Result<SettlementLine, SettlementError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.row += 1;
            match self.csv.read_byte_record(&mut self.record) {
                Err(source) => return Some(Err(SettlementError::Csv { row: self.row, source })),
                Ok(false) => return None,
                Ok(true) => {}
            }
            // Blank lines (a trailing newline pair) carry nothing.
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            return Some(self.line());
        }
    }
}

fn summary(c: &Columns, record: &csv::ByteRecord) -> Result<SettlementSummary, SettlementError> {
    let field = |i: usize| text(record.get(i).unwrap_or_default()).into_owned();
    let bad = |column: &'static str, problem: String| SettlementError::Value { row: 2, column, problem };
    if field(c.total_amount).is_empty() || field(c.settlement_id).is_empty() {
        return Err(SettlementError::NoSummary);
    }
    let settlement_id =
        AmazonSettlementId::new(field(c.settlement_id)).map_err(|e| bad("settlement-id", e.reason().into()))?;
    let date = |i: usize, column: &'static str| {
        let raw = field(i);
        parse_date(&raw).ok_or_else(|| bad(column, format!("{raw:?} is not a date Amazon uses")))
    };
    let currency = Currency::from_code(&field(c.currency)).map_err(|e| bad("currency", e.to_string()))?;
    let total_text = field(c.total_amount);
    let total =
        parse_amount(&total_text).ok_or_else(|| bad("total-amount", format!("{total_text:?} is not a decimal")))?;
    Ok(SettlementSummary {
        settlement_id,
        start: date(c.start, "settlement-start-date")?,
        end: date(c.end, "settlement-end-date")?,
        deposit_date: if field(c.deposit_date).is_empty() { None } else { Some(date(c.deposit_date, "deposit-date")?) },
        total: Money::new(total, currency),
    })
}

/// Running totals of a settlement, kept while streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementTotals {
    pub summary: SettlementSummary,
    pub lines: u64,
    /// Σ amount of every row.
    pub sum: Money,
    /// Σ amount per transaction type (as Amazon spells it).
    pub by_type: BTreeMap<String, Money>,
    /// Transaction types this version does not know (held for a posting rule), with counts.
    pub unknown_types: BTreeMap<String, u64>,
    /// Rows of a known transaction type whose amount type this version does not know, by
    /// `transaction-type/amount-type`, with counts: held for a posting rule too.
    pub unknown_amount_types: BTreeMap<String, u64>,
}

impl SettlementTotals {
    pub fn new(summary: SettlementSummary) -> Self {
        let zero = Money::zero(summary.total.currency());
        SettlementTotals {
            summary,
            lines: 0,
            sum: zero,
            by_type: BTreeMap::new(),
            unknown_types: BTreeMap::new(),
            unknown_amount_types: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, line: &SettlementLine) -> Result<(), SettlementError> {
        let overflow = |e: ferry_model::MoneyError| SettlementError::Value {
            row: self.lines + 3,
            column: "amount",
            problem: e.to_string(),
        };
        self.sum = self.sum.checked_add(&line.amount).map_err(overflow)?;
        let kind = line.transaction_type.as_str().to_owned();
        let zero = Money::zero(self.sum.currency());
        let entry = self.by_type.entry(kind.clone()).or_insert(zero);
        *entry = entry.checked_add(&line.amount).map_err(|e| SettlementError::Value {
            row: 0,
            column: "amount",
            problem: e.to_string(),
        })?;
        if line.transaction_type.is_unknown() {
            *self.unknown_types.entry(kind).or_default() += 1;
        } else if line.amount_type.is_unknown() {
            *self.unknown_amount_types.entry(format!("{kind}/{}", line.amount_type)).or_default() += 1;
        }
        self.lines += 1;
        Ok(())
    }

    /// Deposit − Σ rows: zero when the rows explain the deposit to the cent.
    pub fn unexplained(&self) -> Money {
        self.summary.total.checked_sub(&self.sum).unwrap_or(self.summary.total)
    }
}
