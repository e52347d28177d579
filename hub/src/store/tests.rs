//! Seeded property tests: every indexed query returns exactly what a scan of the store does,
//! through inserts and evictions.

use std::sync::Arc;
use std::time::Duration;

use super::logs::LogStore;
use super::spans::SpanStore;
use super::Evicted;
use crate::config::{HubConfig, IndexedAttributes};
use crate::model::{
    Attributes, LogRecord, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
    Value,
};
use crate::query::{LogQuery, TraceQuery};

/// xorshift64*: small, seeded, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn maybe(&mut self) -> bool {
        self.below(2) == 0
    }
}

const SERVICES: &[&str] = &["checkout", "payments", "users"];
const NAMES: &[&str] = &["GET /a", "POST /b", "db.query", "charge"];
const ROUTES: &[&str] = &["/a", "/b", "/c"];
const WORDS: &[&str] = &["card", "declined", "retry", "ok", "timeout", "Card"];

fn resources() -> Vec<Arc<Resource>> {
    SERVICES
        .iter()
        .map(|s| {
            let mut r = Resource::for_service(*s);
            r.attributes.0.push((
                "deployment.environment".into(),
                Value::String(format!("env-{}", s.len() % 2)),
            ));
            Arc::new(r)
        })
        .collect()
}

fn random_span(rng: &mut Rng, resources: &[Arc<Resource>], traces: u64) -> Span {
    let trace = rng.below(traces) + 1;
    let start = rng.below(1_000_000);
    let mut attributes = vec![(
        "http.route".to_owned(),
        Value::String(rng.pick(ROUTES).into()),
    )];
    if rng.maybe() {
        attributes.push(("order.id".into(), Value::Int(rng.below(5) as i64)));
    }
    Span {
        trace_id: TraceId(u128::from(trace).to_be_bytes()),
        span_id: SpanId((rng.next() | 1).to_be_bytes()),
        parent_span_id: rng.maybe().then(|| SpanId(7u64.to_be_bytes())),
        name: rng.pick(NAMES).into(),
        kind: SpanKind::Internal,
        start_time_unix_nano: start,
        end_time_unix_nano: start + rng.below(10_000),
        status: Status {
            code: if rng.below(4) == 0 {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        attributes: Attributes(attributes),
        events: vec![],
        links: vec![],
        resource: Arc::clone(&resources[rng.below(resources.len() as u64) as usize]),
        scope: Arc::new(Scope::default()),
    }
}

fn random_trace_query(rng: &mut Rng) -> TraceQuery {
    let mut q = TraceQuery::default();
    if rng.maybe() {
        q.service = Some(rng.pick(SERVICES).into());
    }
    if rng.maybe() {
        q.span_name = Some(rng.pick(NAMES).into());
    }
    if rng.maybe() {
        q.attributes
            .push(("http.route".into(), rng.pick(ROUTES).into()));
    }
    if rng.below(4) == 0 {
        q.attributes
            .push(("order.id".into(), rng.below(5).to_string()));
    }
    if rng.below(4) == 0 {
        q.attributes
            .push(("deployment.environment".into(), "env-1".into()));
    }
    if rng.below(4) == 0 {
        q.min_duration = Some(Duration::from_nanos(rng.below(10_000)));
    }
    if rng.below(3) == 0 {
        q.status = Some(if rng.maybe() {
            StatusCode::Error
        } else {
            StatusCode::Unset
        });
    }
    if rng.below(3) == 0 {
        let a = rng.below(1_000_000);
        q.start = Some(a);
        q.end = Some(a + rng.below(500_000));
    }
    q.limit = Some(1 + rng.below(60) as usize);
    q
}

#[test]
fn trace_queries_return_what_a_scan_returns() {
    for seed in 1..=8u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let indexed = if seed % 2 == 0 {
            IndexedAttributes::All
        } else {
            IndexedAttributes::Keys(vec!["http.route".into()])
        };
        let config = HubConfig::builder()
            .max_traces(50)
            .max_spans(400)
            .indexed_attributes(indexed)
            .build();
        let mut store = SpanStore::new(&config);
        let resources = resources();
        let mut evicted = Evicted::default();
        for round in 0..20 {
            for _ in 0..100 {
                store.insert(
                    Arc::new(random_span(&mut rng, &resources, 120)),
                    &mut evicted,
                );
            }
            for _ in 0..25 {
                let q = random_trace_query(&mut rng);
                assert_eq!(
                    store.search(&q),
                    store.scan(&q),
                    "seed {seed} round {round}: {q:?}"
                );
            }
            // Evicting a trace removes every posting its spans (and their resources) added.
            assert_eq!(store.stale_postings(), 0, "seed {seed} round {round}");
        }
        let (traces, spans, _) = store.len();
        assert!(
            traces <= 50 && spans <= 400,
            "{traces} traces, {spans} spans"
        );
        assert!(evicted.traces > 0, "the test must exercise eviction");
    }
}

fn random_log(rng: &mut Rng, resources: &[Arc<Resource>], event: bool) -> LogRecord {
    let words: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(WORDS)).collect();
    LogRecord {
        time_unix_nano: rng.below(1_000_000),
        severity_number: rng.below(25) as u8,
        severity_text: None,
        body: Some(Value::String(words.join(" "))),
        attributes: Attributes(vec![(
            "http.route".into(),
            Value::String(rng.pick(ROUTES).into()),
        )]),
        event_name: event.then(|| rng.pick(NAMES).to_owned()),
        trace_id: rng
            .maybe()
            .then(|| TraceId(u128::from(rng.below(20) + 1).to_be_bytes())),
        span_id: None,
        resource: Arc::clone(&resources[rng.below(resources.len() as u64) as usize]),
        scope: Arc::new(Scope::default()),
    }
}

