"""JSON API for contacts, contact groups and the contacts CSV import. Any member reads; owners
and admins write. Thin: services and selectors do the work."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import error_response, service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.errors import ServiceError
from messaging.api import PAGE_PARAMETERS, MessagePagination
from messaging.contacts import csv_io, selectors, services
from messaging.contacts.serializers import (
    ContactGroupInputSerializer,
    ContactGroupSerializer,
    ContactInputSerializer,
    ContactListQuerySerializer,
    ContactPageSerializer,
    ContactSerializer,
    ContactSettingsInputSerializer,
    ContactSettingsSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
)
from messaging.models import ConsentSource
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationMember
from organizations.request_context import api_membership, client_ip

PERMISSIONS = [IsAuthenticated, IsOrganizationMember, IsManagerOrReadOnly]
WRITE_ERRORS = (*ORGANIZATION_ERRORS,)
D403 = "Only owners and admins can change contacts (or the user belongs to no organization)."


def _not_found(what: str) -> Response:
    return error_response(
        f"No such {what}.", status_code=status.HTTP_404_NOT_FOUND, code="not_found"
    )


def _run(action, *args, **kwargs):
    """Runs a service; a refusal becomes the API's error response (returned as the 2nd item)."""
    try:
        return action(*args, **kwargs), None
    except ServiceError as exc:
        return None, service_error_response(exc)


class ContactListView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["contacts"],
        summary="The organization's contacts by name, paginated (any member)",
        operation_id="contacts_list",
        parameters=[
            ORGANIZATION_PARAMETER,
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Part of a name, a number or the notes.",
            ),
            OpenApiParameter(
                "group", OpenApiTypes.INT, OpenApiParameter.QUERY, description="A group id."
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ContactPageSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                d404="No such page, or `X-Organization` names no organization the user belongs to.",
            ),
        },
    )
    def get(self, request):
        query = ContactListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        organization = api_membership(request).organization
        group_id = query.validated_data.get("group")
        if group_id is not None and selectors.contact_group_get(organization, group_id) is None:
            return error_response(
                "No such group.",
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid_input",
                fields={"group": ["No such group."]},
            )
        contacts = selectors.contacts_for(
            organization, search=query.validated_data.get("search", ""), group_id=group_id
        )
        paginator = MessagePagination()
        page = paginator.paginate_queryset(contacts, request, view=self)
        return paginator.get_paginated_response(ContactSerializer(page, many=True).data)

    @extend_schema(
        tags=["contacts"],
        summary="Add a contact (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ContactInputSerializer,
        responses={201: ContactSerializer, **error_responses(*WRITE_ERRORS, d403=D403)},
    )
    def post(self, request):
        serializer = ContactInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact, refused = _run(
            services.contact_create,
            membership=api_membership(request),
            source=ConsentSource.API,
            **serializer.to_service_kwargs(),
        )
        if refused:
            return refused
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetailView(APIView):
    permission_classes = PERMISSIONS

    def _contact(self, request, contact_id):
        return selectors.contact_get(api_membership(request).organization, contact_id)

    @extend_schema(
        tags=["contacts"],
        summary="One contact (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: ContactSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request, contact_id):
        contact = self._contact(request, contact_id)
        if contact is None:
            return _not_found("contact")
        return Response(ContactSerializer(contact).data)

    @extend_schema(
        tags=["contacts"],
        summary="Change a contact (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ContactInputSerializer(partial=True),
        responses={200: ContactSerializer, **error_responses(*WRITE_ERRORS, d403=D403)},
    )
    def patch(self, request, contact_id):
        serializer = ContactInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = self._contact(request, contact_id)
        if contact is None:
            return _not_found("contact")
        contact, refused = _run(
            services.contact_update,
            membership=api_membership(request),
            contact=contact,
            source=ConsentSource.API,
            **serializer.to_service_kwargs(),
        )
        if refused:
            return refused
        contact = self._contact(request, contact.pk)
        return Response(ContactSerializer(contact).data)

    @extend_schema(
        tags=["contacts"],
        summary="Delete a contact (owners and admins); an opt-out of its number is kept",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            204: OpenApiResponse(description="Deleted."),
            **error_responses(*WRITE_ERRORS, d403=D403),
        },
    )
    def delete(self, request, contact_id):
        contact = self._contact(request, contact_id)
        if contact is None:
            return _not_found("contact")
        services.contact_delete(
            membership=api_membership(request), contact=contact, ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactGroupListView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["contacts"],
        summary="The organization's contact groups by name (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            200: ContactGroupSerializer(many=True),
            **error_responses(*ORGANIZATION_ERRORS),
        },
    )
    def get(self, request):
        groups = selectors.contact_groups_for(api_membership(request).organization)
        return Response(ContactGroupSerializer(groups, many=True).data)

    @extend_schema(
        tags=["contacts"],
        summary="Add a contact group (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ContactGroupInputSerializer,
        responses={201: ContactGroupSerializer, **error_responses(*WRITE_ERRORS, d403=D403)},
    )
    def post(self, request):
        serializer = ContactGroupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group, refused = _run(
            services.contact_group_create,
            membership=api_membership(request),
            **serializer.validated_data,
        )
        if refused:
            return refused
        return Response(ContactGroupSerializer(group).data, status=status.HTTP_201_CREATED)


