"""The run id shared by every task of one playbook run (``HIB_RUN_ID``).

The recorder callback (or ``hib run``) sets ``HIB_RUN_ID`` before Ansible forks its workers. Without
a recorder, :func:`ensure_run_id` makes one up *in the controller process*; the action plugins call
it when they are imported there (Ansible's linear/free strategies import the action class in the
parent before forking), so every forked worker, and ``config_commit``, see the same value.
"""

from __future__ import annotations

import os
import time

ENV = "HIB_RUN_ID"


def ensure_run_id() -> str:
    """Return ``HIB_RUN_ID``, setting a generated ``local-<utc time>-<pid>`` if it is unset."""
    value = os.environ.get(ENV)
    if not value:
        value = f"local-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
        os.environ[ENV] = value
    return value
