//! Runs the pipeline of commands over an abstract row: which filters hold per event, which
//! steps aggregate, which fields each command renames, computes or outputs.
//!
//! Filters after a rename are mapped back to the event's own field names
//! (`| rename Processes.* AS * | where process_name=...` tests `Processes.process_name`).
//! A filter on a field an aggregation produced (`| stats count by user | where count > 5`)
//! is a stateful condition: the per-event filters end up inside `Expr::Aggregate`. A filter
//! on a field computed by `eval`, `rex` or `lookup` is opaque: the matcher cannot compute it.

use super::lexer::{self, Mode, Tok, Token};
use super::pipeline::{self, Stage};
use super::{eval, search, Issue, ParseError, Parsed};
use crate::model::{Detection, Expr, Op, OutputField, Predicate, Transform, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Where a field's value comes from at some point of the pipeline.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// The event's field of this name.
    Event(String),
    /// An aggregation (`count`, `dc(user)`); the function text, empty when the field does
    /// not survive the aggregation.
    Aggregate(String),
    /// Computed by a command (`eval`, `rex`, `lookup x`).
    Derived(String),
    /// `eval x = lower(field)` (or `upper`, `len`): the event's field, transformed.
    Transformed(String, Transform),
}

/// The fields known at one point of the pipeline.
#[derive(Debug, Default)]
struct Env {
    /// Fields with a known origin, by current name.
    known: BTreeMap<String, Origin>,
    /// After a transforming command only `known` fields exist.
    closed: bool,
    /// Renames applied to event fields, in order (patterns with at most one `*`).
    renames: Vec<(String, String)>,
    /// A command added fields the search does not name (`apply`, `foreach`, a `lookup`
    /// without `OUTPUT`): fields not seen before it may come from that command.
    taint: Option<String>,
    /// Fields named by earlier filters (so they come from the event).
    seen: BTreeSet<String>,
}

impl Env {
    fn resolve(&self, name: &str) -> Origin {
        if let Some(o) = self.known.get(name) {
            return o.clone();
        }
        if self.closed {
            return Origin::Aggregate(String::new());
        }
        if let Some(t) = self.taint.as_ref().filter(|_| !self.seen.contains(name)) {
            return Origin::Derived(t.clone());
        }
        let mut n = name.to_string();
        for (from, to) in self.renames.iter().rev() {
            if let Some(back) = rename_match(to, from, &n) {
                n = back;
            }
        }
        Origin::Event(n)
    }

    fn rename(&mut self, from: &str, to: &str) {
        let moved: Vec<(String, String)> = self
            .known
            .keys()
            .filter_map(|k| rename_match(from, to, k).map(|n| (k.clone(), n)))
            .collect();
        let mut fresh = Vec::new();
        for (old, new) in moved {
            if let Some(o) = self.known.remove(&old) {
                fresh.push((new, o));
            }
        }
        self.known.extend(fresh);
        if !self.closed {
            self.renames.push((from.to_string(), to.to_string()));
        }
    }

    fn derive(&mut self, name: &str, cmd: &str) {
        self.known
            .insert(name.to_string(), Origin::Derived(cmd.to_string()));
    }
}

/// `name` renamed by `from -> to` (each with at most one `*`), or `None` when `from` does
/// not match it.
fn rename_match(from: &str, to: &str, name: &str) -> Option<String> {
    match from.split_once('*') {
        None => (from == name).then(|| to.to_string()),
        Some((pre, suf)) => {
            if name.len() >= pre.len() + suf.len() && name.starts_with(pre) && name.ends_with(suf) {
                let mid = &name[pre.len()..name.len() - suf.len()];
                Some(to.replacen('*', mid, 1))
            } else {
                None
            }
        }
    }
}

/// What a filter depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Event,
    Aggregate,
    Derived(String, String),
}

pub struct Run<'a> {
    text: &'a str,
    /// Subsearch nesting of this pipeline.
    depth: usize,
    filters: Vec<Expr>,
    /// Stateful steps that decide the outcome (aggregation plus a filter on its output).
    stateful: Vec<String>,
    env: Env,
    outputs: Vec<(String, Origin)>,
    last_aggregation: Option<String>,
    data_models: BTreeSet<String>,
    lookups: Vec<(String, usize)>,
    issues: Vec<Issue>,
}

/// Subsearches nested deeper than this are left opaque.
const MAX_SUBSEARCH_DEPTH: usize = 8;

/// Interprets the expanded search `text`.
pub fn run(text: &str) -> Parsed {
    run_at(text, 0)
}

