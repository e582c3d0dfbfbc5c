//! Serves HTTP/1.1 from a pre-bound listener with the limits a public endpoint needs: a deadline
//! for a request's headers (which is also the keep-alive idle timeout: hyper arms it whenever it
//! waits for the next request), a cap on concurrent connections in all and per client address,
//! and graceful shutdown. Request bodies have their own deadline where they are read
//! (`federation::read_limited`, and the attachment upload).
//!
//! ```text
//! accept ─► over the cap (all / this address)? ─► close at once
//!              │ no
//!              ▼
//!          connection task: headers within `header_read_timeout` ─► router ─► keep-alive
//!              (idle longer than `header_read_timeout` ─► closed)
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Limits of one listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a client has to send a request's headers, and the longest a kept-alive connection
    /// may sit idle.
    pub header_read_timeout: Duration,
    /// Concurrent connections, in all.
    pub max_connections: usize,
    /// Concurrent connections from one client address.
    pub max_connections_per_ip: usize,
}

/// Open connections, in all and per client address.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Connections {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().map(|g| g.0).unwrap_or(0)
    }

    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Option<Admitted> {
        let mut g = self.open.lock().ok()?;
        let per_ip = g.1.get(&ip).copied().unwrap_or(0);
        if g.0 >= limits.max_connections || per_ip >= limits.max_connections_per_ip {
            return None;
        }
        g.0 += 1;
        g.1.insert(ip, per_ip + 1);
        Some(Admitted {
            conns: self.clone(),
            ip,
        })
    }
}

/// One admitted connection; leaving frees its place.
struct Admitted {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut g) = self.conns.open.lock() {
            g.0 = g.0.saturating_sub(1);
            if let Some(n) = g.1.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    g.1.remove(&self.ip);
                }
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets open requests finish (for at
/// most `drain`). Handlers see the client's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    conns: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(admitted) = conns.admit(peer.ip(), &limits) else {
            tracing::debug!(client = %peer.ip(), "connection refused: over the connection cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, req).await }
            });
        let builder = builder.clone();
        let stop = stop.clone();
        let acceptor = acceptor.clone();
        let handshake = limits.header_read_timeout;
        // Reap finished connections as we go, so the set does not grow with every connection.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let _admitted = admitted;
            match acceptor {
                None => connection(&builder, TokioIo::new(stream), svc, stop).await,
                // The handshake has the headers' deadline: a client that opens and says nothing
                // holds the connection no longer than one that sends no headers.
                Some(acceptor) => {
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => connection(&builder, TokioIo::new(tls), svc, stop).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

/// Serves one connection until it ends, or until `stop` (then gracefully).
async fn connection<I, S>(
    builder: &hyper::server::conn::http1::Builder,
    io: I,
    svc: S,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
