//! Write-ahead log (WAL): a generic, signal-agnostic, crash-safe log of opaque
//! byte records in one directory, shared by the metrics head and (later) the
//! logs and traces stores. This module owns the on-disk WAL format (segments
//! and checkpoints), group-committed appends, fsync policy, replay with
//! torn-tail repair, and checkpoint-based truncation. It knows nothing about
//! what the records mean.
//!
//! # On-disk layout
//!
//! ```text
//! <dir>/00000000             segment 0
//! <dir>/00000001             segment 1 ...
//! <dir>/checkpoint.00000005  state of everything before segment 5
//! <dir>/checkpoint.00000005.tmp  (transient, removed on open)
//! ```
//!
//! Segments and checkpoints are sequences of records framed as
//! `[u32 LE payload length][u32 LE crc32 (IEEE, `crc32fast`) of payload][payload]`.
//! Empty records are rejected on append (a zero-filled region of a file would
//! otherwise parse as a valid empty record), so a zero length on disk is treated
//! as corruption. A segment holds at most `segment_size` bytes, except that a
//! single record larger than that goes whole into its own segment.
//!
//! # Group commit
//!
//! [`Wal::append`] is a blocking call meant to be used from many threads at
//! once. Callers copy their framed records into one shared pending buffer
//! (the only copy of a record made by the WAL); the first caller that finds no
//! write in progress becomes the *leader*, takes the whole pending buffer,
//! writes it with one `write` per segment touched and does one `fdatasync`
//! (under [`FsyncPolicy::Always`]), then wakes everybody whose records were in
//! that batch. Callers arriving meanwhile accumulate the next batch. The
//! pending buffer is bounded (16 MiB plus one call's records); callers block
//! when it is full.
//!
//! # Errors
//!
//! * A failed *write* (e.g. `ENOSPC`) fails every caller of that batch with the
//!   error; the batch is rolled back (the segment is truncated to its length
//!   before the batch and segments created by the batch are removed) and the
//!   WAL stays usable. As with any WAL, a record whose append failed may still
//!   show up in a replay after a crash.
//! * A failed *fsync* (or a failed rollback) marks the WAL **broken**: after an
//!   fsync error the kernel may have dropped dirty pages, so nothing written
//!   since the last good fsync can be trusted. Every later call returns an
//!   error whose message starts with `WAL is broken`; reopen the WAL (replay
//!   repairs the tail) to recover.
//! * After [`Wal::close`], every call fails with an error whose message starts
//!   with `WAL is closed`.
//!
//! # Replay
//!
//! [`Wal::open`] replays the newest checkpoint and then every segment with an
//! index >= the checkpoint's, in order. A torn or corrupt tail of the last
//! non-empty segment is truncated away; corruption in an earlier segment ends
//! the replay of that segment (counted in [`ReplayStats::corrupt_segments`]).
//! I/O errors while reading are returned (they are not corruption). After
//! replay, appends go to a fresh segment (`last + 1`), unless the newest
//! segment is empty, in which case that segment is reused.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

/// Default maximum segment size: 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 * 1024 * 1024;

/// Size of the record header: payload length + crc32, both u32 LE.
const HEADER_LEN: usize = 8;
/// Appenders block once this many bytes are waiting for the next batch.
const MAX_PENDING_BYTES: usize = 16 << 20;
/// Largest batch buffer kept around for reuse.
const SPARE_BUFFER_MAX: usize = 16 << 20;
/// Read buffer used during replay.
const READ_BUFFER: usize = 1 << 20;
/// Write buffer used when writing a checkpoint.
const CHECKPOINT_WRITE_BUFFER: usize = 1 << 20;
/// Rejected records logged individually per replay (the rest are only counted).
const MAX_REJECT_LOGS: u64 = 10;

const CHECKPOINT_PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

/// When appended data is forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// `append` returns only after its batch has been fsync'ed (default).
    #[default]
    Always,
    /// `append` returns after the write; a background thread fsyncs the
    /// current segment at this interval (and segments are fsync'ed when
    /// rotated). Must be non-zero.
    Interval(Duration),
    /// Never fsync on append or automatic rotation; the OS flushes eventually.
    /// `rotate`, checkpoints and `close` still fsync.
    Never,
}

/// Options for [`Wal::open`].
#[derive(Clone)]
pub struct WalOptions {
    /// Maximum size of a segment in bytes (a larger single record still goes
    /// whole into its own segment). Must be non-zero.
    pub segment_size: u64,
    /// When data is fsync'ed.
    pub fsync: FsyncPolicy,
    /// Called with the latency of every fsync of a segment or checkpoint file
    /// (not of directory fsyncs). Called from the writing thread; keep it cheap.
    /// A panic in the observer is caught and ignored.
    pub fsync_observer: Option<Arc<dyn Fn(Duration) + Send + Sync>>,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            fsync: FsyncPolicy::Always,
            fsync_observer: None,
        }
    }
}

impl std::fmt::Debug for WalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalOptions")
            .field("segment_size", &self.segment_size)
            .field("fsync", &self.fsync)
            .field("fsync_observer", &self.fsync_observer.is_some())
            .finish()
    }
}

/// What [`Wal::open`] found while replaying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Segment files replayed (the checkpoint is not counted here).
    pub segments: u64,
    /// Records accepted by `on_record` (checkpoint records included).
    pub records: u64,
    /// Framed bytes (header + payload) of all intact records read, checkpoint
    /// included, whether accepted or rejected.
    pub bytes: u64,
    /// Bytes truncated from the end of the last segment (torn/corrupt tail).
    pub torn_tail_bytes_cut: u64,
    /// Earlier segments (or the checkpoint) whose replay stopped at a corrupt
    /// record.
    pub corrupt_segments: u64,
    /// Records that `on_record` rejected (skipped).
    pub rejected_records: u64,
    /// Wall time of the whole replay.
    pub duration: Duration,
}

/// A write-ahead log. `Send + Sync`; share it with `Arc`.
pub struct Wal {
    shared: Arc<Shared>,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("current_segment", &self.current_segment())
            .finish()
    }
}

/// Error information that can be handed to every caller of a batch.
#[derive(Debug, Clone)]
struct SharedError {
    kind: io::ErrorKind,
    msg: String,
}

impl SharedError {
    fn from_io(context: &str, e: &io::Error) -> Self {
        SharedError {
            kind: e.kind(),
            msg: format!("{context}: {e}"),
        }
    }

    fn to_io(&self) -> io::Error {
        io::Error::new(self.kind, self.msg.clone())
    }
}

/// Result slot shared by all callers whose records are in one batch.
type BatchSlot = Arc<OnceLock<Result<(), SharedError>>>;

/// Failure inside the writer.
enum Fail {
    /// The operation failed but the on-disk state is consistent (rolled back).
    Recoverable(io::Error),
    /// The WAL can no longer guarantee durability (fsync or rollback failed).
    Fatal(io::Error),
}

/// The segment currently being appended to. Owned by whoever holds the
/// leader role.
struct Writer {
    index: u64,
    file: Arc<File>,
    size: u64,
    /// Bytes written since the last fsync by the leader.
    dirty: bool,
}

struct State {
    /// Framed records waiting for the next batch.
    pending: Vec<u8>,
    /// Result slot of the pending batch.
    pending_slot: BatchSlot,
    /// Reusable buffer for the next pending batch.
    spare: Vec<u8>,
    /// Someone holds the writer (a batch, rotation or checkpoint is running).
    leader_active: bool,
    /// `None` while a leader holds it, and after close.
    writer: Option<Writer>,
    closed: bool,
    broken: Option<String>,
}

impl State {
    fn check_usable(&self) -> io::Result<()> {
        if self.closed {
            return Err(closed_error());
        }
        if let Some(msg) = &self.broken {
            return Err(broken_error(msg));
        }
        Ok(())
    }
}

