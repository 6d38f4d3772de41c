//! Golden tests for every filter, including bad input: a clear error, never a panic.

use serde_json::json;

use super::support::{err, ok};

fn order() -> serde_json::Value {
    json!({
        "AmazonOrderId": "902-3159896-1390916",
        "PurchaseDate": "2026-10-01T06:30:00Z",
        "OrderStatus": "Shipped",
        "OrderTotal": {"CurrencyCode": "USD", "Amount": "119.99"},
        "Fee": {"amount": "-3.10", "currency": "USD"},
        "Yen": {"CurrencyCode": "JPY", "Amount": "1200"},
        "BuyerInfo": {"BuyerName": "Doe, Jane", "BuyerEmail": " Jane.Doe@Marketplace.Amazon.com "},
        "ShippingAddress": {"Name": "Jane Doe", "AddressLine1": "410 Terry Ave N", "AddressLine2": "Apt 5", "City": "Seattle",
                             "StateOrRegion": "Washington", "PostalCode": "981095210", "CountryCode": "US", "Phone": "(206) 555-0100"},
        "Items": [{"SKU": "A-FBA", "Price": "10.10"}, {"SKU": "B", "Price": "0.20"}],
        "Note": "  ",
    })
}

#[test]
fn money_arithmetic_is_exact_decimal() {
    let r = order();
    assert_eq!(ok("{{ '0.1' | decimal_add('0.2') }}", r.clone()), json!("0.3"));
    assert_eq!(ok("{{ record.OrderTotal | decimal_sub('19.99') }}", r.clone()), json!("100.00"));
    assert_eq!(ok("{{ '19.99' | decimal_mul(3) }}", r.clone()), json!("59.97"));
    assert_eq!(ok("{{ '10' | decimal_div(4) }}", r.clone()), json!("2.5"));
    assert_eq!(ok("{{ ' 12.5 ' | decimal }}", r.clone()), json!("12.5"));
    assert_eq!(ok("{{ record.Items | sum_decimal(attribute='Price') }}", r.clone()), json!("10.30"));
}

#[test]
fn rounding_modes_and_padding() {
    let r = order();
    assert_eq!(ok("{{ '2.345' | round_decimal(2) }}", r.clone()), json!("2.34"), "half_even by default");
    assert_eq!(ok("{{ '2.345' | round_decimal(2, mode='half_up') }}", r.clone()), json!("2.35"));
    assert_eq!(ok("{{ '2.349' | round_decimal(2, mode='down') }}", r.clone()), json!("2.34"));
    assert_eq!(ok("{{ '7' | round_decimal(2) }}", r.clone()), json!("7.00"));
    err("{{ '2.3' | round_decimal(2, mode='sideways') }}", r, "unknown mode");
}

#[test]
fn money_values_and_currency() {
    let r = order();
    assert_eq!(ok("{{ record.OrderTotal | money_amount }}", r.clone()), json!("119.99"));
    assert_eq!(ok("{{ record.OrderTotal | money_currency }}", r.clone()), json!("USD"));
    assert_eq!(ok("{{ '5.5' | money('EUR') }}", r.clone()), json!({"amount": "5.5", "currency": "EUR"}));
    assert_eq!(
        ok("{{ record.OrderTotal | money_add(record.Fee) }}", r.clone()),
        json!({"amount": "116.89", "currency": "USD"})
    );
    assert_eq!(
        ok("{{ '1.005' | money('USD') | money_round }}", r.clone()),
        json!({"amount": "1.01", "currency": "USD"})
    );
    err("{{ record.OrderTotal | money_add(record.Yen) }}", r.clone(), "currency mismatch");
}

