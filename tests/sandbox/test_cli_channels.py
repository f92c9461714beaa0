"""`banditore sandbox` serves Telegram always and the SMTP sink when given a port."""

import json
import smtplib
import subprocess
import sys
import urllib.request

from tests.processes import ROOT, free_port, stop, wait_for


def test_the_cli_serves_telegram_and_the_smtp_sink():
    port, smtp_port = free_port(), free_port()
    argv = [sys.executable, "-m", "banditore", "sandbox", "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--smtp-port", str(smtp_port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"SMTP) in ascolto su 127.0.0.1:{smtp_port}" in lines[2], lines
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/bot123456789:sandbox-telegram-token/getMe") as r:
            assert json.load(r)["result"]["is_bot"] is True
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.sendmail("comune@example.it", ["mario@example.it"], "Subject: Prova\r\n\r\nCiao")

        def received():
            url = f"{base}/_sandbox/mail/messages?to=mario@example.it"
            with urllib.request.urlopen(url) as r:
                return json.load(r)

        assert wait_for(received, 10, "the message in the sink")[0]["subject"] == "Prova"
    finally:
        stop(proc)
