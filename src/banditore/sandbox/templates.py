"""The message-template registry: which templates each WABA has, in which languages and
statuses, and how a template is rendered with the parameters of a send."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from banditore.sandbox.config import TemplateConfig
from banditore.sandbox.ids import new_numeric_id

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def placeholders(text: str | None) -> list[str]:
    """Distinct variable names in order of first appearance: "{{1}} {{2}} {{1}}" → ["1", "2"]."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def substitute(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@dataclass(slots=True)
class Template:
    config: TemplateConfig
    body_variables: list[str] = field(default_factory=list)
    header_variables: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: TemplateConfig) -> Template:
        if config.id is None:
            config = config.model_copy(update={"id": new_numeric_id(1)})
        header_text = config.header_text if config.header_format == "TEXT" else None
        return cls(config, placeholders(config.body), placeholders(header_text))

    @property
    def id(self) -> str:
        assert self.config.id is not None
        return self.config.id

    def components(self) -> list[dict[str, Any]]:
        """The template as Meta's management API lists it (reference §6.1)."""
        c = self.config
        out: list[dict[str, Any]] = []
        if c.header_format == "TEXT":
            header: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": c.header_text}
            if self.header_variables:
                header["example"] = {"header_text": [f"example_{v}" for v in self.header_variables]}
            out.append(header)
        elif c.header_format:
            out.append({"type": "HEADER", "format": c.header_format})
        body: dict[str, Any] = {"type": "BODY", "text": c.body}
        if self.body_variables:
            if c.parameter_format == "named":
                body["example"] = {
                    "body_text_named_params": [
                        {"param_name": v, "example": f"example_{v}"} for v in self.body_variables
                    ]
                }
            else:
                body["example"] = {"body_text": [[f"example_{v}" for v in self.body_variables]]}
        out.append(body)
        if c.footer:
            out.append({"type": "FOOTER", "text": c.footer})
        if c.buttons:
            out.append({"type": "BUTTONS", "buttons": c.buttons})
        return out

    def as_graph_object(self) -> dict[str, Any]:
        c = self.config
        return {
            "name": c.name,
            "parameter_format": c.parameter_format.upper(),
            "components": self.components(),
            "language": c.language,
            "status": c.status,
            "category": c.category,
            "id": self.id,
        }


class TemplateRegistry:
    def __init__(self, configs: list[TemplateConfig]) -> None:
        self._by_key: dict[tuple[str, str, str], Template] = {}
        self._by_id: dict[str, Template] = {}
        for config in configs:
            self.add(config)

    def add(self, config: TemplateConfig) -> Template:
        template = Template.from_config(config)
        key = (config.waba_id, config.name, config.language)
        old = self._by_key.get(key)
        if old is not None:
            self._by_id.pop(old.id, None)
        self._by_key[key] = template
        self._by_id[template.id] = template
        return template

    def find(self, waba_id: str, name: str, language: str) -> Template | None:
        return self._by_key.get((waba_id, name, language))

    def get(self, template_id: str) -> Template | None:
        return self._by_id.get(template_id)

    def for_waba(self, waba_id: str) -> list[Template]:
        return [t for (waba, _, _), t in self._by_key.items() if waba == waba_id]

    def delete(self, waba_id: str, name: str, template_id: str | None = None) -> int:
        doomed = [
            key
            for key, t in self._by_key.items()
            if key[0] == waba_id and key[1] == name and (template_id is None or t.id == template_id)
        ]
        for key in doomed:
            self._by_id.pop(self._by_key.pop(key).id, None)
        return len(doomed)

    def set_status(self, template: Template, status: str) -> Template:
        return self.add(template.config.model_copy(update={"status": status}))

    def set_category(self, template: Template, category: str) -> Template:
        # Messages already sent keep the category they were sent (and priced) with: they copy
        # it when accepted, so only later sends see the new one.
        return self.add(template.config.model_copy(update={"category": category}))
