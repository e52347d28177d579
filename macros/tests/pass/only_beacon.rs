//! A crate that depends on `beacon` alone: every option of `#[beacon::instrument]` on every
//! function shape, and a derived event. Runs too, with a pipeline installed, so the spans and
//! metrics are really created.

use std::fmt;

const CHECKOUT: beacon::slo::Objective = beacon::slo::Objective::new("checkout")
    .success_rate(99.9)
    .latency(0.25, 99.0);

#[derive(Debug)]
struct Declined;

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("declined")
    }
}

#[beacon::instrument(
    name = "checkout.charge",
    level = "info",
    target = "shop",
    skip(card),
    fields(order.id = order, currency = "EUR", ?card_kind, note),
    kind = "client",
    err,
    ret,
    metrics,
    objective = CHECKOUT
)]
async fn charge(order: u64, card: &str, card_kind: Kind) -> Result<u64, Declined> {
    let _ = (card, card_kind);
    Ok(order)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Debit,
}

#[beacon::instrument(skip_all, parent = cx)]
fn handle(cx: &beacon::otel::api::Context, body: impl AsRef<str>) -> usize {
    body.as_ref().len()
}

#[beacon::instrument(metrics, error_if = Option::is_none, level = "debug")]
fn generic<T: fmt::Debug + Clone>(item: &T) -> Option<T> {
    Some(item.clone())
}

fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[beacon::instrument(err)]
async fn with_question_mark(text: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let n = parse(text)?;
    Ok(n + 1)
}

struct Cart(Vec<u32>);

impl Cart {
    #[beacon::instrument(skip(self), err)]
    fn total(&self) -> Result<u32, Declined> {
        Ok(self.0.iter().sum())
    }

    #[beacon::instrument(skip(self), metrics)]
    async fn clear(mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

#[async_trait::async_trait]
trait Store {
    async fn load(&self, id: u64) -> Result<String, Declined>;
}

#[async_trait::async_trait]
impl Store for Cart {
    #[beacon::instrument(skip(self), err, metrics)]
    async fn load(&self, id: u64) -> Result<String, Declined> {
        Ok(format!("{id}"))
    }
}

#[derive(beacon::Event)]
#[event(name = "cart.cleared", severity = "warn")]
struct Cleared {
    items: usize,
    #[event(display)]
    kind: String,
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn main() {
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(beacon::config::Exporter::None)
        .metrics_exporter(beacon::config::Exporter::None)
        .logs_exporter(beacon::config::Exporter::None)
        .try_init()
        .expect("beacon installs");
    assert_eq!(block_on(charge(1, "4242", Kind::Debit)).ok(), Some(1));
    assert_eq!(handle(&beacon::otel::api::Context::new(), "hi"), 2);
    assert_eq!(generic(&3_u8), Some(3));
    assert_eq!(block_on(with_question_mark("41")).ok(), Some(42));
    assert!(block_on(with_question_mark("x")).is_err());
    let cart = Cart(vec![1, 2]);
    assert_eq!(cart.total().ok(), Some(3));
    assert_eq!(block_on(cart.load(7)).ok().as_deref(), Some("7"));
    assert_eq!(block_on(cart.clear()), 2);
    beacon::emit(Cleared {
        items: 2,
        kind: "manual".to_owned(),
    });
    telemetry.shutdown().expect("shutdown");
}
