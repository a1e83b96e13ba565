//! `ruledex.toml`: site settings and rule roots.

use crate::discover::RootSpec;
use crate::model::Vendor;
use crate::verify::policy::CheckRule;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "ruledex.toml";

#[derive(Debug, Clone)]
pub struct Config {
    pub title: String,
    pub base_url: String,
    pub roots: Vec<RootSpec>,
    /// Folder whose `templates/` and `static/` override the embedded ones.
    pub site_dir: PathBuf,
    /// `[[checks]]`: check levels per path glob, in order.
    pub checks: Vec<CheckRule>,
    /// `reference`: a folder of Microsoft Solutions Analyzer CSVs (table facts, solutions).
    pub reference: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            title: "ruledex".to_string(),
            base_url: "/".to_string(),
            roots: Vec::new(),
            site_dir: PathBuf::from("."),
            checks: Vec::new(),
            reference: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    title: Option<String>,
    base_url: Option<String>,
    #[serde(default)]
    roots: Vec<RawRoot>,
    #[serde(default)]
    checks: Vec<RawCheck>,
    reference: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    level: String,
    #[serde(default)]
    paths: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    path: PathBuf,
    vendor: Option<String>,
    repository: Option<String>,
    commit: Option<String>,
}

/// Reads `ruledex.toml` from `dir` when present. Root paths are relative to `dir`.
pub fn load(dir: &Path) -> Result<Option<Config>, String> {
    let path = dir.join(FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    parse(&text, dir)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str, dir: &Path) -> Result<Config, String> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut roots = Vec::new();
    for r in raw.roots {
        let vendor = match r.vendor.as_deref() {
            None => None,
            Some(v) => Some(Vendor::from_key(v).ok_or_else(|| {
                format!(
                    "unknown vendor `{v}` (expected one of: {})",
                    Vendor::ALL.map(|v| v.key()).join(", ")
                )
            })?),
        };
        roots.push(RootSpec {
            path: if r.path.is_absolute() {
                r.path
            } else {
                dir.join(r.path)
            },
            vendor,
            repo_url: r.repository,
            commit: r.commit,
        });
    }
    let d = Config::default();
    Ok(Config {
        title: raw.title.unwrap_or(d.title),
        base_url: raw.base_url.unwrap_or(d.base_url),
        roots,
        site_dir: dir.to_path_buf(),
        reference: raw
            .reference
            .map(|p| if p.is_absolute() { p } else { dir.join(p) }),
        checks: raw
            .checks
            .iter()
            .map(|c| CheckRule::parse(&c.id, &c.level, &c.paths))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roots_and_rejects_unknown_vendors() {
        let c = parse(
            "title = \"T\"\n[[roots]]\npath = \"sigma\"\nvendor = \"sigma\"\nrepository = \"https://x\"\ncommit = \"abc\"\n",
            Path::new("/site"),
        )
        .unwrap();
        assert_eq!(c.title, "T");
        assert_eq!(c.roots[0].path, PathBuf::from("/site/sigma"));
        assert_eq!(c.roots[0].vendor, Some(Vendor::Sigma));
        assert!(parse(
            "[[roots]]\npath = \"x\"\nvendor = \"nope\"\n",
            Path::new(".")
        )
        .is_err());
        assert!(parse("titel = \"typo\"\n", Path::new(".")).is_err());
    }
}
