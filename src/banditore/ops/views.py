"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus."""

import hmac
import os

from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from banditore.ops import health, metrics

LOOPBACK = ("127.0.0.1", "::1")


@require_GET
@never_cache
def healthz(request):
    """The process is up. No database: a database outage must not get the web restarted."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@never_cache
def readyz(request):
    checks = health.readiness()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _allowed_ips(token: str) -> set[str]:
    """BANDITORE_METRICS_ALLOW_IPS if set (may be empty); else loopback, but only while no
    token is configured: with a token, a reverse proxy on this machine (whose requests all
    come from 127.0.0.1) must not open /metrics to everyone."""
    listed = os.environ.get("BANDITORE_METRICS_ALLOW_IPS")
    if listed is not None:
        return {ip.strip() for ip in listed.split(",") if ip.strip()}
    return set() if token else set(LOOPBACK)


def metrics_allowed(request) -> bool:
    token = os.environ.get("BANDITORE_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    # A request relayed by a proxy names its client in X-Forwarded-For: its peer address
    # is the proxy's, not the client's, so it proves nothing.
    if "X-Forwarded-For" in request.headers:
        return False
    return request.META.get("REMOTE_ADDR", "") in _allowed_ips(token)


@require_GET
@never_cache
def metrics_view(request):
    if not metrics_allowed(request):
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
