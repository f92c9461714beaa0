"""The deployment recipes in deploy/ (no container runtime here to run them) name only real
`banditore` subcommands with options those subcommands accept, and only settings the code
reads; the compose file wires migrate before web, receiver and workers."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands, load_command_class

pytestmark = pytest.mark.nodb

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SRC = Path(__file__).resolve().parent.parent / "src" / "banditore"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def systemd_commands() -> list[list[str]]:
    found = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if re.match(r"ExecStart(Pre)?=", line):
                argv = shlex.split(line.split("=", 1)[1])
                assert argv[0] == "/opt/banditore/bin/banditore", line
                found.append(["banditore", *argv[1:]])
    return found


def container_commands() -> list[list[str]]:
    text = (DEPLOY / "Containerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", text, re.M)
    commands = [json.loads(cmd)]
    for services in compose()["services"].values():
        if "command" in services:
            commands.append(services["command"])
    return commands


def all_commands() -> list[list[str]]:
    return systemd_commands() + container_commands()


def test_every_command_is_a_banditore_subcommand_with_valid_options():
    commands = all_commands()
    names = {argv[1] for argv in commands}
    assert {"serve", "receive", "worker", "migrate", "collectstatic"} <= names
    known = get_commands()
    for program, name, *args in commands:
        assert program == "banditore"
        assert name in known, name
        # Argparse exits (SystemExit) on an option the subcommand does not have.
        parser = load_command_class(known[name], name).create_parser("banditore", name)
        parser.parse_args(args)


@pytest.mark.parametrize("name", ["serve", "receive", "worker", "migrate", "collectstatic"])
def test_banditore_help_knows_the_subcommand(name):
    done = subprocess.run(
        [sys.executable, "-m", "banditore", "help", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"usage: banditore {name}" in done.stdout


def test_compose_runs_migrate_before_the_processes_that_use_the_database():
    services = compose()["services"]
    assert services["migrate"]["command"][:2] == ["banditore", "migrate"]
    for name in ("web", "receive", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        # One environment for all, from the same file, on the compose PostgreSQL.
        assert services[name]["env_file"] == "banditore.env"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert "@db:5432/" in services[name]["environment"]["DATABASE_URL"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert (DEPLOY / "banditore.env.example").exists()


def test_the_env_example_names_only_settings_the_code_reads():
    names = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "banditore.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert {"SECRET_KEY", "BANDITORE_SECRETS_KEY", "DATABASE_URL", "PUBLIC_URL"} <= set(names)
    code = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    for name in names:
        assert re.search(rf"environ(\.get)?[(\[]\"{name}\"", code), f"nothing reads {name}"


def test_the_deployment_guide_names_real_subcommands():
    guide = (DEPLOY.parent / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"`banditore ([a-z-]+)", guide))
    assert {"serve", "receive", "worker", "migrate"} <= named
    assert named <= set(get_commands()), named - set(get_commands())
