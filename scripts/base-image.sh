#!/usr/bin/env bash
# Makes the Debian base image the container image is built on when no registry is reachable:
# `debootstrap --variant=minbase bookworm` from Debian's packages (about a minute), with
# ca-certificates, `docker import`ed under a local tag. Tests build the Dockerfile with
# `--build-arg BASE=<this> --build-arg BUILDER=<this> --build-arg BINARY=<a built binary>`.
#   scripts/base-image.sh [IMAGE]        (default logship-test/bookworm:1); prints the image name
# Idempotent: does nothing when the image exists. Needs root, debootstrap (apt) and Docker.
set -euo pipefail
img=${1:-logship-test/bookworm:1}
if docker image inspect "$img" >/dev/null 2>&1; then echo "$img"; exit 0; fi
command -v debootstrap >/dev/null || {
  apt-get install -y -q debootstrap >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# What a slim image leaves out: apt lists and caches, docs, man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import - "$img" >/dev/null
echo "$img"
