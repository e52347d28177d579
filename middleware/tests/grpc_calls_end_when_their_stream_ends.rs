//! A gRPC call ends when its response stream ends — the trailers went through — not wherever
//! the body happens to be dropped afterwards: unary, server-streaming, client-streaming and
//! bidirectional calls, on `GrpcServerLayer` and `GrpcClientLayer`. A completed call is not
//! `beacon.http.abandoned`; a call the client gives up on is, on both sides; and a call that
//! streams for 0.3 s has spans of at least that.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use beacon_middleware::grpc::{GrpcClientLayer, GrpcClientService, GrpcServerLayer};
use beacon_test::{capture, span, Capture, CapturedSpan};
use futures_util::StreamExt as _;
use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use tokio::sync::mpsc;
use tonic_health::pb::HealthCheckRequest as Msg;
use tracing::Instrument as _;

/// How long each streaming call streams for; its spans must last at least this long.
const STREAMED_FOR: Duration = Duration::from_millis(300);
/// Messages per streaming call, spread over [`STREAMED_FOR`].
const MESSAGES: u32 = 3;

fn msg(text: &str) -> Msg {
    Msg {
        service: text.to_owned(),
    }
}

/// `MESSAGES` messages, one every `STREAMED_FOR / MESSAGES`: the slow stream is the behaviour
/// under test.
fn slow_stream() -> impl futures_core::Stream<Item = Msg> + Send + 'static {
    futures_util::stream::unfold(0, |sent| async move {
        if sent == MESSAGES {
            return None;
        }
        // The pause is the behaviour under test: a stream that takes its time.
        tokio::time::sleep(STREAMED_FOR / MESSAGES).await;
        Some((msg(&format!("m{sent}")), sent + 1))
    })
}

type Reply = Result<tonic::Response<Msg>, tonic::Status>;
type ReplyStream =
    Pin<Box<dyn futures_core::Stream<Item = Result<Msg, tonic::Status>> + Send + 'static>>;
type StreamReply = Result<tonic::Response<ReplyStream>, tonic::Status>;

/// A service with one method of each shape. A request (or first message) saying `hang` makes
/// the server tell the test on `started` and then never answer (or stop after one message),
/// so that the client can give up on it.
#[derive(Clone)]
struct Shapes {
    started: mpsc::UnboundedSender<()>,
}

impl tonic::server::NamedService for Shapes {
    const NAME: &'static str = "test.Shapes";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Shapes {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let started = self.started.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Msg, Msg>::default());
            let response = match request.uri().path() {
                "/test.Shapes/Unary" => {
                    let service = tower::service_fn(move |r: tonic::Request<Msg>| {
                        let started = started.clone();
                        async move {
                            if r.get_ref().service == "hang" {
                                started.send(()).unwrap();
                                std::future::pending::<()>().await;
                            }
                            Reply::Ok(tonic::Response::new(msg("unary")))
                        }
                    });
                    grpc.unary(service, request).await
                }
                "/test.Shapes/ServerStream" => {
                    let service = tower::service_fn(move |r: tonic::Request<Msg>| {
                        let started = started.clone();
                        async move {
                            let stream: ReplyStream = if r.get_ref().service == "hang" {
                                started.send(()).unwrap();
                                let once = futures_util::stream::once(async { Ok(msg("one")) });
                                Box::pin(once.chain(futures_util::stream::pending()))
                            } else {
                                Box::pin(slow_stream().map(Ok))
                            };
                            StreamReply::Ok(tonic::Response::new(stream))
                        }
                    });
                    grpc.server_streaming(service, request).await
                }
                "/test.Shapes/ClientStream" => {
                    let service =
                        tower::service_fn(move |r: tonic::Request<tonic::Streaming<Msg>>| {
                            let started = started.clone();
                            async move {
                                let mut incoming = r.into_inner();
                                let mut count = 0;
                                while let Some(m) = incoming.message().await? {
                                    if m.service == "hang" {
                                        started.send(()).unwrap();
                                        std::future::pending::<()>().await;
                                    }
                                    count += 1;
                                }
                                Reply::Ok(tonic::Response::new(msg(&count.to_string())))
                            }
                        });
                    grpc.client_streaming(service, request).await
                }
                "/test.Shapes/Bidi" => {
                    let service =
                        tower::service_fn(move |r: tonic::Request<tonic::Streaming<Msg>>| {
                            let started = started.clone();
                            async move {
                                let echo = r.into_inner().map(move |m| {
                                    let m = m?;
                                    if m.service == "hang" {
                                        let _ = started.send(());
                                    }
                                    Ok(m)
                                });
                                StreamReply::Ok(tonic::Response::new(Box::pin(echo)))
                            }
                        });
                    grpc.streaming(service, request).await
                }
                _ => tonic::Status::unimplemented("no such method").into_http(),
            };
            Ok(response)
        })
    }
}

type Client = tonic::client::Grpc<GrpcClientService<tonic::transport::Channel>>;

/// The service on loopback behind `GrpcServerLayer`, a client behind `GrpcClientLayer`, and the
/// receiver of the server's "started hanging" signals.
async fn serve_and_connect() -> (Client, mpsc::UnboundedReceiver<()>) {
    let (started, started_rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    });
    let serving = tonic::transport::Server::builder()
        // Listed, so that a call the client gives up on before any answer keeps its name
        // (an unlisted server confirms a method only by answering it).
        .layer(GrpcServerLayer::new().known_services(["test.Shapes"]))
        .add_service(Shapes { started })
        .serve_with_incoming(incoming);
    tokio::spawn(serving);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new().server("127.0.0.1", addr.port()))
        .service(channel);
    (tonic::client::Grpc::new(channel), started_rx)
}

