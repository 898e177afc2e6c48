//! Fluent Bit configuration → logship: the classic format (`[INPUT]`/`[FILTER]`/`[OUTPUT]`
//! sections of `Key Value` lines) and the YAML one (`pipeline: {inputs, filters, outputs}`) are
//! read into the same sections, then translated: inputs `tail` (docker/cri parsers and multiline
//! parsers, `Read_from_Head`, `Exclude_Path`, `Refresh_Interval`, `Rotate_Wait`) and `syslog`;
//! filters `grep`, `modify`, `record_modifier`, `parser` (json), `kubernetes`, `multiline`;
//! outputs `es`/`opensearch`, `cloudwatch_logs`, `file`, `stdout`. Anything else is a
//! `# not translated:` comment where it was. Keys are case-insensitive, as Fluent Bit reads them.

use super::emit::{flow, Out};
use serde_json::{json, Map, Value};

/// One section (`[INPUT]`, an item of `pipeline.inputs`, ...): its kind and its `Key Value`
/// entries in order (keys lowercased; a key may repeat).
#[derive(Debug, Default, Clone)]
pub struct Section {
    pub kind: String,
    pub entries: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn on(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "yes" | "1"))
    }
    fn name(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }
}

/// The classic format; `@INCLUDE` and `@SET` lines are kept as sections of their own kind.
pub fn parse_classic(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Section {
                kind: name.trim().to_ascii_uppercase(),
                entries: Vec::new(),
            });
            continue;
        }
        if line.starts_with('@') {
            let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            out.push(Section {
                kind: cmd.to_ascii_uppercase(),
                entries: vec![("value".into(), rest.trim().to_string())],
            });
            continue;
        }
        let (k, v) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if let Some(s) = out.last_mut() {
            s.entries
                .push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "on" } else { "off" }.to_string(),
        other => other.to_string(),
    }
}

/// The YAML format, as sections (lists become repeated keys).
pub fn parse_yaml(doc: &Value) -> Vec<Section> {
    let mut out = Vec::new();
    let item = |kind: &str, v: &Value| {
        let mut s = Section {
            kind: kind.into(),
            entries: Vec::new(),
        };
        for (k, val) in v.as_object().into_iter().flatten() {
            let k = k.to_ascii_lowercase();
            match val {
                Value::Array(a) => {
                    for x in a {
                        s.entries.push((k.clone(), scalar(x)));
                    }
                }
                other => s.entries.push((k, scalar(other))),
            }
        }
        s
    };
    if let Some(svc) = doc.get("service") {
        out.push(item("SERVICE", svc));
    }
    for (list, kind) in [
        ("inputs", "INPUT"),
        ("filters", "FILTER"),
        ("outputs", "OUTPUT"),
    ] {
        for v in doc
            .pointer(&format!("/pipeline/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(item(kind, v));
        }
    }
    for (k, v) in doc.as_object().into_iter().flatten() {
        if !matches!(k.as_str(), "service" | "pipeline") {
            out.push(Section {
                kind: format!("YAML {k}"),
                entries: vec![("value".into(), flow(v))],
            });
        }
    }
    out
}

/// Fluent Bit's record key `log` is logship's `message`.
fn field(key: &str) -> String {
    if key == "log" {
        "message".into()
    } else {
        key.to_string()
    }
}

/// `5` (seconds, as Fluent Bit writes intervals) → `5s`.
fn seconds(v: &str) -> Value {
    if v.chars().all(|c| c.is_ascii_digit() || c == '.') {
        json!(format!("{v}s"))
    } else {
        json!(v)
    }
}

/// The section's entries as a JSON list of `key value` (for a whole-section comment).
fn entries_json(s: &Section) -> Value {
    json!(s
        .entries
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>())
}

/// Writes a `# not translated:` for every entry of `s` whose key is not in `used`.
fn rest(s: &Section, used: &[&str], out: &mut Out, indent: usize, why: &str) {
    for (k, v) in &s.entries {
        if !used.contains(&k.as_str()) {
            out.skip(indent, &format!("{} {k}", s.name()), &json!(v), why);
        }
    }
}

fn multiline_preset(name: &str) -> Option<&'static str> {
    match name.trim().to_ascii_lowercase().as_str() {
        "java" => Some("java"),
        "python" => Some("python"),
        "go" => Some("go"),
        _ => None,
    }
}

