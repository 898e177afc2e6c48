#!/usr/bin/env bash
# Writes link/symbol-order.txt: the functions the release binary runs (grouped by kind of run, most
# instructions first), for the linker to place together at the start of .text (build.rs passes the file to lld as
# --symbol-ordering-file). Why: the kernel maps a binary's code 64 KiB around every page first
# touched (fault-around), and the code an agent runs is ~1.5 MB spread over 19 MB of .text, so
# touching it mapped 8.7 MiB of code into the process (file-backed RSS). Placed together, 2.5 MiB.
#
# Not part of CI. Run it after a toolchain or dependency update, or a large change, and commit the
# file: names that no longer exist are skipped by the linker (the agent still works, only less of
# its code is together; tests/layout.rs fails once fewer than 95% of the names are left).
#   scripts/symbol-order.sh            (needs valgrind; ~6 minutes: a build without the order, ~3.5 min, then the runs)
# Each scenario runs the agent under callgrind (instruction counts per function, names mangled as
# the linker sees them) on a few thousand records of one kind: Docker json-file, CRI, plain file,
# JSON application lines through decode_json + multiline + drop + rename + add_fields, syslog over
# TCP and UDP, all into the file output; and Docker lines into the elasticsearch output when
# osmem-server (pip) is installed. /metrics, /health and /live are asked every 2 s meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "symbol-order.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
LOGSHIP_SYMBOL_ORDER=0 cargo build --release --bin logship
bin=$PWD/target/release/logship
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lines=20000

python3 - "$work" "$lines" <<'EOF'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
q = "k" * 40
for i in range(2):
    cid = "%064x" % i
    d = f"{work}/containers/{cid}"
    os.makedirs(d)
    with open(f"{d}/{cid}-json.log", "w") as f:
        for k in range(i, n, 2):
            f.write('{"log":"%d GET /api/v1/items/%d?q=%s HTTP/1.1 200 %d\\n","stream":"stdout","time":"2026-11-24T10:00:00.%09dZ"}\n' % (k, k, q, k % 5000, k))
    d = f"{work}/apps/{cid}"
    os.makedirs(d)
    with open(f"{d}/{cid}-json.log", "w") as f:
        for k in range(i, n, 2):
            app = '{\\"level\\":\\"%s\\",\\"msg\\":\\"request %d done\\",\\"ms\\":%d}' % ("debug" if k % 4 == 0 else "info", k, k % 97)
            f.write('{"log":"%s\\n","stream":"stdout","time":"2026-11-24T10:00:00.%09dZ"}\n' % (app, k))
            if k % 10 == 0:
                f.write('{"log":"  at frame %d\\n","stream":"stderr","time":"2026-11-24T10:00:00.%09dZ"}\n' % (k, k))
os.makedirs(f"{work}/pods")
with open(f"{work}/pods/web_default_app-%064x.log" % 7, "w") as f:
    for k in range(n):
        f.write("2026-11-24T10:00:00.%09dZ stdout %s request %d %s\n" % (k, "P" if k % 7 == 0 else "F", k, q))
with open(f"{work}/plain.log", "w") as f:
    for k in range(n):
        f.write("plain line %d %s\n" % (k, "x" * (80 + k % 400)))
EOF

# A TCP port of 127.0.0.1 nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# profile NAME EXPECTED_RECORDS INPUT_YAML [OUTPUT_YAML] [FEEDER]: one callgrind run until the
# output holds EXPECTED_RECORDS lines (or, for the elasticsearch output, until the agent is idle).
profile() {
  local name=$1 want=$2 input=$3 output=${4:-} feeder=${5:-}
  local d=$work/$name
  mkdir -p "$d"
  [ -n "$output" ] || output="  - type: file
    path: $d/out.ndjson"
  local http
  http=$(free_port)
  cat >"$d/cfg.yaml" <<EOC
data_dir: $d/data
http:
  listen: 127.0.0.1:$http
pipeline:
  batch_max_wait: 100ms
inputs:
$input
outputs:
$output
EOC
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$d/cg.out" \
    "$bin" run -c "$d/cfg.yaml" >/dev/null 2>"$d/valgrind.log" &
  local pid=$!
  [ -z "$feeder" ] || $feeder &
  # Done when every record is out, or (datagrams the kernel dropped, lines joined) when the
  # count has not moved for 30 s; at most 10 minutes.
  local deadline=$((SECONDS + 600)) n=0 last=-1 still=$SECONDS
  while [ $SECONDS -lt $deadline ]; do
    n=0
    [ ! -f "$d/out.ndjson" ] || n=$(wc -l <"$d/out.ndjson")
    # /metrics and /health as a monitoring system and a Kubernetes probe ask them.
    curl -s "http://127.0.0.1:$http/metrics" "http://127.0.0.1:$http/health" "http://127.0.0.1:$http/live" >/dev/null || true
    [ "$n" -ge "$want" ] && break
    if [ "$n" != "$last" ]; then
      last=$n still=$SECONDS
    elif [ "$n" -gt 0 ] && [ $((SECONDS - still)) -ge 30 ]; then
      break
    fi
    sleep 2
  done
  kill -TERM $pid
  wait $pid || true
  echo "$name: $n records" >&2
  callgrind_annotate --threshold=100 --auto=no "$d/cg.out" >"$d/functions.txt" 2>/dev/null
}

