"""A comune's subscribers as a CSV that Excel opens as it is, and that the importer reads back.

UTF-8 with BOM (without it Excel on Windows reads cp1252 and mangles accents), `;` (Excel's
delimiter where the decimal separator is a comma, as in Italy), Italian headers. Topics are
joined with `|` so a topic name may hold commas. Dates are local time (Europe/Rome).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from django.utils import timezone

from banditore.core.models import Organization
from banditore.core.spreadsheet import BOM, defused
from banditore.subscribers.models import Subscriber

HEADER = ["numero", "stato", "temi", "zona", "nome", "iscritto_dal", "cancellato_il"]
STATUSES = [s.value for s in Subscriber.Status] + ["all"]
TOPIC_JOIN = "|"
# Names come from citizens: defused cells get an apostrophe, which the importer removes.


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def rows(org: Organization, status: str = "active") -> Iterator[list[str]]:
    """One list of cells per subscriber, in sign-up order, streamed from the database."""
    subscribers = (
        Subscriber.objects.filter(organization=org)
        .select_related("zone")
        .prefetch_related("topics")
        .order_by("id")
    )
    if status != "all":
        subscribers = subscribers.filter(status=status)
    for s in subscribers.iterator(chunk_size=2000):
        yield [
            s.phone,
            s.status,
            TOPIC_JOIN.join(t.name for t in s.topics.all()),
            s.zone.name if s.zone_id else "",
            defused(s.name),
            _local(s.subscribed_at),
            _local(s.unsubscribed_at),
        ]


def write_csv(org: Organization, out: TextIO, status: str = "active") -> int:
    """Write the CSV (BOM first) to a text stream; returns how many subscribers."""
    if status not in STATUSES:
        raise ValueError(status)
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    count = 0
    for row in rows(org, status):
        writer.writerow(row)
        count += 1
    return count
