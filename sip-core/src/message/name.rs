//! Header field names: the known ones with their compact forms (RFC 3261 §7.3.3, §20), looked
//! up by length and first byte rather than by a chain of case-insensitive compares.

use super::scan::{Caseless, LOW_BYTES, word_at_padded};
use std::fmt;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ; )*) => {
        /// A header field name. Known names are an enum variant whatever their spelling or
        /// compact form on the wire; any other name is [`HeaderName::Other`] and compares
        /// ignoring ASCII case (RFC 3261 §7.3.1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canon, "`", $(" (compact form `", $compact, "`)")?)]
                $variant,
            )*
            /// An extension header; the spelling is kept in the message.
            Other,
        }

        impl HeaderName {
            /// Canonical spelling (`Call-ID`, `CSeq`, `WWW-Authenticate`). `Other` gives `""`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(HeaderName::$variant => $canon,)*
                    HeaderName::Other => "",
                }
            }

            /// The compact form (§7.3.3), if the header has one.
            pub const fn compact(self) -> Option<char> {
                match self {
                    $($(HeaderName::$variant => Some($compact),)?)*
                    _ => None,
                }
            }

            pub(crate) const ALL: &'static [HeaderName] = &[$(HeaderName::$variant,)*];

            /// The length of [`HeaderName::as_str`], by table (`0` for `Other`).
            #[inline]
            pub(crate) fn canonical_len(self) -> usize {
                static LEN: [u8; HeaderName::ALL.len() + 1] = [$($canon.len() as u8,)* 0];
                LEN.get(self as usize).map_or(0, |&l| usize::from(l))
            }
        }
    };
}

header_names! {
    Accept => "Accept";
    AcceptContact => "Accept-Contact", 'a';
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    AlertInfo => "Alert-Info";
    Allow => "Allow";
    AllowEvents => "Allow-Events", 'u';
    AuthenticationInfo => "Authentication-Info";
    Authorization => "Authorization";
    CallId => "Call-ID", 'i';
    CallInfo => "Call-Info";
    Contact => "Contact", 'm';
    ContentDisposition => "Content-Disposition";
    ContentEncoding => "Content-Encoding", 'e';
    ContentLanguage => "Content-Language";
    ContentLength => "Content-Length", 'l';
    ContentType => "Content-Type", 'c';
    CSeq => "CSeq";
    Date => "Date";
    ErrorInfo => "Error-Info";
    Event => "Event", 'o';
    Expires => "Expires";
    From => "From", 'f';
    Identity => "Identity", 'y';
    InReplyTo => "In-Reply-To";
    MaxForwards => "Max-Forwards";
    MimeVersion => "MIME-Version";
    MinExpires => "Min-Expires";
    MinSe => "Min-SE";
    Organization => "Organization";
    Priority => "Priority";
    ProxyAuthenticate => "Proxy-Authenticate";
    ProxyAuthorization => "Proxy-Authorization";
    ProxyRequire => "Proxy-Require";
    RAck => "RAck";
    RecordRoute => "Record-Route";
    ReferTo => "Refer-To", 'r';
    ReferredBy => "Referred-By", 'b';
    Replaces => "Replaces";
    ReplyTo => "Reply-To";
    Require => "Require";
    RetryAfter => "Retry-After";
    Route => "Route";
    RSeq => "RSeq";
    Server => "Server";
    SessionExpires => "Session-Expires", 'x';
    Subject => "Subject", 's';
    SubscriptionState => "Subscription-State";
    Supported => "Supported", 'k';
    Timestamp => "Timestamp";
    To => "To", 't';
    Unsupported => "Unsupported";
    UserAgent => "User-Agent";
    Via => "Via", 'v';
    Warning => "Warning";
    WwwAuthenticate => "WWW-Authenticate";
}

/// Known names bucketed by (length, lower-case first letter), built at compile time, so a
/// lookup compares against at most a few candidates.
const BUCKET_WIDTH: usize = 4;
static BUCKETS: [[HeaderName; BUCKET_WIDTH]; 32 * 32] = {
    let mut t = [[HeaderName::Other; BUCKET_WIDTH]; 32 * 32];
    let mut i = 0;
    while i < HeaderName::ALL.len() {
        let h = HeaderName::ALL[i];
        let c = h.as_str().as_bytes();
        let k = bucket_index(c.len(), c[0]);
        let mut j = 0;
        while !matches!(t[k][j], HeaderName::Other) {
            j += 1; // a compile error (index out of bounds) if a bucket overflows
        }
        t[k][j] = h;
        i += 1;
    }
    t
};

