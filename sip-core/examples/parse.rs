//! Checks SIP messages stored in files the way the endpoint checks a received datagram:
//! [`sip_core::message::parse`] with every check (framing and size limits, RFC 3261 §7 and
//! §18.3; the values of the headers the stack decodes, §20 and §25; the semantic rules of
//! §8.1.1 and §8.2).
//!
//! ```text
//! cargo run -p sip-core --example parse -- [--strict] FILE...
//! ```
//!
//! Prints one line per file:
//!
//! ```text
//! FILE: ok <METHOD or status code> <N> headers, <B> body bytes
//! FILE: error at byte <X>: <reason> (<layer>)
//! ```
//!
//! where the layer is `framing`, `header value` or `semantic` (RFC 4475 keeps them apart).
//! Exit status: 0 when every file parsed, 1 when one did not, 2 on a usage error or a file
//! that could not be read (reported on stderr; the other files are still checked).

use sip_core::message::{FaultLayer, ParseOptions, SipMessage, parse};
use std::process::ExitCode;

const USAGE: &str = "usage: parse [--strict] FILE...\n\
  Parses each FILE as one SIP datagram with every check the endpoint applies\n\
  (lenient mode by default; --strict follows the RFC 3261 grammar to the letter).\n\
  Exit status: 0 all parsed, 1 some did not, 2 usage error or unreadable file.";

/// What the command line asked for.
struct Args {
    strict: bool,
    files: Vec<String>,
}

/// Reads the arguments by hand (no dependencies): `--strict`, `-h`/`--help`, `--` to end
/// the options, then the files.
fn args(raw: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut strict = false;
    let mut files = Vec::new();
    let mut options = true;
    for a in raw {
        match a.as_str() {
            "--" if options => options = false,
            "--strict" if options => strict = true,
            "-h" | "--help" if options => return Ok(None),
            s if options && s.starts_with('-') && s != "-" => {
                return Err(format!("unknown option {s}"));
            }
            _ => files.push(a),
        }
    }
    if files.is_empty() {
        return Err("no FILE given".into());
    }
    Ok(Some(Args { strict, files }))
}

/// The layer's name as printed.
fn layer_name(l: FaultLayer) -> &'static str {
    match l {
        FaultLayer::Framing => "framing",
        FaultLayer::HeaderValue => "header value",
        FaultLayer::Semantic => "semantic",
    }
}

/// The line printed for a parse result.
fn verdict(bytes: Vec<u8>, opts: &ParseOptions) -> (bool, String) {
    match parse(bytes.into(), opts) {
        Ok(m) => {
            let what = match &m {
                SipMessage::Request(r) => r.method().to_string(),
                SipMessage::Response(r) => r.status().to_string(),
            };
            let msg = m.message();
            (
                true,
                format!(
                    "ok {what} {} headers, {} body bytes",
                    msg.headers().len(),
                    msg.body().len()
                ),
            )
        }
        Err(e) => (
            false,
            format!(
                "error at byte {}: {} ({})",
                e.offset,
                e.kind,
                layer_name(e.layer())
            ),
        ),
    }
}

fn main() -> ExitCode {
    let args = match args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("parse: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let opts = if args.strict {
        ParseOptions::strict()
    } else {
        ParseOptions::lenient()
    };
    let mut all_ok = true;
    let mut unreadable = false;
    for f in &args.files {
        match std::fs::read(f) {
            Ok(bytes) => {
                let (ok, line) = verdict(bytes, &opts);
                all_ok &= ok;
                println!("{f}: {line}");
            }
            Err(e) => {
                eprintln!("parse: cannot read {f}: {e}");
                unreadable = true;
            }
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
