//! Correlation with traces, and the log record every entry is also emitted as.
//!
//! Only the OpenTelemetry API and `tracing` are used: the correlation id defaults to the trace id
//! of `opentelemetry::Context::current()` (Beacon's span layer makes the current `tracing` span's
//! context current when the span is entered), and each stored entry becomes a `tracing` event at
//! INFO, target `beacon_audit`, with the attribute `event.name = audit.<event_type>`, which
//! Beacon's log pipeline turns into an OpenTelemetry log record carrying the trace and span ids
//! (the record's own event name is `audit`, since a `tracing` event's name is fixed at compile
//! time; the attribute carries the type). The entry's fields are attributes: `audit.sequence`,
//! `audit.event_type`, `audit.actor.type`, `audit.actor.id`, `audit.resource.type`,
//! `audit.resource.id`, `audit.action`, `audit.details` (the JSON text), `audit.correlation_id`,
//! `client.address`, `user_agent.original` and `audit.hash`.
//!
//! # Example
//! ```
//! // Outside any span there is no trace to correlate with.
//! assert_eq!(beacon_audit::current_trace_id(), None);
//! ```

use opentelemetry::trace::TraceContextExt;

use crate::Entry;

/// The `tracing` target of the events entries are emitted as.
pub const TARGET: &str = "beacon_audit";

/// The trace id (32 lower-case hex digits) of the current OpenTelemetry context, if it has a
/// valid span.
pub fn current_trace_id() -> Option<String> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// Emits `entry` as a `tracing` event (and so, through Beacon, an OTel log record).
pub(crate) fn emit(entry: &Entry) {
    let name = format!("audit.{}", entry.event_type());
    tracing::event!(
        name: "audit",
        target: TARGET,
        tracing::Level::INFO,
        event.name = %name,
        audit.sequence = entry.sequence(),
        audit.event_type = entry.event_type(),
        audit.actor.type = entry.actor().kind.as_str(),
        audit.actor.id = %entry.actor().id,
        audit.resource.type = %entry.resource().kind,
        audit.resource.id = %entry.resource().id,
        audit.action = entry.action(),
        audit.details = entry.details_json(),
        audit.correlation_id = entry.correlation_id(),
        client.address = entry.client().ip.as_deref(),
        user_agent.original = entry.client().user_agent.as_deref(),
        audit.hash = %entry.hash(),
        "audit entry {} stored", entry.sequence(),
    );
}
