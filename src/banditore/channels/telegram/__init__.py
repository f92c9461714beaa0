"""The Telegram channel kind: the Bot API's sendMessage, its webhooks and its setup calls."""
