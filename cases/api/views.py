"""Cases REST API. Every queryset starts from cases.selectors (visibility); every write goes
through cases.services (lifecycle, timeline, audit)."""

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from cases import custom_fields, roles, selectors, services, task_selectors
from cases import techniques as case_techniques
from cases.api import serializers as s
from cases.api.pagination import CaseCursorPagination, NewestFirstCursorPagination
from cases.api.permissions import CanReadAuditLog, ReadOnlyForAuditors
from cases.filtersets import CaseFilter
from cases.models import AuditLog, Case, CaseEvent, Note, Resolution, Tag
from cases.services_bulk import bulk_message, bulk_update_cases, merge_cases
from soar.filters import FilterBackend

CASE_FILTER_BACKENDS = [DjangoFilterBackend, OrderingFilter, SearchFilter]


def default_team_for(user, team):
    """The team a new case goes to; non-admins may only open cases for their own teams."""
    if roles.is_admin(user):
        return team
    mine = selectors.teams_for(user)
    if team is None:
        team = mine.first()
        if team is None:
            raise exceptions.ValidationError({"team": ["You belong to no team; ask an admin."]})
    elif not mine.filter(pk=team.pk).exists():
        raise exceptions.ValidationError({"team": ["You can only open cases for your own teams."]})
    return team


