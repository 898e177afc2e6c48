//! The agent's Prometheus metrics (names fixed by the SPEC), registered once and shared.
//! Counters are bumped per chunk or per batch, never per event.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::sync::OnceLock;

pub struct Metrics {
    registry: Registry,
    pub events_received: IntCounterVec,
    pub events_sent: IntCounterVec,
    pub events_dropped: IntCounterVec,
    pub decoder_panics: IntCounterVec,
    pub output_errors: IntCounterVec,
    pub batch_latency: Histogram,
    pub files_tailed: IntGauge,
    pub spool_bytes: IntGauge,
    pub checkpoint_lag_bytes: IntGauge,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition");
    r.register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("static metric definition");
    r.register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

impl Metrics {
    fn new() -> Metrics {
        let r = Registry::new();
        let batch_latency = Histogram::with_opts(
            HistogramOpts::new(
                "logship_batch_latency_seconds",
                "Time from a batch being formed to every output acknowledging it",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
        )
        .expect("static metric definition");
        r.register(Box::new(batch_latency.clone()))
            .expect("metric registered once");
        Metrics {
            events_received: counter(
                &r,
                "logship_events_received_total",
                "Events read by each input",
                &["input"],
            ),
            events_sent: counter(
                &r,
                "logship_events_sent_total",
                "Events acknowledged by each output",
                &["output"],
            ),
            events_dropped: counter(
                &r,
                "logship_events_dropped_total",
                "Events dropped, by reason",
                &["reason"],
            ),
            decoder_panics: counter(
                &r,
                "logship_decoder_panics_total",
                "Lines a decoder or processor panicked on (shipped raw), by input",
                &["input"],
            ),
            output_errors: counter(
                &r,
                "logship_output_errors_total",
                "Failed output attempts, by kind",
                &["output", "kind"],
            ),
            batch_latency,
            files_tailed: gauge(
                &r,
                "logship_files_tailed",
                "Files currently open for reading",
            ),
            spool_bytes: gauge(
                &r,
                "logship_spool_bytes",
                "Bytes in the disk spool of network inputs",
            ),
            checkpoint_lag_bytes: gauge(
                &r,
                "logship_checkpoint_lag_bytes",
                "Bytes of tailed files not yet acknowledged by every output",
            ),
            registry: r,
        }
    }

    /// Makes the labelled series exist at 0 from the start, so dashboards and alerts see them.
    pub fn declare(&self, inputs: &[&str], outputs: &[&str]) {
        for i in inputs {
            self.events_received.with_label_values(&[i]);
            self.decoder_panics.with_label_values(&[i]);
        }
        for o in outputs {
            self.events_sent.with_label_values(&[o]);
            self.output_errors.with_label_values(&[o, "io"]);
        }
        self.spool_bytes.set(0);
        for reason in ["rejected", "filtered", "spool_full"] {
            self.events_dropped.with_label_values(&[reason]);
        }
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::new)
}