struct Shared {
    dir: PathBuf,
    opts: WalOptions,
    state: Mutex<State>,
    cond: Condvar,
    current_segment: AtomicU64,
    /// Current segment file, for the interval syncer.
    current_file: Mutex<Arc<File>>,
    disk_bytes: AtomicU64,
    /// Data was written since the interval syncer last ran.
    needs_sync: AtomicBool,
    /// Serializes checkpoints; holds the newest checkpoint's index.
    checkpoint: Mutex<Option<u64>>,
    stop_syncer: Mutex<bool>,
    stop_cond: Condvar,
    #[cfg(test)]
    faults: test_faults::Faults,
}

fn closed_error() -> io::Error {
    io::Error::other("WAL is closed")
}

fn broken_error(msg: &str) -> io::Error {
    io::Error::other(format!(
        "WAL is broken ({msg}); reopen it to recover via replay"
    ))
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn segment_name(index: u64) -> String {
    format!("{index:08}")
}

fn checkpoint_name(index: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{index:08}")
}

fn parse_index(s: &str) -> Option<u64> {
    if s.len() >= 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Build the header for one record, validating it.
fn frame_header(record: &[u8]) -> io::Result<[u8; HEADER_LEN]> {
    if record.is_empty() {
        return Err(invalid_input("WAL records must not be empty".into()));
    }
    let len = u32::try_from(record.len()).map_err(|_| {
        invalid_input(format!(
            "WAL record of {} bytes exceeds the 4 GiB limit",
            record.len()
        ))
    })?;
    let crc = crc32fast::hash(record);
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&len.to_le_bytes());
    h[4..].copy_from_slice(&crc.to_le_bytes());
    Ok(h)
}

/// fsync a directory so that file creations, renames and deletions in it are
/// durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Files found in a WAL directory: `(index, size)` sorted by index.
#[derive(Default)]
struct Listing {
    segments: Vec<(u64, u64)>,
    checkpoints: Vec<(u64, u64)>,
    tmps: Vec<PathBuf>,
}

fn list_dir(dir: &Path) -> io::Result<Listing> {
    let mut l = Listing::default();
    let rd = fs::read_dir(dir).map_err(|e| with_path(e, "reading WAL directory", dir))?;
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ty = entry.file_type()?;
        if !ty.is_file() {
            continue;
        }
        if let Some(idx) = parse_index(name) {
            l.segments.push((idx, entry.metadata()?.len()));
        } else if let Some(rest) = name.strip_prefix(CHECKPOINT_PREFIX) {
            if rest.ends_with(TMP_SUFFIX) {
                l.tmps.push(entry.path());
            } else if let Some(idx) = parse_index(rest) {
                l.checkpoints.push((idx, entry.metadata()?.len()));
            }
        }
    }
    l.segments.sort_unstable();
    l.checkpoints.sort_unstable();
    Ok(l)
}

/// Read until `buf` is full or EOF; returns the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How reading a file ended.
enum FileEnd {
    Clean,
    /// The record at `good_len` is bad; everything before it is intact.
    Bad {
        good_len: u64,
        reason: &'static str,
    },
}

struct FileReplay {
    records: u64,
    rejected: u64,
    bytes: u64,
    file_len: u64,
    end: FileEnd,
}

/// Replay every intact record of one file, stopping at the first bad one.
fn replay_file(
    path: &Path,
    on_record: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    rejects_logged: &mut u64,
) -> io::Result<FileReplay> {
    let file = File::open(path).map_err(|e| with_path(e, "opening WAL file", path))?;
    let file_len = file
        .metadata()
        .map_err(|e| with_path(e, "stat of WAL file", path))?
        .len();
    let cap = usize::try_from(file_len)
        .unwrap_or(READ_BUFFER)
        .clamp(HEADER_LEN, READ_BUFFER);
    let mut r = BufReader::with_capacity(cap, file);
    let mut out = FileReplay {
        records: 0,
        rejected: 0,
        bytes: 0,
        file_len,
        end: FileEnd::Clean,
    };
    let mut off = 0u64;
    let mut payload = Vec::new();
    let read_err = |e: io::Error| with_path(e, "reading WAL file", path);
    loop {
        let mut hdr = [0u8; HEADER_LEN];
        let n = read_full(&mut r, &mut hdr).map_err(read_err)?;
        if n == 0 {
            break;
        }
        let bad = |reason| FileEnd::Bad {
            good_len: off,
            reason,
        };
        if n < HEADER_LEN {
            out.end = bad("short record header");
            break;
        }
        let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let crc = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        if len == 0 {
            out.end = bad("zero record length");
            break;
        }
        let framed = HEADER_LEN as u64 + u64::from(len);
        if off + framed > file_len {
            out.end = bad("short record payload");
            break;
        }
        payload.clear();
        let got = r
            .by_ref()
            .take(u64::from(len))
            .read_to_end(&mut payload)
            .map_err(read_err)?;
        if got != len as usize {
            out.end = bad("short record payload");
            break;
        }
        if crc32fast::hash(&payload) != crc {
            out.end = bad("record checksum mismatch");
            break;
        }
        match on_record(&payload) {
            Ok(()) => out.records += 1,
            Err(reason) => {
                out.rejected += 1;
                if *rejects_logged < MAX_REJECT_LOGS {
                    *rejects_logged += 1;
                    tracing::warn!(
                        file = %path.display(),
                        offset = off,
                        %reason,
                        "WAL replay: record rejected, skipping it"
                    );
                }
            }
        }
        out.bytes += framed;
        off += framed;
    }
    Ok(out)
}

/// Create a new, empty segment file and make its directory entry durable.
fn create_segment(dir: &Path, index: u64, sync: bool) -> io::Result<File> {
    let path = dir.join(segment_name(index));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| with_path(e, "creating WAL segment", &path))?;
    if sync {
        if let Err(e) = sync_dir(dir) {
            let _ = fs::remove_file(&path);
            return Err(with_path(e, "syncing WAL directory", dir));
        }
    }
    Ok(file)
}

/// Write a checkpoint file, fsync it and return its size.
fn write_checkpoint_file(
    shared: &Shared,
    path: &Path,
    records: impl Iterator<Item = io::Result<Vec<u8>>>,
) -> io::Result<u64> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| with_path(e, "creating WAL checkpoint", path))?;
    let mut w = BufWriter::with_capacity(CHECKPOINT_WRITE_BUFFER, file);
    let mut total = 0u64;
    for rec in records {
        let rec = rec?;
        let hdr = frame_header(&rec)?;
        w.write_all(&hdr)?;
        w.write_all(&rec)?;
        total += (HEADER_LEN + rec.len()) as u64;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    let t = Instant::now();
    file.sync_all()?;
    shared.observe_fsync(t.elapsed());
    Ok(total)
}

impl Shared {
    fn segment_path(&self, index: u64) -> PathBuf {
        self.dir.join(segment_name(index))
    }

    fn observe_fsync(&self, d: Duration) {
        if let Some(obs) = &self.opts.fsync_observer {
            let _ = catch_unwind(AssertUnwindSafe(|| obs(d)));
        }
    }

    fn mark_broken(&self, st: &mut State, e: &io::Error) {
        if st.broken.is_none() {
            tracing::error!(dir = %self.dir.display(), error = %e, "WAL is broken; further writes will fail until it is reopened");
            st.broken = Some(e.to_string());
        }
    }

    fn sync_writer(&self, w: &mut Writer) -> io::Result<()> {
        let t = Instant::now();
        #[cfg(test)]
        self.faults.check_sync()?;
        w.file.sync_data()?;
        self.observe_fsync(t.elapsed());
        w.dirty = false;
        Ok(())
    }

    fn set_current(&self, w: &Writer) {
        self.current_segment.store(w.index, Ordering::Release);
        *self.current_file.lock() = Arc::clone(&w.file);
    }

    /// Finish the current segment and switch to a new one.
    fn rotate_writer(&self, w: &mut Writer, fsync_old: bool) -> Result<(), Fail> {
        if fsync_old && w.dirty {
            self.sync_writer(w).map_err(Fail::Fatal)?;
        }
        let next = w.index + 1;
        let sync = self.opts.fsync != FsyncPolicy::Never;
        let file = create_segment(&self.dir, next, sync).map_err(Fail::Recoverable)?;
        *w = Writer {
            index: next,
            file: Arc::new(file),
            size: 0,
            dirty: false,
        };
        self.set_current(w);
        Ok(())
    }

