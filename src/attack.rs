//! MITRE ATT&CK facts embedded in the binary (to be generated).
