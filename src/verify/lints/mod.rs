//! Lints over loaded rules that no single format reader owns: regexes that backtrack on the
//! vendor's engine, unknown log sources, naming conventions, Sentinel schedules.
//!
//! `lint` runs once per build (from `pipeline::run`), after every format has loaded, so one
//! hook covers every vendor's regex predicates and log sources.

pub mod backtrack;
pub mod log_source;
pub mod naming;
pub mod schedule;

use crate::diag::{find_line, line_of, Diagnostic};
use crate::discover::Root;
use crate::model::ir::{Op, Value};
use crate::model::{Rule, Vendor};
use crate::verify::checks::Check;
use rayon::prelude::*;

/// The regex engine a vendor's rules run on, when it backtracks.
pub fn backtracking_engine(v: Vendor) -> Option<&'static str> {
    match v {
        Vendor::Sigma => Some("Sigma backends that emit PCRE, Java or Python regexes (Splunk, Elastic scripts, pySigma's Python)"),
        Vendor::Splunk => Some("Splunk's PCRE"),
        Vendor::Panther => Some("Python's `re`"),
        // KQL and YARA-L use RE2; Elastic's EQL, Lucene and ES|QL regexes compile to
        // Lucene automata: none of them backtracks.
        _ => None,
    }
}

/// Every finding of these lints for the given rules.
pub fn lint(rules: &[Rule], roots: &[Root]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = rules
        .par_iter()
        .flat_map_iter(|r| {
            let mut d = Vec::new();
            lint_rule(r, &roots[r.source.root], &mut d);
            d
        })
        .collect();
    out.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    out
}

fn lint_rule(rule: &Rule, root: &Root, out: &mut Vec<Diagnostic>) {
    let file = root.display(&rule.source.path);
    let at_key = |key: &str| {
        find_line(&rule.raw, &format!("{key}:"))
            .or_else(|| find_line(&rule.raw, &format!("\"{key}\"")))
            .unwrap_or(rule.source.line)
    };
    let mut push = |check: Check, file: &str, line: usize, msg: String| {
        out.push(Diagnostic::new(check, file, line, msg).for_rule(rule.id.as_str()));
    };
    // Regexes a backtracking engine may take exponential time on.
    if let (Some(engine), Some(det)) = (backtracking_engine(rule.vendor), &rule.detection) {
        let mut seen: Vec<String> = Vec::new();
        for (p, _) in det.expr.predicates() {
            if p.op != Op::Regex || p.field_ref {
                continue;
            }
            for v in &p.values {
                let Value::Str(pat) = v else { continue };
                for f in backtrack::analyse(pat, !p.case_sensitive) {
                    if seen.contains(&f.span) {
                        continue;
                    }
                    seen.push(f.span.clone());
                    let (where_file, line) = locate(rule, |p| root.display(p), pat, &f.span);
                    push(
                        Check::RegexBacktracking,
                        where_file.as_deref().unwrap_or(&file),
                        line,
                        format!(
                            "regex `{}`: {}; {} can take exponential time on a near-miss",
                            f.span, f.reason, engine
                        ),
                    );
                }
            }
        }
    }
    // Log sources and tables ruledex does not know.
    for (key, msg) in log_source::unknown(rule) {
        push(Check::UnknownLogSource, &file, at_key(key), msg);
    }
    match rule.vendor {
        Vendor::Sigma => {
            if let Some(msg) = naming::sigma_filename(rule) {
                push(Check::SigmaFilename, &file, 1, msg);
            }
        }
        Vendor::Splunk if rule.source.path.ends_with(".yml") => {
            for msg in naming::escu_naming(rule) {
                push(Check::EscuNaming, &file, at_key("name"), msg);
            }
        }
        Vendor::Sentinel => {
            let meta = |k: &str| {
                rule.metadata
                    .iter()
                    .find(|(mk, _)| mk == k)
                    .map(|(_, v)| v.as_str())
            };
            let scheduled = !matches!(meta("Kind"), Some(k) if k.eq_ignore_ascii_case("nrt"));
            if scheduled {
                for (key, invalid, msg) in
                    schedule::problems(meta("Query frequency"), meta("Query period"))
                {
                    let check = if invalid {
                        Check::InvalidValue
                    } else {
                        Check::SentinelQueryPeriod
                    };
                    push(check, &file, at_key(key), msg);
                }
            }
        }
        Vendor::Chronicle => {
            // The style guide's "all rules should have" fields that every published rule
            // has; `rule_id`, `rule_name`, `severity` and `priority` are missing from most
            // older rules, so they are not required here.
            let has_author = rule
                .facet_values(crate::model::FacetKind::Author)
                .next()
                .is_some();
            for (key, present) in [
                ("author", has_author),
                ("description", !rule.description.trim().is_empty()),
            ] {
                if !present {
                    let line = find_line(&rule.raw, "meta:").unwrap_or(rule.source.line);
                    push(
                        Check::MissingField,
                        &file,
                        line,
                        format!("the meta section has no `{key}`"),
                    );
                }
            }
        }
        _ => {}
    }
}

