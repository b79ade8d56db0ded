"""An applicant's own applications: list, status with each item case, result documents once
released. Anyone else's reference is 404. The same reads as the status page."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers

from bundles import selectors
from kuaiban.documents.selectors import documents_released
from kuaiban.web import or_404

from .common import Applicants


class SubjectSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ApplicationSummarySerializer(serializers.Serializer):
    reference = serializers.CharField()
    subject = SubjectSerializer()
    state = serializers.CharField()
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    concluded_at = serializers.DateTimeField(allow_null=True)


class CaseStatusSerializer(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="unit.code")
    stage = serializers.IntegerField()
    state = serializers.CharField()
    committed_due_at = serializers.DateTimeField(allow_null=True)
    paused = serializers.SerializerMethodField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    legal_basis = serializers.CharField()

    def get_paused(self, case) -> bool:
        return case.paused_since is not None


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    item = serializers.CharField(source="item_case.item.code", allow_null=True, default=None)
    issued_at = serializers.DateTimeField()
    pdf = serializers.SerializerMethodField()

    def get_pdf(self, document) -> str:
        return reverse("documents:download", args=[document.pk])


class ApplicationSerializer(ApplicationSummarySerializer):
    delivery = serializers.CharField()
    visit_target = serializers.CharField()
    visits = serializers.IntegerField()
    cases = CaseStatusSerializer(many=True, source="cases.all")
    documents = serializers.SerializerMethodField()

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, application) -> Any:
        return DocumentSerializer(documents_released(application), many=True).data


@extend_schema(tags=["applicant"])
class ApplicationList(generics.ListAPIView):
    """The caller's own applications, newest first."""

    permission_classes = [Applicants]
    serializer_class = ApplicationSummarySerializer

    def get_queryset(self):
        return selectors.applications_of(self.request.user)


@extend_schema(tags=["applicant"])
class ApplicationDetail(generics.RetrieveAPIView):
    """One of the caller's applications: where each item case stands, and the results."""

    permission_classes = [Applicants]
    serializer_class = ApplicationSerializer

    def get_object(self):
        own = or_404(
            selectors.application_for_applicant(self.request.user, self.kwargs["reference"])
        )
        return selectors.application_status(own)
