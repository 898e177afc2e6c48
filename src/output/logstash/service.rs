//! One beats connection: windows are written in order (up to `pipelining` of them in flight)
//! and a reader task matches each ACK to the oldest window still waiting. A window completes
//! when the ACK for its last sequence arrives; an ACK for sequence 0 (or a repeat) is a keepalive
//! that restarts the `timeout`; a partial ACK is remembered, so when the connection then fails
//! the sender knows how many events of the window are safe and resends only the rest.

use super::classify::{classify, parse_ack, Ack, ACK_LEN};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A plain TCP or a TLS stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Turns an I/O error on the stream into one line (TLS alerts explained).
pub type Explain = Arc<dyn Fn(&std::io::Error) -> String + Send + Sync>;

/// A window that did not complete: `acked` of its events are safe at the server.
#[derive(Debug)]
pub struct WindowFailed {
    pub acked: u32,
    pub message: String,
}

struct Pending {
    count: u32,
    acked: u32,
    done: oneshot::Sender<Result<(), WindowFailed>>,
}

struct State {
    pending: VecDeque<Pending>,
    /// Why the connection is unusable, once it is.
    dead: Option<String>,
    /// Last time the server showed it is alive (an ACK, a keepalive) or a window was started
    /// on an idle connection.
    last_progress: Instant,
}

pub struct Conn {
    writer: tokio::sync::Mutex<WriteHalf<Box<dyn Io>>>,
    state: Arc<Mutex<State>>,
    opened: Instant,
    timeout: Duration,
    reader: JoinHandle<()>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks the connection dead and fails every waiting window with `message`.
fn fail_all(state: &Mutex<State>, message: String) {
    let mut st = lock(state);
    for p in st.pending.drain(..) {
        let _ = p.done.send(Err(WindowFailed {
            acked: p.acked,
            message: message.clone(),
        }));
    }
    st.dead.get_or_insert(message);
}

impl Conn {
    pub fn new(io: Box<dyn Io>, peer: String, timeout: Duration, explain: Explain) -> Conn {
        let (rd, wr) = tokio::io::split(io);
        let state = Arc::new(Mutex::new(State {
            pending: VecDeque::new(),
            dead: None,
            last_progress: Instant::now(),
        }));
        let reader = tokio::spawn(read_acks(rd, state.clone(), peer, timeout, explain));
        Conn {
            writer: tokio::sync::Mutex::new(wr),
            state,
            opened: Instant::now(),
            timeout,
            reader,
        }
    }

    pub fn is_dead(&self) -> bool {
        lock(&self.state).dead.is_some()
    }

    pub fn in_flight(&self) -> usize {
        lock(&self.state).pending.len()
    }

    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// Writes one encoded window of `count` events and waits for its last ACK.
    pub async fn send_window(&self, frames: &[u8], count: u32) -> Result<(), WindowFailed> {
        let (tx, rx) = oneshot::channel();
        {
            let mut wr = self.writer.lock().await;
            {
                let mut st = lock(&self.state);
                if let Some(why) = &st.dead {
                    return Err(WindowFailed {
                        acked: 0,
                        message: why.clone(),
                    });
                }
                if st.pending.is_empty() {
                    st.last_progress = Instant::now();
                }
                st.pending.push_back(Pending {
                    count,
                    acked: 0,
                    done: tx,
                });
            }
            let write = async {
                wr.write_all(frames).await?;
                wr.flush().await
            };
            match tokio::time::timeout(self.timeout, write).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => fail_all(&self.state, format!("write failed: {e}")),
                Err(_) => fail_all(
                    &self.state,
                    format!("write did not complete within {:?}", self.timeout),
                ),
            }
        }
        rx.await.unwrap_or_else(|_| {
            Err(WindowFailed {
                acked: 0,
                message: "connection closed".into(),
            })
        })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
        fail_all(&self.state, "connection closed".into());
    }
}