/// What the filters contribute besides processors.
#[derive(Default)]
struct Found {
    kubernetes: Option<Map<String, Value>>,
}

fn input(s: &Section, out: &mut Out) {
    let why = "no logship input option does this";
    match s.name().as_str() {
        "tail" => {
            let paths: Vec<String> = s
                .get("path")
                .unwrap_or("")
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            let parsers: Vec<String> = s
                .all("multiline.parser")
                .chain(s.get("parser"))
                .flat_map(|v| v.split(','))
                .map(|p| p.trim().to_ascii_lowercase())
                .collect();
            let docker_dir = paths
                .iter()
                .find(|p| p.contains("/var/lib/docker/containers"))
                .map(|p| {
                    p.split("/*")
                        .next()
                        .unwrap_or(p)
                        .trim_end_matches('/')
                        .to_string()
                });
            let containers = paths.iter().any(|p| p.contains("/var/log/containers"))
                || parsers.iter().any(|p| p == "cri");
            let mut pre = Vec::new();
            let docker_dir_or_containers = docker_dir.is_some() || containers;
            if let Some(d) = docker_dir {
                out.line(2, "- type: docker");
                out.kv(4, "containers_path", &json!(d));
            } else if containers {
                out.line(2, "- type: cri");
                out.kv(4, "paths", &json!(paths));
                if parsers.iter().any(|p| p == "docker") && !parsers.iter().any(|p| p == "cri") {
                    out.note(4, "Docker json-file lines under /var/log/containers: use `type: docker` on /var/lib/docker/containers instead");
                }
            } else {
                out.line(2, "- type: file");
                out.kv(4, "paths", &json!(paths));
                if parsers.iter().any(|p| p.starts_with("syslog")) {
                    out.kv(4, "format", &json!("syslog"));
                }
                if parsers.iter().any(|p| p == "json") {
                    pre.push(format!("- decode_json: {}", flow(&json!({ "target": "" }))));
                }
            }
            // Fluent Bit reads a new file from its end unless Read_from_Head.
            out.kv(
                4,
                "read_from",
                &json!(if s.on("read_from_head") {
                    "beginning"
                } else {
                    "end"
                }),
            );
            if let Some(x) = s.get("exclude_path") {
                let ex: Vec<&str> = x.split(',').map(str::trim).collect();
                out.kv(4, "exclude", &json!(ex));
            }
            if let Some(x) = s.get("refresh_interval") {
                out.kv(4, "scan_frequency", &seconds(x));
            }
            if let Some(x) = s.get("rotate_wait") {
                out.kv(4, "rotate_wait", &seconds(x));
            }
            for p in &parsers {
                if let Some(preset) = multiline_preset(p) {
                    pre.push(format!(
                        "- multiline: {}",
                        flow(&json!({ "preset": preset }))
                    ));
                }
            }
            let mut used = vec![
                "name",
                "path",
                "parser",
                "multiline.parser",
                "read_from_head",
                "exclude_path",
                "refresh_interval",
                "rotate_wait",
            ];
            // Docker_Mode joins split Docker lines: the docker and cri inputs always do.
            if docker_dir_or_containers {
                used.push("docker_mode");
            }
            let known_parsers = [
                "docker",
                "cri",
                "json",
                "java",
                "python",
                "go",
                "syslog-rfc3164",
                "syslog-rfc5424",
                "syslog",
            ];
            for p in &parsers {
                if !known_parsers.contains(&p.as_str()) {
                    out.skip(4, "tail parser", &json!(p), "only the docker, cri, json, syslog and java/python/go multiline parsers are translated");
                }
            }
            if let Some(db) = s.get("db") {
                used.push("db");
                out.skip(
                    4,
                    "tail db",
                    &json!(db),
                    "import its positions with `logship migrate --registry` instead",
                );
            }
            if let Some(tag) = s.get("tag") {
                used.push("tag");
                out.skip(
                    4,
                    "tail tag",
                    &json!(tag),
                    "logship sends every record to every output (no tag routing)",
                );
            }
            rest(s, &used, out, 4, why);
            if !pre.is_empty() {
                out.line(4, "processors:");
                for l in pre {
                    out.line(6, l);
                }
            }
        }
        "syslog" => {
            let mode = s.get("mode").unwrap_or("unix_udp").to_ascii_lowercase();
            let host = s.get("listen").unwrap_or("0.0.0.0");
            let port = s.get("port").unwrap_or("5140");
            let listen = match mode.as_str() {
                "udp" => format!("udp://{host}:{port}"),
                "tcp" => format!("tcp://{host}:{port}"),
                "unix_udp" => format!("unix://{}", s.get("path").unwrap_or("/tmp/fluent-bit.sock")),
                "unix_tcp" => format!(
                    "unix-stream://{}",
                    s.get("path").unwrap_or("/tmp/fluent-bit.sock")
                ),
                other => {
                    out.skip(
                        2,
                        "syslog mode",
                        &json!(other),
                        "not a mode logship listens in",
                    );
                    return;
                }
            };
            out.line(2, "- type: syslog");
            out.kv(4, "listen", &json!([listen]));
            let mut used = vec!["name", "mode", "listen", "port", "path"];
            if s.get("parser").is_some() {
                used.push("parser");
            }
            if let Some(tag) = s.get("tag") {
                used.push("tag");
                out.skip(
                    4,
                    "syslog tag",
                    &json!(tag),
                    "logship sends every record to every output (no tag routing)",
                );
            }
            rest(s, &used, out, 4, why);
        }
        other => {
            let v = entries_json(s);
            out.skip(
                2,
                &format!("[INPUT] {other}"),
                &v,
                "logship reads files, container logs and syslog",
            );
        }
    }
}

