//! Settlement V2 parse benchmark: generates a 1,000,000-row file (plain and gzip), parses it
//! with the streaming reader, and prints throughput (MB/s of uncompressed text) and the peak
//! resident memory of the parse (VmHWM, reset before each parse via /proc/self/clear_refs).
//!
//! `cargo run --release -p ferry-connectors --no-default-features --features amazon --example settlement_bench [rows]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use ferry_connectors::amazon::settlement::SettlementReader;
use ferry_sandbox::amazon::settlement::{SettlementSpec, write_settlement_v2};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    // "5" resets the peak resident set size of the process (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("ferry-settlement-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let plain = dir.join("settlement.tsv");
    let gz = dir.join("settlement.tsv.gz");
    let spec = SettlementSpec { rows, unknown_share: 0.01, refund_share: 0.05, ..Default::default() };
    let generated = write_settlement_v2(File::create(&plain)?, &spec)?;
    {
        let mut encoder =
            flate2::write::GzEncoder::new(BufWriter::new(File::create(&gz)?), flate2::Compression::fast());
        std::io::copy(&mut File::open(&plain)?, &mut encoder)?;
        encoder.finish()?.flush()?;
    }
    let bytes = std::fs::metadata(&plain)?.len();
    println!(
        "file: {rows} rows, {:.1} MB plain, {:.1} MB gzip; deposit {}",
        bytes as f64 / 1e6,
        std::fs::metadata(&gz)?.len() as f64 / 1e6,
        generated.deposit
    );
    for (label, path) in [("plain", &plain), ("gzip", &gz)] {
        let mut best = f64::MAX;
        let mut peak = 0;
        for _ in 0..3 {
            reset_peak();
            let started = Instant::now();
            let totals = SettlementReader::open(File::open(path)?)?.totals()?;
            let elapsed = started.elapsed().as_secs_f64();
            assert_eq!(totals.lines, rows);
            assert!(totals.unexplained().is_zero(), "does not tie: {}", totals.unexplained());
            best = best.min(elapsed);
            peak = peak.max(peak_rss_kib().unwrap_or(0));
        }
        println!(
            "{label}: best of 3 {best:.3} s, {:.0} MB/s of text, {:.0} rows/s, peak RSS {:.1} MiB",
            bytes as f64 / 1e6 / best,
            rows as f64 / best,
            peak as f64 / 1024.0
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
