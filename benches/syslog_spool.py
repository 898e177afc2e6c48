#!/usr/bin/env python3
"""Syslog input benchmark: messages per CPU-second of the agent (utime+stime from
/proc/PID/stat, the agent process only) over TCP (octet counting) and UDP into the file
output, with the spool on, and the spool's write amplification (bytes the agent wrote,
minus the output file, per byte received). Medians of RUNS runs.

    cargo build --release && python3 benches/syslog_spool.py [BINARY] [N] [RUNS]
"""
import os, socket, statistics, subprocess, sys, tempfile, time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/logship"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
TICK = os.sysconf("SC_CLK_TCK")


def msg(n):
    head = f"<14>1 2026-12-03T10:00:00.000Z node-1 app 42 - - request #{n:08} "
    return (head + "x" * (200 - len(head))).encode()


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def wchar(pid):
    for l in open(f"/proc/{pid}/io"):
        if l.startswith("wchar:"):
            return int(l.split()[1])
    return 0


def lines(path):
    try:
        with open(path, "rb") as f:
            return sum(b.count(b"\n") for b in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def run(proto):
    d = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    port = free_port()
    out = f"{d}/out.ndjson"
    open(f"{d}/c.yaml", "w").write(f"""data_dir: {d}/data
inputs:
  - type: syslog
    listen: [{proto}://127.0.0.1:{port}]
outputs:
  - type: file
    path: {out}
""")
    agent = subprocess.Popen([BIN, "run", "-c", f"{d}/c.yaml"], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if proto == "tcp":
                socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.3)
    c0, w0 = cpu(agent.pid), wchar(agent.pid)
    t0 = time.time()
    sent_bytes = 0
    if proto == "tcp":
        s = socket.create_connection(("127.0.0.1", port))
        buf = bytearray()
        for n in range(N):
            m = msg(n)
            buf += f"{len(m)} ".encode() + m
            if len(buf) > 1 << 20:
                s.sendall(buf); sent_bytes += len(buf); buf = bytearray()
        s.sendall(buf); sent_bytes += len(buf); s.close()
        want = N
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        for n in range(N):
            m = msg(n); s.sendto(m, ("127.0.0.1", port)); sent_bytes += len(m)
            if n % 64 == 0:
                time.sleep(0)  # let the agent keep up: loopback drops what overflows its buffer
        want = None
    deadline = time.time() + 120
    last, stable = -1, 0
    while time.time() < deadline:
        got = lines(out)
        if want is not None and got >= want:
            break
        if want is None:
            stable = stable + 1 if got == last else 0
            last = got
            if stable >= 10:
                break
        time.sleep(0.1)
    got = lines(out)
    wall = time.time() - t0
    c1, w1 = cpu(agent.pid), wchar(agent.pid)
    agent.terminate(); agent.wait()
    out_size = os.path.getsize(out)
    spool_written = (w1 - w0) - out_size
    subprocess.run(["rm", "-rf", d])
    return dict(got=got, cpu=c1 - c0, wall=wall, per_cpu_s=got / max(c1 - c0, 1e-9),
                amp=spool_written / max(sent_bytes, 1))


for proto in ["tcp", "udp"]:
    rs = [run(proto) for _ in range(RUNS)]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"{proto}: {N} x 200-byte messages, delivered {int(med('got'))}; "
          f"{med('per_cpu_s'):,.0f} msgs per CPU-second ({1e6 / med('per_cpu_s'):.2f} µs/msg); "
          f"{med('got') / med('wall'):,.0f} msgs/s wall; write amplification {med('amp'):.2f} "
          f"(median of {RUNS})")
