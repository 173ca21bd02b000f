#!/usr/bin/env bash
# Make sure the system programs secdesk's sandbox, tests and demo need are installed:
#   redis-server, dovecot (IMAP), gpg, docker-compose (for `docker-compose config` in the tests).
# Idempotent and silent when everything is there. On Debian/Ubuntu as root it installs what is
# missing with apt-get; anywhere else it says exactly what to install and exits 1.
set -euo pipefail

have_redis() { command -v redis-server >/dev/null 2>&1; }
# /usr/sbin is not on every PATH (non-root shells), and that is where Debian puts dovecot.
have_dovecot() { [ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1; }
have_gpg() { command -v gpg >/dev/null 2>&1; }
have_compose() { command -v docker-compose >/dev/null 2>&1; }

# Each missing program, mapped to its Debian package.
missing_packages() {
  local pkgs=()
  have_redis || pkgs+=(redis-server)
  have_dovecot || pkgs+=(dovecot-imapd)
  have_gpg || pkgs+=(gnupg)
  have_compose || pkgs+=(docker-compose)
  echo "${pkgs[@]:-}"
}

missing="$(missing_packages)"
[ -z "$missing" ] && exit 0

explain() {
  cat >&2 <<EOF
secdesk needs these system packages, which are missing: $missing
  Debian/Ubuntu:  sudo apt-get install -y --no-install-recommends $missing
  macOS (brew):   brew install redis dovecot gnupg docker-compose
  Others:         install redis-server (>= 6), dovecot with IMAP (2.3), gnupg 2 and docker-compose.
Alternatively run secdesk with its services in containers: docker compose up
EOF
}

is_root=false
[ "$(id -u)" = "0" ] && is_root=true
if ! $is_root || ! command -v apt-get >/dev/null 2>&1; then
  explain
  exit 1
fi

# Services that were running before the install are the admin's business; ones the package
# install starts (Debian's postinst does) are not ours to leave behind: we run private instances.
was_running() { command -v service >/dev/null 2>&1 && service "$1" status >/dev/null 2>&1; }
redis_before=false; dovecot_before=false
was_running redis-server && redis_before=true
was_running dovecot && dovecot_before=true

echo "secdesk: installing system packages: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is intended
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >&2; then
  echo "secdesk: apt-get could not install: $missing" >&2
  explain
  exit 1
fi

if command -v service >/dev/null 2>&1; then
  if ! $redis_before && was_running redis-server; then service redis-server stop >/dev/null 2>&1 || true; fi
  if ! $dovecot_before && was_running dovecot; then service dovecot stop >/dev/null 2>&1 || true; fi
fi

still="$(missing_packages)"
if [ -n "$still" ]; then
  echo "secdesk: still missing after install: $still" >&2
  explain
  exit 1
fi
echo "secdesk: system packages installed" >&2
