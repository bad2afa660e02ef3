//! Markdown table of the last `cargo bench -p sip-bench` run:
//! `cargo run -p sip-bench --example report [-- <criterion dir>]`.
//!
//! Criterion leaves, for every benchmark, `<dir>/<group>/<function>/new/benchmark.json` (ids)
//! and `.../new/estimates.json` (statistics). This reads them all, takes criterion's
//! "typical" estimate (the slope when it has one, else the mean), and prints one table per
//! message with ns/message and the ratio to the fastest peer in each column.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const OPS: [&str; 3] = ["parse", "decode", "serialize"];

/// `(message, peer, op)` → ns per message.
type Results = BTreeMap<(String, String, String), f64>;

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

fn collect(dir: &Path, out: &mut Results) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            record(&path, out);
        } else {
            collect(&path, out);
        }
    }
}

fn record(new: &Path, out: &mut Results) {
    let (Some(id), Some(est)) = (
        read_json(&new.join("benchmark.json")),
        read_json(&new.join("estimates.json")),
    ) else {
        return;
    };
    let group = id["group_id"].as_str().unwrap_or_default();
    let op = id["function_id"].as_str().unwrap_or_default();
    let Some((message, peer)) = group.split_once('/') else {
        return;
    };
    let typical = est["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| est["mean"]["point_estimate"].as_f64());
    if let Some(ns) = typical {
        out.insert((message.to_owned(), peer.to_owned(), op.to_owned()), ns);
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
        PathBuf::from,
    );
    let mut results = Results::new();
    collect(&dir, &mut results);
    if results.is_empty() {
        eprintln!(
            "no criterion results under {}; run `cargo bench -p sip-bench` first",
            dir.display()
        );
        std::process::exit(1);
    }
    let messages: Vec<String> = sip_bench::CASES.iter().map(|c| c.name.to_owned()).collect();
    for message in &messages {
        let peers: Vec<&String> = {
            let mut p: Vec<&String> = results
                .keys()
                .filter(|(m, peer, _)| m == message && peer != "memchr")
                .map(|(_, p, _)| p)
                .collect();
            p.dedup();
            p
        };
        if peers.is_empty() {
            continue;
        }
        let size = sip_bench::CASES
            .iter()
            .find(|c| c.name == message)
            .map_or(0, |c| c.bytes.len());
        println!("\n### {message} ({size} bytes)\n");
        println!("| peer | parse | decode | serialize |");
        println!("|---|---:|---:|---:|");
        let fastest: Vec<Option<f64>> = OPS
            .iter()
            .map(|op| {
                peers
                    .iter()
                    .filter_map(|p| results.get(&(message.clone(), (*p).clone(), (*op).to_owned())))
                    .copied()
                    .reduce(f64::min)
            })
            .collect();
        for peer in &peers {
            let cells: Vec<String> = OPS
                .iter()
                .zip(&fastest)
                .map(|(op, best)| {
                    match (
                        results.get(&(message.clone(), (*peer).clone(), (*op).to_owned())),
                        best,
                    ) {
                        (Some(ns), Some(best)) => format!("{} ({:.2}×)", fmt_ns(*ns), ns / best),
                        _ => "–".to_owned(),
                    }
                })
                .collect();
            println!("| {peer} | {} |", cells.join(" | "));
        }
        if let Some(ns) = results.get(&(message.clone(), "memchr".to_owned(), "floor".to_owned())) {
            println!("| *memchr floor* | {} | | |", fmt_ns(*ns));
        }
    }
}
