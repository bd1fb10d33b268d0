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
    fails with C(STORE_LOCKED); the repository is never left half-written.
  - With the E(HIB_CONFIG_REMOTE) environment variable (a git URL), the commit is then merged with
    the remote's branch (a device changed by two runners keeps the newest copy on top, the older
    one in history) and pushed, with bounded retries. A remote that cannot be reached or refuses
    the push is a warning, not a failure; C(push_pending=true) and the commit stays local until
    the next run pushes it.
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
  push_attempts:
    description: Fetch, merge and push attempts before the push is left pending (default 6).
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
host_commits:
  description: Devices whose staged config was already committed (by a concurrent run), with
    the commit that holds it.
  returned: always
  type: dict
stale_hosts:
  description: Devices skipped because another run committed a newer copy meanwhile.
  returned: always
  type: list
  elements: str
push_pending:
  description: True when the push to E(HIB_CONFIG_REMOTE) failed and commits are kept locally.
  returned: when HIB_CONFIG_REMOTE is set
  type: bool
owed:
  description: Local commits the remote does not have yet.
  returned: when HIB_CONFIG_REMOTE is set
  type: int
head:
  description: The store's branch after the sync (the run commit or a merge above it).
  returned: when HIB_CONFIG_REMOTE is set
  type: str
conflicts:
  description: Devices changed by this runner and another one; C(kept) says whose copy is on top
    (C(this_runner) or C(remote)), C(ours)/C(theirs) the commits of the two copies.
  returned: when HIB_CONFIG_REMOTE is set
  type: list
  elements: dict
error_code:
  description: C(STORE_LOCKED) when the lock was not free in time, C(STORE_ERROR) when git
    failed (both failures); C(REMOTE_UNREACHABLE) or C(PUSH_FAILED) with C(push_pending=true)
    (a warning, the task succeeds).
  returned: failure or push pending
  type: str
"""
