"""Ray engine against the local engine: Alpaca x20 (1.04 M records) and x80 (4.2 M), and the
52k-row Alpaca equivalence.

Each build runs in its own process (`curate build --input FILE`, the default config), the Ray
one on a Ray instance started on this machine (127.0.0.1 only, object store capped). Reports
per build: wall time; peak RSS of the driver (the build process) and of the largest Ray worker
(sampled every 0.2 s; also without its shared pages, which are mostly object-store mappings);
object-store spill; records per second per core; per-stage seconds. Then the 52k Alpaca build
through both engines and the number of records whose status, reasons, cluster_id or split
differ (target 0).

Targets: on 1.04 M the Ray engine takes at most 2x the local engine's time; the largest
worker's peak RSS is the same at 1.04 M and 4.2 M within 20%; the driver's peak RSS at 4.2 M is
below the local engine's.

Usage: python benchmarks/ray_scale.py [--copies 20 80] [--skip-equivalence] [--object-store-mb 2000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("CHATCURATE_SHARED_DATA") or ROOT.parent / "shared" / "data") / "alpaca.jsonl"
CACHE = ROOT / "benchmarks" / ".cache"
CORES = os.cpu_count() or 1


def make_scaled(copies: int) -> Path:
    """Alpaca repeated ``copies`` times as build_scale.py makes it (each copy's prompts edited)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import build_scale

    build_scale.DATA = DATA
    return build_scale.make_scaled(copies)


# --- child: one build in this process ------------------------------------------------------


def child(engine: str, path: str, out: str, object_store_mb: int) -> None:
    from curate.cli import main

    args = ["build", "--input", path, "--out", out, "--engine", engine]
    report: dict[str, Any] = {}
    if engine == "ray":
        # The instance `curate build --engine ray` would start, with spilled objects written
        # where the parent can weigh them; the build joins it.
        import ray

        from curate.engines.ray import LAST_TRANSFER, loopback_only

        spilling = {"type": "filesystem", "params": {"directory_path": out + ".spill"}}
        with loopback_only():
            ray.init(
                num_cpus=CORES,
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                object_store_memory=object_store_mb * 1_000_000,
                log_to_driver=False,
                _system_config={"object_spilling_config": orjson.dumps(spilling).decode()},
            )
        try:
            assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
            code = main(args)
            report["transfer"] = dict(LAST_TRANSFER)
        finally:
            ray.shutdown()
    else:
        code = main(args)
    report["code"] = code
    report["driver_peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(out + ".json").write_bytes(orjson.dumps(report))


# --- parent ---------------------------------------------------------------------------------


class WorkerSampler(threading.Thread):
    """Peak RSS of each Ray worker process under ``pid``, sampled until stopped."""

    def __init__(self, pid: int, spill: Path) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.spill = spill
        self.peak_spilled = 0
        self.driver_private = 0  # the build process's RSS less its shared pages (object-store maps)
        self.peak_rss: dict[int, int] = {}
        self.peak_private: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            parent = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stopped.is_set():
            try:
                procs = parent.children(recursive=True)
                info = parent.memory_info()
                self.driver_private = max(self.driver_private, info.rss - getattr(info, "shared", 0))
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    if not proc.name().startswith("ray::"):
                        continue
                    info = proc.memory_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peak_rss[proc.pid] = max(self.peak_rss.get(proc.pid, 0), info.rss)
                private = info.rss - getattr(info, "shared", 0)
                self.peak_private[proc.pid] = max(self.peak_private.get(proc.pid, 0), private)
            if self.spill.exists():
                spilled = sum(f.stat().st_size for f in self.spill.rglob("*") if f.is_file())
                self.peak_spilled = max(self.peak_spilled, spilled)
            time.sleep(0.2)


def run_build(engine: str, path: Path, object_store_mb: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/build"
        command = [sys.executable, __file__, "--child", engine, str(path), out, str(object_store_mb)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        sampler = WorkerSampler(process.pid, Path(out + ".spill"))
        sampler.start()
        output, _ = process.communicate()
        wall = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
        if process.returncode != 0:
            print(output.decode(errors="replace")[-4000:])
            raise SystemExit(f"{engine} build failed")
        report = orjson.loads(Path(out + ".json").read_bytes())
        manifest = orjson.loads(Path(out, "manifest.json").read_bytes())
    records = sum(i["records"] for i in manifest["inputs"])
    return {
        "engine": engine,
        "records": records,
        "wall_s": wall,
        "driver_peak_rss": report["driver_peak_rss"],
        "driver_peak_private": sampler.driver_private,
        "worker_peak_rss": max(sampler.peak_rss.values(), default=0),
        "worker_peak_private": max(sampler.peak_private.values(), default=0),
        "workers_seen": len(sampler.peak_rss),
        "spilled_mib": sampler.peak_spilled / 2**20,
        "transfer": report.get("transfer", {}),
        "timings": manifest["timings"],
        "by_status": manifest["counts"]["by_status"],
    }


def show(row: dict[str, Any]) -> None:
    per_core = row["records"] / row["wall_s"] / CORES
    print(
        f"  {row['engine']:5}  {row['wall_s']:7.1f} s  driver peak {row['driver_peak_rss'] / 1e6:6,.0f} MB"
        f" ({row['driver_peak_private'] / 1e6:,.0f} MB without shared pages)"
        f"  largest worker {row['worker_peak_rss'] / 1e6:5,.0f} MB"
        f" ({row['worker_peak_private'] / 1e6:,.0f} MB without shared pages, {row['workers_seen']} workers)"
        f"  spilled (peak on disk) {row['spilled_mib']:,.0f} MiB  {per_core:,.0f} records/s/core"
    )
    stages = {k: round(v, 1) for k, v in row["timings"].items()}
    print(f"         stages (s): {stages}")
    if row["transfer"]:
        per_record = {k: round(v / row["records"], 1) for k, v in row["transfer"].items()}
        print(f"         bytes per record through the object store: {per_record}")


def equivalence() -> int:
    """The 52k Alpaca build through both engines: records that differ."""
    import polars as pl

    from curate.core.config import load_config
    from curate.core.context import BuildContext
    from curate.engines import local, ray

    config = load_config(None, {"build": {"inputs": [str(DATA)]}, "ray": {"object_store_mb": 1000}})
    frames = {}
    for name, engine in (("local", local), ("ray", ray)):
        started = time.perf_counter()
        frames[name] = engine.run_build(BuildContext(config=config)).frame
        print(f"  {name}: {time.perf_counter() - started:.1f} s")
    columns = ["source", "line", "id", "status", "reasons", "cluster_id", "split"]
    a = frames["local"].select(columns).with_row_index("_i")
    b = frames["ray"].select(columns).with_row_index("_i")
    if a.height != b.height:
        print(f"  row counts differ: {a.height} vs {b.height}")
        return max(a.height, b.height)
    differ = 0
    for column in columns:
        same = a.select(column).to_series().eq_missing(b.select(column).to_series())
        differ_here = a.height - int(same.sum()) if same.dtype == pl.Boolean else 0
        differ = max(differ, differ_here)
    rows_differ = a.join(b, on="_i", suffix="_ray").filter(
        pl.any_horizontal(~pl.col(c).eq_missing(pl.col(f"{c}_ray")) for c in columns)
    )
    print(f"  {a.height:,} records; records that differ: {rows_differ.height} (target 0)")
    return rows_differ.height


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, nargs="+", default=[20, 80])
    parser.add_argument("--object-store-mb", type=int, default=2000)
    parser.add_argument("--skip-equivalence", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skip: {DATA} is absent (the shared datasets are not on this machine)")
        return 0
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for copies in args.copies:
        path = make_scaled(copies)
        print(f"Alpaca x{copies}: {path.stat().st_size / 1e6:,.0f} MB, {CORES} cores")
        results[copies] = {}
        for engine in ("local", "ray"):
            results[copies][engine] = run_build(engine, path, args.object_store_mb)
            show(results[copies][engine])
        local, ray = results[copies]["local"], results[copies]["ray"]
        print(f"  ray / local time: {ray['wall_s'] / local['wall_s']:.2f}x (target <= 2x on 1.04 M)")
        print(f"  statuses equal: {ray['by_status'] == local['by_status']}")
    if len(results) > 1:
        small, large = min(results), max(results)
        a, b = results[small]["ray"], results[large]["ray"]
        print(
            f"largest worker x{large} / x{small}: {b['worker_peak_rss'] / a['worker_peak_rss']:.2f}"
            f" (without shared pages {b['worker_peak_private'] / max(1, a['worker_peak_private']):.2f};"
            " target 0.8..1.2)"
        )
        print(
            f"driver x{large}: ray {b['driver_peak_rss'] / 1e6:,.0f} MB vs local"
            f" {results[large]['local']['driver_peak_rss'] / 1e6:,.0f} MB (target: below); without shared"
            f" pages {b['driver_peak_private'] / 1e6:,.0f} vs"
            f" {results[large]['local']['driver_peak_private'] / 1e6:,.0f} MB"
        )
    if not args.skip_equivalence:
        print("Equivalence on alpaca.jsonl (52k):")
        equivalence()
    return 0


if __name__ == "__main__":
    sys.exit(main())
