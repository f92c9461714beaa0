"""The comune's public Telegram channel: a broadcast is posted there once, for all its
followers, as a Delivery of kind "post" that the dispatcher sends like any other message
(broadcasts/audience.py queues it); what Telegram answers makes the post's link
(t.me/<name>/<id>), which the archive shows.
"""


def post_link(public_channel: str, provider_id: str) -> str:
    """The link of a post the dispatcher sent (its Delivery's recipient and provider id)."""
    message_id = provider_id.rsplit(":", 1)[-1]
    return link_of({"message_id": int(message_id)}, public_channel) if message_id.isdigit() else ""


def link_of(message, public_channel: str) -> str:
    """t.me/<name>/<id> for a public channel; t.me/c/<id>/<id> (members only) otherwise;
    "" if the answer doesn't say (posted all the same: trying again would post it twice)."""
    if not isinstance(message, dict) or not isinstance(message.get("message_id"), int):
        return ""
    message_id = message["message_id"]
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    username = str(chat.get("username") or public_channel.removeprefix("@"))
    if not username.startswith("-100"):
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{username.removeprefix('-100')}/{message_id}"
