"""Circulated notices (通报): drafted from a period's figures (the text comes from the
supervision side, `acceptance.notice_text`), edited while a draft, then issued — numbered within
the year (快办通报〔2026〕N号) and frozen: an issued notice is never edited."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Campaign, CampaignAction, CampaignEvent, Notice, NoticeState
from .services import require_office


@transaction.atomic
def notice_draft(
    *, campaign: Campaign, actor, period_start: date, period_end: date, title: str, body: str
) -> Notice:
    require_office(actor)
    if period_end < period_start:
        raise ValidationError(_("The period ends before it starts."))
    return Notice.objects.create(
        campaign=campaign,
        period_start=period_start,
        period_end=period_end,
        title=title,
        body=body,
        created_by=actor,
    )


def _locked(notice: Notice) -> Notice:
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.state != NoticeState.DRAFT:
        raise ValidationError(_("An issued notice cannot be changed."))
    return notice


@transaction.atomic
def notice_edit(*, notice: Notice, actor, title: str, body: str) -> Notice:
    require_office(actor)
    notice = _locked(notice)
    if not title.strip() or not body.strip():
        raise ValidationError(_("A notice needs a title and a text."))
    notice.title, notice.body = title.strip(), body.strip()
    notice.save(update_fields=["title", "body"])
    return notice


@transaction.atomic
def notice_issue(*, notice: Notice, actor) -> Notice:
    """Number it within the year of issue and freeze it."""
    require_office(actor)
    notice = _locked(notice)
    now = timezone.now()
    year = timezone.localdate(now).year
    # One issue at a time takes the year's next number (the unique constraint backs it up).
    Notice.objects.select_for_update().filter(year=year).exists()
    last = Notice.objects.filter(year=year).aggregate(n=Max("number"))["n"] or 0
    notice.state, notice.year, notice.number = NoticeState.ISSUED, year, last + 1
    notice.issued_at, notice.issued_by = now, actor
    notice.save()
    CampaignEvent.objects.create(
        campaign=notice.campaign, action=CampaignAction.NOTICE, actor=actor, note=notice.reference
    )
    return notice
