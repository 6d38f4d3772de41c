//! Reports 2021-06-30: createReport, getReports (paginated), getReport, getReportDocument and
//! the document download (streamed to a writer, gunzipped and converted to UTF-8 on the way,
//! so memory stays flat), plus [`ReportTracker`], which persists a requested report's id so
//! a restart resumes polling instead of requesting the report again.

use std::io::Write;

use ferry_model::{TenantId, Timestamp};
use ferry_runtime::failure::Failure;
use ferry_store::{CursorUpdate, Store};

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::reports::{
    CreateReportResponse, CreateReportSpecification, GetReportsResponse, Report, ReportDocument,
};

pub const API: &str = "reports_2021-06-30";
const BASE: &str = "/reports/2021-06-30";

/// Filters of getReports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportsQuery {
    pub report_types: Vec<String>,
    pub processing_statuses: Vec<String>,
    pub created_since: Option<Timestamp>,
    pub page_size: Option<u32>,
}

/// A document's text encoding, from the download's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    /// Windows-1252 (`Cp1252`), which Amazon uses for some EU flat files; ISO-8859-1 is read
    /// the same way (it is a subset for printable text).
    Windows1252,
}

impl Charset {
    /// From a `Content-Type` header; UTF-8 when absent or unknown.
    pub fn from_content_type(value: Option<&str>) -> Charset {
        let charset = value
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("charset=")))
            .map(|c| c.trim_matches('"').to_ascii_lowercase());
        match charset.as_deref() {
            Some("cp1252" | "windows-1252" | "iso-8859-1" | "latin1" | "iso8859-1") => Charset::Windows1252,
            _ => Charset::Utf8,
        }
    }
}

/// Windows-1252's 0x80–0x9F block (the rest of the 8-bit range equals Latin-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Converts Windows-1252 bytes to UTF-8 as they pass.
struct Cp1252ToUtf8<W: Write>(W);

impl<W: Write> Write for Cp1252ToUtf8<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = String::with_capacity(buf.len() + buf.len() / 8);
        for &b in buf {
            out.push(match b {
                0x80..=0x9f => CP1252_HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            });
        }
        self.0.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Request of createReport.
pub fn create_report_request(spec: &CreateReportSpecification) -> Result<HttpRequest, Failure> {
    let body = serde_json::to_value(spec).map_err(|e| Failure::permanent(format!("createReport: {e}")))?;
    Ok(HttpRequest { method: "POST", path: format!("{BASE}/reports"), query: Vec::new(), body: Some(body) })
}

/// Request of getReport.
pub fn get_report_request(report_id: &str) -> HttpRequest {
    HttpRequest::get(format!("{BASE}/reports/{}", encode_component(report_id)))
}

/// Request of getReportDocument.
pub fn get_report_document_request(document_id: &str) -> HttpRequest {
    HttpRequest::get(format!("{BASE}/documents/{}", encode_component(document_id)))
}

impl AmazonClient {
    /// Requests a report; returns its id. With the runtime attached the request waits in
    /// createReport's bucket and, for a report type Amazon caps per seller
    /// ([`super::super::limits::REPORT_CAPS`]), in that cap's bucket, which every connection
    /// and tenant on the seller account shares: a request the cap has no room for comes back
    /// throttled, with the wait, without reaching Amazon.
    pub async fn create_report(&self, spec: &CreateReportSpecification) -> Result<String, Failure> {
        let http = create_report_request(spec)?;
        let caps = super::super::limits::report_cap(&spec.report_type)
            .map(|cap| ferry_runtime::Cap {
                scope: self.seller_scope().to_owned(),
                key: format!("createReport/{}", cap.report_type),
                rate_per_sec: cap.rate,
                burst: cap.burst,
            })
            .into_iter()
            .collect();
        let response =
            self.within_limits_capped(API, "createReport", caps, self.execute(API, "createReport", &http)).await?;
        decode::<CreateReportResponse>("createReport", "CreateReportResponse", &response).map(|r| r.report_id)
    }

