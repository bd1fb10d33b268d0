# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
# Documentation only: the work is done on the controller by plugins/action/config_commit.py.
from __future__ import annotations

DOCUMENTATION = r"""
module: config_commit
short_description: Make the run's single commit of staged device configs in hib's config store
version_added: "0.1.0"
description:
  - Last task of a backup play, with C(run_once=true). Takes the config store lock, moves the
    configs staged by M(hib.orchestrator.device_config) in this run into the git store
    atomically, and makes one commit whose message lists the devices and ends with the trailer
    C(Hib-Run) and the run id. Nothing is committed when no significant content changed.
  - A concurrent run on the same store waits for the lock up to O(lock_timeout) seconds and then
    fails with C(STORE_ERROR).
  - Also removes the staging areas of runs that died before committing.
author:
  - hib-orchestrator developers (@hib-orchestrator)
options:
  lock_timeout:
    description: Seconds to wait for the store lock (default C(hib_store_lock_timeout) or 60).
    type: float
  gc_every:
    description: Run C(git gc --auto) after every this many commits (default 100).
    type: int
attributes:
  check_mode:
    support: full
    description: Commits nothing.
"""

EXAMPLES = r"""
- name: One commit for the run
  hib.orchestrator.config_commit:
    lock_timeout: 120
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
hib_kind:
  description: Always C(commit).
  returned: always
  type: str
commit:
  description: SHA of the run commit, or null when nothing changed.
  returned: always
  type: str
hosts:
  description: Inventory names of the devices in that commit.
  returned: always
  type: list
  elements: str
run_id:
  description: The run id written in the C(Hib-Run) trailer.
  returned: always
  type: str
error_code:
  description: C(STORE_ERROR) when the lock was not free in time or git failed.
  returned: failure
  type: str
"""
