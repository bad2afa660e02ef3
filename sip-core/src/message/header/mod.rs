//! Typed header values, decoded on demand or (for the headers the stack needs on every
//! message) once during parsing.

pub(crate) mod name_addr;
pub(crate) mod params;
pub(crate) mod replaces;
pub(crate) mod session;
pub(crate) mod simple;
pub(crate) mod via;

pub use name_addr::{ContactValue, NameAddr};
pub use params::{Params, unquote};
pub use replaces::Replaces;
pub use session::{MinSe, Refresher, SessionExpires};
pub use simple::{CSeq, MediaType, TokenParams, token_list};
pub use via::Via;
