//! SIP beside other sources in one `mio::Poll`: a loop of its own serves a plain UDP echo
//! socket and two SIP drivers. Alice calls Bob (who answers with the shared UAS logic),
//! a datagram goes through the echo server while the call is up, Alice hangs up, and the
//! program prints what happened and exits 0.
//!
//! ```text
//! cargo run -p sip-mio --example embed
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Event as SipEvent, InviteOptions, Target};
use sip_core::transport::Transport;
use sip_mio::uas::Uas;
use sip_mio::{Driver, DriverConfig, Event, Listen};

/// The caller's own sources.
const ECHO: Token = Token(0);
const ECHO_CLIENT: Token = Token(1);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("embed: did not finish within 5 s");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("embed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;

    // Sources of our own: an echo server and a client of it.
    let mut echo = UdpSocket::bind(loopback)?;
    let mut client = UdpSocket::bind(loopback)?;
    poll.registry()
        .register(&mut echo, ECHO, Interest::READABLE)?;
    poll.registry()
        .register(&mut client, ECHO_CLIENT, Interest::READABLE)?;
    let echo_addr = echo.local_addr()?;

    // Two SIP drivers on their own token ranges of the same Poll (each draws its seed).
    let mut alice = Driver::new(
        DriverConfig::new(vec![Listen::udp(loopback)]),
        poll.registry(),
        100..200,
    )?;
    let mut bob = Driver::new(
        DriverConfig::new(vec![Listen::udp(loopback)]),
        poll.registry(),
        200..300,
    )?;
    let mut bob_uas = Uas::new();
    let bob_addr = bob
        .local_addr(Transport::Udp)
        .ok_or("bob has no UDP socket")?;
    println!(
        "echo server on {echo_addr}; alice on {}; bob on {bob_addr}",
        alice
            .local_addr(Transport::Udp)
            .ok_or("alice has no UDP socket")?
    );

    let start = Instant::now();
    let offer = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
    let call = alice.invite(
        start,
        InviteOptions::new(
            format!("sip:bob@{bob_addr}"),
            "<sip:alice@example.com>",
            "<sip:bob@example.com>",
        )
        .body("application/sdp", offer)
        .target(Target::new(Transport::Udp, bob_addr)),
    )?;
    println!("{:>6.1} ms  alice: INVITE sent ({call})", ms(start));

    let mut events = Events::with_capacity(64);
    let mut buf = [0u8; 2048];
    let mut echoed = 0;
    let mut echo_reply = None;
    let mut call_ended = false;
    let mut bob_saw_bye = false;
    let mut iterations = 0u64;
    let deadline = start + Duration::from_secs(5);

    while !(call_ended && bob_saw_bye && echo_reply.is_some()) {
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        iterations += 1;
        // Sleep until the first SIP timer, or our own deadline.
        let timeout = [alice.next_timeout(now), bob.next_timeout(now)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(deadline - now)
            .min(deadline - now);
        poll.poll(&mut events, Some(timeout))?;
        let now = Instant::now();
        for ev in events.iter() {
            if alice.handle_event(ev, now) || bob.handle_event(ev, now) {
                continue;
            }
            match ev.token() {
                ECHO => {
                    while let Ok((n, from)) = echo.recv_from(&mut buf) {
                        echo.send_to(buf.get(..n).unwrap_or_default(), from)?;
                        echoed += 1;
                    }
                }
                ECHO_CLIENT => {
                    while let Ok((n, _)) = client.recv_from(&mut buf) {
                        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                        println!("{:>6.1} ms  echo: got back {text:?}", ms(start));
                        echo_reply = Some(text.into_owned());
                    }
                    // The call was up while the echo went round: hang up now.
                    if alice.endpoint().dialog_state(call) == Some(DialogState::Confirmed) {
                        alice.hangup(now, call)?;
                        println!("{:>6.1} ms  alice: BYE sent", ms(start));
                    }
                }
                _ => {}
            }
        }
        alice.handle_timeout(now);
        bob.handle_timeout(now);

        while let Some(e) = bob.poll_event() {
            bob_uas.on_driver_event(&mut bob, now, &e);
            match e {
                Event::Sip(SipEvent::IncomingCall { dialog, .. }) => {
                    println!(
                        "{:>6.1} ms  bob: incoming call ({dialog}), ringing and answering",
                        ms(start)
                    );
                }
                Event::Sip(SipEvent::DialogStateChanged {
                    state: DialogState::Terminated(EndReason::RemoteBye),
                    ..
                }) => {
                    println!("{:>6.1} ms  bob: call ended by alice's BYE", ms(start));
                    bob_saw_bye = true;
                }
                _ => {}
            }
        }
        while let Some(e) = alice.poll_event() {
            match e {
                Event::Sip(SipEvent::DialogResponse { response, .. }) => {
                    println!(
                        "{:>6.1} ms  alice: {} {}",
                        ms(start),
                        response.status(),
                        response.reason()
                    );
                }
                Event::Sip(SipEvent::DialogStateChanged { state, .. }) => {
                    println!("{:>6.1} ms  alice: call {state:?}", ms(start));
                    match state {
                        DialogState::Confirmed => {
                            client.send_to(b"hello beside SIP", echo_addr)?;
                            println!(
                                "{:>6.1} ms  echo: datagram sent while the call is up",
                                ms(start)
                            );
                        }
                        DialogState::Terminated(_) => call_ended = true,
                        _ => {}
                    }
                }
                Event::TransportError { peer, failure, .. } => {
                    println!("alice: transport error to {peer}: {failure}");
                }
                _ => {}
            }
        }
    }
    println!(
        "done in {:.1} ms and {iterations} loop iterations: call answered and hung up ({}), {echoed} datagram echoed ({:?})",
        ms(start),
        bob_uas.counters(),
        echo_reply.unwrap_or_default()
    );
    Ok(true)
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
