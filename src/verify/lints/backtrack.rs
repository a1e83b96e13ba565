//! Regexes that a backtracking engine can take exponential time on.
//!
//! ruledex's own matcher uses the linear-time `regex` crate, but a rule runs on its vendor's
//! engine. The analysis works on the parsed AST (`regex-syntax`), not the compiled form,
//! because the compiler folds `(a|a)` into `[a]` and so hides what a backtracker would try.
//!
//! A repetition `R = (X)*` (unbounded, or bounded at 10 or more) is flagged when the same
//! text can be split into iterations of `X` in many ways:
//! - a branch of `X` holds an unbounded repetition `Y+` and everything else in that branch
//!   (before and after `Y+`) is optional or made of characters `Y` can match too:
//!   `(a+)+`, `(.*)*`, `(\w+\s?)+`, `(.+\.)+`, `(\w+\d+)+`;
//! - two branches of an alternation under `R` can match the same text: equal branches
//!   `(a|a)*`, or one branch a single character class and another made only of characters
//!   of that class: `(\w|\d)+`, `(a|aa)*`, `(.|\s)*`.
//!
//! Only a repetition followed by something that can fail is flagged (`(a+)+$`, `(a+)+b`):
//! at the end of an unanchored search the first way to match succeeds. `.*foo.*` (no
//! repetition around a repetition) and `(\w+\.)+x` (the `.` separates the iterations) are
//! not flagged.

use regex_syntax::ast::{self, Ast, RepetitionKind, RepetitionRange};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, HirKind};

/// One finding: the repetition's source text and why it is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub span: String,
    pub reason: String,
}

/// Outer repetitions bounded below this are cheap enough to leave alone.
const LARGE_BOUND: u32 = 10;

/// The ambiguous repetitions of `pattern` (empty when it does not parse: other checks say so).
pub fn analyse(pattern: &str, case_insensitive: bool) -> Vec<Finding> {
    let Ok(ast) = ast::parse::ParserBuilder::new()
        .nest_limit(200)
        .build()
        .parse(pattern)
    else {
        return Vec::new();
    };
    let insensitive = case_insensitive || pattern.starts_with("(?i)");
    let cx = Cx {
        pattern,
        insensitive,
    };
    let mut out = Vec::new();
    cx.walk(&ast, false, &mut out);
    out.dedup();
    out
}

struct Cx<'a> {
    pattern: &'a str,
    insensitive: bool,
}

