"""The portal's own user model, in place from the first migration."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.append_only import AppendOnlyModel

from .crypto import EncryptedTextField, keyed_hash, phone_lookup_hash
from .identity import birth_monthday_of, mask_phone, mask_resident_id


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    ENTERPRISE = "enterprise", _("Enterprise or institution")
    CLERK = "clerk", _("Window clerk")
    REVIEWER = "reviewer", _("Back-office reviewer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")


STAFF_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.SUPERVISOR, Role.ADMINISTRATOR})


class User(AbstractUser):
    """Applicants (citizens, enterprises) and staff. Staff belong to a unit and serve windows."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CITIZEN)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # Applicants. Personal numbers are encrypted; the keyed hash finds a person by ID number.
    real_name = models.CharField(_("real name or organisation name"), max_length=100, blank=True)
    resident_id = EncryptedTextField(_("resident ID number"), blank=True)
    # NULL, not "", for "none": unique constraints ignore NULLs.
    resident_id_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    # The month and day of birth read from the ID number (229 for 29 February; NULL without a
    # valid number), kept by save() and set_resident_id(): the daily age-reached invitation
    # rule decrypts the numbers of the few born on its window's days, not every insured
    # citizen's. Not the year: on its own it names nobody.
    birth_monthday = models.PositiveSmallIntegerField(null=True, editable=False, db_index=True)
    phone = EncryptedTextField(_("mobile number"), blank=True)
    # The keyed hash of `phone`, kept by save(): a password reset finds an account by its number.
    phone_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, null=True, blank=True
    )
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    unit = models.ForeignKey(
        "catalog.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    is_unit_head = models.BooleanField(
        _("unit head"), default=False, help_text=_("Approves extensions for the unit.")
    )
    hall = models.ForeignKey(
        "catalog.ServiceHall",
        verbose_name=_("service hall"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    windows = models.ManyToManyField(
        "catalog.Window", verbose_name=_("windows served"), blank=True, related_name="clerks"
    )
    # Real-name verification (实名认证): the phone proven by an SMS code, the name and number (or
    # credit code and legal representative) confirmed by a population / market-registration
    # source. Only a verified applicant may submit or see window records.
    # An unverified registrant's ID number is only this (not unique) hash: the look-up hash
    # above, which window intake and log-in trust, belongs to a verified account or a window-only
    # record, so typing someone else's number claims nothing.
    pending_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # Likewise an unverified enterprise's credit code: `credit_code` (unique) belongs to the
    # verified account, so registering a code that has one answers as for any other code.
    pending_credit_code = models.CharField(max_length=18, blank=True, db_index=True, editable=False)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    phone_verified_at = models.DateTimeField(_("mobile number verified"), null=True, blank=True)
    is_verified = models.BooleanField(_("real-name verified"), default=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verification_source = models.CharField(_("verified by"), max_length=32, blank=True)
    window_only = models.BooleanField(
        _("window-only record"),
        default=False,
        help_text=_(
            "A person known from a window intake; no login. Claimed when they register and verify."
        ),
    )
    # Single sign-on: the provincial platform's subject identifier ("sub") for this person or
    # organisation, linked at the first SSO log-in (kuaiban/accounts/sso.py). For staff, only an
    # administrator sets it: claims never link or create a staff account otherwise.
    sso_subject = models.CharField(
        _("single sign-on subject"),
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "The provincial identity platform's identifier for this account (its sub claim). Set "
            "it for a staff member who logs in through the platform."
        ),
    )
    district = models.ForeignKey(
        "catalog.District",
        verbose_name=_("district supervised"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("A district supervisor sees only this district; empty means the whole city."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="reviewer") | Q(unit__isnull=False),
                name="reviewer_belongs_to_unit",
                violation_error_message=_("A reviewer belongs to a unit."),
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    def save(self, *args, **kwargs) -> None:
        self.phone_hash = phone_lookup_hash(self.phone)
        if "resident_id" not in self.get_deferred_fields():  # never read just for this
            self.birth_monthday = birth_monthday_of(self.resident_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            derived = {"phone": "phone_hash", "resident_id": "birth_monthday"}
            kwargs["update_fields"] = {*update_fields} | {
                derived[name] for name in update_fields if name in derived
            }
        super().save(*args, **kwargs)

    def set_resident_id(self, number: str) -> None:
        """Store a normalised ID number encrypted, with its look-up hash and the month and day
        of birth (also for rows written in bulk, which save() never sees)."""
        self.resident_id = number
        self.resident_id_hash = keyed_hash(number) if number else None
        self.birth_monthday = birth_monthday_of(number)

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.resident_id)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_applicant(self) -> bool:
        return self.role in (Role.CITIZEN, Role.ENTERPRISE)

    @property
    def decides_extensions(self) -> bool:
        """A unit head (for the unit's cases) or a city-level supervisor (局行风办, any case):
        who may decide an extension request, when they did not ask for it themselves."""
        if self.role == Role.REVIEWER:
            return self.is_unit_head and self.unit_id is not None
        return self.role == Role.SUPERVISOR and self.district_id is None

    @property
    def is_supervision_office(self) -> bool:
        """局行风办: a city-level supervisor (no district), or an administrator. Decides appeals
        of bad reviews."""
        return (self.role == Role.SUPERVISOR and self.district_id is None) or (
            self.role == Role.ADMINISTRATOR
        )

    @property
    def is_bureau_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def reviews_guides(self) -> bool:
        """A reviewer of the legal-review unit (catalog.Unit.reviews_guides, 政策法规处): approves
        or returns changes to the service guides."""
        return self.role == Role.REVIEWER and self.unit is not None and self.unit.reviews_guides

    @property
    def proposes_guides(self) -> bool:
        """An administrator: proposes changes to the service guides and submits them for review."""
        return self.role == Role.ADMINISTRATOR


class ReferenceIdentity(models.Model):
    """The LOCAL population-data source (demo and tests): generated identities, a name for a
    keyed hash of the ID number. The provincial platform answers in production."""

    number_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("reference identity")
        verbose_name_plural = _("reference identities")

    def __str__(self) -> str:
        return self.name


class ReferenceEnterprise(models.Model):
    """The LOCAL market-registration source (demo and tests): generated registrations."""

    credit_code = models.CharField(max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100)
    representative = models.CharField(_("legal representative"), max_length=100)

    class Meta:
        verbose_name = _("reference enterprise")
        verbose_name_plural = _("reference enterprises")

    def __str__(self) -> str:
        return self.name


class OneTimeCode(models.Model):
    """An SMS code for one purpose and one phone; only keyed hashes are stored."""

    purpose = models.CharField(max_length=32)
    phone_hash = models.CharField(max_length=64)
    ip_hash = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["purpose", "phone_hash", "-created_at"]),
            models.Index(fields=["ip_hash", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


class SecurityEventKind(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Log-in failed")
    LOGOUT = "logout", _("Logged out")
    LOCKED_OUT = "locked_out", _("Locked out after repeated failures")
    UNLOCKED = "unlocked", _("Lock-out lifted")
    SECOND_FACTOR_FAILED = "otp_failed", _("Second-factor code refused")
    SECOND_FACTOR_ENROLLED = "otp_enrolled", _("Second factor set up")
    PERMISSION_REFUSED = "refused", _("Permission refused")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    PASSWORD_RESET = "password_reset", _("Password reset by SMS code")
    PASSWORD_SET_BY_ADMIN = "password_admin", _("Password set by an administrator")
    SESSION_EXPIRED = "session_expired", _("Staff session expired")
    REGISTRATION_THROTTLED = "reg_throttled", _("Registration throttled")
    PASSWORD_RESET_THROTTLED = "reset_throttled", _("Password reset throttled")
    SSO_LINKED = "sso_linked", _("Account linked to the identity platform")
    SSO_REFUSED = "sso_refused", _("Single sign-on refused")


class SecurityEvent(AppendOnlyModel):
    """One security-relevant fact (issue 11 part 4): log-ins, failures, lock-outs and unlocks,
    second-factor failures, refusals, password changes. Insert-only, like the event log."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=SecurityEventKind.choices)
    user = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        db_index=False,
    )
    # The name typed at a failed log-in (there may be no such user); never a password.
    username = models.CharField(_("username given"), max_length=150, blank=True)
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
        help_text=_("The administrator who unlocked or reset, where not the user."),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("page"), max_length=200, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.user_id or self.username}"


class ApiToken(models.Model):
    """A personal token for the open API (`Authorization: Bearer kbp_…`), made from a logged-in
    session (a password log-in, or single sign-on), so it carries whatever that log-in proved
    (staff: the second factor). Only its keyed hash is stored; the token is shown once."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.name or self.created_at:%Y-%m-%d}"
