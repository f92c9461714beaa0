"""Running `banditore subscribers …` in-process, and the sample lists in data/."""

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

DATA = Path(__file__).parent / "data"


@dataclass
class Outcome:
    out: str
    err: str
    # The CommandError's message, or "" if the command succeeded.
    error: str = ""


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted on their English source text, whatever the Italian says.
    with translation.override("en"):
        yield


@pytest.fixture
def run():
    def run(*args) -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("subscribers", *map(str, args), stdout=out, stderr=err)
        except CommandError as exc:
            return Outcome(out.getvalue(), err.getvalue(), str(exc))
        return Outcome(out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def data():
    return DATA
