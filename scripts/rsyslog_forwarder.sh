#!/usr/bin/env bash
# Real syslog client for the tests (from ../shared/peers/rsyslog_forwarder.sh, plus TLS):
# Debian's rsyslogd, run as `nobody` from a temp dir (no /dev/log, no system config),
# forwarding everything it receives to the agent.
# Needs: apt-get install rsyslog util-linux (and rsyslog-gnutls / rsyslog-openssl for TLS)
#
#   rsyslog_forwarder.sh AGENT_PORT [tcp|udp] [octet-counted|traditional] [TEMPLATE]
#     TEMPLATE: RSYSLOG_SyslogProtocol23Format (RFC 5424, default)
#               RSYSLOG_ForwardFormat (RFC 3164 + high-precision time)
#               RSYSLOG_TraditionalForwardFormat (plain RFC 3164)
#   TLS: set RSYSLOG_TLS_DRIVER=gtls|ossl and RSYSLOG_TLS_CA (and RSYSLOG_TLS_CERT +
#   RSYSLOG_TLS_KEY for a client certificate); the agent's certificate must name `localhost`.
# Prints one JSON line: {"pid","dir","unix_socket","udp_port","tcp_port"}; feed it with
#   logger -u SOCK ...   and stop it with: kill PID. rsyslog queues while the agent is down
# and retries forever, so it also exercises reconnects.
set -euo pipefail
port=${1:?usage: $0 AGENT_PORT [tcp|udp] [octet-counted|traditional] [TEMPLATE]}
proto=${2:-tcp}; framing=${3:-octet-counted}; tpl=${4:-RSYSLOG_SyslogProtocol23Format}
d=$(mktemp -d /tmp/rsyslog-fwd.XXXXXX); chmod 777 "$d"
free() { python3 -c "import socket;s=socket.socket(socket.AF_INET,socket.$1);s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
udp=$(free SOCK_DGRAM); tcp=$(free SOCK_STREAM)
frame=""; [ "$proto" = tcp ] && frame="TCP_Framing=\"$framing\""
global_tls=""; action_tls=""; target=127.0.0.1
if [ -n "${RSYSLOG_TLS_DRIVER:-}" ]; then
  cp "$RSYSLOG_TLS_CA" "$d/ca.pem"
  global_tls="DefaultNetstreamDriver=\"$RSYSLOG_TLS_DRIVER\" DefaultNetstreamDriverCAFile=\"$d/ca.pem\""
  if [ -n "${RSYSLOG_TLS_CERT:-}" ]; then
    cp "$RSYSLOG_TLS_CERT" "$d/cert.pem"; cp "$RSYSLOG_TLS_KEY" "$d/key.pem"
    global_tls="$global_tls DefaultNetstreamDriverCertFile=\"$d/cert.pem\" DefaultNetstreamDriverKeyFile=\"$d/key.pem\""
  fi
  chmod 644 "$d"/*.pem
  action_tls="StreamDriver=\"$RSYSLOG_TLS_DRIVER\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\" StreamDriverPermittedPeers=\"localhost\""
  target=localhost
fi
cat > "$d/rsyslog.conf" <<CONF
global(workDirectory="$d" maxMessageSize="64k" $global_tls)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$d/log.sock" CreatePath="on")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$udp")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$tcp")
action(type="omfwd" target="$target" port="$port" protocol="$proto" $frame template="$tpl" $action_tls
       queue.type="LinkedList" queue.filename="fwdq" queue.saveOnShutdown="on"
       action.resumeRetryCount="-1" action.resumeInterval="1")
CONF
rsyslogd -N1 -f "$d/rsyslog.conf" >/dev/null 2>&1 || { rsyslogd -N1 -f "$d/rsyslog.conf" >&2; exit 1; }
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" >"$d/rsyslogd.log" 2>&1 &
for _ in $(seq 50); do [ -S "$d/log.sock" ] && [ -s "$d/rsyslogd.pid" ] && break; sleep 0.1; done
printf '{"pid":%s,"dir":"%s","unix_socket":"%s/log.sock","udp_port":%s,"tcp_port":%s}\n' \
  "$(cat "$d/rsyslogd.pid")" "$d" "$d" "$udp" "$tcp"
