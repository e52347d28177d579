//! Over a real socket, an axum handler's audit entry gets the peer address (or, from a trusted
//! proxy, the forwarded client), the user agent, and the actor the app's auth middleware set.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::routing::post;
use beacon_audit::http::{AuditContext, AuditLayer};
use beacon_audit::{Actor, AuditLog, Query, Resource};
use support::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn approve(State(log): State<AuditLog>, audit: AuditContext) -> String {
    let e = log
        .append(audit.entry(
            "checkpoint.approved",
            Resource::new("checkpoint", "1"),
            "approve",
        ))
        .await
        .unwrap();
    e.sequence().to_string()
}

/// The application's authentication: here, the `x-user` header names the user.
async fn auth(mut req: Request, next: Next) -> axum::response::Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let actor = Actor::user(user);
        req.extensions_mut().insert(actor);
    }
    next.run(req).await
}

async fn post_raw(addr: SocketAddr, headers: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /approve HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n{headers}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

async fn serve(layer: AuditLayer, log: AuditLog) -> SocketAddr {
    let app = axum::Router::new()
        .route("/approve", post(approve))
        .layer(axum::middleware::from_fn(auth))
        .layer(layer)
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

#[tokio::test]
async fn the_peer_user_agent_and_actor_are_recorded_and_a_spoofed_header_is_ignored() {
    let dir = TempDir::new("axum");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    // No trusted proxy: the forwarded header from a direct client is ignored.
    let addr = serve(AuditLayer::default(), log.clone()).await;
    let res = post_raw(
        addr,
        "user-agent: audit-test/1\r\nx-user: alice\r\nx-forwarded-for: 198.51.100.7\r\n",
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let e = &log.query(Query::new()).await.unwrap().entries[0];
    assert_eq!(e.client().ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.client().user_agent.as_deref(), Some("audit-test/1"));
    assert_eq!(e.actor(), &Actor::user("alice"));

    let anonymous = post_raw(addr, "").await;
    assert!(anonymous.starts_with("HTTP/1.1 200"), "{anonymous}");
    let e = &log.query(Query::new().after(1)).await.unwrap().entries[0];
    assert_eq!(e.actor(), &Actor::user("anonymous"));
    assert_eq!(e.client().user_agent, None);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded() {
    let dir = TempDir::new("axum-proxy");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let layer = AuditLayer::builder()
        .trusted_proxy("127.0.0.1".parse().unwrap())
        .build();
    let addr = serve(layer, log.clone()).await;
    let res = post_raw(addr, "x-user: bob\r\nx-forwarded-for: 198.51.100.7\r\n").await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let e = &log.query(Query::new()).await.unwrap().entries[0];
    assert_eq!(e.client().ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(e.actor().id, "bob");
}
