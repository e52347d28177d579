//! `/api/stream` sends what the hub stores as server-sent events, filtered like the
//! subscription it wraps.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn only_matching_items_arrive_as_typed_events() {
    let s = common::serve(beacon_viewer::ViewerConfig::default()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client
        .get(
            format!(
                "http://{}/api/stream?signal=events&name=order.placed&attr=order.id%3D7",
                s.addr
            )
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // The headers came back, so the handler has subscribed: everything stored from now on
    // goes through the filter.
    let resource = std::sync::Arc::new(beacon_hub::model::Resource::for_service("shop"));
    for (name, id) in [
        ("order.placed", 6),
        ("order.shipped", 7),
        ("order.placed", 7),
    ] {
        hub_event(&s.hub, &resource, name, id);
    }
    let mut body = resp.into_body();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let frame = body.frame().await.unwrap().unwrap();
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    let first = text.split("\n\n").next().unwrap();
    assert!(first.starts_with("event: event\n"), "{first}");
    let data = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(json["event_name"], "order.placed");
    assert_eq!(json["attributes"]["order.id"], 7);

    let bad = common::get(s.addr, "/api/stream?signal=everything").await;
    assert_eq!(bad.status, 400);
}

fn hub_event(
    hub: &beacon_hub::Hub,
    resource: &std::sync::Arc<beacon_hub::model::Resource>,
    name: &str,
    id: i64,
) {
    use beacon_hub::model::{Attributes, LogRecord, Value};
    hub.insert_log(LogRecord {
        time_unix_nano: 1,
        severity_number: 9,
        severity_text: None,
        body: Some(Value::String(name.into())),
        attributes: Attributes(vec![("order.id".into(), Value::Int(id))]),
        event_name: Some(name.into()),
        trace_id: None,
        span_id: None,
        resource: std::sync::Arc::clone(resource),
        scope: std::sync::Arc::default(),
    });
}