fn run_at(text: &str, depth: usize) -> Parsed {
    if depth > MAX_SUBSEARCH_DEPTH {
        return Parsed {
            detection: Detection {
                expr: Expr::opaque(text, "subsearches nested too deeply"),
                output_fields: Vec::new(),
            },
            ..Parsed::default()
        };
    }
    let mut r = Run {
        depth,
        text,
        filters: Vec::new(),
        stateful: Vec::new(),
        env: Env::default(),
        outputs: Vec::new(),
        last_aggregation: None,
        data_models: BTreeSet::new(),
        lookups: Vec::new(),
        issues: Vec::new(),
    };
    scan_refs(text, 0, 0, &mut r.data_models, &mut r.lookups);
    for (i, stage) in pipeline::split(text).iter().enumerate() {
        r.stage(stage, i == 0);
    }
    r.finish()
}

impl<'a> Run<'a> {
    fn finish(self) -> Parsed {
        let item = Expr::all(self.filters);
        let expr = if self.stateful.is_empty() {
            item
        } else {
            Expr::Aggregate {
                description: self.stateful.join(" | "),
                item: Box::new(item),
            }
        };
        let output_fields = self
            .outputs
            .into_iter()
            .map(|(name, origin)| {
                let (source, note) = match origin {
                    Origin::Event(o) => ((o != name).then_some(o), None),
                    Origin::Aggregate(f) => (
                        (!f.is_empty() && f != name).then_some(f),
                        Some("aggregate".to_string()),
                    ),
                    Origin::Derived(c) => (None, Some(format!("computed by `{c}`"))),
                    Origin::Transformed(f, _) => (Some(f), Some("computed by `eval`".into())),
                };
                OutputField { name, source, note }
            })
            .collect();
        let mut lookups = self.lookups;
        lookups.sort();
        lookups.dedup_by(|a, b| a.0 == b.0);
        Parsed {
            detection: Detection {
                expr,
                output_fields,
            },
            data_models: self.data_models.into_iter().collect(),
            lookups,
            issues: self.issues,
        }
    }

    fn lex(&mut self, stage: &Stage, mode: Mode) -> Option<Vec<Token>> {
        match lexer::lex(stage.args, stage.args_start, mode) {
            Ok(t) => Some(t),
            Err(e) => {
                self.syntax_error(
                    stage,
                    ParseError {
                        pos: e.pos,
                        message: e.message,
                    },
                );
                None
            }
        }
    }

    fn syntax_error(&mut self, stage: &Stage, e: ParseError) {
        self.issues.push(Issue {
            pos: e.pos,
            message: format!("cannot read `{}`: {}", stage.name, e.message),
        });
        self.filters.push(Expr::opaque(
            stage.text,
            format!("`{}` could not be parsed: {}", stage.name, e.message),
        ));
    }

    fn opaque(&mut self, stage: &Stage, reason: String) {
        self.issues.push(Issue {
            pos: stage.start,
            message: reason.clone(),
        });
        self.filters.push(Expr::opaque(stage.text, reason));
    }

    fn stage(&mut self, stage: &Stage, first: bool) {
        let name = stage.name.as_str();
        match name {
            "search" => self.search(stage),
            "where" => self.where_(stage),
            "regex" => self.regex(stage),
            "tstats" | "mstats" if first => self.tstats(stage),
            "from" | "datamodel" if first => {}
            "inputlookup" if first => {
                let what = stage.args.split_whitespace().find(|w| !w.contains('='));
                self.opaque(
                    stage,
                    format!(
                        "events come from the lookup `{}`",
                        what.unwrap_or("?").trim_matches('"')
                    ),
                );
            }
            "stats" | "chart" | "timechart" | "top" | "rare" | "geostats" | "sistats" => {
                self.aggregate(stage, true)
            }
            "eventstats" | "streamstats" | "transaction" => self.aggregate(stage, false),
            "rename" => self.rename(stage),
            "eval" => self.eval(stage),
            "rex" => self.rex(stage),
            "lookup" => self.lookup(stage),
            "iplocation" => self.iplocation(stage),
            "spath" | "convert" | "strcat" | "addtotals" | "accum" | "delta" | "autoregress"
            | "replace" => self.computes(stage),
            "table" | "fields" => self.table(stage),
            "apply" | "fit" | "foreach" | "predict" => {
                self.env.taint = Some(name.to_string());
            }
            "fillnull" | "bucket" | "bin" | "sort" | "dedup" | "head" | "tail" | "xmlkv"
            | "fromjson" | "makemv" | "mvexpand" | "nomv" | "mvcombine" | "addinfo" | "typer"
            | "tags" | "extract" | "kv" | "multikv" | "reverse" | "outputlookup" | "collect"
            | "sendalert" | "sendemail" | "kvform" | "xpath" | "rangemap" | "localize"
            | "format" | "fieldformat" | "return" | "summaryindex" | "makecontinuous" => {}
            _ if name.starts_with('`') => {
                let inner = name.trim_matches('`').to_string();
                self.opaque(stage, format!("macro `{inner}` is not defined"));
            }
            "join" => self.join(stage),
            "append" | "union" | "multisearch" => self.append(stage, first),
            "appendpipe" | "appendcols" | "map" | "set" | "selfjoin" => {
                self.opaque(stage, format!("`{name}` combines other results"))
            }
            "tstats" | "mstats" | "inputlookup" | "makeresults" | "rest" | "metadata" | "pivot"
            | "loadjob" | "savedsearch" => {
                self.opaque(stage, format!("`{name}` generates results from other data"))
            }
            _ => self.opaque(stage, format!("the command `{name}` is not understood")),
        }
    }

