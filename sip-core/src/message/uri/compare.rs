//! URI comparison: RFC 3261 §19.1.4 for [`SipUri`] (not transitive, so `PartialEq` only) and
//! RFC 3966 §4 for [`TelUri`] (an equivalence, so also `Eq` and `Hash`). [`Host`] and
//! [`AbsoluteUri`] compare next to their types; [`Uri`] dispatches to these.

use std::hash::{Hash, Hasher};

use super::params::{Headers, Params, find_param, name_is, raw_names_eq};
#[cfg(doc)]
use super::{AbsoluteUri, Host, Uri};
use super::{SipUri, TelUri};
use crate::message::escape::{self, eq_unescaped, unescaped_bytes};

/// `(None, None)`, or both present and equal once unescaped.
fn opt_value_eq(a: Option<&str>, b: Option<&str>, ignore_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => eq_unescaped(x, y, ignore_case),
        _ => false,
    }
}

/// Parameters that never match when present in only one URI (§19.1.4).
const SIP_STRONG_PARAMS: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

fn sip_params_eq(a: &str, b: &str) -> bool {
    if a.is_empty() && b.is_empty() {
        return true;
    }
    for name in SIP_STRONG_PARAMS {
        match (find_param(a, name), find_param(b, name)) {
            (None, None) => {}
            (Some(x), Some(y)) if opt_value_eq(x, y, true) => {}
            _ => return false,
        }
    }
    sip_other_params_match(a, b) && sip_other_params_match(b, a)
}

/// Every other parameter of `a` whose name `b` also has must match one of `b`'s values.
fn sip_other_params_match(a: &str, b: &str) -> bool {
    for (n, v) in Params::new(a) {
        if SIP_STRONG_PARAMS.iter().any(|s| name_is(n, s)) {
            continue;
        }
        let mut seen = false;
        let mut matched = false;
        for (m, w) in Params::new(b) {
            if raw_names_eq(n, m) {
                seen = true;
                if opt_value_eq(v, w, true) {
                    matched = true;
                    break;
                }
            }
        }
        if seen && !matched {
            return false;
        }
    }
    true
}

/// Every header of `a` must have an equal header in `b` (§19.1.4: headers are never
/// ignored). Names ignore case; values compare exactly once unescaped, since §19.1.4 defers
/// to each header field's own rules and exact comparison never matches wrongly.
fn headers_subset(a: &str, b: &str) -> bool {
    Headers { rest: a }.all(|(n, v)| {
        Headers { rest: b }.any(|(m, w)| eq_unescaped(n, m, true) && eq_unescaped(v, w, false))
    })
}

impl<'b> PartialEq<SipUri<'b>> for SipUri<'_> {
    /// RFC 3261 §19.1.4: same scheme; user and password equal byte for byte once unescaped;
    /// hosts equal ignoring case (addresses by value); ports both absent or equal; `user`,
    /// `ttl`, `method`, `maddr` and `transport` parameters present in both with equal values
    /// or in neither; other parameters equal when present in both; the same headers in both.
    /// Parameter names and values ignore case; escaped and unescaped characters are equal.
    ///
    /// This relation is not transitive (§19.1.4 says so), which is why `SipUri` is not `Eq`.
    fn eq(&self, o: &SipUri<'b>) -> bool {
        self.secure == o.secure
            && self.host == o.host
            && self.port == o.port
            && opt_value_eq(self.user.as_deref(), o.user.as_deref(), false)
            && opt_value_eq(self.password.as_deref(), o.password.as_deref(), false)
            && sip_params_eq(&self.params, &o.params)
            && headers_subset(&self.headers, &o.headers)
            && headers_subset(&o.headers, &self.headers)
    }
}

/// Bytes of a tel value normalized for comparison: unescaped, lower case, and without visual
/// separators when `strip_separators`.
fn tel_norm(v: &str, strip_separators: bool) -> impl Iterator<Item = u8> + '_ {
    unescaped_bytes(v)
        .filter(move |&c| !(strip_separators && escape::is_visual_separator(c)))
        .map(|c| c.to_ascii_lowercase())
}

/// Whether the value of tel parameter `name` is compared without visual separators: `ext`,
/// and a `phone-context` that is a global number (RFC 3966 §4, §5.1.5).
fn tel_strips(name: &str, v: &str) -> bool {
    name_is(name, "ext") || (name_is(name, "phone-context") && v.starts_with('+'))
}

fn tel_value_eq(na: &str, a: Option<&str>, nb: &str, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => tel_norm(x, tel_strips(na, x)).eq(tel_norm(y, tel_strips(nb, y))),
        _ => false,
    }
}

/// Every parameter of `a` has a parameter of the same name and equal value in `b`.
fn tel_params_subset(a: &str, b: &str) -> bool {
    Params::new(a)
        .all(|(n, v)| Params::new(b).any(|(m, w)| raw_names_eq(n, m) && tel_value_eq(n, v, m, w)))
}

impl<'b> PartialEq<TelUri<'b>> for TelUri<'_> {
    /// RFC 3966 §4: both global or both local; the numbers equal once visual separators are
    /// removed (hex digits ignore case); the same set of parameters in both, names and values
    /// ignoring case and escapes, `ext` and a global `phone-context` without separators.
    fn eq(&self, o: &TelUri<'b>) -> bool {
        self.global == o.global
            && tel_norm(&self.number, true).eq(tel_norm(&o.number, true))
            && tel_params_subset(&self.params, &o.params)
            && tel_params_subset(&o.params, &self.params)
    }
}

impl Eq for TelUri<'_> {}

