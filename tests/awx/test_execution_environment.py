"""execution-environment.yml through the real ansible-builder: the build context it generates
installs the wheel we build (package + collection) with its extras and the system packages.

The image itself cannot be built here (no container runtime, no registry); everything up to the
`podman build` is real: the wheel, `ansible-builder create`, and the context's own introspect
script, which is what the builder stage runs on the requirements.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{cmd[0]} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ansible-builder create` run as docs/awx.md says: the wheel in dist/, then create."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "bindep.txt"):
        shutil.copy(REPO / name, work / name)
    _run(BIN / "python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", REPO,
         cwd=work)
    out = _run(BIN / "ansible-builder", "create", "-f", "execution-environment.yml",
               "-c", "context", "--output-filename", "Containerfile", cwd=work)
    assert "No matches" not in out.stdout + out.stderr  # the wheel glob found the wheel
    return work / "context"


def _wheel(context: Path) -> Path:
    wheels = list((context / "_build" / "hib-wheels").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_definition_is_schema_3_with_pyprojects_ranges() -> None:
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    core = next(Requirement(d) for d in PYPROJECT["project"]["dependencies"]
                if Requirement(d).name == "ansible-core")
    ee_core = Requirement(ee["dependencies"]["ansible_core"]["package_pip"])
    assert ee_core.name == "ansible-core" and ee_core.specifier == core.specifier
    python = ee["dependencies"]["python_interpreter"]["python_path"]
    version = python.rsplit("python", 1)[1]
    assert PYPROJECT["project"]["requires-python"].startswith(f">={version}")


def test_requirements_install_the_built_wheel_with_its_extras(context: Path) -> None:
    lines = [ln for ln in (context / "_build" / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    hib = [Requirement(ln) for ln in lines if Requirement(ln).name == "hib-orchestrator"]
    assert len(hib) == 1
    wheel = _wheel(context)
    # The pinned file name follows the project version: a version bump must update the EE.
    assert hib[0].url == f"file:///output/hib-wheels/{wheel.name}"
    assert wheel.name == f"hib_orchestrator-{PYPROJECT['project']['version']}-py3-none-any.whl"
    assert {"postgres", "s3"} <= hib[0].extras <= set(PYPROJECT["project"]["optional-dependencies"])

    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = next(whl.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    collection = "ansible_collections/hib/orchestrator/"
    assert f"{collection}playbooks/backup.yml" in names  # import_playbook: hib.orchestrator.backup
    assert f"{collection}plugins/callback/recorder.py" in names
    assert "hib_orchestrator/__init__.py" in names
    for extra in hib[0].extras:
        assert f"Provides-Extra: {extra}" in metadata


def test_containerfile_puts_the_wheel_where_both_stages_install_from(context: Path) -> None:
    text = (context / "Containerfile").read_text()
    base, builder, final = text.split("\nFROM ")[1:4]
    assert base.startswith("$EE_BASE_IMAGE AS base")
    assert 'ARG EE_BASE_IMAGE="registry.access.redhat.com/ubi9/ubi:latest"' in text
    # In the base stage, so the builder (resolves) and the final stage (installs) both see it.
    assert "COPY _build/hib-wheels/ /output/hib-wheels/" in base
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.22 ansible-runner>=2.4"' in text
    assert "--user-pip=requirements.txt --user-bindep=bindep.txt" in builder
    assert "/output/scripts/install-from-bindep" in final
    assert "ENV ANSIBLE_CALLBACKS_ENABLED=hib.orchestrator.recorder" in final


def test_builder_stage_introspection_keeps_the_wheel_and_system_packages(
    context: Path, tmp_path: Path
) -> None:
    build = context / "_build"
    (tmp_path / "collections").mkdir()  # no Galaxy collections: the wheel ships hib's
    _run(BIN / "python", build / "scripts" / "introspect.py", "introspect",
         f"--user-pip={build / 'requirements.txt'}", f"--user-bindep={build / 'bindep.txt'}",
         f"--write-pip={tmp_path / 'pip.txt'}", f"--write-bindep={tmp_path / 'bindep.txt'}",
         tmp_path / "collections", cwd=tmp_path)
    pip = (tmp_path / "pip.txt").read_text()
    assert f"hib-orchestrator[postgres,s3] @ file:///output/hib-wheels/{_wheel(context).name}" \
        in pip
    system = (tmp_path / "bindep.txt").read_text()
    for package in ("git", "openssh-clients [platform:rpm]", "openssh-client [platform:dpkg]"):
        assert package in system


@pytest.mark.skipif(not Path("/usr/bin/dpkg").exists(), reason="checks the Debian names")
def test_bindep_file_parses_and_resolves_on_this_platform(context: Path) -> None:
    # bindep exits 2 on a file it cannot parse; on Debian the dpkg names are the ones listed.
    proc = _run(BIN / "bindep", "-f", context / "_build" / "bindep.txt", "-l", "newline",
                cwd=context)
    assert set(proc.stdout.split()) == {"git", "openssh-client"}