fn filter(s: &Section, out: &mut Out, found: &mut Found) {
    let why = "no logship processor does this";
    let name = s.name();
    let mut used = vec!["name", "match", "match_regex", "alias"];
    if let Some(m) = s.get("match").filter(|m| *m != "*") {
        out.skip(
            2,
            &format!("{name} match"),
            &json!(m),
            "logship runs processors on every record (no tag routing); add a `when`",
        );
    }
    match name.as_str() {
        "grep" => {
            for (k, v) in &s.entries {
                let keep = match k.as_str() {
                    "regex" => true,
                    "exclude" => false,
                    _ => continue,
                };
                let Some((key, pattern)) = v.split_once(char::is_whitespace) else {
                    out.skip(2, &format!("grep {k}"), &json!(v), "expected `KEY REGEX`");
                    continue;
                };
                let cond = json!({ "when": { "regexp": { field(key): pattern.trim() } } });
                out.line(
                    2,
                    format!(
                        "- {}: {}",
                        if keep { "include" } else { "drop" },
                        flow(&cond)
                    ),
                );
            }
            used.extend(["regex", "exclude"]);
        }
        "modify" => {
            for (k, v) in &s.entries {
                let (a, b) = v
                    .split_once(char::is_whitespace)
                    .unwrap_or((v.as_str(), ""));
                match k.as_str() {
                    "rename" => out.line(
                        2,
                        format!(
                            "- rename: {}",
                            flow(&json!({ "fields": { field(a): field(b.trim()) } }))
                        ),
                    ),
                    "add" | "set" => out.line(
                        2,
                        format!(
                            "- add_fields: {}",
                            flow(&json!({ "target": "", "fields": { a: b.trim() } }))
                        ),
                    ),
                    "remove" => out.line(
                        2,
                        format!("- drop_fields: {}", flow(&json!({ "fields": [field(a)] }))),
                    ),
                    _ => continue,
                }
            }
            used.extend(["rename", "add", "set", "remove"]);
        }
        "record_modifier" => {
            for v in s.all("record") {
                let (a, b) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
                out.line(
                    2,
                    format!(
                        "- add_fields: {}",
                        flow(&json!({ "target": "", "fields": { a: b.trim() } }))
                    ),
                );
            }
            let removed: Vec<String> = s.all("remove_key").map(field).collect();
            if !removed.is_empty() {
                out.line(
                    2,
                    format!("- drop_fields: {}", flow(&json!({ "fields": removed }))),
                );
            }
            let kept: Vec<String> = s
                .all("allowlist_key")
                .chain(s.all("whitelist_key"))
                .map(field)
                .collect();
            if !kept.is_empty() {
                out.line(
                    2,
                    format!("- include_fields: {}", flow(&json!({ "fields": kept }))),
                );
            }
            used.extend(["record", "remove_key", "allowlist_key", "whitelist_key"]);
        }
        "parser" => {
            let key = field(s.get("key_name").unwrap_or("log"));
            let parsers: Vec<&str> = s.all("parser").collect();
            if parsers
                .iter()
                .any(|p| matches!(p.to_ascii_lowercase().as_str(), "json" | "docker"))
            {
                out.line(
                    2,
                    format!(
                        "- decode_json: {}",
                        flow(&json!({ "field": key, "target": "", "add_error_key": true }))
                    ),
                );
                used.extend(["parser", "key_name"]);
            }
        }
        "multiline" => {
            let presets: Vec<&str> = s
                .all("multiline.parser")
                .flat_map(|v| v.split(','))
                .filter_map(multiline_preset)
                .collect();
            if let Some(p) = presets.first() {
                out.line(2, format!("- multiline: {}", flow(&json!({ "preset": p }))));
                used.push("multiline.parser");
            }
        }
        "kubernetes" => {
            let mut k = Map::new();
            for (from, to) in [
                ("kube_url", "api_server"),
                ("kube_ca_file", "ca_file"),
                ("kube_token_file", "token_file"),
            ] {
                if let Some(v) = s.get(from) {
                    k.insert(to.into(), json!(v));
                    used.push(from);
                }
            }
            found.kubernetes = Some(k);
            out.note(2, "kubernetes: see enrich.kubernetes");
            if s.on("merge_log") {
                let target = s.get("merge_log_key").unwrap_or("");
                out.line(
                    2,
                    format!(
                        "- decode_json: {}",
                        flow(&json!({ "field": "message", "target": target }))
                    ),
                );
                used.extend(["merge_log", "merge_log_key"]);
            }
            if s.get("k8s-logging.exclude").is_some() {
                used.push("k8s-logging.exclude");
                out.note(
                    2,
                    "K8S-Logging.Exclude: logship reads the logship.io/exclude annotation",
                );
            }
            if s.get("k8s-logging.parser").is_some() {
                used.push("k8s-logging.parser");
                out.note(
                    2,
                    "K8S-Logging.Parser: logship reads the logship.io/parser annotation",
                );
            }
        }
        _ => {
            let v = entries_json(s);
            out.skip(2, &format!("[FILTER] {name}"), &v, why);
            return;
        }
    }
    rest(s, &used, out, 2, why);
}

