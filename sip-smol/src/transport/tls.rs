//! TLS connections (RFC 3261 §26.2.1, RFC 5922): the handshake, within
//! `tcp_limits.handshake_deadline`, before a TCP connection runs as a TLS one.
//!
//! futures-rustls drives rustls here: it is rustls's own adapter to the `futures-io`
//! `AsyncRead`/`AsyncWrite` traits that async-io's sockets implement, so the records are
//! pumped through the same reader and writer loops as TCP's. The configuration, the
//! server name checked (RFC 5922 §4) and the failure classification are `sip-tls`'s, as
//! in the other drivers.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use async_io::{Async, Timer};
use futures_lite::future;
use futures_rustls::{TlsAcceptor, TlsConnector};
use sip_core::transport::{TlsPeerIdentity, Transport};
use sip_tls::TlsFailure;

use super::stats::bump;
use super::tcp::{Close, ConnParts, finish, pump};
use super::{Shared, until_stopped};

/// `fut`, or `None` once `deadline` passed.
pub(super) async fn within<F: std::future::Future>(
    deadline: std::time::Duration,
    fut: F,
) -> Option<F::Output> {
    future::or(async { Some(fut.await) }, async {
        Timer::after(deadline).await;
        None
    })
    .await
}

/// Runs the client handshake on a new connection to `peer`, checking the server against
/// `identity` (RFC 5922 §4; SNI sent for a domain), then runs the connection. A failed
/// or late handshake is kept as the peer's [`TlsFailure`] and reported as a transport
/// error (§18.4): what was queued is never written.
pub(super) async fn handshake_and_run(
    shared: Arc<Shared>,
    tcp: Async<TcpStream>,
    peer: SocketAddr,
    identity: TlsPeerIdentity,
    parts: ConnParts,
    transport: Transport,
) {
    let expected = match &identity {
        TlsPeerIdentity::Domain(d) => d.to_string(),
        TlsPeerIdentity::Address(ip) => ip.to_string(),
    };
    let handshake = async {
        let client = shared.tls_client().map_err(TlsFailure::Handshake)?;
        let _ = tcp.get_ref().set_nodelay(true);
        let local = tcp
            .get_ref()
            .local_addr()
            .map_err(|e| TlsFailure::Handshake(e.to_string()))?;
        let connector = TlsConnector::from(client);
        let deadline = shared.config.tcp_limits.handshake_deadline;
        match within(
            deadline,
            connector.connect(sip_tls::server_name(&identity), tcp),
        )
        .await
        {
            Some(Ok(stream)) => Ok((stream, local)),
            Some(Err(e)) => Err(TlsFailure::from_io(&e, &expected)),
            None => Err(TlsFailure::HandshakeTimeout),
        }
    };
    let outcome = match until_stopped(shared.stop.clone(), handshake).await {
        Some(o) => o,
        None => return finish(&shared, transport, peer, parts, Close::Shutdown).await,
    };
    match outcome {
        Ok((stream, local)) => {
            bump(&shared.counters.tls_handshakes);
            shared.tls_succeeded(peer);
            tracing::debug!(%peer, server = %expected, "TLS connection established");
            if transport == Transport::Wss {
                let host = parts.ws_url.as_ref().map_or_else(
                    || format!("{expected}:{}", peer.port()),
                    |u| u.host_header(),
                );
                return super::ws::run_client(shared, stream, peer, local, transport, host, parts)
                    .await;
            }
            let (rd, wr) = futures_lite::io::split(stream);
            let mut parts = parts;
            let reason = pump(&shared, rd, wr, peer, local, Transport::Tls, &mut parts).await;
            finish(&shared, Transport::Tls, peer, parts, reason).await;
        }
        Err(failure) => {
            count_failure(&shared, &failure);
            tracing::warn!(%peer, server = %expected, error = %failure, "TLS handshake failed: nothing sent");
            shared.tls_failed(peer, failure);
            let mut parts = parts;
            // Out of the table before the error, so a retry opens a new connection.
            shared.finish_conn(
                (transport, peer),
                parts.id,
                parts.permit,
                &parts.output,
                &mut parts.rx,
            );
            bump(&shared.counters.connections_closed);
            shared.report_error(transport, peer).await;
        }
    }
}

/// Runs the server handshake on an accepted connection, then runs it: as SIP over TLS,
/// or for [`Transport::Wss`] as a WebSocket connection ([`super::ws::serve`], with its own
/// handshake deadline). A peer that does not complete the handshake within the deadline
/// is closed.
pub(super) async fn accept_and_run(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    tcp: Async<TcpStream>,
    peer: SocketAddr,
    mut parts: ConnParts,
    transport: Transport,
) {
    let _ = tcp.get_ref().set_nodelay(true);
    let local = match tcp.get_ref().local_addr() {
        Ok(l) => l,
        Err(e) => return finish(&shared, transport, peer, parts, Close::ReadError(e)).await,
    };
    let deadline = shared.config.tcp_limits.handshake_deadline;
    let handshake = within(deadline, acceptor.accept(tcp));
    let failure = match until_stopped(shared.stop.clone(), handshake).await {
        None => return finish(&shared, transport, peer, parts, Close::Shutdown).await,
        Some(Some(Ok(stream))) => {
            bump(&shared.counters.tls_handshakes);
            let reason = if transport.is_websocket() {
                super::ws::serve(&shared, stream, peer, local, transport, &mut parts).await
            } else {
                let (rd, wr) = futures_lite::io::split(stream);
                pump(&shared, rd, wr, peer, local, transport, &mut parts).await
            };
            return finish(&shared, transport, peer, parts, reason).await;
        }
        Some(Some(Err(e))) => TlsFailure::from_io(&e, "client"),
        Some(None) => TlsFailure::HandshakeTimeout,
    };
    count_failure(&shared, &failure);
    tracing::debug!(%peer, error = %failure, "TLS handshake of an accepted connection failed");
    shared.finish_conn(
        (transport, peer),
        parts.id,
        parts.permit,
        &parts.output,
        &mut parts.rx,
    );
    bump(&shared.counters.connections_closed);
}

fn count_failure(shared: &Shared, failure: &TlsFailure) {
    bump(match failure {
        TlsFailure::HandshakeTimeout => &shared.counters.tls_handshake_timeouts,
        _ => &shared.counters.tls_handshake_failures,
    });
}
