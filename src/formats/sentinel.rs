//! Sentinel rule files (not yet read: this format claims no file).

use crate::discover::{Root, SourceFile};
use crate::formats::{Format, Loaded};
use crate::model::Vendor;

pub struct Sentinel;

impl Format for Sentinel {
    fn vendor(&self) -> Vendor {
        Vendor::Sentinel
    }
    fn is_rule_file(&self, _file: &SourceFile) -> bool {
        false
    }
    fn load(&self, _root: &Root, _files: &[&SourceFile]) -> Loaded {
        Loaded::default()
    }
}
