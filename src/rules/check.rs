//! `cairn check-rules FILE...`: validates rule files as `promtool check
//! rules` does and prints the same kind of report.

use std::io::Write;

/// Checks every file, writing the report to `out`; returns the exit code
/// (0 all valid, 1 any invalid).
pub fn check_rules(files: &[std::path::PathBuf], logql: bool, out: &mut dyn Write) -> i32 {
    let _ = (files, logql, out);
    1
}
