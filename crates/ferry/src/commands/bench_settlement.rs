//! `ferry bench settlement`: a generated settlement report V2 of N rows (the Amazon sandbox's
//! generator) read, aggregated and planned into its balanced journal with the reconciliation
//! report, as F7 does before it posts: seconds and rows per second (best of 3) and the peak
//! resident memory of the run. Figures only: nothing here asserts a speed.

use std::collections::BTreeSet;
use std::fs::File;
use std::process::ExitCode;
use std::time::Instant;

use ferry_connectors::amazon::settlement::SettlementReader;
use ferry_flows::settlement::{Aggregate, PostingMap, Reconciliation, fee_observations, plan};
use ferry_sandbox::amazon::settlement::{SettlementSpec, write_settlement_v2};

use crate::cli::SettlementBenchArgs;

/// A posting map like a seller's: sales to revenue, fees to expenses, reserves to a clearing
/// account; the generator's unknown kinds stay held.
fn posting() -> anyhow::Result<PostingMap> {
    let map = serde_json::json!({
        "deposit_account": "110150",
        "rules": [
            { "type": "Order", "amount_type": "ItemPrice", "account": "401100" },
            { "type": "Refund", "amount_type": "ItemPrice", "account": "402100" },
            { "amount_type": "ItemFees", "account": "601200" },
            { "amount_type": "ShipmentFees", "account": "601300" },
            { "amount_type": "Promotion", "account": "403100" },
            { "amount_type": "ItemWithheldTax", "account": "220100" },
            { "type": "other-transaction", "account": "130500" },
            { "type": "ServiceFee", "account": "601900" },
        ]
    });
    PostingMap::from_settings("bench", Some(&map)).map_err(anyhow::Error::msg)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    // "5" resets the peak resident set size of the process (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn run(args: SettlementBenchArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("ferry-bench-settlement-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("settlement.tsv");
    let result = measure(&args, &path);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(args: &SettlementBenchArgs, path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let spec = SettlementSpec { rows: args.rows, ..SettlementSpec::default() };
    println!("settlement benchmark: generating {} rows…", args.rows);
    let generated = write_settlement_v2(File::create(path)?, &spec)?;
    let bytes = std::fs::metadata(path)?.len();
    println!(
        "file: {} rows, {:.1} MB, deposit {} {}",
        generated.rows,
        bytes as f64 / 1e6,
        generated.deposit,
        spec.currency
    );
    let map = posting()?;
    let mut best = f64::MAX;
    let mut peak = 0;
    let mut last = None;
    for run in 1..=3 {
        reset_peak();
        let started = Instant::now();
        let mut reader = SettlementReader::open(File::open(path)?)?;
        let mut aggregate = Aggregate::new(reader.summary().clone());
        for line in reader.by_ref() {
            aggregate.add(&line?)?;
        }
        let planned = plan(&aggregate, &map, &BTreeSet::new(), 1, None)?;
        let report = Reconciliation::of(&aggregate, &planned)?;
        let observations = fee_observations(&aggregate, "bench");
        let elapsed = started.elapsed().as_secs_f64();
        best = best.min(elapsed);
        peak = peak.max(peak_rss_kib().unwrap_or(0));
        println!("run {run}: {elapsed:.3} s");
        last = Some((planned, report, observations.len()));
    }
    let Some((planned, report, observations)) = last else { return Ok(ExitCode::FAILURE) };
    println!(
        "read + aggregate + plan + reconcile: best of 3 {best:.3} s, {:.0} rows/s, {:.0} MB/s of text; peak RSS {:.1} MiB",
        generated.rows as f64 / best,
        bytes as f64 / 1e6 / best,
        peak as f64 / 1024.0
    );
    println!(
        "journal {}: {} lines, {} kinds held ({} {}), {} fee observations; deposit − rows = {} {}",
        planned.reference,
        planned.journal.as_ref().map_or(0, |j| j.lines().len()),
        planned.held.len(),
        report.held,
        report.currency,
        observations,
        report.unexplained,
        report.currency
    );
    Ok(ExitCode::SUCCESS)
}
