# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
# Documentation only: the work is done on the controller by plugins/action/device_config.py.
from __future__ import annotations

DOCUMENTATION = r"""
module: device_config
short_description: Back up a network device's configuration into hib's git config store
version_added: "0.1.0"
description:
  - Connects to the device over SSH with netmiko, from the controller (no module is shipped to
    the device), enters enable mode where the platform needs it, and runs the platform's config
    commands.
  - Cleans the output, deletes the lines the profile says to drop, masks secrets (on by default),
    and refuses output that looks truncated (error C(TRUNCATED_OUTPUT)); the last good copy is
    never overwritten by a bad one.
  - Reports C(changed) when the significant content (ignoring volatile lines such as timestamps)
    differs from the last committed copy, and then stages the new text for the run's single
    commit, made by M(hib.orchestrator.config_commit) as the last task of the play.
  - Connection data come from inventory variables C(ansible_host), C(ansible_port),
    C(ansible_user), C(ansible_password) or C(ansible_ssh_private_key_file), C(hib_platform)
    (or C(ansible_network_os), FQCN names like C(cisco.ios.ios) accepted), C(hib_enable_secret),
    C(hib_timeout), C(hib_retries); profile overrides from C(hib_commands), C(hib_ignore_lines),
    C(hib_delete_lines), C(hib_secret_patterns), C(hib_mask_secrets), C(hib_min_lines),
    C(hib_max_size_drop_pct), C(hib_accept_size_drop). Options given to the task win over them.
  - Failures are per-host results with a stable C(error_code) (C(AUTH_FAILED), C(TIMEOUT),
    C(UNREACHABLE), C(PROMPT_NOT_DETECTED), C(TRUNCATED_OUTPUT), C(COMMAND_REJECTED),
    C(UNSUPPORTED_PLATFORM), C(STORE_ERROR), C(BAD_CONFIG)).
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
attributes:
  check_mode:
    support: full
    description: Fetches and compares; stages nothing.
  diff_mode:
    support: full
    description: Shows the diff of the masked text against the last stored copy.
notes:
  - "Runs on the controller; set C(gather_facts: false). hib ignores C(ansible_connection)."
"""

EXAMPLES = r"""
- name: Back up network devices
  hosts: network
  gather_facts: false
  tasks:
    - name: Fetch and stage each device config
      hib.orchestrator.device_config:

    - name: One commit for the run
      hib.orchestrator.config_commit:
      run_once: true
      delegate_to: localhost

- name: Back up two files of a Linux host
  hosts: servers
  gather_facts: false
  tasks:
    - name: Fetch two files as the host's config
      hib.orchestrator.device_config:
        platform: linux
        commands: [cat /etc/ssh/sshd_config, cat /etc/nftables.conf]

    - name: One commit for the run
      hib.orchestrator.config_commit:
      run_once: true
      delegate_to: localhost
"""

RETURN = r"""
hib_kind:
  description: Always C(device).
  returned: always
  type: str
  sample: device
changed:
  description: The significant content differs from the last committed copy.
  returned: always
  type: bool
sha256:
  description: SHA-256 of the stored (masked) text; the last stored copy's when unchanged.
  returned: success
  type: str
size_bytes:
  description: Size of the stored text in bytes.
  returned: success
  type: int
path:
  description: Path of the device's file inside the config store.
  returned: always
  type: str
  sample: 3c/ios-001.cfg
commit:
  description: Always null here; the run commit is reported by config_commit.
  returned: always
  type: str
attempts:
  description: Connection attempts made.
  returned: always
  type: int
duration_s:
  description: Wall time of the backup in seconds.
  returned: always
  type: float
staged:
  description: The new text was staged for the run commit.
  returned: always
  type: bool
error_code:
  description: Stable error code when the backup failed.
  returned: failure
  type: str
  sample: TIMEOUT
diff:
  description: Masked before/after text with headers (with C(--diff)).
  returned: when diff mode is on and the config changed
  type: dict
"""
