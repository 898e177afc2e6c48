//! `filebeat.yml` → logship: inputs (`log`, `filestream`, `container`, `docker`, `syslog`),
//! processors (`add_docker_metadata` and `add_kubernetes_metadata` become `enrich:`,
//! `decode_json_fields`, `drop_event`, `rename`, `add_fields`, multiline and JSON options of the
//! inputs), outputs (`logstash`, `elasticsearch`, `file`, `console`) with their `ssl.*`, and
//! `http.*`. Anything else is kept as a `# not translated:` comment where it was.

use super::emit::{expand_dots, flow, Out};
use serde_json::{json, Map, Value};

/// Filebeat conditions (`equals`, `contains`, `regexp`, `range`, `has_fields`, `and`, `or`,
/// `not`) are logship's; others make the processor untranslatable.
fn condition_ok(c: &Value, depth: usize) -> bool {
    let Some(m) = c.as_object() else {
        return false;
    };
    depth < 32
        && m.iter().all(|(k, v)| match k.as_str() {
            "equals" | "contains" | "regexp" | "range" | "has_fields" => true,
            "and" | "or" => v
                .as_array()
                .is_some_and(|a| a.iter().all(|c| condition_ok(c, depth + 1))),
            "not" => condition_ok(v, depth + 1),
            _ => false,
        })
}

/// What the translation gathers besides the text: the `enrich:` block.
#[derive(Default)]
pub struct Found {
    pub docker_socket: Option<Value>,
    pub kubernetes: Option<Map<String, Value>>,
}

