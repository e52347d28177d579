//! Every bound holds when ten times as much arrives, the oldest goes first, and every
//! eviction is counted.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use beacon_hub::query::{LogQuery, SeriesQuery, TraceQuery};
use beacon_hub::{Hub, HubConfig};

#[test]
fn traces_are_evicted_whole_and_oldest_first() {
    let hub = Hub::with_config(HubConfig::builder().max_traces(100).build());
    let r = common::resource("svc");
    for trace in 0..1000 {
        hub.insert_spans((0..3).map(|s| common::span(&r, trace, trace * 3 + s, "op")));
    }
    let stats = hub.stats();
    assert_eq!((stats.traces, stats.spans), (100, 300));
    assert_eq!((stats.traces_evicted, stats.spans_evicted), (900, 2700));
    assert_eq!(stats.spans_received, 3000);
    let all = hub.traces(&TraceQuery {
        limit: Some(1000),
        ..TraceQuery::default()
    });
    assert_eq!(all.len(), 100);
    assert_eq!(
        all[0].trace_id.0,
        u128::from(1000u64).to_be_bytes(),
        "newest first"
    );
    assert_eq!(
        all[99].trace_id.0,
        u128::from(901u64).to_be_bytes(),
        "the 100 newest kept"
    );
    assert!(
        all.iter().all(|t| t.span_count == 3),
        "no trace is kept in part"
    );
}

#[test]
fn the_span_bound_and_the_memory_cap_hold_too() {
    let hub = Hub::with_config(HubConfig::builder().max_spans(500).build());
    let r = common::resource("svc");
    for trace in 0..500 {
        hub.insert_spans((0..10).map(|s| common::span(&r, trace, trace * 10 + s, "op")));
    }
    assert_eq!(hub.stats().spans, 500);

    // 1 MiB cap: spans get half of it.
    let hub = Hub::with_config(HubConfig::builder().memory_limit(1024 * 1024).build());
    for trace in 0..20_000 {
        hub.insert_spans([common::span(&r, trace, trace, &"x".repeat(200))]);
    }
    let stats = hub.stats();
    assert!(stats.bytes <= 512 * 1024, "{stats:?}");
    assert!(stats.traces_evicted > 10_000, "{stats:?}");
    assert!(stats.traces > 100, "{stats:?}");
}

#[test]
fn logs_and_events_have_bounds_of_their_own() {
    let hub = Hub::with_config(HubConfig::builder().max_logs(200).max_events(50).build());
    let r = common::resource("svc");
    for seq in 0..2000 {
        hub.insert_log(common::log(&r, seq, None));
    }
    for seq in 0..500 {
        hub.insert_log(common::log(&r, seq, Some("order.placed")));
    }
    let stats = hub.stats();
    assert_eq!((stats.logs, stats.logs_evicted), (200, 1800));
    assert_eq!((stats.events, stats.events_evicted), (50, 450));
    let logs = hub.logs(&LogQuery {
        limit: Some(1000),
        ..LogQuery::default()
    });
    assert_eq!(logs.first().map(|l| l.time_unix_nano), Some(1999));
    assert_eq!(logs.last().map(|l| l.time_unix_nano), Some(1800));
    // The words of an evicted record are out of the index as well.
    let old = hub.logs(&LogQuery {
        text: Some("number 5".into()),
        ..LogQuery::default()
    });
    assert!(old.is_empty());
    assert_eq!(hub.event_names(), vec![("order.placed".to_owned(), 50)]);
}

#[test]
fn metric_series_keep_a_window_and_a_series_bound() {
    let hub = Hub::with_config(
        HubConfig::builder()
            .max_series(10)
            .max_points_per_series(60)
            .metric_window(Duration::from_nanos(30))
            .build(),
    );
    let r = common::resource("svc");
    // 100 series (10x the bound), 10 points each, one per "collection".
    for series in 0..100 {
        for t in 0..10 {
            hub.insert_metrics([common::gauge(&r, "queue.depth", series, t * 10, t as f64)]);
        }
    }
    let stats = hub.stats();
    assert_eq!(stats.series, 10);
    assert_eq!(stats.series_evicted, 90);
    let series = hub.series(&SeriesQuery {
        name: "queue.depth".into(),
        ..SeriesQuery::default()
    });
    assert_eq!(series.len(), 10);
    for s in &series {
        let times: Vec<u64> = s.points.iter().map(|p| p.time_unix_nano).collect();
        assert_eq!(
            times,
            vec![60, 70, 80, 90],
            "only the window behind the newest point"
        );
    }
    // Point-per-series bound, with a wide window.
    let hub = Hub::with_config(HubConfig::builder().max_points_per_series(60).build());
    for t in 0..600 {
        hub.insert_metrics([common::gauge(&r, "cpu", 0, t, 1.0)]);
    }
    let stats = hub.stats();
    assert_eq!((stats.points, stats.points_evicted), (60, 540));
}
