//! proptest strategies for SIP messages (RFC 3261 §7, §20, §25.1) and their parts, for
//! damage, and for stream chunkings.
//!
//! Regex strategies are compiled once per strategy ([`re`]), never per case, and no
//! strategy is built inside a `prop_flat_map`: a case costs generation, not compilation.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::string::{RegexGeneratorStrategy, string_regex};

use crate::mutation::{INTERESTING, Mutation};
use crate::spec::{Addr, Damage, Damaged, Expected, MessageSpec, Row, Spelling, Start};

/// A string strategy from a regex, compiled once.
pub fn re(pattern: &str) -> RegexGeneratorStrategy<String> {
    string_regex(pattern).unwrap_or_else(|e| panic!("bad regex {pattern}: {e}"))
}

/// The regex of a `token` (RFC 3261 §25.1) of 1 to 12 characters.
pub const TOKEN: &str = "[A-Za-z0-9.!%*_+`'~-]{1,12}";

/// A `token` (RFC 3261 §25.1).
pub fn token() -> RegexGeneratorStrategy<String> {
    re(TOKEN)
}

/// Methods of RFC 3261 (§7.1) and of its extensions (RFC 3262, 3311, 3428, 3515, 3903,
/// 6086, 6665).
pub const KNOWN_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "INFO",
    "MESSAGE",
    "UPDATE",
    "PRACK",
    "PUBLISH",
];

/// How a known header name is written and the blanks around its colon.
pub fn spelling() -> impl Strategy<Value = Spelling> {
    (
        0u8..5,
        any::<u64>(),
        select(vec!["", "", " ", "\t"]),
        select(vec![" ", " ", "", "  ", "\t"]),
    )
        .prop_map(|(how, mask, before, after)| Spelling {
            how,
            mask,
            before,
            after,
        })
}

/// A row of a known header with a value from `value`.
pub fn row(
    canon: &'static str,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Row> {
    (spelling(), value).prop_map(move |(s, v)| Row::known(canon, &s, v))
}

/// A host: a name, an IPv4 address or an IPv6 reference (§25.1 `host`).
pub fn host() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => re("([a-z0-9]{1,6}\\.){0,3}[a-z][a-z0-9]{0,6}"),
        2 => any::<[u8; 4]>().prop_map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("[2001:db8::{a:x}:{b:x}]")),
        1 => Just("[::1]".to_owned()),
    ]
}

/// Nothing, or `:` and a port.
pub fn port() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        1 => (1u16..=65535).prop_map(|p| format!(":{p}")),
    ]
}

/// One `;`-led uri-parameter: `lr`, `transport`, `user` or an extension.
pub fn uri_param() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(";lr".to_owned()),
        select(vec![
            ";transport=udp",
            ";transport=tcp",
            ";transport=TLS",
            ";user=phone"
        ])
        .prop_map(str::to_owned),
        re("x[a-z0-9]{0,5}(=[A-Za-z0-9.-]{1,8})?").prop_map(|p| format!(";{p}")),
    ]
}

/// A `sip:`/`sips:` URI; with `params` it may carry uri-parameters.
pub fn sip_uri(params: bool) -> impl Strategy<Value = String> {
    let max_params = if params { 3 } else { 0 };
    (
        select(vec!["sip:", "sip:", "sip:", "sips:"]),
        proptest::option::of(re("[a-zA-Z0-9_.!~*'()&=+$-]{1,10}(%[0-9A-F]{2})?")),
        host(),
        port(),
        proptest::collection::vec(uri_param(), 0..=max_params),
    )
        .prop_map(|(scheme, user, host, port, params)| {
            let user = user.map(|u| format!("{u}@")).unwrap_or_default();
            format!("{scheme}{user}{host}{port}{}", params.concat())
        })
}

/// A display name: tokens, or a quoted string with escapes and UTF-8.
pub fn display_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => re("[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,2}").prop_map(Some),
        1 => re(r#"([a-zA-Z0-9 ,;<>:@=éü日本✓]|\\"|\\\\){0,12}"#)
            .prop_map(|s| Some(format!("\"{s}\""))),
    ]
}

/// A `name-addr` or `addr-spec` (§20.10, §25.1), rendered by [`Addr::render`].
pub fn addr() -> impl Strategy<Value = Addr> {
    (
        display_name(),
        any::<bool>(),
        sip_uri(true),
        sip_uri(false),
        proptest::option::of(re("x[a-z]{0,4}=[a-z0-9]{1,4}")),
    )
        .prop_map(|(display, angle, uri, bare, other)| Addr {
            display,
            angle,
            uri,
            bare,
            other,
        })
}

