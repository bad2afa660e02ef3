//! # sip-sim
//!
//! A deterministic simulator for [`sip_core`] endpoints: a virtual clock and a seeded network.
#![forbid(unsafe_code)]
