//! SIP messages: parsing, URIs, typed headers, serializing and building (RFC 3261 §7, §19, §20, §25).

pub mod escape;
pub mod uri;

pub use uri::{AbsoluteUri, Host, SipUri, TelUri, Uri, UriError, UriErrorKind};