/// One processor of a `processors:` list, at `indent` (list items). Returns false when it was
/// not translated (then a comment was written instead).
fn processor(p: &Value, out: &mut Out, indent: usize, found: &mut Found) {
    let Some((name, cfg)) = p.as_object().and_then(|m| m.iter().next()) else {
        out.skip(indent, "processor", p, "not a one-key map");
        return;
    };
    let when = cfg.get("when");
    if let Some(w) = when {
        if !condition_ok(w, 0) {
            out.skip(
                indent,
                name,
                cfg,
                "its `when` uses a condition logship has not",
            );
            return;
        }
    }
    match name.as_str() {
        "add_docker_metadata" => {
            found.docker_socket = Some(
                cfg.get("host")
                    .cloned()
                    .unwrap_or(json!("unix:///var/run/docker.sock")),
            );
            out.note(indent, "add_docker_metadata: see enrich.docker below");
            for k in cfg.as_object().into_iter().flatten().map(|(k, _)| k) {
                if k != "host" {
                    out.skip(
                        indent,
                        &format!("add_docker_metadata.{k}"),
                        &cfg[k],
                        "enrich.docker matches containers by the file's container id",
                    );
                }
            }
        }
        "add_kubernetes_metadata" => {
            let mut k = Map::new();
            if let Some(n) = cfg.get("node").or_else(|| cfg.get("host")) {
                k.insert("node_name".into(), n.clone());
            }
            if let Some(n) = cfg.get("kube_config") {
                k.insert("kubeconfig".into(), n.clone());
            }
            if let Some(n) = cfg.get("namespace") {
                k.insert("namespaces".into(), json!([n]));
            }
            found.kubernetes = Some(k);
            out.note(
                indent,
                "add_kubernetes_metadata: see enrich.kubernetes below",
            );
            for key in cfg.as_object().into_iter().flatten().map(|(k, _)| k) {
                if !matches!(
                    key.as_str(),
                    "node" | "kube_config" | "namespace" | "host" | "in_cluster"
                ) {
                    out.skip(
                        indent,
                        &format!("add_kubernetes_metadata.{key}"),
                        &cfg[key],
                        "logship matches pods by the file's path and container id",
                    );
                }
            }
        }
        "decode_json_fields" => {
            let fields = cfg
                .get("fields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for f in fields {
                let mut m = Map::new();
                m.insert("field".into(), f.clone());
                m.insert(
                    "target".into(),
                    cfg.get("target").cloned().unwrap_or(json!("")),
                );
                for k in [
                    "overwrite_keys",
                    "add_error_key",
                    "max_depth",
                    "expand_keys",
                ] {
                    if let Some(v) = cfg.get(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
                if let Some(w) = when {
                    m.insert("when".into(), w.clone());
                }
                out.line(
                    indent,
                    format!("- decode_json: {}", flow(&Value::Object(m))),
                );
            }
            if let Some(v) = cfg.get("process_array") {
                out.skip(
                    indent,
                    "decode_json_fields.process_array",
                    v,
                    "arrays are always decoded",
                );
            }
        }
        "drop_event" => match when {
            Some(w) => out.line(indent, format!("- drop: {}", flow(&json!({ "when": w })))),
            None => out.skip(
                indent,
                name,
                cfg,
                "a drop_event without `when` drops everything",
            ),
        },
        "rename" => {
            let mut fields = Map::new();
            for f in cfg
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(from), Some(to)) = (f["from"].as_str(), f["to"].as_str()) {
                    fields.insert(from.into(), json!(to));
                }
            }
            let mut m = Map::new();
            m.insert("fields".into(), Value::Object(fields));
            for k in ["ignore_missing", "fail_on_error", "when"] {
                if let Some(v) = cfg.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            out.line(indent, format!("- rename: {}", flow(&Value::Object(m))));
        }
        "add_fields" => {
            let mut m = Map::new();
            m.insert(
                "target".into(),
                cfg.get("target").cloned().unwrap_or(json!("fields")),
            );
            m.insert(
                "fields".into(),
                cfg.get("fields").cloned().unwrap_or(json!({})),
            );
            if let Some(w) = when {
                m.insert("when".into(), w.clone());
            }
            out.line(indent, format!("- add_fields: {}", flow(&Value::Object(m))));
        }
        "include_fields" | "drop_fields" => {
            let mut m = Map::new();
            m.insert(
                "fields".into(),
                cfg.get("fields").cloned().unwrap_or(json!([])),
            );
            for k in ["ignore_missing", "when"] {
                if let Some(v) = cfg.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            out.line(indent, format!("- {name}: {}", flow(&Value::Object(m))));
        }
        "add_host_metadata" => out.skip(indent, name, cfg, "logship adds host.name only"),
        _ => out.skip(indent, name, cfg, "no logship processor does this"),
    }
}

/// A processors list (input or top level) under `key:` at `indent`.
fn processors(list: &[Value], out: &mut Out, indent: usize, found: &mut Found, pre: Vec<String>) {
    if list.is_empty() && pre.is_empty() {
        return;
    }
    out.line(indent, "processors:");
    for l in pre {
        out.line(indent + 2, l);
    }
    for p in list {
        processor(p, out, indent + 2, found);
    }
}

/// `multiline.*` of a `log` input, or a `parsers: - multiline:` of a `filestream` one.
fn multiline(m: &Value) -> Option<String> {
    if m.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t != "pattern")
    {
        return None;
    }
    let mut o = Map::new();
    o.insert("pattern".into(), m.get("pattern")?.clone());
    for k in ["negate", "match", "max_lines", "timeout"] {
        if let Some(v) = m.get(k) {
            o.insert(k.into(), v.clone());
        }
    }
    Some(format!("- multiline: {}", flow(&Value::Object(o))))
}

/// JSON options (`json.*` of `log`, `parsers: - ndjson:` of `filestream`) as a decode_json.
fn ndjson(j: &Value) -> String {
    let under_root = j
        .get("keys_under_root")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let target =
        j.get("target")
            .cloned()
            .unwrap_or(if under_root { json!("") } else { json!("json") });
    let mut o = Map::new();
    o.insert("target".into(), target);
    for k in ["overwrite_keys", "add_error_key", "expand_keys"] {
        if let Some(v) = j.get(k) {
            o.insert(k.into(), v.clone());
        }
    }
    format!("- decode_json: {}", flow(&Value::Object(o)))
}

const INPUT_IGNORED: &[(&str, &str)] = &[
    ("id", ""),
    ("type", ""),
    ("paths", ""),
    ("enabled", ""),
    ("processors", ""),
    ("multiline", ""),
    ("json", ""),
    ("parsers", ""),
    ("fields", ""),
    ("fields_under_root", ""),
    ("tags", ""),
    ("scan_frequency", ""),
    ("tail_files", ""),
    ("prospector", ""),
    ("containers", ""),
    ("combine_partial", ""),
    ("stream", ""),
    ("format", ""),
    ("cri", ""),
    ("protocol", ""),
    ("ssl", ""),
];

/// Why a file-input option has no equivalent.
fn input_why(key: &str) -> &'static str {
    match key {
        "close_inactive" | "close_renamed" | "close_removed" | "close_eof" | "close"
        | "close_timeout" => "logship closes a rotated file once read to its end and acknowledged",
        "clean_inactive" | "clean_removed" | "clean_timeout" | "ignore_older" => {
            "checkpoints of files gone are pruned once acknowledged"
        }
        "harvester_buffer_size"
        | "harvester_limit"
        | "max_bytes"
        | "buffer_size"
        | "message_max_bytes" => "sizes are global in logship (max_line_bytes)",
        "exclude_lines" | "include_lines" => {
            "use a `drop`/`include` processor with a `regexp` condition"
        }
        "exclude_files" => "Filebeat's are regexes; logship's `exclude` takes globs",
        "encoding" => "logship reads UTF-8 (invalid bytes are replaced)",
        "pipeline" | "index" => "set per output in logship",
        _ => "no logship input option does this",
    }
}

