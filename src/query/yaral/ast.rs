//! The syntax tree of a YARA-L 2.0 rule, as written (before lowering to the IR).

/// Where a node is: byte range in the file and the 1-based line and column of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
}

impl Span {
    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            end: other.end.max(self.end),
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator seen from the other side (`a < b` is `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// How `in %list` compares: plain strings, regexes (`in regex`) or CIDR blocks (`in cidr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMode {
    Plain,
    Regex,
    Cidr,
}

/// One step of a UDM path after the variable: `.field`, `["map key"]` or `[0]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Field(String),
    Key(String),
    Index(String),
}

/// A UDM path as text without the variable: `principal.user.userid`, `labels["App Id"]`.
pub fn path_text(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Seg::Key(k) => {
                out.push_str("[\"");
                out.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
                out.push_str("\"]");
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(i);
                out.push(']');
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ast {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Or(Vec<Ast>),
    And(Vec<Ast>),
    Not(Box<Ast>),
    /// `any` / `all` before a comparison over a repeated field.
    Quant {
        all: bool,
        item: Box<Ast>,
    },
    Cmp {
        op: CmpOp,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
        nocase: bool,
    },
    /// `x in [regex|cidr] %list[.column] [nocase]`
    In {
        item: Box<Ast>,
        list: String,
        column: Option<String>,
        mode: ListMode,
        nocase: bool,
    },
    /// `re.regex(a, b) [nocase]`, `max(x)`, `if(c, a, b)`...
    Call {
        name: String,
        args: Vec<Ast>,
        nocase: bool,
    },
    /// `$e.principal.user.userid`
    Field {
        var: String,
        path: Vec<Seg>,
    },
    /// `$name` alone: an event variable, placeholder, match or outcome variable.
    Var(String),
    /// `#name`: how many events (or distinct placeholder values) in the match window.
    Count(String),
    Str(String),
    Regex {
        pattern: String,
        nocase: bool,
    },
    Num(String),
    Bool(bool),
    Null,
    /// A bare word where a value is expected (an option value such as an enum name).
    Word(String),
    Arith {
        op: char,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    Neg(Box<Ast>),
}

impl Ast {
    /// Every node, pre-order.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Ast)) {
        f(self);
        match &self.kind {
            Kind::Or(items) | Kind::And(items) => items.iter().for_each(|i| i.walk(f)),
            Kind::Not(i) | Kind::Quant { item: i, .. } | Kind::Neg(i) => i.walk(f),
            Kind::In { item, .. } => item.walk(f),
            Kind::Cmp { lhs, rhs, .. } | Kind::Arith { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Kind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            Kind::Field { .. }
            | Kind::Var(_)
            | Kind::Count(_)
            | Kind::Str(_)
            | Kind::Regex { .. }
            | Kind::Num(_)
            | Kind::Bool(_)
            | Kind::Null
            | Kind::Word(_) => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetaEntry {
    pub key: String,
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchSection {
    /// Match variables with where each is written.
    pub vars: Vec<(String, Span)>,
    /// The window as written after `over` (`10m`, `1h`).
    pub window: Option<String>,
    /// `before $e` / `after $e` (a sliding window around an event).
    pub pivot: Option<String>,
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeEntry {
    pub var: String,
    pub expr: Ast,
    pub span: Span,
}

/// One `rule name { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleAst {
    pub name: String,
    /// Span of the whole rule (from `rule` to the closing brace).
    pub span: Span,
    pub meta: Vec<MetaEntry>,
    /// Statements of the events section; consecutive statements are ANDed.
    pub events: Vec<Ast>,
    pub match_section: Option<MatchSection>,
    pub outcome: Vec<OutcomeEntry>,
    pub condition: Option<Ast>,
    pub options: Vec<MetaEntry>,
    /// Section names in the order written.
    pub sections: Vec<String>,
}

impl RuleAst {
    pub fn meta_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.meta
            .iter()
            .filter(move |m| m.key.eq_ignore_ascii_case(key))
            .map(|m| m.value.as_str())
    }
}
