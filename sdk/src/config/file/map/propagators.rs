//! `propagator`: `composite` and `composite_list`.

use super::*;

pub(super) fn propagators(p: Option<&Propagator>) -> R<Vec<BeaconPropagator>> {
    let mut out = Vec::new();
    let Some(p) = p else {
        return Ok(out);
    };
    for item in p.composite.iter().flatten() {
        let b = match item {
            TextMapPropagator::Tracecontext(()) => BeaconPropagator::TraceContext,
            TextMapPropagator::Baggage(()) => BeaconPropagator::Baggage,
            TextMapPropagator::B3(()) => BeaconPropagator::B3,
            TextMapPropagator::B3multi(()) => BeaconPropagator::B3Multi,
            TextMapPropagator::Jaeger(()) => BeaconPropagator::Jaeger,
        };
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if let Some(list) = &p.composite_list {
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == "none" {
                continue;
            }
            let b: BeaconPropagator = name.parse().map_err(|()| {
                at(
                    "propagator.composite_list",
                    FileError::new(crate::config::file::FileErrorKind::UnsupportedComponent {
                        name: name.to_owned(),
                        expected: BeaconPropagator::NAMES.to_owned(),
                    }),
                )
            })?;
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    Ok(out)
}
