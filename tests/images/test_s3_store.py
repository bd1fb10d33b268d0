"""The image store on S3-compatible object storage: a bucket on the lab's S3 stand-in (moto).

Every test backs real stand-in providers up through the real engine (in-process, or in the
action plugin's isolated child processes) into ``HIB_IMAGE_STORE=s3://...`` and reads the
bucket back with boto3.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hib_orchestrator.cli import main
from hib_orchestrator.images import backup_host, open_store, sessions
from hib_orchestrator.images.isolated import backup_isolated
from hib_orchestrator.images.models import ImageBlob, ImageSnapshot
from hib_orchestrator.settings import load_settings

HOSTS = ("local-001", "smms-001")  # small sets; three images are shared between them


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "hib"))
    monkeypatch.delenv("HIB_DB_URL", raising=False)
    monkeypatch.delenv("HIB_RUN_ID", raising=False)
    return tmp_path / "hib"


def _backup(standins, host: str, name: str | None = None, **overrides):  # type: ignore[no-untyped-def]
    provider, settings = standins.provider(host)
    settings.update(overrides)
    return backup_host(name or host, provider, settings)


def _cli(capsys, argv: list[str]) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _blob_rows() -> set[str]:
    with sessions(load_settings())() as s:
        return set(s.scalars(ImageBlob.__table__.select().with_only_columns(ImageBlob.sha256)))


def test_backup_dedups_restores_and_verify_finds_damage(  # type: ignore[no-untyped-def]
    standins, s3_store, home, capsys, tmp_path
) -> None:
    first = {h: _backup(standins, h) for h in HOSTS}
    assert all(r.status == "ok" and r.new > 0 for r in first.values()), first
    blobs = s3_store.keys("blobs/")
    # One object per distinct content: the images both providers hold are stored once.
    assert set(blobs) == {s3_store.blob_key(sha) for sha in _blob_rows()}
    assert len(blobs) < sum(r.new for r in first.values())
    assert not (home / "images").exists()  # nothing of the store on local disk
    manifests = s3_store.keys("snapshots/")
    assert len(manifests) == 2 and all("-run" in k for k in manifests)

    standins.reset("s3")
    again = {h: _backup(standins, h) for h in HOSTS}
    assert all(r.status == "ok" and r.new == 0 and r.bytes == 0 for r in again.values())
    assert s3_store.blob_puts() == []  # the second run stored no blob
    assert len(s3_store.keys("snapshots/")) == 4  # each snapshot its own manifest

    code, doc = _cli(
        capsys, ["images", "restore", "local-001", "--to", str(tmp_path / "r"), "--json"]
    )
    assert code == 0 and doc["files"] == first["local-001"].new
    source = Path(standins.provider("local-001")[1]["path"])
    for path in source.rglob("*"):
        if path.is_file():
            restored = tmp_path / "r" / path.relative_to(source)
            assert restored.read_bytes() == path.read_bytes()

    code, doc = _cli(capsys, ["verify", "--json"])
    assert code == 0 and doc == {"checked": len(blobs), "corrupt": [], "missing": []}
    rotten, gone = sorted(_blob_rows())[:2]
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.blob_key(rotten), Body=b"rot")
    s3_store.client.delete_object(Bucket=s3_store.bucket, Key=s3_store.blob_key(gone))
    code, doc = _cli(capsys, ["verify", "--json"])
    assert code == 1 and doc["corrupt"] == [rotten] and doc["missing"] == [gone]


def test_prune_keeps_the_blobs_of_a_snapshot_written_during_it(  # type: ignore[no-untyped-def]
    standins, s3_store, home, capsys, tmp_path
) -> None:
    src = tmp_path / "src"
    (src / "old").mkdir(parents=True)
    (src / "old" / "x.png").write_bytes(b"x-bytes")
    (src / "old" / "y.png").write_bytes(b"y-bytes")
    assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    (src / "old" / "x.png").unlink()
    (src / "old" / "y.png").unlink()
    (src / "z.png").write_bytes(b"z-bytes")
    assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    x, y = (hashlib.sha256(b).hexdigest() for b in (b"x-bytes", b"y-bytes"))
    # After `prune --keep-last 1` nothing references x or y: both are sweep candidates.

    # A slow backup is running when prune marks: prune must wait for it before sweeping.
    standins.fault("s3", "429", match="/hib-images/2023/", times=2, retry_after=2)
    slow = threading.Thread(
        target=_backup, args=(standins, "s3-001"), kwargs={"download": "presigned"}
    )
    slow.start()
    _until(lambda: _running() > 0)
    pruned: dict[str, object] = {}
    prune = threading.Thread(
        target=lambda: pruned.update(_cli(capsys, ["prune", "--keep-last", "1", "--json"])[1])
    )
    prune.start()
    _until(lambda: x not in _blob_rows())  # marked: x's row is gone, its object not yet
    # Meanwhile another runner stores x's bytes again under a new provider.
    other = tmp_path / "other"
    other.mkdir()
    (other / "again.png").write_bytes(b"x-bytes")
    assert _backup(standins, "local-001", "p2", path=str(other)).status == "ok"
    slow.join()
    prune.join()

    keys = s3_store.keys("blobs/")
    assert s3_store.blob_key(x) in keys  # named by p2's snapshot: kept
    assert s3_store.blob_key(y) not in keys  # named by nothing: swept
    assert pruned["blobs_removed"] == 1 and pruned["snapshots_removed"] == 1
    assert s3_store.keys("trash/") == {}
    code, doc = _cli(capsys, ["verify", "--json"])
    assert code == 0 and doc["missing"] == [] and doc["corrupt"] == []


def _running() -> int:
    with sessions(load_settings())() as s:
        return len(
            list(
                s.scalars(
                    ImageSnapshot.__table__.select()
                    .with_only_columns(ImageSnapshot.id)
                    .where(ImageSnapshot.status == "running")
                )
            )
        )


def _until(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.02)


def _two_runners(standins, tmp_path: Path, db: str, names: list[str]) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Back HOSTS up as ``names`` at once, each from its own process and HIB_HOME."""
    code = (
        "import json, sys; from hib_orchestrator.images.isolated import backup_isolated; "
        "r = backup_isolated(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), workers=4); "
        "print(r.status, r.error_code)"
    )
    procs = []
    for i, (host, name) in enumerate(zip(HOSTS, names, strict=True)):
        env = {**os.environ, "HIB_HOME": str(tmp_path / f"runner{i}"), "HIB_DB_URL": db}
        env.pop("HIB_RUN_ID", None)
        provider, settings = standins.provider(host)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code, name, provider, json.dumps(settings)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    return [p.communicate(timeout=120)[0].split() for p in procs]


