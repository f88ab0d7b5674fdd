"""Export throughput and memory: seed K=4 rankings into a benchmark database, export the
preference pairs to JSONL and Parquet in a fresh process, and report rows/s and the exporter's
peak resident memory at each size (100k and 1M rankings by default).

    .venv/bin/python benchmarks/export.py [--sizes 100000,1000000] [--database-url URL]

The benchmark database is created afresh and dropped at the end (unless --keep). Rows are preference pairs
(about 5.8 per ranking: 6 per ranking of 4, fewer where seeded ties are skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bench-export"


class _RusagePopen(subprocess.Popen):
    """Popen that records the child's peak resident memory (ru_maxrss) when it is reaped."""

    peak_rss_mb = 0.0

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self.peak_rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
        return pid, status


def manage(env: dict, *args: str) -> tuple[str, float]:
    """Run manage.py in a fresh process; return its stdout and its own peak RSS in MB."""
    proc = _RusagePopen(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{err[-3000:]}")
    return out, proc.peak_rss_mb


def recreate_database(url: str, *, create: bool = True) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="Ranking counts, ascending (seeding is incremental).")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rlhf_bench_export")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (it is dropped by default).")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {**os.environ, "DATABASE_URL": args.database_url, "HF_HUB_OFFLINE": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

    t0 = time.perf_counter()
    recreate_database(args.database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    print(f"database ready in {time.perf_counter() - t0:.1f} s", flush=True)

    results, seeded = {}, 0
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for size in sizes:
            t = time.perf_counter()
            manage(env, "seed_rankings", "--project", PROJECT, "--n", str(size - seeded), "--seed", str(seeded))
            seeded = size
            print(f"seeded {size} rankings (+{time.perf_counter() - t:.1f} s)", flush=True)
            for fmt in ("jsonl", "parquet"):
                out = Path(tmp) / f"pairs-{size}.{fmt}"
                stdout, peak = manage(
                    env, "export_dataset", "--project", PROJECT, "--kind", "preference", "--format", fmt,
                    "--out", str(out), "--no-progress", "--json", "--salt", "bench",
                )  # fmt: skip
                summary = json.loads(stdout.strip().splitlines()[-1])
                rate = summary["rows"] / summary["seconds"]
                results[(size, fmt)] = (rate, peak, summary)
                print(
                    f"  {fmt:8s} {summary['rows']:>10,} rows in {summary['seconds']:6.1f} s = {rate:>10,.0f} rows/s, "
                    f"{summary['size_bytes'] / 1e6:8.1f} MB file, peak RSS {peak:6.1f} MB",
                    flush=True,
                )
                out.unlink()

    if not args.keep:
        recreate_database(args.database_url, create=False)
    print()
    print(f"{'rankings':>10} {'pairs':>10} {'jsonl rows/s':>14} {'parquet rows/s':>15} {'peak MB jsonl':>14} {'peak MB parquet':>16}")
    for size in sizes:
        j, p = results[(size, "jsonl")], results[(size, "parquet")]
        print(f"{size:>10,} {j[2]['rows']:>10,} {j[0]:>14,.0f} {p[0]:>15,.0f} {j[1]:>14.1f} {p[1]:>16.1f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    small, large = sizes[0], sizes[-1]
    print(
        f"jsonl_rows_per_s={results[(large, 'jsonl')][0]:.0f} parquet_rows_per_s={results[(large, 'parquet')][0]:.0f} "
        f"peak_mb_100k={max(results[(small, f)][1] for f in ('jsonl', 'parquet')):.1f} "
        f"peak_mb_1m={max(results[(large, f)][1] for f in ('jsonl', 'parquet')):.1f}"
    )


if __name__ == "__main__":
    main()
