//! Reports 2021-06-30: requested reports that go IN_QUEUE → IN_PROGRESS → DONE over (sped-up)
//! time, documents generated from the sandbox's own data and served gzip-compressed from a
//! pre-signed-style URL, scheduled settlement reports (V2 flat file) built from shipped
//! orders, and REPORT_PROCESSING_FINISHED notifications.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Shared;
use super::http::{Query, gate, invalid_input, json_response, not_found};
use super::state::{Orders, Status};
use super::{finances, fulfillment, notify, settlement};

const API: &str = "reports_2021-06-30";
/// Seconds at Amazon's pace a requested report spends queued, then processing.
const QUEUED_FOR: f64 = 15.0;
const DONE_AFTER: f64 = 60.0;

pub const SETTLEMENT_V2: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";
pub const FBA_INVENTORY: &str = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA";
pub const ALL_ORDERS: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub report_type: String,
    pub marketplace_ids: Vec<String>,
    pub created: Timestamp,
    pub created_at: Instant,
    pub status: &'static str,
    pub document_id: Option<String>,
    /// When processing ended (DONE, FATAL or CANCELLED); fixed once set.
    pub processing_end: Option<Timestamp>,
}

/// A report time as Amazon writes them: `2024-03-10T13:47:20.677Z` (milliseconds, UTC).
pub fn report_time(at: Timestamp) -> String {
    format!("{:.3}", at.round(jiff::Unit::Millisecond).unwrap_or(at))
}

/// The processing statuses the model enumerates.
const PROCESSING_STATUSES: &[&str] = &["CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"];

impl Report {
    fn render(&self) -> Value {
        let mut value = json!({
            "reportId": self.id, "reportType": self.report_type, "marketplaceIds": self.marketplace_ids,
            "createdTime": report_time(self.created), "processingStatus": self.status,
        });
        if let Some(end) = self.processing_end {
            value["processingEndTime"] = json!(report_time(end));
        }
        if let Some(doc) = &self.document_id {
            value["reportDocumentId"] = json!(doc);
        }
        value
    }
}

/// Reports and their (gzip-compressed) documents.
#[derive(Debug, Default)]
pub struct Reports {
    pub reports: BTreeMap<String, Report>,
    /// Gzipped bytes and whether they are Windows-1252 (else UTF-8).
    pub documents: BTreeMap<String, (Vec<u8>, bool)>,
    /// New documents are written in Windows-1252, as some EU flat files are.
    pub windows_1252: bool,
    next_id: u64,
}

/// UTF-8 text → Windows-1252 bytes; characters it cannot hold become `?`.
fn to_windows_1252(text: &[u8]) -> Vec<u8> {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    String::from_utf8_lossy(text)
        .chars()
        .map(|c| match u32::from(c) {
            0..=0x7f | 0xa0..=0xff => c as u8,
            _ => HIGH.iter().position(|h| *h == c).map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text);
    encoder.finish().unwrap_or_default()
}

impl Reports {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        50_000_000_000 + self.next_id
    }

    /// Stores a finished document; returns its id.
    pub fn add_document(&mut self, text: &[u8]) -> String {
        let id = format!("amzn1.spdoc.1.4.na.{}", uuid::Uuid::new_v4());
        let bytes = if self.windows_1252 { gzip(&to_windows_1252(text)) } else { gzip(text) };
        self.documents.insert(id.clone(), (bytes, self.windows_1252));
        id
    }

    /// Adds a DONE report of `report_type` with `text` as its document; returns the report id.
    pub fn add_done(&mut self, report_type: &str, marketplace: &str, text: &[u8]) -> String {
        let id = self.next_id().to_string();
        let document_id = self.add_document(text);
        self.reports.insert(
            id.clone(),
            Report {
                id: id.clone(),
                report_type: report_type.into(),
                marketplace_ids: vec![marketplace.into()],
                created: Timestamp::now(),
                created_at: Instant::now(),
                status: "DONE",
                document_id: Some(document_id),
                processing_end: Some(Timestamp::now()),
            },
        );
        id
    }
}

