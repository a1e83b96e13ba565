//! The indicator index: the most shared indicators of the catalog, per field (the same
//! field, operator and value, as counted on rule pages) and across fields (the same
//! normalised value under different field names: `certutil` as `Image`, `process.name`,
//! `FileName`, `Processes.process_name`, ...).

use super::overlap::tokens;
use super::Catalog;
use crate::model::{Op, Vendor};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One (field, operator, value) held by several rules.
#[derive(Debug, Clone, Serialize)]
pub struct FieldEntry {
    pub field: String,
    pub op: String,
    /// As written by the first rule holding it.
    pub value: String,
    /// Number of rules (the indicator's corpus count).
    pub count: usize,
    /// Rules per vendor.
    pub vendors: Vec<(Vendor, usize)>,
    /// Rule indexes, ascending.
    pub rules: Vec<usize>,
}

/// One normalised value tested under several field names.
#[derive(Debug, Clone, Serialize)]
pub struct ValueEntry {
    /// Normalised value (see `overlap::tokens::normalise`).
    pub value: String,
    pub count: usize,
    /// Field names (as written, first spelling) with the number of rules testing the value
    /// under each, most used first.
    pub fields: Vec<(String, usize)>,
    pub vendors: Vec<(Vendor, usize)>,
    pub rules: Vec<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SharedIndicators {
    /// Most shared first.
    pub per_field: Vec<FieldEntry>,
    /// Most shared first; only values written under at least two field names.
    pub across_fields: Vec<ValueEntry>,
}

/// Indicators held by at least `min_rules` rules (2 when 0 or 1 is given).
pub fn compute(catalog: &Catalog, min_rules: usize) -> SharedIndicators {
    let min_rules = min_rules.max(2);
    let mut fields: BTreeMap<(String, String, String), (String, Vec<usize>)> = BTreeMap::new();
    // token → (field key → (first spelling, rules)), rules overall
    let mut values: BTreeMap<String, BTreeMap<String, (String, BTreeSet<usize>)>> = BTreeMap::new();
    for (i, inds) in catalog.indicators.iter().enumerate() {
        for ind in inds {
            let e = fields
                .entry(ind.key())
                .or_insert_with(|| (ind.value.clone(), Vec::new()));
            if e.1.last() != Some(&i) {
                e.1.push(i);
            }
            if ind.op.starts_with("not ") || ind.field == "*" {
                continue;
            }
            let Some(op) = op_from_str(&ind.op) else {
                continue;
            };
            let field_key = tokens::normalise_field(&ind.field);
            for t in tokens::normalise(&ind.value, op) {
                let by_field = values.entry(t).or_default();
                let f = by_field
                    .entry(field_key.clone())
                    .or_insert_with(|| (ind.field.clone(), BTreeSet::new()));
                f.1.insert(i);
            }
        }
    }
    let vendors_of = |rules: &[usize]| -> Vec<(Vendor, usize)> {
        let mut m: BTreeMap<Vendor, usize> = BTreeMap::new();
        for &r in rules {
            *m.entry(catalog.rules[r].vendor).or_insert(0) += 1;
        }
        m.into_iter().collect()
    };
    let mut per_field: Vec<FieldEntry> = fields
        .into_iter()
        .filter(|(_, (_, rules))| rules.len() >= min_rules)
        .map(|((field, op, _), (value, rules))| FieldEntry {
            field: first_spelling(catalog, &rules, &field),
            op,
            value,
            count: rules.len(),
            vendors: vendors_of(&rules),
            rules,
        })
        .collect();
    per_field.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.field.cmp(&b.field))
            .then(a.op.cmp(&b.op))
            .then(a.value.cmp(&b.value))
    });
    let mut across_fields: Vec<ValueEntry> = values
        .into_iter()
        .filter(|(_, by_field)| by_field.len() >= 2)
        .filter_map(|(value, by_field)| {
            let all: BTreeSet<usize> = by_field
                .values()
                .flat_map(|(_, r)| r.iter().copied())
                .collect();
            if all.len() < min_rules {
                return None;
            }
            let mut fields: Vec<(String, usize)> = by_field
                .into_values()
                .map(|(spelling, rules)| (spelling, rules.len()))
                .collect();
            fields.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let rules: Vec<usize> = all.into_iter().collect();
            Some(ValueEntry {
                value,
                count: rules.len(),
                fields,
                vendors: vendors_of(&rules),
                rules,
            })
        })
        .collect();
    across_fields.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.fields.len().cmp(&a.fields.len()))
            .then(a.value.cmp(&b.value))
    });
    SharedIndicators {
        per_field,
        across_fields,
    }
}

