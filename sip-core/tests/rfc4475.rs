//! RFC 4475 torture tests, read at run time from `../shared/conformance/rfc4475/` with the
//! verdicts of its `expected.tsv` (lenient and strict mode): every message to accept parses
//! to the values the RFC describes, every message to reject is rejected at the layer and for
//! the reason the RFC gives, and the stream framer yields the same message at every split.

use bytes::Bytes;
use sip_core::message::{
    FaultLayer, HeaderName, Method, ParseError, ParseErrorKind as K, ParseOptions, SipMessage,
    StreamFramer, parse,
};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/rfc4475");
    if dir.join("expected.tsv").exists() {
        return Some(dir);
    }
    let msg = format!("RFC 4475 corpus not found at {}", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}: CI=true requires it");
    }
    eprintln!("\n\n*** SKIPPING: {msg} ***\n");
    None
}

struct Case {
    file: String,
    lenient: String,
    strict: String,
    section: String,
}

fn cases(dir: &Path) -> Vec<Case> {
    std::fs::read_to_string(dir.join("expected.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Case {
                file: c[0].into(),
                lenient: c[1].into(),
                strict: c[2].into(),
                section: c[3].into(),
            }
        })
        .collect()
}

fn load(dir: &Path, f: &str) -> Bytes {
    Bytes::from(std::fs::read(dir.join(f)).unwrap())
}

fn req(m: &SipMessage) -> &sip_core::message::Request {
    m.as_request().expect("a request")
}

