#!/usr/bin/env bash
# The collection checks of a release review, on the collection as it ships:
#   ansible-test sanity (ansible-core's own test tool, in the ansible_collections/hib/orchestrator
#   layout it needs), ansible-lint (production profile), antsibull-changelog lint, and ansible-doc
#   of every plugin. Usage: .ci/sanity.sh [VENV]   (default .venv; needs `make setup`).
#
# The collection is what `ansible-galaxy collection build` puts in the tarball, built from the
# repository's tracked files (plus new files not yet committed, so a change can be checked
# before its commit); the Python package, its pytest suites and bench/ are not collection
# content (galaxy.yml build_ignore) and are checked by ruff and pytest instead. ansible-test's
# ignore files (tests/sanity/) are copied beside it.
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/$VENV/bin:$PATH"
PY=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
work=$(mktemp -d "${TMPDIR:-/tmp}/hib-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Not a warning users can act on (docs/collection.md): ansible-core's ssh-agent import of DSA.
# (CryptographyDeprecationWarning is a UserWarning.)
export PYTHONWARNINGS="ignore:DSA is deprecated:UserWarning${PYTHONWARNINGS:+,$PYTHONWARNINGS}"

echo "== sanity: building the collection"
src=$work/src
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && [ ! -L "$f" ] && printf '%s\0' "$f"; done \
  | tar -c --null -T - -f - | tar -x -C "$src"
ansible-galaxy collection build --output-path "$work" "$src" >/dev/null
coll=$work/ansible_collections/hib/orchestrator
mkdir -p "$coll"
tar -xzf "$work"/hib-orchestrator-*.tar.gz -C "$coll"
mkdir -p "$coll/tests"
cp -r "$src/tests/sanity" "$coll/tests/"

echo "== sanity: antsibull-changelog lint"
(cd "$coll" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml)

echo "== sanity: ansible-doc of every plugin"
: >"$work/ansible.cfg"  # Ansible's defaults, not the checkout's ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$work ANSIBLE_CONFIG=$work/ansible.cfg
for path in "$coll"/plugins/*/*.py; do
  kind=$(basename "$(dirname "$path")"); name=$(basename "$path" .py)
  [ "$name" = __init__ ] && continue
  case $kind in
    modules) type=module ;; action|module_utils|plugin_utils|doc_fragments) continue ;;
    *) type=$kind ;;
  esac
  # ansible-doc prints an unparsable doc block as an [ERROR]/[WARNING] line, still exiting 0
  out=$(cd "$work" && ansible-doc -t "$type" "hib.orchestrator.$name" 2>&1 >/dev/null) || {
    echo "$out" >&2; echo "sanity: ansible-doc -t $type hib.orchestrator.$name failed" >&2; exit 1; }
  if [ -n "$out" ]; then
    echo "$out" >&2; echo "sanity: ansible-doc -t $type hib.orchestrator.$name complained" >&2; exit 1
  fi
  echo "ok: ansible-doc -t $type hib.orchestrator.$name"
done

echo "== sanity: ansible-lint (production profile)"
(cd "$coll" && ansible-lint --nocolor --offline -q)

echo "== sanity: ansible-test sanity (Python $PY)"
# ansible-test bootstraps pip in its per-test virtualenvs with a get-pip.py downloaded from
# ci-files.testing.ansible.com; where that host is unreachable (only PyPI is), put an
# equivalent in its cache (.ci/get_pip_offline.py: ensurepip, then the pinned pip from PyPI).
pip_version=$(python - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3"))["pip"])
PY
)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -e "$cache" ] && ! python -c 'import socket; socket.getaddrinfo("ci-files.testing.ansible.com", 443)' 2>/dev/null; then
  mkdir -p "$(dirname "$cache")" && cp "$ROOT/.ci/get_pip_offline.py" "$cache"
fi
(cd "$coll" && ansible-test sanity --venv --python "$PY" --color no --truncate 0)
echo "== sanity: all collection checks passed"
