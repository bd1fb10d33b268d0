#!/usr/bin/env bash
# Installs what hib needs on a Debian machine: system packages (when root), a virtualenv, the
# package with its dev extras. Safe to run again.
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null || need+=(git)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/lib/rancid/bin/clogin ] || command -v clogin >/dev/null || need+=(rancid)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages: ${need[*]} (sudo apt-get install ...)" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# This machine's pip config lists local mirrors that may not exist; their warnings are noise.
quiet() { "$@" 2> >(grep -v '^WARNING: Location' >&2); }
quiet "$VENV/bin/python" -m pip install -q --upgrade pip
quiet "$VENV/bin/python" -m pip install -q -e ".[dev]"
"$VENV/bin/hib" --version