#[test]
fn currency_conversion_uses_the_rates_table() {
    let r = order();
    assert_eq!(
        ok("{{ record.OrderTotal | convert_currency('EUR') }}", r.clone()),
        json!({"amount": "110.39", "currency": "EUR"})
    );
    assert_eq!(
        ok("{{ record.OrderTotal | convert_currency('USD') }}", r.clone()),
        json!({"amount": "119.99", "currency": "USD"})
    );
    err("{{ record.OrderTotal | convert_currency('GBP') }}", r.clone(), "no exchange rate from USD to GBP");
    err("{{ record.OrderTotal | convert_currency('XYZ') }}", r, "unknown currency code");
}

#[test]
fn bad_money_input_is_a_clear_error() {
    let r = order();
    err("{{ 'twelve' | decimal }}", r.clone(), "\"twelve\" is not a decimal number");
    err("{{ '1e5' | decimal_add('1') }}", r.clone(), "is not a decimal number");
    err("{{ '1' | decimal_div('0') }}", r.clone(), "division by zero");
    err("{{ '5' | money('usd') }}", r.clone(), "3 uppercase");
    err("{{ '5' | money('ABC') }}", r.clone(), "unknown currency code \"ABC\"");
    err("{{ record.BuyerInfo | money_amount }}", r.clone(), "needs both an amount and a currency");
    err("{{ none | decimal }}", r, "expected a decimal number, got none");
}

#[test]
fn dates_parse_convert_and_format_with_time_zones() {
    let r = order();
    assert_eq!(ok("{{ record.PurchaseDate | to_date }}", r.clone()), json!("2026-10-01"));
    assert_eq!(ok("{{ record.PurchaseDate | to_date(tz='America/Los_Angeles') }}", r.clone()), json!("2026-09-30"));
    assert_eq!(
        ok("{{ record.PurchaseDate | to_timezone('Europe/Berlin') }}", r.clone()),
        json!("2026-10-01T08:30:00+02:00")
    );
    assert_eq!(
        ok("{{ record.PurchaseDate | format_datetime('%d.%m.%Y %H:%M', tz='Europe/Berlin') }}", r.clone()),
        json!("01.10.2026 08:30")
    );
    assert_eq!(
        ok("{{ '10/01/2026 14:30' | parse_datetime(format='%m/%d/%Y %H:%M', tz='America/New_York') }}", r.clone()),
        json!("2026-10-01T18:30:00Z")
    );
    assert_eq!(ok("{{ '2026-10-01T12:00:00+05:30' | parse_datetime }}", r.clone()), json!("2026-10-01T06:30:00Z"));
    assert_eq!(ok("{{ '2026-10-01' | parse_datetime(tz='Europe/London') }}", r.clone()), json!("2026-09-30T23:00:00Z"));
    assert_eq!(ok("{{ 0 | parse_datetime }}", r.clone()), json!("1970-01-01T00:00:00Z"));
    // Across the DST change in Berlin (25 Oct 2026): still 08:30 local.
    assert_eq!(ok("{{ record.PurchaseDate | add_days(30, tz='Europe/Berlin') }}", r), json!("2026-10-31T07:30:00Z"));
}

#[test]
fn bad_dates_are_clear_errors() {
    let r = order();
    err("{{ '2026-13-45' | to_date }}", r.clone(), "\"2026-13-45\" is not a valid date/time");
    err("{{ 'yesterday' | parse_datetime }}", r.clone(), "is not a valid date/time");
    err("{{ '01/02' | parse_datetime(format='%Y-%m-%d') }}", r.clone(), "does not match the format");
    err("{{ record.PurchaseDate | to_date(tz='Mars/Olympus') }}", r.clone(), "unknown time zone \"Mars/Olympus\"");
    err("{{ record.PurchaseDate | format_datetime('%Y-%') }}", r.clone(), "invalid format string");
    err("{{ record.Items | to_date }}", r, "expected a date or timestamp, got a list");
}

