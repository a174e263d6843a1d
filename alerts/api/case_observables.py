"""The observables of one case with what the case says about them (IOC, sighted, TLP, tags,
description) and where else they were seen (``alerts.observable_intel``), the change of those
attributes and observables added by hand (``alerts.observable_services``). 404 for a case the
user may not see."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import observable_intel, observable_services
from alerts.models import CaseObservable
from cases.selectors import get_visible_case


class CaseObservableSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    value = serializers.CharField()
    ioc = serializers.BooleanField()
    sighted = serializers.BooleanField()
    sighted_at = serializers.DateTimeField(allow_null=True)
    tlp = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    seen_in_cases = serializers.ListField(child=serializers.IntegerField(),
                                          help_text="The newest other cases holding it that you may open.")
    seen_in_count = serializers.IntegerField(help_text="Other cases holding it that you may open.")
    hidden_count = serializers.IntegerField(allow_null=True,
                                            help_text="Other cases you may not open; null unless the policy shows it.")


class CaseObservableCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=32, help_text="An active observable type (the admin's Observable types).")
    value = serializers.CharField(max_length=2048, help_text="Checked by the type's normalisation and regex.")


class CaseObservableUpdateSerializer(serializers.Serializer):
    ioc = serializers.BooleanField(required=False)
    sighted = serializers.BooleanField(required=False)
    sighted_at = serializers.DateTimeField(required=False)
    tlp = serializers.ChoiceField(choices=CaseObservable.Tlp.choices, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


def _item(row: observable_intel.ObservableRow) -> dict:
    attrs = row.attributes
    return {
        "id": row.observable.pk, "type": row.observable.type, "value": row.observable.value,
        "ioc": bool(attrs and attrs.ioc), "sighted": bool(attrs and attrs.sighted),
        "sighted_at": attrs.sighted_at if attrs else None,
        "tlp": attrs.tlp if attrs else CaseObservable.Tlp.AMBER.value,
        "tags": list(attrs.tags) if attrs else [], "description": attrs.description if attrs else "",
        "seen_in_cases": row.seen.case_ids, "seen_in_count": row.seen.visible, "hidden_count": row.seen.hidden,
    }


class CaseObservableListView(APIView):
    @extend_schema(tags=["cases"], responses=CaseObservableSerializer(many=True))
    def get(self, request, case_id: int):
        """The case's observables (at most 200, by type and value) with their attributes."""
        case = get_visible_case(request.user, case_id)
        rows = observable_intel.case_observable_rows(request.user, case)
        return Response(CaseObservableSerializer([_item(r) for r in rows], many=True).data)

    @extend_schema(tags=["cases"], request=CaseObservableCreateSerializer, responses={201: CaseObservableSerializer})
    def post(self, request, case_id: int):
        """Add an observable by hand: any active type; 400 with a ``type`` or ``value`` error otherwise."""
        case = get_visible_case(request.user, case_id)
        body = CaseObservableCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        observable = observable_services.add_case_observable(case, body.validated_data["type"],
                                                             body.validated_data["value"], actor=request.user)
        rows = observable_intel.case_observable_rows(request.user, case, observable_ids=[observable.pk])
        return Response(CaseObservableSerializer(_item(rows[0])).data, status=201)


class CaseObservableDetailView(APIView):
    @extend_schema(tags=["cases"], request=CaseObservableUpdateSerializer, responses=CaseObservableSerializer)
    def patch(self, request, case_id: int, observable_id: int):
        """Set what the case says about one of its observables (only the fields sent change)."""
        case = get_visible_case(request.user, case_id)
        body = CaseObservableUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        observable_services.update_case_observable(case, observable_id, actor=request.user, **body.validated_data)
        rows = observable_intel.case_observable_rows(request.user, case, observable_ids=[observable_id])
        return Response(CaseObservableSerializer(_item(rows[0])).data)