fn output(s: &Section, out: &mut Out) -> bool {
    let why = "no logship output option does this";
    let name = s.name();
    let mut used = vec![
        "name",
        "match",
        "match_regex",
        "alias",
        "retry_limit",
        "workers",
    ];
    if let Some(m) = s.get("match").filter(|m| *m != "*") {
        out.skip(
            2,
            &format!("{name} match"),
            &json!(m),
            "logship sends every record to every output (no tag routing)",
        );
    }
    match name.as_str() {
        "es" | "opensearch" => {
            out.line(2, "- type: elasticsearch");
            let tls = s.on("tls");
            let host = s.get("host").unwrap_or("127.0.0.1");
            let port = s.get("port").unwrap_or("9200");
            let scheme = if tls { "https" } else { "http" };
            out.kv(4, "hosts", &json!([format!("{scheme}://{host}:{port}")]));
            let index = if s.on("logstash_format") {
                Some(format!(
                    "{}-%{{+yyyy.MM.dd}}",
                    s.get("logstash_prefix").unwrap_or("logstash")
                ))
            } else {
                s.get("index").map(str::to_string)
            };
            if let Some(i) = index {
                out.kv(4, "index", &json!(i));
            }
            if let Some(p) = s.get("pipeline") {
                out.kv(4, "pipeline", &json!(p));
            }
            if let Some(u) = s.get("http_user") {
                out.kv(
                    4,
                    "auth",
                    &json!({ "username": u, "password": s.get("http_passwd").unwrap_or("") }),
                );
            }
            used.extend([
                "host",
                "port",
                "tls",
                "logstash_format",
                "logstash_prefix",
                "index",
                "pipeline",
                "http_user",
                "http_passwd",
                "suppress_type_name",
            ]);
            tls_block(s, tls, out, &mut used);
        }
        "cloudwatch_logs" => {
            out.line(2, "- type: cloudwatch");
            if let Some(r) = s.get("region") {
                out.kv(4, "region", &json!(r));
            }
            out.kv(
                4,
                "log_group",
                &json!(s.get("log_group_name").unwrap_or("fluent-bit")),
            );
            let stream = match (s.get("log_stream_name"), s.get("log_stream_prefix")) {
                (Some(n), _) => n.to_string(),
                (None, Some(p)) => format!("{p}{{host.name}}"),
                (None, None) => "{host.name}".into(),
            };
            out.kv(4, "log_stream", &json!(stream));
            out.kv(4, "create_missing", &json!(s.on("auto_create_group")));
            if let Some(d) = s.get("log_retention_days") {
                out.kv(4, "retention_days", &json!(d.parse::<i64>().unwrap_or(0)));
            }
            if let Some(e) = s.get("endpoint") {
                out.kv(4, "endpoint", &json!(e));
            }
            used.extend([
                "region",
                "log_group_name",
                "log_stream_name",
                "log_stream_prefix",
                "auto_create_group",
                "log_retention_days",
                "endpoint",
            ]);
        }
        "file" => {
            out.line(2, "- type: file");
            let dir = s.get("path").unwrap_or(".");
            let file = s.get("file").unwrap_or("fluent-bit.log");
            out.kv(
                4,
                "path",
                &json!(format!("{}/{file}", dir.trim_end_matches('/'))),
            );
            used.extend(["path", "file", "format"]);
        }
        "stdout" => {
            out.line(2, "- type: console");
            used.extend(["format", "json_date_key", "json_date_format"]);
        }
        other => {
            let v = entries_json(s);
            out.skip(
                2,
                &format!("[OUTPUT] {other}"),
                &v,
                "logship ships to elasticsearch, logstash, cloudwatch, file and console",
            );
            return false;
        }
    }
    rest(s, &used, out, 4, why);
    true
}

