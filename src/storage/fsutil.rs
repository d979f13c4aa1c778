//! Filesystem helpers for crash-safe partition writes: fsync of files and
//! directories, atomic directory publication by rename, and size accounting.

use std::fs;
use std::io;
use std::path::Path;

/// fsyncs a directory so that renames and creations inside it are durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Writes a file and fsyncs it.
pub fn write_file_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Publishes a fully written temporary directory under its final name:
/// fsync the directory's files, rename, fsync the parent.
pub fn publish_dir(tmp: &Path, final_path: &Path) -> io::Result<()> {
    fsync_dir(tmp)?;
    fs::rename(tmp, final_path)?;
    if let Some(parent) = final_path.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Total size in bytes of the regular files under `dir` (recursively).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
