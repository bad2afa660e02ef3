//! Transaction keys (RFC 3261 §17.1.3, §17.2.3), written into a reusable scratch string so a
//! lookup allocates nothing.

use crate::message::{Message, Method, Request};

/// The method a key uses: ACK matches the INVITE it acknowledges (§17.2.3).
fn key_method(m: &str) -> &str {
    if m == "ACK" { "INVITE" } else { m }
}

/// Client key: top Via branch and CSeq method (§17.1.3). Written into `out`.
pub(crate) fn client_key(out: &mut String, branch: &str, method: &str) {
    out.clear();
    out.push_str(branch);
    out.push('\0');
    out.push_str(method);
}

/// The client key of a received response, `false` if it has no branch or CSeq.
pub(crate) fn response_key(out: &mut String, m: &Message) -> bool {
    let (Some(via), Some((_, method))) = (m.via(), m.cseq()) else {
        return false;
    };
    let Some(branch) = via.branch() else {
        return false;
    };
    client_key(out, branch, method);
    true
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
