//! Every option of `#[beacon::instrument]` together, on the shapes users write: free, async,
//! generic, `impl Trait`, methods on `self`, and an `#[async_trait]` impl.

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
    fields(order.id = order),
    kind = "client",
    err,
    ret,
    metrics,
    objective = CHECKOUT
)]
async fn charge(order: u64, card: &str) -> Result<u64, Declined> {
    let _ = card;
    Ok(order)
}

#[beacon::instrument(skip_all, parent = cx)]
fn handle(cx: &opentelemetry::Context, body: impl AsRef<str>) -> usize {
    body.as_ref().len()
}

#[beacon::instrument(metrics)]
fn generic<T: fmt::Debug + Clone>(item: &T) -> T {
    item.clone()
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

fn main() {
    let _ = charge(1, "4242");
    let _ = handle(&opentelemetry::Context::new(), "hi");
    let _ = generic(&3_u8);
    let cart = Cart(vec![1, 2]);
    let _ = cart.total();
    let _ = cart.load(1);
    let _ = cart.clear();
}
