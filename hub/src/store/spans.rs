//! Traces: spans grouped by trace, evicted a whole trace at a time, oldest first.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use super::postings::{Candidates, Postings, ENTRY_BYTES};
use super::Evicted;
use crate::config::HubConfig;
use crate::model::{Span, StatusCode, TraceId, Value};
use crate::query::{TraceQuery, TraceSummary};

#[derive(Debug, Hash, PartialEq, Eq)]
pub(crate) enum SpanKey {
    Service(Box<str>),
    Name(Box<str>),
    Attr(Box<str>, Box<str>),
    Error,
}

#[derive(Debug)]
struct TraceEntry {
    seq: u64,
    spans: Vec<Arc<Span>>,
    start: u64,
    bytes: usize,
}

#[derive(Debug)]
pub(crate) struct SpanStore {
    traces: HashMap<TraceId, TraceEntry>,
    /// `(seq, trace)` in the order traces were first seen; evicted from the front.
    order: VecDeque<(u64, TraceId)>,
    next_seq: u64,
    index: Postings<SpanKey>,
    by_start: BTreeSet<(u64, u64)>,
    spans: usize,
    bytes: usize,
    max_traces: usize,
    max_spans: usize,
    budget: usize,
    max_value_len: usize,
    indexed: crate::config::IndexedAttributes,
}

/// The index keys of an attribute, when it is indexed.
pub(crate) fn attr_key(
    indexed: &crate::config::IndexedAttributes,
    max_len: usize,
    key: &str,
    value: &Value,
) -> Option<(Box<str>, Box<str>)> {
    if !indexed.covers(key) {
        return None;
    }
    let text = value.to_index_string()?;
    (text.len() <= max_len).then(|| (key.into(), text.into_boxed_str()))
}

impl SpanStore {
    pub(crate) fn new(config: &HubConfig) -> Self {
        Self {
            traces: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            index: Postings::default(),
            by_start: BTreeSet::new(),
            spans: 0,
            bytes: 0,
            max_traces: config.max_traces,
            max_spans: config.max_spans,
            budget: config.budget(50),
            max_value_len: config.max_indexed_value_len,
            indexed: config.indexed_attributes.clone(),
        }
    }

    fn keys(&self, span: &Span, with_resource: bool) -> Vec<SpanKey> {
        let mut keys = vec![
            SpanKey::Service(span.service().into()),
            SpanKey::Name(span.name.as_str().into()),
        ];
        if span.status.code == StatusCode::Error {
            keys.push(SpanKey::Error);
        }
        let resource = with_resource
            .then(|| span.resource.attributes.iter())
            .into_iter()
            .flatten();
        for (k, v) in span.attributes.iter().chain(resource) {
            if let Some((k, v)) = attr_key(&self.indexed, self.max_value_len, k, v) {
                keys.push(SpanKey::Attr(k, v));
            }
        }
        keys
    }