    fn search(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        match search::Parser::new(&toks, self.text).parse() {
            Ok(e) => self.add_filter(e, stage),
            Err(e) => self.syntax_error(stage, e),
        }
    }

    fn where_(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Eval) else {
            return;
        };
        match eval::parse(&toks, self.text) {
            Ok(n) => {
                let e = eval::lower(&n, self.text);
                self.add_filter(e, stage)
            }
            Err(e) => self.syntax_error(stage, e),
        }
    }

    /// `regex field="re"`, `regex field!="re"`, `regex "re"` (on the raw event).
    fn regex(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let (field, negate, re) = match toks.as_slice() {
            [f, op, v] if op.is_op("=") || op.is_op("!=") => {
                (tok_text(f), op.is_op("!="), tok_text(v))
            }
            [v] => (Some("_raw".to_string()), false, tok_text(v)),
            _ => (None, false, None),
        };
        let (Some(field), Some(re)) = (field, re) else {
            self.syntax_error(
                stage,
                ParseError {
                    pos: stage.args_start,
                    message: "expected `field=\"regex\"`".into(),
                },
            );
            return;
        };
        let p = Expr::pred(
            Predicate::field(search::field_name(&field), Op::Regex, vec![Value::Str(re)])
                .cased(true),
        );
        self.add_filter(if negate { Expr::not(p) } else { p }, stage);
    }

    /// `tstats [options] functions [from datamodel=X.Y] [where ...] [by fields]`, and
    /// `mstats` alike.
    fn tstats(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let mut aggs = Vec::new();
        let mut by = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if t.is_kw("where") {
                let mut p = search::Parser::new(&toks[i + 1..], self.text).stopping_at_by();
                match p.parse() {
                    Ok(e) => self.add_filter(e, stage),
                    Err(e) => {
                        self.syntax_error(stage, e);
                        return;
                    }
                }
                i += 1 + p.position();
            } else if t.is_kw("by") {
                by = field_list(&toks[i + 1..], true);
                break;
            } else if t.is_kw("from") {
                // `from datamodel=X.Y`, `from datamodel:X`, `from datamodel X`
                i += 1;
                while i < toks.len() && !toks[i].is_kw("where") && !toks[i].is_kw("by") {
                    i += 1;
                }
            } else if let Tok::Macro(m) = &t.tok {
                let text = self.text.get(t.start..t.end).unwrap_or("").to_string();
                self.issues.push(Issue {
                    pos: t.start,
                    message: format!("macro `{m}` is not defined"),
                });
                self.filters
                    .push(Expr::opaque(text, format!("macro `{m}` is not defined")));
                i += 1;
            } else if toks.get(i + 1).is_some_and(|n| n.is_op("=")) {
                i = skip_option(&toks, i); // an option: summariesonly=t
            } else {
                let (agg, next) = aggregation(&toks, i, self.text);
                if let Some(a) = agg {
                    aggs.push(a);
                }
                i = next;
            }
        }
        self.close(stage, &aggs, &by);
    }

    /// An aggregating command. `closes`: only its output fields exist afterwards.
    fn aggregate(&mut self, stage: &Stage, closes: bool) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let mut aggs = Vec::new();
        let mut by = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if t.is_kw("by") || (stage.name == "chart" && t.is_kw("over")) {
                by = field_list(&toks[i + 1..], true);
                break;
            }
            if toks.get(i + 1).is_some_and(|n| n.is_op("=")) {
                i = skip_option(&toks, i);
                continue;
            }
            let (agg, next) = aggregation(&toks, i, self.text);
            if let Some(a) = agg {
                aggs.push(a);
            }
            i = next;
        }
        match stage.name.as_str() {
            "top" | "rare" => {
                // `top field` keeps the field and adds count and percent.
                by.extend(aggs.drain(..).map(|(n, _)| n));
                aggs.push(("count".into(), "count".into()));
                aggs.push(("percent".into(), "percent".into()));
            }
            "transaction" => {
                by = aggs.drain(..).map(|(n, _)| n).collect();
                aggs.push(("duration".into(), "transaction".into()));
                aggs.push(("eventcount".into(), "transaction".into()));
            }
            _ => {}
        }
        if closes {
            self.close(stage, &aggs, &by);
        } else {
            for (name, func) in &aggs {
                self.env
                    .known
                    .insert(name.clone(), Origin::Aggregate(func.clone()));
            }
            self.last_aggregation = Some(stage.text.to_string());
        }
    }

    fn close(&mut self, stage: &Stage, aggs: &[(String, String)], by: &[String]) {
        let mut known = BTreeMap::new();
        let mut outputs = Vec::new();
        for f in by {
            let o = self.env.resolve(f);
            known.insert(f.clone(), o.clone());
            outputs.push((f.clone(), o));
        }
        for (name, func) in aggs {
            let o = Origin::Aggregate(func.clone());
            // `values(x)`, `latest(x)`...: for a group of one event, the event's own value;
            // a filter on it keeps the event's meaning.
            let k = match passthrough(func) {
                Some(field) => match self.env.resolve(&field) {
                    Origin::Event(e) => Origin::Event(e),
                    _ => o.clone(),
                },
                None => o.clone(),
            };
            known.insert(name.clone(), k);
            outputs.push((name.clone(), o));
        }
        self.env = Env {
            known,
            closed: true,
            ..Env::default()
        };
        self.outputs = outputs;
        self.last_aggregation = Some(stage.text.to_string());
    }

    /// The subsearches of a stage, parsed, with the options and words around them.
    fn subsearches(&mut self, toks: &[Token]) -> Vec<Parsed> {
        let mut out = Vec::new();
        for t in toks {
            if let Tok::Sub(inner) = &t.tok {
                let mut p = run_at(
                    inner.trim_start_matches(|c: char| c.is_whitespace()),
                    self.depth + 1,
                );
                let shift = t.start + 1 + (inner.len() - inner.trim_start().len());
                for i in p.issues.iter_mut() {
                    i.pos += shift;
                }
                out.push(p);
            }
        }
        out
    }

    /// `join [type=inner] fields [subsearch]`: rows of both searches that share the fields,
    /// an unordered multi-event correlation. Left and outer joins only enrich the rows.
    fn join(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let mut kind = "inner".to_string();
        let mut fields = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if toks.get(i + 1).is_some_and(|n| n.is_op("=")) {
                if t.is_kw("type") {
                    kind = toks.get(i + 2).and_then(tok_text).unwrap_or_default();
                }
                i = skip_option(&toks, i);
                continue;
            }
            if let Some(w) = tok_text(t) {
                fields.push(w);
            }
            i += 1;
        }
        let mut subs = self.subsearches(&toks);
        if !kind.eq_ignore_ascii_case("inner") || subs.len() != 1 {
            self.opaque(stage, format!("`join type={kind}` combines other results"));
            return;
        }
        let sub = subs.remove(0);
        self.issues.extend(sub.issues);
        let by = fields
            .iter()
            .map(|f| match self.env.resolve(f) {
                Origin::Event(o) => o,
                _ => f.clone(),
            })
            .collect();
        let main = Expr::all(std::mem::take(&mut self.filters));
        self.filters.push(Expr::Sequence {
            ordered: false,
            by,
            window: None,
            steps: vec![main, sub.detection.expr],
        });
    }

    /// `append [subsearch]`, `union`, `multisearch`: rows of either search.
    fn append(&mut self, stage: &Stage, first: bool) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let subs = self.subsearches(&toks);
        if subs.is_empty() {
            self.opaque(stage, format!("`{}` combines other results", stage.name));
            return;
        }
        let mut alts = Vec::new();
        if !first {
            alts.push(Expr::all(std::mem::take(&mut self.filters)));
        }
        for sub in subs {
            self.issues.extend(sub.issues);
            alts.push(sub.detection.expr);
        }
        self.filters.push(Expr::any(alts));
    }

    /// `rename a AS b, c AS d`
    fn rename(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let names: Vec<(String, bool)> = toks
            .iter()
            .filter(|t| !t.is_op(","))
            .filter_map(|t| match &t.tok {
                Tok::Word(w) if w.eq_ignore_ascii_case("as") => Some((w.clone(), true)),
                Tok::Word(w) | Tok::Str(w) => Some((w.clone(), false)),
                _ => None,
            })
            .collect();
        let mut i = 0;
        while i + 2 < names.len() {
            if names[i + 1].1 {
                let (from, to) = (names[i].0.clone(), names[i + 2].0.clone());
                self.env.rename(&from, &to);
                for (n, _) in self.outputs.iter_mut() {
                    if let Some(new) = rename_match(&from, &to, n) {
                        *n = new;
                    }
                }
                i += 3;
            } else {
                i += 1;
            }
        }
    }

    /// `eval a = ..., b = ...`: the assigned fields are computed, from the event (opaque
    /// to the matcher) or from aggregated fields (stateful). `eval a = b` is an alias.
    fn eval(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Eval) else {
            return;
        };
        let mut pieces: Vec<&[Token]> = Vec::new();
        let (mut depth, mut from) = (0i32, 0usize);
        for (i, t) in toks.iter().enumerate() {
            match t.tok {
                Tok::Op("(") => depth += 1,
                Tok::Op(")") => depth -= 1,
                Tok::Op(",") if depth == 0 => {
                    pieces.push(&toks[from..i]);
                    from = i + 1;
                }
                _ => {}
            }
        }
        pieces.push(&toks[from..]);
        for piece in pieces {
            let [target, eq, rhs @ ..] = piece else {
                continue;
            };
            let (Some(name), true) = (tok_text(target), eq.is_op("=")) else {
                continue;
            };
            let origin = match rhs {
                [one] if is_field_token(one, None) => {
                    self.env.resolve(&tok_text(one).unwrap_or_default())
                }
                [func, open, arg, close]
                    if open.is_op("(") && close.is_op(")") && is_field_token(arg, None) =>
                {
                    let tr = match func.word().map(str::to_ascii_lowercase).as_deref() {
                        Some("lower") => Some(Transform::Lower),
                        Some("upper") => Some(Transform::Upper),
                        Some("len") => Some(Transform::Length),
                        _ => None,
                    };
                    match (tr, self.env.resolve(&tok_text(arg).unwrap_or_default())) {
                        (Some(tr), Origin::Event(f)) => Origin::Transformed(f, tr),
                        (_, Origin::Aggregate(_)) => Origin::Aggregate(format!("eval {name}")),
                        _ => Origin::Derived("eval".into()),
                    }
                }
                _ => {
                    let mut origin = Origin::Derived("eval".into());
                    for (i, t) in rhs.iter().enumerate() {
                        if !is_field_token(t, rhs.get(i + 1)) {
                            continue;
                        }
                        if let Origin::Aggregate(_) =
                            self.env.resolve(&tok_text(t).unwrap_or_default())
                        {
                            origin = Origin::Aggregate(format!("eval {name}"));
                        }
                    }
                    origin
                }
            };
            self.env.known.insert(name, origin);
        }
    }

    /// `rex [field=f] [mode=sed] "regex"`: named groups (or, with sed, the field) are computed.
    fn rex(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let mut field = "_raw".to_string();
        let mut sed = false;
        for (i, t) in toks.iter().enumerate() {
            if toks.get(i + 1).is_some_and(|n| n.is_op("=")) {
                let v = toks.get(i + 2).and_then(tok_text).unwrap_or_default();
                if t.is_kw("field") {
                    field = v;
                } else if t.is_kw("mode") && v.eq_ignore_ascii_case("sed") {
                    sed = true;
                }
            }
            if let Tok::Str(re) = &t.tok {
                if sed {
                    self.env.derive(&field, "rex");
                } else {
                    for g in named_groups(re) {
                        self.env.derive(&g, "rex");
                    }
                }
            }
        }
    }

    /// `lookup name in AS f OUTPUT|OUTPUTNEW out AS g, ...`: the output fields are computed.
    fn lookup(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let Some(name) = toks
            .iter()
            .enumerate()
            .find(|(i, t)| {
                t.word().is_some_and(|w| !w.contains('='))
                    && !toks.get(i + 1).is_some_and(|n| n.is_op("="))
                    && !(*i > 0 && toks[i - 1].is_op("="))
            })
            .and_then(|(_, t)| tok_text(t))
        else {
            return;
        };
        let cmd = format!("lookup {name}");
        let Some(out) = toks
            .iter()
            .position(|t| t.is_kw("output") || t.is_kw("outputnew"))
        else {
            // Every column of the lookup is added, under names the search does not list.
            self.env.taint = Some(cmd);
            return;
        };
        let outs = field_list(&toks[out + 1..], false);
        let mut i = 0;
        while i < outs.len() {
            if outs
                .get(i + 1)
                .is_some_and(|w| w.eq_ignore_ascii_case("as"))
            {
                if let Some(target) = outs.get(i + 2) {
                    self.env.derive(target, &cmd);
                }
                i += 3;
            } else {
                self.env.derive(&outs[i], &cmd);
                i += 1;
            }
        }
    }

    fn iplocation(&mut self, stage: &Stage) {
        let prefix = stage
            .args
            .split_whitespace()
            .find_map(|w| w.strip_prefix("prefix="))
            .unwrap_or("")
            .trim_matches('"')
            .to_string();
        for f in ["City", "Country", "Region", "lat", "lon"] {
            self.env.derive(&format!("{prefix}{f}"), "iplocation");
        }
    }

    /// Commands that compute fields named in their arguments (`as x`, `output=x`,
    /// `ctime(x)`, `in x`).
    fn computes(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let cmd = stage.name.clone();
        for (i, t) in toks.iter().enumerate() {
            let next = toks.get(i + 1);
            if t.is_kw("as") || t.is_kw("in") || (cmd == "strcat" && i + 1 == toks.len()) {
                let target = if cmd == "strcat" && !t.is_kw("as") {
                    tok_text(t)
                } else {
                    next.and_then(tok_text)
                };
                if let Some(f) = target {
                    self.env.derive(&f, &cmd);
                }
            } else if next.is_some_and(|n| n.is_op("="))
                && (t.is_kw("output") || t.is_kw("fieldname"))
            {
                if let Some(f) = toks.get(i + 2).and_then(tok_text) {
                    self.env.derive(&f, &cmd);
                }
            } else if cmd == "convert" && next.is_some_and(|n| n.is_op("(")) {
                if let Some(f) = toks.get(i + 2).and_then(tok_text) {
                    if !toks.get(i + 4).is_some_and(|n| n.is_kw("as")) {
                        self.env.derive(&f, &cmd);
                    }
                }
            }
        }
        if cmd == "addtotals" && !toks.iter().any(|t| t.is_kw("fieldname")) {
            self.env.derive("Total", &cmd);
        }
    }

    fn table(&mut self, stage: &Stage) {
        let Some(toks) = self.lex(stage, Mode::Search) else {
            return;
        };
        let remove = toks.first().and_then(Token::word) == Some("-");
        let names = field_list(&toks, false);
        if remove {
            let gone: Vec<&String> = names.iter().skip(1).collect();
            self.outputs
                .retain(|(n, _)| !gone.iter().any(|g| rename_match(g, g, n).is_some()));
            return;
        }
        let names: Vec<String> = names.into_iter().filter(|n| n != "+").collect();
        self.outputs = names
            .into_iter()
            .map(|n| {
                let o = self.env.resolve(&n);
                (n, o)
            })
            .collect();
    }

    /// Adds a filter stage: each conjunct is a per-event filter, a stateful condition or
    /// opaque, by where its fields come from.
    fn add_filter(&mut self, e: Expr, stage: &Stage) {
        let conjuncts = match e {
            Expr::All { items } => items,
            Expr::Const { value: true } => Vec::new(),
            other => vec![other],
        };
        let mut stateful = false;
        let mut derived = BTreeSet::new();
        let mut named = Vec::new();
        for c in conjuncts {
            named.extend(c.predicates().iter().filter_map(|(p, _)| p.field.clone()));
            let mut class = Class::Event;
            let c = self.rewrite(c, &mut class);
            match class {
                Class::Event => self.filters.push(c),
                Class::Aggregate => stateful = true,
                Class::Derived(field, cmd) => {
                    derived.insert(format!("`{field}` (computed by `{cmd}`)"));
                }
            }
        }
        self.env.seen.extend(named);
        if !derived.is_empty() {
            let list: Vec<String> = derived.into_iter().collect();
            self.opaque(stage, format!("filters on {}", list.join(", ")));
        }
        if stateful {
            let step = match &self.last_aggregation {
                Some(a) => format!("{a} | {}", stage.text),
                None => stage.text.to_string(),
            };
            if !self.stateful.contains(&step) {
                self.stateful.push(step);
            }
        }
    }

    /// Maps the fields of `e` to the event's names, noting the worst origin in `class`.
    fn rewrite(&self, e: Expr, class: &mut Class) -> Expr {
        let note = |c: Class, class: &mut Class| {
            if c > *class {
                *class = c;
            }
        };
        match e {
            Expr::Pred(mut p) => {
                if let Some(f) = p.field.take() {
                    match self.env.resolve(&f) {
                        Origin::Event(o) => {
                            p.field = (o != "_raw").then_some(o);
                        }
                        Origin::Aggregate(_) => {
                            note(Class::Aggregate, class);
                            p.field = Some(f);
                        }
                        Origin::Derived(cmd) => {
                            note(Class::Derived(f.clone(), cmd), class);
                            p.field = Some(f);
                        }
                        Origin::Transformed(o, tr) if p.transform.is_none() => {
                            p.field = Some(o);
                            p.transform = Some(tr);
                        }
                        Origin::Transformed(..) => {
                            note(Class::Derived(f.clone(), "eval".into()), class);
                            p.field = Some(f);
                        }
                    }
                }
                if p.field_ref {
                    for v in p.values.iter_mut() {
                        let name = v.to_string();
                        match self.env.resolve(&name) {
                            Origin::Event(o) => *v = Value::Str(o),
                            Origin::Aggregate(_) => note(Class::Aggregate, class),
                            Origin::Derived(cmd) => note(Class::Derived(name, cmd), class),
                            Origin::Transformed(..) => {
                                note(Class::Derived(name, "eval".into()), class)
                            }
                        }
                    }
                }
                Expr::Pred(p)
            }
            Expr::All { items } => Expr::All {
                items: items.into_iter().map(|i| self.rewrite(i, class)).collect(),
            },
            Expr::Any { items } => Expr::Any {
                items: items.into_iter().map(|i| self.rewrite(i, class)).collect(),
            },
            Expr::Not { item } => Expr::not(self.rewrite(*item, class)),
            other => other,
        }
    }
}

