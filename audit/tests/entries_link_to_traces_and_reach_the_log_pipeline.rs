//! The correlation id defaults to the current trace id, and every stored entry is emitted as a
//! `tracing` event named `audit.<event_type>` carrying its fields.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::sync::{Arc, Mutex};

use beacon_audit::{AuditLog, NewEntry};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use support::TempDir;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// An event's target and its fields, as text.
type Recorded = (String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Recorded>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((event.metadata().target().to_owned(), fields.0));
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_correlation_id_defaults_to_the_current_trace_id_and_the_entry_is_emitted_as_an_event() {
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = TempDir::new("telemetry");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let span = SpanContext::new(
        trace_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = opentelemetry::Context::current().with_remote_span_context(span);
    let stored = {
        let _attached = cx.clone().attach();
        assert_eq!(
            beacon_audit::current_trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        log.append_blocking(support::entry(1).client_ip("192.0.2.1"))
            .unwrap()
    };
    // support::entry sets its own correlation id; an entry without one takes the trace id.
    assert_eq!(stored.correlation_id(), Some("corr-1"));
    let linked = {
        let _attached = cx.clone().attach();
        log.append_blocking(NewEntry::new(
            "checkpoint.approved",
            beacon_audit::Actor::user("alice"),
            beacon_audit::Resource::new("checkpoint", "1"),
            "approve",
        ))
        .unwrap()
    };
    assert_eq!(
        linked.correlation_id(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    // Outside the trace there is nothing to default to.
    let unlinked = log
        .append_blocking(NewEntry::new(
            "checkpoint.approved",
            beacon_audit::Actor::system("cron"),
            beacon_audit::Resource::new("checkpoint", "2"),
            "approve",
        ))
        .unwrap();
    assert_eq!(unlinked.correlation_id(), None);

    let seen = events.0.lock().unwrap().clone();
    let audit: Vec<_> = seen
        .iter()
        .filter(|(target, _)| target == beacon_audit::TARGET)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(audit.len(), 3);
    let first = audit[0];
    assert_eq!(field(first, "event.name"), Some("audit.order.updated"));
    assert_eq!(field(first, "audit.sequence"), Some("1"));
    assert_eq!(field(first, "audit.actor.id"), Some("user-1"));
    assert_eq!(field(first, "audit.resource.type"), Some("order"));
    assert_eq!(field(first, "client.address"), Some("192.0.2.1"));
    assert_eq!(
        field(first, "audit.hash"),
        Some(stored.hash().to_hex().as_str())
    );
    assert_eq!(
        field(audit[1], "event.name"),
        Some("audit.checkpoint.approved")
    );
    assert_eq!(
        field(audit[1], "audit.correlation_id"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}
