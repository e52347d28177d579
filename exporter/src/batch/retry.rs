//! Which export failures are worth another try, per the OTLP specification.
//!
//! `opentelemetry-otlp` 0.33 reports every failure as `OTelSdkError::InternalFailure(String)`
//! after its own retries, with no typed cause, so the cause is read from its message formats
//! ("… failed with gRPC code: Unavailable", "HTTP export failed with status code: 503",
//! "HTTP export failed: network error"). The unit tests pin those formats; if a release
//! changes them, the tests say so rather than Beacon silently retrying a bad request.

use opentelemetry_sdk::error::OTelSdkError;

/// True when the OTLP spec allows sending the same data again.
pub(super) fn is_retryable(err: &OTelSdkError) -> bool {
    match err {
        OTelSdkError::Timeout(_) => true,
        OTelSdkError::InternalFailure(message) => retryable_message(message),
        _ => false,
    }
}

fn retryable_message(message: &str) -> bool {
    if let Some(rest) = message.split("gRPC code: ").nth(1) {
        let code = rest
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        // tonic reports a connection that broke under a request (reset, broken pipe) as
        // UNKNOWN with a transport error: no server said anything, so it is a connection
        // failure like UNAVAILABLE, not a refusal.
        if code == "Unknown" && rest.contains("transport error") {
            return true;
        }
        // RESOURCE_EXHAUSTED is retryable only with RetryInfo, which opentelemetry-otlp has
        // already honoured in its own retries; Beacon does not keep it.
        return matches!(
            code,
            "Cancelled"
                | "DeadlineExceeded"
                | "Aborted"
                | "OutOfRange"
                | "Unavailable"
                | "DataLoss"
        );
    }
    if message.contains("HTTP export failed: network error") {
        return true;
    }
    if let Some(rest) = message.split("status code: ").nth(1) {
        let code = rest
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("");
        return matches!(code, "429" | "502" | "503" | "504");
    }
    // Transport errors that carry no OTLP status (connection refused before a response).
    message.contains("transport error") || message.contains("Connection refused")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(m: &str) -> OTelSdkError {
        OTelSdkError::InternalFailure(m.to_owned())
    }

    #[test]
    fn the_spec_retryable_set_is_kept_and_nothing_else() {
        for m in [
            "TonicTracesClient export failed with gRPC code: Unavailable: transport error",
            "TonicLogsClient export failed with gRPC code: DeadlineExceeded",
            "TonicTracesClient export failed with gRPC code: Aborted",
            "TonicTracesClient export failed with gRPC code: Cancelled",
            "TonicTracesClient export failed with gRPC code: OutOfRange",
            "TonicTracesClient export failed with gRPC code: DataLoss",
            "HTTP export failed: network error",
            "HTTP export failed with status code: 429",
            "HTTP export failed with status code: 502",
            "HTTP export failed with status code: 503",
            "HTTP export failed with status code: 504",
            // A connection that broke under the request (seen against a collector that hung
            // and was reset): tonic says UNKNOWN, but no server answered.
            "TonicTracesClient export failed with gRPC code: Unknown: transport error: connection error: stream closed because of a broken pipe",
        ] {
            assert!(is_retryable(&internal(m)), "{m}");
        }
        for m in [
            "TonicTracesClient export failed with gRPC code: InvalidArgument",
            "TonicTracesClient export failed with gRPC code: Unauthenticated",
            "TonicTracesClient export failed with gRPC code: Internal",
            "TonicTracesClient export failed with gRPC code: Unknown: the server said no",
            "TonicTracesClient export failed with gRPC code: ResourceExhausted",
            "HTTP export failed with status code: 400",
            "HTTP export failed with status code: 401",
            "HTTP export failed with status code: 500",
            "failed to serialize traces to OTLP/HTTP JSON: boom",
        ] {
            assert!(!is_retryable(&internal(m)), "{m}");
        }
        assert!(is_retryable(&OTelSdkError::Timeout(
            std::time::Duration::from_secs(1)
        )));
        assert!(!is_retryable(&OTelSdkError::AlreadyShutdown));
    }
}
