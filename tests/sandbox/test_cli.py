"""`python -m banditore.sandbox` starts, prints its address, serves and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request


def test_it_runs_as_a_subprocess_and_stops_cleanly_on_sigterm(tmp_path) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text("latency_ms = 0\n[limits]\nmps = 7\n[webhooks]\nread_after_ms = 5\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "banditore.sandbox",
            "--port",
            "0",
            "--config",
            str(config),
            "--callback-url",
            "http://127.0.0.1:9/x",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert line.startswith("Sandbox WhatsApp in ascolto su http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1]
        with urllib.request.urlopen(base + "/_sandbox/config", timeout=5) as response:
            config_view = json.load(response)
        assert config_view["numbers"][0]["mps"] == 7
        assert config_view["callback_url"] == "http://127.0.0.1:9/x"
        assert config_view["settings"]["webhooks"]["read_after_ms"] == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_it_refuses_an_invalid_config_file(tmp_path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[limits]\nmpz = 7\n")
    result = subprocess.run(
        [sys.executable, "-m", "banditore.sandbox", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "mpz" in result.stderr