/// A token naming a field in eval: a quoted field or a bare name that is not a number, a
/// keyword or a function name (followed by `(`).
fn is_field_token(t: &Token, next: Option<&Token>) -> bool {
    match &t.tok {
        Tok::Field(_) => true,
        Tok::Word(w) => {
            !next.is_some_and(|n| n.is_op("("))
                && !w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
                && ![
                    "AND", "OR", "NOT", "XOR", "IN", "LIKE", "true", "false", "null",
                ]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        }
        _ => false,
    }
}

fn tok_text(t: &Token) -> Option<String> {
    match &t.tok {
        Tok::Word(w) | Tok::Str(w) | Tok::Field(w) => Some(w.clone()),
        _ => None,
    }
}

/// The index after the option `name=value` at `i`; a parenthesised value
/// (`startswith=(EventCode=1 ...)`) is skipped whole.
fn skip_option(toks: &[Token], i: usize) -> usize {
    let mut j = i + 2;
    if toks.get(j).is_some_and(|t| t.is_op("(")) {
        let mut depth = 0i32;
        while j < toks.len() {
            if toks[j].is_op("(") {
                depth += 1;
            } else if toks[j].is_op(")") {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            j += 1;
        }
        return j;
    }
    j + 1
}

/// Field names of a `by` clause or a field list: words and strings; options such as
/// `span=1h` skipped.
fn field_list(toks: &[Token], by_clause: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks.get(i + 1).is_some_and(|n| n.is_op("=")) {
            i = skip_option(toks, i);
            continue;
        }
        if let Tok::Word(w) | Tok::Str(w) = &toks[i].tok {
            if !(by_clause && w.eq_ignore_ascii_case("by")) {
                out.push(w.clone());
            }
        }
        i += 1;
    }
    out
}

