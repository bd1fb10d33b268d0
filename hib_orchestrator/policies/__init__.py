"""Declarative backup policies (``hib.yml``) and their rendering into standalone playbooks."""

from hib_orchestrator.policies.model import Policy, PolicyFile, Retention, load_policies
from hib_orchestrator.policies.render import render_policy

__all__ = ["Policy", "PolicyFile", "Retention", "load_policies", "render_policy"]
