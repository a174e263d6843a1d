"""Evidence API: list and upload a case's files (multipart), read one file's hashes, download
it (always an attachment). Every endpoint starts from the cases the user may see (404
otherwise); uploading needs change access (403; read tokens and auditors are refused)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import get_visible_case
from evidence import selectors, services
from evidence.api.serializers import EvidenceFileSerializer, EvidenceUploadSerializer
from evidence.views import attachment_response, refuse_oversized_request


class CaseEvidenceView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=EvidenceFileSerializer(many=True))
    def get(self, request, case_id: int):
        case = get_visible_case(request.user, case_id)
        return Response(EvidenceFileSerializer(selectors.case_evidence(case), many=True).data)

    @extend_schema(request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceFileSerializer})
    def post(self, request, case_id: int):
        case = get_visible_case(request.user, case_id)
        refuse_oversized_request(request)
        body = EvidenceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        evidence = services.upload_evidence(case, body.validated_data["file"], actor=request.user,
                                            description=body.validated_data.get("description", ""))
        return Response(EvidenceFileSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceDetailView(APIView):
    @extend_schema(responses=EvidenceFileSerializer)
    def get(self, request, evidence_id: int):
        return Response(EvidenceFileSerializer(selectors.get_visible_evidence(request.user, evidence_id)).data)


class EvidenceDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The file's bytes.")})
    def get(self, request, evidence_id: int):
        evidence = selectors.get_visible_evidence(request.user, evidence_id)
        return attachment_response(evidence, services.open_for_download(evidence, actor=request.user))
