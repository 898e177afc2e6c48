//! `logship run`: wires inputs, pipeline, outputs, the checkpoint store and the HTTP endpoint
//! together, and stops them in order on SIGTERM/SIGINT: inputs stop reading, the last partial
//! batch is flushed, outputs finish what is in flight (within `shutdown_timeout`), the ledger
//! applies the acknowledgements and the checkpoints are written. SIGHUP stops the same way when
//! the configuration file is valid, to start again with it (`crate::reload`); when it is not, the
//! agent says why and goes on.
//!
//! Supervision: every thread and task (each input, the pipeline, each output worker, the Docker
//! events follower, the Kubernetes watcher, the checkpoint saver, the HTTP server) is started through `Supervisor`,
//! which catches a panic and reports any end. One that ends before the agent is stopping is
//! fatal: one error line saying what stopped and why, `/health` answers 503 with that reason,
//! the agent stops as on SIGTERM (what was acknowledged is checkpointed) and exits 1, so systemd
//! or the kubelet restarts it. Never a silent stall.

use crate::enrich::docker::DockerEnricher;
use crate::health::Health;
use crate::input::guard::panic_message;
use crate::input::Plan;
use crate::metrics::metrics;
use crate::output;
use crate::pipeline::{self, ledger::Ledger};
use crate::settings::Config;
use crate::tail::checkpoint::CheckpointStore;
use crate::tail::tailer::Tailer;
use anyhow::Context;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// The agent stopped because a part of it failed; already logged (exit 1, nothing more to say).
#[derive(Debug)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// One part of the agent that ended, and how.
struct Ended {
    what: String,
    how: String,
}

/// Starts the agent's threads and tasks so that the end of any of them is reported.
#[derive(Clone)]
pub struct Supervisor {
    tx: UnboundedSender<Ended>,
}

impl Supervisor {
    fn new() -> (Supervisor, UnboundedReceiver<Ended>) {
        let (tx, rx) = unbounded_channel();
        (Supervisor { tx }, rx)
    }

    fn report(&self, what: String, result: Result<(), Box<dyn std::any::Any + Send>>) {
        let how = match result {
            Ok(()) => "ended".to_string(),
            Err(p) => {
                let at = crate::logging::take_last_panic()
                    .map(|a| format!(" (at {a})"))
                    .unwrap_or_default();
                format!("panicked: {}{at}", panic_message(&*p))
            }
        };
        let _ = self.tx.send(Ended { what, how });
    }

    /// Spawns `fut` on the runtime; its end (or panic) is reported as `what`.
    pub fn task<F>(&self, what: impl Into<String>, fut: F) -> JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (me, what) = (self.clone(), what.into());
        tokio::spawn(async move {
            let result = AssertUnwindSafe(fut).catch_unwind().await;
            me.report(what, result);
        })
    }

    /// Starts a named thread running `f`; its end (or panic) is reported as `what`.
    pub fn thread<F>(
        &self,
        what: impl Into<String>,
        f: F,
    ) -> std::io::Result<std::thread::JoinHandle<()>>
    where
        F: FnOnce() + Send + 'static,
    {
        let (me, what) = (self.clone(), what.into());
        std::thread::Builder::new()
            .name(what.replace(' ', "-"))
            .spawn(move || {
                let result = std::panic::catch_unwind(AssertUnwindSafe(f));
                me.report(what, result);
            })
    }
}

