"""The archive as RSS and Atom feeds (Django's syndication framework): the whole archive,
and one feed per topic, for the comune's website, feed readers and aggregators."""

from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import linebreaksbr
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from banditore.core.models import Organization
from banditore.public import archive
from banditore.public.addresses import page_url, single_organization
from banditore.subscribers.models import Topic


@dataclass(frozen=True)
class Source:
    org: Organization
    slug: str | None  # the /c/<slug>/ prefix the feed was asked under, if any
    topic: Topic | None


class ArchiveRss(Feed):
    def get_object(self, request, slug: str | None = None, topic: str | None = None) -> Source:
        if slug is not None:
            org = get_object_or_404(Organization, slug=slug)
        else:
            org = single_organization()
            if org is None:
                raise Http404("no single comune")
        chosen = None
        if topic is not None:
            chosen = archive.topic(org, topic)
            if chosen is None:
                raise Http404("no such topic")
        return Source(org=org, slug=slug, topic=chosen)

    def title(self, source: Source) -> str:
        if source.topic:
            return _("%(comune)s: news on WhatsApp, %(topic)s") % {
                "comune": source.org.name,
                "topic": source.topic.name,
            }
        return _("%(comune)s: news on WhatsApp") % {"comune": source.org.name}

    def link(self, source: Source) -> str:
        url = page_url("archive", source.slug)
        return f"{url}?argomento={source.topic.slug}" if source.topic else url

    def description(self, source: Source) -> str:
        return _("The messages %(comune)s sent to its WhatsApp subscribers.") % {
            "comune": source.org.name
        }

    def items(self, source: Source):
        items = list(archive.search(source.org, topic=source.topic)[: archive.FEED_SIZE])
        # item_link sees only the item; one Feed instance serves every request, so the
        # prefix travels on the items, not on self.
        for item in items:
            item.public_slug = source.slug
        return items

    def item_title(self, item) -> str:
        return archive.title_of(item)

    def item_description(self, item) -> str:
        # Readers take the description as HTML: the text escaped, its line breaks kept.
        return linebreaksbr(item.text, autoescape=True)

    def item_link(self, item) -> str:
        return page_url("archive-message", item.public_slug, item.pk)

    def item_pubdate(self, item):
        return item.started_at

    def item_updateddate(self, item):
        return item.started_at

    def item_categories(self, item):
        return [t.name for t in item.topics.all()]


class ArchiveAtom(ArchiveRss):
    feed_type = Atom1Feed

    def subtitle(self, source: Source) -> str:
        return self.description(source)
