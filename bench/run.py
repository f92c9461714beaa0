"""Run every benchmark in bench/ and write bench/results.json.

Each bench_*.py prints one JSON object per figure on stdout:
{"name": ..., "value": ..., "unit": ..., "target": ..., "pass": ...}. Figures are ratios or
rates measured on this machine; compare them with their targets, not with other machines.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# One bench's limit: bench_scale's 1,000,000-message drain alone takes about 20 minutes.
TIMEOUT = 3600


def figures(script: Path) -> list[dict]:
    print(f"== {script.name}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    try:
        done = subprocess.run(
            [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired as expired:
        # What it printed before the limit still counts; the rest is marked failed below.
        out = expired.stdout or ""
        done = subprocess.CompletedProcess(
            expired.cmd, -1, out.decode() if isinstance(out, bytes) else out
        )
    found = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                figure = json.loads(line)
            except ValueError:
                continue
            if "name" in figure and "value" in figure:
                # The machine's load says how far to trust a figure; benches that don't
                # measure it themselves get the one-minute average around their run.
                figure.setdefault("load", round(max(load_before, os.getloadavg()[0]), 2))
                found.append(figure)
    if done.returncode != 0 or not found:
        found.append(
            {"name": script.stem, "value": None, "unit": "", "target": None, "pass": False,
             "error": f"exit code {done.returncode}, {len(found)} figures"}
        )  # fmt: skip
    return found


def main() -> int:
    """Every bench; or only those named (`python bench/run.py bench_comuni`), their figures
    replacing theirs in the results.json already there."""
    only = set(sys.argv[1:])
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if only and path.exists() else {}
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem not in only:
            continue
        for figure in figures(script):
            name = figure.pop("name")
            results[name] = figure
            mark = "ok " if figure.get("pass") else "FAIL"
            print(f"{mark} {name}: {figure.get('value')} {figure.get('unit')} "
                  f"(target {figure.get('target')})")  # fmt: skip
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0 if all(f.get("pass") for f in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