@extend_schema_view(
    list=extend_schema(summary="Cases visible to you (filters, ordering, cursor pagination)", tags=["cases"]),
    retrieve=extend_schema(summary="One case", tags=["cases"]),
)
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ReadOnlyForAuditors]
    filter_backends = CASE_FILTER_BACKENDS
    filterset_class = CaseFilter
    ordering_fields = ["created_at", "updated_at", "id", "severity_rank"]
    ordering = ["-created_at"]
    search_fields = ["title"]
    pagination_class = CaseCursorPagination
    serializer_class = s.CaseListSerializer
    queryset = Case.objects.none()  # for the schema; get_queryset is what runs

    def get_queryset(self):
        return selectors.queue_rows(selectors.visible_cases(self.request.user))

    def get_serializer_class(self):
        return s.CaseDetailSerializer if self.action == "retrieve" else s.CaseListSerializer

    def get_object(self):
        # 404 for cases of other teams (no IDOR), 403 for a visible case one may not change.
        case = selectors.get_visible_case(self.request.user, self.kwargs["pk"])
        if self.request.method not in SAFE_METHODS and not selectors.can_change_case(self.request.user, case):
            raise exceptions.PermissionDenied("You may not change this case.")
        return case

    def detail_payload(self, case):
        case = self.get_queryset().filter(pk=case.pk).first()
        case.alert_count = case.alerts.count()
        case.observable_count = case.observables.count()
        case.can_change = selectors.can_change_case(self.request.user, case)
        case.allowed_transitions = list(selectors.allowed_transitions(self.request.user, case))
        return s.CaseDetailSerializer(case, context=self.get_serializer_context()).data

    def retrieve(self, request, *args, **kwargs):
        return Response(self.detail_payload(self.get_object()))

    @extend_schema(request=s.CaseCreateSerializer, responses={201: s.CaseDetailSerializer}, tags=["cases"],
                   summary="Open a case by hand")
    def create(self, request):
        data = self._valid(s.CaseCreateSerializer)
        team = default_team_for(request.user, data.get("team"))
        template = task_selectors.find_template(data["template"]) if data["template"] else None
        if data["template"] and template is None:
            raise exceptions.ValidationError({"template": ["No such active case template."]})
        with transaction.atomic():  # refused custom fields open no case
            case = services.open_case(title=data["title"], description=data["description"],
                                      severity=data["severity"], team=team, actor=request.user, actor_label="",
                                      template_id=template.pk if template else None)
            if data.get("custom_fields"):
                case = custom_fields.set_custom_fields(case, data["custom_fields"], actor=request.user)
        return Response(self.detail_payload(case), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CaseUpdateSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Edit title, description, severity, team or custom fields")
    def partial_update(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.CaseUpdateSerializer)
        fields = {k: v for k, v in data.items() if k in services.EDITABLE_FIELDS}
        with transaction.atomic():  # refused custom fields leave the other fields unchanged too
            if fields:
                case = services.update_case(case, actor=request.user, **fields)
            if "team" in data:
                case = services.set_case_team(case, data["team"], actor=request.user)
            if "custom_fields" in data:
                case = custom_fields.set_custom_fields(case, data["custom_fields"], actor=request.user)
        return Response(self.detail_payload(case))

    @extend_schema(request=s.TransitionSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Move the case along its lifecycle (409 if not allowed; RESOLVED needs resolution "
                           "and summary, 400 with field errors without them)")
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.TransitionSerializer)
        case = services.transition_case(case, data["status"], actor=request.user, reason=data["reason"],
                                        resolution=data["resolution"], summary=data["summary"])
        return Response(self.detail_payload(case))

    @extend_schema(request=s.ResolveSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Resolve from any open status with a verdict (skipped steps go on the timeline)")
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.ResolveSerializer)
        case = services.resolve_case(case, resolution=data["resolution"], summary=data["summary"],
                                     actor=request.user)
        return Response(self.detail_payload(case))

    @extend_schema(request=s.AssignSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Assign (or unassign with null)")
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.AssignSerializer)
        case = services.assign_case(case, data["assignee"], actor=request.user)
        return Response(self.detail_payload(case))

    @extend_schema(request=s.TagChangeSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Add and/or remove tags")
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.TagChangeSerializer)
        case = services.change_tags(case, add=data["add"], remove=data["remove"], actor=request.user)
        return Response(self.detail_payload(case))

    @extend_schema(methods=["GET"], responses=s.NoteSerializer(many=True), tags=["cases"], summary="Notes")
    @extend_schema(methods=["POST"], request=s.NoteCreateSerializer, responses={201: s.NoteSerializer},
                   tags=["cases"], summary="Add a note (markdown)")
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def notes(self, request, pk=None):
        case = self.get_object()
        if request.method == "GET":
            notes = Note.objects.filter(case=case).select_related("author")
            return Response(s.NoteSerializer(notes, many=True).data)
        data = self._valid(s.NoteCreateSerializer)
        note = services.add_note(case, data["body"], actor=request.user)
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.CaseEventSerializer(many=True), tags=["cases"],
                   summary="Timeline: alerts, status changes, assignments, notes, evidence, runs (oldest first; "
                           "?order=newest for newest first)",
                   parameters=[OpenApiParameter("order", str, enum=["oldest", "newest"], required=False)])
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request, pk=None):
        case = self.get_object()
        newest = request.query_params.get("order") == "newest"
        order = ("-created_at", "-id") if newest else ("created_at", "id")
        events = CaseEvent.objects.filter(case=case).select_related("actor").order_by(*order)
        return Response(s.CaseEventSerializer(events, many=True).data)

    @extend_schema(request=s.MergeSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Merge this case into the target case (one transaction)")
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.MergeSerializer)
        target = selectors.get_visible_case(request.user, data["target"])
        if not selectors.can_change_case(request.user, target):
            raise exceptions.PermissionDenied("You may not change the target case.")
        target = merge_cases(case, target, actor=request.user)
        return Response(self.detail_payload(target))

    @extend_schema(request=s.ShareSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Share the case with a user (guardian object permissions), or revoke")
    @action(detail=True, methods=["post"])
    def share(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.ShareSerializer)
        user = services.find_user(data["user"])
        if user is None:
            raise exceptions.ValidationError({"user": ["No such user."]})
        if data["revoke"]:
            case = services.unshare_case(case, user, actor=request.user)
        else:
            case = services.share_case(case, user, actor=request.user, can_change=data["can_change"])
        return Response(self.detail_payload(case))

    @extend_schema(request=s.BulkSerializer, responses=s.BulkResultSerializer, tags=["cases"],
                   summary="Assign, change status, resolve or tag many cases; per-case results (skips say why)")
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request):
        data = self._valid(s.BulkSerializer)
        results = bulk_update_cases(request.user, data["ids"], data["action"], assignee=data["assignee"],
                                    status=data["status"], reason=data["reason"], tags=data["tags"],
                                    resolution=data["resolution"], summary=data["summary"])
        ok = sum(1 for value in results.values() if value == "ok")
        return Response({"results": {str(k): v for k, v in results.items()}, "ok": ok, "failed": len(results) - ok,
                         "message": bulk_message(data["action"], results)})

    # issue 18: MITRE ATT&CK on a case (audit and timeline through cases.techniques).
    @extend_schema(request=s.TechniqueChangeSerializer, responses=s.CaseDetailSerializer, tags=["cases"],
                   summary="Add (POST) or remove (DELETE) an ATT&CK technique (400 for an unknown id)")
    @action(detail=True, methods=["post", "delete"])
    def techniques(self, request, pk=None):
        case = self.get_object()
        data = self._valid(s.TechniqueChangeSerializer)
        if request.method == "POST":
            case_techniques.add_technique(case, data["technique"], actor=request.user)
        else:
            case_techniques.remove_technique(case, data["technique"], actor=request.user)
        return Response(self.detail_payload(case))

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema(tags=["cases"])
class NoteViewSet(viewsets.ReadOnlyModelViewSet):
    """Notes on the cases you can see (add notes with POST /cases/{id}/notes; their author edits
    them with PATCH, the earlier texts are at /notes/{id}/revisions)."""

    serializer_class = s.NoteSerializer
    permission_classes = [IsAuthenticated, ReadOnlyForAuditors]
    pagination_class = NewestFirstCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["case"]
    queryset = Note.objects.none()

    def get_queryset(self):
        return Note.objects.filter(case__in=selectors.visible_cases(self.request.user).values("pk")) \
            .select_related("author")

    @extend_schema(request=s.NoteCreateSerializer, responses=s.NoteSerializer,
                   summary="Edit your own note (403 for someone else's); the old text is kept")
    def partial_update(self, request, pk=None):
        note = self.get_object()
        serializer = s.NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.edit_note(note, serializer.validated_data["body"], actor=request.user)
        return Response(s.NoteSerializer(note).data)

    @extend_schema(responses=s.NoteRevisionSerializer(many=True), summary="Earlier texts of a note, newest first")
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def revisions(self, request, pk=None):
        note = self.get_object()
        return Response(s.NoteRevisionSerializer(note.revisions.select_related("edited_by"), many=True).data)


