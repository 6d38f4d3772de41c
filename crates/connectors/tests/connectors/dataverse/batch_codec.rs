//! The `$batch` encoder writes the structure of the reference request samples; the decoder
//! reads every reference response sample and maps each part to its operation.

use ferry_connectors::dataverse::batch::{Batch, Operation, Outcome};
use ferry_runtime::failure::Failure;
use ferry_sandbox::dataverse::batch::{Part, boundary, split_parts};
use serde_json::{Value, json};

use super::samples;
use super::support::obj;

/// A request part reduced to what must match: part headers, request line (path from
/// `/api/data/`), the request's header names, and the JSON body.
#[derive(Debug, PartialEq)]
struct RequestShape {
    part_headers: Vec<(String, String)>,
    method: String,
    path: String,
    headers: Vec<String>,
    body: Option<Value>,
}

#[derive(Debug, PartialEq)]
enum Item {
    Single(RequestShape),
    ChangeSet(Vec<RequestShape>),
}

fn request_shape(part: &Part) -> RequestShape {
    let mut lines = part.body.split('\n').map(|l| l.trim_end_matches('\r')).skip_while(|l| l.trim().is_empty());
    let line = lines.next().expect("request line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let target = words[1..words.len() - 1].join(" ");
    let path = target[target.find("/api/data/").expect("api path")..].to_owned();
    let mut headers = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        headers.push(l.split(':').next().unwrap_or_default().trim().to_ascii_lowercase());
    }
    let body_text = lines.collect::<Vec<_>>().join("\n");
    let body = (!body_text.trim().is_empty()).then(|| serde_json::from_str(body_text.trim()).expect("part JSON"));
    let mut part_headers: Vec<(String, String)> =
        part.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
    part_headers.sort();
    RequestShape { part_headers, method: words[0].to_owned(), path, headers, body }
}

fn structure(content_type: &str, body: &str) -> Vec<Item> {
    let outer = boundary(content_type).expect("boundary");
    split_parts(body, &outer)
        .expect("multipart")
        .iter()
        .map(|part| {
            let ct = part.header("content-type").unwrap_or_default();
            if ct.starts_with("multipart/mixed") {
                let inner = boundary(ct).expect("change set boundary");
                Item::ChangeSet(
                    split_parts(&part.body, &inner).expect("change set").iter().map(request_shape).collect(),
                )
            } else {
                Item::Single(request_shape(part))
            }
        })
        .collect()
}

fn sample_request(sample: &str) -> (String, String) {
    let text = sample.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").expect("headers and body");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.trim().to_owned())
        })
        .expect("content type");
    (content_type, body.to_owned())
}

fn task(subject: &str) -> serde_json::Map<String, Value> {
    obj(
        json!({"subject": subject, "regardingobjectid_account_task@odata.bind": "accounts(00000000-0000-0000-0000-000000000001)"}),
    )
}

fn changeset_sample_batch() -> Batch {
    let mut batch = Batch::new();
    let mut cs = batch.change_set();
    for n in 1..=3 {
        cs.add(Operation::create("tasks", task(&format!("Task {n} in batch"))));
    }
    batch.push_change_set(cs).expect("change set");
    batch
        .push(Operation::get("accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks?$select=subject"))
        .expect("get");
    batch
}

fn contentid_sample_batch() -> Batch {
    let mut batch = Batch::new();
    let mut cs = batch.change_set();
    let lead = cs.add(Operation::create("leads", obj(json!({"firstname": "first name", "lastname": "last name"}))));
    let contact = cs.add(Operation::create("contacts", obj(json!({"firstname": "first name"}))));
    cs.add(Operation::create(
        "accounts",
        obj(json!({"name": "IcM Account", "originatingleadid@odata.bind": lead, "primarycontactid@odata.bind": contact})),
    ));
    batch.push_change_set(cs).expect("change set");
    batch
}

#[test]
fn encoder_writes_the_structure_of_the_change_set_sample() {
    let encoded = changeset_sample_batch().encode("/api/data/v9.2");
    assert!(encoded.content_type.starts_with("multipart/mixed; boundary=\"batch_"), "{}", encoded.content_type);
    assert!(encoded.body.contains("Content-Type: multipart/mixed; boundary=\"changeset_"));
    let (ct, body) = sample_request(samples::BATCH_CHANGESET_REQUEST);
    let ours = structure(&encoded.content_type, &encoded.body);
    let mut reference = structure(&ct, &body);
    // The sample's GET carries no headers; ours neither.
    assert_eq!(ours, std::mem::take(&mut reference));
}