/// One item of `filebeat.inputs`.
fn input(v: &Value, out: &mut Out, found: &mut Found) {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("log");
    if v.get("enabled").and_then(Value::as_bool) == Some(false) {
        out.skip(2, &format!("a disabled `{ty}` input"), v, "enabled: false");
        return;
    }
    let mut pre = Vec::new();
    let mut extra_skips: Vec<(String, Value, &str)> = Vec::new();
    match ty {
        "log" | "filestream" => {
            out.line(2, "- type: file");
            if let Some(id) = v.get("id") {
                out.kv(4, "name", id);
            }
            out.kv(4, "paths", v.get("paths").unwrap_or(&json!([])));
            // Filebeat reads a file it has never seen from its start.
            let tail = v
                .get("tail_files")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out.kv(
                4,
                "read_from",
                &json!(if tail { "end" } else { "beginning" }),
            );
            let scan = v
                .get("scan_frequency")
                .or_else(|| v.pointer("/prospector/scanner/check_interval"));
            if let Some(s) = scan {
                out.kv(4, "scan_frequency", s);
            }
            if let Some(m) = v.get("multiline") {
                match multiline(m) {
                    Some(l) => pre.push(l),
                    None => extra_skips.push((
                        "multiline".into(),
                        m.clone(),
                        "only pattern multiline is translated",
                    )),
                }
            }
            if let Some(j) = v.get("json") {
                pre.push(ndjson(j));
                if let Some(k) = j.get("message_key") {
                    extra_skips.push((
                        "json.message_key".into(),
                        k.clone(),
                        "multiline and line filters run on the whole line",
                    ));
                }
            }
            for p in v
                .get("parsers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(m) = p.get("multiline") {
                    match multiline(m) {
                        Some(l) => pre.push(l),
                        None => extra_skips.push((
                            "parsers.multiline".into(),
                            m.clone(),
                            "only pattern multiline is translated",
                        )),
                    }
                } else if let Some(j) = p.get("ndjson") {
                    pre.push(ndjson(j));
                } else {
                    extra_skips.push((
                        "parsers".into(),
                        p.clone(),
                        "use the docker or cri input for container logs",
                    ));
                }
            }
            if let Some(exclude) = v.pointer("/prospector/scanner/exclude_files") {
                extra_skips.push((
                    "prospector.scanner.exclude_files".into(),
                    exclude.clone(),
                    input_why("exclude_files"),
                ));
            }
        }
        "container" | "docker" => {
            let containers = v.get("containers").cloned().unwrap_or(json!({}));
            let paths: Vec<String> = v
                .get("paths")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let docker_path = if ty == "docker" {
                Some(
                    containers
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or("/var/lib/docker/containers")
                        .to_string(),
                )
            } else {
                paths
                    .iter()
                    .find(|p| p.contains("/var/lib/docker/containers"))
                    .map(|p| {
                        p.split("/*")
                            .next()
                            .unwrap_or(p)
                            .trim_end_matches('/')
                            .to_string()
                    })
            };
            match &docker_path {
                Some(p) => {
                    out.line(2, "- type: docker");
                    if let Some(id) = v.get("id") {
                        out.kv(4, "name", id);
                    }
                    out.kv(4, "containers_path", &json!(p));
                }
                None => {
                    out.line(2, "- type: cri");
                    if let Some(id) = v.get("id") {
                        out.kv(4, "name", id);
                    }
                    out.kv(4, "paths", &json!(paths));
                }
            }
            out.kv(4, "read_from", &json!("beginning"));
            let stream = v
                .get("stream")
                .or_else(|| containers.get("stream"))
                .and_then(Value::as_str)
                .unwrap_or("all");
            if stream != "all" {
                out.kv(4, "streams", &json!([stream]));
            }
            if let Some(ids) = containers.get("ids") {
                if ids != &json!(["*"]) {
                    extra_skips.push(("containers.ids".into(), ids.clone(), "logship reads every container under the path; drop others with a `drop` processor on container.id"));
                }
            }
            if v.get("combine_partial").and_then(Value::as_bool) == Some(false) {
                extra_skips.push((
                    "combine_partial".into(),
                    json!(false),
                    "logship always joins partial lines",
                ));
            }
        }
        "syslog" => {
            out.line(2, "- type: syslog");
            if let Some(id) = v.get("id") {
                out.kv(4, "name", id);
            }
            let mut listen = Vec::new();
            for proto in ["udp", "tcp"] {
                if let Some(h) = v
                    .pointer(&format!("/protocol/{proto}/host"))
                    .and_then(Value::as_str)
                {
                    listen.push(json!(format!("{proto}://{h}")));
                }
            }
            if let Some(h) = v.pointer("/protocol/unix/path").and_then(Value::as_str) {
                listen.push(json!(format!("unix://{h}")));
            }
            out.kv(4, "listen", &Value::Array(listen));
            if let Some(ssl) = v.get("ssl") {
                let mut t = Map::new();
                if let Some(c) = ssl.get("certificate") {
                    t.insert("cert".into(), c.clone());
                }
                if let Some(k) = ssl.get("key") {
                    t.insert("key".into(), k.clone());
                }
                if let Some(ca) = ssl
                    .get("certificate_authorities")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                {
                    t.insert("client_ca".into(), ca.clone());
                }
                out.kv(4, "tls", &Value::Object(t));
            }
        }
        other => {
            out.skip(
                2,
                &format!("a `{other}` input"),
                v,
                "logship reads files, container logs and syslog",
            );
            return;
        }
    }
    let mut fields_pre = Vec::new();
    if let Some(f) = v.get("fields") {
        let under_root = v
            .get("fields_under_root")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        fields_pre.push(format!(
            "- add_fields: {}",
            flow(&json!({ "target": if under_root { "" } else { "fields" }, "fields": f }))
        ));
    }
    if let Some(t) = v.get("tags") {
        fields_pre.push(format!(
            "- add_fields: {}",
            flow(&json!({ "target": "", "fields": { "tags": t } }))
        ));
    }
    for (k, val) in v.as_object().into_iter().flatten() {
        if INPUT_IGNORED.iter().any(|(i, _)| i == k) {
            continue;
        }
        out.skip(4, k, val, input_why(k));
    }
    for (k, val, why) in extra_skips {
        out.skip(4, &k, &val, why);
    }
    pre.extend(fields_pre);
    let list = v
        .get("processors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    processors(&list, out, 4, found, pre);
}

