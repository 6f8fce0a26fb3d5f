#!/usr/bin/env bash
# Makes the second Docker engine (scripts/start-second-engine.sh) reachable as an ssh:// engine:
# a private sshd (Debian's openssh-server) on 127.0.0.1:$SSH_ENGINE_PORT (default 22220), with its
# own host key and sshd_config in DIR, key-only login as root with a key made here for the tests.
# The key's authorized_keys line sets DOCKER_HOST to the second engine's socket, so the
# `docker system dial-stdio` the client runs over ssh talks to that dockerd.
# Prints `ssh://root@127.0.0.1:PORT IDENTITY HOST_KEY_FINGERPRINT` (AUTOBUILDER_TEST_SSH_ENGINE,
# AUTOBUILDER_TEST_SSH_KEY, AUTOBUILDER_TEST_SSH_HOST_KEY). Idempotent: an sshd already running
# from DIR is kept.
# Usage: start-ssh-engine.sh [DIR] [ENGINE_SOCKET]
#   (defaults /var/tmp/autobuilder-ssh-engine, /var/tmp/autobuilder-engine2/docker.sock)
set -euo pipefail
dir="${1:-/var/tmp/autobuilder-ssh-engine}"
sock="${2:-/var/tmp/autobuilder-engine2/docker.sock}"
port="${SSH_ENGINE_PORT:-22220}"
mkdir -p "$dir"
chmod 700 "$dir"
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C 'autobuilder test sshd' -f "$dir/host_key"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C 'autobuilder test client' -f "$dir/id_ed25519"
# No shell, no forwarding: the key can only run commands, with DOCKER_HOST pointing at the engine.
printf 'environment="DOCKER_HOST=unix://%s",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty %s\n' \
  "$sock" "$(cat "$dir/id_ed25519.pub")" >"$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
cat >"$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment DOCKER_HOST
# The files live under /var/tmp (world-writable), which StrictModes would refuse.
StrictModes no
AllowTcpForwarding no
X11Forwarding no
ClientAliveInterval 15
LogLevel ERROR
CONF
probe() {
  ssh -q -i "$dir/id_ed25519" -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 \
    root@127.0.0.1 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}
if ! probe; then
  # An sshd of ours from an older config (only if that pid still runs with our config file).
  if [ -f "$dir/sshd.pid" ] && ps -o args= -p "$(cat "$dir/sshd.pid")" 2>/dev/null | grep -qF "$dir/sshd_config"; then
    old="$(cat "$dir/sshd.pid")"
    kill "$old"
    for _ in $(seq 1 40); do
      kill -0 "$old" 2>/dev/null || break
      sleep 0.1
    done
  fi
  mkdir -p /run/sshd # privilege separation directory sshd insists on
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 40); do
    probe && break
    sleep 0.25
  done
  probe || { tail -30 "$dir/sshd.log" >&2; exit 1; }
fi
fingerprint="$(ssh-keygen -l -E sha256 -f "$dir/host_key.pub" | awk '{print $2}')"
echo "ssh://root@127.0.0.1:$port $dir/id_ed25519 $fingerprint"
