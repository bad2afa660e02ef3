//! libFuzzer target: one input is one UDP datagram (RFC 3261 §18.3), checked in lenient and
//! strict mode; see [`sip_core_fuzz::parse_target`]. Built by `cargo +nightly fuzz run parse`;
//! on stable this binary only explains how to run the same body (`examples/replay.rs`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sip_core_fuzz::parse_target(data));

#[cfg(not(fuzzing))]
fn main() {
    eprintln!(
        "built without --cfg fuzzing: run `cargo +nightly fuzz run parse`, or on stable \
         `cargo run --example replay -- parse DIR...`"
    );
    std::process::exit(2);
}
