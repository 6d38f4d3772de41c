//! `$batch`: the reference request samples are accepted and answered with the structure of
//! the reference response samples.

use serde_json::json;

use super::samples;
use super::support::{Api, assert_same_structure, batch_shape, sample_body, split_message};

/// Sends a sample request as it is (its Content-Type and body).
async fn send_sample(api: &Api, sample: &str, prefer: Option<&str>) -> super::support::Resp {
    let (_, headers, body) = split_message(sample);
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .expect("content type");
    let mut extra = vec![("Content-Type", content_type.as_str())];
    if let Some(p) = prefer {
        extra.push(("Prefer", p));
    }
    api.send("POST", "$batch", &extra, Some(&body)).await
}

#[tokio::test]
async fn change_set_sample_is_answered_like_the_reference() {
    let api = Api::start().await;
    let account = api.patch("accounts(00000000-0000-0000-0000-000000000001)", &[], &json!({"name": "Sample"})).await;
    assert_eq!(account.status, 204);
    let r = send_sample(&api, samples::BATCH_CHANGESET_REQUEST, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let content_type = r.header("content-type").expect("content type");
    assert!(content_type.starts_with("multipart/mixed; boundary=batchresponse_"), "{content_type}");
    assert!(r.body.contains("\r\n--changesetresponse_"), "CRLF on the wire");
    let reference = batch_shape(&sample_body(samples::BATCH_CHANGESET_RESPONSE));
    assert_same_structure(&batch_shape(&r.body), &reference);
    assert_eq!(api.sandbox.row_count("tasks"), 3);
    let subjects: Vec<String> =
        api.sandbox.rows("tasks").iter().filter_map(|r| r["subject"].as_str().map(str::to_owned)).collect();
    assert!(subjects.contains(&"Task 2 in batch".to_owned()));
}

#[tokio::test]
async fn content_id_references_sample_binds_rows_created_earlier_in_the_change_set() {
    let api = Api::start().await;
    let r = send_sample(&api, samples::BATCH_CONTENTID_REFS_REQUEST, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_same_structure(&batch_shape(&r.body), &batch_shape(&sample_body(samples::BATCH_CONTENTID_REFS_RESPONSE)));
    let accounts = api.sandbox.rows("accounts");
    let lead = api.sandbox.rows("leads")[0]["leadid"].clone();
    let contact = api.sandbox.rows("contacts")[0]["contactid"].clone();
    assert_eq!(accounts[0]["_originatingleadid_value"], lead);
    assert_eq!(accounts[0]["_primarycontactid_value"], contact);
}

/// The request of the reference's "Handling errors" section: three task POSTs, the first too long.
fn error_batch() -> String {
    let part = |subject: &str| {
        format!(
            "--batch_errors\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nPOST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json; type=entry\n\n{{\"subject\":\"{subject}\"}}\n"
        )
    };
    format!("{}{}{}--batch_errors--\n", part(&"x".repeat(250)), part("Task 2"), part("Task 3"))
}

#[tokio::test]
async fn a_failed_part_stops_the_batch_with_400_unless_continue_on_error() {
    let api = Api::start().await;
    let ct = [("Content-Type", "multipart/mixed; boundary=batch_errors")];
    let r = api.send("POST", "$batch", &ct, Some(&error_batch())).await;
    assert_eq!(r.status, 400);
    assert_same_structure(&batch_shape(&r.body), &batch_shape(&sample_body(samples::BATCH_ERROR_NO_CONTINUE_RESPONSE)));
    assert!(r.body.contains("\"code\":\"0x80044331\""));
    assert_eq!(api.sandbox.row_count("tasks"), 0);

    let r = api.send("POST", "$batch", &[ct[0], ("Prefer", "odata.continue-on-error")], Some(&error_batch())).await;
    assert_eq!(r.status, 200);
    assert_same_structure(&batch_shape(&r.body), &batch_shape(&sample_body(samples::BATCH_CONTINUE_ON_ERROR_RESPONSE)));
    assert_eq!(api.sandbox.row_count("tasks"), 2);
}

#[tokio::test]
async fn a_change_set_is_all_or_nothing_and_limited_to_1000_operations() {
    let api = Api::start().await;
    let body = "--b\nContent-Type: multipart/mixed; boundary=cs\n\n--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\nPOST /api/data/v9.2/accounts HTTP/1.1\nContent-Type: application/json\n\n{\"name\":\"kept?\"}\n--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 2\n\nPOST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"ok\",\"regardingobjectid_account_task@odata.bind\":\"$1\"}\n--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 3\n\nPOST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"ok\",\"regardingobjectid_account_task@odata.bind\":\"$9\"}\n--cs--\n--b--\n";
    let r = api.send("POST", "$batch", &[("Content-Type", "multipart/mixed; boundary=b")], Some(body)).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Content-ID: 3"), "the failing operation is named: {}", r.body);
    assert!(r.body.contains("Content-ID Reference: '$9' does not exist in the batch context."));
    assert_eq!((api.sandbox.row_count("accounts"), api.sandbox.row_count("tasks")), (0, 0), "rolled back");

    let mut big = String::from("--b\nContent-Type: multipart/mixed; boundary=cs\n\n");
    for i in 0..1001 {
        big.push_str(&format!("--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: {i}\n\nPOST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{{\"subject\":\"t\"}}\n"));
    }
    big.push_str("--cs--\n--b--\n");
    let r = api.send("POST", "$batch", &[("Content-Type", "multipart/mixed; boundary=b")], Some(&big)).await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("A maximum number of '1000' operations are allowed in a change set"));
    assert_eq!(api.sandbox.row_count("tasks"), 0);
}
