//! Log records (and, in a second instance, domain events): a ring evicted oldest first.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use super::postings::{Candidates, Postings, ENTRY_BYTES};
use super::spans::attr_key;
use crate::config::{HubConfig, IndexedAttributes};
use crate::model::{LogRecord, TraceId};
use crate::query::LogQuery;

/// Words of a body that count for text search.
const MAX_WORDS: usize = 64;
/// Longer words are not indexed (nor matched).
const MAX_WORD_LEN: usize = 64;

/// The words of `text` as text search sees them: runs of letters and digits, lowercased, at
/// most the first [`MAX_WORDS`], none longer than [`MAX_WORD_LEN`] bytes.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .filter(|w| w.len() <= MAX_WORD_LEN)
        .map(str::to_lowercase)
}

#[derive(Debug, Hash, PartialEq, Eq)]
enum LogKey {
    Service(Box<str>),
    Trace(TraceId),
    Severity(u8),
    Word(Box<str>),
    Event(Box<str>),
    Attr(Box<str>, Box<str>),
}

#[derive(Debug)]
pub(crate) struct LogStore {
    items: VecDeque<(Arc<LogRecord>, usize)>,
    first_seq: u64,
    index: Postings<LogKey>,
    by_time: BTreeSet<(u64, u64)>,
    bytes: usize,
    max_items: usize,
    budget: usize,
    max_value_len: usize,
    indexed: IndexedAttributes,
}

impl LogStore {
    pub(crate) fn new(config: &HubConfig, max_items: usize, budget_percent: usize) -> Self {
        Self {
            items: VecDeque::new(),
            first_seq: 0,
            index: Postings::default(),
            by_time: BTreeSet::new(),
            bytes: 0,
            max_items,
            budget: config.budget(budget_percent),
            max_value_len: config.max_indexed_value_len,
            indexed: config.indexed_attributes.clone(),
        }
    }

    fn keys(&self, r: &LogRecord) -> Vec<LogKey> {
        let mut keys = vec![
            LogKey::Service(r.service().into()),
            LogKey::Severity(r.severity_number),
        ];
        if let Some(t) = r.trace_id {
            keys.push(LogKey::Trace(t));
        }
        if let Some(e) = &r.event_name {
            keys.push(LogKey::Event(e.as_str().into()));
        }
        let mut seen = HashSet::new();
        for w in words(&r.body_text()) {
            if seen.insert(w.clone()) {
                keys.push(LogKey::Word(w.into_boxed_str()));
            }
        }
        for (k, v) in r.attributes.iter().chain(r.resource.attributes.iter()) {
            if let Some((k, v)) = attr_key(&self.indexed, self.max_value_len, k, v) {
                keys.push(LogKey::Attr(k, v));
            }
        }
        keys
    }

    /// Stores `record`, evicting the oldest while over a bound; returns how many went.
    pub(crate) fn insert(&mut self, record: Arc<LogRecord>) -> u64 {
        let seq = self.first_seq + self.items.len() as u64;
        let mut bytes = record.size() + std::mem::size_of::<(Arc<LogRecord>, usize)>();
        for key in self.keys(&record) {
            if self.index.insert(key, seq) {
                bytes += ENTRY_BYTES;
            }
        }
        self.by_time.insert((record.time_unix_nano, seq));
        bytes += ENTRY_BYTES;
        self.items.push_back((record, bytes));
        self.bytes += bytes;
        let mut evicted = 0;
        while self.items.len() > self.max_items
            || (self.bytes > self.budget && !self.items.is_empty())
        {
            let seq = self.first_seq;
            let Some((old, bytes)) = self.items.pop_front() else {
                break;
            };
            for key in self.keys(&old) {
                self.index.remove(&key, seq);
            }
            self.by_time.remove(&(old.time_unix_nano, seq));
            self.bytes -= bytes;
            self.first_seq += 1;
            evicted += 1;
        }
        evicted
    }

