//! The listener under a hostile network: slow clients are cut off, the connection cap holds
//! while `/healthz` still answers, keys are checked before bodies are read, bodies are bounded
//! in size and time, and every refusal is JSON.

use std::time::Duration;

use ferry_server::ListenerLimits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{
    API_KEY, DATAVERSE_CODE, Harness, closed_by_server, get_request, order_change_with_id, raw_request, read_answer,
};

fn limits() -> ListenerLimits {
    ListenerLimits::default()
}

async fn ready_jobs<S: ferry_store::Store>(h: &Harness<S>) -> u64 {
    h.store.queue_stats().await.expect("queue stats").ready
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected_and_healthz_keeps_answering() {
    let h = Harness::start_with(|c| {
        c.limits(ListenerLimits { header_read_timeout: Duration::from_millis(300), ..limits() })
    })
    .await;
    let mut slow = TcpStream::connect(h.addr).await.expect("connect");
    slow.write_all(b"POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.expect("start");
    // One header line every 100 ms: each byte arrives in time, the head never completes.
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(format!("x-trickle-{i}: a\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
    });
    assert!(closed_by_server(&mut reader).await, "the server answered a request whose head never completed");
    trickle.abort();
    // An idle connection (no request at all) is cut off the same way.
    let mut idle = TcpStream::connect(h.addr).await.expect("connect");
    assert!(closed_by_server(&mut idle).await);
    let answer = raw_request(h.addr, &get_request("/healthz")).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn past_the_connection_cap_a_request_gets_a_json_503_while_healthz_still_answers() {
    let h =
        Harness::start_with(|c| c.limits(ListenerLimits { max_connections: 2, overflow_connections: 4, ..limits() }))
            .await;
    // Two keep-alive connections, each seen served (so each holds its place), then left open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(h.addr).await.expect("connect");
        stream.write_all(&get_request("/healthz")).await.expect("send");
        assert_eq!(read_answer(&mut stream).await.status, 200);
        held.push(stream);
    }
    let event = order_change_with_id("cap-1").to_string();
    let post = format!(
        "POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{event}",
        event.len()
    );
    let refused = raw_request(h.addr, post.as_bytes()).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.json()["error"].as_str().is_some_and(|e| e.contains("limit of 2 connections")), "{refused:?}");
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"), "{refused:?}");
    assert_eq!(ready_jobs(&h).await, 0, "nothing stored past the cap");

    let health = raw_request(h.addr, &get_request("/healthz")).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"), "a load balancer still sees the node alive");

    // Once the held connections close, the node serves normally again.
    drop(held);
    let mut stored = None;
    for _ in 0..100 {
        let answer = raw_request(h.addr, post.as_bytes()).await;
        if answer.status == 200 {
            stored = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = stored.expect("the node serves again once connections close");
    assert_eq!(stored.json()["stored"], true);
    assert_eq!(ready_jobs(&h).await, 1);
}

#[tokio::test]
async fn an_unauthenticated_big_body_is_refused_with_401_before_it_is_read() {
    // A long body deadline: had the server waited for the body, the answer would be a 408.
    let h =
        Harness::start_with(|c| c.limits(ListenerLimits { body_read_timeout: Duration::from_secs(600), ..limits() }))
            .await;
    for (path, key_header) in [
        ("/ingress/amazon/eventbridge", "x-api-key: wrong\r\n"),
        ("/ingress/amazon/eventbridge", ""),
        ("/ingress/dataverse/crm?code=wrong", ""),
    ] {
        let mut stream = TcpStream::connect(h.addr).await.expect("connect");
        // 1 MB announced (and 100-continue asked for); not one byte of it sent.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{key_header}content-type: application/json\r\nexpect: 100-continue\r\ncontent-length: 1048576\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        let answer = read_answer(&mut stream).await;
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert!(answer.json()["error"].as_str().is_some_and(|e| !e.contains(API_KEY)), "{answer:?}");
        assert_eq!(answer.header("connection").as_deref(), Some("close"), "{answer:?}");
        assert!(closed_by_server(&mut stream).await, "the unread body is not taken for a next request");
    }
    assert_eq!(ready_jobs(&h).await, 0);
}

#[tokio::test]
async fn an_oversized_authenticated_body_gets_a_json_413_declared_or_streamed() {
    let h = Harness::start().await;
    let too_big = ferry_connectors::amazon::webhooks::MAX_BODY + 1;
    // Declared: refused from the head alone.
    let head = format!(
        "POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\ncontent-length: {too_big}\r\n\r\n"
    );
    let answer = raw_request(h.addr, head.as_bytes()).await;
    assert_eq!(answer.status, 413, "{answer:?}");
    let error = answer.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(&too_big.to_string()) && error.contains("at most 262144 bytes"), "{error}");

    // Streamed (chunked, no length): refused once the limit is passed.
    let mut stream = TcpStream::connect(h.addr).await.expect("connect");
    let head = format!(
        "POST /ingress/dataverse/crm?code={DATAVERSE_CODE} HTTP/1.1\r\nHost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    let sender = tokio::spawn(async move {
        for _ in 0..20 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        stream
    });
    let mut stream = sender.await.expect("sender");
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(answer.json()["error"].as_str().is_some_and(|e| e.contains("at most 1048576 bytes")), "{answer:?}");
    assert_eq!(ready_jobs(&h).await, 0);
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_a_json_408() {
    let h =
        Harness::start_with(|c| c.limits(ListenerLimits { body_read_timeout: Duration::from_millis(300), ..limits() }))
            .await;
    let mut stream = TcpStream::connect(h.addr).await.expect("connect");
    let head = format!(
        "POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\ncontent-length: 100\r\n\r\n{{\"detail\""
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(answer.json()["error"].as_str().is_some_and(|e| e.contains("did not arrive")), "{answer:?}");
    assert_eq!(ready_jobs(&h).await, 0);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_refused_as_json() {
    let h = Harness::start().await;
    let answer = raw_request(h.addr, &get_request("/nope")).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"], "no route for GET /nope");

    let answer = raw_request(h.addr, &get_request("/ingress/amazon/eventbridge")).await;
    assert_eq!(answer.status, 405, "{answer:?}");
    assert_eq!(answer.json()["error"], "GET is not allowed on /ingress/amazon/eventbridge");
    assert_eq!(answer.header("allow").as_deref(), Some("POST"), "{answer:?}");

    let answer = raw_request(h.addr, b"DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n").await;
    assert_eq!(answer.status, 405, "{answer:?}");
    assert!(answer.json()["error"].is_string(), "{answer:?}");
}
