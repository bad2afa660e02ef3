//! libFuzzer target: one input is a TCP byte stream (RFC 3261 §18.3) fed to the stream framer
//! in chunks chosen by the input; see [`sip_core_fuzz::framer_target`]. Built by
//! `cargo +nightly fuzz run framer`; on stable this binary only explains how to run the same
//! body (`examples/replay.rs`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sip_core_fuzz::framer_target(data));

#[cfg(not(fuzzing))]
fn main() {
    eprintln!(
        "built without --cfg fuzzing: run `cargo +nightly fuzz run framer`, or on stable \
         `cargo run --example replay -- framer DIR...`"
    );
    std::process::exit(2);
}