profile docker $lines "  - type: docker
    containers_path: $work/containers
    read_from: beginning"
profile cri $((lines * 6 / 7)) "  - type: cri
    paths: [$work/pods/*.log]
    read_from: beginning" || true
profile plain $lines "  - type: file
    paths: [$work/plain.log]
    read_from: beginning"
profile processors $((lines * 3 / 4)) "  - type: docker
    containers_path: $work/apps
    read_from: beginning
    processors:
      - multiline:
          pattern: '^\\s'
          match: after
      - decode_json:
          field: message
          target: ''
      - drop:
          when:
            equals: {level: debug}
      - rename:
          fields: {ms: duration_ms}
      - add_fields:
          target: app
          fields: {team: web}"
port=$(free_port)
send_syslog() {
  python3 - "$port" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
deadline = time.time() + 120
while True:  # the agent starts slowly under valgrind
    try:
        t = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for k in range(10000):
    m = b"<34>1 2026-11-24T10:00:00.%06dZ host%d app %d ID47 [exampleSDID@32473 iut=\"3\"] message %d" % (k, k % 9, k, k)
    t.sendall(b"%d %s" % (len(m), m))
    if k % 4 == 0:
        u.sendto(b"<13>Nov 24 10:00:00 host app[%d]: udp message %d" % (k, k), ("127.0.0.1", port))
t.close()
EOF
}
profile syslog 12500 "  - type: syslog
    listen: [\"tcp://127.0.0.1:$port\", \"udp://127.0.0.1:$port\"]" "" send_syslog
if osmem=$(python3 -c "import osmem_server; print(osmem_server.resolve_binary())" 2>/dev/null); then
  esport=$(free_port)
  "$osmem" -addr "127.0.0.1:$esport" -no-stdin-watch >/dev/null 2>&1 &
  es=$!
  profile elasticsearch $lines "  - type: docker
    containers_path: $work/containers
    read_from: beginning" "  - type: elasticsearch
    hosts: [\"http://127.0.0.1:$esport\"]
    index: bench
  - type: file
    path: $work/elasticsearch/out.ndjson"
  kill $es
else
  echo "symbol-order.sh: osmem-server not installed (pip install osmem-server): the elasticsearch output is not profiled" >&2
fi

# The order: every function the Docker run ran, then those the CRI run added, then plain, syslog,
# processors, elasticsearch; within each group, most instructions first (callgrind_annotate lists a
# function once per source file its inlined code came from: summed). So each kind of run touches
# the first group and its own, not code spread over every group.
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/names.txt"
mkdir -p link
{
  echo "# Written by scripts/symbol-order.sh on $(date -u +%F) for $(rustc --version): the functions the"
  echo "# agent ran in its profile runs, grouped by the first kind of run that ran them, most instructions"
  echo "# first in a group. build.rs gives it to the linker."
  for run in docker cri plain syslog processors elasticsearch; do
    [ ! -f "$work/$run/functions.txt" ] || echo "== $run" | cat - "$work/$run/functions.txt"
  done | perl -ne '
    if (/^== /) { $group++; next }
    if (/^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)/) {
      my ($ir, $f) = ($1, $2); $ir =~ s/,//g; $f =~ s/^.*://;
      $g{$f} //= $group; $c{$f} += $ir if $g{$f} == $group;
    }
    END { print "$_\n" for sort { $g{$a} <=> $g{$b} || $c{$b} <=> $c{$a} || $a cmp $b } keys %g }' |
    awk 'NR == FNR { have[$1] = 1; next } ($1 in have)' "$work/names.txt" -
} >link/symbol-order.txt
echo "link/symbol-order.txt: $(grep -vc '^#' link/symbol-order.txt) functions" >&2
