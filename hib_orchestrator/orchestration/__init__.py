"""Driving playbooks: ansible-runner, live progress, cancel, run locks and CI reports.

Sits between the CLI and the core (recording, stores): ``cli -> orchestration -> core``.
"""
