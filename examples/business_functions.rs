//! Business functions: an order/payment flow with `#[beacon::instrument]`, a service-level
//! objective and typed domain events for a circuit breaker and a retry loop.
//!
//! ```text
//! cargo run -p beacon-examples --example business_functions   # telemetry printed to the console
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
//!     cargo run -p beacon-examples --example business_functions   # sent to a collector
//! ```
//!
//! `place_order` (async, `metrics`, `objective = CHECKOUT`, `err`) calls `reserve_stock` (sync)
//! and `charge_card`, which retries `PaymentGateway::charge` (an instrumented method, span kind
//! client) with backoff behind a hand-written circuit breaker. The gateway is scripted by order
//! id, so every run tells the same story: a clean order, a flaky one that succeeds on retry, one
//! whose retries run out and trip the breaker, one refused while the breaker is open, one that
//! closes it again after the cool-down, a declined card and an item out of stock.
//!
//! Look for the `SPAN place_order` / `SPAN payment_gateway.charge` lines, the `LOG` lines whose
//! `event.name` is `circuit_breaker.state_change`, `retry.attempt`, `retry.exhausted` or
//! `payment.charged` (its card number `REDACTED`), and the `function.calls` and `beacon.events`
//! metrics (the `function.calls` series of `place_order` carry the `objective.*` labels).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use beacon::slo::Objective;

/// The checkout flow: 99.9 % of orders succeed, 99 % finish within 250 ms.
const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(99.9)
    .latency(0.25, 99.0);

/// Consecutive failures that open the breaker, and how long it stays open.
const TRIP_AFTER: u32 = 3;
const COOL_DOWN: Duration = Duration::from_millis(30);
/// Gateway calls per payment, and the delay before the first retry (doubled each time).
const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        })
    }
}

#[derive(beacon::Event)]
#[event(name = "circuit_breaker.state_change", severity = "warn")]
struct CircuitStateChanged {
    breaker: &'static str,
    #[event(display)]
    from: BreakerState,
    #[event(display)]
    to: BreakerState,
    failures: u32,
}

#[derive(beacon::Event)]
#[event(name = "retry.attempt", severity = "warn")]
struct RetryAttempted {
    operation: &'static str,
    attempt: u32,
    delay_ms: u64,
}

#[derive(beacon::Event)]
#[event(name = "retry.exhausted", severity = "error")]
struct RetriesExhausted {
    operation: &'static str,
    attempts: u32,
}

#[derive(beacon::Event)]
#[event(name = "payment.charged")]
struct PaymentCharged {
    #[event(rename = "order.id")]
    order_id: u64,
    amount: f64,
    #[event(sensitive)]
    card_number: String,
}

#[derive(Debug)]
enum PaymentError {
    /// The gateway did not answer in time: worth retrying.
    Unavailable,
    /// The bank said no: retrying will not change that.
    Declined,
    /// The breaker is open: the gateway is not called at all.
    CircuitOpen,
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "payment gateway unavailable",
            Self::Declined => "card declined",
            Self::CircuitOpen => "payment circuit open",
        })
    }
}

#[derive(Debug)]
enum OrderError {
    OutOfStock(&'static str),
    Payment(PaymentError),
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfStock(sku) => write!(f, "{sku} is out of stock"),
            Self::Payment(e) => write!(f, "payment failed: {e}"),
        }
    }
}

impl std::error::Error for OrderError {}

impl From<PaymentError> for OrderError {
    fn from(e: PaymentError) -> Self {
        Self::Payment(e)
    }
}

struct Order {
    id: u64,
    sku: &'static str,
    amount: f64,
    card_number: &'static str,
}

/// Closed → open after `TRIP_AFTER` consecutive failures → half-open after `COOL_DOWN` →
/// closed on the next success (or open again on the next failure).
struct CircuitBreaker {
    name: &'static str,
    inner: Mutex<Breaker>,
}

struct Breaker {
    state: BreakerState,
    failures: u32,
    opened_at: Instant,
}

impl CircuitBreaker {
    fn new(name: &'static str) -> Self {
        let inner = Mutex::new(Breaker {
            state: BreakerState::Closed,
            failures: 0,
            opened_at: Instant::now(),
        });
        Self { name, inner }
    }

    fn lock(&self) -> MutexGuard<'_, Breaker> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn move_to(&self, inner: &mut Breaker, to: BreakerState) {
        let from = std::mem::replace(&mut inner.state, to);
        if to == BreakerState::Open {
            inner.opened_at = Instant::now();
        }
        let (breaker, failures) = (self.name, inner.failures);
        beacon::emit(CircuitStateChanged {
            breaker,
            from,
            to,
            failures,
        });
    }

    /// Whether a call may go through now.
    fn allow(&self) -> bool {
        let mut inner = self.lock();
        if inner.state == BreakerState::Open && inner.opened_at.elapsed() >= COOL_DOWN {
            self.move_to(&mut inner, BreakerState::HalfOpen);
        }
        inner.state != BreakerState::Open
    }

    fn record(&self, success: bool) {
        let mut inner = self.lock();
        if success {
            inner.failures = 0;
            if inner.state != BreakerState::Closed {
                self.move_to(&mut inner, BreakerState::Closed);
            }
        } else {
            inner.failures += 1;
            let trip = inner.state == BreakerState::HalfOpen || inner.failures >= TRIP_AFTER;
            if trip && inner.state != BreakerState::Open {
                self.move_to(&mut inner, BreakerState::Open);
            }
        }
    }
}

/// A simulated payment provider: scripted per order id, no randomness.
struct PaymentGateway {
    /// Order id → how many more calls time out before one succeeds.
    flaky: Mutex<HashMap<u64, u32>>,
}