def _hib(tmp_path: Path, db: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HIB_HOME": str(tmp_path / "runner0"), "HIB_DB_URL": db}
    return subprocess.run(
        [str(Path(sys.executable).parent / "hib"), *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_two_runners_with_their_own_homes_back_up_into_one_bucket_at_once(  # type: ignore[no-untyped-def]
    standins, s3_store, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"  # one database, as one PostgreSQL for a team
    assert _two_runners(standins, tmp_path, db, list(HOSTS)) == [["ok", "None"]] * 2
    check = _hib(tmp_path, db, "verify", "--json")
    assert check.returncode == 0, check.stderr
    doc = json.loads(check.stdout)
    assert doc["corrupt"] == doc["missing"] == [] and doc["checked"] == len(s3_store.keys("blobs/"))
    assert len(s3_store.keys("snapshots/")) == 2


@pytest.mark.postgres
def test_two_runners_share_one_postgresql_and_one_bucket(standins, s3_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = os.environ.get("HIB_TEST_PG_URL")
    if not db:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    import uuid

    names = [f"{h}-{uuid.uuid4().hex[:6]}" for h in HOSTS]  # the database is shared by tests
    assert _two_runners(standins, tmp_path, db, names) == [["ok", "None"]] * 2
    named = set()
    for name in names:
        ls = _hib(tmp_path, db, "images", "ls", name, "--json")
        assert ls.returncode == 0, ls.stderr
        named |= {row["sha256"] for row in json.loads(ls.stdout)}
    assert set(s3_store.keys("blobs/")) == {s3_store.blob_key(sha) for sha in named}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HIB_IMAGE_STORE": "ftp://files.example/images"}, "unsupported scheme 'ftp://'"),
        ({"HIB_IMAGE_STORE": "s3://"}, "no bucket"),
        ({"HIB_IMAGE_STORE": "s3://no-such-bucket/x"}, "the bucket does not exist"),
        ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, "no credentials"),
        ({"AWS_ACCESS_KEY_ID": "AKIAWRONG"}, "credentials rejected"),
        ({"HIB_IMAGE_STORE_ENDPOINT": "http://127.0.0.1:9"}, "cannot reach http://127.0.0.1:9"),
        ({"HIB_IMAGE_STORE_ENDPOINT": "ftp://127.0.0.1"}, "must be an http(s) URL"),
    ],
)
def test_bad_store_settings_are_one_line_exit_2_and_store_error_for_the_task(  # type: ignore[no-untyped-def]
    standins, s3_store, home, monkeypatch, capsys, env, message
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for argv in (
        ["verify"],
        ["prune", "--keep-last", "1"],
        ["images", "restore", "x", "--to", "d"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    provider, settings = standins.provider("local-001")
    result = backup_isolated("local-001", provider, settings)  # what the action plugin calls
    assert (result.status, result.error_code) == ("failed", "STORE_ERROR")
    assert message in (result.error_message or "")
    assert s3_store.keys("") == {}  # nothing written anywhere


def test_open_store_checks_the_bucket_once_at_start(s3_store, home) -> None:  # type: ignore[no-untyped-def]
    store = open_store(load_settings())
    assert store.label == s3_store.url + "/"
    assert store.root == home / "images-s3"  # this runner's own scratch, not shared


def test_playbook_backs_up_into_the_bucket_and_a_missing_bucket_is_store_error(  # type: ignore[no-untyped-def]
    standins, s3_store, tmp_path
) -> None:
    import yaml

    repo = Path(__file__).resolve().parents[2]
    inventory = tmp_path / "inventory.yml"
    hosts = {h: standins.hosts[h] for h in HOSTS}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"image_hosts": {"hosts": hosts}}}}))
    home = tmp_path / "hib"
    bin_dir = Path(sys.executable).parent

    def play(results: Path, **env: str) -> subprocess.CompletedProcess[str]:
        results.mkdir()
        full = {**os.environ, "HIB_HOME": str(home), "ANSIBLE_NOCOLOR": "1", **env}
        full.pop("HIB_RUN_ID", None)
        full["PATH"] = f"{bin_dir}{os.pathsep}{full.get('PATH', '')}"
        return subprocess.run(
            [
                f"{bin_dir}/ansible-playbook",
                "-i",
                str(inventory),
                "-e",
                f"results_dir={results}",
                str(Path(__file__).parent / "data" / "provider_images.yml"),
            ],
            cwd=repo,
            env=full,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def results(directory: Path) -> dict[str, dict]:  # type: ignore[type-arg]
        return {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}

    good = play(tmp_path / "r1")
    assert good.returncode == 0, good.stdout[-3000:]
    assert all(r["changed"] and r["objects"]["new"] > 0 for r in results(tmp_path / "r1").values())
    assert len(s3_store.keys("snapshots/")) == 2

    bad = play(tmp_path / "r2", HIB_IMAGE_STORE="s3://no-such-bucket/images")
    assert bad.returncode == 2
    assert set(results(tmp_path / "r2")) == set(HOSTS)
    for host, r in results(tmp_path / "r2").items():
        assert r["failed"] and r["error_code"] == "STORE_ERROR", (host, r)
        assert "the bucket does not exist" in r["msg"]

    secrets = [s3_store.secret_key, *(s for s in standins.secrets if s)]
    text = good.stdout + good.stderr + bad.stdout + bad.stderr
    text += "".join(p.read_bytes().decode("latin-1") for p in home.rglob("*") if p.is_file())
    assert not [s for s in secrets if s in text]


def test_a_manifest_of_another_database_keeps_its_blobs(  # type: ignore[no-untyped-def]
    standins, s3_store, home, monkeypatch, capsys, tmp_path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "y.png").write_bytes(b"y-bytes")
    other = {"HIB_DB_URL": f"sqlite:///{tmp_path / 'other.db'}"}  # a runner with its own DB
    with monkeypatch.context() as m:
        for name, value in other.items():
            m.setenv(name, value)
        assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    second = int(time.time())
    _until(lambda: int(time.time()) > second)  # snapshot 1 of each database, started apart
    assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    (src / "y.png").unlink()
    assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    assert len(s3_store.keys("snapshots/p1/")) == 3

    code, doc = _cli(capsys, ["prune", "--keep-last", "1", "--json"])
    assert code == 0 and doc == {"snapshots_removed": 1, "blobs_removed": 0, "bytes_freed": 0}
    y = hashlib.sha256(b"y-bytes").hexdigest()
    assert s3_store.blob_key(y) in s3_store.keys("blobs/")  # the other database's snapshot
    left = sorted(s3_store.keys("snapshots/p1/"))
    assert len(left) == 2 and left[0].rsplit("/", 1)[-1].startswith("0000000001-")


def test_uploads_no_database_row_names_are_swept_only_after_the_grace(s3_store, home) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.images import catalog

    # What a killed run leaves: blobs put into the bucket, never recorded.
    orphans = [hashlib.sha256(b).hexdigest() for b in (b"o1", b"o2")]
    for sha, data in zip(orphans, (b"o1", b"o2"), strict=True):
        s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.blob_key(sha), Body=data)
    settings = load_settings()
    store = open_store(settings)
    doc = catalog.prune(sessions(settings), store, keep_last=1)
    assert doc["blobs_removed"] == 0  # younger than an hour: maybe a run still recording them
    store.orphan_grace_s = 0
    doc = catalog.prune(sessions(settings), store, keep_last=1)
    assert doc == {"snapshots_removed": 0, "blobs_removed": 2, "bytes_freed": 4}
    assert s3_store.keys("blobs/") == {}