/// The file and line where a regex is written: the rule file, else a companion (a Panther
/// rule's Python). The whole pattern is looked for first, then the flagged fragment (its
/// last occurrence: descriptions, which may quote it, come before the logic), each as is,
/// with `"` escaped, and with backslashes doubled (YAML double quotes, SPL and Python
/// strings). The rule's line when not found.
fn locate(
    rule: &Rule,
    display: impl Fn(&str) -> String,
    pattern: &str,
    span: &str,
) -> (Option<String>, usize) {
    let variants = |s: &str| {
        let doubled = s.replace('\\', "\\\\");
        let quoted = |x: &str| x.replace('"', "\\\"");
        [s.to_string(), quoted(s), quoted(&doubled), doubled]
    };
    let find = |text: &str| {
        let whole = pattern.trim_start_matches("(?i)");
        variants(whole)
            .iter()
            .find_map(|v| find_line(text, v))
            .or_else(|| {
                variants(span)
                    .iter()
                    .find_map(|v| text.rfind(v.as_str()).map(|p| line_of(text, p)))
            })
    };
    if let Some(l) = find(&rule.raw) {
        return (None, l);
    }
    for (path, text, _) in &rule.companions {
        if let Some(l) = find(text) {
            return (Some(display(path)), l);
        }
    }
    (None, rule.source.line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceLocation;

    fn rule(raw: &str) -> Rule {
        let mut r = Rule::new(
            Vendor::Panther,
            "x",
            SourceLocation {
                root: 0,
                path: "rules/x.yml".into(),
                line: 1,
            },
        );
        r.raw = raw.into();
        r
    }

    #[test]
    fn regex_findings_point_at_the_pattern() {
        // The description quotes the fragment; the logic holds the whole pattern.
        let r = rule("description: avoid (a+)+\nsearch: 'x | regex f=\"^(a+)+\\\\d$\"'\n");
        assert_eq!(locate(&r, str::to_string, "^(a+)+\\d$", "(a+)+"), (None, 2));
        // Only the fragment is written (the pattern was rebuilt): its last occurrence.
        assert_eq!(
            locate(&r, str::to_string, "(?i)zz(a+)+", "(a+)+"),
            (None, 2)
        );
        // In a companion (a Panther rule's Python).
        let mut r = rule("RuleID: x\n");
        r.companions.push((
            "rules/x.py".into(),
            "import re\n\ndef rule(e):\n    return re.search(r\"(\\w+\\s?)+$\", e.get(\"a\"))\n"
                .into(),
            "python".into(),
        ));
        assert_eq!(
            locate(&r, |p| format!("root/{p}"), "(\\w+\\s?)+$", "(\\w+\\s?)+"),
            (Some("root/rules/x.py".into()), 4)
        );
        assert_eq!(locate(&r, str::to_string, "nowhere", "(b+)+"), (None, 1));
    }
}
