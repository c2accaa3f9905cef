"""Run the benchmarks: ``python -m bench [--quick] [--only NAME]``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench import api, backup, enforce, filing, large, retention, search
from bench.common import BenchResult, print_result
from bench.env import Env, bench_env

BENCHMARKS: dict[str, Callable[[Env, bool], BenchResult]] = {
    "filing": filing.run, "large": large.run, "enforce": enforce.run, "api": api.run, "backup": backup.run,
    "search": search.run, "retention": retention.run,
}
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so the server is stopped and temp data deleted."""
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run just this benchmark")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    selected = [args.only] if args.only else list(BENCHMARKS)
    load_before = os.getloadavg()
    results = []
    try:
        with bench_env() as env:
            for name in selected:
                result = BENCHMARKS[name](env, args.quick)
                print_result(result)
                results.append(result)
    except KeyboardInterrupt:
        print("\ninterrupted; storage stopped and temporary data removed", file=sys.stderr)
        return 130
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "benchmarks": [result.as_json() for result in results],
    }, indent=2) + "\n")
    print(f"\nresults written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
