"""Small builders for test data: a comune as an operator would have set it up."""

from banditore.channels.models import Channel
from banditore.core.demo import SANDBOX, TOPICS
from banditore.core.models import Organization
from banditore.subscribers import service
from banditore.subscribers.models import Subscriber, Topic


def make_comune(slug: str = "pordenone", base_url: str = "http://127.0.0.1:9", rate: int = 80):
    org = Organization.objects.create(
        name="Comune di Pordenone",
        slug=slug,
        privacy_notice_url="https://comune.example/privacy",
        contacts="URP 800 000 000",
    )
    for position, (topic_slug, name) in enumerate(TOPICS):
        Topic.objects.create(organization=org, slug=topic_slug, name=name, position=position)
    Channel.objects.create(
        organization=org,
        name="WhatsApp",
        config={"base_url": base_url, **SANDBOX},
        rate_per_second=rate,
    )
    return org


def channel_of(org) -> Channel:
    return org.channels.get()


def subscribe(org, phone: str, topics=None) -> Subscriber:
    chosen = None if topics is None else list(org.topics.filter(slug__in=topics))
    return service.subscribe(
        org, phone, source="operator", evidence={"test": True}, topics=chosen
    ).subscriber


def web_signup(org, phone: str, **choices) -> Subscriber:
    """A sign-up from the web form, not yet proven from WhatsApp (nothing chosen by default)."""
    form = {"topics": [], "zone": None, "name": "", "ip": None, "user_agent": "", "evidence": {}}
    return service.request_web_signup(org, phone, **{**form, **choices}).subscriber
