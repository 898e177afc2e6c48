//! `logship migrate`: switch from Filebeat or Fluent Bit without a gap. The configuration is
//! translated (`filebeat.rs`, `fluentbit.rs` for the classic and YAML formats, written by `emit.rs` with a `# not translated:` comment for every setting
//! with no equivalent, counted on stderr) and checked as `check-config` would; the read
//! positions of the old shipper become logship checkpoints (`registry.rs`), so the switch
//! re-sends nothing and skips nothing.

pub mod emit;
pub mod filebeat;
pub mod fluentbit;
pub mod registry;

use std::path::{Path, PathBuf};

/// Which shipper a configuration file is for.
#[derive(Debug, PartialEq)]
pub enum Source {
    Filebeat,
    FluentBitClassic,
    FluentBitYaml,
}

/// Guesses the format from the text.
pub fn detect(text: &str) -> Source {
    let classic = text.lines().map(str::trim).any(|l| {
        l.eq_ignore_ascii_case("[INPUT]")
            || l.eq_ignore_ascii_case("[SERVICE]")
            || l.eq_ignore_ascii_case("[OUTPUT]")
    });
    if classic {
        Source::FluentBitClassic
    } else if text.lines().any(|l| l.starts_with("pipeline:")) {
        Source::FluentBitYaml
    } else {
        Source::Filebeat
    }
}

/// The translation of `text` and the number of settings not translated.
pub fn translate(text: &str) -> anyhow::Result<(String, usize)> {
    match detect(text) {
        Source::Filebeat => {
            let doc: serde_json::Value = serde_saphyr::from_str(text)
                .map_err(|e| anyhow::anyhow!("not a YAML document: {e}"))?;
            let mut out = emit::Out::default();
            filebeat::translate(&doc, &mut out);
            Ok((out.text(), out.skipped))
        }
        Source::FluentBitClassic => {
            let mut out = emit::Out::default();
            fluentbit::translate(&fluentbit::parse_classic(text), &mut out);
            Ok((out.text(), out.skipped))
        }
        Source::FluentBitYaml => {
            let doc: serde_json::Value = serde_saphyr::from_str(text)
                .map_err(|e| anyhow::anyhow!("not a YAML document: {e}"))?;
            let mut out = emit::Out::default();
            fluentbit::translate(&fluentbit::parse_yaml(&doc), &mut out);
            Ok((out.text(), out.skipped))
        }
    }
}

/// `logship migrate [SOURCE] [-o OUT] [--registry PATH] [-c CONFIG]`.
pub fn run(
    source: Option<&Path>,
    out: Option<&Path>,
    registry: Option<&Path>,
    config: &Path,
) -> i32 {
    use crate::cli::{EXIT_CONFIG, EXIT_OK, EXIT_RUNTIME};
    let mut config_path: PathBuf = config.to_path_buf();
    if let Some(src) = source {
        let text = match std::fs::read_to_string(src) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("logship: cannot read {}: {e}", src.display());
                return EXIT_CONFIG;
            }
        };
        let (yaml, skipped) = match translate(&text) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("logship: {}: {e:#}", src.display());
                return EXIT_CONFIG;
            }
        };
        match out {
            Some(o) => {
                if let Err(e) = std::fs::write(o, &yaml) {
                    eprintln!("logship: cannot write {}: {e}", o.display());
                    return EXIT_RUNTIME;
                }
                config_path = o.to_path_buf();
                eprintln!("logship: wrote {}", o.display());
            }
            None => print!("{yaml}"),
        }
        eprintln!(
            "logship: {skipped} setting(s) not translated (each is a `# not translated:` comment where it was)"
        );
        // As check-config would: the environment's ${VAR}s.
        if let Err(errors) = crate::settings::parse(&yaml, |k| std::env::var(k).ok()) {
            eprintln!("logship: the translation does not pass check-config:");
            for e in errors {
                eprintln!("  {e}");
            }
            return EXIT_CONFIG;
        }
    }
    if let Some(reg) = registry {
        let config = match crate::settings::load(&config_path) {
            Ok(c) => c,
            Err(e) => {
                eprint!("logship: {e}");
                return EXIT_CONFIG;
            }
        };
        let mut bad = 0;
        let read = if registry::is_sqlite(reg) {
            registry::fluentbit_db(reg)
        } else {
            registry::filebeat(reg, &mut bad)
        };
        let positions = match read {
            Ok(p) => p,
            Err(e) => {
                eprintln!("logship: {e:#}");
                return EXIT_CONFIG;
            }
        };
        if bad > 0 {
            eprintln!("logship: {bad} registry line(s) could not be read and were skipped");
        }
        match registry::import(&positions, &config) {
            Ok(done) => {
                for (p, off) in &done.resumed {
                    eprintln!("resumes at {off}: {}", p.display());
                }
                for (p, why) in &done.left {
                    eprintln!("left to read_from: {} ({why})", p.display());
                }
                eprintln!(
                    "logship: {} checkpoint(s) written to {}, {} file(s) left to read_from",
                    done.resumed.len(),
                    config.data_dir.display(),
                    done.left.len()
                );
            }
            Err(e) => {
                eprintln!("logship: {e:#}");
                return EXIT_RUNTIME;
            }
        }
    }
    if source.is_none() && registry.is_none() {
        eprintln!(
            "logship: nothing to do: give a configuration to translate and/or --registry PATH"
        );
        return EXIT_CONFIG;
    }
    EXIT_OK
}
