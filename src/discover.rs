//! Walks rule roots and reads their text files once.

use crate::diag::Diagnostic;
use crate::model::Vendor;
use crate::verify::checks::Check;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Files larger than this are not rules (and are skipped).
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Folders never walked: VCS data, build output, dependencies.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    "__pycache__",
    ".venv",
];

/// Extensions read as text; everything else is counted and skipped.
const TEXT_EXTS: &[&str] = &[
    "yml", "yaml", "toml", "yaral", "json", "kql", "txt", "md", "py", "csv", "spl", "eql",
];

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    pub text: String,
    /// The file was not UTF-8 and was decoded as Windows-1252.
    pub decoded_cp1252: bool,
}

impl SourceFile {
    pub fn ext(&self) -> &str {
        self.rel
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| !e.contains('/'))
            .unwrap_or("")
    }
    pub fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// A rule root as configured.
#[derive(Debug, Clone)]
pub struct RootSpec {
    pub path: PathBuf,
    /// Only this vendor's format is asked for the root's files.
    pub vendor: Option<Vendor>,
    /// Repository URL and commit, so rule pages link to their source file.
    pub repo_url: Option<String>,
    pub commit: Option<String>,
}

impl RootSpec {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RootSpec {
            path: path.into(),
            vendor: None,
            repo_url: None,
            commit: None,
        }
    }
}

/// One root with its text files, sorted by relative path.
#[derive(Debug)]
pub struct Root {
    pub index: usize,
    pub spec: RootSpec,
    pub files: Vec<SourceFile>,
    by_rel: HashMap<String, usize>,
    /// Files not read (binary, too large or of an extension no format uses).
    pub skipped: usize,
}

impl Root {
    pub fn get(&self, rel: &str) -> Option<&SourceFile> {
        self.by_rel.get(rel).map(|&i| &self.files[i])
    }
    /// The path to show the user for a file of this root.
    pub fn display(&self, rel: &str) -> String {
        let base = self.spec.path.to_string_lossy();
        let base = base.trim_end_matches('/');
        if base.is_empty() || base == "." {
            rel.to_string()
        } else {
            format!("{base}/{rel}")
        }
    }
    /// Files whose relative path starts with `prefix` (a folder, `/`-terminated or not).
    pub fn files_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a SourceFile> + 'a {
        self.files.iter().filter(move |f| f.rel.starts_with(prefix))
    }
    /// Builds a root from in-memory files (tests, fixtures).
    pub fn from_files(index: usize, spec: RootSpec, mut files: Vec<SourceFile>) -> Root {
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let by_rel = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.rel.clone(), i))
            .collect();
        Root {
            index,
            spec,
            files,
            by_rel,
            skipped: 0,
        }
    }
}

/// Reads a root. Unreadable files become diagnostics; a missing root is an error for the caller.
pub fn read_root(index: usize, spec: RootSpec) -> Result<(Root, Vec<Diagnostic>), String> {
    let base = spec.path.clone();
    if !base.exists() {
        return Err(format!("{}: no such file or directory", base.display()));
    }
    let mut paths = Vec::new();
    let mut skipped = 0usize;
    if base.is_file() {
        paths.push(base.clone());
    } else {
        let walker = walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walker.into_iter().filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        }) {
            let Ok(entry) = entry else {
                skipped += 1;
                continue;
            };
            if entry.file_type().is_file() {
                paths.push(entry.into_path());
            }
        }
    }
    let results: Vec<Result<Option<SourceFile>, Box<Diagnostic>>> =
        paths.par_iter().map(|p| read_file(&base, p)).collect();
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for r in results {
        match r {
            Ok(Some(f)) => files.push(f),
            Ok(None) => skipped += 1,
            Err(d) => diags.push(*d),
        }
    }
    let mut root = Root::from_files(index, spec, files);
    root.skipped = skipped;
    for f in &root.files {
        if f.decoded_cp1252 {
            diags.push(Diagnostic::new(
                Check::NotUtf8,
                root.display(&f.rel),
                0,
                "file is not UTF-8; decoded as Windows-1252 (save it as UTF-8)",
            ));
        }
    }
    Ok((root, diags))
}

fn rel_path(base: &Path, p: &Path) -> String {
    let rel = if base.is_file() {
        p.file_name().map(PathBuf::from).unwrap_or_default()
    } else {
        p.strip_prefix(base).unwrap_or(p).to_path_buf()
    };
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_file(base: &Path, p: &Path) -> Result<Option<SourceFile>, Box<Diagnostic>> {
    let rel = rel_path(base, p);
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // Extension-less files are read too: Chronicle reference lists have none.
    if !ext.is_empty() && !TEXT_EXTS.contains(&ext.as_str()) {
        return Ok(None);
    }
    let meta = std::fs::metadata(p).map_err(|e| io_diag(base, &rel, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Ok(None);
    }
    let bytes = std::fs::read(p).map_err(|e| io_diag(base, &rel, e))?;
    if ext.is_empty() && bytes.contains(&0) {
        return Ok(None);
    }
    let (text, decoded_cp1252) = match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => {
            let (cow, _, _) = encoding_rs::WINDOWS_1252.decode(e.as_bytes());
            (cow.into_owned(), true)
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    Ok(Some(SourceFile {
        rel,
        abs: p.to_path_buf(),
        text,
        decoded_cp1252,
    }))
}

fn io_diag(base: &Path, rel: &str, e: std::io::Error) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(
        Check::ParseError,
        format!("{}/{rel}", base.display()),
        0,
        format!("cannot read file: {e}"),
    ))
}
