//! SIP beside other sources in one `mio::Poll`: a loop of its own serves a plain UDP echo
//! socket and two SIP drivers. Alice calls Bob, who rings and answers 100 ms later (an
//! application timer, through the driver's alarm: `wake_at`), a datagram goes through the
//! echo server while the call is up, Alice hangs up, and the program prints what happened
//! and exits 0.
//!
//! ```text
//! cargo run -p sip-mio --example mio_embed
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Event as SipEvent, InviteOptions, Target};
use sip_core::transport::Transport;
use sip_mio::{Driver, DriverConfig, Event, Listen};

/// How long Bob rings before answering.
const RING: Duration = Duration::from_millis(100);

/// The SDP answer Bob sends.
const ANSWER: &str = "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7002 RTP/AVP 0\r\n";

/// The caller's own sources.
const ECHO: Token = Token(0);
const ECHO_CLIENT: Token = Token(1);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("mio_embed: did not finish within 5 s");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mio_embed: {e}");
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
    // The call Bob is ringing, answered when his alarm rings.
    let mut bob_ringing = None;
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
    let opts = InviteOptions::new(
        format!("sip:bob@{bob_addr}"),
        "<sip:alice@example.com>",
        "<sip:bob@example.com>",
    )
    .body("application/sdp", offer)
    .target(Target::new(Transport::Udp, bob_addr));
    // Every command goes through the endpoint; the driver sends what it produced.
    let call = alice.with_endpoint(start, |ep| ep.invite(start, opts))?;
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
                        alice.with_endpoint(now, |ep| ep.dialog(call)?.hangup(now))?;
                        println!("{:>6.1} ms  alice: BYE sent", ms(start));
                    }
                }
                _ => {}
            }
        }
        alice.handle_timeout(now);
        bob.handle_timeout(now);

        while let Some(e) = bob.poll_event() {
            match e {
                Event::Sip(SipEvent::IncomingCall { dialog, .. }) => {
                    println!(
                        "{:>6.1} ms  bob: incoming call ({dialog}), ringing",
                        ms(start)
                    );
                    bob.with_endpoint(now, |ep| ep.dialog(dialog)?.ring(now))?;
                    bob_ringing = Some(dialog);
                    bob.wake_at(now + RING);
                }
                Event::Wake { .. } => {
                    if let Some(dialog) = bob_ringing.take() {
                        println!("{:>6.1} ms  bob: answering", ms(start));
                        let sdp = Some(("application/sdp", ANSWER.into()));
                        bob.with_endpoint(now, |ep| ep.dialog(dialog)?.accept(now, sdp))?;
                    }
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
        "done in {:.1} ms and {iterations} loop iterations: call answered and hung up, {echoed} datagram echoed ({:?})",
        ms(start),
        echo_reply.unwrap_or_default()
    );
    Ok(true)
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
