"""WhatsApp's own formatting (*bold*, _italic_, ~strike~, ```mono```, bare links) as the
preview's HTML; escaped first, so a message can never inject markup into the console."""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

# The markers must touch a word on the inside, as WhatsApp requires.
RULES = [
    (re.compile(r"```(.+?)```", re.S), r"<code>\1</code>"),
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), r"<em>\1</em>"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), r"<s>\1</s>"),
]
LINK = re.compile(r"\bhttps?://[^\s<]+[^\s<.,;:!?)\]'\"]")


def whatsapp_html(text: str) -> str:
    html = escape(text or "")
    html = LINK.sub(
        lambda m: f'<a href="{m.group(0)}" rel="noopener nofollow">{m.group(0)}</a>', html
    )
    for pattern, replacement in RULES:
        html = pattern.sub(replacement, html)
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 - escaped above
