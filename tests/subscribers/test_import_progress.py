"""Progress on stderr: in place on a terminal, a line per 10% in logs, nothing for small files."""

import io

from django.core.management.base import OutputWrapper

from banditore.subscribers.management.commands.subscribers import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def drive(bar):
    bar("read", 0, 1000)
    for done in range(0, 1001, 50):
        bar("read", done, 1000)
    for done in range(0, 201, 20):
        bar("write", done, 200)
    bar.finish()


def test_it_prints_a_line_per_ten_percent_in_logs():
    out = io.StringIO()
    drive(ProgressBar(OutputWrapper(out), min_bytes=1000))
    lines = out.getvalue().splitlines()
    assert lines[0] == "Reading 0%"
    assert lines[10] == "Reading 100%"
    assert lines[11] == "Importing 0%"
    assert len(lines) == 22


def test_it_redraws_one_line_on_a_terminal():
    out = Terminal()
    drive(ProgressBar(OutputWrapper(out), min_bytes=1000))
    text = out.getvalue()
    assert text.count("\n") == 2  # one finished line per phase
    assert "\rReading    [##############################] 100%" in text
    assert "\rImporting  [###############---------------]  50%" in text


def test_it_stays_quiet_for_small_files():
    out = io.StringIO()
    drive(ProgressBar(OutputWrapper(out), min_bytes=10_000))
    assert out.getvalue() == ""
