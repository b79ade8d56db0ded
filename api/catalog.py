"""The public catalog and service guides (no log-in): bundles, items with their limits and
materials, halls. The same reads as the guide pages (`kuaiban.catalog.selectors`)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from kuaiban.catalog import selectors
from kuaiban.catalog.models import ServiceHall
from kuaiban.web import or_404


class NamedSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class MaterialSerializer(NamedSerializer):
    description = serializers.CharField()
    shared_data = serializers.BooleanField(help_text=_("Fetched by the bureau; not asked for."))
    shared_source = serializers.CharField()
    data_source = serializers.CharField(
        help_text=_("The source the bureau fetches it from (empty: recorded, not fetched).")
    )
    commitment_allowed = serializers.BooleanField()
    physical = serializers.BooleanField(help_text=_("The paper original is seen at the window."))


class GuideMaterialSerializer(serializers.Serializer):
    material = MaterialSerializer()
    items = serializers.SerializerMethodField()

    def get_items(self, entry) -> list[str]:
        return [item.code for item in entry.items]


class GuideFieldsSerializer(NamedSerializer):
    channels = serializers.ListField(child=serializers.CharField())
    fee = serializers.CharField()
    result_delivery = serializers.CharField()
    progress_query = serializers.CharField()
    consultation_phone = serializers.CharField()
    complaint_channel = serializers.CharField()
    guide_version = serializers.IntegerField(allow_null=True)


class ItemSerializer(GuideFieldsSerializer):
    kind = serializers.CharField()
    unit = serializers.CharField(source="unit.code")
    window = serializers.CharField(source="window.code")
    statutory_limit = serializers.IntegerField(allow_null=True)
    statutory_unit = serializers.CharField()
    committed_limit = serializers.IntegerField(allow_null=True)
    committed_unit = serializers.CharField()
    instant_minutes = serializers.IntegerField(allow_null=True)
    extension_allowed = serializers.BooleanField()
    legal_basis = serializers.CharField()
    statutory_mode = serializers.BooleanField()
    visit_target = serializers.CharField()
    speedup_numbers = serializers.SerializerMethodField()

    def get_speedup_numbers(self, item) -> list[int]:
        return [entry.number for entry in item.speedup_entries.all()]


class ItemGuideSerializer(serializers.Serializer):
    item = ItemSerializer()
    materials = GuideMaterialSerializer(many=True)
    bundles = serializers.SerializerMethodField()

    def get_bundles(self, guide) -> list[str]:
        return [bundle.code for bundle in guide.bundles]


class BundleSerializer(GuideFieldsSerializer):
    applicant = serializers.CharField()
    lead_unit = serializers.CharField(source="lead_unit.code")
    window = serializers.CharField(source="window.code")


class BundleItemSerializer(serializers.Serializer):
    item = ItemSerializer()
    stage = serializers.IntegerField()
    condition = serializers.CharField(source="condition.code", allow_null=True, default=None)
    condition_answer = serializers.BooleanField(allow_null=True)


class QuestionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text_zh = serializers.CharField()
    text_en = serializers.CharField()


class BundleGuideSerializer(serializers.Serializer):
    bundle = BundleSerializer()
    questions = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()
    materials = GuideMaterialSerializer(many=True)
    visit_target = serializers.CharField()

    @extend_schema_field(QuestionSerializer(many=True))
    def get_questions(self, guide) -> Any:
        return QuestionSerializer(guide.bundle.questions.all(), many=True).data

    @extend_schema_field(BundleItemSerializer(many=True))
    def get_items(self, guide) -> Any:
        links = [link for _stage, links in guide.stages for link in links]
        return BundleItemSerializer(links, many=True).data


class HallSerializer(NamedSerializer):
    level = serializers.CharField()
    district = serializers.CharField(source="district.code", allow_null=True, default=None)
    address = serializers.CharField()
    windows = serializers.SerializerMethodField()

    def get_windows(self, hall) -> list[str]:
        return [window.code for window in hall.windows.all()]


class PublicMixin(generics.GenericAPIView):
    """No log-in: the guides are public (and no session is read, so no CSRF either)."""

    permission_classes = [AllowAny]
    authentication_classes = []


@extend_schema(tags=["catalog"])
class BundleList(PublicMixin, generics.ListAPIView):
    serializer_class = BundleSerializer

    def get_queryset(self):
        return selectors.published_bundles().order_by("code")


@extend_schema(tags=["catalog"])
class BundleDetail(PublicMixin, generics.RetrieveAPIView):
    serializer_class = BundleGuideSerializer

    def get_object(self):
        return or_404(selectors.bundle_guide(self.kwargs["code"]))


@extend_schema(tags=["catalog"])
class ItemList(PublicMixin, generics.ListAPIView):
    serializer_class = ItemSerializer

    def get_queryset(self):
        return selectors.published_items()


@extend_schema(tags=["catalog"])
class ItemDetail(PublicMixin, generics.RetrieveAPIView):
    serializer_class = ItemGuideSerializer

    def get_object(self):
        return or_404(selectors.item_guide(self.kwargs["code"]))


@extend_schema(tags=["catalog"])
class HallList(PublicMixin, generics.ListAPIView):
    serializer_class = HallSerializer

    def get_queryset(self):
        return (
            ServiceHall.objects.select_related("district")
            .prefetch_related("windows")
            .order_by("code")
        )