#[test]
fn addresses_split_join_and_codes() {
    let r = order();
    assert_eq!(ok("{{ record.ShippingAddress | street_lines }}", r.clone()), json!(["410 Terry Ave N", "Apt 5"]));
    assert_eq!(ok("{{ record.ShippingAddress | street_line(2) }}", r.clone()), json!("Apt 5"));
    assert_eq!(ok("{{ record.ShippingAddress | street_line(3) }}", r.clone()), json!(null));
    assert_eq!(
        ok("{{ record.ShippingAddress | join_address }}", r.clone()),
        json!("410 Terry Ave N, Apt 5, Seattle, Washington 981095210, US")
    );
    assert_eq!(
        ok("{{ 'Flat 3, 221B Baker Street Marylebone Westminster' | split_street(width=20, max_lines=4) }}", r.clone()),
        json!(["Flat 3", "221B Baker Street", "Marylebone", "Westminster"])
    );
    assert_eq!(
        ok("{{ 'Seattle, WA 98109' | parse_city_line }}", r.clone()),
        json!({"city": "Seattle", "state": "WA", "postal_code": "98109"})
    );
    assert_eq!(ok("{{ record.ShippingAddress.StateOrRegion | state_code('US') }}", r.clone()), json!("WA"));
    assert_eq!(ok("{{ 'Québec' | state_code('CA') }}", r.clone()), json!("QC"));
    assert_eq!(ok("{{ 'ny' | state_code }}", r.clone()), json!("NY"));
    assert_eq!(ok("{{ 'Deutschland' | country_code }}", r.clone()), json!("DE"));
    assert_eq!(ok("{{ 'GBR' | country_code }}", r.clone()), json!("GB"));
    assert_eq!(ok("{{ 'United States of America' | country_code }}", r.clone()), json!("US"));
    assert_eq!(ok("{{ 'US' | country_alpha3 }}", r.clone()), json!("USA"));
    assert_eq!(ok("{{ 'de' | country_name }}", r.clone()), json!("Germany"));
    assert_eq!(ok("{{ record.ShippingAddress.PostalCode | postal_code('US') }}", r.clone()), json!("98109-5210"));
    assert_eq!(ok("{{ 'k1a0b1' | postal_code('CA') }}", r.clone()), json!("K1A 0B1"));
    assert_eq!(ok("{{ 'sw1a1aa' | postal_code('GB') }}", r), json!("SW1A 1AA"));
}

#[test]
fn bad_addresses_are_clear_errors_without_the_street() {
    let r = order();
    err("{{ 'Atlantis' | country_code }}", r.clone(), "unknown country \"Atlantis\"");
    err("{{ 'Cascadia' | state_code('US') }}", r.clone(), "unknown state or province");
    err("{{ '9810' | postal_code('US') }}", r.clone(), "not a valid US postal code");
    let e = err(
        "{{ '1 Very Long Street Name That Goes On And On And On Forever' | split_street(width=10, max_lines=2) }}",
        r.clone(),
        "needs",
    );
    assert!(!e.contains("Forever"), "street text leaked: {e}");
    err("{{ 42 | street_lines }}", r, "expected an address or text");
}

#[test]
fn names_split_into_parts() {
    let r = order();
    assert_eq!(ok("{{ record.BuyerInfo.BuyerName | first_name }}", r.clone()), json!("Jane"));
    assert_eq!(ok("{{ record.BuyerInfo.BuyerName | last_name }}", r.clone()), json!("Doe"));
    assert_eq!(
        ok("{{ 'Dr. Jan Pieter van der Berg Jr.' | split_name }}", r.clone()),
        json!({"prefix": "Dr.", "first": "Jan", "middle": "Pieter", "last": "van der Berg", "suffix": "Jr."})
    );
    assert_eq!(
        ok("{{ 'Cher' | split_name }}", r.clone()),
        json!({"prefix": "", "first": "", "middle": "", "last": "Cher", "suffix": ""})
    );
    err("{{ '   ' | split_name }}", r.clone(), "the name is empty");
    err("{{ record.Items | first_name }}", r, "expected text, got a list");
}