/// One aggregation at `toks[i]`: `count`, `min(_time) as firstTime`, `values(eval(...))
/// as x`. Returns (output name, function text) and the index after it.
fn aggregation(toks: &[Token], i: usize, text: &str) -> (Option<(String, String)>, usize) {
    let t = &toks[i];
    let Some(func) = tok_text(t) else {
        return (None, i + 1);
    };
    if t.is_op(",") {
        return (None, i + 1);
    }
    let mut j = i + 1;
    let mut end = t.end;
    if toks.get(j).is_some_and(|n| n.is_op("(")) {
        let mut depth = 0i32;
        while j < toks.len() {
            if toks[j].is_op("(") {
                depth += 1;
            } else if toks[j].is_op(")") {
                depth -= 1;
                if depth == 0 {
                    end = toks[j].end;
                    j += 1;
                    break;
                }
            }
            j += 1;
        }
    }
    let func_text = text.get(t.start..end).unwrap_or(&func).to_string();
    let mut name = func_text.clone();
    if toks.get(j).is_some_and(|n| n.is_kw("as")) {
        if let Some(n) = toks.get(j + 1).and_then(tok_text) {
            name = n;
        }
        j += 2;
    }
    (Some((name, func_text)), j)
}

/// The field of an aggregation that passes event values through (`values(x)`,
/// `latest(x)`, ...).
fn passthrough(func: &str) -> Option<String> {
    let (name, rest) = func.split_once('(')?;
    let arg = rest.strip_suffix(')')?.trim();
    let keeps = ["values", "list", "latest", "earliest", "first", "last"];
    if !keeps.iter().any(|k| name.trim().eq_ignore_ascii_case(k))
        || arg.is_empty()
        || arg.contains(|c: char| c.is_whitespace() || "(),\"'=".contains(c))
    {
        return None;
    }
    Some(search::field_name(arg))
}

