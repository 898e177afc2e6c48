//! Starting a syslog input: its spool under `data_dir/spool/<input>` and that spool's checkpoint
//! (a source of the checkpoint store like a file: the acknowledged offset, and the spool's
//! epoch where a file has its fingerprint), its sockets bound (a port in use is an error at
//! start, naming the address), and the parts that then run: a task per listener, the fsync
//! task of `spool_fsync: interval`, and the reader thread.

use super::config::{SpoolFsync, SyslogInputConfig};
use super::intake::Intake;
use super::listen::{bind, serve, Counters, Listen, TlsServer};
use super::reader::Reader;
use super::spool::{self, Cursor, Spool};
use crate::event::{Event, SourceId};
use crate::tail::checkpoint::{CheckpointStore, Entry};
use crate::tail::tailer::DecoderFactory;
use anyhow::Context as _;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// What a syslog input needs from the agent.
pub struct Context {
    pub name: String,
    pub key: String,
    pub data_dir: PathBuf,
    /// This input's share of `spool_max`.
    pub spool_max: u64,
    pub store: Arc<CheckpointStore>,
    /// The syslog decoders with the input's processors and the panic guard around them.
    pub decoders: DecoderFactory,
    pub tx: Sender<Vec<Event>>,
    pub stop: Arc<AtomicBool>,
}

pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The running parts, for the agent to start under its supervisor.
pub struct Started {
    /// Named tasks: one per listener, and the fsync task.
    pub tasks: Vec<(String, Task)>,
    /// The reader, to run on its own thread.
    pub reader: Reader,
    /// What the listeners count (tests read it through the metrics).
    pub counters: Arc<Counters>,
}

/// The spool's directory: the input's key, made safe as a file name, plus a hash of it.
pub fn spool_dir(data_dir: &Path, key: &str) -> PathBuf {
    let safe: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(64)
        .collect();
    let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
    data_dir.join("spool").join(format!("{safe}-{hash:08x}"))
}

/// The spool's checkpoint: the one of this spool (same epoch) if there is one, else a new one
/// (from 0); its id and acknowledged offset.
fn checkpoint(store: &CheckpointStore, key: &str, dir: &Path, epoch: u64) -> (SourceId, u64) {
    for (id, e) in store.untracked(key) {
        if e.path == dir {
            if e.fp_hash == epoch {
                store.claim(id);
                return (id, e.offset);
            }
            tracing::warn!(spool = %dir.display(),
                "syslog spool was made anew (its epoch changed): its old checkpoint is dropped");
            store.forget(id);
        }
    }
    let (dev, ino) = std::fs::metadata(dir).map_or((0, 0), |m| (m.dev(), m.ino()));
    let id = store.register(Entry {
        input: key.to_string(),
        path: dir.to_path_buf(),
        dev,
        ino,
        birth: None,
        fp_len: 0,
        fp_hash: epoch,
        offset: 0,
        generation: 0,
        tail_hash: None,
        updated: 0,
    });
    (id, 0)
}