#[test]
fn emails_and_phones_normalise_and_errors_mask_them() {
    let r = order();
    assert_eq!(
        ok("{{ record.BuyerInfo.BuyerEmail | normalize_email }}", r.clone()),
        json!("jane.doe@marketplace.amazon.com")
    );
    assert_eq!(ok("{{ record.BuyerInfo.BuyerEmail | email_domain }}", r.clone()), json!("marketplace.amazon.com"));
    assert_eq!(ok("{{ record.ShippingAddress.Phone | normalize_phone }}", r.clone()), json!("+12065550100"));
    assert_eq!(ok("{{ '1-206-555-0100 ext. 12' | normalize_phone('US') }}", r.clone()), json!("+12065550100"));
    assert_eq!(ok("{{ '030 1234567' | normalize_phone('DE') }}", r.clone()), json!("+49301234567"));
    assert_eq!(ok("{{ '0044 20 7946 0958' | normalize_phone('US') }}", r.clone()), json!("+442079460958"));
    // Italy keeps the leading 0 of its national numbers (no trunk prefix): Rome 06 …
    assert_eq!(ok("{{ '06 1234 5678' | normalize_phone('IT') }}", r.clone()), json!("+390612345678"));
    assert_eq!(ok("{{ '0549 882 555' | normalize_phone('SM') }}", r.clone()), json!("+3780549882555"));
    // Elsewhere only one trunk 0 is dropped.
    assert_eq!(ok("{{ '020 7946 0958' | normalize_phone('GB') }}", r.clone()), json!("+442079460958"));
    let e = err("{{ 'jane.doe@@example' | normalize_email }}", r.clone(), "is not an e-mail address");
    assert!(!e.contains("jane.doe"), "e-mail leaked: {e}");
    let e = err("{{ '555-0100' | normalize_phone('US') }}", r.clone(), "not a 10-digit NANP number");
    assert!(!e.contains("555"), "phone leaked: {e}");
    err("{{ '12345' | normalize_phone('ZZ') }}", r, "no calling code known");
}

#[test]
fn pii_masking() {
    let r = order();
    assert_eq!(ok("{{ record.ShippingAddress.Name | mask }}", r.clone()), json!("J*** D**"));
    assert_eq!(ok("{{ 'jane@example.com' | mask_email }}", r.clone()), json!("j***@example.com"));
    assert_eq!(ok("{{ record.ShippingAddress.Phone | mask_phone }}", r.clone()), json!("********00"));
    assert_eq!(ok("{{ record.BuyerInfo.BuyerName | redact }}", r.clone()), json!("<redacted>"));
    err("{{ record.Items | mask }}", r, "expected text, got a list");
}

#[test]
fn value_maps_lookups_and_xref() {
    let r = order();
    assert_eq!(ok("{{ record.OrderStatus | value_map('status') }}", r.clone()), json!(100001));
    assert_eq!(ok("{{ 'Canceled' | value_map('status', default=4) }}", r.clone()), json!(4));
    err("{{ 'Canceled' | value_map('status') }}", r.clone(), "no entry for \"Canceled\" (entries: Pending, Shipped)");
    err("{{ 'x' | value_map('nope') }}", r.clone(), "unknown value map `nope`");
    assert_eq!(ok("{{ 'SEA8' | lookup('warehouses') }}", r.clone()), json!("WH-WEST"));
    assert_eq!(ok("{{ 'XXX' | lookup('warehouses', default='WH-MAIN') }}", r.clone()), json!("WH-MAIN"));
    let e = err("{{ 'jane@example.com' | lookup('warehouses') }}", r.clone(), "no entry for key");
    assert!(!e.contains("jane@"), "lookup key leaked: {e}");
    assert_eq!(
        ok("{{ record.AmazonOrderId | xref('salesorder') }}", r.clone()),
        json!("3f1c0a52-0000-0000-0000-000000000001")
    );
    err("{{ '111-0000000-0000000' | xref('salesorder') }}", r, "no target id recorded");
}

