//! The KQL syntax tree the parser builds: statements, scalar and tabular expressions and
//! pipeline operators. Every node keeps its byte span so what is not understood can be
//! shown as written.

/// Byte range in the query text.
pub type Span = (usize, usize);

#[derive(Debug, Clone, Default)]
pub struct Script {
    pub stmts: Vec<Stmt>,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    /// `let name = value;` (value may be scalar, tabular or a function).
    Let { name: String, value: Ex, span: Span },
    /// A tabular expression whose rows are the query's result.
    Query(Ex),
    /// `set`, `declare`, `alias`, `pattern`.
    Other { span: Span },
    /// A statement that could not be parsed: the `let` name it defines and the table it
    /// starts from, when those can be seen.
    Broken {
        name: Option<String>,
        source: Option<String>,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct Ex {
    pub kind: ExKind,
    pub span: Span,
}

impl Ex {
    pub fn new(kind: ExKind, span: Span) -> Ex {
        Ex { kind, span }
    }
    /// The identifier's name, when this is a bare identifier.
    pub fn ident(&self) -> Option<&str> {
        match &self.kind {
            ExKind::Ident(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ExKind {
    Ident(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Timespan(String),
    /// `*` (all columns, in `where * has` and `distinct *`).
    Star,
    Call {
        name: String,
        args: Vec<Ex>,
    },
    /// `name = value` inside an argument list (`kind=inner`, `starttime=ago(1d)`).
    Named {
        name: String,
        value: Box<Ex>,
    },
    Member {
        base: Box<Ex>,
        name: String,
    },
    Index {
        base: Box<Ex>,
        index: Box<Ex>,
    },
    /// Binary operator, word operators in lower case (`has`, `!in~`, `matches regex`).
    Binary {
        op: String,
        lhs: Box<Ex>,
        rhs: Box<Ex>,
    },
    Unary {
        op: &'static str,
        expr: Box<Ex>,
    },
    /// `(a, b, c)` or `[a, b, c]`.
    List(Vec<Ex>),
    Bag(Vec<(String, Ex)>),
    /// `a .. b` (inside `between`).
    Range {
        lo: Box<Ex>,
        hi: Box<Ex>,
    },
    /// A source followed by pipeline operators.
    Pipe {
        source: Box<Ex>,
        ops: Vec<Op>,
    },
    /// `union T1, (T2 | where ...)` as a source.
    Union(Vec<Ex>),
    /// `datatable(col:type, ...)[values]`: inline rows, no table.
    Datatable {
        columns: Vec<String>,
        values: Vec<Ex>,
    },
    /// `externaldata(...)[urls]`: rows from the web, no table.
    External,
    /// `print`, `range`: rows made by the query, no table.
    Generated,
    /// `(params) { body }` or `view () { body }`.
    Function {
        params: Vec<String>,
        body: Vec<Stmt>,
    },
    /// `search [in (T1, T2)] predicate` as a source.
    Search {
        tables: Vec<Ex>,
        pred: Box<Ex>,
    },
    /// Not understood: the span gives the text.
    Opaque(String),
}

/// `name = value` or a bare `value` in project/extend/summarize lists.
#[derive(Debug, Clone)]
pub struct Assign {
    pub name: Option<String>,
    pub value: Ex,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub kind: OpKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum OpKind {
    Where(Ex),
    Extend(Vec<Assign>),
    Project(Vec<Assign>),
    ProjectAway(Vec<String>),
    ProjectKeep(Vec<String>),
    ProjectRename(Vec<Assign>),
    Summarize {
        aggs: Vec<Assign>,
        by: Vec<Assign>,
    },
    /// `distinct a, b` (empty for `distinct *`).
    Distinct(Vec<Assign>),
    /// `join` and `lookup` (`lookup` is `true`).
    Join {
        kind: Option<String>,
        right: Ex,
        on: Vec<Ex>,
        lookup: bool,
    },
    Union(Vec<Ex>),
    MvExpand(Vec<Assign>),
    /// `mv-apply x = array on (subquery)`: the subquery's operators run on each element.
    MvApply {
        items: Vec<Assign>,
        ops: Vec<Op>,
    },
    /// `parse`: new columns read out of `source`.
    Parse {
        source: Ex,
        columns: Vec<String>,
    },
    /// `search` as an operator.
    Search(Ex),
    /// Operators that neither filter nor reshape events for the matcher (`sort`, `take`,
    /// `render`, `as`, `serialize`, `project-reorder`, `evaluate bag_unpack`).
    Passthrough(String),
    /// Operators that aggregate rows (`make-series`, `count`, `top-nested`...).
    Aggregate(String),
    /// Operators not understood, which may drop rows (`evaluate`, `invoke`, `mv-apply`...).
    Other(String),
}
