//! TLS on a connection (RFC 3261 §26.2.1, RFC 5922), driven by hand: rustls's
//! `Connection` is sans-IO — it takes the bytes read from the socket and gives the bytes to
//! write — so it runs inside the driver's non-blocking loop with no thread and no
//! blocking call. The plaintext queue of the connection is handed to rustls only once the
//! handshake has checked the peer, so nothing is ever written in clear, and one message
//! at a time, so the output caps keep bounding what a connection holds.

use std::io::{self, Read, Write};

use sip_tls::TlsFailure;
use sip_tls::rustls;

use crate::tcp::{Conn, Flush, ReadOutcome};
use sip_core::transport::stream::output_cost;

/// The TLS side of a connection.
#[derive(Debug)]
pub(crate) struct TlsSession {
    pub(crate) conn: rustls::Connection,
    /// The name or address the server had to prove (for the failure's message), or
    /// `"client"` on accepted connections.
    pub(crate) expected: String,
}

/// Outcome of reading a TLS connection.
#[derive(Debug)]
pub(crate) enum TlsRead {
    /// The transport outcome (records processed, plaintext handed to the framer).
    Io(ReadOutcome),
    /// The TLS layer refused the peer (certificate, protocol): the connection must close.
    Refused(TlsFailure),
}

impl Conn {
    /// Reads TLS records until the socket would block (at most `budget` reads), processes
    /// them, and hands the plaintext to the framer.
    pub(crate) fn tls_read(&mut self, buf: &mut [u8], budget: usize) -> TlsRead {
        let Some(tls) = self.tls.as_mut() else {
            return TlsRead::Io(ReadOutcome::Drained);
        };
        for _ in 0..budget.max(1) {
            match tls.conn.read_tls(&mut self.stream) {
                Ok(0) => return TlsRead::Io(ReadOutcome::Closed),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return TlsRead::Io(ReadOutcome::Drained);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return TlsRead::Io(ReadOutcome::Failed(e.kind())),
            }
            if let Err(e) = tls.conn.process_new_packets() {
                // rustls has queued the alert that tells the peer why; send it if it fits.
                let _ = tls.conn.write_tls(&mut self.stream);
                return TlsRead::Refused(TlsFailure::from_rustls(&e, &tls.expected));
            }
            loop {
                match tls.conn.reader().read(buf) {
                    // close_notify: the peer closed its side.
                    Ok(0) => return TlsRead::Io(ReadOutcome::Closed),
                    Ok(n) => crate::ws::push_plain(
                        &mut self.reader,
                        self.ws.as_deref_mut(),
                        buf.get(..n).unwrap_or_default(),
                    ),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return TlsRead::Io(ReadOutcome::Failed(e.kind())),
                }
            }
        }
        TlsRead::Io(ReadOutcome::Budget)
    }

    /// Whether the handshake is still going on.
    pub(crate) fn tls_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.conn.is_handshaking())
    }

    /// Writes what TLS has to send (handshake records, then the queued messages once the
    /// handshake is done) until done or the socket would block.
    pub(crate) fn tls_flush(&mut self) -> Flush {
        let Some(tls) = self.tls.as_mut() else {
            return Flush::Done;
        };
        loop {
            while tls.conn.wants_write() {
                match tls.conn.write_tls(&mut self.stream) {
                    Ok(0) => return Flush::Failed(io::ErrorKind::WriteZero),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::Blocked,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Flush::Failed(e.kind()),
                }
            }
            // Nothing in clear: messages wait until the peer has been checked.
            if tls.conn.is_handshaking() {
                return Flush::Done;
            }
            let Some(front) = self.queue.pop_front() else {
                return Flush::Done;
            };
            self.offset = 0;
            self.queued_bytes = self.queued_bytes.saturating_sub(output_cost(front.len()));
            if let Err(e) = tls.conn.writer().write_all(&front) {
                return Flush::Failed(e.kind());
            }
        }
    }
}
