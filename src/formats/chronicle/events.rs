//! Test events for YARA-L rules: UDM events as the SecOps API writes them are brought to the
//! shape the rules' field paths name.
//!
//! - `{"udm": {...}}` wrappers (API search results) are unwrapped;
//! - lowerCamelCase keys (`eventType`, `ipGeoArtifact`) become snake_case (`event_type`);
//!   keys under `additional` (free-form) and keys that are not lowerCamelCase words are
//!   kept as written;
//! - label lists (`[{key, value}, ...]`) also get map entries, so the rule path
//!   `detection_fields["status_code"]` finds the value of the label keyed `status_code`.

use crate::query::yaral::ast::{path_text, Seg};
use serde_json::{Map, Value};

/// Prepares one test event.
pub fn prepare(ev: Value) -> Value {
    let ev = match ev {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("udm") => {
            m.remove("udm").unwrap_or(Value::Null)
        }
        other => other,
    };
    normalise(ev, 0)
}

fn normalise(v: Value, depth: usize) -> Value {
    if depth > 64 {
        return v;
    }
    match v {
        Value::Array(a) => Value::Array(a.into_iter().map(|x| normalise(x, depth + 1)).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = snake_case(&k);
                let v = if key == "additional" {
                    v
                } else {
                    normalise(v, depth + 1)
                };
                let labels = label_entries(&key, &v);
                // A snake_case key written by the event wins over a converted duplicate.
                if !out.contains_key(&key) || key == k {
                    out.insert(key, v);
                }
                for (lk, lv) in labels {
                    out.entry(lk).or_insert(lv);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// `eventType` -> `event_type`; other spellings are returned unchanged.
pub fn snake_case(k: &str) -> String {
    let mut chars = k.chars();
    let lower_camel = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && k.chars().all(|c| c.is_ascii_alphanumeric())
        && k.chars().any(|c| c.is_ascii_uppercase());
    if !lower_camel {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len() + 4);
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Map entries for a list of `{key, value}` labels under `name`.
fn label_entries(name: &str, v: &Value) -> Vec<(String, Value)> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    let mut out: Vec<(String, Value)> = Vec::new();
    for it in items {
        let Some(obj) = it.as_object() else {
            return Vec::new();
        };
        let Some(key) = obj.get("key").and_then(Value::as_str) else {
            return Vec::new();
        };
        let value = obj
            .get("value")
            .or_else(|| obj.get("string_value"))
            .cloned()
            .unwrap_or(Value::Null);
        let entry = format!("{name}{}", path_text(&[Seg::Key(key.to_string())]));
        match out.iter_mut().find(|(k, _)| *k == entry) {
            Some((_, Value::Array(vals))) => vals.push(value),
            Some((_, prev)) => *prev = Value::Array(vec![prev.clone(), value]),
            None => out.push((entry, value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_case_keys_become_snake_case() {
        let ev = prepare(json!({"udm": {"metadata": {"eventType": "USER_LOGIN"},
            "principal": {"ipGeoArtifact": [{"location": {"countryOrRegion": "FR"}}]},
            "additional": {"fields": {"someKey": "x"}}}}));
        assert_eq!(ev["metadata"]["event_type"], "USER_LOGIN");
        assert_eq!(
            ev["principal"]["ip_geo_artifact"][0]["location"]["country_or_region"],
            "FR"
        );
        assert_eq!(ev["additional"]["fields"]["someKey"], "x");
    }

    #[test]
    fn labels_get_map_entries() {
        let ev = prepare(json!({"security_result": [{"detection_fields": [
            {"key": "status_code", "value": "7"}, {"key": "App \"Id\"", "value": "a"}]}]}));
        let sr = &ev["security_result"][0];
        assert_eq!(sr["detection_fields[\"status_code\"]"], "7");
        assert_eq!(sr["detection_fields[\"App \\\"Id\\\"\"]"], "a");
        assert!(sr["detection_fields"].is_array());
    }

    #[test]
    fn other_keys_are_kept() {
        assert_eq!(snake_case("ImagePath"), "ImagePath");
        assert_eq!(snake_case("App Id"), "App Id");
        assert_eq!(snake_case("event_type"), "event_type");
        assert_eq!(snake_case("productEventType"), "product_event_type");
    }
}
