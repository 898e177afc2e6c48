#!/usr/bin/env bash
# The certificates of the compose stack, in tls/certs/: a CA, Logstash's server certificate (for
# the name `logstash`, as logship reaches it on the compose network) and logship's client
# certificate. Uses the repository's tls/make-certs.sh (openssl).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../../tls/make-certs.sh" "$here/certs" logstash localhost 127.0.0.1
# Logstash runs as uid 1000 and reads its key; logship runs as root (beat.key stays 0600).
chmod 644 "$here/certs"/*.crt "$here/certs/logstash.key"
