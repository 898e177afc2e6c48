//! A small `_bulk` server for the failure modes a real cluster will not show on demand, written
//! from Elasticsearch's `_bulk` reference: NDJSON action/document pairs in (gzip accepted), a
//! `{"errors", "items": [{"create": {"status", "error"}}]}` answer out; `create` of an id it
//! already has is a 409 `version_conflict_engine_exception`. On demand: chosen items answered
//! 400 or 429 (once), whole requests answered 429/503, basic auth or an API key required,
//! (m)TLS, the connection dropped in the middle of a response (after indexing). Indexed
//! documents are appended to `out` as NDJSON (with `__index` and `__id`), so the usual helpers
//! count them.
#![allow(dead_code)]

use super::beats::{server_config, ServerTls};
use super::server::{accept_loop, handshake, out_file, Stream};
use flate2::read::GzDecoder;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct Faults {
    /// Items whose document contains this text are answered 400 (mapping error).
    pub reject_containing: Option<String>,
    /// Items whose document contains this text are answered 429 the first time.
    pub throttle_containing: Option<String>,
    /// The next `n` requests are answered with this status as a whole.
    pub whole: Option<(u16, usize)>,
    /// The next `n` bulk requests are indexed, then the response is cut in the middle.
    pub drop_mid_response: usize,
    /// Required `Authorization` header value.
    pub authorization: Option<String>,
    /// `_bulk` bodies longer than this (uncompressed) are answered 413 as a whole.
    pub max_body: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
}

#[derive(Default)]
struct Shared {
    faults: Mutex<Faults>,
    indexed: Mutex<HashSet<String>>,
    throttled: Mutex<HashSet<String>>,
    /// How many times each `_id` came in a request.
    seen: Mutex<HashMap<String, usize>>,
    requests: Mutex<Vec<Request>>,
    out: Mutex<Option<std::fs::File>>,
}

pub struct BulkServer {
    pub url: String,
    pub out: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl BulkServer {
    pub fn start(out: &Path, tls: Option<ServerTls>, faults: Faults) -> BulkServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind bulk server");
        let addr = listener.local_addr().expect("addr").to_string();
        let shared = Arc::new(Shared::default());
        *shared.faults.lock().unwrap() = faults;
        *shared.out.lock().unwrap() = Some(out_file(out));
        let stop = Arc::new(AtomicBool::new(false));
        let config = tls.as_ref().map(server_config);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let on_conn_shared = shared.clone();
        accept_loop(listener, stop.clone(), move |s| {
            let shared = on_conn_shared.clone();
            let config = config.clone();
            std::thread::spawn(move || serve(s, config, shared));
        });
        BulkServer {
            url: format!("{scheme}://{addr}"),
            out: out.to_path_buf(),
            shared,
            stop,
        }
    }

