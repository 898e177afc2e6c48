//! `add_fields`: fixed fields under `target` (default `fields`, as Filebeat; `""` = the root).
//! Values may use `${VAR}`: the whole configuration is substituted when it is loaded.

use super::config::AddFieldsConfig;
use crate::event::Event;

pub fn apply(cfg: &AddFieldsConfig, e: &mut Event) {
    for (k, v) in &cfg.fields {
        let path = if cfg.target.is_empty() {
            k.clone()
        } else {
            format!("{}.{k}", cfg.target)
        };
        e.set(&path, v.clone());
    }
}
