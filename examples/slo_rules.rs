//! Writes the Prometheus rules for the examples' service-level objectives.
//!
//! ```text
//! cargo run -p beacon-examples --example slo_rules            # deploy/prometheus/slo-rules.yaml
//! cargo run -p beacon-examples --example slo_rules -- out.yaml
//! ```
//!
//! `promtool check rules deploy/prometheus/slo-rules.yaml` and
//! `promtool test rules deploy/prometheus/slo-rules.test.yaml` validate them (the CI does).

use beacon::slo::{prometheus_rules, Objective};

/// The checkout flow: 99.9 % of calls succeed, 99 % finish within 250 ms.
pub const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(99.9)
    .latency(0.25, 99.0);

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/prometheus/slo-rules.yaml"
        )
        .to_owned()
    });
    std::fs::write(&path, prometheus_rules(&[CHECKOUT]))?;
    println!("wrote {path}");
    Ok(())
}