/// `tls.*` of an output as logship's `tls:`.
fn tls_block(s: &Section, tls: bool, out: &mut Out, used: &mut Vec<&'static str>) {
    used.extend([
        "tls.verify",
        "tls.ca_file",
        "tls.crt_file",
        "tls.key_file",
        "tls.vhost",
    ]);
    if !tls {
        return;
    }
    let mut t = Map::new();
    for (from, to) in [
        ("tls.ca_file", "ca"),
        ("tls.crt_file", "cert"),
        ("tls.key_file", "key"),
        ("tls.vhost", "server_name"),
    ] {
        if let Some(v) = s.get(from) {
            t.insert(to.into(), json!(v));
        }
    }
    if s.get("tls.verify").is_some() && !s.on("tls.verify") {
        t.insert("verify".into(), json!("none"));
    }
    out.kv(4, "tls", &Value::Object(t));
}

/// Translates Fluent Bit sections.
pub fn translate(sections: &[Section], out: &mut Out) {
    out.note(0, "Translated from a Fluent Bit configuration by `logship migrate`; check it with `logship check-config`.");
    out.line(0, "data_dir: /var/lib/logship");
    for s in sections.iter().filter(|s| s.kind == "SERVICE") {
        if s.on("http_server") {
            let host = s.get("http_listen").unwrap_or("0.0.0.0");
            let port = s.get("http_port").unwrap_or("2020");
            out.line(0, "http:");
            out.kv(2, "listen", &json!(format!("{host}:{port}")));
        }
        let used = ["http_server", "http_listen", "http_port"];
        for (k, v) in &s.entries {
            if !used.contains(&k.as_str()) {
                out.skip(
                    0,
                    &format!("[SERVICE] {k}"),
                    &json!(v),
                    "agent settings with no logship equivalent",
                );
            }
        }
    }
    for s in sections.iter().filter(|s| {
        s.kind.starts_with('@')
            || s.kind.starts_with("YAML ")
            || s.kind == "PARSER"
            || s.kind == "MULTILINE_PARSER"
    }) {
        let v = entries_json(s);
        out.skip(0, &s.kind, &v, "includes, variables and custom parsers are not translated: translate the included file too");
    }
    out.line(0, "inputs:");
    for s in sections.iter().filter(|s| s.kind == "INPUT") {
        input(s, out);
    }
    let mut found = Found::default();
    let mut procs = Out::default();
    for s in sections.iter().filter(|s| s.kind == "FILTER") {
        filter(s, &mut procs, &mut found);
    }
    if let Some(k) = &found.kubernetes {
        out.line(0, "enrich:");
        out.kubernetes(k);
    }
    if sections.iter().any(|s| s.kind == "FILTER") {
        out.line(0, "processors:");
        out.append(procs);
    }
    out.line(0, "outputs:");
    let mut any = false;
    for s in sections.iter().filter(|s| s.kind == "OUTPUT") {
        any |= output(s, out);
    }
    if !any {
        out.note(
            2,
            "no output could be translated: the console until one is set",
        );
        out.line(2, "- type: console");
    }
}