/// Raises the open file limit to its hard limit and sets how many files inputs may keep open:
/// the limit less a reserve for everything else (`open_files::RESERVE`, and each syslog input's
/// `max_connections`). Also makes a file size limit an error, not the agent's end (SIGXFSZ).
fn open_file_budget(plans: &[Plan]) {
    // A file size limit (`ulimit -f`, systemd's `LimitFSIZE=`) ends a process with SIGXFSZ when a
    // file it writes grows past it: the `file` output's file, a spool segment. Ignored, that
    // write fails with `EFBIG` instead, and is retried and reported like a full disk.
    // SAFETY: setting a signal's disposition to "ignore" runs no code of ours in a handler.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let Some((before, soft)) = crate::open_files::raise_limit() else {
        tracing::warn!("cannot read the open file limit; inputs open files without a budget");
        return;
    };
    let connections: usize = plans
        .iter()
        .map(|p| match p {
            Plan::Syslog(cfg) => cfg.max_connections,
            Plan::Tail(..) => 0,
        })
        .sum();
    let budget =
        crate::open_files::set_budget(soft, crate::open_files::RESERVE.saturating_add(connections));
    if soft > before {
        tracing::info!(
            from = before,
            to = soft,
            "open file limit raised to its hard limit"
        );
    }
    tracing::info!(
        open_file_limit = soft,
        input_files = budget,
        "files inputs may keep open"
    );
}

/// Chunks (of up to 512 events or 1 MiB) queued between the inputs and the pipeline.
const INPUT_QUEUE_CHUNKS: usize = 2;

