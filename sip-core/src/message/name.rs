//! Header field names: the known ones with their compact forms (RFC 3261 §7.3.3, §20), looked
//! up by length and first byte rather than by a chain of case-insensitive compares.

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

            const ALL: &'static [HeaderName] = &[$(HeaderName::$variant,)*];
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
    Organization => "Organization";
    Priority => "Priority";
    ProxyAuthenticate => "Proxy-Authenticate";
    ProxyAuthorization => "Proxy-Authorization";
    ProxyRequire => "Proxy-Require";
    RAck => "RAck";
    RecordRoute => "Record-Route";
    ReferTo => "Refer-To", 'r';
    ReferredBy => "Referred-By", 'b';
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

/// Compares a known name (letters and `-` only) with a `token` `b` ignoring ASCII case,
/// eight bytes at a time: OR-ing 0x20 folds letters and leaves `-` alone, and no other
/// `token` character folds onto a letter or `-` (only CR, which is not a token character,
/// folds onto `-`; callers check the token class first).
#[inline]
fn eq_folded(known: &[u8], b: &[u8]) -> bool {
    if known.len() != b.len() {
        return false;
    }
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let mut k = known.chunks_exact(8);
    let mut x = b.chunks_exact(8);
    for (a, c) in (&mut k).zip(&mut x) {
        let a = u64::from_le_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]);
        let c = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if a | FOLD != c | FOLD {
            return false;
        }
    }
    k.remainder()
        .iter()
        .zip(x.remainder())
        .all(|(a, c)| a | 0x20 == c | 0x20)
}

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
        if b.len() == 1 {
            return Self::from_compact(b[0]);
        }
        if b.is_empty() || b.len() > 31 {
            return HeaderName::Other;
        }
        for &h in &BUCKETS[bucket_index(b.len(), b[0])] {
            if matches!(h, HeaderName::Other) {
                break;
            }
            if eq_folded(h.as_str().as_bytes(), b) {
                return h;
            }
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
        for &h in HeaderName::ALL {
            assert_eq!(HeaderName::lookup(h.as_str()), h);
            assert_eq!(HeaderName::lookup(&h.as_str().to_ascii_uppercase()), h);
        }
    }
}