    fn write_chunk(&self, w: &mut Writer, data: &[u8], added: &mut u64) -> Result<(), Fail> {
        #[cfg(test)]
        self.faults
            .check_write(&w.file, data)
            .map_err(Fail::Recoverable)?;
        (&*w.file).write_all(data).map_err(Fail::Recoverable)?;
        let n = data.len() as u64;
        w.size += n;
        w.dirty = true;
        *added += n;
        self.disk_bytes.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Write `batch` (a sequence of framed records), rotating segments as
    /// needed so that no record straddles two segments.
    fn write_records(
        &self,
        w: &mut Writer,
        batch: &[u8],
        added: &mut u64,
        created: &mut Vec<u64>,
    ) -> Result<(), Fail> {
        let seg_size = self.opts.segment_size;
        let fsync_on_rotate = self.opts.fsync != FsyncPolicy::Never;
        let mut pos = 0usize;
        let mut chunk_start = 0usize;
        let mut fill = w.size;
        while pos + HEADER_LEN <= batch.len() {
            let len =
                u32::from_le_bytes([batch[pos], batch[pos + 1], batch[pos + 2], batch[pos + 3]]);
            let framed = HEADER_LEN as u64 + u64::from(len);
            if fill > 0 && fill + framed > seg_size {
                if pos > chunk_start {
                    self.write_chunk(w, &batch[chunk_start..pos], added)?;
                }
                self.rotate_writer(w, fsync_on_rotate)?;
                created.push(w.index);
                chunk_start = pos;
                fill = 0;
            }
            fill += framed;
            pos += HEADER_LEN + len as usize;
        }
        if batch.len() > chunk_start {
            self.write_chunk(w, &batch[chunk_start..], added)?;
        }
        Ok(())
    }

    /// Undo a failed batch: remove segments it created and truncate the
    /// segment it started in back to its previous length.
    fn rollback(
        &self,
        w: &mut Writer,
        start_index: u64,
        start_size: u64,
        created: &[u64],
    ) -> io::Result<()> {
        for &idx in created.iter().rev() {
            match fs::remove_file(self.segment_path(idx)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if w.index != start_index {
            let file = OpenOptions::new()
                .write(true)
                .open(self.segment_path(start_index))?;
            *w = Writer {
                index: start_index,
                file: Arc::new(file),
                size: start_size,
                dirty: true,
            };
            self.set_current(w);
        }
        w.file.set_len(start_size)?;
        (&*w.file).seek(SeekFrom::Start(start_size))?;
        w.size = start_size;
        w.dirty = true;
        Ok(())
    }

    /// Write one batch and make it durable according to the policy.
    fn write_batch(&self, w: &mut Writer, batch: &[u8]) -> Result<(), Fail> {
        let (start_index, start_size) = (w.index, w.size);
        let mut added = 0u64;
        let mut created = Vec::new();
        match self.write_records(w, batch, &mut added, &mut created) {
            Ok(()) => {}
            Err(Fail::Recoverable(e)) => {
                self.disk_bytes.fetch_sub(added, Ordering::Relaxed);
                return match self.rollback(w, start_index, start_size, &created) {
                    Ok(()) => {
                        tracing::warn!(dir = %self.dir.display(), error = %e, "WAL write failed; batch rolled back");
                        Err(Fail::Recoverable(e))
                    }
                    Err(re) => Err(Fail::Fatal(io::Error::new(
                        e.kind(),
                        format!("{e}; rolling back the failed write also failed: {re}"),
                    ))),
                };
            }
            Err(fatal) => return Err(fatal),
        }
        match self.opts.fsync {
            FsyncPolicy::Always => self.sync_writer(w).map_err(Fail::Fatal)?,
            FsyncPolicy::Interval(_) => self.needs_sync.store(true, Ordering::Release),
            FsyncPolicy::Never => {}
        }
        Ok(())
    }

    /// Become leader: take the pending batch, write it, publish the result.
    /// Called with the state lock held and `leader_active == false`.
    fn lead(&self, st: &mut MutexGuard<'_, State>) {
        let slot = std::mem::replace(&mut st.pending_slot, Arc::new(OnceLock::new()));
        let spare = std::mem::take(&mut st.spare);
        let mut batch = std::mem::replace(&mut st.pending, spare);
        let result = if let Some(msg) = &st.broken {
            Err(SharedError {
                kind: io::ErrorKind::Other,
                msg: broken_error(msg).to_string(),
            })
        } else if let Some(mut w) = st.writer.take() {
            st.leader_active = true;
            let r = MutexGuard::unlocked(st, || self.write_batch(&mut w, &batch));
            st.writer = Some(w);
            st.leader_active = false;
            match r {
                Ok(()) => Ok(()),
                Err(Fail::Recoverable(e)) => Err(SharedError::from_io("WAL write failed", &e)),
                Err(Fail::Fatal(e)) => {
                    self.mark_broken(st, &e);
                    Err(SharedError::from_io("WAL write failed", &e))
                }
            }
        } else {
            Err(SharedError {
                kind: io::ErrorKind::Other,
                msg: closed_error().to_string(),
            })
        };
        batch.clear();
        if batch.capacity() <= SPARE_BUFFER_MAX && batch.capacity() > st.spare.capacity() {
            st.spare = batch;
        }
        let _ = slot.set(result);
        self.cond.notify_all();
    }

    /// Run `f` with exclusive access to the writer (no batch in flight).
    fn with_writer<R>(&self, f: impl FnOnce(&mut Writer) -> Result<R, Fail>) -> io::Result<R> {
        let mut st = self.state.lock();
        loop {
            st.check_usable()?;
            if !st.leader_active {
                break;
            }
            self.cond.wait(&mut st);
        }
        let Some(mut w) = st.writer.take() else {
            return Err(closed_error());
        };
        st.leader_active = true;
        let r = MutexGuard::unlocked(&mut st, || f(&mut w));
        st.writer = Some(w);
        st.leader_active = false;
        let out = match r {
            Ok(v) => Ok(v),
            Err(Fail::Recoverable(e)) => Err(e),
            Err(Fail::Fatal(e)) => {
                self.mark_broken(&mut st, &e);
                Err(e)
            }
        };
        self.cond.notify_all();
        out
    }
}

/// Background fsync loop for [`FsyncPolicy::Interval`].
fn syncer_loop(shared: Arc<Shared>, every: Duration) {
    let mut stop = shared.stop_syncer.lock();
    loop {
        if *stop {
            return;
        }
        shared.stop_cond.wait_for(&mut stop, every);
        if *stop {
            return;
        }
        if !shared.needs_sync.swap(false, Ordering::AcqRel) {
            continue;
        }
        let file = Arc::clone(&shared.current_file.lock());
        let res = MutexGuard::unlocked(&mut stop, || {
            let t = Instant::now();
            let r = file.sync_data();
            if r.is_ok() {
                shared.observe_fsync(t.elapsed());
            }
            r
        });
        if let Err(e) = res {
            let mut st = shared.state.lock();
            shared.mark_broken(&mut st, &e);
            shared.cond.notify_all();
        }
    }
}

impl Wal {
    /// Open (creating if needed) the WAL in `dir`, replaying the newest
    /// checkpoint and all newer segments through `on_record`.
    ///
    /// A torn/corrupt tail of the last non-empty segment is truncated; corrupt
    /// records in earlier segments end that segment's replay (logged and
    /// counted); records rejected by `on_record` are counted and skipped.
    /// Leftover `*.tmp` checkpoints, older checkpoints and segments already
    /// covered by the newest checkpoint are deleted.
    pub fn open(
        dir: &Path,
        opts: WalOptions,
        mut on_record: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> io::Result<(Wal, ReplayStats)> {
        if opts.segment_size == 0 {
            return Err(invalid_input("WAL segment_size must be > 0".into()));
        }
        if opts.fsync == FsyncPolicy::Interval(Duration::ZERO) {
            return Err(invalid_input("WAL fsync interval must be > 0".into()));
        }
        let started = Instant::now();
        fs::create_dir_all(dir).map_err(|e| with_path(e, "creating WAL directory", dir))?;
        let listing = list_dir(dir)?;
        let mut stats = ReplayStats::default();
        let mut rejects_logged = 0u64;
        let mut dir_changed = false;

        for tmp in &listing.tmps {
            tracing::info!(file = %tmp.display(), "removing leftover WAL checkpoint temp file");
            fs::remove_file(tmp).map_err(|e| with_path(e, "removing", tmp))?;
            dir_changed = true;
        }

        // Newest checkpoint first.
        let checkpoint = listing.checkpoints.last().map(|&(idx, _)| idx);
        let first_segment = checkpoint.unwrap_or(0);
        if let Some(ci) = checkpoint {
            let path = dir.join(checkpoint_name(ci));
            let r = replay_file(&path, &mut on_record, &mut rejects_logged)?;
            stats.records += r.records;
            stats.rejected_records += r.rejected;
            stats.bytes += r.bytes;
            if let FileEnd::Bad { good_len, reason } = r.end {
                stats.corrupt_segments += 1;
                tracing::warn!(
                    file = %path.display(),
                    offset = good_len,
                    reason,
                    lost_bytes = r.file_len - good_len,
                    "WAL checkpoint is corrupt; replaying only the records before the corruption"
                );
            }
            tracing::info!(
                checkpoint = ci,
                records = r.records,
                bytes = r.bytes,
                "replayed WAL checkpoint"
            );
        }

        // Files made obsolete by the checkpoint (a crash may have interrupted
        // the deletion after the checkpoint was renamed into place).
        for &(idx, _) in &listing.checkpoints {
            if idx < first_segment {
                let p = dir.join(checkpoint_name(idx));
                fs::remove_file(&p).map_err(|e| with_path(e, "removing", &p))?;
                dir_changed = true;
            }
        }
        for &(idx, _) in &listing.segments {
            if idx < first_segment {
                let p = dir.join(segment_name(idx));
                tracing::info!(segment = idx, "removing WAL segment covered by checkpoint");
                fs::remove_file(&p).map_err(|e| with_path(e, "removing", &p))?;
                dir_changed = true;
            }
        }

        let segments: Vec<(u64, u64)> = listing
            .segments
            .iter()
            .copied()
            .filter(|&(idx, _)| idx >= first_segment)
            .collect();
        // The "last" segment for tail repair is the last non-empty one: empty
        // segments after it carry no data (e.g. created right before a crash).
        let last_nonempty = segments.iter().rposition(|&(_, size)| size > 0);
        let mut prev: Option<u64> = checkpoint.and_then(|c| c.checked_sub(1));
        let mut last_len = 0u64;
        for (pos, &(idx, _)) in segments.iter().enumerate() {
            if let Some(p) = prev {
                if idx != p + 1 {
                    tracing::warn!(
                        expected = p + 1,
                        found = idx,
                        "WAL segments are missing; records in them are lost"
                    );
                }
            }
            prev = Some(idx);
            let path = dir.join(segment_name(idx));
            let r = replay_file(&path, &mut on_record, &mut rejects_logged)?;
            stats.segments += 1;
            stats.records += r.records;
            stats.rejected_records += r.rejected;
            stats.bytes += r.bytes;
            last_len = r.file_len;
            if let FileEnd::Bad { good_len, reason } = r.end {
                let cut = r.file_len - good_len;
                if Some(pos) >= last_nonempty {
                    tracing::warn!(
                        segment = idx,
                        offset = good_len,
                        reason,
                        cut_bytes = cut,
                        "WAL: truncating torn/corrupt tail of the last segment"
                    );
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|e| with_path(e, "opening for repair", &path))?;
                    f.set_len(good_len)
                        .map_err(|e| with_path(e, "truncating", &path))?;
                    f.sync_all().map_err(|e| with_path(e, "syncing", &path))?;
                    stats.torn_tail_bytes_cut += cut;
                    last_len = good_len;
                } else {
                    stats.corrupt_segments += 1;
                    tracing::warn!(
                        segment = idx,
                        offset = good_len,
                        reason,
                        lost_bytes = cut,
                        "WAL segment is corrupt; skipping the rest of it and continuing with the next segment"
                    );
                }
            }
            tracing::info!(
                segment = idx,
                records = r.records,
                rejected = r.rejected,
                bytes = r.bytes,
                "replayed WAL segment"
            );
        }

        // Where appends go now.
        let sync_new = opts.fsync != FsyncPolicy::Never;
        let writer = match segments.last() {
            Some(&(idx, _)) if last_len == 0 => {
                let path = dir.join(segment_name(idx));
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| with_path(e, "opening WAL segment", &path))?;
                Writer {
                    index: idx,
                    file: Arc::new(file),
                    size: 0,
                    dirty: false,
                }
            }
            last => {
                let idx = last.map_or(first_segment, |&(idx, _)| idx + 1);
                let file = create_segment(dir, idx, false)?;
                dir_changed = true;
                Writer {
                    index: idx,
                    file: Arc::new(file),
                    size: 0,
                    dirty: false,
                }
            }
        };
        if dir_changed && sync_new {
            sync_dir(dir).map_err(|e| with_path(e, "syncing WAL directory", dir))?;
        }

        let final_listing = list_dir(dir)?;
        let disk_bytes = final_listing
            .segments
            .iter()
            .chain(final_listing.checkpoints.iter())
            .map(|&(_, size)| size)
            .sum();

        stats.duration = started.elapsed();
        tracing::info!(
            dir = %dir.display(),
            segments = stats.segments,
            records = stats.records,
            bytes = stats.bytes,
            torn_tail_bytes_cut = stats.torn_tail_bytes_cut,
            corrupt_segments = stats.corrupt_segments,
            rejected_records = stats.rejected_records,
            duration_ms = stats.duration.as_millis() as u64,
            next_segment = writer.index,
            "WAL replay finished"
        );

        let interval = match opts.fsync {
            FsyncPolicy::Interval(d) => Some(d),
            _ => None,
        };
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            current_segment: AtomicU64::new(writer.index),
            current_file: Mutex::new(Arc::clone(&writer.file)),
            opts,
            state: Mutex::new(State {
                pending: Vec::new(),
                pending_slot: Arc::new(OnceLock::new()),
                spare: Vec::new(),
                leader_active: false,
                writer: Some(writer),
                closed: false,
                broken: None,
            }),
            cond: Condvar::new(),
            disk_bytes: AtomicU64::new(disk_bytes),
            needs_sync: AtomicBool::new(false),
            checkpoint: Mutex::new(checkpoint),
            stop_syncer: Mutex::new(false),
            stop_cond: Condvar::new(),
            #[cfg(test)]
            faults: test_faults::Faults::default(),
        });
        let syncer = match interval {
            Some(every) => {
                let sh = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("wal-fsync".into())
                        .spawn(move || syncer_loop(sh, every))?,
                )
            }
            None => None,
        };
        Ok((
            Wal {
                shared,
                syncer: Mutex::new(syncer),
            },
            stats,
        ))
    }

    /// Append records (group-committed with concurrent callers). Returns once
    /// they are written and, under [`FsyncPolicy::Always`], fsync'ed. Records
    /// of one call are contiguous and in order. Empty records and records of
    /// 4 GiB or more are rejected with `InvalidInput`.
    pub fn append(&self, records: &[&[u8]]) -> io::Result<()> {
        let sh = &*self.shared;
        let mut headers = Vec::with_capacity(records.len());
        let mut total = 0usize;
        for rec in records {
            headers.push(frame_header(rec)?);
            total += HEADER_LEN + rec.len();
        }
        let mut st = sh.state.lock();
        // Wait for room in the pending buffer (bounded memory).
        loop {
            st.check_usable()?;
            if records.is_empty() {
                return Ok(());
            }
            if st.pending.is_empty() || st.pending.len() + total <= MAX_PENDING_BYTES {
                break;
            }
            if st.leader_active {
                sh.cond.wait(&mut st);
            } else {
                // Flush what is pending ourselves, then add ours.
                sh.lead(&mut st);
            }
        }
        st.pending.reserve(total);
        for (hdr, rec) in headers.iter().zip(records) {
            st.pending.extend_from_slice(hdr);
            st.pending.extend_from_slice(rec);
        }
        let slot = Arc::clone(&st.pending_slot);
        loop {
            if let Some(res) = slot.get() {
                return res.as_ref().map_err(SharedError::to_io).copied();
            }
            if st.leader_active {
                sh.cond.wait(&mut st);
            } else {
                sh.lead(&mut st);
            }
        }
    }

    /// Fsync and close the current segment and start a new one; returns the
    /// new segment's index. Always fsyncs, whatever the policy.
    pub fn rotate(&self) -> io::Result<u64> {
        let sh = &*self.shared;
        sh.with_writer(|w| {
            sh.rotate_writer(w, true)?;
            Ok(w.index)
        })
    }

    /// Atomically write `checkpoint.<upto_segment>` holding `records` (the
    /// state of everything before segment `upto_segment`), then delete all
    /// segments with a lower index and all older checkpoints. Records are
    /// pulled one at a time, so callers can stream them; an `Err` record
    /// abandons the checkpoint and leaves the WAL as it was.
    ///
    /// `upto_segment` must not exceed [`Wal::current_segment`] (typically it
    /// is the value returned by [`Wal::rotate`]) and must not be older than
    /// the newest existing checkpoint. Appends may continue concurrently.
    pub fn write_checkpoint(
        &self,
        upto_segment: u64,
        records: impl Iterator<Item = io::Result<Vec<u8>>>,
    ) -> io::Result<()> {
        let sh = &*self.shared;
        let mut newest = sh.checkpoint.lock();
        sh.state.lock().check_usable()?;
        let current = sh.current_segment.load(Ordering::Acquire);
        if upto_segment > current {
            return Err(invalid_input(format!(
                "WAL checkpoint up to segment {upto_segment} is beyond the current segment {current}"
            )));
        }
        if let Some(n) = *newest {
            if upto_segment < n {
                return Err(invalid_input(format!(
                    "WAL checkpoint up to segment {upto_segment} is older than the existing checkpoint {n}"
                )));
            }
        }
        let started = Instant::now();
        let final_path = sh.dir.join(checkpoint_name(upto_segment));
        let tmp_path = sh
            .dir
            .join(format!("{}{TMP_SUFFIX}", checkpoint_name(upto_segment)));
        let written = match write_checkpoint_file(sh, &tmp_path, records) {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(e);
            }
        };
        let replaced = fs::metadata(&final_path).map(|m| m.len()).ok();
        if let Err(e) = fs::rename(&tmp_path, &final_path) {
            let _ = fs::remove_file(&tmp_path);
            return Err(with_path(e, "renaming checkpoint into place", &final_path));
        }
        sh.disk_bytes.fetch_add(written, Ordering::Relaxed);
        if let Some(r) = replaced {
            sh.disk_bytes.fetch_sub(r, Ordering::Relaxed);
        }
        sync_dir(&sh.dir).map_err(|e| with_path(e, "syncing WAL directory", &sh.dir))?;
        *newest = Some(upto_segment);

        // Delete what the checkpoint covers. Hold the writer so that no batch
        // (which could roll back into an older segment) runs meanwhile.
        let (removed_files, removed_bytes) = sh.with_writer(|w| {
            let limit = upto_segment.min(w.index);
            let listing = list_dir(&sh.dir).map_err(Fail::Recoverable)?;
            let mut files = 0u64;
            let mut bytes = 0u64;
            let doomed = listing
                .checkpoints
                .iter()
                .filter(|&&(idx, _)| idx < upto_segment)
                .map(|&(idx, size)| (sh.dir.join(checkpoint_name(idx)), size))
                .chain(
                    listing
                        .segments
                        .iter()
                        .filter(|&&(idx, _)| idx < limit)
                        .map(|&(idx, size)| (sh.segment_path(idx), size)),
                );
            for (path, size) in doomed {
                match fs::remove_file(&path) {
                    Ok(()) => {
                        files += 1;
                        bytes += size;
                        sh.disk_bytes.fetch_sub(size, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Fail::Recoverable(with_path(e, "removing", &path)));
                    }
                }
            }
            if files > 0 {
                sync_dir(&sh.dir).map_err(Fail::Recoverable)?;
            }
            Ok((files, bytes))
        })?;
        tracing::info!(
            checkpoint = upto_segment,
            bytes = written,
            removed_files,
            removed_bytes,
            duration_ms = started.elapsed().as_millis() as u64,
            "wrote WAL checkpoint"
        );
        Ok(())
    }

    /// Flush pending records, fsync, and close. Later calls to `append`,
    /// `rotate` and `write_checkpoint` fail with "WAL is closed". Idempotent.
    /// Returns an error if the WAL was broken or the final fsync failed.
    pub fn close(&self) -> io::Result<()> {
        let sh = &*self.shared;
        let res = {
            let mut st = sh.state.lock();
            if st.closed {
                return Ok(());
            }
            st.closed = true;
            // Let in-flight and pending batches finish (their callers wait).
            loop {
                if st.leader_active {
                    sh.cond.wait(&mut st);
                } else if !st.pending.is_empty() {
                    sh.lead(&mut st);
                } else {
                    break;
                }
            }
            let writer = st.writer.take();
            let broken = st.broken.clone();
            sh.cond.notify_all();
            drop(st);
            match (broken, writer) {
                (Some(msg), _) => Err(broken_error(&msg)),
                (None, Some(mut w)) => sh.sync_writer(&mut w),
                (None, None) => Ok(()),
            }
        };
        *sh.stop_syncer.lock() = true;
        sh.stop_cond.notify_all();
        if let Some(h) = self.syncer.lock().take() {
            let _ = h.join();
        }
        res
    }

    /// Bytes on disk used by segments and checkpoints.
    pub fn disk_bytes(&self) -> u64 {
        self.shared.disk_bytes.load(Ordering::Relaxed)
    }

    /// Index of the segment appends currently go to.
    pub fn current_segment(&self) -> u64 {
        self.shared.current_segment.load(Ordering::Acquire)
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(dir = %self.shared.dir.display(), error = %e, "closing WAL on drop failed");
        }
    }
}

