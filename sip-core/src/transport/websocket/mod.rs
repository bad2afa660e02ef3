//! SIP over WebSocket (RFC 7118) as the core sees it: the opening handshake
//! ([`handshake`]), the base framing ([`frame`]) and one connection's message exchange
//! ([`connection`]), all sans-IO, so every driver (tokio, mio, smol) frames WebSocket the
//! same way and none holds a rule of RFC 6455 or RFC 7118.
//!
//! A server driver reads a new connection's bytes into [`handshake::accept`] until it
//! answers (the `101` to write, or the refusal to write before closing), then feeds the
//! rest to a [`WsConnection`] with [`Role::Server`]; each [`WsMessage`] it yields is one
//! whole SIP message, given to the endpoint like a datagram (RFC 7118 §5.1: no
//! Content-Length framing). A client does the same with [`handshake::ClientHandshake`].
//! The transport is reliable and connection-oriented ([`super::Transport::Ws`] and
//! [`super::Transport::Wss`]): responses and in-dialog requests go back over the
//! connection the request came on, the only route to a browser (RFC 7118 §5).

mod client_flows;
pub mod connection;
pub mod frame;
pub mod handshake;
pub mod keepalive;
pub mod url;

pub use client_flows::ClientFlows;
pub use connection::{CloseCode, Role, WsConnection, WsError, WsLimits, WsMessage};
pub use handshake::{ClientHandshake, HandshakeError, Upgrade};
pub use keepalive::WsKeepalive;
pub use url::{WsUrl, WsUrlError};

/// The most bytes an opening handshake's head may take (RFC 6455 leaves it to the
/// server; browsers send well under 2 KiB).
pub const MAX_HANDSHAKE: usize = 8 * 1024;

/// The Via sent-by host a WebSocket client writes (RFC 7118 §5.2, and what browser
/// clients do): it cannot be reached at any address of its own, so it names a random host
/// under the reserved `.invalid` domain (RFC 2606), and the server always adds `received`
/// (it never matches the source address) and answers over the connection. Twelve
/// lowercase letters and digits drawn from `seed`.
///
/// ```
/// use sip_core::transport::websocket::invalid_host;
/// let host = invalid_host(7);
/// assert!(host.ends_with(".invalid") && host.len() == 20);
/// assert_eq!(host, invalid_host(7));
/// ```
pub fn invalid_host(seed: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut host: String = (0..12)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect();
    host.push_str(".invalid");
    host
}

/// The keys of an outgoing connection, drawn from the transport's masking seed and the
/// connection's number: the seed of its frame masks ([`Role::Client`], RFC 6455 §5.3) and
/// the nonce of its `Sec-WebSocket-Key` (§4.1), different per connection and replayable
/// from the seed.
///
/// ```
/// use sip_core::transport::websocket::client_keys;
/// assert_eq!(client_keys(7, 1), client_keys(7, 1));
/// assert_ne!(client_keys(7, 1).1, client_keys(7, 2).1);
/// ```
pub fn client_keys(mask_seed: u64, connection: u64) -> (u64, [u8; 16]) {
    let seed = mix(mask_seed, connection);
    let nonce_bits = mix(seed, u64::MAX);
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&nonce_bits.to_le_bytes());
    nonce[8..].copy_from_slice(&mix(nonce_bits, 1).to_le_bytes());
    (seed, nonce)
}

/// SplitMix64's output function: spreads a seed and a counter over 64 bits.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_hosts_are_valid_host_names_that_differ_by_seed() {
        let (a, b) = (invalid_host(1), invalid_host(2));
        assert_ne!(a, b);
        for h in [a, b] {
            assert!(crate::message::SipUri::parse_host(&h).is_ok(), "{h}");
            assert!(
                h.strip_suffix(".invalid")
                    .unwrap()
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric())
            );
        }
    }

    /// A browser-like client and our server, through the handshake and both ways of one
    /// SIP exchange, fed to each other in odd-sized pieces.
    #[test]
    fn client_and_server_exchange_sip_over_websocket() {
        let (hs, request) = ClientHandshake::new([3; 16], "edge.example.test", "/");
        let mut wire = request;
        let mut client = WsConnection::new(Role::Client { seed: 1 }, WsLimits::default());
        let invite = b"INVITE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/WS abc.invalid;branch=z9hG4bK1\r\n\r\n";
        client.send(invite).unwrap();
        while let Some(b) = client.poll_transmit() {
            wire.extend_from_slice(&b);
        }
        // The server reads the head and the frame that followed it in one read.
        let up = handshake::accept(&wire, MAX_HANDSHAKE).unwrap().unwrap();
        let mut server = WsConnection::new(Role::Server, WsLimits::default());
        for piece in wire[up.consumed..].chunks(7) {
            server.handle_input(piece).unwrap();
        }
        assert_eq!(server.poll_message().unwrap().payload.as_ref(), invite);

        let ok = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS abc.invalid;branch=z9hG4bK1;received=192.0.2.1\r\n\r\n";
        server.send(ok).unwrap();
        let mut back = up.response.clone();
        back.extend_from_slice(&server.poll_transmit().unwrap());
        let head = hs.finish(&back, MAX_HANDSHAKE).unwrap().unwrap();
        client.handle_input(&back[head..]).unwrap();
        assert_eq!(client.poll_message().unwrap().payload.as_ref(), ok);
    }
}
