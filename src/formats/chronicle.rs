//! Chronicle rule files (not yet read: this format claims no file).

use crate::discover::{Root, SourceFile};
use crate::formats::{Format, Loaded};
use crate::model::Vendor;

pub struct Chronicle;

impl Format for Chronicle {
    fn vendor(&self) -> Vendor {
        Vendor::Chronicle
    }
    fn is_rule_file(&self, _file: &SourceFile) -> bool {
        false
    }
    fn load(&self, _root: &Root, _files: &[&SourceFile]) -> Loaded {
        Loaded::default()
    }
}
