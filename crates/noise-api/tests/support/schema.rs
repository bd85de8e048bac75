//! A strict check of a JSON value against a schema of the OpenAPI document:
//! types, required fields, enums, items, and no field the schema does not
//! declare (so a handler that grows a field must document it).

use serde_json::{Map, Value};

/// Every way `value` departs from `schema`, each with its JSON path.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    checked(doc, schema, value, "$", false)
}

/// `lenient`: fields the schema does not declare are left to an enclosing
/// `allOf`, which judges them on the union of its parts.
fn checked(doc: &Value, schema: &Value, value: &Value, at: &str, lenient: bool) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, at, lenient, &mut found);
    found
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, lenient: bool, found: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            if !options.iter().any(|o| checked(doc, o, value, at, lenient).is_empty()) {
                found.push(format!("{at}: {value} matches none of {key}"));
            }
            return;
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            // Each part checks its own fields; unknown fields are judged on the union below.
            check(doc, part, value, at, true, found);
        }
        if !lenient && let Some(object) = value.as_object() {
            unknown_fields(doc, schema, object, at, found);
        }
        return;
    }
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !kinds.iter().any(|k| is_kind(value, k)) {
            found.push(format!("{at}: {value} is not {kinds:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {options:?}"));
    }
    match value {
        Value::Array(items) => {
            if let Some(prefix) = schema.get("prefixItems").and_then(Value::as_array) {
                for (i, (item, s)) in items.iter().zip(prefix).enumerate() {
                    check(doc, s, item, &format!("{at}[{i}]"), false, found);
                }
            } else if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, item_schema, item, &format!("{at}[{i}]"), false, found);
                }
            }
        }
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    found.push(format!("{at}: the required field {name:?} is missing"));
                }
            }
            for (name, field) in object {
                if let Some(s) = properties.and_then(|p| p.get(name)) {
                    check(doc, s, field, &format!("{at}.{name}"), false, found);
                } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                    check(doc, s, field, &format!("{at}.{name}"), false, found);
                }
            }
            if !lenient {
                unknown_fields(doc, schema, object, at, found);
            }
        }
        _ => {}
    }
}

/// Fields of `object` that no part of `schema` declares.
fn unknown_fields(doc: &Value, schema: &Value, object: &Map<String, Value>, at: &str, found: &mut Vec<String>) {
    let mut declared = Vec::new();
    if !collect_properties(doc, schema, &mut declared) {
        return; // the schema admits any field
    }
    for name in object.keys() {
        if !declared.contains(name) {
            found.push(format!("{at}: the field {name:?} is not in the document"));
        }
    }
}

/// Gathers declared property names; false when the schema admits any field
/// (a free-form object or additionalProperties).
fn collect_properties(doc: &Value, schema: &Value, into: &mut Vec<String>) -> bool {
    let schema = resolve(doc, schema);
    if schema.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) {
        return false;
    }
    let mut bounded = false;
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        into.extend(properties.keys().cloned());
        bounded = true;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            let part = resolve(doc, part);
            if part.get("type") == Some(&Value::String("null".into())) {
                continue;
            }
            if !collect_properties(doc, part, into) {
                return false;
            }
            bounded = true;
        }
    }
    bounded
}

fn is_kind(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

#[test]
fn the_checker_catches_what_it_should() {
    let doc = serde_json::json!({"components": {"schemas": {
        "Row": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "name": {"type": ["string", "null"]}}},
        "Tagged": {"allOf": [{"$ref": "#/components/schemas/Row"},
                             {"type": "object", "properties": {"tag": {"type": "string", "enum": ["a", "b"]}}}]}
    }}});
    let row = serde_json::json!({"$ref": "#/components/schemas/Row"});
    let tagged = serde_json::json!({"$ref": "#/components/schemas/Tagged"});
    assert!(violations(&doc, &row, &serde_json::json!({"id": 1, "name": null})).is_empty());
    assert_eq!(violations(&doc, &row, &serde_json::json!({"name": "x"})).len(), 1, "missing id");
    assert_eq!(violations(&doc, &row, &serde_json::json!({"id": "1"})).len(), 1, "wrong type");
    assert_eq!(violations(&doc, &row, &serde_json::json!({"id": 1, "extra": 2})).len(), 1, "undeclared");
    assert!(violations(&doc, &tagged, &serde_json::json!({"id": 1, "tag": "a"})).is_empty());
    assert_eq!(violations(&doc, &tagged, &serde_json::json!({"id": 1, "tag": "c"})).len(), 1, "enum");
    assert_eq!(violations(&doc, &tagged, &serde_json::json!({"id": 1, "zzz": 1})).len(), 1, "undeclared in allOf");
}
