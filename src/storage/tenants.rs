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

/// A tenant store made of partitions that the shared disk cap can delete,
/// oldest data first.
pub trait CappedStore {
    /// The tenant's name (for logs).
    fn tenant_name(&self) -> &str;
    /// Bytes the store uses on disk.
    fn disk_bytes(&self) -> u64;
    /// How old the oldest partition's data is (smaller is older), if any.
    fn oldest_data(&self) -> Option<i64>;
    /// Deletes the oldest partition; false if there is none.
    fn delete_oldest(&self) -> io::Result<bool>;
}

impl<T: CappedStore> TenantMap<T> {
    /// Bytes all tenants' stores use on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.all().iter().map(|x| x.disk_bytes()).sum()
    }

    /// Deletes partitions, oldest data first across tenants, until these
    /// stores plus `other_bytes` (the other signals) fit in `cap` bytes
    /// (0: no cap); returns how many. `what` names the signal in logs.
    pub fn enforce_disk_cap(&self, cap: u64, other_bytes: u64, what: &str) -> usize {
        let mut deleted = 0;
        while cap > 0 && other_bytes + self.disk_bytes() > cap {
            let oldest = self
                .all()
                .into_iter()
                .filter_map(|x| x.oldest_data().map(|t| (t, x)))
                .min_by_key(|(t, _)| *t);
            let Some((_, x)) = oldest else { break };
            match x.delete_oldest() {
                Ok(true) => deleted += 1,
                Ok(false) => break,
                Err(e) => {
                    tracing::error!(tenant = %x.tenant_name(), error = %e, "deleting a {what} partition for the disk cap failed");
                    break;
                }
            }
        }
        deleted
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
