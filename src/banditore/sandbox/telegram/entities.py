"""Telegram's formatting parsers: text with `parse_mode` → plain text and entities.

The limits (4096 characters for a text, 1024 for a caption) apply to the plain text, and
Telegram refuses malformed markup with "can't parse entities: …"; the error texts follow
Telegram's (its HTML parser counts byte offsets in UTF-8). Entity offsets and lengths are
in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from typing import Any

HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only with class="tg-spoiler"
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

# Characters MarkdownV2 reserves: outside an entity they must be escaped with "\".
MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class EntityError(ValueError):
    """Markup Telegram would refuse; str() is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities; raises EntityError for bad markup, KeyError for a mode
    Telegram does not know."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown_legacy(text)
    raise KeyError(parse_mode)


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?([^<>]*)(>?)")
_ATTR = re.compile(r"""\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    plain: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []  # tag, utf16 start, entity extras
    position = 0
    length16 = 0
    while position < len(text):
        lt = text.find("<", position)
        chunk = text[position : len(text) if lt < 0 else lt]
        if chunk:
            decoded = html.unescape(chunk) if "&" in chunk else chunk
            plain.append(decoded)
            length16 += utf16_len(decoded)
        if lt < 0:
            break
        match = _TAG.match(text, lt)
        assert match is not None  # "<" alone matches with empty groups
        closing, name, rest, end = match.groups()
        offset = _byte_offset(text, lt)
        if not name:
            raise EntityError(f'Unsupported start tag "{rest}" at byte offset {offset}')
        name = name.lower()
        if not end:
            raise EntityError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if closing:
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {offset}")
            open_name, start, extras = stack.pop()
            if open_name != name:
                raise EntityError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            if length16 > start:
                entities.append(
                    {"offset": start, "length": length16 - start, "type": HTML_TAGS[name]} | extras
                )
        else:
            if name not in HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
            attrs = {
                m.group(1).lower(): html.unescape(next(g for g in m.groups()[1:] if g is not None))
                for m in _ATTR.finditer(rest)
            }
            extras: dict[str, Any] = {}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise EntityError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
                )
            if name == "a":
                extras["url"] = attrs.get("href", "")
            if name == "pre" and "language" in attrs:
                extras["language"] = attrs["language"]
            if name == "tg-emoji":
                extras["custom_emoji_id"] = attrs.get("emoji-id", "")
            stack.append((name, length16, extras))
        position = match.end()
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: e["offset"])
    return "".join(plain), entities


_MD2_MARKERS = [
    ("```", "pre"),
    ("||", "spoiler"),
    ("__", "underline"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
    ("`", "code"),
]
_ENTITY_NAMES = {
    "pre": "Pre",
    "spoiler": "Spoiler",
    "underline": "Underline",
    "bold": "Bold",
    "italic": "Italic",
    "strikethrough": "Strikethrough",
    "code": "Code",
    "text_link": "TextUrl",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    plain: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int, int]] = []  # marker, type, utf16 start, byte offset
    length16 = 0
    i = 0

    def emit(chars: str) -> None:
        nonlocal length16
        plain.append(chars)
        length16 += utf16_len(chars)

    while i < len(text):
        char = text[i]
        in_code = bool(stack) and stack[-1][1] in ("code", "pre")
        if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
            emit(text[i + 1])
            i += 2
            continue
        if in_code:
            marker = stack[-1][0]
            if text.startswith(marker, i):
                _, kind, start, _ = stack.pop()
                entities.append({"offset": start, "length": length16 - start, "type": kind})
                i += len(marker)
            else:
                emit(char)
                i += 1
            continue
        if stack and stack[-1][0] == "]" and char == "]":
            _, _, start, offset = stack.pop()
            close = text.find(")", i)
            if not text.startswith("(", i + 1) or close < 0:
                raise EntityError(f"Can't find end of TextUrl entity at byte offset {offset}")
            url = text[i + 2 : close].replace("\\)", ")").replace("\\\\", "\\")
            entities.append(
                {"offset": start, "length": length16 - start, "type": "text_link", "url": url}
            )
            i = close + 1
            continue
        if char == "[":
            stack.append(("]", "text_link", length16, _byte_offset(text, i)))
            i += 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a quoted line: the quote itself is not counted
            continue
        for marker, kind in _MD2_MARKERS:
            if text.startswith(marker, i):
                if stack and stack[-1][0] == marker:
                    _, _, start, _ = stack.pop()
                    entities.append({"offset": start, "length": length16 - start, "type": kind})
                else:
                    stack.append((marker, kind, length16, _byte_offset(text, i)))
                i += len(marker)
                break
        else:
            if char in MARKDOWN_V2_RESERVED:
                raise EntityError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            emit(char)
            i += 1
    if stack:
        _, kind, _, offset = stack[-1]
        raise EntityError(f"Can't find end of {_ENTITY_NAMES[kind]} entity at byte offset {offset}")
    entities.sort(key=lambda e: e["offset"])
    return "".join(plain), entities


_LEGACY = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown_legacy(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The old Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    plain: list[str] = []
    entities: list[dict[str, Any]] = []
    length16 = 0
    i = 0
    while i < len(text):
        char = text[i]
        marker = "```" if text.startswith("```", i) else char
        if marker in _LEGACY or marker == "```" or char == "[":
            closer = "]" if char == "[" else marker
            close = text.find(closer, i + len(marker))
            if close < 0:
                offset = _byte_offset(text, i)
                raise EntityError(f"Can't find end of the entity starting at byte offset {offset}")
            inner = text[i + len(marker) : close]
            entity: dict[str, Any] = {
                "offset": length16,
                "length": utf16_len(inner),
                "type": "pre" if marker == "```" else _LEGACY.get(marker, "text_link"),
            }
            i = close + len(closer)
            if char == "[":
                url_end = text.find(")", i)
                if text.startswith("(", i) and url_end > 0:
                    entity["url"] = text[i + 1 : url_end]
                    i = url_end + 1
                else:
                    entity = {}
            if entity and entity["length"]:
                entities.append(entity)
            plain.append(inner)
            length16 += utf16_len(inner)
            continue
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "*_`[":
            char = text[i + 1]
            i += 1
        plain.append(char)
        length16 += utf16_len(char)
        i += 1
    return "".join(plain), entities
