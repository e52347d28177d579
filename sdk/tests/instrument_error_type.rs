//! `error.type` from `#[beacon::instrument(err)]`: the enum variant when the error's `Debug`
//! names one, the error's own `beacon::ErrorType` when it has one, the type's name otherwise
//! (also for errors that are not `Debug`, and for those whose `Debug` is their message).

use std::fmt;

use beacon_test::{capture, span};

#[derive(Debug)]
enum OrderError {
    OutOfStock,
    Declined { reason: &'static str },
    Gateway(u16),
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderError::OutOfStock => f.write_str("out of stock"),
            OrderError::Declined { reason } => write!(f, "declined: {reason}"),
            OrderError::Gateway(code) => write!(f, "gateway answered {code}"),
        }
    }
}

#[beacon::instrument(err)]
fn order(case: u8) -> Result<(), OrderError> {
    Err(match case {
        0 => OrderError::OutOfStock,
        1 => OrderError::Declined { reason: "limit" },
        _ => OrderError::Gateway(503),
    })
}

struct Opaque;

impl fmt::Display for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("opaque failure")
    }
}

#[beacon::instrument(err)]
fn opaque() -> Result<(), Opaque> {
    Err(Opaque)
}

/// An error whose `Debug` is its message, as `anyhow::Error`'s is.
struct Chained(&'static str);

impl fmt::Debug for Chained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Chained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[beacon::instrument(err)]
fn chained() -> Result<(), Chained> {
    Err(Chained("Connection refused (os error 111)"))
}

#[derive(Debug)]
struct GatewayStatus(u16);

impl fmt::Display for GatewayStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gateway answered {}", self.0)
    }
}

impl beacon::ErrorType for GatewayStatus {
    fn error_type(&self) -> String {
        format!("gateway.{}", self.0)
    }
}

#[beacon::instrument(err)]
fn gateway() -> Result<(), GatewayStatus> {
    Err(GatewayStatus(502))
}

#[tokio::test]
async fn error_type_names_the_variant_or_what_the_error_says() {
    let cap = capture();
    for case in 0..3 {
        let _ = order(case);
    }
    let _ = opaque();
    let _ = chained();
    let _ = gateway();
    for (name, expected) in [
        ("order", "OrderError::OutOfStock"),
        ("order", "OrderError::Declined"),
        ("order", "OrderError::Gateway"),
        ("opaque", "Opaque"),
        ("chained", "Chained"),
        ("gateway", "gateway.502"),
    ] {
        cap.wait_for_span(span::named(name).attr("error.type", expected).error())
            .await
            .unwrap_or_else(|e| panic!("{name}: {expected}: {e}"));
    }
}