/// `ssl.*` as logship's `tls:` (at `indent`).
fn tls(ssl: &Value, out: &mut Out, indent: usize, at: &str) {
    if ssl.get("enabled").and_then(Value::as_bool) == Some(false) {
        return;
    }
    let mut t = Map::new();
    if let Some(cas) = ssl.get("certificate_authorities") {
        let list = cas.as_array().cloned().unwrap_or_else(|| vec![cas.clone()]);
        if let Some(first) = list.first() {
            t.insert("ca".into(), first.clone());
        }
        if list.len() > 1 {
            out.skip(
                indent,
                &format!("{at}.ssl.certificate_authorities[1..]"),
                &json!(list[1..]),
                "logship takes one CA bundle: concatenate them into one file",
            );
        }
    }
    if let Some(c) = ssl.get("certificate") {
        t.insert("cert".into(), c.clone());
    }
    if let Some(k) = ssl.get("key") {
        t.insert("key".into(), k.clone());
    }
    match ssl.get("verification_mode").and_then(Value::as_str) {
        Some("none") => {
            t.insert("verify".into(), json!("none"));
        }
        Some("certificate") => {
            t.insert("verify".into(), json!("certificate"));
        }
        _ => {}
    }
    for (k, v) in ssl.as_object().into_iter().flatten() {
        if !matches!(
            k.as_str(),
            "certificate_authorities" | "certificate" | "key" | "verification_mode" | "enabled"
        ) {
            out.skip(
                indent,
                &format!("{at}.ssl.{k}"),
                v,
                "no logship tls option does this",
            );
        }
    }
    out.kv(indent, "tls", &Value::Object(t));
}