/// A settlement date as Amazon's field spec writes them: `2003-10-03T16:00:00-07:00` (whole
/// seconds, with the offset; the sandbox settles in UTC).
pub fn settlement_date(at: Timestamp) -> String {
    format!("{}+00:00", at.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// A settlement period's reserve: what Amazon held back last period (released now, positive)
/// and what it holds back from this one (negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    pub previous: Decimal,
    pub current: Decimal,
}

struct SettlementRow<'a> {
    kind: &'static str,
    order_id: &'a str,
    adjustment_id: String,
    fulfillment: &'static str,
    amount_type: &'static str,
    description: String,
    amount: Decimal,
    posted: Timestamp,
    item_id: &'a str,
    sku: &'a str,
    quantity: String,
}

/// The settlement V2 file of every shipped order (principal, tax, shipping, commission, FBA
/// fee), every refund (charges reversed, commission back less Amazon's refund administration
/// fee), every account-level fee and, if given, the reserve rows, with the deposit as the
/// summary row's total. The same amounts as the Finances API's events.
pub fn settlement_from_orders(orders: &Orders, settlement_id: &str, reserve: Option<Reserve>) -> Vec<u8> {
    let mut rows = Vec::new();
    for order in orders.by_id.values().filter(|o| o.status == Status::Shipped) {
        let fulfillment = if order.fulfilled_by_amazon { "AFN" } else { "MFN" };
        let refunded = orders.refunds.get(&order.id);
        for (index, item) in order.items.iter().enumerate() {
            let principal = item.unit_price * Decimal::from(item.quantity);
            let shipping = if index == 0 { order.shipping_price } else { Decimal::ZERO };
            let (commission, admin_fee) = finances::refund_commission_parts(principal);
            let mut amounts = vec![
                ("Order", "ItemPrice", "Principal", principal, order.last_updated),
                ("Order", "ItemPrice", "Tax", item.tax, order.last_updated),
                ("Order", "ItemPrice", "Shipping", shipping, order.last_updated),
                ("Order", "ItemFees", "Commission", -commission, order.last_updated),
            ];
            if order.fulfilled_by_amazon {
                let fee = -Decimal::new(322, 2) * Decimal::from(item.quantity);
                amounts.push(("Order", "ItemFees", "FBAPerUnitFulfillmentFee", fee, order.last_updated));
            }
            if let Some(&posted) = refunded {
                amounts.extend([
                    ("Refund", "ItemPrice", "Principal", -principal, posted),
                    ("Refund", "ItemPrice", "Tax", -item.tax, posted),
                    ("Refund", "ItemPrice", "Shipping", -shipping, posted),
                    ("Refund", "ItemFees", "Commission", commission, posted),
                    ("Refund", "ItemFees", "RefundCommission", -admin_fee, posted),
                ]);
            }
            for (kind, amount_type, description, amount, posted) in amounts {
                rows.push(SettlementRow {
                    kind,
                    order_id: &order.id,
                    adjustment_id: if kind == "Refund" { format!("{}-R", item.item_id) } else { String::new() },
                    fulfillment,
                    amount_type,
                    description: description.into(),
                    amount,
                    posted,
                    item_id: &item.item_id,
                    sku: &item.sku,
                    quantity: item.quantity.to_string(),
                });
            }
        }
    }
    let end = Timestamp::now();
    let account_row = |kind, amount_type, description: String, amount, posted| SettlementRow {
        kind,
        order_id: "",
        adjustment_id: String::new(),
        fulfillment: "",
        amount_type,
        description,
        amount,
        posted,
        item_id: "",
        sku: "",
        quantity: String::new(),
    };
    for fee in &orders.service_fees {
        rows.push(account_row("ServiceFee", "ServiceFee", fee.fee_type.clone(), -fee.amount, fee.posted));
    }
    if let Some(reserve) = reserve {
        let (previous, current) = ("Previous Reserve Amount Balance", "Current Reserve Amount");
        rows.push(account_row("other-transaction", "other-transaction", previous.into(), reserve.previous, end));
        rows.push(account_row("other-transaction", "other-transaction", current.into(), reserve.current, end));
    }
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    let currency = orders.by_id.values().next().map_or("USD", |o| o.currency.as_str()).to_owned();
    let mut out = Vec::new();
    let _ = writeln!(out, "{}", settlement::V2_COLUMNS.join("\t"));
    let start = orders.by_id.values().map(|o| o.created).min().unwrap_or(end);
    let (start, end) = (settlement_date(start), settlement_date(end));
    let _ = writeln!(out, "{settlement_id}\t{start}\t{end}\t{end}\t{total:.2}\t{currency}{}", "\t".repeat(17));
    for row in rows {
        let _ = writeln!(
            out,
            "{settlement_id}\t\t\t\t\t{currency}\t{}\t{}\t\t{}\t\tAmazon.com\t{}\t{}\t{:.2}\t{}\t{}\t{}\t{}\t\t\t{}\t{}",
            row.kind,
            row.order_id,
            row.adjustment_id,
            row.amount_type,
            row.description,
            row.amount,
            row.fulfillment,
            row.posted.strftime("%Y-%m-%d"),
            row.posted.strftime("%Y-%m-%d %H:%M:%S UTC"),
            row.item_id,
            row.sku,
            row.quantity,
        );
    }
    out
}

