"""The REST API: one NinjaAPI with a router per resource, its errors and idempotency."""

from ninja import NinjaAPI

from banditore.api import broadcasts, document, errors, idempotency, keys, subscribers, topics

DESCRIPTION = """\
Banditore's REST API: a comune's broadcasts, topics and subscribers, for the systems that
work with its press office and civil protection.

**Authentication.** Every request carries `Authorization: Bearer <key>`. Keys belong to one
comune and see only its data; each has scopes (`broadcasts:read`, `broadcasts:write`,
`broadcasts:approve`, `broadcasts:emergency`, `subscribers:read`, `topics:read`). The IT
office creates them with `banditore apikey create --org <slug> --name <name> --scope <scope>
[--test]`; the secret is shown once and stored only as a hash. A missing, unknown or revoked
key answers 401; a missing scope 403.

**Test keys never reach citizens.** A test key creates, updates, submits and estimates
broadcasts for real, but they are test broadcasts: only test keys see them, no key can
approve them, and nothing (a key, the console, the CLI, the scheduler) can schedule or send
them. Approve, schedule, send, pause, resume, cancel and
retry-failed with a test key are dry runs: every check runs and the answer (`"dry_run":
true`) shows the state the broadcast would reach, but nothing changes. A test key's test
send goes out only through a channel that points at the sandbox.

**Idempotency.** Send an `Idempotency-Key` header (up to 255 characters) with every POST: a
retry with the same key and body gets the first response again (with `Idempotent-Replayed:
true`) and does not act twice, even if the two arrive at once; the same key with another
body answers 422. Keys are kept for 24 hours.

**Errors.** Every error is JSON: `{"error": {"code": "...", "message": "<Italian>",
"message_en": "<English>"}}`; a refused transition (e.g. approving one's own broadcast)
answers 409, a request that is not valid 422, an unknown id 404.
"""


class BanditoreApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        return document.complete(super().get_openapi_schema(**kwargs))


api = BanditoreApi(
    title="Banditore API",
    version="1",
    description=DESCRIPTION,
    auth=keys.BearerKey(),
    urls_namespace="api",
)
errors.install(api)
api.add_decorator(idempotency.guard, mode="view")
api.add_router("/broadcasts", broadcasts.router)
api.add_router("/topics", topics.router)
api.add_router("/subscribers", subscribers.router)