#[cfg(test)]
mod test_faults {
    //! Fault injection for tests.
    use std::fs::File;
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    #[derive(Default)]
    pub(super) struct Faults {
        /// Number of chunk writes that still succeed before one fails (after
        /// writing half of its data). Only consulted while `armed`.
        writes_before_failure: AtomicI64,
        armed: AtomicBool,
        fail_sync: AtomicBool,
    }

    impl Faults {
        pub(super) fn fail_write_after(&self, successful_writes: i64) {
            self.writes_before_failure
                .store(successful_writes, Ordering::SeqCst);
            self.armed.store(true, Ordering::SeqCst);
        }

        pub(super) fn fail_next_sync(&self) {
            self.fail_sync.store(true, Ordering::SeqCst);
        }

        pub(super) fn check_write(&self, mut file: &File, data: &[u8]) -> io::Result<()> {
            if !self.armed.load(Ordering::SeqCst) {
                return Ok(());
            }
            if self.writes_before_failure.fetch_sub(1, Ordering::SeqCst) > 0 {
                return Ok(());
            }
            self.armed.store(false, Ordering::SeqCst);
            file.write_all(&data[..data.len() / 2])?;
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected write failure",
            ))
        }

        pub(super) fn check_sync(&self) -> io::Result<()> {
            if self.fail_sync.swap(false, Ordering::SeqCst) {
                return Err(io::Error::other("injected fsync failure"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;

    fn opts(segment_size: u64) -> WalOptions {
        WalOptions {
            segment_size,
            ..WalOptions::default()
        }
    }

    /// Open and collect every replayed record.
    fn open_collect(dir: &Path, o: WalOptions) -> (Wal, ReplayStats, Vec<Vec<u8>>) {
        let mut got = Vec::new();
        let (wal, stats) = Wal::open(dir, o, |r| {
            got.push(r.to_vec());
            Ok(())
        })
        .expect("open wal");
        (wal, stats, got)
    }

    /// Deterministic record `i` of `len` bytes (len >= 4).
    fn rec(i: u32, len: usize) -> Vec<u8> {
        let mut v = i.to_le_bytes().to_vec();
        v.extend((0..len.saturating_sub(4)).map(|k| (k as u32 ^ i.wrapping_mul(31)) as u8));
        v
    }

    fn append_one(wal: &Wal, r: &[u8]) {
        wal.append(&[r]).expect("append");
    }

    fn files(dir: &Path) -> Listing {
        list_dir(dir).expect("list dir")
    }

    fn dir_bytes(dir: &Path) -> u64 {
        let l = files(dir);
        l.segments
            .iter()
            .chain(l.checkpoints.iter())
            .map(|&(_, s)| s)
            .sum()
    }

    /// Parse a WAL file independently of the implementation: (offset, payload).
    fn frames(path: &Path) -> Vec<(u64, Vec<u8>)> {
        let data = fs::read(path).expect("read");
        let mut out = Vec::new();
        let mut off = 0usize;
        while off + HEADER_LEN <= data.len() {
            let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
            let end = off + HEADER_LEN + len;
            assert!(end <= data.len(), "test helper expects intact files");
            out.push((off as u64, data[off + HEADER_LEN..end].to_vec()));
            off = end;
        }
        assert_eq!(off, data.len());
        out
    }

    fn copy_dir(from: &Path, to: &Path) {
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    #[test]
    fn round_trip_across_segments() {
        let tmp = tempfile::tempdir().unwrap();
        let seg = 1024;
        let mut expected = Vec::new();
        {
            let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
            assert!(got.is_empty());
            assert_eq!(stats.segments, 0);
            assert_eq!(wal.current_segment(), 0);
            for i in 0..200u32 {
                // Mostly small records, some bigger than a segment.
                let len = if i % 50 == 7 {
                    3000
                } else {
                    4 + (i as usize * 13) % 200
                };
                let r = rec(i, len);
                if i % 3 == 0 {
                    let r2 = rec(i + 10_000, 17);
                    wal.append(&[&r, &r2]).unwrap();
                    expected.push(r);
                    expected.push(r2);
                } else {
                    append_one(&wal, &r);
                    expected.push(r);
                }
            }
            assert!(wal.current_segment() > 5);
            assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
            wal.close().unwrap();
        }
        // Every segment respects the size limit unless it holds one big record.
        let l = files(tmp.path());
        for &(idx, size) in &l.segments {
            let fr = frames(&tmp.path().join(segment_name(idx)));
            assert!(
                size <= seg || fr.len() == 1,
                "segment {idx} has {size} bytes"
            );
        }
        let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
        assert_eq!(got, expected);
        assert_eq!(stats.records, expected.len() as u64);
        assert_eq!(stats.segments, l.segments.len() as u64);
        assert_eq!(stats.torn_tail_bytes_cut, 0);
        assert_eq!(stats.corrupt_segments, 0);
        assert_eq!(stats.rejected_records, 0);
        let total: u64 = expected.iter().map(|r| (HEADER_LEN + r.len()) as u64).sum();
        assert_eq!(stats.bytes, total);
        // Appends after reopen go to a fresh segment.
        assert_eq!(wal.current_segment(), l.segments.last().unwrap().0 + 1);
        append_one(&wal, b"after reopen");
        drop(wal);
        let (_wal, _, got) = open_collect(tmp.path(), opts(seg));
        assert_eq!(got.len(), expected.len() + 1);
        assert_eq!(got.last().unwrap(), b"after reopen");
    }

    #[test]
    fn reopen_without_writes_reuses_empty_segment() {
        let tmp = tempfile::tempdir().unwrap();
        for _ in 0..3 {
            let (wal, _, _) = open_collect(tmp.path(), opts(1024));
            assert_eq!(wal.current_segment(), 0);
        }
        assert_eq!(files(tmp.path()).segments, vec![(0, 0)]);
    }

    /// Truncate the last segment at every offset inside its last record.
    #[test]
    fn torn_tail_every_offset() {
        let src = tempfile::tempdir().unwrap();
        let seg = 200;
        let mut records = Vec::new();
        {
            let (wal, _, _) = open_collect(src.path(), opts(seg));
            for i in 0..12u32 {
                let r = rec(i, 30 + i as usize);
                append_one(&wal, &r);
                records.push(r);
            }
        }
        let l = files(src.path());
        assert!(l.segments.len() >= 3);
        let (last_idx, last_len) = *l.segments.last().unwrap();
        let last_frames = frames(&src.path().join(segment_name(last_idx)));
        let last_start = last_frames.last().unwrap().0;
        let (complete, last) = records.split_at(records.len() - 1);
        assert_eq!(last_frames.last().unwrap().1, last[0]);

        for cut in last_start..last_len {
            let tmp = tempfile::tempdir().unwrap();
            copy_dir(src.path(), tmp.path());
            let path = tmp.path().join(segment_name(last_idx));
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(cut)
                .unwrap();
            let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
            assert_eq!(got, complete, "cut at {cut}");
            assert_eq!(stats.torn_tail_bytes_cut, cut - last_start, "cut at {cut}");
            assert_eq!(stats.corrupt_segments, 0);
            assert_eq!(fs::metadata(&path).unwrap().len(), last_start);
            let new = rec(999, 25);
            append_one(&wal, &new);
            drop(wal);
            let (_wal, stats, got) = open_collect(tmp.path(), opts(seg));
            let mut want = complete.to_vec();
            want.push(new);
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(stats.torn_tail_bytes_cut, 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 48,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(24349),
            ..ProptestConfig::default()
        })]

        /// Cutting a single-segment WAL anywhere replays exactly the records
        /// that were complete before the cut, and the WAL stays appendable.
        #[test]
        fn prop_cut_anywhere(lens in proptest::collection::vec(1usize..300, 1..20), cut_frac in 0.0f64..1.0) {
            let tmp = tempfile::tempdir().unwrap();
            let records: Vec<Vec<u8>> = lens.iter().enumerate()
                .map(|(i, &l)| (0..l).map(|k| (k * 7 + i) as u8).collect())
                .collect();
            {
                let (wal, _, _) = open_collect(tmp.path(), opts(1 << 20));
                let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
                wal.append(&refs).unwrap();
            }
            let path = tmp.path().join(segment_name(0));
            let len = fs::metadata(&path).unwrap().len();
            let cut = ((len as f64) * cut_frac) as u64;
            OpenOptions::new().write(true).open(&path).unwrap().set_len(cut).unwrap();
            let mut end = 0u64;
            let mut want = Vec::new();
            for r in &records {
                end += (HEADER_LEN + r.len()) as u64;
                if end <= cut {
                    want.push(r.clone());
                }
            }
            let kept: u64 = want.iter().map(|r| (HEADER_LEN + r.len()) as u64).sum();
            let (wal, stats, got) = open_collect(tmp.path(), opts(1 << 20));
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(stats.torn_tail_bytes_cut, cut - kept);
            wal.append(&[b"tail"]).unwrap();
            drop(wal);
            let (_wal, _, got) = open_collect(tmp.path(), opts(1 << 20));
            want.push(b"tail".to_vec());
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn crc_corruption_in_middle_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let seg = 256;
        {
            let (wal, _, _) = open_collect(tmp.path(), opts(seg));
            for i in 0..40u32 {
                append_one(&wal, &rec(i, 50));
            }
        }
        let l = files(tmp.path());
        assert!(l.segments.len() >= 8);
        let all: Vec<Vec<Vec<u8>>> = l
            .segments
            .iter()
            .map(|&(idx, _)| {
                frames(&tmp.path().join(segment_name(idx)))
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect()
            })
            .collect();
        assert!(all[2].len() >= 3);
        // Flip a payload byte of the 2nd record of segment 2, and corrupt
        // the length field of the 1st record of segment 5.
        let p2 = tmp.path().join(segment_name(l.segments[2].0));
        let fr2 = frames(&p2);
        let mut data = fs::read(&p2).unwrap();
        data[fr2[1].0 as usize + HEADER_LEN + 10] ^= 0x40;
        fs::write(&p2, &data).unwrap();
        let p5 = tmp.path().join(segment_name(l.segments[5].0));
        let mut data = fs::read(&p5).unwrap();
        data[3] = 0x7f;
        fs::write(&p5, &data).unwrap();
        let len2 = fs::metadata(&p2).unwrap().len();

        let mut want = Vec::new();
        for (k, seg_records) in all.iter().enumerate() {
            match k {
                2 => want.extend(seg_records[..1].iter().cloned()),
                5 => {}
                _ => want.extend(seg_records.iter().cloned()),
            }
        }
        let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
        assert_eq!(got, want);
        assert_eq!(stats.corrupt_segments, 2);
        assert_eq!(stats.torn_tail_bytes_cut, 0);
        assert_eq!(stats.segments, l.segments.len() as u64);
        // Earlier segments are left alone.
        assert_eq!(fs::metadata(&p2).unwrap().len(), len2);
        append_one(&wal, b"more");
        drop(wal);
        let (_wal, stats, got) = open_collect(tmp.path(), opts(seg));
        want.push(b"more".to_vec());
        assert_eq!(got, want);
        assert_eq!(stats.corrupt_segments, 2);
    }

    #[test]
    fn crc_corruption_in_last_segment_cuts_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let mut records = Vec::new();
        {
            let (wal, _, _) = open_collect(tmp.path(), opts(1 << 20));
            for i in 0..10u32 {
                let r = rec(i, 40);
                append_one(&wal, &r);
                records.push(r);
            }
        }
        let p = tmp.path().join(segment_name(0));
        let fr = frames(&p);
        let mut data = fs::read(&p).unwrap();
        data[fr[4].0 as usize + 5] ^= 1; // crc field of record 4
        fs::write(&p, &data).unwrap();
        let (wal, stats, got) = open_collect(tmp.path(), opts(1 << 20));
        assert_eq!(got, records[..4]);
        assert_eq!(stats.torn_tail_bytes_cut, data.len() as u64 - fr[4].0);
        assert_eq!(fs::metadata(&p).unwrap().len(), fr[4].0);
        append_one(&wal, b"x1");
        drop(wal);
        let (_wal, _, got) = open_collect(tmp.path(), opts(1 << 20));
        assert_eq!(got.len(), 5);
        assert_eq!(got[4], b"x1");
    }

    #[test]
    fn torn_segment_followed_by_empty_segment_is_repaired() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (wal, _, _) = open_collect(tmp.path(), opts(1 << 20));
            append_one(&wal, &rec(1, 100));
            append_one(&wal, &rec(2, 100));
            assert_eq!(wal.rotate().unwrap(), 1);
        }
        let p = tmp.path().join(segment_name(0));
        let len = fs::metadata(&p).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (wal, stats, got) = open_collect(tmp.path(), opts(1 << 20));
        assert_eq!(got, vec![rec(1, 100)]);
        assert_eq!(stats.torn_tail_bytes_cut, (HEADER_LEN + 100 - 3) as u64);
        assert_eq!(stats.corrupt_segments, 0);
        // The empty segment 1 is reused.
        assert_eq!(wal.current_segment(), 1);
    }

    #[test]
    fn checkpoint_and_truncation() {
        let tmp = tempfile::tempdir().unwrap();
        let seg = 256;
        let mut after = Vec::new();
        {
            let (wal, _, _) = open_collect(tmp.path(), opts(seg));
            for i in 0..30u32 {
                append_one(&wal, &rec(i, 40));
            }
            let first = wal.rotate().unwrap();
            assert_eq!(first, wal.current_segment());
            assert!(first >= 4);
            // Too new / too old checkpoints are rejected.
            assert_eq!(
                wal.write_checkpoint(first + 1, std::iter::empty())
                    .unwrap_err()
                    .kind(),
                io::ErrorKind::InvalidInput
            );
            let ck = vec![b"ck-a".to_vec(), b"ck-b".to_vec()];
            wal.write_checkpoint(first, ck.into_iter().map(Ok)).unwrap();
            let l = files(tmp.path());
            assert!(l.segments.iter().all(|&(i, _)| i >= first));
            assert_eq!(l.checkpoints.len(), 1);
            assert_eq!(l.checkpoints[0].0, first);
            assert!(l.tmps.is_empty());
            assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
            assert_eq!(
                wal.write_checkpoint(first - 1, std::iter::empty())
                    .unwrap_err()
                    .kind(),
                io::ErrorKind::InvalidInput
            );
            for i in 100..105u32 {
                let r = rec(i, 60);
                append_one(&wal, &r);
                after.push(r);
            }
            wal.close().unwrap();
        }
        let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
        let mut want = vec![b"ck-a".to_vec(), b"ck-b".to_vec()];
        want.extend(after.iter().cloned());
        assert_eq!(got, want);
        assert_eq!(stats.records, want.len() as u64);

        // Second checkpoint replaces the first; segment written after it
        // survives and replays after it.
        let second = wal.rotate().unwrap();
        wal.write_checkpoint(second, [b"ck2".to_vec()].into_iter().map(Ok))
            .unwrap();
        append_one(&wal, b"newest");
        let l = files(tmp.path());
        assert_eq!(
            l.checkpoints.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![second]
        );
        assert!(l.segments.iter().all(|&(i, _)| i >= second));
        assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
        drop(wal);

        // Simulate a crash after the rename but before deletions, plus a
        // leftover temp file: both are cleaned up on open.
        fs::write(tmp.path().join(segment_name(0)), rec(0, 40)).unwrap();
        fs::write(tmp.path().join(checkpoint_name(1)), b"junk").unwrap();
        fs::write(tmp.path().join("checkpoint.00000777.tmp"), b"junk").unwrap();
        let (wal, stats, got) = open_collect(tmp.path(), opts(seg));
        assert_eq!(got, vec![b"ck2".to_vec(), b"newest".to_vec()]);
        assert_eq!(stats.corrupt_segments, 0);
        let l = files(tmp.path());
        assert!(l.tmps.is_empty());
        assert_eq!(l.checkpoints.len(), 1);
        assert!(l.segments.iter().all(|&(i, _)| i >= second));
        assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
    }

    #[test]
    fn checkpoint_with_invalid_record_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let (wal, _, _) = open_collect(tmp.path(), opts(256));
        append_one(&wal, b"a");
        let s = wal.rotate().unwrap();
        let err = wal
            .write_checkpoint(s, vec![b"ok".to_vec(), Vec::new()].into_iter().map(Ok))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let l = files(tmp.path());
        assert!(l.checkpoints.is_empty() && l.tmps.is_empty());
        assert_eq!(l.segments.len(), 2);
        drop(wal);
        let (_wal, _, got) = open_collect(tmp.path(), opts(256));
        assert_eq!(got, vec![b"a".to_vec()]);
    }

    #[test]
    fn concurrent_appenders_group_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let f2 = Arc::clone(&fsyncs);
        let o = WalOptions {
            segment_size: 64 * 1024,
            fsync: FsyncPolicy::Always,
            fsync_observer: Some(Arc::new(move |_d| {
                f2.fetch_add(1, Ordering::Relaxed);
            })),
        };
        const THREADS: u32 = 8;
        const CALLS: u32 = 150;
        let (wal, _, _) = open_collect(tmp.path(), o.clone());
        let wal = Arc::new(wal);
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let wal = Arc::clone(&wal);
                std::thread::spawn(move || {
                    let mut seq = 0u32;
                    for c in 0..CALLS {
                        let n = 1 + (c % 3) as usize;
                        let recs: Vec<Vec<u8>> = (0..n)
                            .map(|k| {
                                let mut r = t.to_le_bytes().to_vec();
                                r.extend_from_slice(&(seq + k as u32).to_le_bytes());
                                r.resize(8 + ((t + c) as usize * 97) % 900, t as u8);
                                r
                            })
                            .collect();
                        seq += n as u32;
                        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
                        wal.append(&refs).unwrap();
                    }
                    seq
                })
            })
            .collect();
        let per_thread: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let calls = (THREADS * CALLS) as usize;
        let syncs = fsyncs.load(Ordering::Relaxed);
        assert!(syncs > 0);
        assert!(syncs <= calls + wal.current_segment() as usize + 1);
        assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
        drop(wal);

        let (_wal, stats, got) = open_collect(tmp.path(), o);
        assert_eq!(stats.corrupt_segments + stats.torn_tail_bytes_cut, 0);
        let mut next: HashMap<u32, u32> = HashMap::new();
        for r in &got {
            let t = u32::from_le_bytes(r[0..4].try_into().unwrap());
            let s = u32::from_le_bytes(r[4..8].try_into().unwrap());
            let e = next.entry(t).or_insert(0);
            assert_eq!(s, *e, "thread {t}: out of order or duplicate");
            *e += 1;
        }
        for t in 0..THREADS {
            assert_eq!(next.get(&t).copied(), Some(per_thread[t as usize]));
        }
    }

    #[test]
    fn close_then_append_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let (wal, _, _) = open_collect(tmp.path(), opts(1024));
        append_one(&wal, b"before");
        wal.close().unwrap();
        let err = wal.append(&[b"after"]).unwrap_err();
        assert!(err.to_string().contains("WAL is closed"), "{err}");
        assert!(wal.append(&[]).is_err());
        assert!(wal.rotate().is_err());
        assert!(wal
            .write_checkpoint(wal.current_segment(), std::iter::empty())
            .is_err());
        wal.close().unwrap(); // idempotent
        drop(wal);
        let (_wal, _, got) = open_collect(tmp.path(), opts(1024));
        assert_eq!(got, vec![b"before".to_vec()]);
    }

    #[test]
    fn invalid_records_and_options_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(Wal::open(tmp.path(), opts(0), |_| Ok(())).is_err());
        let bad_interval = WalOptions {
            fsync: FsyncPolicy::Interval(Duration::ZERO),
            ..WalOptions::default()
        };
        assert!(Wal::open(tmp.path(), bad_interval, |_| Ok(())).is_err());
        let (wal, _, _) = open_collect(tmp.path(), opts(1024));
        let err = wal.append(&[b"ok", b""]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        append_one(&wal, b"fine");
        wal.append(&[]).unwrap();
        drop(wal);
        let (_wal, _, got) = open_collect(tmp.path(), opts(1024));
        assert_eq!(got, vec![b"fine".to_vec()]);
    }

    #[test]
    fn rejected_records_are_counted_and_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (wal, _, _) = open_collect(tmp.path(), opts(1024));
            for i in 0..20u32 {
                append_one(&wal, &rec(i, 10));
            }
        }
        let mut accepted = Vec::new();
        let (_wal, stats) = Wal::open(tmp.path(), opts(1024), |r| {
            let i = u32::from_le_bytes(r[0..4].try_into().unwrap());
            if i % 4 == 0 {
                Err(format!("bad record {i}"))
            } else {
                accepted.push(i);
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(stats.rejected_records, 5);
        assert_eq!(stats.records, 15);
        assert_eq!(accepted.len(), 15);
        assert!(accepted.iter().all(|i| i % 4 != 0));
    }

    #[test]
    fn failed_write_is_rolled_back_and_wal_stays_usable() {
        let tmp = tempfile::tempdir().unwrap();
        let seg = 256;
        let (wal, _, _) = open_collect(tmp.path(), opts(seg));
        let a = rec(1, 150);
        append_one(&wal, &a);
        // Failure within one segment.
        wal.shared.faults.fail_write_after(0);
        let err = wal.append(&[&rec(2, 50)]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
        // Failure after the batch rotated: first chunk written, rotation,
        // second chunk fails -> the new segment is removed again.
        let seg_before = wal.current_segment();
        wal.shared.faults.fail_write_after(1);
        let err = wal.append(&[&rec(3, 50), &rec(4, 100)]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(wal.current_segment(), seg_before);
        assert_eq!(files(tmp.path()).segments.len(), 1);
        assert_eq!(wal.disk_bytes(), dir_bytes(tmp.path()));
        let d = rec(5, 100);
        append_one(&wal, &d);
        drop(wal);
        let (_wal, stats, got) = open_collect(tmp.path(), opts(seg));
        assert_eq!(got, vec![a, d]);
        assert_eq!(stats.torn_tail_bytes_cut + stats.corrupt_segments, 0);
    }

    #[test]
    fn failed_fsync_breaks_wal() {
        let tmp = tempfile::tempdir().unwrap();
        let (wal, _, _) = open_collect(tmp.path(), opts(1024));
        append_one(&wal, b"one");
        wal.shared.faults.fail_next_sync();
        assert!(wal.append(&[b"two"]).is_err());
        let err = wal.append(&[b"three"]).unwrap_err();
        assert!(err.to_string().contains("WAL is broken"), "{err}");
        assert!(wal.rotate().is_err());
        assert!(wal.close().is_err());
        drop(wal);
        let (wal, _, got) = open_collect(tmp.path(), opts(1024));
        // "two" was written (only its fsync "failed"), so it may replay.
        assert_eq!(got[0], b"one");
        assert!(got.len() <= 2);
        append_one(&wal, b"four");
    }

    #[test]
    fn interval_and_never_policies() {
        for policy in [
            FsyncPolicy::Interval(Duration::from_millis(5)),
            FsyncPolicy::Never,
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let fsyncs = Arc::new(AtomicUsize::new(0));
            let f2 = Arc::clone(&fsyncs);
            let o = WalOptions {
                segment_size: 300,
                fsync: policy,
                fsync_observer: Some(Arc::new(move |_| {
                    f2.fetch_add(1, Ordering::Relaxed);
                })),
            };
            let mut want = Vec::new();
            {
                let (wal, _, _) = open_collect(tmp.path(), o.clone());
                for i in 0..20u32 {
                    let r = rec(i, 64);
                    append_one(&wal, &r);
                    want.push(r);
                }
                if let FsyncPolicy::Interval(_) = policy {
                    std::thread::sleep(Duration::from_millis(50));
                    assert!(fsyncs.load(Ordering::Relaxed) > 0);
                }
                // Dropped without close: Drop flushes.
            }
            let (_wal, _, got) = open_collect(tmp.path(), o);
            assert_eq!(got, want, "{policy:?}");
        }
    }

    #[test]
    fn pending_buffer_is_bounded_with_huge_records() {
        let tmp = tempfile::tempdir().unwrap();
        let (wal, _, _) = open_collect(
            tmp.path(),
            WalOptions {
                segment_size: 8 << 20,
                fsync: FsyncPolicy::Never,
                fsync_observer: None,
            },
        );
        let wal = Arc::new(wal);
        let big = vec![7u8; 6 << 20];
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let wal = Arc::clone(&wal);
                let big = big.clone();
                std::thread::spawn(move || {
                    for _ in 0..3 {
                        wal.append(&[&big]).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        {
            let st = wal.shared.state.lock();
            assert!(st.spare.capacity() <= SPARE_BUFFER_MAX);
        }
        drop(wal);
        let (_wal, stats) = Wal::open(tmp.path(), opts(8 << 20), |r| {
            if r.len() == 6 << 20 {
                Ok(())
            } else {
                Err("wrong size".into())
            }
        })
        .unwrap();
        assert_eq!(stats.records, 12);
        assert_eq!(stats.segments, 12);
    }
}
