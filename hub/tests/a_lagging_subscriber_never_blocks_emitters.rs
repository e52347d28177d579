//! A subscriber that never reads does not slow or block ingestion, memory stays at the
//! stream's capacity, and when it does read it learns how much it missed and carries on.
//! A hundred subscribers each get every item.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use beacon_hub::stream::{Filter, Live, Signal};
use beacon_hub::{Hub, HubConfig};

#[tokio::test]
async fn a_stalled_subscriber_gets_a_lag_marker_and_carries_on() {
    let hub = Hub::with_config(HubConfig::builder().stream_capacity(64).build());
    let mut stalled = hub.subscribe(Filter::default());
    let r = common::resource("svc");
    // Ingestion runs to completion on this thread while the subscriber reads nothing: if a
    // send could wait for a reader this would never return.
    for seq in 0..10_000 {
        hub.insert_log(common::log(&r, seq, None));
    }
    assert_eq!(hub.stats().logs_received, 10_000);
    let first = stalled.next().await;
    assert_eq!(first, Some(Live::Lagged(10_000 - 64)));
    // Then the 64 newest, in order.
    for seq in 10_000 - 64..10_000 {
        match stalled.next().await {
            Some(Live::Item(item)) => {
                assert_eq!(item.as_log().map(|l| l.time_unix_nano), Some(seq))
            }
            other => panic!("expected log {seq}, got {other:?}"),
        }
    }
    assert_eq!(hub.stats().lagged, 10_000 - 64);
    hub.insert_log(common::log(&r, 1, None));
    assert!(matches!(stalled.next().await, Some(Live::Item(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_filtered_subscribers_each_get_their_items() {
    let hub = Hub::new();
    let r = common::resource("svc");
    let mut tasks = Vec::new();
    for i in 0..100u64 {
        let mut sub = hub.subscribe(Filter {
            signals: vec![Signal::Events],
            attributes: vec![("seq".into(), i.to_string())],
            ..Filter::default()
        });
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 10 {
                match sub.next().await {
                    Some(Live::Item(item)) => seen.push(item.as_log().map(|l| l.time_unix_nano)),
                    other => panic!("subscriber {i}: unexpected {other:?} after {seen:?}"),
                }
            }
            seen
        }));
    }
    assert_eq!(hub.stats().subscribers, 100);
    for round in 0..10 {
        for seq in 0..100 {
            hub.insert_log(common::log(&r, seq, None)); // a log: filtered out by signal
            let mut event = common::log(&r, seq, Some("tick"));
            event.time_unix_nano = round;
            hub.insert_log(event);
        }
    }
    for task in tasks {
        // A bound on the wait, so a delivery bug fails the test instead of hanging it.
        let seen = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every subscriber gets its ten events")
            .unwrap();
        assert_eq!(seen, (0..10).map(Some).collect::<Vec<_>>());
    }
}
