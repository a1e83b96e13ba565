//! Chronicle / Google SecOps YARA-L 2.0 rules (`*.yaral`).
//!
//! Each `rule name { ... }` block of a file is one rule: the meta section gives the rule's
//! fields ([`meta`]), the query front end (`query::yaral`) gives the IR, the root gives
//! reference lists and the content manager's `rule_config.yaml` ([`support`]). Rules under a
//! `_deprecated` folder have status `deprecated`. Test events come from ruledex sidecar files
//! and are normalised to UDM snake_case ([`events`]).

pub mod events;
pub mod meta;
pub mod support;

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{load_each, sidecar_tests, Format, Loaded};
use crate::model::{FacetKind, Language, Op, Query, Rule, Section, SourceLocation, Vendor};
use crate::query::yaral::{self, ast::RuleAst, Lowered};
use crate::verify::checks::Check;
use std::collections::BTreeMap;

pub struct Chronicle;

impl Format for Chronicle {
    fn vendor(&self) -> Vendor {
        Vendor::Chronicle
    }
    fn is_rule_file(&self, file: &SourceFile) -> bool {
        file.ext().eq_ignore_ascii_case("yaral")
    }
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let lists = support::reference_lists(root);
        let (configs, config_diags) = support::rule_configs(root);
        let ctx = Ctx {
            root,
            lists: &lists,
            configs: &configs,
        };
        let mut loaded = load_each(root, files, |f| ctx.load_file(f));
        loaded.diagnostics.extend(config_diags);
        loaded
    }
}

struct Ctx<'a> {
    root: &'a Root,
    lists: &'a BTreeMap<String, support::RefList>,
    configs: &'a [support::RuleConfig],
}

impl Ctx<'_> {
    fn load_file(&self, file: &SourceFile) -> Loaded {
        let mut out = Loaded::default();
        let path = self.root.display(&file.rel);
        let asts = match yaral::parse_file(&file.text) {
            Ok(a) => a,
            Err(e) => {
                out.diagnostics.push(
                    Diagnostic::new(Check::ParseError, path, e.line, e.message).at_column(e.col),
                );
                return out;
            }
        };
        let (tests, test_diags) = sidecar_tests(self.root, &file.rel);
        out.diagnostics.extend(test_diags);
        let tests: Vec<_> = tests
            .into_iter()
            .map(|mut t| {
                t.events = t.events.into_iter().map(events::prepare).collect();
                t
            })
            .collect();
        for ast in &asts {
            let (rule, diags) = self.build(file, ast, tests.clone());
            out.rules.push(rule);
            out.diagnostics.extend(diags);
        }
        out
    }

    fn build(
        &self,
        file: &SourceFile,
        ast: &RuleAst,
        tests: Vec<crate::model::RuleTest>,
    ) -> (Rule, Vec<Diagnostic>) {
        let path = self.root.display(&file.rel);
        let mut diags = Vec::new();
        let mut rule = Rule::new(
            Vendor::Chronicle,
            ast.name.clone(),
            SourceLocation {
                root: self.root.index,
                path: file.rel.clone(),
                line: ast.span.line,
            },
        );
        rule.title = ast.name.clone();
        let found = meta::apply(ast, &mut rule);
        if let Some((value, line)) = found.bad_severity {
            diags.push(
                Diagnostic::new(
                    Check::InvalidValue,
                    path.clone(),
                    line,
                    format!("severity `{value}` is not one of Info, Low, Medium, High, Critical"),
                )
                .for_rule(&ast.name),
            );
        }
        if file.rel.split('/').any(|s| s == "_deprecated") {
            rule.status = Some("deprecated".to_string());
        }
        let (rows, archived) = support::config_rows(self.configs, &file.rel, &ast.name);
        if archived && rule.status.is_none() {
            rule.status = Some("archived".to_string());
        }
        rule.metadata.extend(rows);
        for o in &ast.options {
            rule.metadata
                .push((format!("Option {}", o.key), o.value.clone()));
        }

        let lists = self.lists;
        let resolve = |name: &str| lists.get(name).map(|l| l.values.clone());
        let low = yaral::lower(ast, &file.text, &resolve);
        meta::add_outcome_attack(&mut rule, &low.attack_strings);
        if let Some(score) = &low.risk_score {
            rule.metadata
                .push(("Risk score".to_string(), score.clone()));
        }
        for u in &low.unbound {
            let what = match u.section {
                "match" => "match variable",
                "outcome" => "variable used in the outcome",
                "condition" => "variable used in the condition",
                _ => "placeholder",
            };
            diags.push(
                Diagnostic::new(
                    Check::YaralUnboundVariable,
                    path.clone(),
                    u.span.line,
                    format!(
                        "{what} `${}` is never bound (no events line assigns it, no outcome defines it)",
                        u.name
                    ),
                )
                .at_column(u.span.col)
                .for_rule(&ast.name),
            );
        }
        for (span, reason) in &low.unsupported {
            let text = file.text.get(span.start..span.end).unwrap_or("");
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            diags.push(
                Diagnostic::new(
                    Check::UnsupportedSyntax,
                    path.clone(),
                    span.line,
                    format!("kept as an opaque node ({reason}): {text}"),
                )
                .at_column(span.col)
                .for_rule(&ast.name),
            );
        }
        facets(&mut rule, ast, &low);
        if let Some(section) = correlation_section(&file.text, ast, &low, lists) {
            rule.sections.push(section);
        }
        let text = file
            .text
            .get(ast.span.start..ast.span.end)
            .unwrap_or(&file.text)
            .to_string();
        rule.query = Some(Query {
            language: Language::YaraL,
            text,
        });
        rule.detection = Some(low.detection);
        rule.tests = tests;
        rule.raw = file.text.clone();
        rule.raw_format = "yaral".to_string();
        (rule, diags)
    }
}

