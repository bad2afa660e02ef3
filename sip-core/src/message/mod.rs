//! SIP messages: parsing, URIs, typed headers, serializing and building (RFC 3261 §7, §19,
//! §20, §25).
//!
//! - [`parse`] / [`parse_unchecked`] read a datagram; [`StreamFramer`] cuts messages out of a
//!   TCP stream (§18.3).
//! - [`Request`], [`Response`] and [`SipMessage`] hold the message; both kinds dereference
//!   to [`Message`] for headers and body. The headers the stack needs on every message are
//!   decoded once, during parsing.
//! - [`Request::builder`] and [`Response::from_request`] build messages.
//! - Faults come in three layers ([`FaultLayer`]), as RFC 4475 asks.

mod builder;
pub mod error;
pub mod escape;
mod framer;
pub mod header;
mod method;
mod model;
mod name;
mod options;
mod parser;
mod peek;
mod salvage;
pub(crate) mod scan;
mod span;
mod status;
pub mod uri;
pub mod validate;
pub(crate) mod writer;

pub(crate) use builder::CheckedRows;
pub use builder::{RequestBuilder, ResponseBuilder};
pub use error::{ContentLengthFault, FaultLayer, InvalidToken, ParseError, ParseErrorKind};
pub use framer::StreamFramer;
pub use header::{
    CSeq, ContactValue, MediaType, MinSe, NameAddr, Params, Refresher, Replaces, SessionExpires,
    TokenParams, Via, token_list, unquote,
};
pub use method::Method;
pub(crate) use model::HeaderEntry;
pub use model::{
    AsHeaderName, BuildError, HeaderRow, Headers, Message, Request, Response, SipMessage,
};
pub use name::HeaderName;
pub use options::{Limits, Mode, ParseOptions};
pub(crate) use parser::{BoxedMessage, parse_framed_boxed, request_uri_ok};
pub use parser::{Framing, parse, parse_framed, parse_unchecked};
pub use peek::peek_call_id;
pub(crate) use salvage::answerable_head;
pub use span::Span;
pub use status::reason_phrase;
pub use uri::{AbsoluteUri, Host, SipUri, TelUri, Uri, UriError, UriErrorKind};