/// Applies one ACK to the oldest waiting window.
fn on_ack(state: &Mutex<State>, seq: u32) -> Result<(), String> {
    let mut st = lock(state);
    st.last_progress = Instant::now();
    let Some(head) = st.pending.front_mut() else {
        return if seq == 0 {
            Ok(())
        } else {
            Err(format!(
                "protocol error: ACK {seq} with no window in flight"
            ))
        };
    };
    match classify(seq, head.count, head.acked) {
        Ack::Keepalive => {}
        Ack::Progress => head.acked = seq,
        Ack::Complete => {
            if let Some(done) = st.pending.pop_front() {
                let _ = done.done.send(Ok(()));
            }
        }
        Ack::Invalid(m) => return Err(m),
    }
    Ok(())
}

/// Feeds `bytes` as a server's answer to windows of `counts` events through the same frame
/// parsing and ACK matching the reader task uses. Returns, per window, `Some(Ok)` when it
/// completed, `Some(Err(acked))` when the connection failed with `acked` of its events safe, or
/// None while it still waits; and why the connection failed, if it did. For fuzzing and tests.
pub fn replay_acks(counts: &[u32], bytes: &[u8]) -> (Vec<Option<Result<(), u32>>>, Option<String>) {
    let state = Mutex::new(State {
        pending: VecDeque::new(),
        dead: None,
        last_progress: Instant::now(),
    });
    let mut waiting = Vec::new();
    for &count in counts {
        let (done, rx) = oneshot::channel();
        lock(&state).pending.push_back(Pending {
            count,
            acked: 0,
            done,
        });
        waiting.push(rx);
    }
    for chunk in bytes.chunks_exact(ACK_LEN) {
        let Ok(frame) = <[u8; ACK_LEN]>::try_from(chunk) else {
            break;
        };
        if let Err(m) = on_frame(&state, &frame) {
            fail_all(&state, m);
            break;
        }
    }
    let ended = waiting
        .into_iter()
        .map(|mut rx| rx.try_recv().ok().map(|r| r.map_err(|f| f.acked)))
        .collect();
    let dead = lock(&state).dead.clone();
    (ended, dead)
}

/// One complete 6-byte frame from the server.
fn on_frame(state: &Mutex<State>, frame: &[u8; ACK_LEN]) -> Result<(), String> {
    match parse_ack(frame) {
        Some(seq) => on_ack(state, seq),
        None => Err(format!(
            "protocol error: expected an ACK frame, got {:?}",
            String::from_utf8_lossy(frame)
        )),
    }
}

async fn read_acks(
    mut rd: ReadHalf<Box<dyn Io>>,
    state: Arc<Mutex<State>>,
    peer: String,
    timeout: Duration,
    explain: Explain,
) {
    let mut frame = [0u8; ACK_LEN];
    let mut have = 0;
    loop {
        let deadline = {
            let st = lock(&state);
            if st.dead.is_some() {
                return;
            }
            st.last_progress + timeout
        };
        tokio::select! {
            r = rd.read(&mut frame[have..]) => match r {
                Ok(0) => {
                    fail_all(&state, format!("connection closed by {peer}"));
                    return;
                }
                Ok(n) => {
                    have += n;
                    if have < ACK_LEN {
                        continue;
                    }
                    have = 0;
                    if let Err(m) = on_frame(&state, &frame) {
                        fail_all(&state, m);
                        return;
                    }
                }
                Err(e) => {
                    fail_all(&state, explain(&e));
                    return;
                }
            },
            _ = tokio::time::sleep_until(deadline.into()) => {
                let mut st = lock(&state);
                if st.pending.is_empty() {
                    st.last_progress = Instant::now();
                } else if st.last_progress.elapsed() >= timeout {
                    drop(st);
                    fail_all(&state, format!("no ACK from {peer} within {timeout:?} (timeout)"));
                    return;
                }
            }
        }
    }
}
