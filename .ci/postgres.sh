#!/usr/bin/env bash
# Make sure the PostgreSQL used by the tests answers at TEST_POSTGRES_URL (default: trust auth on
# 127.0.0.1:5432, user postgres). Installs and starts Debian's PostgreSQL on a fresh machine.
set -euo pipefail
url="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
answers() { psql "$url" -tAc 'select 1' >/dev/null 2>&1; }
# As root, or through sudo when not root (and sudo exists).
SUDO=""; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
answers && exit 0
if ! command -v pg_ctlcluster >/dev/null; then
  echo "Installing PostgreSQL from Debian…"
  ($SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
if ! answers; then
  # A fresh Debian cluster wants passwords on TCP; the test cluster is local-only, so trust loopback.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
answers || { echo "PostgreSQL does not answer at $url" >&2; exit 1; }
