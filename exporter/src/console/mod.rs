//! A readable console exporter for development: one line per span or log record, one line per
//! metric stream. Selected by `OTEL_*_EXPORTER=console`.
//!
//! # Example
//! ```
//! use beacon_exporter::console::{ConsoleSpanExporter, Output};
//! use opentelemetry::trace::{Tracer, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//!
//! let out = Output::buffer();
//! let provider = SdkTracerProvider::builder()
//!     .with_simple_exporter(ConsoleSpanExporter::new(out.clone()))
//!     .build();
//! provider.tracer("doc").in_span("checkout", |_| {});
//! assert!(out.contents().contains("SPAN checkout"));
//! ```

mod format;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Where console lines go: standard output, or an in-memory buffer (for tests and docs).
#[derive(Clone, Debug, Default)]
pub struct Output {
    buffer: Option<Arc<Mutex<String>>>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Self { buffer: None }
    }

    /// An in-memory buffer; read it with [`Output::contents`].
    pub fn buffer() -> Self {
        Self {
            buffer: Some(Arc::new(Mutex::new(String::new()))),
        }
    }

    /// What was written so far to a buffer output (empty for stdout).
    pub fn contents(&self) -> String {
        match &self.buffer {
            Some(buf) => buf.lock().map(|s| s.clone()).unwrap_or_default(),
            None => String::new(),
        }
    }

    fn write(&self, text: &str) -> OTelSdkResult {
        match &self.buffer {
            Some(buf) => {
                let mut guard = buf
                    .lock()
                    .map_err(|_| OTelSdkError::InternalFailure("console buffer poisoned".into()))?;
                guard.push_str(text);
                Ok(())
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| OTelSdkError::InternalFailure(format!("stdout: {e}")))
            }
        }
    }
}

/// Writes spans, one line each.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSpanExporter {
    out: Output,
}

impl ConsoleSpanExporter {
    /// A span exporter writing to `out`.
    pub fn new(out: Output) -> Self {
        Self { out }
    }
}

impl SpanExporter for ConsoleSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut text = String::new();
        for span in &batch {
            format::span(&mut text, span);
        }
        self.out.write(&text)
    }
}

/// Writes log records, one line each.
#[derive(Debug, Clone, Default)]
pub struct ConsoleLogExporter {
    out: Output,
}

impl ConsoleLogExporter {
    /// A log exporter writing to `out`.
    pub fn new(out: Output) -> Self {
        Self { out }
    }
}

impl LogExporter for ConsoleLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let mut text = String::new();
        for (record, _scope) in batch.iter() {
            format::log(&mut text, record);
        }
        self.out.write(&text)
    }
}

/// Writes a summary of each metric stream at every collection.
#[derive(Debug, Clone, Default)]
pub struct ConsoleMetricExporter {
    out: Output,
}

impl ConsoleMetricExporter {
    /// A metric exporter writing to `out`.
    pub fn new(out: Output) -> Self {
        Self { out }
    }
}

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut text = String::new();
        format::metrics(&mut text, metrics);
        self.out.write(&text)
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};

    use super::*;

    #[test]
    fn a_span_line_is_followed_by_its_events() {
        let out = Output::buffer();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(SimpleSpanProcessor::new(ConsoleSpanExporter::new(
                out.clone(),
            )))
            .build();
        let mut span = provider.tracer("test").start("checkout");
        span.add_event(
            "circuit_breaker.state_change",
            vec![KeyValue::new("to", "open")],
        );
        span.end();
        let text = out.contents();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("SPAN checkout ")),
            "{text}"
        );
        assert_eq!(
            lines.next(),
            Some("  EVENT circuit_breaker.state_change to=open"),
            "{text}"
        );
    }

    #[test]
    fn caller_text_cannot_forge_a_line() {
        let out = Output::buffer();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(SimpleSpanProcessor::new(ConsoleSpanExporter::new(
                out.clone(),
            )))
            .build();
        let mut span = provider.tracer("test").start("GET /x\nSPAN forged-name");
        span.set_attribute(KeyValue::new(
            "user_agent.original",
            "curl\r\nLOG ERROR forged-attr\u{2028}\u{1b}[2J\t",
        ));
        span.add_event("e\nSPAN forged-event", vec![KeyValue::new("k\nv", "1")]);
        span.set_status(opentelemetry::trace::Status::error(
            "bad\nSPAN forged-status",
        ));
        span.end();
        let text = out.contents();
        assert_eq!(text.lines().count(), 2, "{text}");
        for line in text.lines() {
            assert!(!line.contains("\r") && !line.contains('\u{1b}') && !line.contains('\u{2028}'));
        }
        assert!(text.contains("GET /x\\nSPAN forged-name"), "{text}");
        assert!(
            text.contains("curl\\r\\nLOG ERROR forged-attr\\u{2028}\\u{1b}[2J\\t"),
            "{text}"
        );
        assert!(
            text.contains("status=error(bad\\nSPAN forged-status)"),
            "{text}"
        );
        assert!(
            text.contains("EVENT e\\nSPAN forged-event k\\nv=1"),
            "{text}"
        );
    }

    #[test]
    fn a_log_body_cannot_forge_a_line() {
        use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
        let out = Output::buffer();
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
            .with_simple_exporter(ConsoleLogExporter::new(out.clone()))
            .build();
        let logger = provider.logger("test");
        let mut record = logger.create_log_record();
        record.set_body("login failed for admin\nLOG INFO  login ok for admin".into());
        record.add_attribute("user", "a\nb");
        logger.emit(record);
        let text = out.contents();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("admin\\nLOG INFO"), "{text}");
        assert!(text.contains("user=a\\nb"), "{text}");
    }
}