impl PaymentGateway {
    #[beacon::instrument(name = "payment_gateway.charge", kind = "client", err, metrics,
        skip_all, fields(order.id = order.id, payment.amount = order.amount))]
    async fn charge(&self, order: &Order) -> Result<String, PaymentError> {
        // A deliberate sleep: the simulated network round trip.
        tokio::time::sleep(Duration::from_millis(1)).await;
        if order.card_number.ends_with("0002") {
            return Err(PaymentError::Declined);
        }
        let mut flaky = self.flaky.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(left @ 1..) = flaky.get_mut(&order.id) {
            *left -= 1;
            return Err(PaymentError::Unavailable);
        }
        Ok(format!("ch_{}", order.id))
    }
}

/// Charges through the breaker, retrying what is worth retrying with exponential backoff.
#[beacon::instrument(skip_all, fields(order.id = order.id), err)]
async fn charge_card(shop: &Shop, order: &Order) -> Result<String, PaymentError> {
    let mut delay = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        if !shop.breaker.allow() {
            return Err(PaymentError::CircuitOpen);
        }
        let result = shop.gateway.charge(order).await;
        // A decline is the customer's problem, not the gateway's: it does not trip the breaker.
        shop.breaker
            .record(!matches!(result, Err(PaymentError::Unavailable)));
        match result {
            Err(PaymentError::Unavailable) if attempt < MAX_ATTEMPTS => {
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                let operation = "payment_gateway.charge";
                beacon::emit(RetryAttempted {
                    operation,
                    attempt,
                    delay_ms,
                });
                // A deliberate sleep: the backoff is the behaviour being shown.
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(PaymentError::Unavailable) => {
                let operation = "payment_gateway.charge";
                beacon::emit(RetriesExhausted {
                    operation,
                    attempts: attempt,
                });
                return result;
            }
            other => return other,
        }
    }
    Err(PaymentError::Unavailable)
}

/// Takes one unit of the order's item off the shelf.
#[beacon::instrument(skip_all, fields(order.id = order_id, order.sku = sku), err)]
fn reserve_stock(
    stock: &mut HashMap<&'static str, u32>,
    order_id: u64,
    sku: &'static str,
) -> Result<u32, OrderError> {
    match stock.get_mut(sku) {
        Some(left @ 1..) => {
            *left -= 1;
            Ok(*left)
        }
        _ => Err(OrderError::OutOfStock(sku)),
    }
}

struct Shop {
    stock: Mutex<HashMap<&'static str, u32>>,
    gateway: PaymentGateway,
    breaker: CircuitBreaker,
}

#[beacon::instrument(skip_all, fields(order.id = order.id, order.sku = order.sku),
    err, metrics, objective = CHECKOUT)]
async fn place_order(shop: &Shop, order: Order) -> Result<String, OrderError> {
    {
        let mut stock = shop.stock.lock().unwrap_or_else(PoisonError::into_inner);
        reserve_stock(&mut stock, order.id, order.sku)?;
    }
    let charge_id = charge_card(shop, &order).await?;
    beacon::emit(PaymentCharged {
        order_id: order.id,
        amount: order.amount,
        card_number: order.card_number.to_owned(),
    });
    tracing::info!(order.id = order.id, charge.id = %charge_id, "order placed");
    Ok(charge_id)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otlp_set = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some());
    let mut builder = beacon::builder().service_version(env!("CARGO_PKG_VERSION"));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("business-functions");
    }
    // No backend configured: print every signal, without the process and runtime metrics so
    // the output is about the orders. Otherwise the OTEL_* variables decide.
    if !otlp_set {
        builder = builder
            .console()
            .collectors(beacon::collectors::Collectors::none());
    }
    let telemetry = builder.try_init()?;

    let shop = Shop {
        stock: Mutex::new(HashMap::from([("espresso-beans", 10), ("grinder", 0)])),
        gateway: PaymentGateway {
            flaky: Mutex::new(HashMap::from([(1002, 1), (1003, u32::MAX)])),
        },
        breaker: CircuitBreaker::new("payment_gateway"),
    };
    let order = |id, sku, card_number| Order {
        id,
        sku,
        amount: 24.5,
        card_number,
    };
    let beans = "espresso-beans";
    let (good_card, declined_card) = ("4242 4242 4242 4242", "4000 0000 0000 0002");
    let script = [
        order(1001, beans, good_card),     // paid at once
        order(1002, beans, good_card),     // gateway times out once, the retry succeeds
        order(1003, beans, good_card),     // gateway down: retries run out, breaker opens
        order(1004, beans, good_card),     // refused at once: the breaker is open
        order(1005, beans, good_card),     // after the cool-down: half-open, then closed
        order(1006, beans, declined_card), // declined: not retried, breaker unaffected
        order(1007, "grinder", good_card), // out of stock: never reaches the gateway
    ];
    let (mut placed, mut failed) = (0, 0);
    for order in script {
        if order.id == 1005 {
            // A deliberate sleep: time passing lets the breaker's cool-down run out.
            tokio::time::sleep(COOL_DOWN).await;
        }
        let id = order.id;
        match place_order(&shop, order).await {
            Ok(charge) => {
                placed += 1;
                println!("order {id}: placed ({charge})");
            }
            Err(e) => {
                failed += 1;
                println!("order {id}: failed: {e}");
            }
        }
    }

    // Flush every signal (the console lines appear now). A collector that cannot be reached
    // is reported, not a crash.
    let flushed = telemetry.shutdown();
    println!("business_functions: {placed} orders placed, {failed} failed");
    match flushed {
        Ok(stats) => println!(
            "telemetry: exported {} spans and {} log records, {} lost",
            stats.traces.exported,
            stats.logs.exported,
            stats.lost()
        ),
        Err(e) => eprintln!("{e}"),
    }
    Ok(())
}