fn inventory_document(fulfillment: &fulfillment::Fulfillment, names: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = writeln!(
        out,
        "sku\tfnsku\tasin\tproduct-name\tcondition\tyour-price\tmfn-listing-exists\tmfn-fulfillable-quantity\tafn-listing-exists\tafn-warehouse-quantity\tafn-fulfillable-quantity\tafn-unsellable-quantity\tafn-reserved-quantity\tafn-total-quantity\tper-unit-volume\tafn-inbound-working-quantity\tafn-inbound-shipped-quantity\tafn-inbound-receiving-quantity\tafn-researching-quantity\tafn-reserved-future-supply\tafn-future-supply-buyable"
    );
    for sku in fulfillment.inventory.keys() {
        if let Some(s) = fulfillment.stock(sku) {
            let warehouse = s.fulfillable + s.reserved + s.unfulfillable;
            let _ = writeln!(
                out,
                "{sku}\t\t\t{}\tNew\t\tNo\t\tYes\t{warehouse}\t{}\t{}\t{}\t{}\t0.1\t0\t{}\t0\t0\t0\t0",
                names.get(sku).map_or(sku.as_str(), String::as_str),
                s.fulfillable,
                s.unfulfillable,
                s.reserved,
                warehouse + s.inbound,
                s.inbound
            );
        }
    }
    out
}

fn orders_document(orders: &Orders) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = writeln!(
        out,
        "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsku\tasin\tquantity\tcurrency\titem-price"
    );
    for o in orders.by_id.values() {
        for i in &o.items {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.2}",
                o.id,
                o.created,
                o.last_updated,
                o.status.v0(),
                if o.fulfilled_by_amazon { "Amazon" } else { "Merchant" },
                i.sku,
                i.asin,
                i.quantity,
                o.currency,
                i.unit_price * Decimal::from(i.quantity)
            );
        }
    }
    out
}

impl Shared {
    pub fn reports(&self) -> std::sync::MutexGuard<'_, Reports> {
        super::lock(&self.reports)
    }

    /// Moves requested reports along; builds documents when they finish.
    pub fn advance_reports(&self) {
        let speedup = self.limiter.speedup();
        let due: Vec<(String, String)> = {
            let mut reports = self.reports();
            let mut due = Vec::new();
            for report in reports.reports.values_mut() {
                let age = report.created_at.elapsed().as_secs_f64() * speedup;
                match report.status {
                    "IN_QUEUE" if age >= QUEUED_FOR => report.status = "IN_PROGRESS",
                    "IN_PROGRESS" if age >= DONE_AFTER => due.push((report.id.clone(), report.report_type.clone())),
                    _ => {}
                }
            }
            due
        };
        for (id, kind) in due {
            let text = match kind.as_str() {
                FBA_INVENTORY => {
                    let names: BTreeMap<String, String> = super::lock(&self.listings)
                        .by_sku
                        .iter()
                        .filter_map(|(sku, l)| {
                            let name = l.attributes.get("item_name")?.get(0)?.get("value")?.as_str()?;
                            Some((sku.clone(), name.replace(['\t', '\n'], " ")))
                        })
                        .collect();
                    Some(inventory_document(&self.fulfillment(), &names))
                }
                ALL_ORDERS => Some(orders_document(&self.orders())),
                _ => None,
            };
            let notification = {
                let mut reports = self.reports();
                let document = text.map(|t| reports.add_document(&t));
                let Some(report) = reports.reports.get_mut(&id) else { continue };
                report.status = if document.is_some() { "DONE" } else { "FATAL" };
                report.document_id = document;
                report.processing_end = Some(Timestamp::now());
                finished_notification(&self.config.seller_id, report)
            };
            self.publish(notification);
        }
    }
}

