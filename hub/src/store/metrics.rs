//! Metric time series: one point per collection per series, within a window.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::config::HubConfig;
use crate::model::{Attributes, MetricKind, MetricPoint, MetricSample, Resource};
use crate::query::{MetricInfo, SeriesQuery, SeriesView};

#[derive(Debug, Hash, PartialEq, Eq, Clone)]
struct SeriesKey {
    service: Box<str>,
    name: Box<str>,
    attributes: String,
}

fn canonical(attrs: &Attributes) -> String {
    let mut pairs: Vec<(&str, String)> = attrs
        .iter()
        .map(|(k, v)| (k, v.to_display_string()))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(k);
        out.push('\u{1f}');
        out.push_str(&v);
        out.push('\u{1e}');
    }
    out
}

#[derive(Debug)]
struct Series {
    key: SeriesKey,
    description: String,
    unit: String,
    kind: MetricKind,
    attributes: Attributes,
    resource: Arc<Resource>,
    points: VecDeque<MetricPoint>,
    bytes: usize,
    touched: u64,
}

#[derive(Debug)]
pub(crate) struct MetricStore {
    ids: HashMap<SeriesKey, u64>,
    series: HashMap<u64, Series>,
    lru: BTreeSet<(u64, u64)>,
    by_name: HashMap<Box<str>, BTreeSet<u64>>,
    next_id: u64,
    tick: u64,
    bytes: usize,
    points: usize,
    max_series: usize,
    max_points: usize,
    window_nanos: u64,
    budget: usize,
}

impl MetricStore {
    pub(crate) fn new(config: &HubConfig) -> Self {
        Self {
            ids: HashMap::new(),
            series: HashMap::new(),
            lru: BTreeSet::new(),
            by_name: HashMap::new(),
            next_id: 0,
            tick: 0,
            bytes: 0,
            points: 0,
            max_series: config.max_series,
            max_points: config.max_points_per_series,
            window_nanos: u64::try_from(config.metric_window.as_nanos()).unwrap_or(u64::MAX),
            budget: config.budget(15),
        }
    }

