//! Splunk rule files (not yet read: this format claims no file).

use crate::discover::{Root, SourceFile};
use crate::formats::{Format, Loaded};
use crate::model::Vendor;

pub struct Splunk;

impl Format for Splunk {
    fn vendor(&self) -> Vendor {
        Vendor::Splunk
    }
    fn is_rule_file(&self, _file: &SourceFile) -> bool {
        false
    }
    fn load(&self, _root: &Root, _files: &[&SourceFile]) -> Loaded {
        Loaded::default()
    }
}
