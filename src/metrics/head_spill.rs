//! Closed head chunks spilled to disk, so that a full head costs page cache
//! rather than process memory (Prometheus memory-maps its closed head
//! chunks for the same reason; here they are read back with `pread`).
//!
//! Chunks never straddle a block boundary, so each block window gets its own
//! file, and sealing a window deletes its file whole. The files are a cache
//! of data the WAL and checkpoints already hold durably: they are never
//! fsynced, and start-up clears them.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// One window's file of spilled chunks.
#[derive(Debug)]
pub struct SpillFile {
    file: File,
    len: AtomicU64,
}

impl SpillFile {
    /// Reads `len` bytes at `offset`.
    pub fn read(&self, offset: u64, len: u32) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
}

/// The spill files of one head, keyed by block window index.
#[derive(Debug)]
pub struct SpillFiles {
    dir: PathBuf,
    block_ms: i64,
    files: Mutex<BTreeMap<i64, Arc<SpillFile>>>,
}

impl SpillFiles {
    /// Opens the directory, discarding files of a previous run.
    pub fn open(dir: &Path, block_ms: i64) -> io::Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
        Ok(SpillFiles {
            dir: dir.to_path_buf(),
            block_ms,
            files: Mutex::new(BTreeMap::new()),
        })
    }

    /// The window a chunk starting at `t` belongs to.
    pub fn window_of(&self, t: i64) -> i64 {
        t.div_euclid(self.block_ms)
    }

    /// Appends `data` to the window's file in one write; returns the file
    /// and the offset the data starts at.
    pub fn append(&self, window: i64, data: &[u8]) -> io::Result<(Arc<SpillFile>, u64)> {
        let f = {
            let mut files = self.files.lock();
            match files.get(&window) {
                Some(f) => f.clone(),
                None => {
                    let file = OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(self.dir.join(format!("{window}")))?;
                    let f = Arc::new(SpillFile {
                        file,
                        len: AtomicU64::new(0),
                    });
                    files.insert(window, f.clone());
                    f
                }
            }
        };
        let offset = f.len.fetch_add(data.len() as u64, Ordering::SeqCst);
        f.file.write_all_at(data, offset)?;
        Ok((f, offset))
    }

    /// Deletes the files of every window that ends at or before `boundary`.
    /// Readers holding a file keep reading it until they let go.
    pub fn drop_before(&self, boundary: i64) {
        let mut files = self.files.lock();
        let doomed: Vec<i64> = files
            .keys()
            .copied()
            .filter(|w| (w + 1).saturating_mul(self.block_ms) <= boundary)
            .collect();
        for w in doomed {
            files.remove(&w);
            if let Err(e) = fs::remove_file(self.dir.join(format!("{w}"))) {
                tracing::warn!(window = w, error = %e, "cannot remove spilled head chunks");
            }
        }
    }

    pub fn disk_bytes(&self) -> u64 {
        self.files
            .lock()
            .values()
            .map(|f| f.len.load(Ordering::Relaxed))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_and_drop_windows() {
        let dir = tempfile::tempdir().unwrap();
        let sp = SpillFiles::open(&dir.path().join("hc"), 1000).unwrap();
        let (f, off) = sp.append(0, b"hello").unwrap();
        let (g, off2) = sp.append(0, b"world").unwrap();
        assert_eq!((off, off2), (0, 5));
        assert_eq!(f.read(0, 5).unwrap(), b"hello");
        assert_eq!(g.read(5, 5).unwrap(), b"world");
        sp.append(3, b"later").unwrap();
        assert_eq!(sp.disk_bytes(), 15);
        sp.drop_before(1000);
        assert_eq!(sp.disk_bytes(), 5);
        assert!(!dir.path().join("hc/0").exists());
        assert!(dir.path().join("hc/3").exists());
        assert_eq!(
            f.read(0, 5).unwrap(),
            b"hello",
            "an open handle still reads"
        );
        // Reopening starts clean.
        let sp = SpillFiles::open(&dir.path().join("hc"), 1000).unwrap();
        assert_eq!(sp.disk_bytes(), 0);
        assert!(!dir.path().join("hc/3").exists());
    }
}
