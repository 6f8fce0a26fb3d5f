#!/usr/bin/env bash
# Starts a Docker registry (Debian's docker-registry, filesystem storage, deletes allowed) on
# loopback; dockerd trusts 127.0.0.1 registries without TLS. Prints its address for
# AUTOBUILDER_TEST_REGISTRY. Idempotent.   Usage: start-registry.sh [DIR] [PORT]
set -euo pipefail
dir="${1:-/var/tmp/autobuilder-registry}"
port="${2:-5000}"
mkdir -p "$dir/storage"
if ! curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  nohup docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 1 40); do
    curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.25
  done
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null || { tail -30 "$dir/registry.log" >&2; exit 1; }
fi
echo "127.0.0.1:$port"