#[test]
fn default_coalesce_and_regex_replace() {
    let r = order();
    assert_eq!(ok("{{ record.Missing | default('n/a') }}", r.clone()), json!("n/a"));
    assert_eq!(ok("{{ coalesce(record.Note, none, record.AmazonOrderId) }}", r.clone()), json!("902-3159896-1390916"));
    assert_eq!(ok("{{ record.Note | coalesce('fallback') }}", r.clone()), json!("fallback"));
    assert_eq!(ok("{{ 'SKU-123-FBA' | regex_replace('-FBA$', '') }}", r.clone()), json!("SKU-123"));
    assert_eq!(
        ok("{{ '2026-10-01' | regex_replace('(\\\\d+)-(\\\\d+)-(\\\\d+)', '$3.$2.$1') }}", r.clone()),
        json!("01.10.2026")
    );
    assert_eq!(ok("{{ 'A-1 b/2' | digits }}", r.clone()), json!("12"));
    assert_eq!(ok("{{ 'abcdef' | left(3) }}", r.clone()), json!("abc"));
    err("{{ 'x' | regex_replace('(', '') }}", r, "invalid pattern");
}

#[test]
fn strict_undefined_names_the_missing_field() {
    let e =
        err("{{ record.BuyerInfo.BuyerPhone | normalize_phone }}", order(), "`record.BuyerInfo.BuyerPhone` is missing");
    assert!(e.contains("default"), "{e}");
}

#[test]
fn fuel_stops_runaway_expressions() {
    err("{{ range(100000) | map('string') | join(',') | length }}", order(), "more than 50000 steps");
}

/// The flow that passed `ferry check` and then allocated 6.5 GB: an empty pattern matches
/// at every one of 100,000 positions, each replaced by 65,000 bytes. It now fails at once
/// with an error naming the filter and the bound, and nothing large is allocated.
#[test]
fn regex_replace_refuses_to_build_more_than_a_field_holds() {
    let record = json!({"Note": "x".repeat(100_000)});
    let replacement = "a".repeat(65_000);
    let e = err(
        &format!("{{{{ record.Note | regex_replace('', '{replacement}') }}}}"),
        record.clone(),
        "longer than 1048576 bytes",
    );
    assert!(e.contains("regex_replace"), "{e}");
    // Doubling the text again and again is stopped the same way.
    let doubling = std::iter::repeat_n(" | regex_replace('(.)', '$1$1')", 8).collect::<String>();
    err(&format!("{{{{ record.Note{doubling} }}}}"), record, "longer than 1048576 bytes");
    // Ordinary replacements, groups included, are unchanged.
    assert_eq!(ok("{{ 'ABC-123-FBA' | regex_replace('^(\\w+)-(\\d+)-FBA$', '$2-$1') }}", json!({})), json!("123-ABC"));
    assert_eq!(ok("{{ 'SKU-1-FBA' | regex_replace('-FBA$', '') }}", json!({})), json!("SKU-1"));
    assert_eq!(ok("{{ 'a.b.c' | regex_replace('\\.', '') }}", json!({})), json!("abc"));
}

/// Operators and built-in filters are bounded too: a field's value may not exceed 1 MiB,
/// and MiniJinja refuses an oversized repeat or join before allocating it (fuel counts bytes).
#[test]
fn every_field_value_has_a_size_bound() {
    let record = json!({"Note": "y".repeat(600_000)});
    err("{{ record.Note ~ record.Note }}", record.clone(), "more than the 1048576 a field may hold");
    err("{{ 'x' * 100000000 }}", json!({}), "was stopped");
    err("{{ ([record.Note] * 100) | join('') }}", record.clone(), "was stopped");
    err("{{ record.Note | replace('y', 'zzzzzzzzzz') }}", record.clone(), "was stopped");
    assert_eq!(ok("{{ record.Note | length }}", record), json!(600_000));
}

