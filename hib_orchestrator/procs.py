"""Process liveness, shared by every lock and state file that names its owner's pid."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process on this machine.

    A process we may not signal (``EPERM``) is alive; a zombie is not: its owner is gone even if
    its parent has not reaped it yet (a killed ansible-playbook under a shell, say).
    """
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            # The state follows the parenthesised command name, which may contain spaces.
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}
