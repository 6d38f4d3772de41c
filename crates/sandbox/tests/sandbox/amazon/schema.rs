//! A small validator for the part of Swagger 2.0 / JSON Schema that Amazon's models and
//! notification schemas use: `type`, `properties`, `required`, `items`, `enum`,
//! `additionalProperties`, `$ref` (`#/definitions/…`), `format: date-time`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `allOf`/`anyOf`/`oneOf`, `nullable`.

use serde_json::Value;

/// Every violation of `schema` by `value`, as `path: problem`.
pub fn validate(root: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, schema, value, "$", &mut errors, 0);
    errors
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { break };
        let Some(pointer) = reference.strip_prefix('#') else { break };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    let schema = resolve(root, schema);
    if value.is_null()
        && (schema.get("nullable") == Some(&Value::Bool(true)) || schema.get("x-nullable") == Some(&Value::Bool(true)))
    {
        return;
    }
    for key in ["allOf"] {
        if let Some(all) = schema.get(key).and_then(Value::as_array) {
            for s in all {
                check(root, s, value, path, errors, depth + 1);
            }
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = schema.get(key).and_then(Value::as_array) {
            let ok = any.iter().any(|s| validate_sub(root, s, value, depth));
            if !ok {
                errors.push(format!("{path}: matches none of {key}"));
            }
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, value) => {
            errors.push(format!("{path}: expected {t}, got {value}"));
            return;
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t.as_str().is_some_and(|t| type_matches(t, value))) => {
            errors.push(format!("{path}: expected one of {types:?}, got {value}"));
            return;
        }
        _ => {}
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Some(text) = value.as_str() {
        if schema.get("format").and_then(Value::as_str) == Some("date-time") && text.parse::<jiff::Timestamp>().is_err()
        {
            errors.push(format!("{path}: {text:?} is not a date-time"));
        }
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            errors.push(format!("{path}: shorter than {min}"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            errors.push(format!("{path}: longer than {max}"));
        }
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            errors.push(format!("{path}: {number} below minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            errors.push(format!("{path}: {number} above maximum {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    errors.push(format!("{path}: required property {name} is missing"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in object {
            let at = format!("{path}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(field_schema) => check(root, field_schema, field, &at, errors, depth + 1),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: property not allowed")),
                    Some(extra @ Value::Object(_)) => check(root, extra, field, &at, errors, depth + 1),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (n, item) in array.iter().enumerate() {
            check(root, items, item, &format!("{path}[{n}]"), errors, depth + 1);
        }
    }
}

fn validate_sub(root: &Value, schema: &Value, value: &Value, depth: usize) -> bool {
    let mut errors = Vec::new();
    check(root, schema, value, "$", &mut errors, depth + 1);
    errors.is_empty()
}

#[test]
fn the_validator_catches_what_it_claims_to() {
    let root = serde_json::json!({ "definitions": {
        "Money": { "type": "object", "required": ["amount"], "properties": {
            "amount": { "type": "string" }, "code": { "type": "string", "enum": ["USD"] } },
            "additionalProperties": false },
        "List": { "type": "array", "items": { "$ref": "#/definitions/Money" } } } });
    let schema = serde_json::json!({ "$ref": "#/definitions/List" });
    assert!(validate(&root, &schema, &serde_json::json!([{ "amount": "1.00", "code": "USD" }])).is_empty());
    let errors = validate(&root, &schema, &serde_json::json!([{ "code": "EUR", "x": 1 }, { "amount": 3 }]));
    assert_eq!(errors.len(), 4, "{errors:#?}");
}