    fn get(&self, seq: u64) -> Option<&Arc<LogRecord>> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.items.get(i).map(|(r, _)| r)
    }

    fn list(&self, key: &LogKey) -> Candidates<'_> {
        Candidates::Lists(self.index.get(key).into_iter().collect())
    }

    fn candidates(&self, q: &LogQuery) -> Candidates<'_> {
        let mut c = Candidates::All;
        if let Some(s) = &q.service {
            c = c.narrower(self.list(&LogKey::Service(s.as_str().into())));
        }
        if let Some(t) = q.trace_id {
            c = c.narrower(self.list(&LogKey::Trace(t)));
        }
        if let Some(e) = &q.event_name {
            c = c.narrower(self.list(&LogKey::Event(e.as_str().into())));
        }
        if let Some(min) = q.min_severity {
            let lists = (min..=24)
                .filter_map(|n| self.index.get(&LogKey::Severity(n)))
                .collect();
            c = c.narrower(Candidates::Lists(lists));
        }
        if let Some(text) = &q.text {
            for w in words(text) {
                c = c.narrower(self.list(&LogKey::Word(w.into_boxed_str())));
            }
        }
        for (k, v) in &q.attributes {
            if self.indexed.covers(k) && v.len() <= self.max_value_len {
                c = c.narrower(self.list(&LogKey::Attr(k.as_str().into(), v.as_str().into())));
            }
        }
        if matches!(c, Candidates::All) && (q.start.is_some() || q.end.is_some()) {
            let lo = (q.start.unwrap_or(0), 0);
            let hi = (q.end.unwrap_or(u64::MAX), u64::MAX);
            c = Candidates::Seqs(if lo <= hi {
                self.by_time.range(lo..=hi).map(|(_, s)| *s).collect()
            } else {
                Vec::new()
            });
        }
        c
    }

    fn matches(q: &LogQuery, r: &LogRecord) -> bool {
        q.service.as_deref().is_none_or(|s| r.service() == s)
            && q.trace_id.is_none_or(|t| r.trace_id == Some(t))
            && q.event_name
                .as_deref()
                .is_none_or(|e| r.event_name.as_deref() == Some(e))
            && q.min_severity.is_none_or(|m| r.severity_number >= m)
            && q.start.is_none_or(|s| r.time_unix_nano >= s)
            && q.end.is_none_or(|e| r.time_unix_nano <= e)
            && q.attributes.iter().all(|(k, v)| r.has_attribute(k, v))
            && q.text.as_deref().is_none_or(|t| {
                let body: HashSet<String> = words(&r.body_text()).collect();
                words(t).all(|w| body.contains(&w))
            })
    }

    pub(crate) fn search(&self, q: &LogQuery) -> Vec<Arc<LogRecord>> {
        let limit = q.limit();
        let records: Box<dyn Iterator<Item = &Arc<LogRecord>>> =
            match self.candidates(q).newest_first() {
                Some(seqs) => Box::new(seqs.filter_map(|s| self.get(s))),
                None => Box::new(self.items.iter().rev().map(|(r, _)| r)),
            };
        records
            .filter(|r| Self::matches(q, r))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The same search without indexes (tests compare the two).
    #[cfg(test)]
    pub(crate) fn scan(&self, q: &LogQuery) -> Vec<Arc<LogRecord>> {
        self.items
            .iter()
            .rev()
            .map(|(r, _)| r)
            .filter(|r| Self::matches(q, r))
            .take(q.limit())
            .cloned()
            .collect()
    }

    /// Every record of trace `id`, oldest first.
    pub(crate) fn for_trace(&self, id: TraceId) -> Vec<Arc<LogRecord>> {
        self.index
            .get(&LogKey::Trace(id))
            .into_iter()
            .flatten()
            .filter_map(|s| self.get(*s).cloned())
            .collect()
    }

    pub(crate) fn services(&self) -> impl Iterator<Item = (&str, usize)> {
        self.index.keys().filter_map(|k| match k {
            LogKey::Service(s) => Some((&**s, self.index.get(k).map_or(0, BTreeSet::len))),
            _ => None,
        })
    }

    /// Distinct event names with their counts, sorted by name.
    pub(crate) fn event_names(&self) -> Vec<(String, usize)> {
        let mut names: Vec<(String, usize)> = self
            .index
            .keys()
            .filter_map(|k| match k {
                LogKey::Event(e) => {
                    Some((e.to_string(), self.index.get(k).map_or(0, BTreeSet::len)))
                }
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    pub(crate) fn len(&self) -> (usize, usize) {
        (self.items.len(), self.bytes)
    }
}