/// Field checks for the messages the RFC says are valid (what §3.1.1 and §3.3 describe).
fn check_fields(file: &str, m: &SipMessage) {
    let msg = m.message();
    match file {
        "wsinv.dat" => {
            let r = req(m);
            assert_eq!(r.method(), &Method::Invite);
            assert_eq!(
                r.uri_str(),
                "sip:vivekg@chair-dnrc.example.com;unknownparam"
            );
            assert_eq!(r.to().unwrap().tag(), Some("1918181833n"));
            assert_eq!(
                r.to().unwrap().uri_str(),
                "sip:vivekg@chair-dnrc.example.com"
            );
            assert_eq!(r.from().unwrap().tag(), Some("98asjd8"));
            assert_eq!(
                r.from().unwrap().display_name().as_deref(),
                Some("J Rosenberg \\\"")
            );
            assert_eq!(r.max_forwards(), Some(68));
            assert_eq!(r.cseq(), Some((9, "INVITE")));
            assert_eq!(r.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
            let vias: Vec<_> = r
                .vias()
                .map(|v| v.unwrap().branch().map(str::to_owned))
                .collect();
            assert_eq!(vias.len(), 3);
            assert_eq!(vias[0].as_deref(), Some("390skdjuw"));
            assert_eq!(vias[1].as_deref(), Some("z9hG4bK9ikj8"));
            assert_eq!(vias[2].as_deref(), Some("z9hG4bK30239"));
            assert_eq!(
                r.headers()
                    .get("NewFangledHeader")
                    .map(|v| v.contains("continued")),
                Some(true)
            );
            assert_eq!(
                r.headers().get("UnknownHeaderWithUnusualValue"),
                Some(";;,,;;,;")
            );
            assert_eq!(r.headers().get(HeaderName::Subject), Some(""));
            assert_eq!(r.content_length(), Some(150));
            assert_eq!(r.body().len(), 150);
            assert_eq!(r.routes().count(), 1);
        }
        "intmeth.dat" => {
            let r = req(m);
            let odd = "!interesting-Method0123456789_*+`.%indeed'~";
            assert_eq!(r.method().as_str(), odd);
            assert_eq!(r.cseq(), Some((139122385, odd)));
            assert_eq!(r.via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
            assert_eq!(r.from().unwrap().tag(), Some("_token~1'+`*%!-."));
            assert_eq!(
                r.from().unwrap().display_name_raw(),
                Some("token1~` token2'+_ token3*%!.-")
            );
            assert_eq!(
                r.call_id(),
                Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
            );
            assert!(r.headers().get("extensionHeader-!.%*+_`'~").is_some());
            assert!(r.uri().unwrap().as_sip().is_some());
        }
        "esc01.dat" => {
            let r = req(m);
            let uri = r.uri().unwrap();
            let sip = uri.as_sip().unwrap();
            assert_eq!(
                sip.user_unescaped().as_deref(),
                Some("sips:user@example.com")
            );
            assert_eq!(r.cseq(), Some((234234, "INVITE")));
            let to = r.to().unwrap();
            assert_eq!(
                to.uri()
                    .unwrap()
                    .as_sip()
                    .unwrap()
                    .user_unescaped()
                    .as_deref(),
                Some("user")
            );
        }
        "escnull.dat" => {
            let r = req(m);
            let to = r.to().unwrap();
            let user = to
                .uri()
                .unwrap()
                .as_sip()
                .unwrap()
                .user_unescaped()
                .unwrap()
                .into_owned();
            assert!(user.contains('\0'), "{user:?}");
        }
        "esc02.dat" => {
            let r = req(m);
            assert_eq!(r.method(), &Method::Extension("RE%47IST%45R".into()));
            assert_eq!(r.cseq(), Some((29344, "RE%47IST%45R")));
            assert_eq!(r.via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
            // "C%6Fntact" is an unknown header, not a Contact.
            assert_eq!(r.contacts().count(), 2);
            assert!(r.headers().get("C%6Fntact").is_some());
            assert_eq!(r.from().unwrap().display_name().as_deref(), Some("%Z%45"));
        }
        "lwsdisp.dat" => {
            let f = req(m).from().unwrap();
            assert_eq!(
                (f.display_name_raw(), f.uri_str(), f.tag()),
                (Some("caller"), "sip:caller@example.com", Some("323"))
            );
        }
        "longreq.dat" => {
            let r = req(m);
            assert!(r.to().unwrap().display_name().unwrap().len() > 100);
            let vias: Vec<_> = r.vias().map(|v| v.unwrap().host().to_owned()).collect();
            assert_eq!(vias.len(), 34);
            assert_eq!(vias[0], "sip33.example.com");
            assert_eq!(
                r.vias().last().unwrap().unwrap().received(),
                Some("192.0.2.5")
            );
        }
        "dblreq.dat" => {
            let r = req(m);
            assert_eq!(r.method(), &Method::Register);
            assert_eq!(r.body().len(), 0);
        }
        "semiuri.dat" => {
            let r = req(m);
            let uri = r.uri().unwrap();
            let sip = uri.as_sip().unwrap();
            assert_eq!(sip.user(), Some("user;par=u%40example.net"));
            assert_eq!(sip.host().to_string(), "example.com");
        }
        "transports.dat" => {
            let t: Vec<_> = msg
                .vias()
                .map(|v| v.unwrap().transport_str().to_owned())
                .collect();
            assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
        }
        "mpart01.dat" => {
            let ct = msg.content_type().unwrap().unwrap();
            assert!(ct.is("multipart", "mixed"));
            assert_eq!(ct.param("boundary"), Some(Some("7a9cbec02ceef655")));
            assert_eq!(msg.body().len(), msg.content_length().unwrap());
        }
        "unreason.dat" => {
            let r = m.as_response().unwrap();
            assert_eq!(r.status(), 200);
            assert!(r.reason().starts_with("= 2**3 * 5**2"));
        }
        "noreason.dat" => {
            let r = m.as_response().unwrap();
            assert_eq!((r.status(), r.reason()), (100, ""));
        }
        "badbranch.dat" => {
            let v = msg.via().unwrap();
            assert!(!v.has_rfc3261_branch());
        }
        "unkscm.dat" | "novelsc.dat" => {
            let r = req(m);
            assert!(
                r.uri().unwrap().as_sip().is_none(),
                "an unknown scheme is kept opaque"
            );
        }
        "unksm2.dat" => {
            assert!(msg.to().unwrap().uri().unwrap().as_sip().is_none());
        }
        "bext01.dat" => {
            assert_eq!(
                msg.require().collect::<Vec<_>>(),
                ["nothingSupportsThis", "nothingSupportsThisEither"]
            );
        }
        "bcast.dat" => {
            let v: Vec<_> = msg.vias().map(|v| v.unwrap().host().to_owned()).collect();
            assert_eq!(v, ["192.0.2.198", "255.255.255.255"]);
        }
        "zeromf.dat" => assert_eq!(msg.max_forwards(), Some(0)),
        "cparam01.dat" => {
            let c = msg.contacts().next().unwrap().unwrap();
            // In an addr-spec, parameters after the URI belong to the header (§20.10).
            assert_eq!(c.uri_str(), "sip:+19725552222@gw1.example.net");
            assert_eq!(c.param("unknownparam"), Some(None));
        }
        "cparam02.dat" => {
            let c = msg.contacts().next().unwrap().unwrap();
            assert!(c.is_name_addr());
            assert!(c.uri().unwrap().as_sip().unwrap().has_param("unknownparam"));
        }
        "regescrt.dat" => {
            let c = msg.contacts().next().unwrap().unwrap();
            let uri = c.uri().unwrap();
            assert!(uri.as_sip().unwrap().header("Route").is_some());
        }
        "inv2543.dat" => {
            let r = req(m);
            assert!(r.via().unwrap().branch().is_none());
            assert_eq!(r.max_forwards(), None);
            assert_eq!(r.from().unwrap().tag(), None);
        }
        _ => {}
    }
}

/// What each rejected message must be rejected for (RFC 4475 §3.1.2, §3.3).
fn check_rejection(file: &str, e: &ParseError) {
    let ok = match file {
        "badinv01.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::Via | HeaderName::Contact,
                ..
            }
        ),
        "clerr.dat" => matches!(e.kind, K::BodyTooShort { .. }),
        "ncl.dat" => matches!(e.kind, K::ContentLength(_)),
        "scalar02.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::CSeq | HeaderName::MaxForwards | HeaderName::Expires,
                ..
            }
        ),
        "scalarlg.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::CSeq,
                ..
            }
        ),
        "quotbal.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::To,
                ..
            }
        ),
        "ltgtruri.dat" | "lwsruri.dat" => matches!(e.kind, K::RequestUri(_) | K::StartLine(_)),
        "lwsstart.dat" | "trws.dat" => matches!(e.kind, K::StartLine(_) | K::RequestUri(_)),
        "escruri.dat" => matches!(e.kind, K::RequestUri(_)),
        "regbadct.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::Contact,
                ..
            }
        ),
        "badaspec.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::To,
                ..
            }
        ),
        // The archived file also lacks the empty line ending the headers.
        "baddn.dat" => matches!(
            e.kind,
            K::HeaderValue {
                header: HeaderName::From | HeaderName::To,
                ..
            } | K::UnterminatedHeaders
        ),
        "badvers.dat" => e.kind == K::UnsupportedVersion && e.status_code() == 505,
        "mismatch01.dat" | "mismatch02.dat" => e.kind == K::CSeqMethodMismatch,
        "bigcode.dat" => e.kind == K::StatusCode,
        "insuf.dat" => matches!(e.kind, K::MissingHeader(_)),
        "multi01.dat" => matches!(e.kind, K::DuplicateHeader(_)),
        "mcl01.dat" => e.kind == K::DuplicateHeader(HeaderName::ContentLength),
        "inv2543.dat" => e.kind == K::MissingHeader(HeaderName::MaxForwards),
        _ => false,
    };
    assert!(ok, "{file}: rejected for the wrong reason: {e}");
    let layer = e.layer();
    match file {
        "mismatch01.dat" | "mismatch02.dat" | "insuf.dat" | "multi01.dat" => {
            assert_eq!(layer, FaultLayer::Semantic, "{file}")
        }
        "badinv01.dat" | "quotbal.dat" | "regbadct.dat" | "scalar02.dat" | "scalarlg.dat" => {
            assert_eq!(layer, FaultLayer::HeaderValue, "{file}")
        }
        "clerr.dat" | "ltgtruri.dat" | "lwsruri.dat" | "bigcode.dat" | "badvers.dat" => {
            assert_eq!(layer, FaultLayer::Framing, "{file}")
        }
        _ => {}
    }
}

