"""Enrichment API. Every endpoint starts from the cases the user may see (404 otherwise) and
checks ``can_change_case`` before running anything (403)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.selectors import observable_in_cases
from cases.selectors import can_change_case, get_visible_case, visible_cases
from enrichment import services, tasks
from enrichment.api.serializers import (
    EnrichmentResultSerializer,
    ProviderSerializer,
    RunAcceptedSerializer,
    RunEnrichmentSerializer,
)
from enrichment.models import EnrichmentResult
from enrichment.providers.registry import build_providers
from enrichment.selectors import results_for_cases
from soar import errors


def _int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.InvalidInput("A valid integer is required.", field=name) from None
    if number < 1:
        raise errors.InvalidInput("A valid integer is required.", field=name)
    return number

class RunCaseEnrichmentView(APIView):
    """Queue enrichment of a case's observables (runs at once in embedded mode)."""

    @extend_schema(request=RunEnrichmentSerializer, responses={202: RunAcceptedSerializer})
    def post(self, request, case_id: int):
        case = get_visible_case(request.user, case_id)
        if not can_change_case(request.user, case):
            raise errors.NotAllowed("You may not change this case.")
        services.ensure_enrichable(case)  # 409 for a merged, read-only case
        body = RunEnrichmentSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        case_observables = set(case.observables.values_list("id", flat=True))
        wanted = body.validated_data.get("observable_ids")
        if wanted is not None:
            unknown = sorted(set(wanted) - case_observables)
            if unknown:
                raise errors.InvalidInput(f"Not observables of this case: {unknown[:20]}", field="observable_ids")
        count = len(wanted) if wanted is not None else len(case_observables)
        tasks.enrich_case.delay(case.pk, observable_ids=wanted, provider_keys=body.validated_data.get("providers"),
                                force=True, actor_id=request.user.pk)
        return Response({"case": case.pk, "queued": True, "observables": count}, status=status.HTTP_202_ACCEPTED)

@extend_schema(parameters=[
    OpenApiParameter("case", int, description="Only this case's evidence"),
    OpenApiParameter("observable", int), OpenApiParameter("provider", str), OpenApiParameter("verdict", str),
])
class ResultListView(generics.ListAPIView):
    serializer_class = EnrichmentResultSerializer
    filter_backends: list = []

    def get_queryset(self):
        cases = visible_cases(self.request.user)
        case_id = _int_param(self.request, "case")
        if case_id is not None:
            cases = cases.filter(pk=get_visible_case(self.request.user, case_id).pk)
        results = results_for_cases(cases)
        observable_id = _int_param(self.request, "observable")
        if observable_id is not None:
            results = results.filter(observable_id=observable_id)
        for name in ("provider", "verdict"):
            if self.request.query_params.get(name):
                results = results.filter(**{name: self.request.query_params[name]})
        return results

class ObservableEnrichmentView(APIView):
    """GET: the evidence about one observable on cases you can see. POST: look it up now
    (synchronously, without attaching to a case) if it belongs to a case you can change."""

    def _observable(self, request, observable_id: int):
        observable = observable_in_cases(observable_id, visible_cases(request.user))
        if observable is None:
            raise Http404("No such observable.")
        return observable

    @extend_schema(responses={200: EnrichmentResultSerializer(many=True)})
    def get(self, request, observable_id: int):
        observable = self._observable(request, observable_id)
        results = list(EnrichmentResult.objects.filter(observable=observable)
                       .filter(case__in=visible_cases(request.user)).select_related("observable")[:200])
        return Response(EnrichmentResultSerializer(results, many=True).data)

    @extend_schema(request=RunEnrichmentSerializer, responses={200: EnrichmentResultSerializer(many=True)})
    def post(self, request, observable_id: int):
        observable = self._observable(request, observable_id)
        holding = visible_cases(request.user).filter(observables=observable)
        if not any(can_change_case(request.user, c) for c in holding):
            raise errors.NotAllowed("You may not change any case holding this observable.")
        body = RunEnrichmentSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        results = services.enrich_observables([observable.pk], provider_keys=body.validated_data.get("providers"),
                                              force=True, actor=request.user)
        return Response(EnrichmentResultSerializer(results, many=True).data)

class ProviderListView(APIView):
    @extend_schema(responses={200: ProviderSerializer(many=True)})
    def get(self, request):
        data = [{"key": p.key, "name": p.name, "observable_types": list(p.observable_types),
                 "requires_network": p.requires_network, "enabled": bool(p.config.enabled)}
                for p in build_providers(include_disabled=True)]
        return Response(ProviderSerializer(data, many=True).data)
