"""Topics and subscribers: read only, one comune's rows only."""

from banditore.subscribers.models import Zone
from tests.factories import subscribe


def test_topics_are_the_comunes_own(comune, other_comune, api):
    other_comune.topics.create(slug="sagra", name="Sagra", position=9)
    response = api.get("/api/topics")
    assert response.status_code == 200
    slugs = [t["slug"] for t in response.json()]
    assert slugs == list(comune.topics.order_by("position").values_list("slug", flat=True))
    assert "sagra" not in slugs


def test_search_by_number_in_any_format(comune, api):
    zone = Zone.objects.create(organization=comune, slug="torre", name="Torre")
    subscriber = subscribe(comune, "+393331234567", topics=["viabilita"])
    comune.subscribers.filter(pk=subscriber.pk).update(zone=zone)
    subscribe(comune, "+393339999999")
    for number in ("333 123 4567", "+39 333 1234567", "0039.333.1234567"):
        found = api.get("/api/subscribers", data={"number": number}).json()
        assert [s["phone"] for s in found] == ["+393331234567"], number
    found = found[0]
    assert found["status"] == "active" and found["topics"] == ["viabilita"]
    assert found["zone"] == "torre" and found["subscribed_at"]
    assert api.get(f"/api/subscribers/{subscriber.pk}").json() == found
    assert api.get("/api/subscribers", data={"number": "+393330000000"}).json() == []


def test_another_comunes_subscriber_is_invisible(comune, other_comune, api):
    theirs = subscribe(other_comune, "+393331234567")
    assert api.get("/api/subscribers", data={"number": "+393331234567"}).json() == []
    response = api.get(f"/api/subscribers/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_number_is_422_not_500(comune, api):
    response = api.get("/api/subscribers", data={"number": "ciao"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_number"
    assert api.get("/api/subscribers").status_code == 422  # no number at all


def test_there_is_no_way_to_write_a_subscriber(comune, api):
    subscriber = subscribe(comune, "+393331234567")
    for method in ("post", "patch"):
        response = api._call(method, f"/api/subscribers/{subscriber.pk}", {"status": "active"})
        assert response.status_code in (404, 405), method
        assert "error" in response.json()
    assert api._call("delete", f"/api/subscribers/{subscriber.pk}").status_code in (404, 405)