/// REPORT_PROCESSING_FINISHED (camelCase envelope, payload version 2020-09-04).
fn finished_notification(seller_id: &str, report: &Report) -> Value {
    let mut payload = json!({
        "sellerId": seller_id, "accountId": format!("amzn1.merchant.o.{seller_id}"), "reportId": report.id,
        "reportType": report.report_type, "processingStatus": report.status,
    });
    if let Some(doc) = &report.document_id {
        payload["reportDocumentId"] = json!(doc);
    }
    let now = Timestamp::now().to_string();
    json!({
        "notificationVersion": "2020-09-04", "notificationType": "REPORT_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04", "eventTime": now,
        "payload": { "reportProcessingFinishedNotification": payload },
        "notificationMetadata": { "applicationId": notify::APPLICATION_ID, "subscriptionId": notify::SUBSCRIPTION_ID,
            "publishTime": now, "notificationId": uuid::Uuid::new_v4().to_string() },
    })
}

pub(crate) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "createReport", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let Some(kind) = body.get("reportType").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
        return invalid_input("reportType is required", rate);
    };
    let marketplaces: Vec<String> = body
        .get("marketplaceIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if marketplaces.is_empty() {
        return invalid_input("marketplaceIds is required", rate);
    }
    if kind == SETTLEMENT_V2 {
        return invalid_input("Settlement reports are scheduled by Amazon and cannot be requested", rate);
    }
    if shared.config.rate_limits && !shared.limiter.admit_report(kind) {
        shared.stats.throttled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return super::http::quota_exceeded();
    }
    let mut reports = shared.reports();
    let id = reports.next_id().to_string();
    reports.reports.insert(
        id.clone(),
        Report {
            id: id.clone(),
            report_type: kind.to_owned(),
            marketplace_ids: marketplaces,
            created: Timestamp::now(),
            created_at: Instant::now(),
            status: "IN_QUEUE",
            document_id: None,
            processing_end: None,
        },
    );
    json_response(StatusCode::ACCEPTED, &json!({ "reportId": id }), rate)
}

/// What a getReports listing filters on; a `nextToken` carries it (with the offset of the next
/// page), so page 2 is the same listing as page 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Listing {
    types: Vec<String>,
    statuses: Vec<String>,
    marketplaces: Vec<String>,
    since: Timestamp,
    until: Timestamp,
    size: usize,
    offset: usize,
}

const TOKEN_PREFIX: &str = "ferry-reports:";

fn encode_listing(listing: &Listing) -> String {
    use base64::Engine as _;
    let json = serde_json::to_string(listing).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_PREFIX}{json}"))
}

fn decode_listing(token: &str) -> Option<Listing> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    serde_json::from_str(text.strip_prefix(TOKEN_PREFIX)?).ok()
}

