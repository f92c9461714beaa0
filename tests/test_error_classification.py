"""Every code in the reference's bulk-sender table lands in the action the product needs."""

import json
import re
from pathlib import Path

import pytest

from banditore.channels.whatsapp.errors import (
    HTTP_ERROR,
    VERDICTS,
    Action,
    classify,
    classify_http,
    parse_graph_error,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared/reference/whatsapp-cloud-api.md"
COPY = Path(__file__).resolve().parent / "data/whatsapp_error_codes.txt"


def reference_codes() -> set[int]:
    """The codes of §3.4 of the Cloud API reference: the copy kept in the repo, plus the
    document itself where it lies beside the clone (so a newer reference is checked too)."""
    lines = COPY.read_text().splitlines()
    codes = {int(line) for line in lines if line.strip() and not line.startswith("#")}
    if not REFERENCE.exists():
        return codes
    text = REFERENCE.read_text()
    table = text.split("### 3.4")[1].split("Notes:")[0]
    codes = set()
    for line in table.splitlines():
        match = re.match(r"\| ([0-9, –-]+) \|", line)
        if match:
            codes.update(int(c) for c in re.findall(r"\d+", match.group(1)) if len(c) < 7)
    return codes


def test_it_classifies_every_code_in_the_reference_table():
    missing = {c for c in reference_codes() if c not in VERDICTS and not 200 <= c <= 299}
    assert not missing, f"codes without an explicit verdict: {sorted(missing)}"


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (130429, Action.RETRY),
        (131056, Action.RETRY),
        (131000, Action.RETRY),
        (131026, Action.RECIPIENT_PERMANENT),
        (131050, Action.OPTED_OUT),
        (131047, Action.WAIT_FOR_WINDOW),
        (190, Action.STOP_CHANNEL),
        (0, Action.STOP_CHANNEL),
        (250, Action.STOP_CHANNEL),
        (132001, Action.STOP_CHANNEL),
        (131048, Action.STOP_CHANNEL),
        (999999, Action.RETRY),
    ],
)
def test_it_maps_codes_to_actions(code, action):
    assert classify(code).action == action


def test_throughput_errors_slow_the_whole_channel():
    assert classify(130429).throttle_channel
    assert not classify(131056).throttle_channel  # pair limit: only that recipient waits


def test_it_parses_metas_error_envelope():
    body = {
        "error": {
            "message": "(#130429) Rate limit hit",
            "type": "OAuthException",
            "code": 130429,
            "error_data": {"messaging_product": "whatsapp", "details": "throughput reached"},
            "error_subcode": 2494055,
            "fbtrace_id": "Az8or2yhqkZfEZ",
        }
    }
    error = parse_graph_error(400, json.dumps(body).encode())
    assert (error.code, error.subcode, error.details) == (130429, 2494055, "throughput reached")
    assert error.verdict.action == Action.RETRY


def test_it_accepts_error_data_as_a_string():
    body = b'{"error": {"message": "x", "code": 100, "error_data": "plain words"}}'
    assert parse_graph_error(400, body).details == "plain words"


@pytest.mark.parametrize("body", [b"", b"<html>Bad gateway</html>", b'{"error": "nope"}'])
def test_it_falls_back_to_the_http_status_without_a_graph_body(body):
    error = parse_graph_error(502, body)
    assert error.code == HTTP_ERROR
    assert error.verdict.action == Action.RETRY
    assert classify_http(401).action == Action.STOP_CHANNEL
    assert classify_http(429).throttle_channel