@extend_schema(tags=["cases"])
class ResolutionViewSet(viewsets.ReadOnlyModelViewSet):
    """The verdicts a case can be resolved with (admins add more in the admin)."""

    serializer_class = s.ResolutionSerializer
    pagination_class = None
    queryset = Resolution.objects.filter(active=True)


@extend_schema(tags=["cases"])
class TimelineViewSet(viewsets.ReadOnlyModelViewSet):
    """Timeline entries of the cases you can see, newest first (per case: /cases/{id}/timeline)."""

    serializer_class = s.CaseEventSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["case", "kind"]
    queryset = CaseEvent.objects.none()

    def get_queryset(self):
        return CaseEvent.objects.filter(case__in=selectors.visible_cases(self.request.user).values("pk")) \
            .select_related("actor")


@extend_schema(tags=["cases"])
class TagViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.TagSerializer
    permission_classes = [IsAuthenticated, ReadOnlyForAuditors]
    filter_backends = [SearchFilter]
    search_fields = ["name"]
    queryset = Tag.objects.all()

    def perform_create(self, serializer):
        name = services.clean_tag_names([serializer.validated_data["name"]], field="name")
        if not name:
            raise exceptions.ValidationError({"name": ["A tag needs a name."]})
        tag = serializer.save(name=name[0])
        services.record_audit("tag.create", tag, actor=self.request.user, after={"name": tag.name})


@extend_schema(tags=["audit"])
class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """Append-only audit trail. Auditors and admins read all of it; SOC leads read the
    entries about cases they can see and their own actions."""

    serializer_class = s.AuditLogSerializer
    permission_classes = [IsAuthenticated, CanReadAuditLog]
    pagination_class = NewestFirstCursorPagination
    filter_backends = [FilterBackend, SearchFilter]  # date-times in UTC: PostgreSQL refuses some offsets
    filterset_fields = {"action": ["exact"], "object_type": ["exact"], "object_id": ["exact"],
                        "actor": ["exact"], "created_at": ["gte", "lte"]}
    search_fields = ["object_repr", "request_id"]
    queryset = AuditLog.objects.none()

    def get_queryset(self):
        return selectors.visible_audit_log(self.request.user).select_related("actor")