/// One `output.<type>`.
fn output(ty: &str, v: &Value, out: &mut Out) -> bool {
    if v.get("enabled").and_then(Value::as_bool) == Some(false) {
        out.skip(2, &format!("output.{ty}"), v, "enabled: false");
        return false;
    }
    let copy = |out: &mut Out, keys: &[&str]| {
        for k in keys {
            if let Some(x) = v.get(*k) {
                out.kv(4, k, x);
            }
        }
    };
    // Options read besides the ones copied as they are.
    let mut known_extra: &[&str] = &[];
    let known: &[&str] = match ty {
        "logstash" => {
            out.line(2, "- type: logstash");
            const COPIED: &[&str] = &[
                "hosts",
                "loadbalance",
                "bulk_max_size",
                "compression_level",
                "timeout",
                "ttl",
                "pipelining",
                "slow_start",
            ];
            copy(out, COPIED);
            known_extra = &["ssl", "enabled"];
            COPIED
        }
        "elasticsearch" => {
            out.line(2, "- type: elasticsearch");
            let https = v.get("protocol").and_then(Value::as_str) == Some("https");
            let hosts: Vec<Value> = v
                .get("hosts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|h| {
                    if h.contains("://") {
                        json!(h)
                    } else {
                        json!(format!("{}://{h}", if https { "https" } else { "http" }))
                    }
                })
                .collect();
            out.kv(4, "hosts", &Value::Array(hosts));
            // logship's index templates are Filebeat's (`%{[field]}`, `%{+yyyy.MM.dd}`).
            copy(out, &["index"]);
            copy(
                out,
                &[
                    "pipeline",
                    "compression_level",
                    "bulk_max_size",
                    "timeout",
                    "headers",
                ],
            );
            let mut auth = Map::new();
            for k in ["username", "password", "api_key"] {
                if let Some(x) = v.get(k) {
                    auth.insert(k.into(), x.clone());
                }
            }
            if !auth.is_empty() {
                out.kv(4, "auth", &Value::Object(auth));
            }
            &[
                "hosts",
                "protocol",
                "index",
                "pipeline",
                "compression_level",
                "bulk_max_size",
                "timeout",
                "headers",
                "username",
                "password",
                "api_key",
                "ssl",
                "enabled",
            ]
        }
        "file" => {
            out.line(2, "- type: file");
            let dir = v
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("/tmp/filebeat");
            let name = v
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("filebeat");
            out.kv(
                4,
                "path",
                &json!(format!("{}/{name}", dir.trim_end_matches('/'))),
            );
            &["path", "filename", "enabled"]
        }
        "console" => {
            out.line(2, "- type: console");
            &["enabled"]
        }
        other => {
            out.skip(
                2,
                &format!("output.{other}"),
                v,
                "logship ships to logstash, elasticsearch, cloudwatch, file and console",
            );
            return false;
        }
    };
    for (k, x) in v.as_object().into_iter().flatten() {
        if !known.contains(&k.as_str()) && !known_extra.contains(&k.as_str()) {
            out.skip(4, k, x, "no logship output option does this");
        }
    }
    if let Some(ssl) = v.get("ssl") {
        tls(ssl, out, 4, &format!("output.{ty}"));
    }
    true
}