    /// Every report matching `query`, newest first, following `nextToken` to the end.
    pub async fn get_reports(&self, query: &ReportsQuery) -> Result<Vec<Report>, Failure> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            // With nextToken Amazon wants no other parameter.
            let http = match &next {
                Some(token) => HttpRequest::get(format!("{BASE}/reports")).param("nextToken", Some(token)),
                None => HttpRequest::get(format!("{BASE}/reports"))
                    .list("reportTypes", &query.report_types)
                    .list("processingStatuses", &query.processing_statuses)
                    .param("createdSince", query.created_since)
                    .param("pageSize", query.page_size),
            };
            let response = self.execute(API, "getReports", &http).await?;
            let page: GetReportsResponse = decode("getReports", "GetReportsResponse", &response)?;
            out.extend(page.reports);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(out),
            }
        }
    }

    pub async fn get_report(&self, report_id: &str) -> Result<Report, Failure> {
        let http = get_report_request(report_id);
        let response = self.execute(API, "getReport", &http).await?;
        decode("getReport", "Report", &response)
    }

    pub async fn get_report_document(&self, document_id: &str) -> Result<ReportDocument, Failure> {
        let http = get_report_document_request(document_id);
        let response = self.execute(API, "getReportDocument", &http).await?;
        decode("getReportDocument", "ReportDocument", &response)
    }

    /// Downloads a document into `out` chunk by chunk, gunzipping when Amazon says GZIP and
    /// converting Windows-1252 text to UTF-8. Returns the bytes downloaded.
    pub async fn download_document(&self, document: &ReportDocument, out: impl Write) -> Result<u64, Failure> {
        self.download(&document.report_document_id, &document.url, document.compression_algorithm.as_deref(), out).await
    }

    /// Downloads a (report or feed) document from its pre-signed URL into `out`; see
    /// [`download_document`](Self::download_document). Returns the bytes downloaded.
    pub async fn download(
        &self,
        document_id: &str,
        url: &str,
        compression: Option<&str>,
        out: impl Write,
    ) -> Result<u64, Failure> {
        let failed =
            |what: &str, e: &dyn std::fmt::Display| Failure::transient(format!("document {document_id}: {what}: {e}"));
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            // Not the URL: it is pre-signed, a credential in itself.
            .map_err(|e| failed("download failed", &crate::http::describe(e)))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let message = format!("document {document_id}: download answered {status}");
            return Err(ferry_runtime::failure::classify_http_status(status, None, message));
        }
        let charset = Charset::from_content_type(response.headers().get("content-type").and_then(|v| v.to_str().ok()));
        let counted = Counting { inner: out, written: 0 };
        let text: Box<dyn Write> = match charset {
            Charset::Utf8 => Box::new(counted),
            Charset::Windows1252 => Box::new(Cp1252ToUtf8(counted)),
        };
        let gzip = compression == Some("GZIP");
        let mut sink: Box<dyn Write> = if gzip { Box::new(flate2::write::GzDecoder::new(text)) } else { text };
        let mut total = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| failed("download interrupted", &e.without_url()))? {
            sink.write_all(&chunk).map_err(|e| Failure::permanent(format!("document {document_id}: {e}")))?;
            total += chunk.len() as u64;
        }
        sink.flush().map_err(|e| Failure::permanent(format!("document {document_id}: {e}")))?;
        drop(sink);
        Ok(total)
    }
}

struct Counting<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where a tracked report stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportProgress {
    /// Requested or resumed; not finished (IN_QUEUE / IN_PROGRESS).
    Pending { report_id: String, status: String },
    /// DONE: download `document_id`.
    Done { report_id: String, document_id: String },
    /// CANCELLED or FATAL (Amazon also cancels reports that would be empty).
    Failed { report_id: String, status: String },
}

/// Keeps the id of a requested report in the store's cursors (`amazon.report.<key>`), so a
/// restarted node polls the report it already asked for instead of requesting it again.
pub struct ReportTracker<'a, S: Store> {
    pub store: &'a S,
    pub tenant: &'a TenantId,
}

impl<S: Store> ReportTracker<'_, S> {
    fn cursor_name(key: &str) -> String {
        format!("amazon.report.{key}")
    }

    /// The report tracked under `key`: the pending one if any, else a new request of `spec`.
    pub async fn request_or_resume(
        &self,
        client: &AmazonClient,
        key: &str,
        spec: &CreateReportSpecification,
    ) -> Result<ReportProgress, Failure> {
        let name = Self::cursor_name(key);
        let saved = self
            .store
            .cursor(self.tenant, &name)
            .await
            .map_err(|e| Failure::transient(format!("reading report cursor {name}: {e}")))?
            .filter(|id| !id.is_empty());
        let report_id = match saved {
            Some(id) => id,
            None => {
                let id = client.create_report(spec).await?;
                let update = CursorUpdate { tenant: self.tenant.clone(), name: name.clone(), value: id.clone() };
                self.store
                    .enqueue_with_cursor(&[], &update)
                    .await
                    .map_err(|e| Failure::transient(format!("saving report cursor {name}: {e}")))?;
                id
            }
        };
        let report = client.get_report(&report_id).await?;
        Ok(match (report.processing_status.as_str(), report.report_document_id) {
            ("DONE", Some(document_id)) => ReportProgress::Done { report_id, document_id },
            ("CANCELLED" | "FATAL" | "DONE", _) => {
                ReportProgress::Failed { report_id, status: report.processing_status }
            }
            (status, _) => ReportProgress::Pending { report_id, status: status.to_owned() },
        })
    }

    /// Forgets the report under `key` once its document is processed; the next
    /// [`request_or_resume`](Self::request_or_resume) requests a new one.
    pub async fn finish(&self, key: &str) -> Result<(), Failure> {
        let name = Self::cursor_name(key);
        let update = CursorUpdate { tenant: self.tenant.clone(), name: name.clone(), value: String::new() };
        self.store
            .enqueue_with_cursor(&[], &update)
            .await
            .map(|_| ())
            .map_err(|e| Failure::transient(format!("clearing report cursor {name}: {e}")))
    }
}
