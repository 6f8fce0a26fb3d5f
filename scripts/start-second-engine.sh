#!/usr/bin/env bash
# Starts a second Docker engine beside the first (its own data root, exec root, socket and
# containerd; no bridge, no iptables: build rules in the tests use `network: none`), loads the test
# image into it, and prints its URL for AUTOBUILDER_TEST_ENGINE2. It also listens on
# tcp://127.0.0.1:$ENGINE2_TLS_PORT (default 23760) with TLS and client certificates made here by
# openssl in DIR/tls (ca.pem, cert.pem, key.pem: the client's), for the tcp:// engine path.
# Idempotent: an engine already answering on the socket is kept.
# Usage: start-second-engine.sh [DIR]  (default /var/tmp/autobuilder-engine2)
set -euo pipefail
dir="${1:-/var/tmp/autobuilder-engine2}"
sock="$dir/docker.sock"
tls="$dir/tls"
port="${ENGINE2_TLS_PORT:-23760}"
mkdir -p "$dir/root" "$dir/exec" "$tls"
if [ ! -f "$tls/key.pem" ]; then
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=autobuilder test CA" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=autobuilder" -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out cert.pem 2>/dev/null
    chmod 600 ./*key.pem
  )
fi
if ! docker -H "unix://$sock" info >/dev/null 2>&1; then
  # A pid file left by a `kill -9` would stop dockerd from starting; so would one naming a killed
  # dockerd its parent has not reaped yet (a zombie still answers `kill -0`).
  if [ -f "$dir/docker.pid" ]; then
    state="$(ps -o stat= -p "$(cat "$dir/docker.pid")" 2>/dev/null || true)"
    case "$state" in "" | Z*) rm -f "$dir/docker.pid" ;; esac
  fi
  nohup dockerd --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$sock" \
    -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$tls/ca.pem" \
    --tlscert "$tls/server-cert.pem" --tlskey "$tls/server-key.pem" \
    --pidfile "$dir/docker.pid" --bridge none --iptables=false --ip-masq=false \
    >>"$dir/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker -H "unix://$sock" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker -H "unix://$sock" info >/dev/null 2>&1 || { tail -30 "$dir/dockerd.log" >&2; exit 1; }
fi
if ! docker -H "unix://$sock" image inspect autobuilder-test/busybox:latest >/dev/null 2>&1; then
  docker save autobuilder-test/busybox:latest | docker -H "unix://$sock" load >/dev/null
fi
echo "unix://$sock"
