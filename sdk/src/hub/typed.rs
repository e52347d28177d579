//! Domain events read back from the hub's live stream as the Rust type they were emitted as.
//!
//! A subscription filters the stream on [`Event::NAME`] and decodes each record's attributes
//! (the event's fields, as [`crate::emit`] recorded them, or as another service sent them
//! over OTLP) into `E` with `serde`: derive `serde::Deserialize` next to `beacon::Event`, with
//! the same field names (`#[serde(rename = "…")]` where `#[event(rename = "…")]` is used).
//! A field the event leaves out (`#[event(skip)]`) needs `#[serde(default)]`; a sensitive field
//! arrives as the text `"[REDACTED]"`, so it decodes only into a `String` (or with a default).
//! A record that does not decode is yielded as [`TypedLive::Undecodable`] with the reason,
//! never dropped silently.
//!
//! ```
//! use beacon::config::Exporter;
//! use beacon::hub::{HubEventsExt as _, TypedLive};
//!
//! #[derive(beacon::Event, serde::Deserialize, Debug, PartialEq)]
//! #[event(name = "circuit.opened")]
//! struct CircuitOpened {
//!     breaker: String,
//!     failures: u32,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = beacon::builder()
//!     .env_source(|_| None)
//!     .traces_exporter(Exporter::None)
//!     .metrics_exporter(Exporter::None)
//!     .logs_exporter(Exporter::None)
//!     .local_hub()
//!     .try_init()?;
//! let mut opened = telemetry.hub().expect("asked for").subscribe_events::<CircuitOpened>();
//! beacon::emit(CircuitOpened { breaker: "payments".into(), failures: 5 });
//! telemetry.flush()?;
//! let Some(TypedLive::Event { value, .. }) = opened.next().await else { panic!("no event") };
//! assert_eq!(value, CircuitOpened { breaker: "payments".into(), failures: 5 });
//! # Ok(())
//! # }
//! ```

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use beacon_hub::model::LogRecord;
use beacon_hub::stream::{Filter, Item, Live, Signal, Subscription};
use beacon_hub::Hub;
use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::events::Event;

/// What an [`EventSubscription`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedLive<E> {
    /// An event of type `E`, decoded, with the record it was decoded from (its trace and
    /// span ids, time, service).
    Event {
        /// The event.
        value: E,
        /// The stored record.
        record: Arc<LogRecord>,
    },
    /// A record with `E`'s event name whose attributes do not decode into `E` (another
    /// version of the event, another service's event of the same name, a redacted field).
    Undecodable {
        /// The stored record.
        record: Arc<LogRecord>,
        /// Why it did not decode.
        error: String,
    },
    /// The subscriber fell behind: this many items of the stream (of every kind, before
    /// filtering) went by unseen.
    Lagged(u64),
}

/// Subscribing to typed domain events on a [`Hub`].
pub trait HubEventsExt {
    /// The domain events of type `E` as they reach the hub, decoded (see the
    /// [module docs](self)).
    fn subscribe_events<E: Event + DeserializeOwned>(&self) -> EventSubscription<E>;
}

impl HubEventsExt for Hub {
    fn subscribe_events<E: Event + DeserializeOwned>(&self) -> EventSubscription<E> {
        EventSubscription {
            inner: self.subscribe(filter::<E>()),
            _event: PhantomData,
        }
    }
}

/// The stream filter that selects the domain events of type `E` (for the generic stream).
#[must_use]
pub fn filter<E: Event>() -> Filter {
    Filter {
        signals: vec![Signal::Events],
        name: Some(E::NAME.to_owned()),
        ..Filter::default()
    }
}

/// A live subscription to the domain events of type `E`; an async [`Stream`] of
/// [`TypedLive`]. Dropping it unsubscribes.
pub struct EventSubscription<E> {
    inner: Subscription,
    _event: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for EventSubscription<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSubscription")
            .field("event", &std::any::type_name::<E>())
            .finish_non_exhaustive()
    }
}

impl<E: DeserializeOwned> EventSubscription<E> {
    /// The next event or lag marker; `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<TypedLive<E>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

/// `record`'s attributes decoded into `E`.
///
/// # Errors
/// The `serde` error, as text, when the attributes do not have `E`'s fields and types.
pub fn decode<E: DeserializeOwned>(record: &LogRecord) -> Result<E, String> {
    let fields = serde_json::to_value(&record.attributes).map_err(|e| e.to_string())?;
    serde_json::from_value(fields).map_err(|e| e.to_string())
}

impl<E: DeserializeOwned> Stream for EventSubscription<E> {
    type Item = TypedLive<E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TypedLive<E>>> {
        loop {
            return match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Live::Item(Item::Event(record)))) => {
                    Poll::Ready(Some(match decode::<E>(&record) {
                        Ok(value) => TypedLive::Event { value, record },
                        Err(error) => TypedLive::Undecodable { record, error },
                    }))
                }
                // The filter lets only events through; anything else is not ours.
                Poll::Ready(Some(Live::Item(_))) => continue,
                Poll::Ready(Some(Live::Lagged(n))) => Poll::Ready(Some(TypedLive::Lagged(n))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_hub::model::{Attributes, Resource, Value};

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Opened {
        breaker: String,
        failures: u32,
        #[serde(default)]
        note: Option<String>,
    }

    fn record(attributes: Vec<(&str, Value)>) -> LogRecord {
        LogRecord {
            time_unix_nano: 1,
            severity_number: 9,
            severity_text: None,
            body: None,
            attributes: Attributes(
                attributes
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
            event_name: Some("circuit.opened".into()),
            trace_id: None,
            span_id: None,
            resource: Arc::new(Resource::for_service("s")),
            scope: Arc::default(),
        }
    }

    #[test]
    fn attributes_decode_into_the_type_and_a_mismatch_says_which_field() {
        let ok = record(vec![
            ("breaker", Value::String("payments".into())),
            ("failures", Value::Int(5)),
        ]);
        assert_eq!(
            decode::<Opened>(&ok),
            Ok(Opened {
                breaker: "payments".into(),
                failures: 5,
                note: None
            })
        );
        let redacted = record(vec![
            ("breaker", Value::String("payments".into())),
            ("failures", Value::String("[REDACTED]".into())),
        ]);
        let err = decode::<Opened>(&redacted).expect_err("a string is not a u32");
        assert!(err.contains("invalid type"), "{err}");
        let missing = record(vec![("failures", Value::Int(1))]);
        let err = decode::<Opened>(&missing).expect_err("breaker is required");
        assert!(err.contains("breaker"), "{err}");
    }
}
