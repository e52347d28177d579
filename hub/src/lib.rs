//! # Beacon hub
//!
//! The live telemetry hub: a bounded, indexed, in-process store of recent spans, logs,
//! domain events and metric series; a filtered live stream of everything it stores; a query
//! API; and ingestion from OTLP requests and from the OpenTelemetry SDK.
//!
//! ```
//! use beacon_hub::{query::LogQuery, Hub};
//! use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//!
//! let hub = Hub::new();
//! let provider = SdkLoggerProvider::builder()
//!     .with_simple_exporter(beacon_hub::export::HubLogExporter::new(hub.clone()))
//!     .build();
//! let logger = provider.logger("checkout");
//! let mut record = logger.create_log_record();
//! record.set_severity_number(Severity::Error);
//! record.set_body("card declined".into());
//! logger.emit(record);
//!
//! let errors = hub.logs(&LogQuery { min_severity: Some(17), text: Some("declined".into()), ..LogQuery::default() });
//! assert_eq!(errors.len(), 1);
//! ```
//!
//! ## What it keeps
//! | signal | bound (default) | indexed by |
//! |---|---|---|
//! | traces | 10,000 traces, 200,000 spans, 50% of the memory cap; whole oldest trace first | trace id, service, span name, error status, attribute equality, start time |
//! | logs | 10,000 records, 25% | trace id, service, severity, body words, attribute equality, time |
//! | domain events (log records with an event name) | 10,000, 10% | as logs, plus event name |
//! | metrics | 10,000 series × 720 points within 1 hour, 15%; least recently updated series first | name (then service and attributes) |
//!
//! The memory cap (default 256 MiB) is on estimated sizes, indexes included. Everything
//! evicted is counted in [`HubStats`]. Bounds are set with [`HubConfig::builder`].
//!
//! ## Modules
//! | module | what |
//! |---|---|
//! | [`model`] | the stored types ([`model::Span`], [`model::LogRecord`], [`model::MetricSample`]…) |
//! | [`query`] | query parameters and results |
//! | [`stream`] | [`Hub::subscribe`]: filters, [`stream::Live::Lagged`] markers |
//! | [`export`] | the hub as an OpenTelemetry SDK span/log/metric exporter |
//! | [`proto`] | the OTLP message types [`Hub::ingest_traces`] and friends take (`opentelemetry-proto`) |

mod config;
mod convert;
pub mod export;
mod hub;
pub mod model;
pub mod query;
mod store;
pub mod stream;

pub use config::{HubConfig, HubConfigBuilder, IndexedAttributes};
pub use convert::Rejected;
pub use hub::{Hub, HubStats, Ingested};

/// The OTLP protobuf/JSON message types (`opentelemetry-proto`, re-exported so versions match).
pub use opentelemetry_proto as proto;