fn path(method: &str) -> http::uri::PathAndQuery {
    format!("/test.Shapes/{method}").parse().unwrap()
}

fn codec() -> tonic_prost::ProstCodec<Msg, Msg> {
    tonic_prost::ProstCodec::default()
}

/// The server and client spans of `method`, once both have ended.
async fn both_spans(cap: &Capture, method: &str) -> (CapturedSpan, CapturedSpan) {
    let name = format!("test.Shapes/{method}");
    let server = cap
        .wait_for_span(span::named(&name).kind(SpanKind::Server))
        .await
        .unwrap();
    let client = cap
        .wait_for_span(span::named(&name).kind(SpanKind::Client))
        .await
        .unwrap();
    (server, client)
}

fn assert_complete(s: &CapturedSpan, min: Duration) {
    assert_eq!(s.attr("beacon.http.abandoned"), None, "{s}");
    assert_eq!(s.attr("rpc.grpc.status_code"), Some(&Value::I64(0)), "{s}");
    assert!(!s.is_error(), "{s}");
    assert!(s.duration() >= min, "{:?} < {min:?}: {s}", s.duration());
}

fn assert_abandoned(s: &CapturedSpan) {
    assert_eq!(
        s.attr("beacon.http.abandoned"),
        Some(&Value::Bool(true)),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_calls_of_every_shape_are_not_abandoned_and_span_the_whole_stream() {
    let (mut client, _started) = serve_and_connect().await;
    let cap = capture();

    client.ready().await.unwrap();

    let reply = client
        .unary(tonic::Request::new(msg("hi")), path("Unary"), codec())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().service, "unary");
    let (server, client_span) = both_spans(&cap, "Unary").await;
    assert_complete(&server, Duration::ZERO);
    assert_complete(&client_span, Duration::ZERO);

    client.ready().await.unwrap();

    let mut replies = client
        .server_streaming(
            tonic::Request::new(msg("go")),
            path("ServerStream"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    let mut received = 0;
    while replies.message().await.unwrap().is_some() {
        received += 1;
    }
    assert_eq!(received, MESSAGES);
    let (server, client_span) = both_spans(&cap, "ServerStream").await;
    assert_complete(&server, STREAMED_FOR);
    assert_complete(&client_span, STREAMED_FOR);

    client.ready().await.unwrap();

    let reply = client
        .client_streaming(
            tonic::Request::new(slow_stream()),
            path("ClientStream"),
            codec(),
        )
        .await
        .unwrap();
    assert_eq!(reply.into_inner().service, MESSAGES.to_string());
    let (server, client_span) = both_spans(&cap, "ClientStream").await;
    assert_complete(&server, STREAMED_FOR);
    assert_complete(&client_span, STREAMED_FOR);

    client.ready().await.unwrap();

    let mut echoes = client
        .streaming(tonic::Request::new(slow_stream()), path("Bidi"), codec())
        .await
        .unwrap()
        .into_inner();
    let mut echoed = 0;
    while echoes.message().await.unwrap().is_some() {
        echoed += 1;
    }
    assert_eq!(echoed, MESSAGES);
    let (server, client_span) = both_spans(&cap, "Bidi").await;
    assert_complete(&server, STREAMED_FOR);
    assert_complete(&client_span, STREAMED_FOR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_the_client_gives_up_on_are_abandoned_on_both_sides() {
    let (client, mut started) = serve_and_connect().await;
    let cap = capture();

    // Unary and client-streaming: the server never answers; the client drops the call.
    let mut unary = client.clone();
    let call = tokio::spawn(
        async move {
            unary.ready().await.unwrap();
            let _ = unary
                .unary(tonic::Request::new(msg("hang")), path("Unary"), codec())
                .await;
        }
        .in_current_span(),
    );
    started.recv().await.unwrap();
    call.abort();
    let (server, client_span) = both_spans(&cap, "Unary").await;
    assert_abandoned(&server);
    assert_abandoned(&client_span);

    let mut streaming = client.clone();
    let call = tokio::spawn(
        async move {
            let messages =
                futures_util::stream::iter([msg("hang")]).chain(futures_util::stream::pending());
            streaming.ready().await.unwrap();
            let _ = streaming
                .client_streaming(tonic::Request::new(messages), path("ClientStream"), codec())
                .await;
        }
        .in_current_span(),
    );
    started.recv().await.unwrap();
    call.abort();
    let (server, client_span) = both_spans(&cap, "ClientStream").await;
    assert_abandoned(&server);
    assert_abandoned(&client_span);

    // Server-streaming: the client reads one message and drops the stream.
    let mut streaming = client.clone();
    streaming.ready().await.unwrap();
    let mut replies = streaming
        .server_streaming(
            tonic::Request::new(msg("hang")),
            path("ServerStream"),
            codec(),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replies.message().await.unwrap().unwrap().service, "one");
    drop(replies);
    let (server, client_span) = both_spans(&cap, "ServerStream").await;
    assert_abandoned(&server);
    assert_abandoned(&client_span);

    // Bidirectional: the client reads one echo and cancels the call (an HTTP/2 RST_STREAM;
    // dropping the responses alone would leave its request stream open, and the call with it).
    let mut streaming = client.clone();
    let messages = futures_util::stream::iter([msg("hang")]).chain(futures_util::stream::pending());
    let mut request = tonic::Request::new(messages);
    let cancel = request.cancellation_handle();
    streaming.ready().await.unwrap();
    let mut echoes = streaming
        .streaming(request, path("Bidi"), codec())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(echoes.message().await.unwrap().unwrap().service, "hang");
    drop(echoes);
    cancel.cancel();
    let (server, client_span) = both_spans(&cap, "Bidi").await;
    assert_abandoned(&server);
    assert_abandoned(&client_span);
}
