//! Helpers shared by the tests of every file of the URI module.

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::{Host, SipUri, Uri};

pub(super) fn sip(s: &str) -> SipUri<'_> {
    match SipUri::parse_strict(s) {
        Ok(u) => u,
        Err(e) => panic!("{s}: {e}"),
    }
}

pub(super) fn lenient(s: &str) -> Uri<'_> {
    match Uri::parse(s) {
        Ok(u) => u,
        Err(e) => panic!("{s}: {e}"),
    }
}

#[allow(clippy::ptr_arg)]
pub(super) fn borrowed(c: &Cow<'_, str>) -> bool {
    matches!(c, Cow::Borrowed(_))
}

pub(super) fn all_borrowed(u: &SipUri<'_>) -> bool {
    borrowed(&u.scheme)
        && u.user.as_ref().is_none_or(borrowed)
        && u.password.as_ref().is_none_or(borrowed)
        && match &u.host {
            Host::Domain(d) => borrowed(d),
            _ => true,
        }
        && borrowed(&u.hostport)
        && borrowed(&u.params)
        && borrowed(&u.headers)
}

pub(super) fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}
