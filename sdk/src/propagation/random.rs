//! Which trace ids are random: W3C Trace Context Level 2's `random` trace-id flag (`0x02`) on
//! the `traceparent` Beacon sends.
//!
//! `opentelemetry_sdk` 0.33 decides a span's flags itself — a new trace gets only `sampled`,
//! and a span its sampler drops gets no flags at all — and has no way to add one. So Beacon
//! remembers, in a fixed table, the trace ids that are random: each one its own id generator
//! ([`RandomIds`], the default) makes, and each incoming `traceparent` that carries the flag.
//! The W3C propagator sets the flag on every `traceparent` it injects for such a trace.
//!
//! The table has [`SLOTS`] entries indexed by the id's low bits (random by definition), two
//! relaxed atomic stores to remember and two loads to look up: no lock and no allocation on
//! span start or inject. A later trace landing in the same slot takes it over, so a trace that
//! is still sending requests after thousands of newer traces began may lose the flag on them
//! (the spec's safe side: no flag means "assume nothing"); a trace id is never flagged random
//! unless it was one.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

/// Entries in the table: 16 bytes each, 128 KiB in all.
pub(crate) const SLOTS: usize = 8192;

struct Slot {
    high: AtomicU64,
    low: AtomicU64,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        high: AtomicU64::new(0),
        low: AtomicU64::new(0),
    }
}; SLOTS];

fn halves(trace_id: TraceId) -> (u64, u64, &'static Slot) {
    let bytes = trace_id.to_bytes();
    let mut high = [0u8; 8];
    let mut low = [0u8; 8];
    high.copy_from_slice(&bytes[..8]);
    low.copy_from_slice(&bytes[8..]);
    let (high, low) = (u64::from_be_bytes(high), u64::from_be_bytes(low));
    // The low bits are random in a random id: they spread the ids over the table.
    #[allow(clippy::cast_possible_truncation)]
    let slot = &TABLE[(low as usize) % SLOTS];
    (high, low, slot)
}

/// Remembers `trace_id` as random.
pub(crate) fn remember(trace_id: TraceId) {
    if trace_id == TraceId::INVALID {
        return;
    }
    let (high, low, slot) = halves(trace_id);
    slot.high.store(high, Ordering::Relaxed);
    slot.low.store(low, Ordering::Relaxed);
}

/// Whether `trace_id` is known to be random (see the module docs for when one is forgotten).
pub(crate) fn is_random(trace_id: TraceId) -> bool {
    if trace_id == TraceId::INVALID {
        return false;
    }
    let (high, low, slot) = halves(trace_id);
    slot.low.load(Ordering::Relaxed) == low && slot.high.load(Ordering::Relaxed) == high
}

/// The SDK's random id generator, remembering each trace id it makes as random. The one
/// Beacon installs unless the builder is given another.
#[derive(Debug, Default)]
pub(crate) struct RandomIds(RandomIdGenerator);

impl IdGenerator for RandomIds {
    fn new_trace_id(&self) -> TraceId {
        let id = self.0.new_trace_id();
        remember(id);
        id
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_random_and_others_are_not() {
        let ids = RandomIds::default();
        for _ in 0..100 {
            let id = ids.new_trace_id();
            assert!(is_random(id));
        }
        // Not made here, never seen with the flag.
        assert!(!is_random(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap_or(TraceId::INVALID)
        ));
        assert!(!is_random(TraceId::INVALID));
        remember(TraceId::INVALID);
        assert!(!is_random(TraceId::INVALID));
    }

    #[test]
    fn a_newer_id_in_the_same_slot_takes_it_over() {
        let first = TraceId::from(0x1111_u128 << 64 | 5);
        let second = TraceId::from(0x2222_u128 << 64 | (5 + SLOTS as u128));
        remember(first);
        assert!(is_random(first));
        remember(second);
        assert!(is_random(second));
        assert!(!is_random(first), "forgotten, never mistaken for the other");
    }
}
