//! 100,000 distinct label values on one counter: the series stay within the cardinality limit
//! (2000 by default, or the one set for the instrument), the rest goes to the
//! `otel.metric.overflow = true` series, and the total stays exact.

mod support;

use std::time::Duration;

use beacon::otel::api::metrics::MeterProvider as _;
use beacon::otel::api::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use support::{any_value, HttpReceiver};

/// `(series, total, overflow series value)` of the latest export of `name`.
fn series(receiver: &HttpReceiver, name: &str) -> (usize, i64, Option<i64>) {
    receiver.with(|r| {
        let metric = r
            .metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .rfind(|m| m.name == name)
            .expect("metric exported");
        let Some(Data::Sum(sum)) = &metric.data else {
            panic!("a sum");
        };
        let value = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match p.value {
            Some(Value::AsInt(i)) => i,
            _ => 0,
        };
        let overflow = sum
            .data_points
            .iter()
            .find(|p| {
                p.attributes.iter().any(|kv| {
                    kv.key == "otel.metric.overflow" && any_value(kv.value.as_ref()) == "true"
                })
            })
            .map(value);
        (
            sum.data_points.len(),
            sum.data_points.iter().map(value).sum(),
            overflow,
        )
    })
}

#[test]
fn one_hundred_thousand_label_values_stay_within_the_limit_and_the_total_is_exact() {
    let receiver = HttpReceiver::start();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
        .collectors(beacon::collectors::Collectors::none())
        .cardinality_limit("orders.by_customer.limited", 100)
        .build()
        .expect("pipeline builds");
    let meter = telemetry.meter_provider().meter("cardinality");
    let default_limit = meter.i64_up_down_counter("orders.by_customer").build();
    let limited = meter
        .i64_up_down_counter("orders.by_customer.limited")
        .build();
    for customer in 0..100_000_i64 {
        let attrs = [KeyValue::new("customer.id", customer)];
        default_limit.add(1, &attrs);
        limited.add(1, &attrs);
    }
    telemetry.flush().expect("collected");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r
        .metric_names()
        .contains(&"orders.by_customer.limited".to_owned())));

    let (n, total, overflow) = series(&receiver, "orders.by_customer");
    assert!(
        n <= 2_001,
        "{n} series for a limit of 2000 (+ the overflow series)"
    );
    assert_eq!(total, 100_000, "nothing lost");
    assert!(overflow.is_some_and(|o| o >= 98_000), "{overflow:?}");

    let (n, total, overflow) = series(&receiver, "orders.by_customer.limited");
    assert!(n <= 101, "{n} series for a limit of 100");
    assert_eq!(total, 100_000);
    assert!(overflow.is_some_and(|o| o >= 99_900), "{overflow:?}");
}
