"""A local emulator of Meta's WhatsApp Business Cloud API (Graph API), of Meta's webhook
sender, and of citizens' phones.

It is a separate aiohttp process with no Django import: tests, demos and benchmarks talk to it
over real HTTP exactly as production talks to graph.facebook.com; only the base URL differs.
Start it with `python -m banditore.sandbox` (or `banditore sandbox`); defaults are in
`banditore.sandbox.defaults`, every knob in `banditore.sandbox.config`.
"""