/// Event type, log type, rule type and reference list facets.
fn facets(rule: &mut Rule, ast: &RuleAst, low: &Lowered) {
    let mut add = Vec::new();
    for (p, negated) in low.detection.expr.predicates() {
        if negated || p.op != Op::Eq || p.field_ref {
            continue;
        }
        let kind = match p.field.as_deref() {
            Some("metadata.event_type") => FacetKind::EventType,
            Some("metadata.log_type") | Some("metadata.product_name") => FacetKind::LogType,
            _ => continue,
        };
        for v in &p.values {
            add.push((kind, v.to_string()));
        }
    }
    for (k, v) in add {
        rule.facet(k, v);
    }
    let kind = if ast.match_section.is_some() {
        "multi event"
    } else {
        "single event"
    };
    rule.facet(FacetKind::RuleType, kind);
    for l in &low.lists {
        rule.facet(FacetKind::ReferenceList, l.clone());
    }
}

/// The page block that shows how a rule correlates events: variables, match window,
/// placeholders, joins, condition and the reference lists it reads.
fn correlation_section(
    src: &str,
    ast: &RuleAst,
    low: &Lowered,
    lists: &BTreeMap<String, support::RefList>,
) -> Option<Section> {
    let multi = low.event_vars.len() > 1;
    if !multi && ast.match_section.is_none() && low.bindings.is_empty() && low.lists.is_empty() {
        return None;
    }
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    let mut md = String::new();
    let vars: Vec<String> = low
        .event_vars
        .iter()
        .map(|v| code(&format!("${v}")))
        .collect();
    md.push_str(&format!("- Event variables: {}\n", vars.join(", ")));
    if let Some(m) = &ast.match_section {
        md.push_str(&format!("- Match: {}\n", code(&m.text)));
    }
    if !low.bindings.is_empty() {
        md.push_str("- Placeholders:\n");
        let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for b in &low.bindings {
            by.entry(&b.placeholder).or_default().push(&b.text);
        }
        for (p, sides) in by {
            let sides: Vec<String> = sides.iter().map(|s| code(s)).collect();
            md.push_str(&format!(
                "  - {} = {}\n",
                code(&format!("${p}")),
                sides.join(" = ")
            ));
        }
    }
    if !low.joins.is_empty() {
        md.push_str("- Joins:\n");
        for j in &low.joins {
            md.push_str(&format!("  - {}\n", code(j)));
        }
    }
    if let Some(c) = &ast.condition {
        let text = src.get(c.span.start..c.span.end).unwrap_or("");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        md.push_str(&format!("- Condition: {}\n", code(&text)));
    }
    if !low.lists.is_empty() {
        md.push_str("- Reference lists:\n");
        for l in &low.lists {
            let where_ = match lists.get(l) {
                Some(rl) => format!("{} values from `{}`", rl.values.len(), rl.rel),
                None => "not in this root".to_string(),
            };
            md.push_str(&format!("  - `%{l}`: {where_}\n"));
        }
    }
    Some(Section {
        title: "Correlation".to_string(),
        markdown: md,
    })
}

#[cfg(test)]
mod tests;