fn random_log_query(rng: &mut Rng) -> LogQuery {
    let mut q = LogQuery::default();
    if rng.maybe() {
        q.service = Some(rng.pick(SERVICES).into());
    }
    if rng.maybe() {
        q.min_severity = Some(rng.below(25) as u8);
    }
    if rng.below(3) == 0 {
        q.text = Some(format!(
            "{} {}",
            rng.pick(WORDS),
            if rng.maybe() { rng.pick(WORDS) } else { "" }
        ));
    }
    if rng.below(3) == 0 {
        q.trace_id = Some(TraceId(u128::from(rng.below(20) + 1).to_be_bytes()));
    }
    if rng.below(3) == 0 {
        q.event_name = Some(rng.pick(NAMES).into());
    }
    if rng.below(3) == 0 {
        q.attributes
            .push(("http.route".into(), rng.pick(ROUTES).into()));
    }
    if rng.below(3) == 0 {
        let a = rng.below(1_000_000);
        q.start = Some(a);
        q.end = Some(a + rng.below(300_000));
    }
    q.limit = Some(1 + rng.below(80) as usize);
    q
}

#[test]
fn log_queries_return_what_a_scan_returns() {
    for seed in 1..=8u64 {
        let mut rng = Rng(seed.wrapping_mul(0xd1b5_4a32_d192_ed03));
        let config = HubConfig::builder().build();
        let mut store = LogStore::new(&config, 300, 25);
        let resources = resources();
        let mut evicted = 0;
        for round in 0..20 {
            for _ in 0..100 {
                evicted += store.insert(Arc::new(random_log(&mut rng, &resources, seed % 2 == 0)));
            }
            for _ in 0..25 {
                let q = random_log_query(&mut rng);
                assert_eq!(
                    store.search(&q),
                    store.scan(&q),
                    "seed {seed} round {round}: {q:?}"
                );
            }
        }
        assert_eq!(store.len().0, 300);
        assert_eq!(evicted, 2000 - 300);
    }
}