/// A Contact value: one to three name-addrs with header parameters (§20.10).
pub fn contact_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            display_name(),
            sip_uri(true),
            select(vec![
                "",
                ";expires=3600",
                ";q=0.5",
                ";+sip.instance=\"<urn:x>\"",
            ]),
        )
            .prop_map(|(d, u, p)| match d {
                Some(d) => format!("{d} <{u}>{p}"),
                None => format!("<{u}>{p}"),
            }),
        1..=3,
    )
    .prop_map(|v| v.join(", "))
}

/// A Route or Record-Route value: one to three loose-routing URIs, joined in various ways.
pub fn route_list() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(host().prop_map(|h| format!("<sip:{h};lr>")), 1..=3),
        select(vec![", ", ",", " , ", ",\r\n "]),
    )
        .prop_map(|(v, sep)| v.join(sep))
}

/// A comma-separated list of tokens, joined in various ways (folds included).
pub fn token_list() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(token(), 1..=4),
        select(vec![", ", ",", " ,", ",\r\n\t"]),
    )
        .prop_map(|(v, sep)| v.join(sep))
}

/// UTF-8 text (TEXT-UTF8-TRIM): not starting or ending with whitespace.
pub fn text_utf8() -> RegexGeneratorStrategy<String> {
    re("[a-zA-Z0-9éà日本語✓ü.,;:()!?'-]([a-zA-Z0-9éà日本語✓ü .,;:()!?'-]{0,20}[a-zA-Z0-9éü.!?])?")
}

/// The value of an unknown header: tokens, quoted strings holding commas, `<>` and `;`,
/// URIs in angle brackets, UTF-8 text, `name: value` look-alikes, joined by spaces, commas,
/// semicolons and folds.
pub fn unknown_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => token(),
        2 => re(r#""([a-zA-Z0-9 ,;<>:@=éü日本]|\\"|\\\\){0,12}""#),
        1 => host().prop_map(|h| format!("<sip:x@{h}>")),
        1 => re("[a-z]{1,5}=[a-z0-9]{1,5}"),
        1 => re("[a-zé日本✓][a-zé日本✓ ]{0,9}[a-z]"),
        1 => re("[a-z]{1,4}: [0-9]{1,3}"),
    ];
    proptest::collection::vec(
        (
            piece,
            select(vec![
                " ", " ", ", ", ",", ";", " ; ", "\r\n ", "\r\n\t", ",\r\n  ",
            ]),
        ),
        0..6,
    )
    .prop_map(|parts| {
        let mut s = String::new();
        let n = parts.len();
        for (i, (p, sep)) in parts.into_iter().enumerate() {
            s.push_str(&p);
            if i + 1 < n {
                s.push_str(sep);
            }
        }
        s
    })
}

/// A row of an unknown `X-` header.
pub fn unknown_row() -> impl Strategy<Value = Row> {
    (
        re("X-[A-Za-z0-9.!%*_+`'~-]{1,10}"),
        select(vec!["", " "]),
        select(vec![" ", "", "\t"]),
        unknown_value(),
    )
        .prop_map(|(name, before, after, value)| Row {
            name,
            before,
            after,
            value,
        })
}

/// Optional rows that may appear any number of times.
pub fn extra_row() -> BoxedStrategy<Row> {
    prop_oneof![
        5 => unknown_row(),
        1 => row("Subject", text_utf8()),
        1 => row("Supported", token_list()),
        1 => row("Require", token_list()),
        1 => row("Allow", (proptest::collection::vec(select(KNOWN_METHODS.to_vec()), 1..5))
            .prop_map(|v| v.join(", "))),
        1 => row("Contact", contact_value()),
        1 => row("Route", route_list()),
        1 => row("Record-Route", route_list()),
        1 => row("User-Agent", re("[A-Za-z]{1,8}/[0-9]\\.[0-9]( \\([a-z ]{1,10}\\))?")),
        1 => row("Accept", select(vec!["application/sdp", "application/sdp, text/plain",
            "application/pidf+xml;q=0.5"]).prop_map(str::to_owned)),
        1 => row("Date", Just("Sat, 13 Nov 2010 23:29:00 GMT".to_owned())),
        1 => row("Organization", text_utf8()),
        1 => row("Allow-Events", token_list()),
    ]
    .boxed()
}

/// The top Via row's value and its branch: one via-parm with a branch, maybe followed by
/// another in the same row.
pub fn via_value() -> impl Strategy<Value = (String, String)> {
    (
        select(vec!["SIP/2.0/", "SIP/2.0/", "sip/2.0/", "SIP / 2.0 / "]),
        select(vec!["UDP", "TCP", "TLS", "SCTP", "WS", "udp", "tls-sctp"]),
        host(),
        port(),
        token(),
        select(vec![
            "",
            ";rport",
            ";received=192.0.2.1",
            ";rport=5060;x-v=1",
            ";ttl=16",
        ]),
        proptest::option::of((host(), token())),
        select(vec![", ", ",", ",\r\n "]),
    )
        .prop_map(|(proto, transport, host, port, branch, extra, more, sep)| {
            let branch = format!("z9hG4bK{branch}");
            let mut v = format!("{proto}{transport} {host}{port};branch={branch}{extra}");
            if let Some((h, b)) = more {
                v.push_str(sep);
                v.push_str(&format!("SIP/2.0/UDP {h};branch=z9hG4bK{b}"));
            }
            (v, branch)
        })
}

