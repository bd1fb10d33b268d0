"""What a reviewer of Ansible content checks first, on the collection as it ships (conftest.py):
``ansible-test sanity``, ``ansible-lint`` (production profile), ``antsibull-changelog lint``,
``ansible-doc`` of every plugin, and galaxy.yml/meta that say what pyproject.toml says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.collection.conftest import REPO, Collection

# Plugin directories that hold plugins ansible-doc documents, and the type it calls them.
DOC_TYPES = {"modules": "module", "callback": "callback", "strategy": "strategy",
             "inventory": "inventory", "lookup": "lookup", "filter": "filter", "test": "test",
             "connection": "connection", "become": "become", "cache": "cache", "vars": "vars"}
PLUGINS = sorted(
    (DOC_TYPES[p.parent.name], p.stem) for p in (REPO / "plugins").glob("*/*.py")
    if p.parent.name in DOC_TYPES and p.stem != "__init__"
)
#: ansible-core versions the collection claims (meta/runtime.yml's floor up to the newest).
SUPPORTED = ("2.19", "2.20", "2.21")


@pytest.mark.parametrize(("kind", "name"), PLUGINS, ids=[f"{k}:{n}" for k, n in PLUGINS])
def test_ansible_doc_renders_every_plugin(collection: Collection, kind: str, name: str) -> None:
    proc = collection.run("ansible-doc", "-t", kind, f"hib.orchestrator.{name}",
                          cwd=collection.root)
    # an unparsable doc block is an [ERROR]/[WARNING] line on stderr, sometimes with status 0
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    assert f"hib.orchestrator.{name}" in proc.stdout
    assert str(collection.path) in proc.stdout  # the built collection, not the checkout


def test_every_shipped_plugin_is_checked(collection: Collection) -> None:
    shipped = sorted(
        (DOC_TYPES[p.parent.name], p.stem) for p in (collection.path / "plugins").glob("*/*.py")
        if p.parent.name in DOC_TYPES and p.stem != "__init__"
    )
    assert shipped == PLUGINS


def test_changelog_fragments_lint(collection: Collection) -> None:
    for cmd in (["antsibull-changelog", "lint"],
                ["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"]):
        proc = collection.run(*cmd)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_ansible_lint_production_profile(collection: Collection) -> None:
    proc = collection.run("ansible-lint", "--nocolor", "--offline", "-f", "pep8")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stderr


def _seed_pip_bootstrap(collection: Collection) -> None:
    """Put an equivalent of ansible-test's get-pip.py in its cache when its host is unreachable.

    ansible-test bootstraps pip in each sanity virtualenv with a script downloaded from
    ci-files.testing.ansible.com; where only PyPI is reachable .ci/get_pip_offline.py does the
    same (ensurepip, then the pinned pip from PyPI).
    """
    version = subprocess.run(
        [sys.executable, "-c", "from ansible_test._internal.python_requirements import "
         "get_venv_packages as g; from ansible_test._internal.host_configs import "
         "NativePythonConfig as c; print(g(c(version='3'))['pip'])"],
        capture_output=True, text=True, check=True, env=collection.env,
    ).stdout.strip()
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if cache.exists():
        return
    import socket

    try:
        socket.getaddrinfo("ci-files.testing.ansible.com", 443)
    except OSError:
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / ".ci" / "get_pip_offline.py", cache)


@pytest.mark.slow
def test_ansible_test_sanity(collection: Collection) -> None:
    _seed_pip_bootstrap(collection)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    proc = collection.run("ansible-test", "sanity", "--venv", "--python", python,
                          "--color", "no", "--truncate", "0", timeout=540)
    findings = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("ERROR", "FATAL"))]
    assert proc.returncode == 0, "\n".join(findings) or proc.stderr[-4000:]


def test_sanity_ignore_files_cover_each_supported_version_with_reasons() -> None:
    files = {v: (REPO / "tests" / "sanity" / f"ignore-{v}.txt").read_text() for v in SUPPORTED}
    assert len(set(files.values())) == 1, "every supported version ignores the same findings"
    for line in files[SUPPORTED[0]].splitlines():
        entry, _, reason = line.partition(" # ")
        path, test = entry.split()
        assert (REPO / path).is_file(), line
        assert ":" in test and "!skip" not in test, f"one finding, not a whole test: {line}"
        assert len(reason.split()) >= 4, f"entry without a reason: {line}"


def test_galaxy_metadata_matches_the_package(collection: Collection) -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert galaxy["version"] == project["version"]
    assert galaxy["license"] == [project["license"]] == ["Apache-2.0"]
    assert (REPO / "LICENSE").read_text().lstrip().startswith("Apache License")
    for key in ("repository", "documentation", "issues"):
        assert galaxy[key].startswith("https://github.com/hib-orchestrator/hib-orchestrator"), key
    assert galaxy["dependencies"] == {} and galaxy["tags"]
    for author in galaxy["authors"]:
        assert re.fullmatch(r".+ \(@[\w-]+\)", author), author
    (floor,) = (re.fullmatch(r"ansible-core>=([\d.]+)(,.*)?", d) for d in project["dependencies"]
                if d.startswith("ansible-core"))
    assert floor is not None
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == f">={floor.group(1)}.0"
    assert floor.group(1) == SUPPORTED[0]


def test_the_tarball_holds_collection_content_only(collection: Collection) -> None:
    (tarball,) = collection.root.parent.glob("hib-orchestrator-*.tar.gz")
    with tarfile.open(tarball) as archive:
        tops = {name.split("/", 1)[0] for name in archive.getnames()}
    assert {"plugins", "playbooks", "meta", "changelogs", "LICENSE", "README.md"} <= tops
    unwanted = {"hib_orchestrator", "tests", "bench", "collections", ".ci", "pyproject.toml"}
    assert not tops & unwanted
    assert not [t for t in tops if t.startswith((".venv", ".hib", ".git"))]