    pub fn set_faults(&self, f: Faults) {
        *self.shared.faults.lock().unwrap() = f;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many times each `_id` was sent.
    pub fn seen(&self) -> HashMap<String, usize> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for BulkServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(tcp: TcpStream, config: Option<Arc<rustls::ServerConfig>>, shared: Arc<Shared>) {
    let closer = tcp.try_clone().ok();
    let Ok(stream) = handshake(tcp, config) else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(keep) = one_request(&mut r, &shared) {
        if !keep {
            break;
        }
    }
    if let Some(c) = closer {
        let _ = c.shutdown(Shutdown::Both);
    }
}

fn respond(w: &mut dyn Write, status: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    write!(
        w,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    )?;
    w.flush()
}

/// Serves one request; None at the end of the connection, Some(false) to close it.
fn one_request(r: &mut BufReader<Box<dyn Stream>>, shared: &Shared) -> Option<bool> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut plain = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .expect("valid gzip body");
        body = plain;
    }
    shared.requests.lock().unwrap().push(Request {
        method: method.clone(),
        target: target.clone(),
        headers: headers.clone(),
    });
    let w = r.get_mut();
    let faults = shared.faults.lock().unwrap().clone();
    if let Some(want) = &faults.authorization {
        if headers.get("authorization") != Some(want) {
            let err = json!({"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic] for REST request [/_bulk]"}, "status": 401});
            return respond(w, 401, &err).ok().map(|_| true);
        }
    }
    if method == "GET" && target == "/" {
        let info = json!({"name": "node-1", "cluster_name": "bulk-test", "version": {"number": "8.15.0", "build_flavor": "default"}, "tagline": "You Know, for Search"});
        return respond(w, 200, &info).ok().map(|_| true);
    }
    if !(method == "POST" && target.starts_with("/_bulk")) {
        return respond(w, 404, &json!({"error": "no handler"}))
            .ok()
            .map(|_| true);
    }
    if let Some((status, n)) = faults.whole {
        if n > 0 {
            shared.faults.lock().unwrap().whole = Some((status, n - 1));
            let err = json!({"error": {"type": "unavailable", "reason": format!("injected {status}")}, "status": status});
            return respond(w, status, &err).ok().map(|_| true);
        }
    }
    if faults.max_body.is_some_and(|max| body.len() > max) {
        let err = json!({"error": {"type": "content_too_long_exception", "reason": "request too large"}, "status": 413});
        return respond(w, 413, &err).ok().map(|_| true);
    }
    let text = String::from_utf8(body).expect("utf-8 body");
    let mut lines = text.lines();
    let mut items = Vec::new();
    let mut errors = false;
    while let Some(action) = lines.next() {
        let action: Value = serde_json::from_str(action).expect("action line");
        let doc = lines.next().expect("document line");
        let meta = &action["create"];
        assert!(meta.is_object(), "only create actions expected: {action}");
        let index = meta["_index"].as_str().unwrap_or("").to_string();
        let id = meta["_id"].as_str().expect("an _id").to_string();
        *shared.seen.lock().unwrap().entry(id.clone()).or_insert(0) += 1;
        let (status, error) = if shared.indexed.lock().unwrap().contains(&id) {
            (
                409,
                Some(
                    json!({"type": "version_conflict_engine_exception", "reason": format!("[{id}]: version conflict, document already exists (current version [1])")}),
                ),
            )
        } else if faults
            .reject_containing
            .as_ref()
            .is_some_and(|t| doc.contains(t.as_str()))
        {
            (
                400,
                Some(
                    json!({"type": "mapper_parsing_exception", "reason": "failed to parse field [message] of type [long]", "caused_by": {"type": "illegal_argument_exception", "reason": "For input string"}}),
                ),
            )
        } else if faults
            .throttle_containing
            .as_ref()
            .is_some_and(|t| doc.contains(t.as_str()))
            && shared.throttled.lock().unwrap().insert(id.clone())
        {
            (
                429,
                Some(
                    json!({"type": "es_rejected_execution_exception", "reason": "rejected execution (queue capacity 200)"}),
                ),
            )
        } else {
            shared.indexed.lock().unwrap().insert(id.clone());
            let mut d: Value = serde_json::from_str(doc).expect("document JSON");
            d["__index"] = index.clone().into();
            d["__id"] = id.clone().into();
            if let Some(f) = shared.out.lock().unwrap().as_mut() {
                writeln!(f, "{d}").expect("record");
            }
            (201, None)
        };
        errors |= error.is_some();
        let mut item = json!({"_index": index, "_id": id, "status": status});
        if let Some(e) = error {
            item["error"] = e;
        }
        items.push(json!({ "create": item }));
    }
    let resp = json!({"took": 1, "errors": errors, "items": items});
    if faults.drop_mid_response > 0 {
        shared.faults.lock().unwrap().drop_mid_response -= 1;
        let text = resp.to_string();
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            text.len(),
            &text[..text.len() / 2]
        );
        let _ = w.flush();
        return Some(false);
    }
    respond(w, 200, &resp).ok().map(|_| true)
}
