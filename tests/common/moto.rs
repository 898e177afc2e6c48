//! The real peer for the cloudwatch output: moto's server (`pip install 'moto[server]' boto3`,
//! which scripts/test.sh does), started through scripts/moto_check.py `--serve` (optionally with
//! SigV4 verification), read back with the AWS SDK. Also a recording proxy, to see the size of
//! every PutLogEvents call (moto does not enforce the limits).
#![allow(dead_code)]

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Moto {
    pub endpoint: String,
    pub region: String,
    pub key_id: String,
    pub secret: String,
    child: Child,
}

impl Moto {
    pub fn start(sigv4: bool) -> Moto {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_check.py");
        let mut cmd = Command::new("python3");
        cmd.args([script, "--serve"]);
        if sigv4 {
            cmd.arg("--sigv4");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (python3 scripts/moto_check.py)");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("moto's first line");
        let info: Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            panic!("moto did not start ({first:?}): run ./scripts/test.sh, or `python3 -m pip install 'moto[server]' boto3`")
        });
        Moto {
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
            region: info["region"].as_str().unwrap().to_string(),
            key_id: info["access_key_id"].as_str().unwrap().to_string(),
            secret: info["secret_access_key"].as_str().unwrap().to_string(),
            child,
        }
    }

    /// Environment for the agent: these credentials through the SDK's environment provider.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ]
    }

    fn client(&self) -> Client {
        use aws_smithy_http_client::tls;
        // The crate is built without a default HTTP client: the same one the agent uses.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .http_client(http)
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                &self.key_id,
                &self.secret,
                None,
                None,
                "test",
            ))
            .build();
        Client::from_conf(conf)
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// Every event of a stream, in order: (timestamp ms, message).
    pub fn events(&self, group: &str, stream: &str) -> Vec<(i64, String)> {
        let client = self.client();
        Self::run(async move {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let r = client
                    .get_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await;
                let Ok(r) = r else { return out };
                let n = r.events().len();
                for e in r.events() {
                    out.push((
                        e.timestamp().unwrap_or(0),
                        e.message().unwrap_or("").to_string(),
                    ));
                }
                let next = r.next_forward_token().map(str::to_string);
                if n == 0 || next == token {
                    return out;
                }
                token = next;
            }
        })
    }

    /// (group name, retention days) of every group.
    pub fn groups(&self) -> Vec<(String, Option<i32>)> {
        let client = self.client();
        Self::run(async move {
            client
                .describe_log_groups()
                .send()
                .await
                .map(|r| {
                    r.log_groups()
                        .iter()
                        .map(|g| {
                            (
                                g.log_group_name().unwrap_or("").to_string(),
                                g.retention_in_days(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    pub fn delete_group(&self, group: &str) {
        let client = self.client();
        Self::run(async move {
            client
                .delete_log_group()
                .log_group_name(group)
                .send()
                .await
                .expect("DeleteLogGroup");
        })
    }

    pub fn streams(&self, group: &str) -> Vec<String> {
        let client = self.client();
        Self::run(async move {
            client
                .describe_log_streams()
                .log_group_name(group)
                .send()
                .await
                .map(|r| {
                    r.log_streams()
                        .iter()
                        .filter_map(|s| s.log_stream_name().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards HTTP requests to `upstream` one connection each and records every PutLogEvents
/// body (as JSON).
pub struct Proxy {
    pub endpoint: String,
    puts: Arc<Mutex<Vec<Value>>>,
    throttle: Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let puts = Arc::new(Mutex::new(Vec::new()));
        let throttle = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let record = puts.clone();
        let t = throttle.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let record = record.clone();
                let t = t.clone();
                std::thread::spawn(move || relay(client, &upstream, &record, &t));
            }
        });
        Proxy {
            endpoint,
            puts,
            throttle,
        }
    }

    /// Answers the next `n` PutLogEvents with a ThrottlingException (as AWS does: HTTP 400,
    /// `__type` in a JSON body), without passing them on.
    pub fn throttle_next(&self, n: usize) {
        self.throttle.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn puts(&self) -> Vec<Value> {
        self.puts.lock().unwrap().clone()
    }
}

fn relay(
    client: TcpStream,
    upstream: &str,
    record: &Mutex<Vec<Value>>,
    throttle: &std::sync::atomic::AtomicUsize,
) {
    let mut r = BufReader::new(client.try_clone().expect("clone"));
    let mut client = client;
    loop {
        let mut head = Vec::new();
        let mut len = 0usize;
        let mut is_put = false;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("x-amz-target:") && lower.contains("putlogevents") {
                is_put = true;
            }
            let end = line == "\r\n";
            if !lower.starts_with("connection:") {
                head.extend_from_slice(line.as_bytes());
            }
            if end {
                break;
            }
        }
        // Ask upstream to close after answering, so its answer ends at EOF.
        let at = head.len() - 2;
        head.splice(at..at, b"Connection: close\r\n".iter().copied());
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        use std::sync::atomic::Ordering;
        if is_put
            && throttle
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            let err = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\n\r\n{err}",
                err.len()
            );
            if client.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        if is_put {
            if let Ok(v) = serde_json::from_slice(&body) {
                record.lock().unwrap().push(v);
            }
        }
        let Ok(mut up) = TcpStream::connect(upstream) else {
            return;
        };
        if up
            .write_all(&head)
            .and_then(|_| up.write_all(&body))
            .is_err()
        {
            return;
        }
        let mut answer = Vec::new();
        let _ = up.read_to_end(&mut answer);
        if client.write_all(&answer).is_err() {
            return;
        }
    }
}
