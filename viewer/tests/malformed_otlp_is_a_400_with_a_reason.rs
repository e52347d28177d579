//! The receiver refuses what it cannot read with a status and a reason, never panics, and
//! keeps what it stored before; the API key and the body limit hold for every route.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;

use beacon_hub::proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use beacon_hub::proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use beacon_hub::proto::tonic::resource::v1::Resource;
use beacon_hub::proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use beacon_viewer::ViewerConfig;
use prost::Message as _;

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");

fn request(service: &str, trace_byte: u8, span_ids: &[u8]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..KeyValue::default()
                }],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: span_ids
                    .iter()
                    .map(|id| Span {
                        trace_id: vec![trace_byte; 16],
                        span_id: vec![*id; 8],
                        name: format!("op-{id}"),
                        start_time_unix_nano: 1,
                        end_time_unix_nano: 2,
                        ..Span::default()
                    })
                    .collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// `google.rpc.Status.message` (field 2) of a protobuf error body.
fn status_message(body: &[u8]) -> String {
    let mut buf = body;
    let mut message = String::new();
    while !buf.is_empty() {
        let (tag, wire) = prost::encoding::decode_key(&mut buf).unwrap();
        match tag {
            2 => prost::encoding::string::merge(wire, &mut message, &mut buf, Default::default())
                .unwrap(),
            _ => prost::encoding::skip_field(wire, tag, &mut buf, Default::default()).unwrap(),
        }
    }
    message
}

#[tokio::test]
async fn bad_bodies_get_a_reason_and_earlier_data_stays() {
    let s = common::serve(ViewerConfig::default().with_max_body_bytes(64 * 1024)).await;
    let good = request("a", 1, &[1, 2]).encode_to_vec();
    assert_eq!(
        common::request(s.addr, "POST", "/v1/traces", &[PROTOBUF], good)
            .await
            .status,
        200
    );

    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[PROTOBUF],
        vec![0xff, 0xff, 0xff],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, "application/x-protobuf");
    assert!(
        status_message(&r.body).contains("invalid OTLP protobuf"),
        "{:?}",
        r.body
    );

    let r = common::request(
        s.addr,
        "POST",
        "/v1/logs",
        &[JSON],
        b"{\"resourceLogs\": 7}".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("invalid OTLP JSON"),
        "{}",
        r.json()
    );

    let r = common::request(
        s.addr,
        "POST",
        "/v1/metrics",
        &[("content-type", "text/plain")],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.status, 415);

    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[PROTOBUF, ("content-encoding", "gzip")],
        b"not gzip".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(status_message(&r.body).contains("gzip"));

    // Small compressed, too large once decompressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 1024 * 1024]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[PROTOBUF, ("content-encoding", "gzip")],
        bomb,
    )
    .await;
    assert_eq!(r.status, 413);
    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[PROTOBUF],
        vec![0u8; 65 * 1024],
    )
    .await;
    assert_eq!(r.status, 413);

    // A span with a bad id is left out and reported; its valid neighbour is kept.
    let mut partial = request("a", 2, &[3]);
    partial.resource_spans[0].scope_spans[0].spans.push(Span {
        trace_id: vec![9; 3],
        span_id: vec![1; 8],
        name: "broken".into(),
        ..Span::default()
    });
    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[JSON],
        serde_json::to_vec(&partial).unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["partialSuccess"]["rejectedSpans"],
        1,
        "{}",
        r.json()
    );

    let stats = s.hub.stats();
    assert_eq!((stats.traces, stats.spans, stats.rejected), (2, 3, 1));
    // The receiver's state for the health summary: two requests read and stored, the
    // unreadable ones refused (a body over the limit that axum refuses before the handler
    // reads it is not the receiver's to count).
    assert_eq!(
        (stats.receiver_requests, stats.receiver_refused),
        (2, 5),
        "{stats:?}"
    );
}

#[tokio::test]
async fn services_are_kept_apart_and_queried_together() {
    let s = common::serve(ViewerConfig::default()).await;
    for (service, trace) in [("orders", 1), ("payments", 2), ("orders", 3)] {
        let body = request(service, trace, &[trace]).encode_to_vec();
        assert_eq!(
            common::request(s.addr, "POST", "/v1/traces", &[PROTOBUF], body)
                .await
                .status,
            200
        );
    }
    let services = common::get(s.addr, "/api/services").await.json();
    assert_eq!(services[0]["name"], "orders");
    assert_eq!(services[0]["traces"], 2);
    assert_eq!(services[1]["name"], "payments");
    assert_eq!(services[1]["traces"], 1);
    let all = common::get(s.addr, "/api/traces").await.json();
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    let payments = common::get(s.addr, "/api/traces?service=payments")
        .await
        .json();
    assert_eq!(payments[0]["trace_id"], "02".repeat(16));
    let r = common::get(s.addr, "/api/traces?min_duration=soon").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("min_duration"));
    assert_eq!(
        common::get(s.addr, &format!("/api/traces/{}", "0a".repeat(16)))
            .await
            .status,
        404
    );
    assert_eq!(common::get(s.addr, "/api/traces/xyz").await.status, 400);
}

#[tokio::test]
async fn with_an_api_key_every_route_wants_it() {
    let s = common::serve(ViewerConfig::default().with_api_key("s3cret")).await;
    let body = request("a", 1, &[1]).encode_to_vec();
    let r = common::request(s.addr, "POST", "/v1/traces", &[PROTOBUF], body.clone()).await;
    assert_eq!(r.status, 401);
    assert_eq!(common::get(s.addr, "/api/services").await.status, 401);
    let wrong = common::request(
        s.addr,
        "GET",
        "/api/services",
        &[("x-api-key", "s3cres")],
        vec![],
    )
    .await;
    assert_eq!(wrong.status, 401);
    let r = common::request(
        s.addr,
        "POST",
        "/v1/traces",
        &[PROTOBUF, ("x-api-key", "s3cret")],
        body,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = common::request(
        s.addr,
        "GET",
        "/api/services",
        &[("authorization", "Bearer s3cret")],
        vec![],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["name"], "a");
}
