"""The documented defaults and the example config file stay true."""

from __future__ import annotations

from importlib.resources import files

from banditore.sandbox import defaults
from banditore.sandbox.config import SandboxConfig, load_toml


def test_it_keeps_the_example_toml_equal_to_the_defaults() -> None:
    example = files("banditore.sandbox").joinpath("sandbox.example.toml")
    assert load_toml(str(example)) == SandboxConfig()


def test_it_has_the_fixed_defaults_the_demo_relies_on() -> None:
    config = SandboxConfig()
    (number,) = config.numbers
    assert (number.phone_number_id, number.waba_id) == ("106540352242922", "102290129340398")
    assert (number.display_phone_number, number.verified_name) == (
        "390510000001",
        "Comune di Esempio",
    )
    assert (config.access_token, config.app_secret, config.verify_token) == (
        "sandbox-token",
        "sandbox-app-secret",
        "sandbox-verify-token",
    )
    (template,) = config.templates
    assert (template.name, template.language, template.category, template.status) == (
        "banditore_notizia",
        "it",
        "UTILITY",
        "APPROVED",
    )
    assert template.body == defaults.TEMPLATE_BODY
    assert (config.port, config.limits.mps, config.latency_ms) == (8650, 80, 0)