def test_a_sweep_left_half_done_is_settled_by_the_next_prune(  # type: ignore[no-untyped-def]
    standins, s3_store, home, capsys, tmp_path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(b"a-bytes")
    assert _backup(standins, "local-001", "p1", path=str(src)).status == "ok"
    a, junk = (hashlib.sha256(b).hexdigest() for b in (b"a-bytes", b"junk"))
    # A prune that died after moving blobs to trash/: a (named by p1's snapshot) and junk.
    c, bucket = s3_store.client, s3_store.bucket
    trash = f"{s3_store.prefix}/trash/"
    c.copy_object(
        Bucket=bucket, Key=trash + a, CopySource={"Bucket": bucket, "Key": s3_store.blob_key(a)}
    )
    c.delete_object(Bucket=bucket, Key=s3_store.blob_key(a))
    c.put_object(Bucket=bucket, Key=trash + junk, Body=b"junk")
    assert _cli(capsys, ["verify", "--json"])[1]["missing"] == [a]

    code, _ = _cli(capsys, ["prune", "--keep-last", "1", "--json"])
    assert code == 0 and s3_store.keys("trash/") == {}
    assert _cli(capsys, ["verify", "--json"]) == (0, {"checked": 1, "corrupt": [], "missing": []})


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_one_backup_of_a_provider_at_a_time_across_runners(
    standins, s3_store, tmp_path, db
) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from hib_orchestrator.db.engine import get_engine
    from hib_orchestrator.images.sharedlock import provider_lock

    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if db == "sqlite"
        else os.environ.get("HIB_TEST_PG_URL")
    )
    if not url:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    name = f"p-{uuid.uuid4().hex[:6]}"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(b"a")
    code = (
        "import sys; from hib_orchestrator.images.isolated import backup_isolated; "
        "r = backup_isolated(sys.argv[1], 'local', {'path': sys.argv[2]}); "
        "print(r.status, r.error_code)"
    )

    def runner(home: str) -> list[str]:
        env = {**os.environ, "HIB_HOME": str(tmp_path / home), "HIB_DB_URL": url}
        env["HIB_IMAGE_STORE_LOCK_TIMEOUT"] = "0.2"
        env.pop("HIB_RUN_ID", None)
        out = subprocess.run(
            [sys.executable, "-c", code, name, str(src)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return out.stdout.split()

    # Another runner (its own HIB_HOME, the same database) is backing this provider up.
    with provider_lock(get_engine(url), f"provider-{name}", 0, "busy"):
        assert runner("runner1") == ["failed", "STORE_LOCKED"]
    assert runner("runner1") == ["ok", "None"]
