#!/usr/bin/env bash
# Makes the second virtualenv `make test` runs the end-to-end subset in: the other supported end
# of the range (Python 3.13 with the newest ansible-core pyproject.toml allows; the main .venv is
# Python 3.11 with ansible-core 2.19). Safe to run again: an existing venv is only brought up to
# date. Without a Python of that version it prints one `setup-alt: skip ...` line and exits 0, so
# a machine without it still runs the main suite.
#
#   bash .ci/setup-alt.sh [VENV] [PYTHON_VERSION]     # defaults: .venv-py313 3.13
set -euo pipefail
VENV=${1:-.venv-py313}
WANT=${2:-3.13}
cd "$(dirname "$0")/.."

find_python() {
  local prefix candidate
  # pyenv first: its versions are full builds (ssl, sqlite3, venv), Debian's may lack venv.
  if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$WANT" 2>/dev/null); then
    [ -x "$prefix/bin/python$WANT" ] && { echo "$prefix/bin/python$WANT"; return; }
  fi
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$WANT".* 2>/dev/null | sort -V -r); do
    [ -x "$candidate/bin/python$WANT" ] && { echo "$candidate/bin/python$WANT"; return; }
  done
  command -v "python$WANT" 2>/dev/null || true
}

PY=$(find_python)
if [ -z "$PY" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if apt-cache show "python$WANT-venv" >/dev/null 2>&1; then
    echo "setup-alt: installing Debian packages python$WANT python$WANT-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "python$WANT" "python$WANT-venv" >/dev/null
    PY=$(command -v "python$WANT" || true)
  fi
fi
if [ -z "$PY" ]; then
  echo "setup-alt: skip: no Python $WANT (pyenv, PATH or Debian); the end-to-end subset runs on the main venv only"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
quiet() { "$@" 2> >(grep -v '^WARNING: Location' >&2); }
quiet "$VENV/bin/python" -m pip install -q --upgrade pip
# --upgrade-strategy eager: this venv exists to try the newest ansible-core the range allows.
quiet "$VENV/bin/python" -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev]"
"$VENV/bin/python" -c 'import sys, ansible.release as a; print(f"setup-alt: {sys.executable}: Python {sys.version.split()[0]}, ansible-core {a.__version__}")'