/// Named groups of a regex: `(?<name>` and `(?P<name>`.
fn named_groups(re: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = re;
    while let Some(p) = rest.find("(?") {
        let after = &rest[p + 2..];
        let after = after.strip_prefix('P').unwrap_or(after);
        if let Some(name) = after.strip_prefix('<') {
            if let Some(end) = name.find('>') {
                let n = &name[..end];
                if !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    out.push(n.to_string());
                }
            }
        }
        rest = &rest[p + 2..];
    }
    out
}

/// Data models and lookups named anywhere in the search, subsearches included.
fn scan_refs(
    text: &str,
    base: usize,
    depth: usize,
    models: &mut BTreeSet<String>,
    lookups: &mut Vec<(String, usize)>,
) {
    if depth > 8 {
        return;
    }
    for stage in pipeline::split(text) {
        let toks = lexer::lex(stage.args, stage.args_start, Mode::Search).unwrap_or_default();
        for (i, t) in toks.iter().enumerate() {
            if let Tok::Sub(inner) = &t.tok {
                scan_refs(inner, base + t.start + 1, depth + 1, models, lookups);
            }
            // `datamodel=X.Y`, `datamodel:X`, `from datamodel X`, `| datamodel X Y`
            if t.is_kw("datamodel") {
                let v = match toks.get(i + 1) {
                    Some(n) if n.is_op("=") => toks.get(i + 2).and_then(tok_text),
                    Some(n) => tok_text(n),
                    None => None,
                };
                if let Some(v) = v {
                    add_model(models, v.trim_start_matches(':'));
                }
            } else if let Some(w) = t.word() {
                if let Some(v) = w
                    .strip_prefix("datamodel:")
                    .or_else(|| w.strip_prefix("DATAMODEL:"))
                {
                    let v = if v.is_empty() {
                        toks.get(i + 1).and_then(tok_text).unwrap_or_default()
                    } else {
                        v.to_string()
                    };
                    add_model(models, &v);
                }
            }
        }
        match stage.name.as_str() {
            "datamodel" => {
                let words: Vec<String> = toks
                    .iter()
                    .filter_map(tok_text)
                    .filter(|w| !w.contains('='))
                    .collect();
                match words.as_slice() {
                    [m, d, ..] if !is_dm_mode(d) => add_model(models, &format!("{m}.{d}")),
                    [m, ..] => add_model(models, m),
                    _ => {}
                }
            }
            "lookup" | "inputlookup" | "outputlookup" => {
                let name = toks.iter().enumerate().find_map(|(i, t)| {
                    let w = tok_text(t)?;
                    let option = toks.get(i + 1).is_some_and(|n| n.is_op("="))
                        || (i > 0 && toks[i - 1].is_op("="))
                        || t.is_op("=");
                    (!option).then_some((w, t.start))
                });
                if let Some((n, pos)) = name {
                    lookups.push((n, base + pos));
                }
            }
            _ => {}
        }
    }
}

fn is_dm_mode(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "search" | "flat" | "acceleration_search" | "summariesonly"
    )
}

fn add_model(models: &mut BTreeSet<String>, v: &str) {
    let v = v.trim().trim_matches('"');
    if !v.is_empty() {
        models.insert(v.to_string());
    }
}
