#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: formatting, lints, unit tests and the
# end-to-end tests (which run the real binary). Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Needs the Rust toolchain (with rustfmt and clippy); Docker for tests/docker.rs (they skip loudly without it).
if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo is not installed (install Rust with rustup)" >&2
  exit 1
fi
# Only when missing (rustup's own server may be out of reach; the toolchain image has both).
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

# openssl: tests/tls.rs runs tls/make-certs.sh and converts keys to PKCS#1 and SEC1.
if ! command -v openssl >/dev/null; then
  echo "== installing openssl (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq openssl
fi

# rsyslogd (with its gnutls driver) and logger: the real syslog senders of tests/syslog.rs.
if ! command -v rsyslogd >/dev/null || ! command -v logger >/dev/null \
  || ! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then
  echo "== installing rsyslog, rsyslog-gnutls, bsdutils (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rsyslog rsyslog-gnutls bsdutils
fi

# osmem-server: the in-memory OpenSearch-API server tests/elasticsearch.rs indexes into (PyPI).
if ! python3 -c "import osmem_server; osmem_server.resolve_binary()" >/dev/null 2>&1; then
  echo "== installing osmem-server (pip)"
  python3 -m pip install -q osmem-server
fi

# moto's server: the CloudWatch Logs implementation tests/cloudwatch.rs ships to (PyPI),
# started through scripts/moto_check.py.
if ! python3 -c "import moto.server, boto3, requests" >/dev/null 2>&1; then
  echo "== installing moto[server] and boto3 (pip)"
  python3 -m pip install -q 'moto[server]' boto3
fi

# kubernetes-validate: tests/deploy.rs validates deploy/*.yaml against the Kubernetes schema.
if ! command -v kubernetes-validate >/dev/null; then
  echo "== installing kubernetes-validate (pip)"
  python3 -m pip install -q kubernetes-validate
fi

# cargo-deb builds the Debian package tests/deploy.rs installs (crates.io).
if ! cargo deb --version >/dev/null 2>&1; then
  echo "== installing cargo-deb (cargo install)"
  cargo install -q --locked cargo-deb
fi

# The docker tests run real containers from a tiny image built from Debian's busybox-static;
# tests/deploy.rs builds the container image on a Debian base made by debootstrap.
if docker info >/dev/null 2>&1; then
  echo "== test image: $(bash scripts/test-image.sh)"
  echo "== Debian base image: $(bash scripts/base-image.sh)"
else
  echo "*** no Docker daemon reachable: the docker tests will skip (loudly) ***"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --release -- -D warnings
echo "== cargo test (release: the end-to-end tests drive the real binary under load)"
cargo test --release -- --test-threads=2