/// Filebeat's `${VAR:default}` is logship's `${VAR:-default}`; recursive on depth, capped.
fn env_syntax(v: &Value, re: &regex::Regex, depth: usize) -> Value {
    match v {
        Value::String(s) if depth < 64 => Value::String(
            re.replace_all(s, |c: &regex::Captures| {
                let default = c.get(2).map_or("", |m| m.as_str());
                match default.strip_prefix('-') {
                    Some(_) => c.get(0).map_or(String::new(), |m| m.as_str().to_string()),
                    None => format!("${{{}:-{default}}}", c.get(1).map_or("", |m| m.as_str())),
                }
            })
            .into_owned(),
        ),
        Value::Array(a) if depth < 64 => {
            Value::Array(a.iter().map(|x| env_syntax(x, re, depth + 1)).collect())
        }
        Value::Object(m) if depth < 64 => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), env_syntax(x, re, depth + 1)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Translates a `filebeat.yml` document (already parsed, `${VAR}` left as written).
pub fn translate(doc: &Value, out: &mut Out) {
    let doc = expand_dots(doc);
    let doc = match regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*):([^}]*)\}") {
        Ok(re) => env_syntax(&doc, &re, 0),
        Err(_) => doc,
    };
    let mut found = Found::default();
    out.note(
        0,
        "Translated from filebeat.yml by `logship migrate`; check it with `logship check-config`.",
    );
    out.line(0, "data_dir: /var/lib/logship");
    if let Some(http) = doc.get("http") {
        if http.get("enabled").and_then(Value::as_bool) == Some(true) {
            let host = http
                .get("host")
                .and_then(Value::as_str)
                .unwrap_or("localhost");
            let port = http.get("port").and_then(Value::as_u64).unwrap_or(5066);
            out.line(0, "http:");
            out.kv(2, "listen", &json!(format!("{host}:{port}")));
        }
    }
    if let Some(name) = doc.get("name") {
        out.skip(
            0,
            "name",
            name,
            "logship reports host.name (set host_name to change it)",
        );
    }
    out.line(0, "inputs:");
    let inputs = doc
        .pointer("/filebeat/inputs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if inputs.is_empty() {
        out.note(2, "filebeat.inputs was empty: add an input");
    }
    for i in &inputs {
        input(i, out, &mut found);
    }
    if let Some(f) = doc.get("filebeat").and_then(Value::as_object) {
        for (k, v) in f {
            if k != "inputs" {
                out.skip(
                    0,
                    &format!("filebeat.{k}"),
                    v,
                    "modules, autodiscover and registry settings have no logship equivalent",
                );
            }
        }
    }
    let top = doc
        .get("processors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut procs = Out::default();
    processors(&top, &mut procs, 0, &mut found, Vec::new());
    if found.docker_socket.is_some() || found.kubernetes.is_some() {
        out.line(0, "enrich:");
        if let Some(s) = &found.docker_socket {
            out.line(2, "docker:");
            out.kv(4, "socket", s);
        }
        if let Some(k) = &found.kubernetes {
            out.kubernetes(k);
        }
    }
    // The top-level processors (their comments included), after `enrich:`.
    out.append(procs);
    out.line(0, "outputs:");
    let mut any = false;
    if let Some(outs) = doc.get("output").and_then(Value::as_object) {
        for (ty, v) in outs {
            any |= output(ty, v, out);
        }
    }
    if !any {
        out.note(
            2,
            "no output of filebeat.yml could be translated: the console until one is set",
        );
        out.line(2, "- type: console");
    }
    for key in [
        "logging",
        "monitoring",
        "setup",
        "queue",
        "path",
        "xpack",
        "cloud",
        "tags",
        "fields",
    ] {
        if let Some(v) = doc.get(key) {
            out.skip(0, key, v, "agent settings with no logship equivalent");
        }
    }
}
