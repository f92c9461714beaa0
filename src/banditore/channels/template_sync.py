"""Keeping our copy of a channel's message templates current: a full sync from the provider's
API, and single changes as the provider's webhooks announce them.

Either way, a template that stops being usable as it was (paused, rejected, disabled,
deleted, or moved to another category, which changes its price) pauses the broadcasts that
use it and tells the operators (broadcasts/templating.py decides what that means).
"""

import logging

from django.db import transaction
from django.utils import timezone

from banditore.channels import registry
from banditore.channels.base import SyncedTemplate, TemplateItem, TemplateSyncError
from banditore.channels.models import Channel, MessageTemplate
from banditore.core.models import audit

log = logging.getLogger(__name__)

# What a template is when the provider's list no longer has it.
GONE = "DELETED"


def source_of(channel: Channel):
    return registry.of(channel).templates


def sync(channel: Channel) -> dict[str, int]:
    """Fetch every template of the channel's account and bring our copy in line, and the
    account's messaging limit. Returns counts (added, changed, gone). Raises
    TemplateSyncError."""
    source = source_of(channel)
    if source is None:
        return {"added": 0, "changed": 0, "gone": 0}
    config = registry.of(channel).config.model_validate(channel.config)
    fetched = source.fetch(config)
    known, limit = source.messaging_limit(config)
    with transaction.atomic():
        if known:
            _set_limit(channel, limit)
        return _merge(channel, fetched)


def _set_limit(channel: Channel, limit: int | None) -> None:
    """The provider's messaging limit is the truth: the dispatcher obeys it (its tier gate
    reads the setting again every few seconds) and the estimate shows it."""
    current = Channel.objects.select_for_update().get(pk=channel.pk)
    if current.config.get("messaging_limit") == limit:
        return
    before = current.config.get("messaging_limit")
    current.config = {**current.config, "messaging_limit": limit}
    current.save(update_fields=["config"])
    channel.config = current.config
    audit(channel.organization, "channel.messaging_limit", str(channel), before=before, now=limit)


def _merge(channel: Channel, fetched: list[SyncedTemplate]) -> dict[str, int]:
    now = timezone.now()
    ours = {(t.name, t.language): t for t in channel.templates.select_for_update()}
    counts = {"added": 0, "changed": 0, "gone": 0}
    seen = set()
    for synced in fetched:
        key = (synced.name, synced.language)
        if key in seen:
            continue
        seen.add(key)
        template = ours.get(key)
        if template is None:
            MessageTemplate.objects.create(
                channel=channel,
                name=synced.name,
                language=synced.language,
                category=synced.category,
                status=synced.status,
                reason=synced.reason,
                components=synced.components,
                parameter_format=synced.parameter_format,
                provider_id=synced.provider_id,
                synced_at=now,
            )
            counts["added"] += 1
            continue
        before = (template.status, template.category)
        template.components = synced.components
        template.parameter_format = synced.parameter_format
        template.provider_id = synced.provider_id or template.provider_id
        template.synced_at = now
        if (synced.status, synced.category) != before:
            template.status, template.category = synced.status, synced.category
            template.reason = synced.reason
            counts["changed"] += 1
        template.save()
        if (synced.status, synced.category) != before:
            _changed(template, *before)
    for key, template in ours.items():
        if key not in seen and template.status != GONE:
            before = (template.status, template.category)
            template.status, template.synced_at = GONE, now
            template.save(update_fields=["status", "synced_at", "updated_at"])
            counts["gone"] += 1
            _changed(template, *before)
    return counts


def apply_change(channels: list[Channel], item: TemplateItem) -> int:
    """A provider's webhook about one template, for the channels of its account. Returns how
    many of our copies changed. A template we never synced is fetched with the next sync."""
    changed = 0
    for channel in channels:
        template = (
            MessageTemplate.objects.select_for_update()
            .filter(channel=channel, name=item.name, language=item.language)
            .first()
        )
        if template is None:
            continue
        if item.impending:
            audit(
                channel.organization,
                "template.category_announced",
                str(template),
                reason=item.reason,
            )
            continue
        before = (template.status, template.category)
        template.status = item.status or template.status
        template.category = item.category or template.category
        if item.reason:
            template.reason = item.reason
        template.provider_id = template.provider_id or item.provider_id
        if (template.status, template.category) == before:
            continue
        template.save()
        changed += 1
        _changed(template, *before)
    return changed


def _changed(template: MessageTemplate, old_status: str, old_category: str) -> None:
    from banditore.broadcasts import templating

    audit(
        template.channel.organization,
        "template.changed",
        str(template),
        status=f"{old_status} → {template.status}",
        category=f"{old_category} → {template.category}",
        reason=template.reason,
    )
    log.warning(
        "channel %s: template %s is now %s / %s (was %s / %s)",
        template.channel_id,
        template,
        template.status,
        template.category,
        old_status,
        old_category,
    )
    templating.template_changed(template, old_status, old_category)


def sync_all() -> dict[int, str]:
    """Every channel with a template source, one after the other; a failing channel is
    logged and doesn't stop the others. Returns {channel id: outcome}."""
    outcomes = {}
    for channel in Channel.objects.select_related("organization").order_by("id"):
        if source_of(channel) is None:
            continue
        try:
            counts = sync(channel)
        except TemplateSyncError as exc:
            log.warning("channel %s: templates not synced: %s", channel.pk, exc)
            outcomes[channel.pk] = f"error: {exc}"
            continue
        outcomes[channel.pk] = "ok " + ", ".join(f"{k} {v}" for k, v in counts.items())
    return outcomes
