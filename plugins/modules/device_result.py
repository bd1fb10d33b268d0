# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
# Documentation only: the work is done on the controller by plugins/action/device_result.py.
from __future__ import annotations

DOCUMENTATION = r"""
module: device_result
short_description: Report one device's result out of a device_batch result
version_added: "0.2.0"
description:
  - M(hib.orchestrator.device_batch) backs up a whole play batch in one task, so Ansible counts
    one result for all of it. Run this task on the devices in that result's C(report_hosts) (put
    them in a group with C(add_host) and target the group from the next play) and each one gets
    its own result back, failed or unreachable as it was, so the recap, the exit code, retry files
    and C(rescue) blocks treat them as a per-host M(hib.orchestrator.device_config) task would.
  - A device that succeeded is reported C(ok), never C(changed); its change was reported, and
    staged, by the batch.
author:
  - hib-orchestrator developers (@hib-orchestrator)
options:
  batch:
    description: The registered result of the M(hib.orchestrator.device_batch) task.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Only reports.
  diff_mode:
    support: none
    description: The batch result holds the diffs.
"""

EXAMPLES = r"""
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
  description: Always C(device_report).
  returned: always
  type: str
  sample: device_report
error_code:
  description: The device's error code when its backup failed.
  returned: failure
  type: str
  sample: AUTH_FAILED
"""
