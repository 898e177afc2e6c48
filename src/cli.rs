//! The command line: `run`, `check-config`, `test-output`, `status`, `migrate`, `version`, and their exit codes
//! (0 clean stop, 1 runtime failure, 2 bad configuration or usage).

use crate::settings::{self, Config};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_RUNTIME: i32 = 1;
pub const EXIT_CONFIG: i32 = 2;

#[derive(Parser)]
#[command(
    name = "logship",
    about = "Per-node log shipping agent",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// Configuration file.
    #[arg(
        short = 'c',
        long = "config",
        env = "LOGSHIP_CONFIG",
        default_value = "/etc/logship/logship.yaml"
    )]
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent until SIGTERM/SIGINT.
    Run(ConfigArg),
    /// Validate the configuration: a summary and exit 0, or every problem and exit 2.
    CheckConfig(ConfigArg),
    /// Connect to each output (TLS included) and report OK or the failure; sends nothing.
    TestOutput(ConfigArg),
    /// What the running agent (at the config's `http.listen`) is doing: per output its state,
    /// per file its lag and what holds its checkpoint back (worst first).
    Status(StatusArgs),
    /// Translate a filebeat.yml or a Fluent Bit configuration (classic or YAML) into a logship
    /// one, and/or import Filebeat's registry or Fluent Bit's tail DB as checkpoints (into the
    /// data_dir of `-o` or `-c`), so the switch re-sends and skips nothing.
    Migrate(MigrateArgs),
    /// Version, git commit and enabled features.
    Version,
}

#[derive(clap::Args)]
struct MigrateArgs {
    /// The configuration to translate (filebeat.yml, fluent-bit.conf or fluent-bit.yaml).
    source: Option<PathBuf>,
    /// Write the translation here (default: stdout).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Filebeat's registry (its data dir, `registry/filebeat`, or `log.json`) or Fluent Bit's
    /// tail DB (the `DB` file of a tail input): read positions to import as checkpoints. Stop
    /// the old shipper first, and start logship after.
    #[arg(long)]
    registry: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The agent's `/status` JSON as it is.
    #[arg(long)]
    json: bool,
    /// Print it again every 2 seconds until interrupted.
    #[arg(long)]
    watch: bool,
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    crate::tls::install_default_provider();
    match cli.command {
        Command::Version => {
            println!("{}", version());
            EXIT_OK
        }
        Command::CheckConfig(a) => match load(&a.config) {
            Ok(c) => {
                for w in &c.warnings {
                    eprintln!("logship: warning: {w}");
                }
                println!("{}", summary(&a.config, &c));
                EXIT_OK
            }
            Err(code) => code,
        },
        Command::Status(a) => match load(&a.config.config) {
            Ok(c) => match c.http {
                Some(http) => runtime(|| status(http.listen, a.json, a.watch)),
                None => {
                    eprintln!(
                        "logship: {} has no http.listen: the agent serves no status (add `http: {{ listen: 127.0.0.1:5066 }}`)",
                        a.config.config.display()
                    );
                    EXIT_CONFIG
                }
            },
            Err(code) => code,
        },
        Command::Migrate(a) => crate::migrate::run(
            a.source.as_deref(),
            a.output.as_deref(),
            a.registry.as_deref(),
            &a.config.config,
        ),
        Command::TestOutput(a) => match load(&a.config) {
            Ok(c) => runtime(|| test_outputs(c)),
            Err(code) => code,
        },
        Command::Run(a) => match load(&a.config) {
            Ok(c) => {
                crate::logging::init(c.log_format);
                runtime(|| async move {
                    match crate::agent::run(c, a.config.clone()).await {
                        Ok(crate::reload::Stopped::ForGood) => EXIT_OK,
                        Ok(crate::reload::Stopped::ToReload) => {
                            let e = crate::reload::exec_again();
                            tracing::error!(error = %e, "cannot start again with the new configuration; exiting 1 (to be restarted)");
                            EXIT_RUNTIME
                        }
                        Err(e) => {
                            if e.downcast_ref::<crate::agent::Fatal>().is_none() {
                                tracing::error!("{e:#}");
                            }
                            EXIT_RUNTIME
                        }
                    }
                })
            }
            Err(code) => code,
        },
    }
}