    /// Stores `span`, then evicts the oldest traces while over a bound.
    pub(crate) fn insert(&mut self, span: Arc<Span>, evicted: &mut Evicted) {
        let seq = match self.traces.get(&span.trace_id) {
            Some(entry) => entry.seq,
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.order.push_back((seq, span.trace_id));
                self.by_start.insert((span.start_time_unix_nano, seq));
                self.traces.insert(
                    span.trace_id,
                    TraceEntry {
                        seq,
                        spans: Vec::new(),
                        start: span.start_time_unix_nano,
                        bytes: 0,
                    },
                );
                seq
            }
        };
        let new_resource = self.traces.get(&span.trace_id).is_some_and(|e| {
            !e.spans
                .iter()
                .any(|s| Arc::ptr_eq(&s.resource, &span.resource))
        });
        let keys = self.keys(&span, new_resource);
        let mut bytes = span.size() + std::mem::size_of::<Arc<Span>>();
        for key in keys {
            if self.index.insert(key, seq) {
                bytes += ENTRY_BYTES;
            }
        }
        if let Some(entry) = self.traces.get_mut(&span.trace_id) {
            if span.start_time_unix_nano < entry.start {
                self.by_start.remove(&(entry.start, seq));
                self.by_start.insert((span.start_time_unix_nano, seq));
                entry.start = span.start_time_unix_nano;
            }
            entry.bytes += bytes;
            entry.spans.push(span);
        }
        self.spans += 1;
        self.bytes += bytes;
        while self.traces.len() > self.max_traces
            || self.spans > self.max_spans
            || self.bytes > self.budget
        {
            if !self.evict_oldest(evicted) {
                break;
            }
        }
    }

    fn evict_oldest(&mut self, evicted: &mut Evicted) -> bool {
        let Some((seq, trace_id)) = self.order.pop_front() else {
            return false;
        };
        let Some(entry) = self.traces.remove(&trace_id) else {
            return true;
        };
        // The resource's keys were inserted with the first span of each resource only (see
        // `insert`): remove them once per resource too, not once per span.
        let mut resources: Vec<&Arc<crate::model::Resource>> = Vec::new();
        for span in &entry.spans {
            let new_resource = !resources.iter().any(|r| Arc::ptr_eq(r, &span.resource));
            if new_resource {
                resources.push(&span.resource);
            }
            for key in self.keys(span, new_resource) {
                self.index.remove(&key, seq);
            }
        }
        self.by_start.remove(&(entry.start, seq));
        self.spans -= entry.spans.len();
        self.bytes -= entry.bytes;
        evicted.traces += 1;
        evicted.spans += entry.spans.len() as u64;
        true
    }

    /// Posting entries that name no stored trace (what an eviction failed to remove).
    #[cfg(test)]
    pub(crate) fn stale_postings(&self) -> usize {
        self.index
            .keys()
            .filter_map(|k| self.index.get(k))
            .flatten()
            .filter(|seq| self.entry_at(**seq).is_none())
            .count()
    }

    pub(crate) fn trace(&self, id: &TraceId) -> Option<Vec<Arc<Span>>> {
        let mut spans = self.traces.get(id)?.spans.clone();
        spans.sort_by_key(|s| s.start_time_unix_nano);
        Some(spans)
    }

    fn entry_at(&self, seq: u64) -> Option<&TraceEntry> {
        let i = self.order.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        self.traces.get(&self.order.get(i)?.1)
    }

    fn list(&self, key: &SpanKey) -> Candidates<'_> {
        Candidates::Lists(self.index.get(key).into_iter().collect())
    }

    fn candidates(&self, q: &TraceQuery) -> Candidates<'_> {
        let mut c = Candidates::All;
        if let Some(s) = &q.service {
            c = c.narrower(self.list(&SpanKey::Service(s.as_str().into())));
        }
        if let Some(n) = &q.span_name {
            c = c.narrower(self.list(&SpanKey::Name(n.as_str().into())));
        }
        if q.status == Some(StatusCode::Error) {
            c = c.narrower(self.list(&SpanKey::Error));
        }
        for (k, v) in &q.attributes {
            if self.indexed.covers(k) && v.len() <= self.max_value_len {
                c = c.narrower(self.list(&SpanKey::Attr(k.as_str().into(), v.as_str().into())));
            }
        }
        if matches!(c, Candidates::All) && (q.start.is_some() || q.end.is_some()) {
            let lo = (q.start.unwrap_or(0), 0);
            let hi = (q.end.unwrap_or(u64::MAX), u64::MAX);
            if lo <= hi {
                c = Candidates::Seqs(self.by_start.range(lo..=hi).map(|(_, s)| *s).collect());
            } else {
                c = Candidates::Seqs(Vec::new());
            }
        }
        c
    }

    fn matches(q: &TraceQuery, e: &TraceEntry) -> bool {
        q.start.is_none_or(|s| e.start >= s)
            && q.end.is_none_or(|t| e.start <= t)
            && e.spans.iter().any(|s| q.span_matches(s))
    }

    pub(crate) fn search(&self, q: &TraceQuery) -> Vec<TraceSummary> {
        let limit = q.limit();
        let entries: Box<dyn Iterator<Item = &TraceEntry>> = match self.candidates(q).newest_first()
        {
            Some(seqs) => Box::new(seqs.filter_map(|seq| self.entry_at(seq))),
            None => Box::new(
                self.order
                    .iter()
                    .rev()
                    .filter_map(|(_, id)| self.traces.get(id)),
            ),
        };
        entries
            .filter(|e| Self::matches(q, e))
            .take(limit)
            .map(summary)
            .collect()
    }

    /// The same search without indexes: every trace, newest first (tests compare the two).
    #[cfg(test)]
    pub(crate) fn scan(&self, q: &TraceQuery) -> Vec<TraceSummary> {
        self.order
            .iter()
            .rev()
            .filter_map(|(_, id)| self.traces.get(id))
            .filter(|e| Self::matches(q, e))
            .take(q.limit())
            .map(summary)
            .collect()
    }

    pub(crate) fn services(&self) -> impl Iterator<Item = (&str, usize)> {
        self.index.keys().filter_map(|k| match k {
            SpanKey::Service(s) => Some((&**s, self.index.get(k).map_or(0, BTreeSet::len))),
            _ => None,
        })
    }

    pub(crate) fn len(&self) -> (usize, usize, usize) {
        (self.traces.len(), self.spans, self.bytes)
    }
}

fn summary(e: &TraceEntry) -> TraceSummary {
    let root = e
        .spans
        .iter()
        .find(|s| s.parent_span_id.is_none())
        .or_else(|| e.spans.iter().min_by_key(|s| s.start_time_unix_nano));
    let end = e
        .spans
        .iter()
        .map(|s| s.end_time_unix_nano)
        .max()
        .unwrap_or(e.start);
    let mut services: Vec<String> = e.spans.iter().map(|s| s.service().to_owned()).collect();
    services.sort();
    services.dedup();
    TraceSummary {
        trace_id: root.map_or_else(TraceId::default, |s| s.trace_id),
        root_name: root.map(|s| s.name.clone()).unwrap_or_default(),
        root_service: root.map(|s| s.service().to_owned()).unwrap_or_default(),
        services,
        start_time_unix_nano: e.start,
        duration_nanos: end.saturating_sub(e.start),
        span_count: e.spans.len(),
        error_count: e
            .spans
            .iter()
            .filter(|s| s.status.code == StatusCode::Error)
            .count(),
    }
}