/// The field as the first rule writes it (the index key is lower-cased).
fn first_spelling(catalog: &Catalog, rules: &[usize], key: &str) -> String {
    rules
        .first()
        .and_then(|&r| {
            catalog.indicators[r]
                .iter()
                .find(|i| i.field.to_lowercase() == key)
        })
        .map(|i| i.field.clone())
        .unwrap_or_else(|| key.to_string())
}

fn op_from_str(s: &str) -> Option<Op> {
    Some(match s {
        "eq" => Op::Eq,
        "glob" => Op::Glob,
        "contains" => Op::Contains,
        "startswith" => Op::StartsWith,
        "endswith" => Op::EndsWith,
        "regex" => Op::Regex,
        "has" => Op::HasTerm,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detection, Expr, Predicate, Rule, SourceLocation, Value};

    fn rule(vendor: Vendor, id: &str, preds: Vec<Expr>) -> Rule {
        let mut r = Rule::new(vendor, id, SourceLocation::default());
        r.detection = Some(Detection {
            expr: Expr::all(preds),
            output_fields: vec![],
        });
        r
    }

    fn p(field: &str, op: Op, v: &str) -> Expr {
        Expr::pred(Predicate::field(field, op, vec![Value::str(v)]))
    }

    fn catalog() -> Catalog {
        Catalog::build(vec![
            rule(
                Vendor::Sigma,
                "s1",
                vec![p("Image", Op::EndsWith, "\\certutil.exe")],
            ),
            rule(
                Vendor::Sigma,
                "s2",
                vec![p("Image", Op::EndsWith, "\\certutil.exe")],
            ),
            rule(
                Vendor::Sigma,
                "s3",
                vec![p("image", Op::EndsWith, "\\CERTUTIL.EXE")],
            ),
            rule(
                Vendor::Splunk,
                "k1",
                vec![p("Processes.process_name", Op::Eq, "certutil.exe")],
            ),
            rule(
                Vendor::Elastic,
                "e1",
                vec![p("process.name", Op::Eq, "certutil.exe")],
            ),
            rule(
                Vendor::Elastic,
                "e2",
                vec![Expr::not(p("process.name", Op::Eq, "certutil.exe"))],
            ),
            rule(
                Vendor::Elastic,
                "e3",
                vec![p("process.name", Op::Eq, "unique.exe")],
            ),
        ])
    }

    #[test]
    fn per_field_counts_match_rule_pages() {
        let c = catalog();
        let idx = compute(&c, 2);
        let top = &idx.per_field[0];
        assert_eq!((top.field.as_str(), top.op.as_str()), ("Image", "endswith"));
        assert_eq!(top.count, 3);
        assert_eq!(top.vendors, vec![(Vendor::Sigma, 3)]);
        assert_eq!(top.rules.len(), 3);
        // The count is the one shown beside the indicator on each rule page.
        for &r in &top.rules {
            assert!(c.indicators[r].iter().any(|i| i.count == top.count));
        }
        assert!(idx.per_field.iter().all(|e| e.count >= 2));
        assert!(!idx.per_field.iter().any(|e| e.value == "unique.exe"));
    }

    #[test]
    fn across_fields_joins_spellings_of_one_value() {
        let c = catalog();
        let idx = compute(&c, 2);
        let e = idx
            .across_fields
            .iter()
            .find(|e| e.value == "certutil")
            .unwrap();
        assert_eq!(e.count, 5, "the negated use is not counted");
        let names: Vec<&str> = e.fields.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            vec!["Image", "Processes.process_name", "process.name"]
        );
        assert_eq!(e.fields[0].1, 3);
        assert_eq!(
            e.vendors,
            vec![
                (Vendor::Sigma, 3),
                (Vendor::Splunk, 1),
                (Vendor::Elastic, 1)
            ]
        );
    }
}
