"""JUnit XML for CI systems: one testcase per host, failures with their error code."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def junit_xml(run: dict[str, Any]) -> str:
    """Render a ``runs show`` document (contract shape) as a JUnit XML string."""
    hosts = run.get("hosts") or []
    failures = sum(1 for h in hosts if h.get("status") == "failed")
    errors = sum(1 for h in hosts if h.get("status") == "unreachable")
    skipped = sum(1 for h in hosts if h.get("status") == "skipped")
    total_time = sum(float(h.get("duration_s") or 0) for h in hosts)
    name = f"hib run {run.get('id')}"
    suites = ET.Element(
        "testsuites", name=name, tests=str(len(hosts)), failures=str(failures),
        errors=str(errors), skipped=str(skipped), time=f"{total_time:.3f}",
    )
    suite = ET.SubElement(
        suites, "testsuite", name=f"{name} ({run.get('playbook') or 'playbook'})",
        tests=str(len(hosts)), failures=str(failures), errors=str(errors),
        skipped=str(skipped), time=f"{total_time:.3f}",
        timestamp=str(run.get("started_at") or ""),
    )
    props = ET.SubElement(suite, "properties")
    for key in ("id", "status", "playbook", "started_at", "finished_at"):
        ET.SubElement(props, "property", name=f"hib.{key}", value=str(run.get(key) or ""))
    for host in hosts:
        case = ET.SubElement(
            suite, "testcase", name=str(host.get("host")),
            classname=f"hib.{host.get('kind') or 'host'}",
            time=f"{float(host.get('duration_s') or 0):.3f}",
        )
        status = host.get("status")
        code = host.get("error_code") or ("UNREACHABLE" if status == "unreachable" else "FAILED")
        message = host.get("error_message") or ""
        if status == "failed":
            node = ET.SubElement(case, "failure", type=code, message=f"{code}: {message}")
            node.text = f"{host.get('host')}: {code}: {message}"
        elif status == "unreachable":
            node = ET.SubElement(case, "error", type=code, message=f"{code}: {message}")
            node.text = f"{host.get('host')}: {code}: {message}"
        elif status == "skipped":
            ET.SubElement(case, "skipped", message="skipped")
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (
                f"status={status} changed={bool(host.get('changed'))} "
                f"sha256={host.get('sha256') or ''} commit={host.get('commit') or ''}"
            )
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def write_junit(run: dict[str, Any], path: Path) -> None:
    """Write :func:`junit_xml` to ``path`` (atomically: CI may read it while we write)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(junit_xml(run), encoding="utf-8")
    tmp.replace(path)
