//! `ferry check`: every error in a folder of broken flows, at the right line and column.

use std::path::{Path, PathBuf};

use ferry_mapping::check::check_dir;

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// `file:line:column: message` with the file name only, as the assertions spell it.
fn short(diagnostics: &[ferry_mapping::Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| {
            let file = d.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            format!("{file}:{}:{}: {}", d.pos.line, d.pos.column, d.message)
        })
        .collect()
}

#[test]
fn broken_flows_report_every_error_at_its_line_and_column() {
    let diagnostics = check_dir(&fixtures("broken"), &["amazon", "crm"]);
    let got = short(&diagnostics);
    let expected = [
        "bad-yaml.yaml:4:7: while parsing a flow mapping, did not find expected ',' or '}'",
        "connections.yaml:3:63: trigger.poll.every: invalid interval `5 minutes`: use a number and s, m, h or d from 1s to 1d, e.g. 5m",
        "connections.yaml:4:23: unknown connection `shopify` (known: amazon, crm)",
        "expressions.yaml:1:7: duplicate flow name `broken-expressions` (also in duplicate.yaml)",
        "expressions.yaml:10:35: field `name`: unknown filter `uppercase`",
        "expressions.yaml:11:49: field `statuscode`: unknown value map `status_map`",
        "expressions.yaml:12:18: field `orderdate`: unknown variable `ordr` (known here: order, settings, lookups)",
        "expressions.yaml:13:17: field `totalamount`: syntax error: unexpected end of input, expected expression",
        "expressions.yaml:14:17: field `description`: statements ({% %}) are not allowed in a field; use one {{ expression }}",
        "key-and-settings.yaml:8:23: target.key `ordernumber` is constant: every record would overwrite the same target record",
        "key-and-settings.yaml:10:54: field `new_orderdate`: unknown setting `seller_timezone` (add it under `settings:`)",
        "not-an-expression.yaml:11:11: `lines.from` must be an expression in {{ }}, not literal text",
        "not-an-expression.yaml:14:22: field `lines.productid`: unknown lookup `product` (declared: none)",
        "not-an-expression.yaml:15:16: field `lines.sku`: unknown variable `item` (known here: order, settings, lookups, line)",
        "not-an-expression.yaml:16:10: `only_if` must be an expression in {{ }}, not literal text",
        "steps.yaml:5:1: unknown key `steps` (`steps:` was removed: nothing ran it; a flow runs its lookups, `only_if`, the mapping and the write, in that order); the keys allowed here are: name, template, enabled, connections, description, trigger, source, target, map, custom_fields, value_maps, lookups, only_if, settings, on_error",
        "unknown-field.yaml:9:1: unknown key `value_map`; the keys allowed here are: name, template, enabled, connections, description, trigger, source, target, map, custom_fields, value_maps, lookups, only_if, settings, on_error",
    ];
    for line in expected {
        assert!(got.iter().any(|g| g == line), "missing diagnostic:\n  {line}\ngot:\n  {}", got.join("\n  "));
    }
    let wrong_variant = got.iter().find(|g| g.starts_with("wrong-type.yaml:10:104: ")).expect("wrong-type.yaml:10:104");
    assert!(wrong_variant.contains("unknown variant `maybe`"), "{wrong_variant}");
    let wrong_list =
        got.iter().find(|g| g.starts_with("wrong-type-list.yaml:3:")).expect("wrong-type-list.yaml line 3");
    assert!(wrong_list.contains("sequence") || wrong_list.contains("list"), "{wrong_list}");
    assert_eq!(got.len(), expected.len() + 2, "unexpected extra diagnostics:\n  {}", got.join("\n  "));
}

#[test]
fn diagnostics_display_as_file_line_column_message() {
    let diagnostics = check_dir(&fixtures("broken"), &["amazon", "crm"]);
    let first = diagnostics.first().expect("diagnostics");
    let shown = first.to_string();
    assert!(
        shown.ends_with("bad-yaml.yaml:4:7: while parsing a flow mapping, did not find expected ',' or '}'"),
        "{shown}"
    );
}

#[test]
fn shipped_templates_pass_check() {
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let diagnostics = check_dir(&flows, &["amazon", "crm"]);
    assert!(diagnostics.is_empty(), "{}", short(&diagnostics).join("\n"));
}

#[test]
fn templates_fail_check_when_a_connection_is_missing() {
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let diagnostics = check_dir(&flows, &["amazon"]);
    let got = short(&diagnostics);
    assert!(
        got.iter().any(|g| g.starts_with("amazon-orders-to-crm.yaml:") && g.contains("unknown connection `crm`")),
        "{got:?}"
    );
}

#[test]
fn a_missing_folder_is_one_clear_diagnostic() {
    let diagnostics = check_dir(&fixtures("no-such-folder"), &["amazon"]);
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.starts_with("cannot read the flows folder"), "{}", diagnostics[0]);
}
