"""The programme's figures for the provincial platform and supervisors: the dashboard's own
figures (`acceptance.page_cache.dashboard_cached`, so the API and the page cannot disagree), for
a period and a bundle, item, unit, hall or district given by code. A district supervisor sees
their district only, as on the page."""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from acceptance.models import DASHBOARD_FIGURES
from acceptance.page_cache import dashboard_cached
from acceptance.selectors.common import Period, default_period
from kuaiban.accounts.models import Role
from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit

from .common import user_kind

Supervisors = user_kind(lambda user: user.role in (Role.SUPERVISOR, Role.ADMINISTRATOR))
MAX_DAYS = 3 * 366


def _code(model, **extra):
    return serializers.SlugRelatedField(
        slug_field="code", queryset=model.objects.all(), required=False, **extra
    )


class MetricsQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text=_("First day (default: 30 days ago)"))
    end = serializers.DateField(required=False, help_text=_("Last day (default: today)"))
    bundle = _code(Bundle)
    item = _code(ServiceItem)
    unit = _code(Unit)
    hall = _code(ServiceHall)
    district = _code(District)

    def validate(self, attrs):
        today = timezone.localdate()
        start, end = attrs.get("start"), attrs.get("end")
        if start and not end:
            end = min(start + timedelta(days=29), today)
        period = Period(start or end - timedelta(days=29), end) if end else default_period(today)
        if period.start > period.end:
            raise serializers.ValidationError(_("The period must end after it starts."))
        if period.days > MAX_DAYS:
            raise serializers.ValidationError(_("Choose a period of at most three years."))
        attrs["period"] = period
        return attrs


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    value = serializers.IntegerField()
    last_week = serializers.IntegerField()
    week_before = serializers.IntegerField()


class UnitFiguresSerializer(serializers.Serializer):
    unit = serializers.CharField(source="unit.code")
    accepted = serializers.IntegerField()
    concluded = serializers.IntegerField()
    on_time = serializers.IntegerField()
    completed_late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    breaches = serializers.IntegerField()
    statutory_mode = serializers.IntegerField()
    paused = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)


class HandlingSerializer(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    decided = serializers.IntegerField()
    measure = serializers.CharField()
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    start = serializers.DateField(source="period.start")
    end = serializers.DateField(source="period.end")
    figures = serializers.SerializerMethodField()
    units = UnitFiguresSerializer(many=True)
    handling = HandlingSerializer(many=True)
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the rollup the figures come from was refreshed.")
    )

    @extend_schema_field(FigureSerializer(many=True))
    def get_figures(self, board) -> Any:
        shown = [f for f in board.figures if f.key in DASHBOARD_FIGURES]
        return FigureSerializer(shown, many=True).data


@extend_schema(tags=["metrics"])
class Metrics(APIView):
    permission_classes = [Supervisors]

    @extend_schema(parameters=[MetricsQuery], responses={200: MetricsSerializer})
    def get(self, request):
        query = MetricsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = {
            name: data[name].pk
            for name in ("bundle", "item", "unit", "hall", "district")
            if data.get(name) is not None
        }
        if request.user.district_id:
            filters["district"] = request.user.district_id
        board = dashboard_cached(filters, data["period"])
        return Response(MetricsSerializer(board).data)
