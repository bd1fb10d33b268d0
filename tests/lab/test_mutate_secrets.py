"""``mutate`` changes significant lines of exactly K devices; ``secrets`` lists what is planted."""

from __future__ import annotations

import difflib
import json

from tests.lab.conftest import Lab, fetch_all, hib, significant


def test_mutate_changes_only_significant_lines_of_k_devices(lab: Lab) -> None:
    hosts = lab.hosts()
    before = fetch_all(hosts)
    proc = hib(lab.home, "lab", "mutate", "--devices", "3", "--json")
    changed = json.loads(proc.stdout)["hosts"]
    assert len(changed) == 3 and set(changed) <= set(hosts)
    after = fetch_all(hosts)
    differing = {h for h in hosts if significant(before[h]) != significant(after[h])}
    assert differing == set(changed)
    for host in changed:
        # A mutation adds or edits content; the rest of the config stays.
        diff = list(difflib.ndiff(significant(before[host]), significant(after[host])))
        added = [ln for ln in diff if ln.startswith("+ ")]
        removed = [ln for ln in diff if ln.startswith("- ")]
        assert 1 <= len(added) <= 4 and len(removed) <= 1, (host, added, removed)


def test_mutate_plain_output_is_one_name_per_line(lab: Lab) -> None:
    proc = hib(lab.home, "lab", "mutate", "--devices", "2")
    names = proc.stdout.split()
    assert len(names) == 2 and set(names) <= set(lab.hosts())


def test_mutate_more_devices_than_lab_is_exit_2(lab: Lab) -> None:
    proc = hib(lab.home, "lab", "mutate", "--devices", "99", check=False)
    assert proc.returncode == 2 and "--devices" in proc.stderr


def test_secrets_lists_every_planted_secret(lab: Lab) -> None:
    hosts = lab.hosts()
    secrets = hib(lab.home, "lab", "secrets").stdout.splitlines()
    assert len(secrets) == len(set(secrets)), "every secret is unique"
    assert all(len(s) >= 10 for s in secrets)
    credentials = {v[k] for v in hosts.values()
                   for k in ("ansible_password", "hib_enable_secret") if k in v}
    assert credentials <= set(secrets)
    configs = fetch_all(hosts)
    planted = set(secrets) - credentials
    found = {s for s in planted for text in configs.values() if s in text}
    assert found == planted, "every listed secret is in some device config"
    for host, text in configs.items():
        if not host.startswith("linux"):
            assert sum(s in text for s in planted) >= 5, host