    /// Adds a point; returns `(points evicted, series evicted)`.
    pub(crate) fn insert(&mut self, sample: &MetricSample) -> (u64, u64) {
        let key = SeriesKey {
            service: sample.service().into(),
            name: sample.name.as_str().into(),
            attributes: canonical(&sample.attributes),
        };
        self.tick += 1;
        let tick = self.tick;
        let id = match self.ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let bytes = std::mem::size_of::<Series>()
                    + 2 * (key.name.len() + key.service.len() + key.attributes.len())
                    + sample.attributes.heap_size()
                    + sample.description.capacity()
                    + sample.unit.capacity()
                    + 64;
                self.ids.insert(key.clone(), id);
                self.by_name.entry(key.name.clone()).or_default().insert(id);
                self.series.insert(
                    id,
                    Series {
                        key,
                        description: sample.description.clone(),
                        unit: sample.unit.clone(),
                        kind: sample.kind,
                        attributes: sample.attributes.clone(),
                        resource: Arc::clone(&sample.resource),
                        points: VecDeque::new(),
                        bytes,
                        touched: tick,
                    },
                );
                self.lru.insert((tick, id));
                self.bytes += bytes;
                id
            }
        };
        let mut dropped_points = 0;
        if let Some(s) = self.series.get_mut(&id) {
            self.lru.remove(&(s.touched, id));
            s.touched = tick;
            self.lru.insert((tick, id));
            s.kind = sample.kind;
            let point = sample.point.clone();
            let size = point.size();
            // One point per collection: a point at the same time replaces the last one.
            match s.points.back_mut() {
                Some(last) if last.time_unix_nano == point.time_unix_nano => {
                    let old = last.size();
                    *last = point;
                    s.bytes = s.bytes + size - old;
                    self.bytes = self.bytes + size - old;
                }
                _ => {
                    // Keep time order: a late point goes where it belongs.
                    let at = s
                        .points
                        .iter()
                        .rposition(|p| p.time_unix_nano < point.time_unix_nano)
                        .map_or(0, |i| i + 1);
                    s.points.insert(at, point);
                    s.bytes += size;
                    self.bytes += size;
                    self.points += 1;
                }
            }
            let newest = s.points.back().map_or(0, |p| p.time_unix_nano);
            let oldest_kept = newest.saturating_sub(self.window_nanos);
            while s.points.len() > self.max_points
                || s.points
                    .front()
                    .is_some_and(|p| p.time_unix_nano < oldest_kept)
            {
                if let Some(p) = s.points.pop_front() {
                    s.bytes -= p.size();
                    self.bytes -= p.size();
                    self.points -= 1;
                    dropped_points += 1;
                }
            }
        }
        let mut dropped_series = 0;
        while self.series.len() > self.max_series
            || (self.bytes > self.budget && self.series.len() > 1)
        {
            let Some(&(t, oldest)) = self.lru.iter().next() else {
                break;
            };
            self.lru.remove(&(t, oldest));
            if let Some(s) = self.series.remove(&oldest) {
                self.ids.remove(&s.key);
                if let Some(set) = self.by_name.get_mut(&s.key.name) {
                    set.remove(&oldest);
                    if set.is_empty() {
                        self.by_name.remove(&s.key.name);
                    }
                }
                self.bytes -= s.bytes;
                self.points -= s.points.len();
                dropped_points += s.points.len() as u64;
                dropped_series += 1;
            }
        }
        (dropped_points, dropped_series)
    }

    pub(crate) fn names(&self, service: Option<&str>) -> Vec<MetricInfo> {
        let mut out: Vec<MetricInfo> = Vec::new();
        for (name, ids) in &self.by_name {
            let mut info: Option<MetricInfo> = None;
            for s in ids.iter().filter_map(|id| self.series.get(id)) {
                if service.is_some_and(|svc| *s.key.service != *svc) {
                    continue;
                }
                let i = info.get_or_insert_with(|| MetricInfo {
                    name: name.to_string(),
                    unit: s.unit.clone(),
                    description: s.description.clone(),
                    kind: s.kind,
                    services: Vec::new(),
                    series: 0,
                });
                i.series += 1;
                if !i.services.iter().any(|x| **x == *s.key.service) {
                    i.services.push(s.key.service.to_string());
                }
            }
            if let Some(mut i) = info {
                i.services.sort();
                out.push(i);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub(crate) fn series(&self, q: &SeriesQuery) -> Vec<SeriesView> {
        let Some(ids) = self.by_name.get(q.name.as_str()) else {
            return Vec::new();
        };
        let mut out: Vec<SeriesView> = ids
            .iter()
            .filter_map(|id| self.series.get(id))
            .filter(|s| {
                q.service
                    .as_deref()
                    .is_none_or(|svc| *s.key.service == *svc)
            })
            .filter(|s| {
                q.attributes
                    .iter()
                    .all(|(k, v)| s.attributes.has(k, v) || s.resource.attributes.has(k, v))
            })
            .map(|s| SeriesView {
                service: s.key.service.to_string(),
                name: s.key.name.to_string(),
                unit: s.unit.clone(),
                kind: s.kind,
                attributes: s.attributes.clone(),
                points: s
                    .points
                    .iter()
                    .filter(|p| q.start.is_none_or(|t| p.time_unix_nano >= t))
                    .filter(|p| q.end.is_none_or(|t| p.time_unix_nano <= t))
                    .cloned()
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.service.as_str(), canonical(&a.attributes))
                .cmp(&(b.service.as_str(), canonical(&b.attributes)))
        });
        out
    }

    pub(crate) fn services(&self) -> HashMap<&str, usize> {
        let mut out = HashMap::new();
        for s in self.series.values() {
            *out.entry(&*s.key.service).or_insert(0) += 1;
        }
        out
    }

    pub(crate) fn len(&self) -> (usize, usize, usize) {
        (self.series.len(), self.points, self.bytes)
    }
}
