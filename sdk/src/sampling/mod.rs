//! Sampling beyond the spec's head samplers.
//!
//! - [`RateLimited`], a head sampler, keeps at most N new traces per second.
//! - [`TailSampling`], a span processor, decides after the fact: it holds a trace's spans until
//!   its local root ends, then keeps the whole trace if it is interesting (an error, a slow
//!   root, a matching attribute) and a ratio of the rest. Turn it on with
//!   [`crate::Builder::tail_sampling`].
//!
//! # Rate limiting
//!
//! Selected with `OTEL_TRACES_SAMPLER=beacon_ratelimit` and `OTEL_TRACES_SAMPLER_ARG=<traces
//! per second>` (parent-based: a span with a parent follows its parent's decision; only roots
//! are rate-limited), or [`crate::config::Sampler::ParentBasedRateLimited`] in code.
//!
//! # Example
//! ```
//! use beacon::sampling::RateLimited;
//! use beacon::otel::sdk::trace::{SamplingDecision, ShouldSample};
//! use beacon::otel::api::trace::{SpanKind, TraceId};
//!
//! let sampler = RateLimited::new(2.0); // a burst of 2, then 2 per second
//! let decide = || sampler.should_sample(None, TraceId::from(1), "root", &SpanKind::Server, &[], &[]).decision;
//! assert_eq!(decide(), SamplingDecision::RecordAndSample);
//! assert_eq!(decide(), SamplingDecision::RecordAndSample);
//! assert_eq!(decide(), SamplingDecision::Drop); // within the same second
//! ```

mod rate_limited;
mod tail;

pub use rate_limited::RateLimited;
pub use tail::{TailSampling, TailSamplingConfig, TailSnapshot, TailStats};
