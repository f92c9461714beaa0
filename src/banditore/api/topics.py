"""GET /api/topics: the comune's topics, for a system that targets a broadcast."""

from ninja import Router, Schema

from banditore.api.keys import need

router = Router(tags=["topics"])


class TopicOut(Schema):
    slug: str
    name: str
    position: int


@router.get("", response=list[TopicOut], summary="List the comune's topics")
def list_topics(request):
    """Scope: `topics:read`."""
    key = need(request, "topics:read")
    return list(key.organization.topics.order_by("position", "id"))
