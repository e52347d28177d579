//! The OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, binary protobuf
//! (`application/x-protobuf`) or JSON (`application/json`), optionally gzip-compressed
//! (`Content-Encoding: gzip`), as the OTLP specification's HTTP transport describes.
//!
//! A request that cannot be read is a 400 (or 413 past the size limit, 415 for another
//! content type) whose body is a `google.rpc.Status` in the request's encoding, with a
//! message saying why; nothing of it is stored. Spans without valid ids are left out and
//! reported in the response's `partial_success`.

use std::io::Read as _;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use beacon_hub::proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use beacon_hub::proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use beacon_hub::proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use beacon_hub::Ingested;
use prost::Message;

use crate::AppState;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

fn encoding(headers: &HeaderMap) -> Option<Encoding> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = ct.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case(PROTOBUF) || media.eq_ignore_ascii_case("application/protobuf") {
        Some(Encoding::Protobuf)
    } else if media.eq_ignore_ascii_case(JSON) {
        Some(Encoding::Json)
    } else {
        None
    }
}

/// A `google.rpc.Status` (code 1, message 2), encoded without a generated type.
fn status_protobuf(code: i32, message: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    prost::encoding::int32::encode(1, &code, &mut buf);
    prost::encoding::string::encode(2, &message.to_owned(), &mut buf);
    buf
}

/// gRPC code INVALID_ARGUMENT, RESOURCE_EXHAUSTED.
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;

fn failure(status: StatusCode, enc: Encoding, message: &str) -> Response {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        RESOURCE_EXHAUSTED
    } else {
        INVALID_ARGUMENT
    };
    let (ct, body) = match enc {
        Encoding::Protobuf => (PROTOBUF, status_protobuf(code, message)),
        Encoding::Json => (
            JSON,
            serde_json::json!({ "code": code, "message": message })
                .to_string()
                .into_bytes(),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

/// The request body, gunzipped when it says so, at most `limit` bytes either way.
fn body(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the receiver's limit of {limit} bytes"),
        )
    };
    if raw.len() > limit {
        return Err(too_large());
    }
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    match coding.as_deref() {
        None | Some("" | "identity") => Ok(raw),
        Some("gzip") => {
            let mut out = Vec::new();
            let mut decoder = flate2::read::GzDecoder::new(&raw[..])
                .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1));
            decoder.read_to_end(&mut out).map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("gzip body could not be decompressed: {e}"),
                )
            })?;
            if out.len() > limit {
                return Err(too_large());
            }
            Ok(out.into())
        }
        Some(other) => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?} is not supported (use gzip or none)"),
        )),
    }
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    enc: Encoding,
    bytes: &[u8],
) -> Result<T, String> {
    match enc {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| format!("invalid OTLP protobuf: {e}")),
        Encoding::Json => {
            serde_json::from_slice(bytes).map_err(|e| format!("invalid OTLP JSON: {e}"))
        }
    }
}

fn respond<T: Message + serde::Serialize>(enc: Encoding, response: &T) -> Response {
    match enc {
        Encoding::Protobuf => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))],
            response.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            serde_json::to_vec(response).unwrap_or_default(),
        )
            .into_response(),
    }
}

/// Why a request was refused, answered by [`failure`].
struct Refused(StatusCode, Encoding, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        failure(self.0, self.1, &self.2)
    }
}

/// Reads and decodes a request.
fn read<T: Message + Default + serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    raw: Bytes,
) -> Result<(Encoding, T), Refused> {
    let Some(enc) = encoding(headers) else {
        state.hub.receiver_request(false);
        return Err(Refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Encoding::Json,
            "Content-Type must be application/x-protobuf or application/json".to_owned(),
        ));
    };
    let read = body(headers, raw, state.max_body_bytes)
        .map_err(|(s, m)| Refused(s, enc, m))
        .and_then(|bytes| {
            decode(enc, &bytes).map_err(|m| Refused(StatusCode::BAD_REQUEST, enc, m))
        });
    state.hub.receiver_request(read.is_ok());
    Ok((enc, read?))
}

fn partial(ingested: &Ingested) -> (i64, String) {
    (
        i64::try_from(ingested.rejected.count).unwrap_or(i64::MAX),
        ingested.rejected.reason.clone().unwrap_or_default(),
    )
}

pub(crate) async fn traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let (enc, request) = match read::<ExportTraceServiceRequest>(&state, &headers, raw) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let ingested = state.hub.ingest_traces(request);
    let (rejected_spans, error_message) = partial(&ingested);
    respond(
        enc,
        &ExportTraceServiceResponse {
            partial_success: (rejected_spans > 0).then_some(ExportTracePartialSuccess {
                rejected_spans,
                error_message,
            }),
        },
    )
}

pub(crate) async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let (enc, request) = match read::<ExportLogsServiceRequest>(&state, &headers, raw) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let ingested = state.hub.ingest_logs(request);
    let (rejected_log_records, error_message) = partial(&ingested);
    respond(
        enc,
        &ExportLogsServiceResponse {
            partial_success: (rejected_log_records > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records,
                error_message,
            }),
        },
    )
}

pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let (enc, request) = match read::<ExportMetricsServiceRequest>(&state, &headers, raw) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let ingested = state.hub.ingest_metrics(request);
    let (rejected_data_points, error_message) = partial(&ingested);
    respond(
        enc,
        &ExportMetricsServiceResponse {
            partial_success: (rejected_data_points > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points,
                error_message,
            }),
        },
    )
}