pub async fn run(
    config: Config,
    config_path: std::path::PathBuf,
) -> anyhow::Result<crate::reload::Stopped> {
    let started = (std::time::Instant::now(), std::time::SystemTime::now());
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    // SIGHUP is taken first: one that comes while the agent starts (or waits for the data_dir,
    // up to 30 s) would otherwise end it (the default action); taken here it waits, and the
    // agent reloads once started.
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    // Held until `run` returns: one agent per data_dir.
    let data_dir = config.data_dir.clone();
    let _lock = tokio::task::spawn_blocking(move || {
        crate::data_lock::acquire(&data_dir, crate::data_lock::WAIT)
    })
    .await??;
    let store = Arc::new(
        CheckpointStore::open(&config.data_dir).context("cannot open the checkpoint store")?,
    );
    let max_failing = config
        .http
        .as_ref()
        .map(|h| h.max_failing.0)
        .unwrap_or(Duration::from_secs(300));
    let health = Arc::new(Health::new(max_failing));
    let (sup, mut ended) = Supervisor::new();
    let input_names: Vec<&str> = config.inputs.iter().map(|i| i.name.as_str()).collect();
    let output_names: Vec<&str> = config.outputs.iter().map(|o| o.name.as_str()).collect();
    metrics().declare(&input_names, &output_names);
    let ledger = Arc::new(Ledger::new(store.clone()));
    if let Some(http) = &config.http {
        let status = Arc::new(crate::status::StatusSources {
            store: store.clone(),
            ledger: ledger.clone(),
            health: health.clone(),
            inputs: config
                .inputs
                .iter()
                .map(|i| (i.key.clone(), i.name.clone()))
                .collect(),
            outputs: output_names.iter().map(|s| s.to_string()).collect(),
            config_path: config_path.clone(),
            started: started.0,
            started_at: started.1,
        });
        crate::http::serve(&http.listen, health.clone(), status, &sup).await?;
    }

    let mut output_txs = Vec::new();
    let mut workers = Vec::new();
    for (index, oc) in config.outputs.iter().enumerate() {
        let out = output::build(oc, &config.data_dir)
            .map_err(|e| anyhow::anyhow!("output {}: {e}", oc.name))?;
        // `in_flight_batches` counts the batches an output is sending as well as those queued.
        let queued = config
            .pipeline
            .in_flight_batches
            .saturating_sub(out.concurrency())
            .max(1);
        let (tx, rx) = tokio::sync::mpsc::channel(queued);
        output_txs.push(tx);
        workers.push(sup.task(
            format!("output {} worker", oc.name),
            output::run_worker(
                index,
                oc.name.clone(),
                out,
                rx,
                ledger.clone(),
                health.clone(),
                oc.backoff(),
            ),
        ));
    }

    let docker = config.enrich.docker.as_ref().map(|d| {
        let e = DockerEnricher::new(d);
        sup.task("docker events follower", e.clone().follow_events());
        e
    });
    let pods = match &config.enrich.kubernetes {
        Some(k) => {
            let (store, follow) = crate::enrich::kubernetes::start(k, &config.host_name);
            sup.task("kubernetes watcher", follow);
            // The lines already on disk are read with their pods' metadata when the API answers
            // in time; otherwise reading starts anyway.
            if !store.wait_synced(k.sync_timeout.0).await {
                tracing::warn!(
                    waited = %humantime::format_duration(k.sync_timeout.0),
                    "no list of pods from the Kubernetes API yet; reading starts, records get pod metadata once it answers"
                );
            }
            Some(store)
        }
        None => None,
    };
    let (input_tx, input_rx) = tokio::sync::mpsc::channel(INPUT_QUEUE_CHUNKS);
    let pipeline = sup.task(
        "pipeline",
        pipeline::run(
            input_rx,
            output_txs,
            ledger.clone(),
            config.pipeline.clone(),
            docker,
        ),
    );

    let stop = Arc::new(AtomicBool::new(false));
    let mut inputs = Vec::new();
    let plans: Vec<_> = config
        .inputs
        .iter()
        .map(|ic| crate::input::plan(ic, config.max_line_bytes, &config.host_name))
        .collect();
    let owners: Vec<(String, Vec<glob::Pattern>)> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Tail(s, _) => Some(s),
            Plan::Syslog(_) => None,
        })
        .map(|s| {
            let pats = s.paths.iter().filter_map(|p| glob::Pattern::new(p).ok());
            (s.key.clone(), pats.collect())
        })
        .collect();
    store.adopt(&owners);
    open_file_budget(&plans);
    let spools = plans
        .iter()
        .filter(|p| matches!(p, Plan::Syslog(_)))
        .count()
        .max(1) as u64;
    for (ic, plan) in config.inputs.iter().zip(plans) {
        let decoders = match &plan {
            Plan::Tail(_, d) => d.clone(),
            Plan::Syslog(_) => crate::input::syslog::decode::factory(&config.host_name),
        };
        let decoders = match &pods {
            Some(store) => {
                crate::enrich::kubernetes::decoder::wrap(decoders, store.clone(), ic.type_name())
            }
            None => decoders,
        };
        let decoders = crate::process::with_processors(
            decoders,
            &ic.name,
            ic.processors(),
            &config.processors,
        )?;
        let decoders =
            crate::input::guard::guarded(decoders, &ic.name, ic.type_name(), &config.host_name);
        let handle = match plan {
            Plan::Tail(settings, _) => {
                let tailer = Tailer::new(
                    settings,
                    store.clone(),
                    decoders,
                    input_tx.clone(),
                    stop.clone(),
                );
                sup.thread(format!("input {}", ic.name), move || tailer.run())
            }
            Plan::Syslog(cfg) => {
                let started = crate::input::syslog::run::start(
                    &cfg,
                    crate::input::syslog::run::Context {
                        name: ic.name.clone(),
                        key: ic.key.clone(),
                        data_dir: config.data_dir.clone(),
                        spool_max: config.spool_max / spools,
                        store: store.clone(),
                        decoders,
                        tx: input_tx.clone(),
                        stop: stop.clone(),
                    },
                )
                .await?;
                for (what, task) in started.tasks {
                    sup.task(what, task);
                }
                let reader = started.reader;
                sup.thread(format!("input {}", ic.name), move || reader.run())
            }
        }
        .context("cannot start an input thread")?;
        health.input(&ic.name, "running");
        inputs.push(handle);
    }
    drop(input_tx);

    let saver = {
        let store = store.clone();
        let every = config.pipeline.checkpoint_interval.0;
        sup.task("checkpoint saver", async move {
            if crate::fault::task_exits("saver") {
                return;
            }
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    // New or rotated files: written now (at most every 10 ms).
                    _ = store.wanted() => {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
                save(&store).await;
            }
        })
    };

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let released = crate::resident::release_relocation_table();
    tracing::debug!(kib = released / 1024, "relocation table released");
    tracing::info!(
        inputs = config.inputs.len(),
        outputs = config.outputs.len(),
        data_dir = %config.data_dir.display(),
        "logship started"
    );
    let mut failure = None;
    let mut stopped = crate::reload::Stopped::ForGood;
    loop {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
            _ = hup.recv() => match crate::reload::check(&config_path) {
                Ok(()) => {
                    tracing::info!(config = %config_path.display(), "SIGHUP: the configuration is valid; stopping, to start again with it");
                    stopped = crate::reload::Stopped::ToReload;
                }
                Err(problems) => {
                    tracing::error!(config = %config_path.display(), "SIGHUP: the configuration has problems, so the agent goes on with the one it started with: {problems}");
                    continue;
                }
            },
            Some(first) = ended.recv() => {
                // A part that dies takes the ones after it along (an input's end closes the
                // pipeline's channel, which ends the output workers): name the cause, a panic
                // before a plain end, seen within a moment of the first report.
                let mut seen = vec![first];
                let window = tokio::time::sleep(Duration::from_millis(200));
                tokio::pin!(window);
                loop {
                    tokio::select! {
                        Some(e) = ended.recv() => seen.push(e),
                        _ = &mut window => break,
                    }
                }
                let pick = seen.iter().position(|e| e.how.starts_with("panicked")).unwrap_or(0);
                let e = seen.swap_remove(pick);
                let reason = format!("{} {} unexpectedly; the agent stops and exits 1 (to be restarted)", e.what, e.how);
                tracing::error!("{reason}");
                health.fatal(&reason);
                failure = Some(reason);
            }
        }
        break;
    }

    stop.store(true, Ordering::Relaxed);
    let drain = async {
        for h in inputs {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        let _ = pipeline.await;
        for w in workers {
            let _ = w.await;
        }
    };
    if tokio::time::timeout(config.shutdown_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            unacknowledged_batches = ledger.in_flight(),
            "shutdown_timeout reached before every output acknowledged; those records will be read again at the next start"
        );
    }
    saver.abort();
    save(&store).await;
    match failure {
        Some(reason) => Err(anyhow::Error::new(Fatal(reason))),
        None => {
            tracing::info!("logship stopped");
            Ok(stopped)
        }
    }
}

