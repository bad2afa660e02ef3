//! Server transaction keys (RFC 3261 §17.2.3), written into a reusable scratch string so a
//! lookup allocates nothing. (A client transaction is found by its branch and method
//! directly, §17.1.3: both are at hand in the response.)

use crate::message::{Method, Request};

/// The method a key uses: ACK matches the INVITE it acknowledges (§17.2.3).
fn key_method(m: &str) -> &str {
    if m == "ACK" { "INVITE" } else { m }
}

/// Server key of a request (§17.2.3): with an RFC 3261 branch, the branch, the sent-by and
/// the method (ACK as INVITE); otherwise the RFC 2543 fields: Request-URI, From tag,
/// Call-ID, CSeq number and method, and the top Via. The To tag is left out (it is checked
/// for the ACK separately). `method` overrides the request's method (CANCEL → INVITE).
pub(crate) fn server_key(out: &mut String, r: &Request, method: Option<&Method>) -> bool {
    out.clear();
    let Some(via) = r.via() else { return false };
    let m = method.map_or(r.method().as_str(), Method::as_str);
    let m = key_method(m);
    if via.has_rfc3261_branch() {
        out.push_str(via.branch().unwrap_or(""));
        out.push('\0');
        out.push_str(via.host());
        out.push(':');
        if let Some(p) = via.port() {
            crate::text::push_uint(out, p);
        }
        out.push('\0');
        out.push_str(m);
        return true;
    }
    let (Some(call_id), Some((seq, _))) = (r.call_id(), r.cseq()) else {
        return false;
    };
    use std::fmt::Write;
    let _ = write!(
        out,
        "2543\0{}\0{}\0{}\0{}\0{}\0{}",
        r.uri_str(),
        r.from().and_then(|f| f.tag()).unwrap_or(""),
        call_id,
        seq,
        m,
        via.as_str()
    );
    true
}
