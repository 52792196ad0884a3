"""Run every benchmark (`python -m bench`) or one (`python -m bench NAME`); options after the
names (`python -m bench load --duration 10`) go to each benchmark named.

A benchmark is a module bench/NAME.py runnable as `python -m bench.NAME`. Each runs in its own
process so one cannot skew another; the runner prints their output and a summary of the last lines.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(name: str, options: list[str] | None = None) -> dict | None:
    print(f"== bench {name}", flush=True)
    proc = subprocess.run([sys.executable, "-m", f"bench.{name}", *(options or [])], cwd=HERE.parent, text=True,
                          capture_output=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        print(f"!! {name} failed with exit code {proc.returncode}")
        return None
    lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def main(argv: list[str]) -> int:
    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:first_option] or available(), argv[first_option:]
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    results = {name: run(name, options) for name in names}
    failed = [name for name, figures in results.items() if figures is None]
    print(json.dumps(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