impl Hash for TelUri<'_> {
    /// Hashes what `==` always requires equal: the global flag and the normalized number.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(u8::from(self.global));
        for c in tel_norm(&self.number, true) {
            state.write_u8(c);
        }
        state.write_u8(0xff);
    }
}

#[cfg(test)]
// `u == u` checks that the §19.1.4 relation is reflexive on every accepted input.
#[allow(clippy::eq_op)]
mod tests {
    use crate::message::uri::TelUri;
    use crate::message::uri::test_util::*;

    /// RFC 3261 §19.1.4: the equivalent and non-equivalent pairs, both ways round.
    #[test]
    fn rfc3261_19_1_4_comparison_table() {
        let table: [(&str, &str, bool); 13] = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
                true,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com;newparam=5",
                true,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com;security=on",
                true,
            ),
            (
                "sip:carol@chicago.com;newparam=5",
                "sip:carol@chicago.com;security=on",
                true,
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
                true,
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
                true,
            ),
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
                false,
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com;transport=udp",
                false,
            ),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
                false,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
                false,
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
                false,
            ),
        ];
        for (a, b, equal) in table {
            let (x, y) = (sip(a), sip(b));
            assert_eq!(x == y, equal, "{a} vs {b}");
            assert_eq!(y == x, equal, "{b} vs {a}");
            assert_eq!(lenient(a) == lenient(b), equal, "Uri {a} vs {b}");
            assert!(x == x && y == y);
        }
    }

    #[test]
    fn comparison_details() {
        let ne = [
            ("sip:alice@a.com", "sips:alice@a.com"),
            ("sip:alice@a.com", "sip:Alice@a.com"),
            ("sip:alice:pw@a.com", "sip:alice:PW@a.com"),
            ("sip:alice:pw@a.com", "sip:alice@a.com"),
            ("sip:a.com", "sip:alice@a.com"),
            ("sip:a.com;maddr=239.255.255.1", "sip:a.com"),
            ("sip:a.com;ttl=15", "sip:a.com"),
            ("sip:a.com;method=INVITE", "sip:a.com"),
            ("sip:a.com;user=ip", "sip:a.com"),
            ("sip:a.com;x", "sip:a.com;x=1"),
            ("sip:a.com?h=1", "sip:a.com?h=1&h=2"),
            ("sip:a.com?subject=A", "sip:a.com?subject=a"),
            ("sip:a.com:5060", "sip:a.com:5061"),
            ("sip:[2001:db8::1]", "sip:[2001:db8::2]"),
            ("sip:a.com;x=1;x=2", "sip:a.com;x=2"),
        ];
        for (a, b) in ne {
            assert!(sip(a) != sip(b), "{a} == {b}");
            assert!(sip(b) != sip(a), "{b} == {a}");
        }
        let eq = [
            ("sip:a.com;lr", "sip:a.com"),
            ("sip:a.com;%6C%72", "sip:a.com;LR"),
            ("sip:a.com:5060", "sip:A.COM:05060"),
            ("sip:alice:p%77@a.com", "sip:alice:pw@a.com"),
            ("sip:a.com;maddr=X.example", "sip:a.com;MADDR=x.EXAMPLE"),
            ("sip:[2001:db8::10]", "sip:[2001:DB8:0:0::010]"),
            ("sip:a.com?To=x", "sip:a.com?to=x"),
            ("sip:a.com?to=%61", "sip:a.com?to=a"),
            ("sip:a.com;x=1;x=2", "sip:a.com;x=2;X=1"),
        ];
        for (a, b) in eq {
            assert!(sip(a) == sip(b), "{a} != {b}");
            assert!(sip(b) == sip(a), "{b} != {a}");
        }
        // Different kinds never match.
        assert!(lenient("sip:+12125551212@gw.com;user=phone") != lenient("tel:+12125551212"));
        assert!(lenient("urn:x") != lenient("sip:x"));
    }

    /// RFC 3966 §4 comparison rules.
    #[test]
    fn rfc3966_comparison() {
        let t = |s| TelUri::parse(s).unwrap();
        let eq = [
            ("tel:+1-201-555-0123", "tel:+12015550123"),
            ("tel:+1(201)555.0123", "tel:+12015550123"),
            (
                "tel:7042;phone-context=example.com",
                "tel:7042;phone-context=EXAMPLE.com",
            ),
            (
                "tel:863-1234;phone-context=+1-914-555",
                "tel:8631234;phone-context=+1914555",
            ),
            ("tel:+1234;a=1;b=2", "tel:+1234;B=2;a=1"),
            ("tel:+1234;ext=12-3", "tel:+1234;ext=123"),
            (
                "tel:ab12;phone-context=x.com",
                "tel:AB12;phone-context=x.com",
            ),
            ("tel:+1234;x=%41", "tel:+1234;x=a"),
        ];
        for (a, b) in eq {
            assert!(t(a) == t(b), "{a} != {b}");
            assert!(t(b) == t(a), "{b} != {a}");
            assert_eq!(hash_of(&t(a)), hash_of(&t(b)), "{a} / {b}");
        }
        let ne = [
            ("tel:+1234", "tel:1234;phone-context=+1"),
            ("tel:+1234", "tel:+1235"),
            ("tel:+1234", "tel:+1234;x=1"),
            ("tel:+1234;x=1", "tel:+1234;x=2"),
            (
                "tel:7042;phone-context=example.com",
                "tel:7042;phone-context=example.net",
            ),
            ("tel:+1234;isub=1", "tel:+1234;ext=1"),
            (
                "tel:1-2;phone-context=a.b-c.com",
                "tel:12;phone-context=a.bc.com",
            ),
        ];
        for (a, b) in ne {
            assert!(t(a) != t(b), "{a} == {b}");
            assert!(t(b) != t(a), "{b} == {a}");
        }
    }
}