#[test]
fn encoder_writes_content_id_references_like_the_sample() {
    let encoded = contentid_sample_batch().encode("/api/data/v9.2");
    let (ct, body) = sample_request(samples::BATCH_CONTENTID_REFS_REQUEST);
    let ours = structure(&encoded.content_type, &encoded.body);
    let reference = structure(&ct, &body);
    type Stripped = (Vec<(String, String)>, String, String, Option<Value>);
    let strip = |items: Vec<Item>| -> Vec<Stripped> {
        items
            .into_iter()
            .flat_map(|i| match i {
                Item::ChangeSet(parts) => parts,
                Item::Single(p) => vec![p],
            })
            .map(|p| (p.part_headers, p.method, p.path, p.body))
            .collect()
    };
    // The sample's parts say `Content-Type: application/json`; ours add `type=entry` like
    // the change-set sample, which is the only header difference.
    assert_eq!(strip(ours), strip(reference));
}

#[test]
fn batches_refuse_more_than_1000_operations_and_gets_in_change_sets() {
    let mut batch = Batch::new();
    for _ in 0..1000 {
        batch.push(Operation::create("tasks", task("t"))).expect("room");
    }
    assert!(batch.push(Operation::create("tasks", task("t"))).unwrap_err().to_string().contains("at most 1000"));
    let mut batch = Batch::new();
    let mut cs = batch.change_set();
    cs.add(Operation::get("accounts"));
    assert!(batch.push_change_set(cs).unwrap_err().to_string().contains("GET is not allowed"));
}

fn body_of(sample: &str) -> String {
    let text = sample.replace("\r\n", "\n");
    text.split_once("\n\n").map(|(_, b)| b.to_owned()).expect("body")
}

fn id(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded { id: Some(id), .. } => id.to_string(),
        other => panic!("expected a created row, got {other:?}"),
    }
}

#[test]
fn decoder_maps_the_change_set_response_sample_to_its_operations() {
    let results = changeset_sample_batch().decode(None, &body_of(samples::BATCH_CHANGESET_RESPONSE)).expect("decodes");
    assert_eq!(results.len(), 4);
    let ids: Vec<String> = results[..3].iter().map(|r| id(&r.outcome)).collect();
    assert_eq!(
        ids,
        [
            "e73ffc82-e292-ed11-aad1-000d3a9933c9",
            "e83ffc82-e292-ed11-aad1-000d3a9933c9",
            "e93ffc82-e292-ed11-aad1-000d3a9933c9"
        ]
    );
    assert_eq!(results[0].content_id.as_deref(), Some("1"));
    let rows = results[3].outcome.records();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].str("subject"), Some("Task 2 in batch"));
    assert_eq!(rows[1].etag.as_deref(), Some("W/\"77181176\""));
}

#[test]
fn decoder_maps_the_content_id_response_sample() {
    let results =
        contentid_sample_batch().decode(None, &body_of(samples::BATCH_CONTENTID_REFS_RESPONSE)).expect("decodes");
    let ids: Vec<String> = results.iter().map(|r| id(&r.outcome)).collect();
    assert_eq!(
        ids,
        [
            "425195a4-7a75-e911-a97a-000d3a34a1bd",
            "495195a4-7a75-e911-a97a-000d3a34a1bd",
            "4f5195a4-7a75-e911-a97a-000d3a34a1bd"
        ]
    );
}

fn three_tasks() -> Batch {
    let mut batch = Batch::new();
    for n in 1..=3 {
        batch.push(Operation::create("tasks", task(&format!("Task {n}")))).expect("room");
    }
    batch
}

#[test]
fn decoder_maps_continue_on_error_and_stopped_batches() {
    let results = three_tasks().decode(None, &body_of(samples::BATCH_CONTINUE_ON_ERROR_RESPONSE)).expect("decodes");
    match &results[0].outcome {
        Outcome::Failed(Failure::Permanent { code, message }) => {
            assert_eq!(code.as_deref(), Some("400:0x80044331"));
            assert!(message.contains("exceeded the maximum allowed length of '200'"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(id(&results[1].outcome), "aed2ae8b-3c94-ed11-aad1-000d3a9933c9");
    assert_eq!(id(&results[2].outcome), "b181a991-3c94-ed11-aad1-000d3a9933c9");

    let results = three_tasks().decode(None, &body_of(samples::BATCH_ERROR_NO_CONTINUE_RESPONSE)).expect("decodes");
    assert!(matches!(results[0].outcome, Outcome::Failed(Failure::Permanent { .. })));
    assert_eq!((results[1].index, &results[1].outcome), (1, &Outcome::NotExecuted));
    assert_eq!(results[2].outcome, Outcome::NotExecuted);

    assert!(three_tasks().decode(None, "--x\nno end").is_err(), "a truncated answer is an error, not a panic");
}
