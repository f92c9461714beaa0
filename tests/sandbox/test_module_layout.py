"""The sandbox's modules import in one direction: handlers → instance, app → both."""

import subprocess
import sys

HANDLERS = [
    "control",
    "graph_http",
    "media_api",
    "messages_api",
    "objects_api",
    "page",
    "templates_api",
    "app",
]


def test_the_sandbox_instance_imports_no_handler():
    probe = (
        "import sys, banditore.sandbox.instance; "
        f"print(sorted(m for m in {HANDLERS!r} if 'banditore.sandbox.' + m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_no_handler_imports_the_app_back():
    from importlib.resources import files

    for name in HANDLERS[:-1]:
        source = (files("banditore.sandbox") / f"{name}.py").read_text(encoding="utf-8")
        assert "banditore.sandbox.app" not in source, name
