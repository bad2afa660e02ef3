//! The auth-param list grammar shared by challenges and credentials (RFC 7235 §2.1,
//! RFC 3261 §25.1), and the writer helpers for the opposite direction.
//!
//! ```text
//! challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! A header value may hold several challenges separated by commas; an element that is not
//! `name=value` starts a new challenge. The reader is lenient where real servers are: any
//! parameter may be quoted or not, unquoted values may hold characters outside `token`
//! (nonces with `/` or `=`), and empty list elements (`,,`) are skipped (RFC 7230 §7).

use super::AuthError;
use crate::message::scan::{is_lws, is_token};

/// One challenge or credentials, before its Digest meaning is given to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAuth {
    /// The scheme as written (`Digest`, `Basic`, `Bearer`, ...).
    pub scheme: String,
    /// The token68 form, for schemes that use it instead of parameters.
    pub token68: Option<String>,
    /// Parameters in order, names as written, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
}

/// `token68` characters (RFC 7235 §2.1), not counting the trailing `=` padding.
fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// Bytes allowed in an unquoted parameter value: anything visible but the separators
/// that would make the list ambiguous.
fn is_bare_value(b: u8) -> bool {
    b > 0x20 && b != 0x7f && !matches!(b, b',' | b'"')
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn peek_at(&self, j: usize) -> Option<u8> {
        self.s.as_bytes().get(j).copied()
    }
    fn skip_lws_from(&self, mut j: usize) -> usize {
        while self.peek_at(j).is_some_and(is_lws) {
            j += 1;
        }
        j
    }
    fn skip_lws(&mut self) {
        self.i = self.skip_lws_from(self.i);
    }
    /// Whether position `j` ends a list element (end of input or a comma).
    fn element_ends_at(&self, j: usize) -> bool {
        matches!(self.peek_at(j), None | Some(b','))
    }
    fn run_from(&self, mut j: usize, class: fn(u8) -> bool) -> usize {
        while self.peek_at(j).is_some_and(class) {
            j += 1;
        }
        j
    }
    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    /// Reads a quoted string starting at the opening quote, returning its unescaped content.
    fn quoted(&mut self) -> Result<String, AuthError> {
        let start = self.i;
        let rest = self.s.get(start + 1..).unwrap_or("");
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '"' => {
                    self.i = start + 1 + k + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c if c.is_control() && !matches!(c, '\t' | '\r' | '\n') => {
                    return Err(AuthError::MalformedParam(start + 1 + k));
                }
                c => out.push(c),
            }
        }
        Err(AuthError::UnterminatedQuote(start))
    }

    /// Reads `name BWS "=" BWS value` followed by the end of the element.
    fn param(&mut self) -> Result<(String, String), AuthError> {
        let start = self.i;
        let name_end = self.run_from(start, is_token);
        if name_end == start {
            return Err(AuthError::MalformedParam(start));
        }
        let name = self.slice(start, name_end).to_owned();
        self.i = self.skip_lws_from(name_end);
        if self.peek() != Some(b'=') {
            return Err(AuthError::MalformedParam(self.i));
        }
        self.i += 1;
        self.skip_lws();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            let vstart = self.i;
            let vend = self.run_from(vstart, is_bare_value);
            if vend == vstart {
                return Err(AuthError::MalformedParam(vstart));
            }
            self.i = vend;
            self.slice(vstart, vend).to_owned()
        };
        self.skip_lws();
        if !self.element_ends_at(self.i) {
            return Err(AuthError::MalformedParam(self.i));
        }
        Ok((name, value))
    }

    /// If a token68 stands at the cursor and fills the element, consumes and returns it.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let mut j = self.run_from(start, is_token68);
        if j == start {
            return None;
        }
        while self.peek_at(j) == Some(b'=') {
            j += 1;
        }
        let after = self.skip_lws_from(j);
        if !self.element_ends_at(after) {
            return None;
        }
        self.i = after;
        Some(self.slice(start, j).to_owned())
    }
}

fn push_param(auth: &mut RawAuth, (name, value): (String, String)) -> Result<(), AuthError> {
    if auth
        .params
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        return Err(AuthError::DuplicateParam(name));
    }
    auth.params.push((name, value));
    Ok(())
}

/// Parses a header value holding one or more challenges or credentials.
pub(crate) fn parse_auth_list(s: &str) -> Result<Vec<RawAuth>, AuthError> {
    let mut c = Cursor { s, i: 0 };
    let mut out: Vec<RawAuth> = Vec::new();
    loop {
        // Skip empty list elements and the separators between elements.
        while c.peek().is_some_and(|b| is_lws(b) || b == b',') {
            c.i += 1;
        }
        let Some(first) = c.peek() else { break };
        let start = c.i;
        let tok_end = c.run_from(start, is_token);
        if tok_end == start {
            return Err(if first == b'"' {
                AuthError::MalformedParam(start)
            } else {
                AuthError::ExpectedScheme(start)
            });
        }
        let after = c.skip_lws_from(tok_end);
        if c.peek_at(after) == Some(b'=') {
            // `name=value`: one more parameter of the current challenge.
            let Some(cur) = out.last_mut() else {
                return Err(AuthError::ExpectedScheme(start));
            };
            if cur.token68.is_some() {
                return Err(AuthError::MalformedParam(start));
            }
            let p = c.param()?;
            push_param(cur, p)?;
            continue;
        }
        // A new scheme, alone or followed by whitespace and its first parameter / token68.
        let mut auth = RawAuth {
            scheme: c.slice(start, tok_end).to_owned(),
            token68: None,
            params: Vec::new(),
        };
        c.i = after;
        if !c.element_ends_at(after) {
            if after == tok_end {
                // No whitespace between the scheme and what follows it.
                return Err(AuthError::MalformedParam(tok_end));
            }
            match c.token68() {
                Some(t) => auth.token68 = Some(t),
                None => {
                    let p = c.param()?;
                    push_param(&mut auth, p)?;
                }
            }
        }
        out.push(auth);
    }
    if out.is_empty() {
        return Err(AuthError::Empty);
    }
    Ok(out)
}

