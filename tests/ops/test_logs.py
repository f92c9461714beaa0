"""BANDITORE_LOG_FORMAT=json: one JSON object per record, carrying the call's ids."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from banditore.ops.logs import JSONFormatter


@pytest.fixture
def json_logger():
    """A logger writing through the JSON formatter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("banditore.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_a_record_is_one_json_line_with_its_ids(json_logger):
    logger, stream = json_logger
    logger.warning("broadcast %s: %d sent", 7, 3, extra={"broadcast_id": 7, "channel_id": 2})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "broadcast 7: 3 sent"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "banditore.test.json"
    assert entry["broadcast_id"] == 7
    assert entry["channel_id"] == 2
    assert "args" not in entry and "msg" not in entry


def test_an_exception_stays_on_the_same_line(json_logger):
    logger, stream = json_logger
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("failed", extra={"channel_id": 5})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert "ValueError: boom" in entry["exception"]
    assert entry["channel_id"] == 5


def test_the_environment_switch_turns_json_on(tmp_path):
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('banditore.x').warning('hello', extra={'broadcast_id': 42})"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "banditore.settings",
        "BANDITORE_LOG_FORMAT": "json",
        "BANDITORE_VAR_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    entry = json.loads(out.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello"
    assert entry["broadcast_id"] == 42
    plain = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "BANDITORE_LOG_FORMAT": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert plain.stderr.strip().endswith("banditore.x WARNING hello")
