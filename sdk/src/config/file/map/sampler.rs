//! `tracer_provider.sampler`.

use super::*;

/// Any sampler, so that the tracer provider takes one type.
#[derive(Debug, Clone)]
pub(crate) struct AnySampler(pub(crate) Box<dyn ShouldSample>);

impl ShouldSample for AnySampler {
    fn should_sample(
        &self,
        parent_context: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        span_kind: &opentelemetry::trace::SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

pub(crate) fn sampler(s: &Sampler, field: &str) -> R<Box<dyn ShouldSample>> {
    Ok(match s {
        Sampler::AlwaysOn(()) => Box::new(SdkSampler::AlwaysOn),
        Sampler::AlwaysOff(()) => Box::new(SdkSampler::AlwaysOff),
        Sampler::TraceIdRatioBased(r) => {
            let ratio = r.as_ref().and_then(|r| r.ratio).unwrap_or(1.0);
            if !(0.0..=1.0).contains(&ratio) {
                return Err(at(
                    format!("{field}.trace_id_ratio_based.ratio"),
                    FileError::invalid(ratio, "a probability from 0 to 1, such as 0.25"),
                ));
            }
            Box::new(SdkSampler::TraceIdRatioBased(ratio))
        }
        Sampler::BeaconRateLimited(r) => {
            let per_second = r
                .as_ref()
                .and_then(|r| r.traces_per_second)
                .unwrap_or(100.0);
            if !per_second.is_finite() || per_second < 0.0 {
                return Err(at(
                    format!("{field}.beacon_rate_limited.traces_per_second"),
                    FileError::invalid(per_second, "a non-negative number of traces per second"),
                ));
            }
            Box::new(crate::sampling::RateLimited::new(per_second))
        }
        Sampler::ParentBased(p) => {
            let p = p.as_deref().cloned().unwrap_or_default();
            let f = format!("{field}.parent_based");
            let branch = |s: &Option<Sampler>, name: &str| -> R<Option<Box<dyn ShouldSample>>> {
                s.as_ref()
                    .map(|s| sampler(s, &format!("{f}.{name}")))
                    .transpose()
            };
            let root = branch(&p.root, "root")?.unwrap_or_else(|| Box::new(SdkSampler::AlwaysOn));
            let mut pb = ParentBasedSampler::new(root);
            if let Some(s) = branch(&p.remote_parent_sampled, "remote_parent_sampled")? {
                pb = pb.with_remote_parent_sampled(s);
            }
            if let Some(s) = branch(&p.remote_parent_not_sampled, "remote_parent_not_sampled")? {
                pb = pb.with_remote_parent_not_sampled(s);
            }
            if let Some(s) = branch(&p.local_parent_sampled, "local_parent_sampled")? {
                pb = pb.with_local_parent_sampled(s);
            }
            if let Some(s) = branch(&p.local_parent_not_sampled, "local_parent_not_sampled")? {
                pb = pb.with_local_parent_not_sampled(s);
            }
            Box::new(pb)
        }
    })
}
