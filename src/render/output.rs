//! The only way rendering touches the disk: `Output::write(rel, bytes)` under one folder.
//!
//! Every path is a `/`-separated relative path made of catalog slugs; a component that is
//! empty, `.`, `..`, absolute or holds a separator is refused, and no write goes through a
//! symbolic link. Files that an earlier build wrote (listed in `.ruledex-files`) and this
//! build did not are deleted; nothing else in the folder is ever removed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The list of files written by the last build, relative to the output folder.
pub const MANIFEST: &str = ".ruledex-files";

pub struct Output {
    root: PathBuf,
    written: Mutex<BTreeSet<String>>,
    dirs: Mutex<BTreeSet<String>>,
}

/// Checks a relative output path: components of letters, digits, `.`, `_`, `-`, never
/// `.`/`..`, never empty, never absolute.
pub fn check_rel(rel: &str) -> Result<(), String> {
    if rel.is_empty() || rel.starts_with('/') {
        return Err(format!("refusing to write `{rel}`: not a relative path"));
    }
    for c in rel.split('/') {
        let ok = !c.is_empty()
            && c != "."
            && c != ".."
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'));
        if !ok {
            return Err(format!(
                "refusing to write `{rel}`: bad path component `{c}`"
            ));
        }
    }
    Ok(())
}

impl Output {
    /// Creates the output folder (and its parents) when missing.
    pub fn create(root: &Path) -> Result<Output, String> {
        fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        Ok(Output {
            root: root.to_path_buf(),
            written: Mutex::new(BTreeSet::new()),
            dirs: Mutex::new(BTreeSet::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` to `<out>/<rel>`, creating folders inside `out` as needed.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), String> {
        check_rel(rel)?;
        if let Some((dir, _)) = rel.rsplit_once('/') {
            self.ensure_dir(dir)?;
        }
        let path = self.root.join(rel);
        // Never write through a link planted in the output folder.
        let unchanged = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() || meta.is_dir() => {
                return Err(format!(
                    "refusing to write {}: it is a link or a folder",
                    path.display()
                ));
            }
            // A file with the same bytes is left alone: rebuilds touch only what changed.
            Ok(meta) => {
                meta.len() == bytes.len() as u64 && fs::read(&path).is_ok_and(|old| old == bytes)
            }
            Err(_) => false,
        };
        if !unchanged {
            fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rel.to_string());
        Ok(())
    }

    /// Creates `<out>/<dir>` one component at a time, refusing links.
    fn ensure_dir(&self, dir: &str) -> Result<(), String> {
        if self
            .dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        let mut path = self.root.clone();
        for c in dir.split('/') {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
                Ok(_) => {
                    return Err(format!(
                        "refusing to write into {}: not a plain folder",
                        path.display()
                    ))
                }
                Err(_) => match fs::create_dir(&path) {
                    Ok(()) => {}
                    // Another thread made it meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
                },
            }
        }
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_string());
        Ok(())
    }

    /// Deletes what the previous build wrote and this one did not, then records this
    /// build's files. Returns how many stale files were removed.
    pub fn finish(&self) -> Result<usize, String> {
        let written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let manifest = self.root.join(MANIFEST);
        let mut removed = 0;
        if let Ok(old) = fs::read_to_string(&manifest) {
            for rel in old.lines() {
                if written.contains(rel) || check_rel(rel).is_err() {
                    continue;
                }
                if !self.parents_are_plain_dirs(rel) {
                    continue;
                }
                let path = self.root.join(rel);
                let is_file = fs::symlink_metadata(&path)
                    .map(|m| m.is_file())
                    .unwrap_or(false);
                if is_file && fs::remove_file(&path).is_ok() {
                    removed += 1;
                    self.remove_empty_parents(rel);
                }
            }
        }
        let mut list = String::new();
        for rel in written.iter() {
            list.push_str(rel);
            list.push('\n');
        }
        fs::write(&manifest, list)
            .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
        Ok(removed)
    }

    /// True when every folder on the way to `rel` is a plain folder (no link to elsewhere).
    fn parents_are_plain_dirs(&self, rel: &str) -> bool {
        let mut path = self.root.clone();
        let parts: Vec<&str> = rel.split('/').collect();
        for c in &parts[..parts.len() - 1] {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
                _ => return false,
            }
        }
        true
    }

    /// Removes the now-empty folders above a deleted file, up to (not including) `out`.
    fn remove_empty_parents(&self, rel: &str) {
        let mut dir = rel;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            // `remove_dir` only succeeds on an empty folder.
            if fs::remove_dir(self.root.join(parent)).is_err() {
                break;
            }
            dir = parent;
        }
    }

    pub fn files_written(&self) -> usize {
        self.written.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_paths() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "C:x",
            "a/b c",
        ] {
            assert!(check_rel(bad).is_err(), "{bad}");
        }
        assert!(check_rel("rules/sigma/a-b_c.1.html").is_ok());
    }

    #[test]
    fn writes_and_cleans_only_its_own_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let out = Output::create(dir.path()).unwrap();
        out.write("a/b/one.html", b"1").unwrap();
        out.write("a/two.html", b"2").unwrap();
        out.finish().unwrap();
        let out = Output::create(dir.path()).unwrap();
        out.write("a/two.html", b"2").unwrap();
        assert_eq!(out.finish().unwrap(), 1);
        assert!(!dir.path().join("a/b").exists());
        assert!(dir.path().join("a/two.html").exists());
        assert!(dir.path().join("keep.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("rules")).unwrap();
        let out = Output::create(dir.path()).unwrap();
        assert!(out.write("rules/x.html", b"x").is_err());
        assert!(!outside.path().join("x.html").exists());
    }
}