/// Longest name the word comparison handles (the longest known name has 19 bytes).
const KEY_LEN: usize = 24;

/// A known name as three words compared in either case (see [`Caseless`]).
type Key = [Caseless; 3];

const fn key_of(name: &[u8]) -> Key {
    let (a, rest) = name.split_at(if name.len() < 8 { name.len() } else { 8 });
    let (b, c) = rest.split_at(if rest.len() < 8 { rest.len() } else { 8 });
    [Caseless::new(a), Caseless::new(b), Caseless::new(c)]
}

static KEYS: [Key; HeaderName::ALL.len()] = {
    let mut t = [[Caseless::new(b""); 3]; HeaderName::ALL.len()];
    let mut i = 0;
    while i < HeaderName::ALL.len() {
        let c = HeaderName::ALL[i].as_str().as_bytes();
        assert!(c.len() <= KEY_LEN && HeaderName::ALL[i] as usize == i);
        t[i] = key_of(c);
        i += 1;
    }
    t
};

const fn bucket_index(len: usize, first: u8) -> usize {
    (len & 31) * 32 + ((first | 0x20).wrapping_sub(b'a') as usize & 31)
}

impl HeaderName {
    /// Looks a name up ignoring ASCII case, including compact forms. Unknown names give
    /// [`HeaderName::Other`].
    #[inline]
    pub fn lookup(name: &str) -> HeaderName {
        if !name.bytes().all(super::scan::is_token) {
            return HeaderName::Other;
        }
        Self::lookup_bytes(name.as_bytes())
    }

    /// [`HeaderName::lookup`] on bytes already known to be `token` characters.
    #[inline]
    pub(crate) fn lookup_bytes(b: &[u8]) -> HeaderName {
        Self::lookup_at(b, 0, b.len())
    }

    /// Looks up the name `b[start..end]`, ignoring ASCII case, whatever bytes it holds: a
    /// known name is returned only for an exact (case-folded) match, which implies that the
    /// bytes are `token` characters; for [`HeaderName::Other`] the caller checks them. Bytes
    /// of `b` after `end` may be read but do not matter.
    #[inline]
    pub(crate) fn lookup_at(b: &[u8], start: usize, end: usize) -> HeaderName {
        let len = end.saturating_sub(start);
        if len > KEY_LEN || b.get(start).is_none() {
            return HeaderName::Other;
        }
        let w = [
            word_at_padded(b, start),
            word_at_padded(b, start + 8),
            word_at_padded(b, start + 16),
        ];
        Self::lookup_words(len, w)
    }

    /// [`HeaderName::lookup_at`] on a name of `len` bytes given as little-endian words (the
    /// first eight bytes, the next eight, the next eight); bytes past `len` do not matter.
    #[inline(always)]
    pub(crate) fn lookup_words(len: usize, w: [u64; 3]) -> HeaderName {
        let first = w[0] as u8;
        if len == 1 {
            return Self::from_compact(first);
        }
        if len == 0 || len > KEY_LEN {
            return HeaderName::Other;
        }
        let w0 = w[0] & LOW_BYTES[len.min(8)];
        for &h in &BUCKETS[bucket_index(len, first)] {
            if matches!(h, HeaderName::Other) {
                break;
            }
            let Some(k) = KEYS.get(h as usize) else {
                break;
            };
            if !k[0].matches(w0) {
                continue;
            }
            if len > 8 && !k[1].matches(w[1] & LOW_BYTES[(len - 8).min(8)]) {
                continue;
            }
            if len > 16 && !k[2].matches(w[2] & LOW_BYTES[(len - 16).min(8)]) {
                continue;
            }
            return h;
        }
        HeaderName::Other
    }

    fn from_compact(c: u8) -> HeaderName {
        match c | 0x20 {
            b'a' => HeaderName::AcceptContact,
            b'b' => HeaderName::ReferredBy,
            b'c' => HeaderName::ContentType,
            b'e' => HeaderName::ContentEncoding,
            b'f' => HeaderName::From,
            b'i' => HeaderName::CallId,
            b'k' => HeaderName::Supported,
            b'l' => HeaderName::ContentLength,
            b'm' => HeaderName::Contact,
            b'o' => HeaderName::Event,
            b'r' => HeaderName::ReferTo,
            b's' => HeaderName::Subject,
            b't' => HeaderName::To,
            b'u' => HeaderName::AllowEvents,
            b'v' => HeaderName::Via,
            b'x' => HeaderName::SessionExpires,
            b'y' => HeaderName::Identity,
            _ => HeaderName::Other,
        }
    }

