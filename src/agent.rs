//! `logship run`: wires inputs, pipeline, outputs, the checkpoint store and the HTTP endpoint
//! together, and stops them in order on SIGTERM/SIGINT: inputs stop reading, the last partial
//! batch is flushed, outputs finish what is in flight (within `shutdown_timeout`), the ledger
//! applies the acknowledgements and the checkpoints are written.

use crate::config::Config;
use crate::enrich::docker::DockerEnricher;
use crate::health::Health;
use crate::metrics::metrics;
use crate::output;
use crate::pipeline::{self, ledger::Ledger};
use crate::tail::checkpoint::CheckpointStore;
use crate::tail::tailer::Tailer;
use anyhow::Context;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// Chunks (of up to ~1000 events or 1 MiB) queued between the inputs and the pipeline.
const INPUT_QUEUE_CHUNKS: usize = 8;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = Arc::new(
        CheckpointStore::open(&config.data_dir).context("cannot open the checkpoint store")?,
    );
    let max_failing = config
        .http
        .as_ref()
        .map(|h| h.max_failing.0)
        .unwrap_or(Duration::from_secs(300));
    let health = Arc::new(Health::new(max_failing));
    let input_names: Vec<&str> = config.inputs.iter().map(|i| i.name.as_str()).collect();
    let output_names: Vec<&str> = config.outputs.iter().map(|o| o.name.as_str()).collect();
    metrics().declare(&input_names, &output_names);
    if let Some(http) = &config.http {
        crate::http::serve(&http.listen, health.clone()).await?;
    }
    let ledger = Arc::new(Ledger::new(store.clone()));

    let mut output_txs = Vec::new();
    let mut workers = Vec::new();
    for oc in &config.outputs {
        let out = output::build(oc, &config.data_dir)
            .map_err(|e| anyhow::anyhow!("output {}: {e}", oc.name))?;
        let (tx, rx) = tokio::sync::mpsc::channel(config.pipeline.in_flight_batches);
        output_txs.push(tx);
        workers.push(tokio::spawn(output::run_worker(
            oc.name.clone(),
            out,
            rx,
            ledger.clone(),
            health.clone(),
            oc.backoff(),
        )));
    }

    let docker = config.enrich.docker.as_ref().map(|d| {
        let e = DockerEnricher::new(d);
        tokio::spawn(e.clone().follow_events());
        e
    });
    let (input_tx, input_rx) = tokio::sync::mpsc::channel(INPUT_QUEUE_CHUNKS);
    let pipeline = tokio::spawn(pipeline::run(
        input_rx,
        output_txs,
        ledger.clone(),
        config.pipeline.clone(),
        docker,
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let mut inputs = Vec::new();
    for ic in &config.inputs {
        let (settings, decoders) =
            crate::input::tail_settings(ic, config.max_line_bytes, &config.host_name);
        let decoders = crate::process::with_processors(decoders, ic, &config.processors)?;
        let tailer = Tailer::new(
            settings,
            store.clone(),
            decoders,
            input_tx.clone(),
            stop.clone(),
        );
        health.input(&ic.name, "running");
        let handle = std::thread::Builder::new()
            .name(format!("input-{}", ic.name))
            .spawn(move || tailer.run())
            .context("cannot start an input thread")?;
        inputs.push(handle);
    }
    drop(input_tx);

    let saver = {
        let store = store.clone();
        let every = config.pipeline.checkpoint_interval.0;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                save(&store).await;
            }
        })
    };

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tracing::info!(
        inputs = config.inputs.len(),
        outputs = config.outputs.len(),
        data_dir = %config.data_dir.display(),
        "logship started"
    );
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
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
    tracing::info!("logship stopped");
    Ok(())
}

async fn save(store: &Arc<CheckpointStore>) {
    let s = store.clone();
    let result = tokio::task::spawn_blocking(move || {
        s.save()?;
        Ok::<u64, std::io::Error>(s.lag_bytes())
    })
    .await;
    match result {
        Ok(Ok(lag)) => metrics()
            .checkpoint_lag_bytes
            .set(i64::try_from(lag).unwrap_or(i64::MAX)),
        Ok(Err(e)) => tracing::error!(error = %e, "cannot write checkpoints; will retry"),
        Err(e) => tracing::error!(error = %e, "checkpoint writer failed"),
    }
}
