//! Who may bind what (RFC 3261 §10.3 step 4): once a REGISTER is authenticated, the
//! registrar asks an [`AorPolicy`] whether that user may modify the bindings of the
//! address of record in To; if not, it answers 403 Forbidden.

use std::fmt;

use crate::auth::Authenticated;
use crate::message::{Host, SipUri, UriError};

/// Who sent a REGISTER, as the registrar is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrant<'a> {
    /// The application does not authenticate REGISTERs: anyone may bind any AOR (§10.3
    /// step 3 allows it, taking the From as the claimed identity). Only for closed networks.
    Unauthenticated,
    /// Authenticated as this user (e.g. by [`UserAuth::check`](crate::auth::UserAuth::check)):
    /// the registrar's [`AorPolicy`] decides, else 403.
    Authenticated(&'a Authenticated),
}

/// Decides whether an authenticated user may modify (add, refresh, remove) or query the
/// bindings of an address of record (RFC 3261 §10.3 step 4). The application configures it
/// on the [`Registrar`](super::Registrar); the default is [`OwnAor`].
pub trait AorPolicy: fmt::Debug + Send + Sync {
    /// Whether `who` may modify the bindings of `aor` (the To URI of the REGISTER).
    fn may_bind(&self, who: &Authenticated, aor: &SipUri<'_>) -> bool;
}

/// The default policy: a user may bind only their own address of record.
///
/// "Own" means: the AOR's user part, with `%HH` escapes decoded, equals the authenticated
/// user name exactly (user parts compare case-sensitively, RFC 3261 §19.1.4), and its host
/// equals the realm the user was authenticated in or one of the configured domains (hosts
/// compare ignoring case, addresses by value, §19.1.4). The scheme (`sip` or `sips`), the
/// port and URI parameters are not part of the decision: an AOR names a user at a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnAor {
    domains: Vec<Host<'static>>,
}

impl OwnAor {
    /// Users own AORs in their realm only.
    pub fn new() -> Self {
        OwnAor::default()
    }

    /// Users also own AORs in `domain` (a host name or an IP address).
    pub fn with_domain(mut self, domain: &str) -> Result<Self, UriError> {
        self.domains.push(Host::parse(domain)?.into_owned());
        Ok(self)
    }
}

impl AorPolicy for OwnAor {
    fn may_bind(&self, who: &Authenticated, aor: &SipUri<'_>) -> bool {
        let user_matches = aor.user_unescaped().is_some_and(|u| u == who.user.as_str());
        let host = aor.host();
        let in_realm = Host::parse(&who.realm).is_ok_and(|r| r == *host);
        user_matches && (in_realm || self.domains.iter().any(|d| d == host))
    }
}

/// Any authenticated user may bind any AOR: for a deployment where every user is trusted
/// with every address (a gateway, a test bench). Not the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnyAor;

impl AorPolicy for AnyAor {
    fn may_bind(&self, _: &Authenticated, _: &SipUri<'_>) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(realm: &str) -> Authenticated {
        Authenticated {
            user: "alice".into(),
            realm: realm.into(),
        }
    }

    fn may(policy: &dyn AorPolicy, who: &Authenticated, aor: &str) -> bool {
        policy.may_bind(who, &SipUri::parse(aor).unwrap())
    }

    #[test]
    fn own_aor_is_the_user_at_the_realm_compared_per_19_1_4() {
        let p = OwnAor::new();
        let a = alice("example.com");
        assert!(may(&p, &a, "sip:alice@example.com"));
        assert!(may(&p, &a, "sips:alice@EXAMPLE.com:5070;transport=tcp"));
        assert!(may(&p, &a, "sip:%61lice@example.com"), "escapes decoded");
        assert!(!may(&p, &a, "sip:bob@example.com"), "another user");
        assert!(
            !may(&p, &a, "sip:Alice@example.com"),
            "user is case-sensitive"
        );
        assert!(!may(&p, &a, "sip:alice@example.org"), "another domain");
        assert!(!may(&p, &a, "sip:example.com"), "no user part");
        assert!(!may(&p, &a, "sip:alice.x@example.com"));
        // IP realms compare by value.
        let a = alice("127.0.0.1");
        assert!(may(&p, &a, "sip:alice@127.0.0.1:5060"));
        assert!(!may(&p, &a, "sip:alice@127.0.0.2"));
    }

    #[test]
    fn configured_domains_and_the_permissive_policy() {
        let p = OwnAor::new().with_domain("Example.ORG").unwrap();
        let a = alice("example.com");
        assert!(may(&p, &a, "sip:alice@example.org"));
        assert!(may(&p, &a, "sip:alice@example.com"));
        assert!(!may(&p, &a, "sip:bob@example.org"));
        assert!(OwnAor::new().with_domain("not a host").is_err());
        assert!(may(&AnyAor, &a, "sip:bob@elsewhere.net"));
    }
}