class ContactGroupDetailView(APIView):
    permission_classes = PERMISSIONS

    def _group(self, request, group_id):
        return selectors.contact_group_get(api_membership(request).organization, group_id)

    @extend_schema(
        tags=["contacts"],
        summary="Rename a contact group (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ContactGroupInputSerializer,
        responses={200: ContactGroupSerializer, **error_responses(*WRITE_ERRORS, d403=D403)},
    )
    def patch(self, request, group_id):
        serializer = ContactGroupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = self._group(request, group_id)
        if group is None:
            return _not_found("group")
        group, refused = _run(
            services.contact_group_update,
            membership=api_membership(request),
            group=group,
            **serializer.validated_data,
        )
        if refused:
            return refused
        return Response(ContactGroupSerializer(group).data)

    @extend_schema(
        tags=["contacts"],
        summary="Delete a contact group; its contacts stay (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            204: OpenApiResponse(description="Deleted."),
            **error_responses(*WRITE_ERRORS, d403=D403),
        },
    )
    def delete(self, request, group_id):
        group = self._group(request, group_id)
        if group is None:
            return _not_found("group")
        services.contact_group_delete(
            membership=api_membership(request), group=group, ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactImportView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember, IsManagerOrReadOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["contacts"],
        summary="Import contacts from a CSV file (owners and admins)",
        description=(
            "Rows whose number is already a contact update it (empty cells keep what is "
            "stored; groups are added). `opted_in` yes records consent with source `import`, "
            "except for numbers that opted out. Rows that cannot be imported are listed in "
            "`skipped`, numbered from 1 for the first row after the header."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportResultSerializer,
            **error_responses(
                *WRITE_ERRORS,
                409,
                d400="No file, or the file cannot be read as a whole (not UTF-8, not text, too "
                "large, no phone column); `fields.file` says what to do.",
                d403=D403,
                d409="Contacts changed while the file was being imported: import it again.",
            ),
        },
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return error_response(
                "Choose a CSV file to import.",
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid_input",
                fields={"file": ["Choose a CSV file to import."]},
            )
        max_bytes = settings.CONTACT_IMPORT_MAX_BYTES
        data = upload.read(max_bytes + 1)
        result, refused = _run(
            csv_io.contacts_import,
            membership=api_membership(request),
            data=data,
            file_name=upload.name or "",
            ip=client_ip(request),
        )
        if refused:
            return refused
        return Response(
            ImportResultSerializer(
                {"created": result.created, "updated": result.updated, "skipped": result.skipped}
            ).data
        )


class ContactSettingsView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["contacts"],
        summary="How numbers typed without + are read (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: ContactSettingsSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        region = selectors.contact_default_region(api_membership(request).organization)
        return Response(ContactSettingsSerializer({"default_region": region}).data)

    @extend_schema(
        tags=["contacts"],
        summary="Set the default country of numbers typed without + (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ContactSettingsInputSerializer,
        responses={200: ContactSettingsSerializer, **error_responses(*WRITE_ERRORS, d403=D403)},
    )
    def patch(self, request):
        serializer = ContactSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved, refused = _run(
            services.contact_settings_update,
            membership=api_membership(request),
            ip=client_ip(request),
            **serializer.validated_data,
        )
        if refused:
            return refused
        return Response(ContactSettingsSerializer(saved).data)
