//! libFuzzer target: one input keys the choices of sip-testkit's message generator, which
//! builds a valid message and usually damages it; see [`sip_core_fuzz::structured_target`].
//! Built by `cargo +nightly fuzz run structured`; on stable this binary only explains how to
//! run the same body (`examples/replay.rs`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sip_core_fuzz::structured_target(data));

#[cfg(not(fuzzing))]
fn main() {
    eprintln!(
        "built without --cfg fuzzing: run `cargo +nightly fuzz run structured`, or on stable \
         `cargo run --example replay -- structured DIR...`"
    );
    std::process::exit(2);
}
