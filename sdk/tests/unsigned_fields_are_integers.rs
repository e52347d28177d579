//! An unsigned integer recorded by `#[beacon::instrument]` (an argument, or a `fields(..)`
//! entry naming one) is an integer attribute, as the same field of an `Event` is; a value
//! beyond `i64::MAX` is its decimal text in both, never a wrapped negative number.

use std::num::NonZeroU32;

use beacon::Event as _;
use beacon_test::{capture, span};
use opentelemetry::{KeyValue, Value};

#[beacon::instrument(fields(order.id = order))]
fn charge(order: u64, quantity: &u32, slot: usize, shelf: NonZeroU32, delta: i64) -> u64 {
    let _ = (quantity, slot, shelf, delta);
    order
}

#[derive(beacon::Event)]
#[event(name = "order.placed")]
struct Placed {
    order: u64,
    slot: usize,
}

#[tokio::test]
async fn instrument_records_unsigned_arguments_as_integers() {
    let cap = capture();
    let shelf = NonZeroU32::new(4).expect("non-zero");
    charge(7, &3, 5, shelf, -2);
    charge(u64::MAX, &3, 5, shelf, -2);

    let small = cap
        .wait_for_span(span::named("charge").attr("order", 7_i64))
        .await
        .expect("charge span");
    assert_eq!(small.attr("order"), Some(&Value::I64(7)));
    assert_eq!(
        small.attr("order.id"),
        Some(&Value::I64(7)),
        "a field naming it"
    );
    assert_eq!(small.attr("quantity"), Some(&Value::I64(3)), "a reference");
    assert_eq!(small.attr("slot"), Some(&Value::I64(5)));
    assert_eq!(small.attr("shelf"), Some(&Value::I64(4)));
    assert_eq!(small.attr("delta"), Some(&Value::I64(-2)));

    let big = cap
        .wait_for_span(span::named("charge").attr("order", "18446744073709551615"))
        .await
        .expect("charge span of u64::MAX");
    assert_eq!(
        big.attr("order"),
        Some(&Value::from("18446744073709551615".to_owned()))
    );
}

#[test]
fn events_record_unsigned_fields_the_same_way() {
    let attrs = |e: Placed| e.attributes();
    assert_eq!(
        attrs(Placed { order: 7, slot: 5 }),
        vec![KeyValue::new("order", 7_i64), KeyValue::new("slot", 5_i64)]
    );
    assert_eq!(
        attrs(Placed {
            order: u64::MAX,
            slot: usize::MAX
        }),
        vec![
            KeyValue::new("order", "18446744073709551615"),
            KeyValue::new("slot", "18446744073709551615"),
        ]
    );
}
