from __future__ import annotations

import difflib

from hib_orchestrator.devices.diffs import significant_diff, volatile_patterns

OLD = """! Last configuration change at 10:00:01 UTC Tue Nov 24 2026
! NVRAM config last updated at 10:00:01 UTC Tue Nov 24 2026
version 17.3
hostname r1
interface Gi0/1
 description uplink
!
ntp clock-period 17179001
end
"""


def _diff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "a/r1.cfg", "b/r1.cfg", n=1))


def test_only_volatile_changes_leave_nothing() -> None:
    new = OLD.replace("10:00:01", "11:30:00").replace("17179001", "17179877")
    assert _diff(OLD, new)  # the raw diff is all noise
    assert significant_diff(_diff(OLD, new)) == ""


def test_real_change_kept_noise_dropped_counts_recomputed() -> None:
    new = (OLD.replace("10:00:01", "11:30:00").replace("17179001", "17179877")
           .replace(" description uplink", " description core uplink"))
    text = significant_diff(_diff(OLD, new))
    changed = [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in
               ("---", "+++")]
    assert changed == ["- description uplink", "+ description core uplink"]
    assert text.startswith("--- a/r1.cfg\n+++ b/r1.cfg\n")
    hunks = text.split("\n@@")[1:]
    assert len(hunks) == 1
    head, *body = ("@@" + hunks[0]).splitlines()
    old_count, new_count = (int(part.split(",")[1]) for part in head.split()[1:3])
    assert old_count == sum(1 for line in body if line[:1] in " -")
    assert new_count == sum(1 for line in body if line[:1] in " +")


def test_patterns_come_from_every_platform_profile() -> None:
    sources = {p.pattern for p in volatile_patterns()}
    assert any("Last configuration change" in s for s in sources)  # IOS family
    assert any("Last commit" in s for s in sources)  # Junos
