#!/usr/bin/env bash
# Makes everything the logship -> Logstash (beats) mutual-TLS link needs, with openssl:
#   ca.crt / ca.key              the CA that signs both sides (keep ca.key offline)
#   logstash.crt / logstash.key  Logstash's server certificate (PKCS#8 key, as Logstash wants)
#   beat.crt / beat.key          the agent's client certificate
#   logstash-beats-input.conf    the matching Logstash `beats` input block
#   logship-tls.yaml             the matching logship output block
#
# Usage: tls/make-certs.sh OUT_DIR NAME_OR_IP [NAME_OR_IP ...]
#   NAME_OR_IP: every DNS name and IP address the agents use to reach Logstash; they become the
#   server certificate's subjectAltNames (the first is also its CN).
# Environment: DAYS (validity, default 825), KEY_BITS (RSA size, default 2048).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is not installed (apt-get install openssl)" >&2; exit 1; }

out=$1
shift
days=${DAYS:-825}
bits=${KEY_BITS:-2048}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"

sans=""
for n in "$@"; do
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
        sans="${sans:+$sans,}IP:$n"
    else
        sans="${sans:+$sans,}DNS:$n"
    fi
done

key() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$1" 2>/dev/null; chmod 600 "$1"; }

# 1. The CA.
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=logship beats CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

# sign NAME CN EXTENSIONS
sign() {
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%b' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
        -days "$days" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

# 2. Logstash's server certificate.
sign logstash "$1" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=$sans\n"
# 3. The agent's client certificate.
sign beat "logship" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"

cat > logstash-beats-input.conf <<CONF
# Copy ca.crt, logstash.crt and logstash.key to /etc/logstash/certs/ on the Logstash host.
input {
  beats {
    port => 5044
    ssl_enabled => true                          # Logstash < 8.13: ssl => true
    ssl_certificate_authorities => ["/etc/logstash/certs/ca.crt"]
    ssl_certificate => "/etc/logstash/certs/logstash.crt"
    ssl_key => "/etc/logstash/certs/logstash.key"
    ssl_client_authentication => "required"      # Logstash < 8.13: ssl_verify_mode => "force_peer"
  }
}
CONF

cat > logship-tls.yaml <<CONF
# Copy ca.crt, beat.crt and beat.key to /etc/logship/certs/ on every node.
outputs:
  - type: logstash
    hosts: ["$1:5044"]
    tls:
      ca: /etc/logship/certs/ca.crt
      cert: /etc/logship/certs/beat.crt
      key: /etc/logship/certs/beat.key
CONF

echo "made in $out: ca.crt ca.key logstash.crt logstash.key beat.crt beat.key logstash-beats-input.conf logship-tls.yaml"
echo "server certificate names: $sans; valid $days days"
