//! Settlement V2: generated files (summary row, refunds, fees, unknown types, plain and gzip,
//! US and EU formats) tie to the deposit to the cent; bad rows are named.

use std::io::Write;

use ferry_connectors::amazon::settlement::{SettlementError, SettlementReader, parse_amount, parse_date};
use ferry_model::{Decimal, SettlementTransactionType};
use ferry_sandbox::amazon::settlement::{SettlementSpec, write_settlement_v2};
use flate2::Compression;
use flate2::write::GzEncoder;

fn generate(spec: &SettlementSpec) -> (Vec<u8>, ferry_sandbox::amazon::settlement::GeneratedSettlement) {
    let mut file = Vec::new();
    let generated = write_settlement_v2(&mut file, spec).unwrap();
    (file, generated)
}

#[test]
fn generated_files_tie_to_the_deposit_to_the_cent() {
    for eu_format in [false, true] {
        let spec =
            SettlementSpec { rows: 20_000, unknown_share: 0.02, refund_share: 0.1, eu_format, ..Default::default() };
        let (file, generated) = generate(&spec);
        assert!(generated.refunds > 0 && generated.unknown > 0);
        let totals = SettlementReader::open(&file[..]).unwrap().totals().unwrap();
        assert_eq!(totals.summary.settlement_id.as_str(), "12345678901");
        assert_eq!(totals.summary.total.amount(), generated.deposit);
        assert_eq!(totals.lines, 20_000);
        assert!(totals.unexplained().is_zero(), "unexplained {}", totals.unexplained());
        assert_eq!(
            totals.unknown_types.get("Vine Enrollment Fee"),
            Some(&generated.unknown),
            "unknown types held, not dropped"
        );
        assert!(totals.by_type["Refund"].is_negative());
        assert_eq!(totals.summary.deposit_date, Some("2026-01-17T00:00:00Z".parse().unwrap()));
    }
}

#[test]
fn gzip_and_plain_files_give_the_same_lines() {
    let (plain, _) = generate(&SettlementSpec { rows: 3000, ..Default::default() });
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let a: Vec<_> = SettlementReader::open(&plain[..]).unwrap().collect::<Result<_, _>>().unwrap();
    let b: Vec<_> = SettlementReader::open(&gz[..]).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(a, b);
    let refund = a.iter().find(|l| l.transaction_type == SettlementTransactionType::Refund).unwrap();
    assert!(refund.adjustment_id.is_some() && refund.amazon_order_id().is_some());
    let fee = a.iter().find(|l| l.amount_description == "FBAPerUnitFulfillmentFee").unwrap();
    assert!(fee.amount.is_negative());
    assert_eq!(fee.fulfillment_id.as_deref(), Some("AFN"));
}

#[test]
fn the_airbyte_fixture_summary_row_and_dates_parse() {
    // A V1-layout fixture lacks the V2 amount columns: refused by name, not misread.
    let path = super::spapi_reference().join("samples/airbyte_GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE.fixture.tsv");
    let file = std::fs::read(path).unwrap();
    match SettlementReader::open(&file[..]) {
        Err(SettlementError::MissingColumn(column)) => assert_eq!(column, "amount-type"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a V1 file must not be read as V2"),
    }
    assert_eq!(parse_date("2023-01-01 00:00:00 UTC"), Some("2023-01-01T00:00:00Z".parse().unwrap()));
    assert_eq!(parse_date("2003-10-03T16:00:00-07:00"), Some("2003-10-03T23:00:00Z".parse().unwrap()));
    assert_eq!(parse_date("03.10.2003"), Some("2003-10-03T00:00:00Z".parse().unwrap()));
    assert_eq!(parse_date("2023-02-30"), None);
    assert_eq!(parse_amount("-1.234,56"), Some(Decimal::new(-123456, 2)));
    assert_eq!(parse_amount("1,234.56"), Some(Decimal::new(123456, 2)));
    assert_eq!(parse_amount("19.99"), Some(Decimal::new(1999, 2)));
    assert_eq!(parse_amount("abc"), None);
}

#[test]
fn a_bad_row_is_named_by_row_and_column() {
    let (file, _) = generate(&SettlementSpec { rows: 10, ..Default::default() });
    let text = String::from_utf8(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[5].split('\t').map(str::to_owned).collect();
    cells[14] = "twelve".into();
    lines[5] = cells.join("\t");
    let broken = lines.join("\n");
    let errors: Vec<String> =
        SettlementReader::open(broken.as_bytes()).unwrap().filter_map(Result::err).map(|e| e.to_string()).collect();
    assert_eq!(errors, vec!["settlement file row 6, column amount: \"twelve\" is not a decimal".to_owned()]);
    assert!(matches!(SettlementReader::open(&b"settlement-id\tfoo\n"[..]), Err(SettlementError::MissingColumn(_))));
}

#[test]
fn a_known_transaction_type_with_an_unknown_amount_type_is_held_for_a_posting_rule() {
    let (file, _) = generate(&SettlementSpec { rows: 10, unknown_share: 0.0, ..Default::default() });
    let text = String::from_utf8(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Row 3 is the first transaction row: an Order. Give it an amount type Ferry does not know.
    let mut cells: Vec<String> = lines[2].split('\t').map(str::to_owned).collect();
    assert_eq!(cells[6], "Order");
    cells[12] = "Vine Enrollment Credit".into();
    lines[2] = cells.join("\t");
    let edited = lines.join("\n");
    let rows: Vec<_> = SettlementReader::open(edited.as_bytes()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 10, "the row is kept");
    let flagged: Vec<_> = rows.iter().filter(|l| l.needs_posting_rule()).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].amount_type.as_str(), "Vine Enrollment Credit");
    let totals = SettlementReader::open(edited.as_bytes()).unwrap().totals().unwrap();
    assert!(totals.unknown_types.is_empty());
    assert_eq!(totals.unknown_amount_types.get("Order/Vine Enrollment Credit"), Some(&1));
    assert!(totals.unexplained().is_zero(), "the row still counts toward the deposit");
}
