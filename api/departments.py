"""Other departments over the API (`Authorization: Bearer kbd_…`): the requests the bureau's
reviewers sent them, and their answers. Their item cases are worked with the staff case
endpoints (/api/v1/cases/…), as their service account is a reviewer of their unit. Anyone but
a department's client (a session, a personal token, the platform): 404."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bundles.services import handling
from kuaiban.accounts import security_log
from kuaiban.cases.models import OPEN_CASE_STATES, DepartmentRequest
from kuaiban.departments.authentication import calling_client
from kuaiban.departments.models import DepartmentClient
from kuaiban.web import or_404

from .common import run

# The schema's security for these endpoints: a department's client credential only (a list of
# security requirements, as the schema writes them; the stubs say a list of names).
ONLY_DEPARTMENTS: Any = [{"departmentClient": []}]


class Departments(permissions.BasePermission):
    """A department's client (else 404; anonymous 401)."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        client = calling_client(request)
        if client is None or client.kind != DepartmentClient.Kind.DEPARTMENT:
            security_log.permission_refused(request._request)
            raise exceptions.NotFound()
        return True


def open_requests(user):
    """The open requests sent to the caller's unit, on cases still open."""
    return DepartmentRequest.objects.filter(
        department_id=user.unit_id,
        replied_at__isnull=True,
        item_case__state__in=OPEN_CASE_STATES,
    ).select_related("item_case__application", "item_case__item", "item_case__unit", "department")


class RequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="item_case_id")
    reference = serializers.CharField(source="item_case.application.reference")
    item = serializers.CharField(source="item_case.item.code")
    requested_by = serializers.CharField(
        source="item_case.unit.code", help_text=_("The bureau unit handling the case.")
    )
    question = serializers.CharField()
    sent_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    replied_at = serializers.DateTimeField(allow_null=True)
    reply = serializers.CharField()


class AnswerBody(serializers.Serializer):
    reply = serializers.CharField(max_length=4000)


@extend_schema(tags=["departments"], auth=ONLY_DEPARTMENTS)
class RequestList(generics.ListAPIView):
    """The open requests addressed to the caller's department, oldest due first."""

    permission_classes = [Departments]
    serializer_class = RequestSerializer

    def get_queryset(self):
        return open_requests(self.request.user).order_by("due_at", "id")


@extend_schema(tags=["departments"], auth=ONLY_DEPARTMENTS)
class RequestAnswer(APIView):
    """Answer a request once: the requesting case goes back to review."""

    permission_classes = [Departments]

    @extend_schema(request=AnswerBody, responses={200: RequestSerializer})
    def post(self, request, request_id: int):
        addressed = or_404(open_requests(request.user).filter(pk=request_id).first())
        given = AnswerBody(data=request.data)
        given.is_valid(raise_exception=True)
        answered = run(
            request,
            lambda: handling.department_request_answer(
                request=addressed, actor=request.user, reply=given.validated_data["reply"]
            ),
        )
        return Response(RequestSerializer(answered).data)