/// The listing a first-page request asks for (every filter the model lists).
fn listing_from(query: &Query) -> Result<Listing, String> {
    let types = query.list("reportTypes");
    if types.is_empty() {
        return Err("Either reportTypes or nextToken is required".into());
    }
    if types.len() > 10 {
        return Err("reportTypes may list at most 10 report types".into());
    }
    let statuses = query.list("processingStatuses");
    if let Some(bad) = statuses.iter().find(|s| !PROCESSING_STATUSES.contains(&s.as_str())) {
        return Err(format!("Invalid input in processing status: {bad:?}"));
    }
    let marketplaces = query.list("marketplaceIds");
    if marketplaces.len() > 10 {
        return Err("marketplaceIds may list at most 10 marketplaces".into());
    }
    let size = match query.get("pageSize").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return Err("pageSize must be between 1 and 100".into()),
    };
    let time = |name: &str| {
        query
            .get(name)
            .map(|v| v.parse::<Timestamp>().map_err(|_| format!("{name} must be an ISO 8601 date-time, got {v:?}")))
            .transpose()
    };
    let now = Timestamp::now();
    let since = time("createdSince")?.unwrap_or(now - jiff::SignedDuration::from_hours(90 * 24));
    let until = time("createdUntil")?.unwrap_or(now);
    if until < since {
        return Err("createdUntil must be after createdSince".into());
    }
    Ok(Listing { types, statuses, marketplaces, since, until, size, offset: 0 })
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = gate!(shared, API, "getReports", &headers);
    shared.advance_reports();
    let query = Query::parse(raw.as_deref());
    let listing = match query.get("nextToken") {
        // "include this token as the only parameter. Specifying nextToken with any other
        // parameters will cause the request to fail."
        Some(_) if query.names().any(|name| name != "nextToken") => {
            return invalid_input("nextToken must be the only parameter when it is given", rate);
        }
        Some(token) => match decode_listing(token) {
            Some(listing) => listing,
            None => return invalid_input("nextToken is invalid or expired", rate),
        },
        None => match listing_from(&query) {
            Ok(listing) => listing,
            Err(message) => return invalid_input(message, rate),
        },
    };
    let reports = shared.reports();
    // Newest first, as Amazon lists them.
    let matching: Vec<&Report> = reports
        .reports
        .values()
        .rev()
        .filter(|r| listing.types.contains(&r.report_type))
        .filter(|r| listing.statuses.is_empty() || listing.statuses.iter().any(|s| s == r.status))
        .filter(|r| {
            listing.marketplaces.is_empty() || r.marketplace_ids.iter().any(|m| listing.marketplaces.contains(m))
        })
        .filter(|r| r.created >= listing.since && r.created <= listing.until)
        .collect();
    let page: Vec<Value> = matching.iter().skip(listing.offset).take(listing.size).map(|r| r.render()).collect();
    let mut body = json!({ "reports": page });
    if listing.offset + listing.size < matching.len() {
        body["nextToken"] = json!(encode_listing(&Listing { offset: listing.offset + listing.size, ..listing }));
    }
    json_response(StatusCode::OK, &body, rate)
}

pub(crate) async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let rate = gate!(shared, API, "getReport", &headers);
    shared.advance_reports();
    match shared.reports().reports.get(&id) {
        Some(report) => json_response(StatusCode::OK, &report.render(), rate),
        None => not_found(format!("Report {id} was not found"), rate),
    }
}

pub(crate) async fn document(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = gate!(shared, API, "getReportDocument", &headers);
    document_reply(&shared, &id, "Report document", "reportDocumentId", rate)
}

/// A report or feed document's metadata: where to download it (both are served gzip-compressed
/// from the one document store).
pub(crate) fn document_reply(shared: &Shared, id: &str, what: &str, id_field: &str, rate: Option<f64>) -> Response {
    if !shared.reports().documents.contains_key(id) {
        return not_found(format!("{what} {id} was not found"), rate);
    }
    let url = format!("{}/documents/{id}", shared.base_url());
    json_response(StatusCode::OK, &json!({ id_field: id, "url": url, "compressionAlgorithm": "GZIP" }), rate)
}

/// The document bytes behind a document URL (no SP-API token: the URL is the credential, as
/// with Amazon's pre-signed S3 URLs).
pub(crate) async fn download(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some((bytes, windows_1252)) = shared.reports().documents.get(&id).cloned() else {
        let mut response = Response::new(Body::from("<Error><Code>NoSuchKey</Code></Error>"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let mut response = Response::new(Body::from(bytes));
    let content_type = if windows_1252 { "text/plain; charset=Cp1252" } else { "text/plain; charset=UTF-8" };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