/// `logship status`: the table (or JSON) once, or again every 2 s with `--watch`.
async fn status(listen: String, json: bool, watch: bool) -> i32 {
    use std::io::IsTerminal;
    let tty = std::io::stdout().is_terminal();
    loop {
        match crate::status::fetch(&listen).await {
            Ok(v) => {
                if watch && tty {
                    print!("\x1b[2J\x1b[H");
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    print!("{}", crate::status::table::render(&v, tty));
                }
            }
            Err(e) => {
                eprintln!("logship: {e}");
                if !watch {
                    return EXIT_RUNTIME;
                }
            }
        }
        if !watch {
            return EXIT_OK;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

fn runtime<F, Fut>(f: F) -> i32
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => {
            eprintln!("logship: cannot start the runtime: {e}");
            EXIT_RUNTIME
        }
    }
}

fn load(path: &Path) -> Result<Config, i32> {
    settings::load(path).map_err(|e| {
        eprint!("logship: {e}");
        EXIT_CONFIG
    })
}

fn version() -> String {
    format!(
        "logship {} (commit {})\nfeatures: inputs: file (plain, syslog), docker, cri; enrich: docker, kubernetes (API watch); outputs: console, file, logstash (beats v2), elasticsearch (bulk, create + deterministic ids, dead letters), cloudwatch (AWS SDK); processors: decode_json, multiline, drop, include, rename, add_fields, drop_fields, include_fields; TLS via rustls; http: metrics, health",
        env!("CARGO_PKG_VERSION"),
        env!("LOGSHIP_GIT_COMMIT"),
    )
}

fn summary(path: &Path, c: &Config) -> String {
    let inputs: Vec<String> = c
        .inputs
        .iter()
        .map(|i| format!("{} ({})", i.name, i.spec.describe()))
        .collect();
    let outputs: Vec<String> = c
        .outputs
        .iter()
        .map(|o| format!("{} ({})", o.name, o.type_name()))
        .collect();
    let mut enrich = Vec::new();
    if let Some(d) = &c.enrich.docker {
        enrich.push(format!("docker ({})", d.socket));
    }
    if let Some(k) = &c.enrich.kubernetes {
        let from = match (&k.kubeconfig, &k.api_server) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(url)) => url.clone(),
            (None, None) => "in-cluster".to_string(),
        };
        enrich.push(format!(
            "kubernetes ({from}, node {})",
            k.node(&c.host_name)
        ));
    }
    let enrich = if enrich.is_empty() {
        String::new()
    } else {
        format!("; enrich: {}", enrich.join(", "))
    };
    format!(
        "configuration {} is valid: inputs: {}; outputs: {}{enrich}; data_dir: {}",
        path.display(),
        inputs.join(", "),
        outputs.join(", "),
        c.data_dir.display()
    )
}

async fn test_outputs(c: Config) -> i32 {
    for w in &c.warnings {
        println!("warning: {w}");
    }
    let mut all_ok = true;
    for oc in &c.outputs {
        let out = match crate::output::build(oc, &c.data_dir) {
            Ok(o) => o,
            Err(e) => {
                all_ok = false;
                println!("{}: FAILED: {e}", oc.name);
                continue;
            }
        };
        match out.check().await {
            Ok(detail) => println!("{}: OK ({detail})", oc.name),
            Err(e) => {
                all_ok = false;
                println!("{}: FAILED: {e}", oc.name);
            }
        }
    }
    if all_ok {
        EXIT_OK
    } else {
        EXIT_RUNTIME
    }
}
