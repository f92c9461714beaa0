"""Command line: `python -m banditore.sandbox [--port N] [--callback-url URL] ...`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web

from banditore.sandbox import defaults
from banditore.sandbox.app import build_app
from banditore.sandbox.config import SandboxConfig, load_toml
from banditore.sandbox.mail import MAIL_KEY


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="banditore sandbox",
        description="Local emulator of the WhatsApp Business Cloud API and its webhooks.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML file with every knob")
    parser.add_argument("--host", help=f"address to listen on (default {defaults.HOST})")
    parser.add_argument("--port", type=int, help=f"port (default {defaults.PORT}; 0 = any free)")
    parser.add_argument(
        "--callback-url", help="where webhooks go (default: none, or the config file's)"
    )
    parser.add_argument("--latency-ms", type=float, help="added latency per Graph request")
    parser.add_argument(
        "--latency-spread-ms", type=float, help="half-width or standard deviation around it"
    )
    parser.add_argument(
        "--latency-distribution",
        choices=["fixed", "uniform", "normal", "lognormal"],
        help="how latency varies (default fixed)",
    )
    parser.add_argument("--mps", type=float, help=f"throughput per number (default {defaults.MPS})")
    parser.add_argument(
        "--smtp-port", type=int, help="start the SMTP sink on this port (0 = any free)"
    )
    parser.add_argument(
        "--mail-callback-url", help="where the sink posts bounce/complaint webhooks (Postmark's)"
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    config = load_toml(args.config) if args.config else SandboxConfig()
    updates: dict[str, object] = {}
    if args.host is not None:
        updates["host"] = args.host
    if args.port is not None:
        updates["port"] = args.port
    if args.callback_url is not None:
        updates["callback_url"] = args.callback_url
    if args.latency_ms is not None:
        updates["latency_ms"] = args.latency_ms
    if args.latency_spread_ms is not None:
        updates["latency_spread_ms"] = args.latency_spread_ms
    if args.latency_distribution is not None:
        updates["latency_distribution"] = args.latency_distribution
    data = config.model_dump()
    data.update(updates)
    if args.mps is not None:
        data["limits"]["mps"] = args.mps
    if args.smtp_port is not None or args.mail_callback_url is not None:
        data["mail"] = data["mail"] or {"host": data["host"]}
        if args.smtp_port is not None:
            data["mail"]["port"] = args.smtp_port
        if args.mail_callback_url is not None:
            data["mail"]["callback_url"] = args.mail_callback_url
    return SandboxConfig.model_validate(data)


async def serve(config: SandboxConfig) -> None:
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    await site.start()
    # Report the real port (useful with --port 0).
    server = site._server  # noqa: SLF001 - aiohttp exposes no public accessor for the socket
    port = server.sockets[0].getsockname()[1] if server and server.sockets else config.port
    print(f"Sandbox WhatsApp in ascolto su http://{config.host}:{port}", flush=True)
    print(f"Sandbox Telegram: http://{config.host}:{port}/bot<token>/", flush=True)
    if MAIL_KEY in app:
        smtp = app[MAIL_KEY].smtp_port
        print(f"Sandbox e-mail (SMTP) in ascolto su {config.mail.host}:{smtp}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _run(coro) -> None:
    """uvloop where installed: the sandbox must never be what a benchmark measures."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as exc:
        print(f"Configurazione non valida: {exc}", file=sys.stderr)
        return 2
    try:
        _run(serve(config))
    except OSError as exc:
        print(f"Impossibile avviare la sandbox: {exc}", file=sys.stderr)
        return 1
    return 0