/// Appends `value` as a quoted string, escaping `"` and `\` (RFC 3261 §25.1
/// `quoted-pair`). CR and LF cannot be escaped and are dropped, so no value can break out
/// of its header row.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `, name=value` (or `name=value` first), quoting the value unless it is a token.
pub(crate) fn push_param_auto(out: &mut String, first: &mut bool, name: &str, value: &str) {
    if crate::message::scan::is_token_str(value) {
        push_param_token(out, first, name, value);
    } else {
        push_param_quoted(out, first, name, value);
    }
}

fn push_sep(out: &mut String, first: &mut bool) {
    if *first {
        out.push(' ');
        *first = false;
    } else {
        out.push_str(", ");
    }
}

/// Appends a parameter whose value is written as a quoted string.
pub(crate) fn push_param_quoted(out: &mut String, first: &mut bool, name: &str, value: &str) {
    push_sep(out, first);
    out.push_str(name);
    out.push('=');
    push_quoted(out, value);
}

/// Appends a parameter whose value is a token, written bare. Callers pass only values they
/// produced themselves (algorithm names, `qop`, hex counts) or checked tokens.
pub(crate) fn push_param_token(out: &mut String, first: &mut bool, name: &str, value: &str) {
    push_sep(out, first);
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn one_digest_challenge_with_quoted_and_bare_values() {
        let v = parse_auth_list(r#"Digest realm="a b", nonce="x\"y", algorithm=MD5"#).unwrap();
        assert_eq!(
            v,
            [RawAuth {
                scheme: "Digest".into(),
                token68: None,
                params: p(&[("realm", "a b"), ("nonce", "x\"y"), ("algorithm", "MD5")]),
            }]
        );
    }

    #[test]
    fn several_challenges_in_one_value_and_token68() {
        let v = parse_auth_list(
            "Negotiate abc+/==, Digest realm=r ,, nonce = \"n,1\" , Basic, Bearer realm=\"x\"",
        )
        .unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].scheme, "Negotiate");
        assert_eq!(v[0].token68.as_deref(), Some("abc+/=="));
        assert!(v[0].params.is_empty());
        assert_eq!(v[1].params, p(&[("realm", "r"), ("nonce", "n,1")]));
        assert_eq!(v[2].scheme, "Basic");
        assert!(v[2].params.is_empty() && v[2].token68.is_none());
        assert_eq!(v[3].params, p(&[("realm", "x")]));
    }

    #[test]
    fn folded_whitespace_and_utf8_inside_quotes() {
        let v = parse_auth_list("Digest\r\n realm=\"réalm\",\r\n\tnonce=\"a\\é\"").unwrap();
        assert_eq!(v[0].params, p(&[("realm", "réalm"), ("nonce", "aé")]));
    }

    #[test]
    fn malformed_inputs_are_typed_errors() {
        assert_eq!(parse_auth_list(""), Err(AuthError::Empty));
        assert_eq!(parse_auth_list(" , ,"), Err(AuthError::Empty));
        assert_eq!(
            parse_auth_list("realm=x"),
            Err(AuthError::ExpectedScheme(0))
        );
        assert_eq!(
            parse_auth_list("Digest realm=\"x"),
            Err(AuthError::UnterminatedQuote(13))
        );
        assert_eq!(
            parse_auth_list("Digest realm=\"x\\"),
            Err(AuthError::UnterminatedQuote(13))
        );
        assert_eq!(
            parse_auth_list("Digest realm=x y"),
            Err(AuthError::MalformedParam(15))
        );
        // `realm=` right after the scheme is a token68 by the grammar; after a comma it is
        // an auth-param with no value.
        assert_eq!(
            parse_auth_list("Digest realm=").map(|v| v[0].token68.clone()),
            Ok(Some("realm=".into()))
        );
        assert_eq!(
            parse_auth_list("Digest nonce=x, realm="),
            Err(AuthError::MalformedParam(22))
        );
        assert_eq!(
            parse_auth_list("Digest\"x\""),
            Err(AuthError::MalformedParam(6))
        );
        assert_eq!(
            parse_auth_list("Digest realm=a, REALM=b"),
            Err(AuthError::DuplicateParam("REALM".into()))
        );
        assert_eq!(
            parse_auth_list("Negotiate abc==, realm=x"),
            Err(AuthError::MalformedParam(17))
        );
        assert_eq!(parse_auth_list("\"x\""), Err(AuthError::MalformedParam(0)));
        assert_eq!(parse_auth_list("@"), Err(AuthError::ExpectedScheme(0)));
        assert_eq!(
            parse_auth_list("Digest realm=\"a\u{1}\""),
            Err(AuthError::MalformedParam(15))
        );
    }

    #[test]
    fn quoting_escapes_and_drops_line_breaks() {
        let mut s = String::new();
        push_quoted(&mut s, "a\"b\\c\r\nd");
        assert_eq!(s, r#""a\"b\\cd""#);
        let mut s = String::from("Digest");
        let mut first = true;
        push_param_auto(&mut s, &mut first, "x", "tok");
        push_param_auto(&mut s, &mut first, "y", "two words");
        assert_eq!(s, r#"Digest x=tok, y="two words""#);
    }
}
