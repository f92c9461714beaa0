"""The sandbox as an aiohttp application: the route table over the `Sandbox` object
(instance.py, which every handler imports, so nothing imports this module back).

Use `build_app(config)` to run it inside a test process; `cli.main` runs it as a server.
"""

from __future__ import annotations

from aiohttp import web

from banditore.sandbox import control, mail, objects_api, page, telegram
from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.graph_http import graph_endpoint
from banditore.sandbox.instance import SANDBOX_KEY, Sandbox
from banditore.sandbox.media_api import download_media, upload_media
from banditore.sandbox.messages_api import send_message
from banditore.sandbox.templates_api import create_template, delete_templates, list_templates

__all__ = ["SANDBOX_KEY", "Sandbox", "build_app"]

# Media uploads go up to 100 MB (documents); leave room for the multipart framing.
MAX_BODY_BYTES = 110 * 1024 * 1024


_VERSION = r"/{version:v\d+\.\d+}"


def _graph(app: web.Application, method: str, path: str, handler: object) -> None:
    """Register a Graph route both with and without the `/vNN.N` prefix."""
    wrapped = graph_endpoint(handler)  # type: ignore[arg-type]
    app.router.add_route(method, _VERSION + path, wrapped)
    app.router.add_route(method, path, wrapped)


def build_app(config: SandboxConfig | None = None) -> web.Application:
    config = config or SandboxConfig()
    sandbox = Sandbox(config)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SANDBOX_KEY] = sandbox

    async def start_sender(_: web.Application) -> None:
        await sandbox.sender.start()

    async def stop_sender(_: web.Application) -> None:
        await sandbox.sender.stop()

    app.on_startup.append(start_sender)
    app.on_cleanup.append(stop_sender)

    # Control API and the "phone" page first: plain paths, never shadowed by Graph ids.
    app.router.add_get("/_sandbox/", page.index)
    app.router.add_get("/_sandbox", page.redirect_to_index)
    app.router.add_post("/_sandbox/inbound", control.inbound)
    app.router.add_get("/_sandbox/messages", control.messages)
    app.router.add_get("/_sandbox/conversation", control.conversation)
    app.router.add_get("/_sandbox/contacts", control.contacts)
    app.router.add_get("/_sandbox/config", control.get_config)
    app.router.add_post("/_sandbox/config", control.post_config)
    app.router.add_post("/_sandbox/templates/status", control.template_status)
    app.router.add_post("/_sandbox/templates/category", control.template_category)
    app.router.add_post("/_sandbox/user-preferences", control.user_preferences)
    app.router.add_post("/_sandbox/verify-callback", control.verify_callback)
    app.router.add_post("/_sandbox/reset", control.reset)
    app.router.add_get("/_sandbox/stats", control.stats)
    app.router.add_get("/_sandbox/faults", control.get_faults)
    app.router.add_post("/_sandbox/faults", control.post_faults)
    app.router.add_delete("/_sandbox/faults", control.delete_faults)

    # Where media download URLs point (Meta: lookaside.fbsbx.com/whatsapp_business/attachments/).
    app.router.add_get("/whatsapp_business/attachments/", graph_endpoint(download_media))

    _graph(app, "POST", r"/{phone_number_id:\d+}/messages", send_message)
    _graph(app, "POST", r"/{phone_number_id:\d+}/media", upload_media)
    _graph(app, "GET", r"/{waba_id:\d+}/message_templates", list_templates)
    _graph(app, "POST", r"/{waba_id:\d+}/message_templates", create_template)
    _graph(app, "DELETE", r"/{waba_id:\d+}/message_templates", delete_templates)
    _graph(app, "GET", r"/{object_id:\d+}", objects_api.get_object)
    _graph(app, "POST", r"/{object_id:\d+}", objects_api.post_object)
    _graph(app, "DELETE", r"/{object_id:\d+}", objects_api.delete_object)

    telegram.add_routes(app, config.telegram)
    if config.mail is not None:
        mail.add_routes(app, config.mail)
    return app
