//! ATT&CK Navigator layers under `exports/navigator/`: one per vendor and one combined
//! (`all.json`), layer format 4.5 (Navigator 5.x), domain `enterprise-attack`, ATT&CK
//! version of the embedded data. Scores are rule counts, counted as on the matrix page
//! (`attack_pages`): a technique's score includes the rules of its sub-techniques, and a
//! technique under several tactics gets one entry per tactic. The gradient runs from white
//! at 0 to dark blue at the 90th percentile of the scores (higher scores keep the darkest
//! colour), so a few heavily covered techniques do not wash out the rest.
//!
//! `tests/schemas/navigator-layer-4.5.schema.json` validates the layers (tests/exports.rs).

use super::attack_pages::under_tactic;
use super::context::{paths, Fmt, Shared};
use super::cross::per_vendor;
use crate::attack;
use crate::model::{FacetKind, Vendor};
use serde_json::{json, Value};

/// Folder of the layers inside the output folder.
pub const DIR: &str = "exports/navigator";
pub const LAYER_VERSION: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.1.0";

/// (label, output-relative path) of every layer, combined first.
pub fn files(s: &Shared) -> Vec<(String, String)> {
    let mut out = vec![("all vendors".to_string(), format!("{DIR}/all.json"))];
    out.extend(
        s.vendors
            .iter()
            .map(|v| (v.name().to_string(), format!("{DIR}/{}.json", v.key()))),
    );
    out
}

/// (output-relative path, bytes) of every layer.
pub fn layers(s: &Shared) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut targets: Vec<Option<Vendor>> = vec![None];
    targets.extend(s.vendors.iter().copied().map(Some));
    for ((_, path), v) in files(s).into_iter().zip(targets) {
        let mut bytes = serde_json::to_vec_pretty(&layer(s, v)).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        out.push((path, bytes));
    }
    Ok(out)
}

/// The ATT&CK major version (`19` of `19.2`), as the Navigator expects it.
fn attack_major() -> String {
    let v = attack::db().attack_version();
    v.split('.').next().unwrap_or(v).to_string()
}

/// One layer: every rule of `vendor`, or of every vendor when `None`.
pub fn layer(s: &Shared, vendor: Option<Vendor>) -> Value {
    let db = attack::db();
    let keep = |rules: &[usize]| -> Vec<usize> {
        rules
            .iter()
            .copied()
            .filter(|&i| vendor.is_none_or(|v| s.cat.rules[i].vendor == v))
            .collect()
    };
    let base_url = s.config.base_url.trim_end_matches('/');
    let absolute = base_url.starts_with("https://") || base_url.starts_with("http://");
    let mut techniques = Vec::new();
    let mut scores = Vec::new();
    for t in db.techniques().iter().filter(|t| t.is_live()) {
        let rules = keep(s.cross.rules_of_technique(&t.id));
        if rules.is_empty() {
            continue;
        }
        let page = paths::facet(s.cat, FacetKind::Technique, &t.id)
            .filter(|_| absolute)
            .map(|p| format!("{base_url}/{}", Fmt::Html.file(&p)));
        for tac in &t.tactics {
            let Some(tactic) = db.tactic(tac) else {
                continue;
            };
            let under = under_tactic(s, t, tac, &rules);
            if under.is_empty() {
                continue;
            }
            let breakdown = per_vendor(s.cat, &under)
                .into_iter()
                .map(|(v, n)| format!("{} {n}", v.name()))
                .collect::<Vec<_>>()
                .join(", ");
            let n = under.len();
            scores.push(n);
            let mut entry = json!({
                "techniqueID": t.id,
                "tactic": tactic.shortname,
                "score": n,
                "comment": format!("{n} rule{} ({breakdown})", if n == 1 { "" } else { "s" }),
                "enabled": true,
                "showSubtechniques": false,
            });
            if let Some(p) = &page {
                entry["links"] = json!([{ "label": "Rules in the catalog", "url": p }]);
            }
            techniques.push(entry);
        }
    }
    scores.sort_unstable();
    let p90 = scores
        .get((scores.len() * 9 / 10).min(scores.len().saturating_sub(1)))
        .copied()
        .unwrap_or(1)
        .max(1);
    let rules_total = match vendor {
        Some(v) => s.cat.rules_of(FacetKind::Vendor, v.key()).len(),
        None => s.cat.rules.len(),
    };
    let who = vendor.map(|v| v.name()).unwrap_or("all vendors");
    json!({
        "name": format!("{}: {who}", s.config.title),
        "versions": {
            "attack": attack_major(),
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": format!(
            "Detection rules of {who} per ATT&CK technique (score = number of rules; a technique counts the rules of its sub-techniques). Made by ruledex from {rules_total} rules."
        ),
        "sorting": 3,
        "layout": {
            "layout": "side",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {
            "colors": ["#ffffff", "#9ecae1", "#08519c"],
            "minValue": 0,
            "maxValue": p90,
        },
        "legendItems": [],
        "metadata": [
            { "name": "generator", "value": format!("ruledex {}", env!("CARGO_PKG_VERSION")) },
            { "name": "rules", "value": rules_total.to_string() },
        ],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}
