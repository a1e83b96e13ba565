//! Panther rule files (not yet read: this format claims no file).

use crate::discover::{Root, SourceFile};
use crate::formats::{Format, Loaded};
use crate::model::Vendor;

pub struct Panther;

impl Format for Panther {
    fn vendor(&self) -> Vendor {
        Vendor::Panther
    }
    fn is_rule_file(&self, _file: &SourceFile) -> bool {
        false
    }
    fn load(&self, _root: &Root, _files: &[&SourceFile]) -> Loaded {
        Loaded::default()
    }
}
