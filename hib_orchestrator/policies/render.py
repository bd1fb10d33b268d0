"""Render a :class:`~hib_orchestrator.policies.model.Policy` into a standalone playbook.

The playbook selects hosts at run time (inventory pattern, then a ``group_by`` on platform,
group membership and ``where`` host variables), so it stays inventory-driven under plain
``ansible-playbook`` or AWX. Policy knobs become play variables (``hib_timeout``,
``hib_retries``), which outrank inventory values: the policy decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from hib_orchestrator.policies.model import Policy

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("hib_orchestrator.policies", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # YAML, not HTML; every literal goes through the `q` filter
)
# JSON is valid YAML: a safe way to quote any literal, readable unlike HTML-escaping `tojson`.
_ENV.filters["q"] = lambda value: json.dumps(value, ensure_ascii=False)


def _conditions(policy: Policy) -> list[str]:
    conds: list[str] = []
    if policy.platforms:
        platforms = list(policy.platforms)
        conds.append(
            f"(hib_platform | default(ansible_network_os | default(''))) in {platforms!r}"
            f" or (group_names | intersect({platforms!r}) | length > 0)"
        )
    if policy.groups:
        conds.append(f"group_names | intersect({list(policy.groups)!r}) | length > 0")
    for var, value in policy.where.items():
        conds.append(f"({var} | default(none)) == {value!r}")
    return conds


def _prune_args(policy: Policy) -> list[str]:
    r = policy.retention
    if r is None:
        return []
    args = ["hib", "prune", "--json"]
    for flag, value in (
        ("--keep-last", r.keep_last),
        ("--keep-daily", r.keep_daily),
        ("--keep-weekly", r.keep_weekly),
    ):
        if value is not None:
            args += [flag, str(value)]
    return args


def render_policy(policy: Policy, source: Path, out_name: str = "PLAYBOOK.yml") -> str:
    """The playbook text for ``policy``.

    Args:
        policy: A validated policy.
        source: The policy file it came from (named in the header).
        out_name: How the header's usage line names the playbook.
    """
    knobs: dict[str, Any] = {}
    if policy.timeout is not None:
        knobs["hib_timeout"] = policy.timeout
    if policy.retries is not None:
        knobs["hib_retries"] = policy.retries
    return _ENV.get_template("policy.yml.j2").render(
        policy=policy,
        source=str(source),
        out_name=out_name,
        conditions=_conditions(policy),
        knobs=knobs,
        prune_args=_prune_args(policy),
    )
