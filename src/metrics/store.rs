//! The metrics store of all tenants: opens each tenant's [`Db`] on first use
//! (or at start-up for tenants already on disk), runs maintenance, and
//! enforces the disk-size cap across tenants, oldest blocks first.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::{Config, FsyncMode};
use crate::metrics::db::{Db, DbOptions, MaintenanceReport};
use crate::model::TenantId;
use crate::storage::clock::Clock;
use crate::storage::wal::{FsyncPolicy, WalOptions};

pub type FsyncObserver = Arc<dyn Fn(Duration) + Send + Sync>;

pub struct MetricsStore {
    root: PathBuf,
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    fsync_observer: Option<FsyncObserver>,
    dbs: RwLock<HashMap<String, Arc<Db>>>,
    /// Serialises opening so two requests for a new tenant open it once.
    open_lock: parking_lot::Mutex<()>,
}

impl MetricsStore {
    pub fn new(
        cfg: Arc<Config>,
        clock: Arc<dyn Clock>,
        fsync_observer: Option<FsyncObserver>,
    ) -> Self {
        MetricsStore {
            root: cfg.storage.data_dir.join("metrics"),
            cfg,
            clock,
            fsync_observer,
            dbs: RwLock::new(HashMap::new()),
            open_lock: parking_lot::Mutex::new(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn options_for(&self, tenant: &str) -> DbOptions {
        let fsync = match self.cfg.storage.fsync {
            FsyncMode::Always => FsyncPolicy::Always,
            FsyncMode::Interval => FsyncPolicy::Interval(self.cfg.storage.fsync_interval.0),
            FsyncMode::Never => FsyncPolicy::Never,
        };
        let limits = self.cfg.limits_for(tenant);
        DbOptions {
            block_ms: self.cfg.metrics.block_duration.as_millis_i64(),
            ooo_window_ms: self.cfg.metrics.out_of_order_window.as_millis_i64(),
            retention_ms: self
                .cfg
                .metrics_retention(tenant)
                .as_millis()
                .min(i64::MAX as u128) as i64,
            max_exemplars: self.cfg.metrics.max_exemplars,
            max_series: limits.max_series,
            future_grace_ms: limits.creation_grace_period.as_millis_i64(),
            wal: WalOptions {
                segment_size: self.cfg.storage.wal_segment_size.0,
                fsync,
                fsync_observer: self.fsync_observer.clone(),
            },
        }
    }

    /// Opens every tenant that already has data (WAL replay happens here).
    pub fn open_existing(&self) -> io::Result<usize> {
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
                    self.tenant(&t)?;
                    n += 1;
                }
                Err(e) => {
                    tracing::warn!(dir = %entry.path().display(), error = %e, "ignoring directory that is not a tenant")
                }
            }
        }
        Ok(n)
    }

    /// The tenant's TSDB, opened on first use.
    pub fn tenant(&self, tenant: &TenantId) -> io::Result<Arc<Db>> {
        if let Some(db) = self.dbs.read().get(tenant.as_str()) {
            return Ok(db.clone());
        }
        let _g = self.open_lock.lock();
        if let Some(db) = self.dbs.read().get(tenant.as_str()) {
            return Ok(db.clone());
        }
        let dir = self.root.join(tenant.as_str());
        let db = Arc::new(Db::open(
            tenant.as_str(),
            &dir,
            self.options_for(tenant.as_str()),
            self.clock.clone(),
        )?);
        self.dbs
            .write()
            .insert(tenant.as_str().to_string(), db.clone());
        Ok(db)
    }

    /// The tenant's TSDB if it exists (queries on unknown tenants see nothing).
    pub fn existing(&self, tenant: &TenantId) -> Option<Arc<Db>> {
        self.dbs.read().get(tenant.as_str()).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Db>> {
        self.dbs.read().values().cloned().collect()
    }

    /// Runs maintenance on every tenant, then the disk cap.
    pub fn maintain(&self) -> MaintenanceReport {
        let mut total = MaintenanceReport::default();
        for db in self.all() {
            match db.maintain() {
                Ok(r) => {
                    total.blocks_sealed += r.blocks_sealed;
                    total.blocks_compacted += r.blocks_compacted;
                    total.blocks_deleted += r.blocks_deleted;
                }
                Err(e) => {
                    tracing::error!(tenant = %db.tenant, error = %e, "metrics maintenance failed")
                }
            }
        }
        match self.enforce_disk_cap(self.cfg.storage.max_disk_bytes.0) {
            Ok(n) => total.blocks_deleted += n,
            Err(e) => tracing::error!(error = %e, "disk cap enforcement failed"),
        }
        total
    }

    /// Deletes the oldest blocks across tenants until the total is under `cap`
    /// (0 = no cap). The head and WAL are never deleted.
    pub fn enforce_disk_cap(&self, cap: u64) -> io::Result<usize> {
        if cap == 0 {
            return Ok(0);
        }
        let dbs = self.all();
        let mut total: u64 = dbs.iter().map(|d| d.disk_bytes()).sum();
        let mut candidates: Vec<(Arc<Db>, Arc<crate::metrics::block::Block>)> = dbs
            .iter()
            .flat_map(|d| d.blocks().into_iter().map(move |b| (d.clone(), b)))
            .collect();
        candidates.sort_by_key(|(_, b)| (b.meta.max_t, b.meta.min_t));
        let mut deleted = 0;
        for (db, b) in candidates {
            if total <= cap {
                break;
            }
            total = total.saturating_sub(b.size_bytes());
            db.delete_block(&b)?;
            tracing::warn!(tenant = %db.tenant, block = %b.meta.id, "deleted block to stay under the disk cap");
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Closes every tenant's WAL (shutdown).
    pub fn close(&self) {
        for db in self.all() {
            if let Err(e) = db.close() {
                tracing::error!(tenant = %db.tenant, error = %e, "closing WAL failed");
            }
        }
    }
}