#[test]
fn rfc4475_torture_messages() {
    let Some(dir) = corpus() else { return };
    let cases = cases(&dir);
    assert_eq!(cases.len(), 49, "expected.tsv lists 49 messages");
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for c in &cases {
        let bytes = load(&dir, &c.file);
        for (mode, verdict) in [
            (ParseOptions::lenient(), &c.lenient),
            (ParseOptions::strict(), &c.strict),
        ] {
            let name = if mode == ParseOptions::strict() {
                "strict"
            } else {
                "lenient"
            };
            let got = std::panic::catch_unwind(|| parse(bytes.clone(), &mode));
            let Ok(got) = got else {
                failures.push(format!("{} ({name}): PANIC", c.file));
                continue;
            };
            let outcome = match (&got, verdict.as_str()) {
                (Ok(m), "accept" | "either") => {
                    if let Err(p) = std::panic::catch_unwind(|| check_fields(&c.file, m)) {
                        failures.push(format!(
                            "{} ({name}, §{}): field check failed: {:?}",
                            c.file,
                            c.section,
                            p.downcast_ref::<String>()
                        ));
                    }
                    "accepted"
                }
                (Err(e), "reject" | "either") => {
                    if let Err(p) = std::panic::catch_unwind(|| check_rejection(&c.file, e)) {
                        failures.push(format!(
                            "{} ({name}, §{}): {:?}",
                            c.file,
                            c.section,
                            p.downcast_ref::<String>()
                        ));
                    }
                    "rejected"
                }
                (Ok(_), _) => {
                    failures.push(format!(
                        "{} ({name}, §{}): accepted, must be rejected",
                        c.file, c.section
                    ));
                    "wrong"
                }
                (Err(e), _) => {
                    failures.push(format!(
                        "{} ({name}, §{}): rejected ({e}), must be accepted",
                        c.file, c.section
                    ));
                    "wrong"
                }
            };
            *tally
                .entry(format!("{name} {verdict} -> {outcome}"))
                .or_default() += 1;
        }
    }
    eprintln!("RFC 4475 tally: {tally:#?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rfc4475_stream_framer_at_every_split() {
    let Some(dir) = corpus() else { return };
    for c in cases(&dir) {
        let bytes = load(&dir, &c.file);
        let Ok(datagram) =
            sip_core::message::parse_unchecked(bytes.clone(), &ParseOptions::default())
        else {
            continue;
        };
        if datagram.message().content_length().is_none()
            || c.file == "dblreq.dat"
            || !bytes.windows(4).any(|w| w == b"\r\n\r\n")
        {
            // A stream needs Content-Length and the empty line; dblreq has trailing octets
            // by design.
            continue;
        }
        let want = datagram.to_bytes();
        for split in 0..=bytes.len() {
            let mut f = StreamFramer::new(ParseOptions::default());
            f.push(&bytes[..split]);
            let mut got = f.next_message();
            f.push(&bytes[split..]);
            if got.is_none() {
                got = f.next_message();
            }
            let m = got.unwrap_or_else(|| panic!("{}: no message at split {split}", c.file));
            let m = m.unwrap_or_else(|e| panic!("{}: {e} at split {split}", c.file));
            assert_eq!(m.to_bytes(), want, "{} split {split}", c.file);
        }
    }
}