impl Cx<'_> {
    fn text(&self, span: &ast::Span) -> &str {
        self.pattern
            .get(span.start.offset..span.end.offset)
            .unwrap_or("")
    }

    /// `tail`: something after `a` in the pattern can fail, so a backtracking engine that
    /// reaches it without a match goes back and tries every other way to match `a`. With no
    /// such tail (`(a+)+` at the end of a search) the first way succeeds and nothing blows up.
    fn walk(&self, a: &Ast, tail: bool, out: &mut Vec<Finding>) {
        match a {
            Ast::Repetition(r) => {
                if tail && outer_large(&r.op.kind) {
                    if let Some(reason) = self.ambiguous(&r.ast) {
                        out.push(Finding {
                            span: self.text(&r.span).to_string(),
                            reason,
                        });
                        // One finding per outermost ambiguous repetition.
                        return;
                    }
                }
                let more = min_of(&r.op.kind) >= 2 && can_fail(&r.ast);
                self.walk(&r.ast, tail || more, out);
            }
            Ast::Group(g) => self.walk(&g.ast, tail, out),
            Ast::Alternation(x) => x.asts.iter().for_each(|a| self.walk(a, tail, out)),
            Ast::Concat(x) => {
                for (i, item) in x.asts.iter().enumerate() {
                    let t = tail || x.asts[i + 1..].iter().any(can_fail);
                    self.walk(item, t, out);
                }
            }
            _ => {}
        }
    }

    /// Why iterating `x` is ambiguous, if it is.
    fn ambiguous(&self, x: &Ast) -> Option<String> {
        let x = strip(x);
        let branches: Vec<&Ast> = match x {
            Ast::Alternation(alt) => alt.asts.iter().collect(),
            other => vec![other],
        };
        if branches.len() > 1 {
            if let Some(r) = self.overlapping_branches(&branches) {
                return Some(r);
            }
        }
        for b in branches {
            let items = flatten(b);
            for (i, item) in items.iter().enumerate() {
                let Ast::Repetition(y) = strip(item) else {
                    continue;
                };
                if !unbounded(&y.op.kind) || nullable(&y.ast) {
                    continue;
                }
                let class = self.single_class(&y.ast);
                let rest = items[..i].iter().chain(&items[i + 1..]);
                let absorbed = rest.clone().all(|o| match &class {
                    Some(c) => self.absorbable(o, c),
                    None => nullable(o),
                });
                if absorbed {
                    let inner = self.text(&y.span);
                    return Some(if items.len() == 1 {
                        format!("a repetition of `{inner}`, itself a repetition")
                    } else {
                        format!(
                            "`{inner}` repeats inside a repetition and the rest of each \
                             iteration is optional or matches the same characters"
                        )
                    });
                }
            }
        }
        None
    }

    /// Two branches that can match the same text.
    fn overlapping_branches(&self, branches: &[&Ast]) -> Option<String> {
        for (i, a) in branches.iter().enumerate() {
            for b in &branches[i + 1..] {
                let (ta, tb) = (self.text(a.span()), self.text(b.span()));
                if !ta.is_empty() && ta == tb {
                    return Some(format!("the alternatives `{ta}` and `{tb}` are the same"));
                }
                for (one, other) in [(a, b), (b, a)] {
                    let Some(c) = self.single_class(one) else {
                        continue;
                    };
                    let items = flatten(other);
                    if items.iter().any(|o| !nullable(o))
                        && items.iter().all(|o| self.absorbable(o, &c))
                    {
                        return Some(format!(
                            "the alternatives `{}` and `{}` can match the same characters",
                            self.text(one.span()),
                            self.text(other.span())
                        ));
                    }
                }
            }
        }
        None
    }

    /// `o` is optional, or a character (or a repetition of one) that `class` can match.
    fn absorbable(&self, o: &Ast, class: &ClassUnicode) -> bool {
        if nullable(o) {
            return true;
        }
        let atom = match strip(o) {
            Ast::Repetition(r) => &*r.ast,
            other => other,
        };
        self.single_class(atom).is_some_and(|c| overlaps(&c, class))
    }

    /// The characters `a` matches when it matches exactly one character.
    fn single_class(&self, a: &Ast) -> Option<ClassUnicode> {
        match strip(a) {
            Ast::Literal(_)
            | Ast::Dot(_)
            | Ast::ClassUnicode(_)
            | Ast::ClassPerl(_)
            | Ast::ClassBracketed(_) => self.class_of(self.text(strip(a).span())),
            Ast::Alternation(alt) => {
                let mut acc = ClassUnicode::empty();
                for b in &alt.asts {
                    acc.union(&self.single_class(b)?);
                }
                Some(acc)
            }
            _ => None,
        }
    }

    fn class_of(&self, text: &str) -> Option<ClassUnicode> {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(self.insensitive)
            .build()
            .parse(text)
            .ok()?;
        match hir.kind() {
            HirKind::Class(Class::Unicode(c)) => Some(c.clone()),
            HirKind::Class(Class::Bytes(b)) => {
                Some(ClassUnicode::new(b.ranges().iter().map(|r| {
                    ClassUnicodeRange::new(r.start() as char, r.end() as char)
                })))
            }
            HirKind::Literal(lit) => {
                let s = std::str::from_utf8(&lit.0).ok()?;
                let mut cs = s.chars();
                let c = cs.next()?;
                cs.next()
                    .is_none()
                    .then(|| ClassUnicode::new([ClassUnicodeRange::new(c, c)]))
            }
            _ => None,
        }
    }
}

fn overlaps(a: &ClassUnicode, b: &ClassUnicode) -> bool {
    let mut x = a.clone();
    x.intersect(b);
    !x.ranges().is_empty()
}

/// Groups removed: `((a))` is `a`.
fn strip(a: &Ast) -> &Ast {
    match a {
        Ast::Group(g) => strip(&g.ast),
        other => other,
    }
}

/// The items of a concatenation, through groups; flag settings are dropped.
fn flatten(a: &Ast) -> Vec<&Ast> {
    match strip(a) {
        Ast::Concat(c) => c
            .asts
            .iter()
            .flat_map(flatten)
            .filter(|x| !matches!(x, Ast::Flags(_)))
            .collect(),
        other => vec![other],
    }
}

