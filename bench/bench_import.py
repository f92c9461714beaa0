"""How many CSV rows per second `banditore subscribers import` takes in, end to end.

Generates a list of N rows (default 100,000) the way comuni have them: `;`, UTF-8 with BOM,
numbers and dates in mixed formats, topics by name; runs the real command (check, then one
transaction through `service.subscribe`) against a fresh database: SQLite in a temporary
directory unless DATABASE_URL says otherwise (then a fresh comune is made in it and
deleted afterwards). Reports peak memory too.

Prints one JSON object on stdout, e.g.
    {"name": "import_rows_per_second", "value": 2600.0, "unit": "rows/s", "target": 2000,
     "pass": true}
Details go to stderr. Usage: python bench/bench_import.py [--rows N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

TARGET = 2000
TOPICS = ["Protezione civile", "Viabilità", "Eventi", "Farmacie di turno", "Servizi comunali"]


def number_formats(n: int) -> str:
    digits = f"33{n:08d}"  # 33x xxxxxxx: valid Italian mobiles
    style = n % 5
    if style == 0:
        return f"{digits[:3]}.{digits[3:]}"
    if style == 1:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 2:
        return f"+39 {digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 3:
        return f"0039{digits}"
    return f"39{digits}"


def date_formats(n: int) -> str:
    day, month, year = 1 + n % 28, 1 + n % 12, 2020 + n % 5
    style = n % 3
    if style == 0:
        return f"{year}-{month:02d}-{day:02d}"
    if style == 1:
        return f"{day:02d}/{month:02d}/{year}"
    return f"{day:02d}-{month:02d}-{year} 10:15"


def generate(path: Path, rows: int) -> None:
    rng = random.Random(4)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("numero;temi;data consenso;fonte\r\n")
        for n in range(rows):
            topics = "|".join(rng.sample(TOPICS, rng.randint(0, 3)))
            out.write(f"{number_formats(n)};{topics};{date_formats(n)};ISCRIVIMI\r\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.setdefault("BANDITORE_VAR_DIR", str(tmp))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banditore.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from banditore.core.models import Organization
    from banditore.subscribers.models import Subscriber, Topic

    call_command("migrate", verbosity=0)
    slug = f"bench-{os.getpid()}"
    org = Organization.objects.create(name="Comune di Prova", slug=slug)
    for position, name in enumerate(TOPICS):
        Topic.objects.create(organization=org, name=name, slug=f"t{position}", position=position)

    csv_path = tmp / "lista.csv"
    generate(csv_path, args.rows)
    size = csv_path.stat().st_size
    print(f"{args.rows} rows, {size / 1e6:.1f} MB, {connection.vendor}", file=sys.stderr)

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    call_command("subscribers", "import", str(csv_path), "--org", slug, stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    imported = Subscriber.objects.filter(organization=org).count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(out.getvalue().splitlines()[-1], file=sys.stderr)
    print(f"{imported} imported in {elapsed:.1f} s; peak RSS {peak_mb:.0f} MB", file=sys.stderr)
    if connection.vendor != "sqlite":
        org.delete()

    rate = args.rows / elapsed
    ok = imported == args.rows and rate >= TARGET
    result = {
        "name": "import_rows_per_second",
        "value": round(rate, 1),
        "unit": "rows/s",
        "target": TARGET,
        "pass": ok,
    }
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