/// Checkpoint writes failing since `since`: logged when they start, then again only when the
/// error changes or a minute passed, and once when a write works again. They are tried every
/// `checkpoint_interval` (1 s), and the full disk that makes them fail is often the one the
/// agent's own logs go to (until 2026-12-06, one error line per attempt).
struct SaveFailing {
    since: std::time::Instant,
    logged: std::time::Instant,
    attempts: u64,
    error: String,
}

static SAVE_FAILING: std::sync::Mutex<Option<SaveFailing>> = std::sync::Mutex::new(None);

const SAVE_FAILING_LOG_EVERY: Duration = Duration::from_secs(60);

async fn save(store: &Arc<CheckpointStore>) {
    let s = store.clone();
    let result = tokio::task::spawn_blocking(move || {
        s.save()?;
        Ok::<u64, std::io::Error>(s.lag_bytes())
    })
    .await;
    let mut failing = SAVE_FAILING.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(Ok(lag)) => {
            metrics()
                .checkpoint_lag_bytes
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
            if let Some(f) = failing.take() {
                tracing::info!(
                    failing_for_s = f.since.elapsed().as_secs(),
                    attempts = f.attempts,
                    "checkpoints written again"
                );
            }
        }
        Ok(Err(e)) => {
            let (now, error) = (std::time::Instant::now(), e.to_string());
            match failing.as_mut() {
                None => {
                    tracing::error!(%error, "cannot write checkpoints; will retry (until they are written, a restart reads again what was shipped since the last write; this is logged again once a minute while it lasts)");
                    *failing = Some(SaveFailing {
                        since: now,
                        logged: now,
                        attempts: 1,
                        error,
                    });
                }
                Some(f) => {
                    f.attempts += 1;
                    if f.error != error || now.duration_since(f.logged) >= SAVE_FAILING_LOG_EVERY {
                        tracing::error!(
                            %error,
                            failing_for_s = now.duration_since(f.since).as_secs(),
                            attempts = f.attempts,
                            "still cannot write checkpoints; will retry"
                        );
                        f.logged = now;
                        f.error = error;
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "checkpoint writer failed"),
    }
}
