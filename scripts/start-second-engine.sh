#!/usr/bin/env bash
# Starts a second Docker engine beside the first (its own data root, exec root, socket and
# containerd; no bridge, no iptables: build rules in the tests use `network: none`), loads the test
# image into it, and prints its URL for AUTOBUILDER_TEST_ENGINE2. Idempotent: an engine already
# answering on the socket is kept.   Usage: start-second-engine.sh [DIR]  (default /var/tmp/autobuilder-engine2)
set -euo pipefail
dir="${1:-/var/tmp/autobuilder-engine2}"
sock="$dir/docker.sock"
mkdir -p "$dir/root" "$dir/exec"
if ! docker -H "unix://$sock" info >/dev/null 2>&1; then
  # A pid file left by a `kill -9` would stop dockerd from starting.
  if [ -f "$dir/docker.pid" ] && ! kill -0 "$(cat "$dir/docker.pid")" 2>/dev/null; then rm -f "$dir/docker.pid"; fi
  nohup dockerd --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$sock" \
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
