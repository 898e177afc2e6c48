#!/usr/bin/env bash
# (Copied from the team's shared/peers/test-image.sh so a fresh clone has it.)
# Make a tiny container image for tests without any registry: Debian's busybox-static, imported
# into the local Docker daemon with `docker import`.
#   test-image.sh [IMAGE]        (default logship-test/busybox:1); prints the image name
# Idempotent: does nothing when the image already exists. Needs root (apt) and a Docker daemon.
# The image has sh, echo, printf, sleep, cat, seq, yes, head, date, ... (busybox applets) and no ENV.
# Example:
#   docker run -d --name web -l com.example.team=payments -e FOO=bar \
#     --log-opt max-size=10k --log-opt max-file=3 logship-test/busybox:1 \
#     sh -c 'i=0; while [ $i -lt 1000 ]; do i=$((i+1)); echo "line $i"; done; sleep 3600'
# json-file logs land in /var/lib/docker/containers/<id>/<id>-json.log (mode 0640, root);
# the daemon here speaks Docker API 1.41.
set -euo pipefail
img=${1:-logship-test/busybox:1}
if docker image inspect "$img" >/dev/null 2>&1; then echo "$img"; exit 0; fi
if [ ! -x /bin/busybox ]; then
  command -v apt-get >/dev/null || { echo "test-image.sh: no /bin/busybox and no apt-get" >&2; exit 1; }
  (apt-get install -y -q busybox-static >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q busybox-static >/dev/null; })
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
tar -C "$root" -c . | docker import - "$img" >/dev/null
echo "$img"