#[test]
fn one_whole_expression_keeps_its_type_and_text_concatenates() {
    let r = order();
    assert_eq!(ok("{{ record.Items | length }}", r.clone()), json!(2));
    assert_eq!(ok("{{ record.OrderTotal }}", r.clone()), json!({"CurrencyCode": "USD", "Amount": "119.99"}));
    assert_eq!(ok("AMZ-{{ record.AmazonOrderId }}", r.clone()), json!("AMZ-902-3159896-1390916"));
    assert_eq!(ok("{{ record.Items | length }} items", r.clone()), json!("2 items"));
    assert_eq!(ok("Draft", r), json!("Draft"));
}

#[test]
fn record_access_indexes_lists_and_whole_objects() {
    let r = json!({
        "Items": [{"SKU": "A", "Qty": 2}, {"SKU": "B", "Qty": 3}],
        "Address": {"City": "Seattle", "": "empty key"},
        "Flags": [true, false],
        "Big": 12345678901234_i64,
        "Ratio": 0.25,
    });
    assert_eq!(ok("{{ record.Items[1].SKU }}", r.clone()), json!("B"));
    assert_eq!(ok("{{ record.Items | map(attribute='SKU') | join(',') }}", r.clone()), json!("A,B"));
    assert_eq!(
        ok("{{ record.Items | selectattr('Qty', 'gt', 2) | map(attribute='SKU') | list }}", r.clone()),
        json!(["B"])
    );
    assert_eq!(ok("{{ record.Items | length }}", r.clone()), json!(2));
    assert_eq!(ok("{{ record.Address }}", r.clone()), json!({"City": "Seattle", "": "empty key"}));
    assert_eq!(ok("{{ record.Address[''] }}", r.clone()), json!("empty key"));
    assert_eq!(ok("{{ 'City' in record.Address }}", r.clone()), json!(true));
    assert_eq!(ok("{{ record.Address.Zip is defined }}", r.clone()), json!(false));
    assert_eq!(ok("{{ record.Flags }}", r.clone()), json!([true, false]));
    assert_eq!(ok("{{ record.Big }}", r.clone()), json!(12345678901234_i64));
    assert_eq!(ok("{{ record.Ratio }}", r.clone()), json!(0.25));
    err("{{ record.Items[5].SKU }}", r, "missing");
}

#[test]
fn more_bad_input_for_money_address_and_dates() {
    let r = order();
    assert_eq!(
        ok("{{ record.OrderTotal | money_sub(record.Fee) }}", r.clone()),
        json!({"amount": "123.09", "currency": "USD"})
    );
    err("{{ record.OrderTotal | money_sub(record.Yen) }}", r.clone(), "currency mismatch");
    err("{{ 'Seattle WA 98109' | parse_city_line }}", r.clone(), "expected \"City, ST POSTAL\"");
    err("{{ record.PurchaseDate | to_timezone('Nowhere/Land') }}", r.clone(), "unknown time zone");
    err("{{ 'soon' | add_days(3) }}", r.clone(), "\"soon\" is not a valid date/time");
    err("{{ record.PurchaseDate | add_days(100000) }}", r.clone(), "at most 36500 days");
    err("{{ record.ShippingAddress | street_line(0) }}", r.clone(), "numbered from 1");
    err("{{ '1.5' | round_decimal(40) }}", r.clone(), "at most 12 decimal places");
    err("{{ record.Items | sum_decimal(attribute='Missing') }}", r, "has no value");
}

#[test]
fn an_explicit_none_default_is_a_default() {
    use ferry_mapping::preview::{PreviewContext, preview_expression};
    let record = serde_json::json!({ "code": "XXX" });
    let maps = std::collections::BTreeMap::new();
    let ctx = PreviewContext::default();
    let v = preview_expression("{{ record.code | lookup('currencies', default=none) }}", &record, &maps, &ctx).unwrap();
    assert_eq!(v, serde_json::Value::Null, "default=none yields none instead of an error");
    let err = preview_expression("{{ record.code | lookup('currencies') }}", &record, &maps, &ctx).unwrap_err();
    assert!(err.message.contains("no entry"), "{}", err.message);
}
