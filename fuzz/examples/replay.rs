//! Runs the fuzz target bodies on stable, over files: the corpus of a previous fuzzing run, a
//! crash artifact, or the RFC 4475 torture messages (the default seed corpus).
//!
//! ```text
//! cargo run --example replay -- [--mutate N] [parse|framer|structured|all] [PATH...]
//! ```
//!
//! - A PATH is a file or a directory (every file in it, recursively). Without PATH: the
//!   RFC 4475 messages (`../shared/conformance/rfc4475/` from the repository root) and
//!   `corpus/<target>/` and `artifacts/<target>/` of this crate where they exist.
//! - `--mutate N` also runs each input through N deterministic mutations (sip-testkit's: byte
//!   flips, insertions of SIP delimiters, deletions, duplications, truncations): a small
//!   fuzzing loop for machines without nightly. For `structured` every input, mutated or
//!   not, keys a new generated message.
//!
//! Prints one summary line per target. Exit status 0 when no input panicked, 1 when one did
//! (each is reported with its file and mutation number), 2 on a usage error or no input.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sip_testkit::Mutation;
use sip_testkit::proptest::collection::vec;
use sip_testkit::proptest::strategy::{BoxedStrategy, Strategy};

type Target = fn(&[u8]);

const USAGE: &str = "usage: replay [--mutate N] [parse|framer|structured|all] [PATH...]";

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else {
        out.push(path.to_owned());
    }
    Ok(())
}

/// Mutation `k` of input file `file_no`: one to four of sip-testkit's byte-level mutations
/// (the ones the property tests apply to the RFC 4475 messages), drawn from a seed made of
/// both numbers, so a run is reproducible.
fn mutate(
    input: &[u8],
    file_no: usize,
    k: u64,
    mutations: &BoxedStrategy<Vec<Mutation>>,
) -> Vec<u8> {
    let seed =
        0x9E37_79B9_7F4A_7C15 ^ (file_no as u64).wrapping_mul(0x1000_0001) ^ k.wrapping_add(1);
    let ms = sip_testkit::generate_from_seed(mutations, seed).unwrap_or_default();
    sip_testkit::mutate(input.to_vec(), &ms)
}

fn main() -> ExitCode {
    let mut mutations = 0u64;
    let mut which = "all".to_owned();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--mutate" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => mutations = n,
                None => {
                    eprintln!("replay: --mutate needs a number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "parse" | "framer" | "structured" | "all" if paths.is_empty() => which = a,
            s if s.starts_with('-') => {
                eprintln!("replay: unknown option {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let targets: Vec<(&str, Target)> = [
        ("parse", sip_core_fuzz::parse_target as Target),
        ("framer", sip_core_fuzz::framer_target as Target),
        ("structured", sip_core_fuzz::structured_target as Target),
    ]
    .into_iter()
    .filter(|(n, _)| which == "all" || which == *n)
    .collect();

    let edits = vec(sip_testkit::strategy::mutation(), 1..=4).boxed();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failed = false;
    for (name, target) in targets {
        let roots: Vec<PathBuf> = if paths.is_empty() {
            [
                here.join("../../shared/conformance/rfc4475"),
                here.join("corpus").join(name),
                here.join("artifacts").join(name),
            ]
            .into_iter()
            .filter(|p| p.exists())
            .collect()
        } else {
            paths.clone()
        };
        let mut files = Vec::new();
        for r in &roots {
            if let Err(e) = collect(r, &mut files) {
                eprintln!("replay: cannot read {}: {e}", r.display());
                return ExitCode::from(2);
            }
        }
        if files.is_empty() {
            eprintln!("replay: no input for {name} (give a PATH)");
            return ExitCode::from(2);
        }
        let (mut runs, mut panics) = (0u64, 0u64);
        for (no, f) in files.iter().enumerate() {
            let data = match std::fs::read(f) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("replay: cannot read {}: {e}", f.display());
                    return ExitCode::from(2);
                }
            };
            for k in 0..=mutations {
                let input = if k == 0 {
                    data.clone()
                } else {
                    mutate(&data, no, k, &edits)
                };
                runs += 1;
                if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                    panics += 1;
                    eprintln!("replay: {name} panicked on {} (mutation {k})", f.display());
                }
            }
        }
        println!(
            "{name}: {} files, {runs} runs, {panics} panics",
            files.len()
        );
        failed |= panics > 0;
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
