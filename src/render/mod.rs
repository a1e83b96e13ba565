//! Rendering: pure functions of a `Build` into the output folder (HTML, Markdown, exports).

use crate::config::Config;
use crate::pipeline::Build;
use std::path::Path;

/// What a render wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub html_pages: usize,
    pub markdown_pages: usize,
    pub other_files: usize,
}

/// Writes the whole site into `out`.
pub fn site(_build: &Build, _config: &Config, _out: &Path) -> Result<Written, String> {
    Ok(Written::default())
}
