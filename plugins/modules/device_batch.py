# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
# Documentation only: the work is done on the controller by plugins/action/device_batch.py.
from __future__ import annotations

DOCUMENTATION = r"""
module: device_batch
short_description: Back up every network device of the play batch in one task
version_added: "0.2.0"
description:
  - Does what M(hib.orchestrator.device_config) does for one host (SSH with netmiko from the
    controller, volatile lines ignored, secrets masked, truncated output refused, a changed config
    staged for the run's one commit), for every host of the play batch (the play's hosts within
    C(--limit) and C(serial)) in a single task.
  - Ansible runs the task once per batch (it bypasses the host loop, like C(add_host)), so the
    controller pays one task instead of one forked worker per device. The sessions run
    concurrently, at most C(forks) at a time, in E(HIB_SESSION_PROCESSES) session processes
    forked from the task's worker (default the number of CPUs; C(0) runs them in threads of the
    worker itself).
  - Each device's variables are read as if the task ran on it (inventory and facts through
    C(hostvars), then the play's and the task's C(vars), then extra vars); options given to the
    task apply to every device.
  - Prints one line per device as it finishes (C(ok), C(changed), C(failed) with its error code)
    and appends it to E(HIB_PROGRESS_FILE) when set (C(hib run)'s live view). The task itself never
    fails for a device; it returns every device's result under C(hosts) and the devices Ansible
    must still mark failed or unreachable under C(report_hosts), for
    M(hib.orchestrator.device_result) to report (see the example and C(playbooks/backup.yml)).
author:
  - hib-orchestrator developers (@hib-orchestrator)
options:
  platform:
    description: Platform profile (a netmiko device_type or an alias); overrides C(hib_platform).
    type: str
  commands:
    description: Commands to run instead of the profile's; outputs are joined in this order.
    type: list
    elements: str
  timeout:
    description: Seconds one attempt may take, connection included (C(hib_timeout), default 30).
    type: float
  retries:
    description:
      - Extra attempts after a transient failure (C(hib_retries), default 2), with exponential
        backoff and jitter. Authentication failures and rejected commands are not retried.
    type: int
  password:
    description: SSH password; overrides C(ansible_password).
    type: str
  enable_secret:
    description: Enable secret; overrides C(hib_enable_secret).
    type: str
  mask_secrets:
    description: Mask secrets before storing (C(hib_mask_secrets), default true).
    type: bool
  secret_patterns:
    description:
      - Extra masking regexes (added to the profile's); each needs a named group C(secret).
    type: list
    elements: str
  ignore_lines:
    description: Extra ignore-when-comparing regexes (added to the profile's).
    type: list
    elements: str
  delete_lines:
    description: Extra delete-before-storing regexes (added to the profile's).
    type: list
    elements: str
  min_lines:
    description: Fewer significant lines than this is C(TRUNCATED_OUTPUT).
    type: int
  max_size_drop_pct:
    description: A shrink of more than this percentage vs the last good copy is C(TRUNCATED_OUTPUT).
    type: float
  accept_size_drop:
    description: Accept a large shrink once (a legitimate big change).
    type: bool
  report:
    description:
      - Which devices the result's C(report_hosts) names for M(hib.orchestrator.device_result).
      - C(failed) (default) the failed and unreachable ones, so Ansible counts them; C(all) every
        device, so each has its own line in the recap, at the price of one forked task per device
        (C(playbooks/backup.yml) sets it from C(hib_report_every_device)).
    type: str
    choices: [failed, all]
    default: failed
attributes:
  check_mode:
    support: full
    description: Fetches and compares; stages nothing.
  diff_mode:
    support: full
    description: Each changed device's masked diff is in its entry of C(hosts).
  bypass_host_loop:
    support: full
    description: Runs once per play batch for all its hosts.
notes:
  - "Runs on the controller; set C(gather_facts: false). hib ignores C(ansible_connection)."
  - The C(ansible_play_batch) hosts that already failed in the play are not backed up.
"""

EXAMPLES = r"""
- name: Back up network devices
  hosts: network
  gather_facts: false
  tasks:
    - name: Back up the play batch's devices in one task
      hib.orchestrator.device_batch:
      run_once: true  # it runs once per batch anyway; this makes every host see hib_devices
      register: hib_devices

    - name: One commit for the run
      hib.orchestrator.config_commit:
      run_once: true
      delegate_to: localhost

    - name: Put the devices Ansible must hear about in a group
      ansible.builtin.add_host:
        name: "{{ item }}"
        groups: hib_report_devices
      loop: "{{ hib_devices.report_hosts }}"
      changed_when: false

- name: Report failed and unreachable devices to Ansible
  hosts: hib_report_devices
  gather_facts: false
  tasks:
    - name: Each device's own result
      hib.orchestrator.device_result:
        batch: "{{ hib_devices }}"
"""

RETURN = r"""
hib_kind:
  description: Always C(device_batch).
  returned: always
  type: str
  sample: device_batch
changed:
  description: At least one device's significant content changed.
  returned: always
  type: bool
hosts:
  description:
    - Host name -> that device's result, with the keys M(hib.orchestrator.device_config) returns
      (C(changed), C(sha256), C(size_bytes), C(path), C(attempts), C(duration_s), C(staged),
      C(error_code), C(msg), C(failed) or C(unreachable), C(diff)).
  returned: always
  type: dict
failed_hosts:
  description: Devices whose backup failed or that were unreachable.
  returned: always
  type: list
  elements: str
report_hosts:
  description: The devices to hand to M(hib.orchestrator.device_result) (failed and unreachable
    ones; the first device when none failed, so the group always exists; every device with
    O(report=all)).
  returned: always
  type: list
  elements: str
summary:
  description: Device counts by status (C(ok), C(changed), C(failed), C(unreachable), C(skipped)).
  returned: always
  type: dict
  sample: {"ok": 997, "changed": 2, "failed": 1, "unreachable": 0, "skipped": 0}
error_code:
  description: Set when the task itself could not run (bad settings, hib not importable).
  returned: failure
  type: str
  sample: BAD_CONFIG
"""