/// A Call-ID (§25.1 `callid`).
pub fn call_id() -> RegexGeneratorStrategy<String> {
    re(r#"[A-Za-z0-9.!%*_+`'~()<>:/?{}\[\]"\\-]{1,24}(@[A-Za-z0-9.-]{1,16})?"#)
}

/// A body: empty, random bytes, or SDP.
pub fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(any::<u8>(), 1..80),
        1 => Just(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n".to_vec()),
    ]
}

/// A method: a known one, or an extension token.
pub fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(KNOWN_METHODS.to_vec()).prop_map(str::to_owned),
        1 => re("[A-Z][A-Za-z0-9.!%*_+`'~-]{0,10}"),
    ]
}

/// A reason phrase (§25.1 `Reason-Phrase`), possibly empty, with UTF-8 and escapes.
pub fn reason() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => re("[A-Za-z0-9]([A-Za-z0-9 \t;/?:@&=+$,.!~*'()-]|[é日本✓ü]|%[0-9A-F]{2}){0,20}"),
    ]
}

/// Rows and expected values shared by requests and responses (all but CSeq, whose method
/// depends on the start line).
#[derive(Debug, Clone)]
struct Common {
    rows: Vec<Row>,
    branch: String,
    from_tag: String,
    to_tag: Option<String>,
    call_id: String,
    cseq_n: u32,
    cseq_sep: &'static str,
    cseq_spelling: Spelling,
    max_forwards: Option<u8>,
    body: Vec<u8>,
    shuffle: u64,
}

/// The rows and values shared by requests and responses.
fn common(response: bool) -> BoxedStrategy<Common> {
    let to_tag = if response {
        proptest::option::weighted(0.8, token()).boxed()
    } else {
        proptest::option::weighted(0.2, token()).boxed()
    };
    let mf = if response {
        proptest::option::weighted(0.2, any::<u8>()).boxed()
    } else {
        // Requests always carry Max-Forwards, so that strict mode accepts them (§8.1.1.6).
        any::<u8>().prop_map(Some).boxed()
    };
    (
        (via_value(), token(), to_tag, addr(), addr()),
        (call_id(), 0u32..(1 << 31), select(vec![" ", "  ", "\t"])),
        mf,
        proptest::collection::vec(extra_row(), 0..=30),
        body(),
        (
            proptest::collection::vec(spelling(), 8),
            select(vec![
                "application/sdp",
                "text/plain;charset=UTF-8",
                "application/octet-stream",
                "multipart/mixed ; boundary=\"b 1\"",
            ]),
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                ((via, branch), from_tag, to_tag, from, to),
                (call_id, cseq_n, cseq_sep),
                mf,
                extras,
                body,
                (sp, content_type, shuffle),
            )| {
                let mut rows = vec![
                    Row::known("Via", &sp[0], via),
                    Row::known("From", &sp[1], from.render(Some(&from_tag))),
                    Row::known("To", &sp[2], to.render(to_tag.as_deref())),
                    Row::known("Call-ID", &sp[3], call_id.clone()),
                    Row::known("Content-Length", &sp[4], body.len().to_string()),
                ];
                if !body.is_empty() {
                    rows.push(Row::known("Content-Type", &sp[5], content_type.to_owned()));
                }
                if let Some(n) = mf {
                    rows.push(Row::known("Max-Forwards", &sp[6], n.to_string()));
                }
                rows.extend(extras);
                Common {
                    rows,
                    branch,
                    from_tag,
                    to_tag,
                    call_id,
                    cseq_n,
                    cseq_sep,
                    cseq_spelling: sp[7].clone(),
                    max_forwards: mf,
                    body,
                    shuffle,
                }
            },
        )
        .boxed()
}

/// Adds the CSeq row and shuffles the rows (the top Via is the only Via row, so it stays the
/// top one).
fn assemble(start_line: String, start: Start, c: Common, cseq_method: String) -> MessageSpec {
    let mut rows = c.rows;
    rows.push(Row::known(
        "CSeq",
        &c.cseq_spelling,
        format!("{}{}{}", c.cseq_n, c.cseq_sep, cseq_method),
    ));
    // Fisher-Yates with xorshift64 seeded by the case.
    let mut s = c.shuffle | 1;
    for i in (1..rows.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        rows.swap(i, (s % (i as u64 + 1)) as usize);
    }
    MessageSpec {
        start_line,
        rows,
        body: c.body,
        expected: Expected {
            start,
            branch: c.branch,
            from_tag: c.from_tag,
            to_tag: c.to_tag,
            call_id: c.call_id,
            cseq: (c.cseq_n, cseq_method),
            max_forwards: c.max_forwards,
        },
    }
}