    /// Whether RFC 3261 §7.3.1 allows this header to appear more than once (as several rows
    /// or a comma-separated list). Headers that must appear at most once are checked by
    /// the validator (RFC 4475 §3.3.8).
    pub const fn is_single(self) -> bool {
        matches!(
            self,
            HeaderName::CallId
                | HeaderName::ContentLength
                | HeaderName::ContentType
                | HeaderName::CSeq
                | HeaderName::From
                | HeaderName::To
                | HeaderName::MaxForwards
                | HeaderName::Expires
                | HeaderName::MinExpires
                | HeaderName::Event
                | HeaderName::SubscriptionState
                | HeaderName::ReferTo
                | HeaderName::ReferredBy
                | HeaderName::RSeq
                | HeaderName::RAck
        )
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_len_is_the_length_of_the_canonical_name() {
        for &n in HeaderName::ALL {
            assert_eq!(n.canonical_len(), n.as_str().len(), "{n:?}");
        }
        assert_eq!(HeaderName::Other.canonical_len(), 0);
    }

    #[test]
    fn lookup_ignores_case_and_knows_compact_forms() {
        assert_eq!(HeaderName::lookup("MaX-fOrWaRdS"), HeaderName::MaxForwards);
        assert_eq!(HeaderName::lookup("call-id"), HeaderName::CallId);
        assert_eq!(
            HeaderName::lookup("www-authenticate"),
            HeaderName::WwwAuthenticate
        );
        assert_eq!(HeaderName::lookup("C%6Fntact"), HeaderName::Other);
        assert_eq!(HeaderName::lookup(""), HeaderName::Other);
        let compact = [
            ('i', HeaderName::CallId),
            ('m', HeaderName::Contact),
            ('e', HeaderName::ContentEncoding),
            ('l', HeaderName::ContentLength),
            ('c', HeaderName::ContentType),
            ('f', HeaderName::From),
            ('s', HeaderName::Subject),
            ('k', HeaderName::Supported),
            ('t', HeaderName::To),
            ('v', HeaderName::Via),
            ('o', HeaderName::Event),
            ('u', HeaderName::AllowEvents),
            ('r', HeaderName::ReferTo),
            ('b', HeaderName::ReferredBy),
            ('x', HeaderName::SessionExpires),
            ('y', HeaderName::Identity),
            ('a', HeaderName::AcceptContact),
        ];
        for (c, h) in compact {
            assert_eq!(HeaderName::lookup(&c.to_string()), h);
            assert_eq!(HeaderName::lookup(&c.to_ascii_uppercase().to_string()), h);
            assert_eq!(h.compact(), Some(c));
        }
        assert_eq!(HeaderName::lookup("z"), HeaderName::Other);
        assert_eq!(HeaderName::lookup("Content\rLength"), HeaderName::Other);
        assert_eq!(HeaderName::lookup("CONTENT_LENGTH"), HeaderName::Other);
        assert_eq!(HeaderName::lookup("Call\rID"), HeaderName::Other);
        assert_eq!(HeaderName::lookup("Call-IE"), HeaderName::Other);
        assert_eq!(HeaderName::lookup("Proxy-Authorizatio"), HeaderName::Other);
        assert_eq!(
            HeaderName::lookup("Proxy-AuthorizatioN"),
            HeaderName::ProxyAuthorization
        );
        // Bytes after the name do not count.
        assert_eq!(HeaderName::lookup_at(b"Via: x", 0, 3), HeaderName::Via);
        assert_eq!(
            HeaderName::lookup_at(b"x-Call-ID:", 2, 9),
            HeaderName::CallId
        );
        assert_eq!(HeaderName::lookup_at(b"Vi", 0, 3), HeaderName::Other);
        for &h in HeaderName::ALL {
            assert_eq!(HeaderName::lookup(h.as_str()), h);
            assert_eq!(HeaderName::lookup(&h.as_str().to_ascii_uppercase()), h);
        }
    }
}
