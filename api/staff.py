"""Staff over the API: a reviewer's (or a department's) queue of its unit's open cases, one case,
and the case actions; a window clerk's intake queue, accepting and returning. Each action calls
the same service as the desk's button, so the rules, the event log and the clocks are the
pages'. Another unit's case, another window's application: 404."""

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bundles.services import handling, intake
from kuaiban.accounts.identity import mask_name
from kuaiban.accounts.models import Role
from kuaiban.cases.clocks import read_clock
from kuaiban.cases.models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationState,
    CasePause,
    DepartmentRequest,
    ItemCase,
)
from kuaiban.catalog.models import Material, Unit
from kuaiban.web import or_404

from .common import run, user_kind

Reviewers = user_kind(lambda user: user.role == Role.REVIEWER and user.unit_id is not None)
Clerks = user_kind(lambda user: user.role == Role.CLERK)


# -- reads -------------------------------------------------------------------------------------


def unit_cases(user):
    return ItemCase.objects.filter(unit_id=user.unit_id).select_related(
        "item", "unit", "application__bundle", "application__item", "application__applicant"
    )


class MaterialHeldSerializer(serializers.Serializer):
    material = serializers.CharField(source="material.code")
    name = serializers.CharField(source="material.name")
    provision = serializers.CharField()
    provided_at = serializers.DateTimeField()


class DepartmentRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    department = serializers.CharField(source="department.code")
    question = serializers.CharField()
    sent_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    replied_at = serializers.DateTimeField(allow_null=True)
    reply = serializers.CharField()


class CaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(source="application.reference")
    bundle = serializers.CharField(source="application.bundle.code", allow_null=True, default=None)
    item = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="unit.code")
    stage = serializers.IntegerField()
    state = serializers.CharField()
    applicant = serializers.SerializerMethodField(
        help_text=_("Masked: the full name is on the desk's case page.")
    )
    accepted_at = serializers.DateTimeField(allow_null=True)
    committed_due_at = serializers.DateTimeField(allow_null=True)
    statutory_due_at = serializers.DateTimeField(allow_null=True)
    statutory_mode = serializers.BooleanField()
    clock = serializers.SerializerMethodField(help_text=_("green, yellow, orange, red or none"))
    decided_at = serializers.DateTimeField(allow_null=True)
    actions = serializers.SerializerMethodField()

    def get_applicant(self, case) -> str:
        return mask_name(case.application.applicant.real_name)

    def get_clock(self, case) -> str:
        return read_clock(case, timezone.now()).colour

    def get_actions(self, case) -> list[str]:
        """The state machine's next steps (the transitions' names)."""
        return sorted(t.name for t in case.get_available_state_transitions())


class CaseDetailSerializer(CaseSerializer):
    materials = MaterialHeldSerializer(many=True, source="application.materials.all")
    department_requests = DepartmentRequestSerializer(many=True, source="department_requests.all")


@extend_schema(tags=["staff"])
class CaseList(generics.ListAPIView):
    """The unit's open cases, nearest committed due time first."""

    permission_classes = [Reviewers]
    serializer_class = CaseSerializer

    def get_queryset(self):
        return (
            unit_cases(self.request.user)
            .filter(state__in=OPEN_CASE_STATES)
            .order_by(F("committed_due_at").asc(nulls_last=True), "id")
        )


def case_of_unit(request, case_id: int) -> ItemCase:
    return or_404(
        unit_cases(request.user)
        .prefetch_related("application__materials__material", "department_requests__department")
        .filter(pk=case_id)
        .first()
    )


@extend_schema(tags=["staff"])
class CaseDetail(generics.RetrieveAPIView):
    permission_classes = [Reviewers]
    serializer_class = CaseDetailSerializer

    def get_object(self):
        return case_of_unit(self.request, self.kwargs["case_id"])


# -- case actions ------------------------------------------------------------------------------


class NoBody(serializers.Serializer):
    pass