/// Opens the spool, binds every listener and returns the parts to run.
pub async fn start(cfg: &SyslogInputConfig, cx: Context) -> anyhow::Result<Started> {
    let dir = spool_dir(&cx.data_dir, &cx.key);
    let epoch = spool::prepare(&dir)
        .with_context(|| format!("cannot create the spool directory {}", dir.display()))?;
    let (source, acked) = checkpoint(&cx.store, &cx.key, &dir, epoch);
    cx.store.save_soon();
    let segment_max = (cx.spool_max / 8).clamp(1 << 20, 64 << 20);
    let spool = Arc::new(
        Spool::open(&dir, segment_max, cx.spool_max, acked)
            .with_context(|| format!("cannot open the spool {}", dir.display()))?,
    );
    if spool.bytes() > 0 {
        tracing::info!(input = %cx.name, bytes = spool.bytes(),
            "syslog spool: messages received before the last stop and not acknowledged are sent again");
    }
    let tls = match &cfg.tls {
        Some(t) => Some(Arc::new(TlsServer {
            config: crate::tls::server::server_config(
                &t.cert,
                &t.key,
                t.client_ca.as_deref(),
                t.min_version,
            )
            .map_err(|e| anyhow::anyhow!("input {}: {e}", cx.name))?,
            client_ca: t.client_ca.clone(),
        })),
        None => None,
    };
    let (doorbell, rung) = std::sync::mpsc::sync_channel(1);
    let room = Arc::new(tokio::sync::Notify::new());
    let gauge = Arc::new(super::intake::SpoolGauge::default());
    gauge.set(spool.bytes());
    let intake = Arc::new(Intake {
        spool: spool.clone(),
        gauge: gauge.clone(),
        room: room.clone(),
        doorbell,
        sync_each: cfg.spool_fsync == SpoolFsync::Batch,
        stop: cx.stop.clone(),
        input: cx.name.clone(),
        failing: AtomicBool::new(false),
    });
    let counters = Arc::new(Counters::default());
    let limits = cfg.limits();
    let mut tasks: Vec<(String, Task)> = Vec::new();
    for (listen, text) in cfg.addresses().iter().zip(cfg.listen.list()) {
        let bound = bind(listen, tls.clone())
            .await
            .with_context(|| format!("input {}: cannot listen on {text}", cx.name))?;
        if let Listen::UnixDatagram(p) | Listen::UnixStream(p) = listen {
            // Local senders (as /dev/log) run as other users.
            let _ =
                std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o666));
        }
        if let Some(want) = cfg.receive_buffer {
            let want = usize::try_from(want.0).unwrap_or(usize::MAX);
            match bound.set_receive_buffer(want) {
                // Linux reports double the request it granted (bookkeeping included).
                Some(Ok(got)) if got / 2 < want => tracing::warn!(
                    input = %cx.name, listen = %text, requested = want, granted = got / 2,
                    "syslog: receive_buffer capped by net.core.rmem_max; raise it (sysctl -w net.core.rmem_max={want}) for the full buffer"
                ),
                Some(Ok(_)) | None => {}
                Some(Err(e)) => tracing::warn!(input = %cx.name, listen = %text, error = %e,
                    "syslog: cannot set receive_buffer; the system's default is used"),
            }
        }
        tracing::info!(input = %cx.name, listen = %text, "syslog: listening");
        tasks.push((
            format!("input {} listener {text}", cx.name),
            Box::pin(serve(
                bound,
                limits.clone(),
                intake.clone(),
                counters.clone(),
            )),
        ));
    }
    if cfg.spool_fsync == SpoolFsync::Interval {
        let (spool, every, stop) = (spool.clone(), cfg.spool_fsync_interval.0, cx.stop.clone());
        tasks.push((
            format!("input {} spool fsync", cx.name),
            Box::pin(async move {
                let mut tick = tokio::time::interval(every);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tick.tick().await;
                    let s = spool.clone();
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.sync()).await {
                        tracing::error!(error = %e, "syslog spool: fsync failed");
                    }
                }
                // Ends with the agent; the supervisor ignores ends once stopping.
                std::future::pending::<()>().await;
            }),
        ));
    }
    let origin = xxhash_rust::xxh3::xxh3_64(format!("{}:{epoch:x}", cx.key).as_bytes());
    let reader = Reader {
        input: cx.name.clone(),
        spool: spool.clone(),
        cursor: Cursor::new(acked.max(spool.end().saturating_sub(spool.bytes()))),
        store: cx.store,
        source,
        origin,
        decoder: (cx.decoders)(&dir),
        tx: cx.tx,
        stop: cx.stop,
        doorbell: rung,
        room,
        gauge,
    };
    Ok(Started {
        tasks,
        reader,
        counters,
    })
}
