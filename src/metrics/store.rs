//! The metrics store of all tenants: opens each tenant's [`Db`] on first use
//! (or at start-up for tenants already on disk), runs maintenance, and
//! enforces the disk-size cap across tenants, oldest blocks first.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::metrics::db::{Db, DbOptions, MaintenanceReport};
use crate::model::TenantId;
use crate::storage::clock::Clock;
use crate::storage::tenants::TenantMap;
use crate::storage::wal::WalOptions;

pub type FsyncObserver = Arc<dyn Fn(Duration) + Send + Sync>;

pub struct MetricsStore {
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    fsync_observer: Option<FsyncObserver>,
    dbs: TenantMap<Db>,
}

impl MetricsStore {
    pub fn new(
        cfg: Arc<Config>,
        clock: Arc<dyn Clock>,
        fsync_observer: Option<FsyncObserver>,
    ) -> Self {
        MetricsStore {
            dbs: TenantMap::new(cfg.storage.data_dir.join("metrics")),
            cfg,
            clock,
            fsync_observer,
        }
    }

    pub fn root(&self) -> &Path {
        self.dbs.root()
    }

    fn options_for(&self, tenant: &str) -> DbOptions {
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
                fsync: crate::storage::tenants::fsync_policy(&self.cfg.storage),
                fsync_observer: self.fsync_observer.clone(),
            },
        }
    }

    /// Opens every tenant that already has data (WAL replay happens here).
    pub fn open_existing(&self) -> io::Result<usize> {
        self.dbs.open_existing(|t| self.tenant(t).map(|_| ()))
    }

    /// The tenant's TSDB, opened on first use.
    pub fn tenant(&self, tenant: &TenantId) -> io::Result<Arc<Db>> {
        self.dbs.get_or_open(tenant, |dir| {
            Db::open(
                tenant.as_str(),
                dir,
                self.options_for(tenant.as_str()),
                self.clock.clone(),
            )
        })
    }

    /// The tenant's TSDB if it exists (queries on unknown tenants see nothing).
    pub fn existing(&self, tenant: &TenantId) -> Option<Arc<Db>> {
        self.dbs.get(tenant)
    }

    pub fn all(&self) -> Vec<Arc<Db>> {
        self.dbs.all()
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
