"""Proactive services (主动服务): who a rule would invite, the dry run, the sending (an
invitation row and its outbox message in one transaction, once per person and trigger), the
submission hook, the daily run, and the invitation's life (started, submitted, opted out).

The kernel names no app above it: the submission hook is called by `bundles` (after the
fan-out, inside the submission's transaction) with the application only; the registration hook
subscribes to `accounts.services.on_citizen_verified` (ProactiveConfig.ready).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import birth_date_of, mask_name, mask_resident_id, sex_of
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import Application, ApplicationState
from kuaiban.notifications.services import notify
from kuaiban.process_tables import ProcessTables
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.models import FetchStatus, ReferenceRecord
from kuaiban.shareddata.providers import OFF, Subject, lookup, provider_name

from .entitlements import condition_met
from .models import Invitation, InvitationRule, OptOut, RuleStatus, Trigger

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 10
# Registration rules: the daily run catches up citizens verified in this many days at most.
REGISTRATION_CATCH_UP_DAYS = 7


@dataclass
class Candidate:
    """Someone a rule would invite for one trigger (not yet invited, not opted out)."""

    person_hash: str
    trigger_key: str
    number: str
    name: str = ""
    phone: str = ""
    user: User | None = None
    prefill: dict = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        """An account to message in the portal, or a phone for an SMS."""
        return bool(self.phone) or (self.user is not None and not self.user.window_only)

    def masked(self) -> dict:
        return {"name": mask_name(self.name), "id_number": mask_resident_id(self.number)}


@dataclass
class DryRun:
    count: int
    unreachable: int
    sample: list[dict]


# -- who ---------------------------------------------------------------------------------------


def _holder(number_hash: str) -> User | None:
    """The citizen account (verified, or a window-only record) holding this ID number."""
    return (
        User.objects.filter(resident_id_hash=number_hash, role=Role.CITIZEN, is_active=True)
        .only("pk", "real_name", "phone", "window_only", "email")
        .first()
    )


def _prefill(rule: InvitationRule, context: dict[str, str]) -> dict[str, str]:
    """The target form's answers from the rule's mapping {field code: source}; sources the
    trigger does not know are left out (the person fills them in)."""
    answers = {}
    for code, source in (rule.prefill or {}).items():
        value = context.get(source, "")
        if value:
            answers[code] = value
    return answers


def _person(rule, number: str, trigger_key: str, *, name="", phone="", context=None) -> Candidate:
    """The person with this ID number: their account's verified name when they have one (else
    the name the trigger gave), the phone the trigger gave (else the account's)."""
    number = number.strip().upper()
    number_hash = keyed_hash(number)
    user = _holder(number_hash)
    name = (user.real_name if user else "") or name
    phone = phone or (user.phone if user else "")
    try:
        born = birth_date_of(number).isoformat()
    except ValueError:
        born = ""
    context = {
        **(context or {}),
        "person:name": name,
        "person:id_number": number,
        "person:phone": phone,
        "person:birth_date": born,
    }
    return Candidate(
        person_hash=number_hash,
        trigger_key=trigger_key,
        number=number,
        name=name,
        phone=phone,
        user=user,
        prefill=_prefill(rule, context),
    )


def _from_application(rule: InvitationRule, application: Application) -> Candidate | None:
    """The person an application's form names (an employer's filing names the employee)."""
    answers = application.form_data or {}
    number = answers.get(rule.person_id_field, "")
    if not number:
        return None
    context = {f"form:{code}": str(value) for code, value in answers.items()}
    context["applicant:name"] = application.applicant.real_name
    return _person(
        rule,
        number,
        f"application:{application.reference}",
        name=answers.get(rule.person_name_field, ""),
        phone=answers.get(rule.person_phone_field, ""),
        context=context,
    )


def _submission_candidates(rule: InvitationRule, today: date) -> list[Candidate]:
    """Applications of the triggering bundle submitted in the last `lead_days` days (the hook
    invites at submission; the daily run catches up what it missed, and the dry run counts)."""
    if rule.trigger_bundle_id is None:
        return []
    since = timezone.make_aware(datetime.combine(today - timedelta(days=rule.lead_days), time.min))
    applications = (
        Application.objects.filter(bundle_id=rule.trigger_bundle_id, submitted_at__gte=since)
        .exclude(state__in=[ApplicationState.DRAFT, ApplicationState.WITHDRAWN])
        .select_related("applicant")
    )
    return [c for a in applications if (c := _from_application(rule, a)) is not None]


def _reaches(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return date(born.year + years, 3, 1)


def _birth_monthdays(first: date, last: date) -> list[int] | None:
    """The months and days of birth (`User.birth_monthday`) of whoever reaches an age on a day
    from `first` to `last`: those of the days themselves, and 29 February when 1 March is among
    them (born on it, one reaches an age on 1 March of a common year). None when the days span a
    whole year: everyone."""
    if (last - first).days >= 365:
        return None
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    found = {day.month * 100 + day.day for day in days}
    if 301 in found:
        found.add(229)
    return sorted(found)


def _age_candidates(rule: InvitationRule, today: date) -> list[Candidate]:
    """Insured citizens (in the social-insurance source) reaching the statutory age within
    `lead_days` days: their birth date and sex come from their ID number. Each is invited once
    for the day they reach it."""
    insured = ReferenceRecord.objects.filter(kind=DataKind.SOCIAL_INSURANCE).values("subject_hash")
    people = User.objects.filter(
        role=Role.CITIZEN, is_active=True, resident_id_hash__in=insured
    ).only("pk", "resident_id", "real_name", "phone", "window_only", "email")
    horizon = today + timedelta(days=rule.lead_days)
    if (born_on := _birth_monthdays(today, horizon)) is not None:
        # Only those born on the window's days (their numbers decrypted), not every insured one.
        people = people.filter(birth_monthday__in=born_on)
    found = []
    for user in people.iterator(chunk_size=500):
        number = user.resident_id
        if len(number) != 18:
            continue
        years = rule.age_men if sex_of(number) == "male" else rule.age_women
        if years is None:
            continue
        reached = _reaches(birth_date_of(number), years)
        if today <= reached <= horizon:
            found.append(_person(rule, number, f"age:{reached.isoformat()}"))
    return found


def _death_candidates(rule: InvitationRule, today: date) -> list[Candidate]:
    """Deaths registered in the civil-affairs source (the LOCAL records) in the last
    `lead_days` days, meeting the rule's `record_conditions`, whose registration names the
    informant (申报人: ID number, name, phone): the informant is invited, once per death."""
    since = today - timedelta(days=rule.lead_days)
    found = []
    conditions = rule.record_conditions if isinstance(rule.record_conditions, list) else []
    for record in ReferenceRecord.objects.filter(kind=DataKind.DEATH).iterator(chunk_size=500):
        facts = record.facts or {}
        if not all(condition_met(c, facts) for c in conditions):
            continue  # another rule's deaths (at work: B08; otherwise: B09)
        number = str(facts.get("informant_id_number", ""))
        try:
            died = date.fromisoformat(str(facts.get("date_of_death", "")))
        except ValueError:
            continue
        if len(number) != 18 or not since <= died <= today:
            continue
        context = {f"record:{key}": str(value) for key, value in facts.items()}
        found.append(
            _person(
                rule,
                number,
                f"death:{record.reference}",
                name=str(facts.get("informant_name", "")),
                phone=str(facts.get("informant_phone", "")),
                context=context,
            )
        )
    return found


def _registration_candidate(rule: InvitationRule, user: User, today: date) -> Candidate | None:
    """The verified citizen when the rule's source (education) has their record and its date
    fact (graduation_date) lies within the last `lead_days` days. One look-up through the
    source's provider and circuit breaker; nothing asked when the source is switched off."""
    number = (user.resident_id or "").upper()
    if not rule.source or len(number) != 18 or provider_name(rule.source) == OFF:
        return None
    answer = lookup(rule.source, Subject(number=number))
    if answer.status != FetchStatus.FOUND:
        return None
    try:
        when = date.fromisoformat(str(answer.facts.get(rule.source_date_fact, "")))
    except ValueError:
        return None
    if not today - timedelta(days=rule.lead_days) <= when <= today:
        return None
    context = {f"record:{key}": str(value) for key, value in answer.facts.items()}
    return _person(rule, number, "registration", context=context)


def _registration_candidates(rule: InvitationRule, today: date) -> list[Candidate]:
    """The daily catch-up of the registration hook: citizens verified in the last
    REGISTRATION_CATCH_UP_DAYS days (the hook does the work at verification; this only finds
    what it missed), not yet invited by the rule, each looked up once."""
    days = min(rule.lead_days, REGISTRATION_CATCH_UP_DAYS)
    since = timezone.make_aware(datetime.combine(today - timedelta(days=days), time.min))
    invited = Invitation.objects.filter(rule=rule).values("person_hash")
    people = (
        User.objects.filter(
            role=Role.CITIZEN, is_active=True, is_verified=True, verified_at__gte=since
        )
        .exclude(resident_id_hash__in=invited)
        .only("pk", "resident_id")
    )
    return [
        c
        for user in people.iterator(chunk_size=200)
        if (c := _registration_candidate(rule, user, today)) is not None
    ]


def rule_candidates(rule: InvitationRule, today: date | None = None) -> list[Candidate]:
    """Everyone the rule would invite today: not yet invited for the trigger, not opted out."""
    today = today or timezone.localdate()
    if rule.trigger == Trigger.ON_SUBMISSION:
        found = _submission_candidates(rule, today)
    elif rule.trigger == Trigger.AGE_REACHED:
        found = _age_candidates(rule, today)
    elif rule.trigger == Trigger.DEATH_RECORD:
        found = _death_candidates(rule, today)
    elif rule.trigger == Trigger.ON_REGISTRATION:
        found = _registration_candidates(rule, today)
    else:
        found = []
    return _not_yet_invited(rule, found)


def _not_yet_invited(rule: InvitationRule, found: list[Candidate]) -> list[Candidate]:
    hashes = {c.person_hash for c in found}
    if not hashes:
        return []
    invited = set(
        Invitation.objects.filter(rule=rule, person_hash__in=hashes).values_list(
            "person_hash", "trigger_key"
        )
    )
    opted_out = set(
        OptOut.objects.filter(
            Q(rule=rule) | Q(rule__isnull=True), person_hash__in=hashes
        ).values_list("person_hash", flat=True)
    )
    unique: dict[tuple[str, str], Candidate] = {}
    for c in found:
        key = (c.person_hash, c.trigger_key)
        if key not in invited and c.person_hash not in opted_out:
            unique.setdefault(key, c)
    return list(unique.values())


def rule_dry_run(rule: InvitationRule, today: date | None = None) -> DryRun:
    """What the rule would do today, sending nothing: how many it would invite (and how many
    of them it cannot reach), with a masked sample."""
    found = rule_candidates(rule, today)
    reachable = [c for c in found if c.reachable]
    return DryRun(
        count=len(reachable),
        unreachable=len(found) - len(reachable),
        sample=[c.masked() for c in reachable[:SAMPLE_SIZE]],
    )


# -- sending -------------------------------------------------------------------------------


def invitation_url(invitation: Invitation) -> str:
    return reverse("applications:invitation", kwargs={"token": invitation.token})


def _message(rule: InvitationRule, candidate: Candidate, link: str) -> str:
    values = {"name": candidate.name, "bundle": rule.bundle.name_zh, "link": link}
    try:
        return rule.message_zh.format(**values)
    except (KeyError, IndexError, ValueError):
        # A template naming an unknown placeholder still sends a useful message.
        return f"{rule.message_zh} {link}"


def _send_one(rule: InvitationRule, candidate: Candidate) -> Invitation | None:
    """Write the invitation and its message (one savepoint); None when it existed already."""
    invitation = Invitation(
        rule=rule,
        person_hash=candidate.person_hash,
        user=candidate.user,
        person_name=candidate.name,
        phone=candidate.phone,
        trigger_key=candidate.trigger_key,
    )
    invitation.prefill = candidate.prefill
    try:
        with transaction.atomic():
            invitation.save(force_insert=True)
    except IntegrityError:
        return None  # invited already (the trigger repeated, or a concurrent run)
    path = invitation_url(invitation)
    subject = _("Invitation: %(bundle)s") % {"bundle": rule.bundle.name_zh}
    body = _message(rule, candidate, settings.KUAIBAN_PUBLIC_URL + path)
    user = candidate.user
    if user is not None and not user.window_only:
        # An account: its own channels (its verified phone, not a number someone else filed).
        notify(recipient=user, subject=subject, body=body, link=path)
    else:
        notify(recipient=user, subject=subject, body=body, channels=["sms"], phone=candidate.phone)
    return invitation


@transaction.atomic
def invitations_send(rule: InvitationRule, today: date | None = None) -> int:
    """Invite everyone the rule names today (only a rule that is on): each invitation and its
    message in this transaction; a person already invited for the trigger is not invited again.
    Returns how many were invited."""
    rule = InvitationRule.objects.select_for_update().get(pk=rule.pk)
    if not rule.sends:
        return 0
    sent = 0
    for candidate in rule_candidates(rule, today):
        if candidate.reachable and _send_one(rule, candidate) is not None:
            sent += 1
    return sent


def proactive_run(today: date | None = None) -> dict[str, int]:
    """Beat's daily run: every rule that is on, each in its own transaction."""
    return {
        rule.code: invitations_send(rule, today)
        for rule in InvitationRule.objects.filter(status=RuleStatus.ON)
    }


proactive_tables = ProcessTables("proactive")


def submission_rules(bundle_id: int) -> tuple[InvitationRule, ...]:
    """The rules that are on and triggered by submissions of the bundle (kept per process)."""

    def build() -> tuple[InvitationRule, ...]:
        rules = InvitationRule.objects.filter(
            trigger=Trigger.ON_SUBMISSION, trigger_bundle_id=bundle_id, status=RuleStatus.ON
        )
        return tuple(rules.select_related("bundle"))

    return proactive_tables.get(("on-submission", bundle_id), build)


def on_submission(application: Application) -> int:
    """Called by the submission service after the fan-out, inside its transaction: the rules
    triggered by this bundle invite the person its form names (once per application, however
    often it is submitted again). An invited person's own submission needs nothing here: the
    invitation's application records it. No query when no rule is on for the bundle (the rules
    are kept per process, `proactive_tables`)."""
    if application.bundle_id is None:
        return 0
    sent = 0
    for rule in submission_rules(application.bundle_id):
        candidate = _from_application(rule, application)
        if candidate is None:
            continue
        for fresh in _not_yet_invited(rule, [candidate]):
            if fresh.reachable and _send_one(rule, fresh) is not None:
                sent += 1
    return sent


def on_registration(user: User) -> int:
    """Subscribed to the accounts' announcement that a citizen became real-name verified (after
    its commit): each registration rule that is on looks the citizen up in its source and invites
    them once (a repeated announcement finds the invitation written). Returns how many."""
    if user.role != Role.CITIZEN or not user.is_verified:
        return 0
    sent = 0
    today = timezone.localdate()
    rules = InvitationRule.objects.filter(
        trigger=Trigger.ON_REGISTRATION, status=RuleStatus.ON
    ).select_related("bundle")
    for rule in rules:
        candidate = _registration_candidate(rule, user, today)  # outside any transaction
        if candidate is None:
            continue
        with transaction.atomic():
            for fresh in _not_yet_invited(rule, [candidate]):
                if fresh.reachable and _send_one(rule, fresh) is not None:
                    sent += 1
    return sent


# -- the invitation's life -----------------------------------------------------------------


def invitation_for(user, token: str) -> Invitation | None:
    """The invitation behind a link, for the person it invites (their account, or the account
    that holds their ID number now); None for anyone else."""
    if not getattr(user, "is_authenticated", False) or user.role != Role.CITIZEN:
        return None
    mine = Q(user=user)
    if user.resident_id_hash and user.is_verified:  # the number proven theirs, not only typed
        mine |= Q(person_hash=user.resident_id_hash)
    return Invitation.objects.select_related("rule__bundle").filter(mine, token=token).first()


@transaction.atomic
def invitation_started(*, invitation: Invitation, application: Application) -> Invitation:
    """The invited person opened the bundle from the link (`bundles` pre-fills the draft with
    `invitation.prefill`): the invitation counts as started, once, with that application."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.application_id is None:
        invitation.application = application
        invitation.started_at = timezone.now()
        invitation.user = invitation.user or application.applicant
        invitation.save(update_fields=["application", "started_at", "user"])
    return invitation


def opt_out(*, invitation: Invitation, every_rule: bool = False) -> OptOut:
    """The invited person asks not to be invited again by this rule (or by any)."""
    rule = None if every_rule else invitation.rule
    found, _created = OptOut.objects.get_or_create(person_hash=invitation.person_hash, rule=rule)
    return found
