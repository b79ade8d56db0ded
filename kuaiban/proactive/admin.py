from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .entitlements import entitlement_dry_run
from .models import EntitlementRule, Invitation, InvitationRule, OptOut, Proposal
from .services import rule_dry_run


@admin.register(InvitationRule)
class InvitationRuleAdmin(admin.ModelAdmin):
    """Rules are edited here; the dry-run action says whom a rule would invite today (masked)
    before it is switched on."""

    list_display = ["code", "name", "trigger", "bundle", "status", "lead_days"]
    list_filter = ["trigger", "status"]
    search_fields = ["code", "name"]
    actions = ["dry_run"]

    @admin.action(description=_("Preview: whom would this rule invite today (nothing is sent)"))
    def dry_run(self, request, queryset):
        for rule in queryset.select_related("bundle"):
            result = rule_dry_run(rule)
            text = ngettext(
                "%(rule)s: this rule would invite %(count)d person today.",
                "%(rule)s: this rule would invite %(count)d people today.",
                result.count,
            ) % {"rule": rule.code, "count": result.count}
            if result.unreachable:
                text += " " + ngettext(
                    "%(n)d more has neither an account nor a mobile number.",
                    "%(n)d more have neither an account nor a mobile number.",
                    result.unreachable,
                ) % {"n": result.unreachable}
            if result.sample:
                text += " " + "、".join(f"{s['name']} {s['id_number']}" for s in result.sample)
            self.message_user(request, text, messages.INFO)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: what was sent, and whether the person started and submitted."""

    list_display = ["rule", "person_name", "trigger_key", "sent_at", "started_at", "application"]
    list_filter = ["rule"]
    exclude = ["prefill", "phone", "person_hash", "token"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["rule", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(EntitlementRule)
class EntitlementRuleAdmin(admin.ModelAdmin):
    """免申即享 rules are edited here; the dry-run action says to whom a rule would propose its
    item today (masked) before it is switched on. Nothing is created."""

    list_display = ["code", "name", "item", "source", "status", "objection_days"]
    list_filter = ["status"]
    search_fields = ["code", "name"]
    actions = ["dry_run"]

    @admin.action(
        description=_("Preview: to whom would this rule propose today (nothing is created)")
    )
    def dry_run(self, request, queryset):
        for rule in queryset.select_related("item"):
            result = entitlement_dry_run(rule)
            text = ngettext(
                "%(rule)s: this rule would propose %(item)s to %(count)d person today.",
                "%(rule)s: this rule would propose %(item)s to %(count)d people today.",
                result.count,
            ) % {"rule": rule.code, "item": rule.item.name_zh, "count": result.count}
            if result.sample:
                text += " " + "、".join(f"{s['name']} {s['id_number']}" for s in result.sample)
            self.message_user(request, text, messages.INFO)


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """Read-only: what each rule proposed, and whether the person objected."""

    list_display = ["rule", "application", "proposed_at", "objection_due", "objected_at"]
    list_filter = ["rule"]
    exclude = ["facts", "person_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