class ReasonBody(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class DenyBody(ReasonBody):
    legal_basis = serializers.CharField(max_length=300)


class PauseBody(ReasonBody):
    kind = serializers.ChoiceField(choices=CasePause.Kind.choices)


class NoteBody(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class DepartmentRequestBody(serializers.Serializer):
    department = serializers.SlugRelatedField(
        slug_field="code", queryset=Unit.objects.filter(kind=Unit.Kind.EXTERNAL)
    )
    question = serializers.CharField(max_length=2000)


class DepartmentReplyBody(serializers.Serializer):
    request = serializers.IntegerField()
    reply = serializers.CharField(max_length=4000)


def _reply(case, user, data):
    request = or_404(DepartmentRequest.objects.filter(pk=data["request"], item_case=case).first())
    return handling.department_reply_record(request=request, actor=user, reply=data["reply"])


# action → (its body, the service call). The names are the desk's buttons'.
CASE_ACTIONS = {
    "start-review": (
        NoBody,
        lambda case, user, data: handling.case_start_review(case=case, actor=user),
    ),
    "approve": (NoBody, lambda case, user, data: handling.case_approve(case=case, actor=user)),
    "deny": (
        DenyBody,
        lambda case, user, data: handling.case_deny(
            case=case, actor=user, reason=data["reason"], legal_basis=data["legal_basis"]
        ),
    ),
    "pause": (
        PauseBody,
        lambda case, user, data: handling.case_pause(
            case=case, actor=user, kind=data["kind"], reason=data["reason"]
        ),
    ),
    "resume": (NoBody, lambda case, user, data: handling.case_resume(case=case, actor=user)),
    "statutory-mode": (
        ReasonBody,
        lambda case, user, data: handling.case_statutory_mode(
            case=case, actor=user, reason=data["reason"]
        ),
    ),
    "on-site-check": (
        NoteBody,
        lambda case, user, data: handling.case_on_site_check(
            case=case, actor=user, note=data["note"]
        ),
    ),
    "extension": (
        ReasonBody,
        lambda case, user, data: handling.extension_request(
            case=case, actor=user, reason=data["reason"]
        ),
    ),
    "department-request": (
        DepartmentRequestBody,
        lambda case, user, data: handling.department_request_send(
            case=case, actor=user, department=data["department"], question=data["question"]
        ),
    ),
    "department-reply": (DepartmentReplyBody, _reply),
}


def _case_action_view(action: str) -> type[APIView]:
    body, call = CASE_ACTIONS[action]

    class CaseAction(APIView):
        permission_classes = [Reviewers]

        @extend_schema(
            tags=["staff"],
            request=body,
            responses={200: CaseDetailSerializer},
            operation_id=f"case_{action.replace('-', '_')}",
            summary=action,
        )
        def post(self, request, case_id: int):
            case = case_of_unit(request, case_id)
            given = body(data=request.data)
            given.is_valid(raise_exception=True)
            run(request, lambda: call(case, request.user, given.validated_data))
            return Response(CaseDetailSerializer(case_of_unit(request, case_id)).data)

    CaseAction.__name__ = CaseAction.__qualname__ = "Case" + action.title().replace("-", "")
    return CaseAction


CASE_ACTION_VIEWS = {action: _case_action_view(action) for action in CASE_ACTIONS}


# -- one-window intake -------------------------------------------------------------------------


def clerk_applications(user):
    return (
        Application.objects.filter(Application.taken_in_by(user))
        .filter(Application.seen_at_windows())
        .select_related("bundle", "item")
    )


class IntakeSerializer(serializers.Serializer):
    reference = serializers.CharField()
    subject = serializers.CharField(source="subject.code")
    state = serializers.CharField()
    channel = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    materials = MaterialHeldSerializer(many=True, source="materials.all")


@extend_schema(tags=["staff"])
class IntakeList(generics.ListAPIView):
    """The clerk's windows' submitted applications waiting for intake, oldest first."""

    permission_classes = [Clerks]
    serializer_class = IntakeSerializer

    def get_queryset(self):
        return (
            clerk_applications(self.request.user)
            .filter(state=ApplicationState.SUBMITTED)
            .prefetch_related("materials__material")
            .order_by("submitted_at", "id")
        )


class ReturnBody(serializers.Serializer):
    materials = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Material.objects.all(), required=False
    )
    note = serializers.CharField(max_length=2000, required=False, default="")


def _intake_application(request, reference: str) -> Application:
    return or_404(clerk_applications(request.user).filter(reference=reference).first())


@extend_schema(tags=["staff"])
class IntakeAccept(APIView):
    permission_classes = [Clerks]

    @extend_schema(request=NoBody, responses={200: IntakeSerializer})
    def post(self, request, reference: str):
        application = _intake_application(request, reference)
        run(request, lambda: intake.application_accept(application=application, actor=request.user))
        return Response(IntakeSerializer(_intake_application(request, reference)).data)


@extend_schema(tags=["staff"])
class IntakeReturn(APIView):
    """Return once with the complete list of what is missing (一次性告知)."""

    permission_classes = [Clerks]

    @extend_schema(request=ReturnBody, responses={200: IntakeSerializer})
    def post(self, request, reference: str):
        application = _intake_application(request, reference)
        given = ReturnBody(data=request.data)
        given.is_valid(raise_exception=True)
        run(
            request,
            lambda: intake.application_return(
                application=application,
                actor=request.user,
                material_ids=[m.pk for m in given.validated_data.get("materials", [])],
                note=given.validated_data["note"],
            ),
        )
        return Response(IntakeSerializer(_intake_application(request, reference)).data)
