#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on the STABLE toolchain (no cargo-fuzz, no nightly).
#
#   fuzz/fuzz-stable.sh parse  [SECONDS]   # default 60
#   fuzz/fuzz-stable.sh framer [SECONDS]
#   fuzz/fuzz-stable.sh structured [SECONDS]
#
# It builds the targets the way cargo-fuzz does (`--cfg fuzzing` plus LLVM's SanitizerCoverage
# passes, which stable rustc accepts through -C passes / -C llvm-args), minus AddressSanitizer
# (nightly-only; sip-core forbids unsafe code, so ASan would add little). Needs a C++ compiler
# for libfuzzer-sys. The corpus grows in fuzz/corpus/<target>/, seeded from the RFC 4475
# messages; crashes land in fuzz/artifacts/<target>/ (replay them with
# `cargo run --example replay -- <target> fuzz/artifacts/<target>`).
set -euo pipefail

target="${1:?usage: fuzz-stable.sh parse|framer|structured [SECONDS]}"
seconds="${2:-60}"
case "$target" in parse|framer|structured) ;; *) echo "unknown target $target" >&2; exit 2 ;; esac

here="$(cd "$(dirname "$0")" && pwd)"
seeds="$here/../../shared/conformance/rfc4475"
host="$(rustc -vV | sed -n 's/^host: //p')"
flags=(
  --cfg fuzzing
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cdebug-assertions
  -Coverflow-checks
)
# --target keeps the flags off build scripts (they are not linked with libFuzzer).
RUSTFLAGS="${flags[*]}" cargo build --manifest-path "$here/Cargo.toml" --release \
  --bin "$target" --target "$host" --target-dir "$here/target/stable-fuzz"

mkdir -p "$here/corpus/$target" "$here/artifacts/$target"
dirs=("$here/corpus/$target")
if [ -d "$seeds" ]; then dirs+=("$seeds"); else echo "note: no seed corpus at $seeds" >&2; fi
exec "$here/target/stable-fuzz/$host/release/$target" \
  -max_total_time="$seconds" -max_len=4096 -dict="$here/sip.dict" \
  -artifact_prefix="$here/artifacts/$target/" "${dirs[@]}"
