//! `resource`: attributes, `attributes_list`, detectors.

use super::*;

pub(super) fn resource(
    r: Option<&crate::config::file::model::Resource>,
    code: &[KeyValue],
    warnings: &mut Vec<String>,
) -> R<opentelemetry_sdk::Resource> {
    use opentelemetry_sdk::resource::{ResourceDetector as _, TelemetryResourceDetector};
    let mut attrs: Vec<KeyValue> = TelemetryResourceDetector
        .detect()
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attrs.push(KeyValue::new("telemetry.distro.name", "beacon"));
    attrs.push(KeyValue::new(
        "telemetry.distro.version",
        env!("CARGO_PKG_VERSION"),
    ));
    let exe = crate::resource::executable_name();
    attrs.push(KeyValue::new(
        "service.name",
        crate::resource::default_service_name(exe.as_deref()),
    ));
    let mut schema_url = None;
    if let Some(r) = r {
        if let Some(d) = &r.detection {
            let mut detected = Vec::new();
            for det in d.detectors.iter().flatten() {
                match det {
                    ResourceDetector::Service(()) => {
                        detected.push(KeyValue::new(
                            "service.instance.id",
                            crate::resource::instance_id(),
                        ));
                    }
                    ResourceDetector::Host(()) => {
                        if let Some(h) = crate::resource::host_name() {
                            detected.push(KeyValue::new("host.name", h));
                        }
                        detected.push(KeyValue::new("os.type", crate::resource::os_type()));
                    }
                    ResourceDetector::Process(()) => {
                        detected.push(KeyValue::new("process.pid", i64::from(std::process::id())));
                        if let Some(exe) = &exe {
                            detected.push(KeyValue::new("process.executable.name", exe.clone()));
                        }
                        detected.push(KeyValue::new("process.runtime.name", "rustc"));
                        detected.push(KeyValue::new(
                            "process.runtime.version",
                            env!("BEACON_RUSTC_VERSION"),
                        ));
                    }
                    ResourceDetector::Container(()) => {
                        if let Some(id) = container_id() {
                            detected.push(KeyValue::new("container.id", id));
                        }
                    }
                }
            }
            let filter = d.attributes.clone().unwrap_or_default();
            attrs.extend(
                detected
                    .into_iter()
                    .filter(|kv| views::included(&filter, kv.key.as_str())),
            );
        }
        if let Some(list) = &r.attributes_list {
            match crate::config::parse::key_values(list) {
                Ok(pairs) => attrs.extend(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v))),
                Err(why) => warnings.push(format!(
                    "resource.attributes_list discarded, as for OTEL_RESOURCE_ATTRIBUTES: {why}"
                )),
            }
        }
        for (i, a) in r.attributes.iter().flatten().enumerate() {
            if let Some(v) =
                attribute(a).map_err(|e| at(format!("resource.attributes[{i}].value"), e))?
            {
                attrs.push(KeyValue::new(a.name.clone(), v));
            }
        }
        schema_url = r.schema_url.clone();
    }
    attrs.extend(code.iter().cloned());
    let builder = opentelemetry_sdk::Resource::builder_empty();
    Ok(match schema_url {
        Some(url) => builder.with_schema_url(attrs, url).build(),
        None => builder.with_attributes(attrs).build(),
    })
}

/// The container id from cgroup v1 paths or the v2 mount table, when this runs in one.
fn container_id() -> Option<String> {
    let is_id = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    for file in ["/proc/self/cgroup", "/proc/self/mountinfo"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for part in text.split(['/', ' ', '\n', '-', '.', ':']) {
            if is_id(part) {
                return Some(part.to_owned());
            }
        }
    }
    None
}

fn attribute(a: &AttributeNameValue) -> R<Option<OtelValue>> {
    use AttributeValue as V;
    let t = a.kind.unwrap_or(match &a.value {
        V::Bool(_) => AttributeType::Bool,
        V::Int(_) => AttributeType::Int,
        V::Double(_) => AttributeType::Double,
        V::String(_) | V::Null(()) => AttributeType::String,
        V::BoolArray(_) => AttributeType::BoolArray,
        V::IntArray(_) => AttributeType::IntArray,
        V::DoubleArray(_) => AttributeType::DoubleArray,
        V::StringArray(_) => AttributeType::StringArray,
    });
    let mismatch =
        || FileError::invalid(format!("{:?}", a.value), format!("a value of type {t:?}"));
    Ok(Some(match (t, &a.value) {
        (_, V::Null(())) => return Ok(None),
        (AttributeType::String, V::String(s)) => OtelValue::from(s.clone()),
        (AttributeType::Bool, V::Bool(b)) => OtelValue::Bool(*b),
        (AttributeType::Int, V::Int(i)) => OtelValue::I64(*i),
        (AttributeType::Double, V::Double(x)) => OtelValue::F64(*x),
        #[allow(clippy::cast_precision_loss)]
        (AttributeType::Double, V::Int(i)) => OtelValue::F64(*i as f64),
        (AttributeType::StringArray, V::StringArray(v)) => OtelValue::Array(Array::String(
            v.iter().cloned().map(StringValue::from).collect(),
        )),
        (AttributeType::BoolArray, V::BoolArray(v)) => OtelValue::Array(Array::Bool(v.clone())),
        (AttributeType::IntArray, V::IntArray(v)) => OtelValue::Array(Array::I64(v.clone())),
        (AttributeType::DoubleArray, V::DoubleArray(v)) => OtelValue::Array(Array::F64(v.clone())),
        #[allow(clippy::cast_precision_loss)]
        (AttributeType::DoubleArray, V::IntArray(v)) => {
            OtelValue::Array(Array::F64(v.iter().map(|i| *i as f64).collect()))
        }
        _ => return Err(mismatch()),
    }))
}