/// `a` can fail to match where it is tried (an assertion can; an optional part cannot).
fn can_fail(a: &Ast) -> bool {
    match a {
        Ast::Empty(_) | Ast::Flags(_) => false,
        Ast::Repetition(r) => min_of(&r.op.kind) > 0 && can_fail(&r.ast),
        Ast::Group(g) => can_fail(&g.ast),
        Ast::Concat(c) => c.asts.iter().any(can_fail),
        Ast::Alternation(x) => x.asts.iter().all(can_fail),
        _ => true,
    }
}

fn nullable(a: &Ast) -> bool {
    match a {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => true,
        Ast::Repetition(r) => min_of(&r.op.kind) == 0 || nullable(&r.ast),
        Ast::Group(g) => nullable(&g.ast),
        Ast::Concat(c) => c.asts.iter().all(nullable),
        Ast::Alternation(x) => x.asts.iter().any(nullable),
        _ => false,
    }
}

fn min_of(k: &RepetitionKind) -> u32 {
    match k {
        RepetitionKind::ZeroOrOne | RepetitionKind::ZeroOrMore => 0,
        RepetitionKind::OneOrMore => 1,
        RepetitionKind::Range(
            RepetitionRange::Exactly(n)
            | RepetitionRange::AtLeast(n)
            | RepetitionRange::Bounded(n, _),
        ) => *n,
    }
}

fn unbounded(k: &RepetitionKind) -> bool {
    matches!(
        k,
        RepetitionKind::ZeroOrMore
            | RepetitionKind::OneOrMore
            | RepetitionKind::Range(RepetitionRange::AtLeast(_))
    )
}

fn outer_large(k: &RepetitionKind) -> bool {
    unbounded(k)
        || matches!(k, RepetitionKind::Range(RepetitionRange::Bounded(_, n) | RepetitionRange::Exactly(n)) if *n >= LARGE_BOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(p: &str) -> bool {
        !analyse(p, false).is_empty()
    }

    #[test]
    fn nested_quantifiers_are_flagged() {
        for p in [
            "(a+)+$",
            "(a*)*b",
            "^(a+)+$",
            "(.*)*x",
            "(\\w+\\s?)+$",
            "(.+\\.)+com",
            "(\\w+\\d+)+x",
            "(?:[a-z]+\\d*)+@",
            "((ab)+)+$",
            "(a+|b)+c",
            "^(.*?,){11}P",
            "foo(?i:(x+)+)bar",
            "(?:(a+)+)\\b",
            "((a+)+){2,}",
        ] {
            assert!(flagged(p), "{p} should be flagged");
        }
    }

    #[test]
    fn overlapping_alternatives_are_flagged() {
        for p in [
            "(a|a)*$",
            "(\\w|\\d)+;",
            "(a|aa)*b",
            "(.|\\s)*x",
            "(\\\\.|[^\"])*\"",
        ] {
            assert!(flagged(p), "{p} should be flagged");
        }
    }

    #[test]
    fn nothing_after_the_repetition_is_not_flagged() {
        for p in [
            "(a+)+",
            "x(.*)*",
            "(a|a)*",
            "(a+)+.*",
            "(a+)+(b|)",
            "((a+)+)?",
        ] {
            assert!(
                !flagged(p),
                "{p} should not be flagged: {:?}",
                analyse(p, false)
            );
        }
    }

    #[test]
    fn linear_shapes_are_not_flagged() {
        for p in [
            ".*foo.*",
            "(?i).*\\\\cmd\\.exe.*/c.*",
            "(\\w+\\.)+com",
            "(\\d+\\.\\d+)+",
            "(?:\\s*,\\s*\\w+)*",
            "(a|b)*",
            "(.|\\n)*",
            "([^\"]|\\\\\")*",
            "\\d{1,3}(\\.\\d{1,3}){3}",
            "(a+){2,3}",
            "[a-z]+[0-9]+",
            "(?<name>\\w+)=(\\S+)",
            "(?=lookahead)",
        ] {
            assert!(
                !flagged(p),
                "{p} should not be flagged: {:?}",
                analyse(p, false)
            );
        }
    }

    #[test]
    fn case_insensitivity_widens_overlaps() {
        assert!(!flagged("(a|A{2})*$"));
        assert!(!analyse("(a|A{2})*$", true).is_empty());
    }

    #[test]
    fn finding_names_the_repetition() {
        let f = analyse("^x(\\w+\\s?)+$", false);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].span, "(\\w+\\s?)+");
        assert!(f[0].reason.contains("\\w+"), "{}", f[0].reason);
    }
}
