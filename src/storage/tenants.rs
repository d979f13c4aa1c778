//! A registry of one store per tenant, shared by the metrics, log and trace
//! stores: each tenant's store lives in `<root>/<tenant>/`, is opened on
//! first use (once, even when two requests race for a new tenant) or at
//! start for every tenant directory already on disk.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{FsyncMode, StorageConfig};
use crate::model::TenantId;
use crate::storage::wal::FsyncPolicy;

pub struct TenantMap<T> {
    root: PathBuf,
    map: RwLock<HashMap<String, Arc<T>>>,
    /// Serialises opening so two requests for a new tenant open it once.
    open_lock: Mutex<()>,
}

impl<T> TenantMap<T> {
    pub fn new(root: PathBuf) -> Self {
        TenantMap {
            root,
            map: RwLock::new(HashMap::new()),
            open_lock: Mutex::new(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The tenant's store if it is open.
    pub fn get(&self, t: &TenantId) -> Option<Arc<T>> {
        self.map.read().get(t.as_str()).cloned()
    }

    /// The tenant's store, opened with `open(dir)` on first use.
    pub fn get_or_open(
        &self,
        t: &TenantId,
        open: impl FnOnce(&Path) -> io::Result<T>,
    ) -> io::Result<Arc<T>> {
        if let Some(x) = self.get(t) {
            return Ok(x);
        }
        let _g = self.open_lock.lock();
        if let Some(x) = self.get(t) {
            return Ok(x);
        }
        let x = Arc::new(open(&self.root.join(t.as_str()))?);
        self.map.write().insert(t.as_str().to_string(), x.clone());
        Ok(x)
    }

    pub fn all(&self) -> Vec<Arc<T>> {
        self.map.read().values().cloned().collect()
    }

    /// Calls `open` for every tenant directory under the root (creating the
    /// root if needed); returns how many. Directories that are not tenant
    /// names are logged and skipped.
    pub fn open_existing(
        &self,
        mut open: impl FnMut(&TenantId) -> io::Result<()>,
    ) -> io::Result<usize> {
        std::fs::create_dir_all(&self.root)?;
        let mut n = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if !entry.path().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            match TenantId::parse(&name) {
                Ok(t) => {
                    open(&t)?;
                    n += 1;
                }
                Err(e) => {
                    tracing::warn!(dir = %entry.path().display(), error = %e, "ignoring directory that is not a tenant")
                }
            }
        }
        Ok(n)
    }
}

/// The WAL fsync policy the storage settings ask for.
pub fn fsync_policy(s: &StorageConfig) -> FsyncPolicy {
    match s.fsync {
        FsyncMode::Always => FsyncPolicy::Always,
        FsyncMode::Interval => FsyncPolicy::Interval(s.fsync_interval.0),
        FsyncMode::Never => FsyncPolicy::Never,
    }
}