/// A valid request.
pub fn request() -> impl Strategy<Value = MessageSpec> {
    (method(), sip_uri(true), common(false)).prop_map(|(method, uri, c)| {
        let line = format!("{method} {uri} SIP/2.0\r\n");
        let start = Start::Request {
            method: method.clone(),
            uri,
        };
        assemble(line, start, c, method)
    })
}

/// A valid response.
pub fn response() -> impl Strategy<Value = MessageSpec> {
    (100u16..=699, reason(), method(), common(true)).prop_map(|(code, reason, m, c)| {
        let line = format!("SIP/2.0 {code} {reason}\r\n");
        assemble(line, Start::Response { code, reason }, c, m)
    })
}

/// A valid request or response.
pub fn message() -> BoxedStrategy<MessageSpec> {
    prop_oneof![request().boxed(), response().boxed()].boxed()
}

/// Chunk sizes for feeding a stream framer (cycled), mostly small.
pub fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![3 => 1usize..8, 2 => 8usize..64, 1 => 64usize..600],
        1..8,
    )
}

/// A valid start line.
pub fn start_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (method(), sip_uri(true)).prop_map(|(m, u)| format!("{m} {u} SIP/2.0\r\n")),
        (100u16..=699, reason()).prop_map(|(c, r)| format!("SIP/2.0 {c} {r}\r\n")),
    ]
}

/// Bytes that look like SIP: a start line, rows of known and unknown names with values
/// drawn from the characters the header grammars care about, a blank line, a body.
pub fn sipish() -> impl Strategy<Value = Vec<u8>> {
    let names = vec![
        "Via",
        "v",
        "From",
        "f",
        "To",
        "t",
        "Call-ID",
        "i",
        "CSeq",
        "Max-Forwards",
        "l",
        "Content-Length",
        "Contact",
        "m",
        "Route",
        "Record-Route",
        "Content-Type",
        "c",
        "Expires",
        "Min-Expires",
        "Event",
        "o",
        "Subscription-State",
        "Allow",
        "Supported",
        "k",
        "Require",
        "Refer-To",
        "r",
        "Referred-By",
        "b",
        "X-Any",
    ];
    let value = prop_oneof![
        re(r#"[a-zA-Z0-9 <>;,="\\:@/.%\[\]*?+&$'~()\t-]{0,40}"#),
        re(r#"([a-z0-9]{0,4}[ <>;,="\\:@/.%\[\]\t]){0,12}(\r\n )?[a-z0-9;=<>"]{0,8}"#),
        re(
            "SIP/2.0/[A-Z]{0,3} [a-z0-9.:\\[\\]]{0,12}(;[a-z]{0,6}(=[a-z0-9.:\\[\\]\"]{0,8})?){0,3}"
        ),
        re("[0-9]{0,12}( [A-Z]{0,8})?"),
        re(
            "(\"[^\"\r\n]{0,8}\"? ?)?<?[a-z]{0,4}:[a-z0-9@.;=:%?&]{0,20}>?(;[a-z]{0,4}=?[a-z0-9\"]{0,5}){0,2}"
        ),
    ];
    (
        start_line(),
        proptest::collection::vec(
            (select(names), select(vec![": ", ":", " : "]), value),
            0..14,
        ),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(sl, rows, body, blank)| {
            let mut out = sl.into_bytes();
            for (n, colon, v) in rows {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(colon.as_bytes());
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            if blank {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(&body);
            out
        })
}

/// One byte-level [`Mutation`]; insertions favour [`INTERESTING`] byte strings.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..4),
        select(INTERESTING.to_vec()).prop_map(<[u8]>::to_vec),
    ];
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        3 => (any::<Index>(), interesting).prop_map(|(i, v)| Mutation::Insert(i, v)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// SIP-ish noise for a header value: the characters the header grammars care about.
pub fn noise() -> RegexGeneratorStrategy<String> {
    re(r#"[a-zA-Z0-9 <>;,="\\:@/.%\[\]*?+&$'~()\t-]{0,30}"#)
}

/// One piece of [`Damage`]: mostly byte-level mutations, sometimes a noisy header value.
pub fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        3 => mutation().prop_map(Damage::Bytes),
        1 => (any::<Index>(), noise()).prop_map(|(at, n)| Damage::NoisyLine(at, n)),
    ]
}

/// A valid message with no, one, two or three pieces of damage.
pub fn damaged() -> impl Strategy<Value = Damaged> {
    (message(), proptest::collection::vec(damage(), 0..4))
        .prop_map(|(spec, damage)| Damaged { spec, damage })
}
