from django.urls import include, path

from messaging import api
from messaging.contacts import api as contacts_api

urlpatterns = [
    path("messages", api.MessageListView.as_view(), name="api-messages"),
    path("messages/generate", api.GenerateView.as_view(), name="api-messages-generate"),
    path("messages/send", api.SendView.as_view(), name="api-messages-send"),
    path("messages/usage", api.UsageView.as_view(), name="api-messages-usage"),
    path("contacts", contacts_api.ContactListView.as_view(), name="api-contacts"),
    path("contacts/import", contacts_api.ContactImportView.as_view(), name="api-contacts-import"),
    path("contacts/<str:contact_id>", contacts_api.ContactDetailView.as_view(), name="api-contact"),
    path("contact-groups", contacts_api.ContactGroupListView.as_view(), name="api-contact-groups"),
    path(
        "contact-groups/<str:group_id>",
        contacts_api.ContactGroupDetailView.as_view(),
        name="api-contact-group",
    ),
    path(
        "contact-settings",
        contacts_api.ContactSettingsView.as_view(),
        name="api-contact-settings",
    ),
    path("whatsapp/templates", api.TemplateListView.as_view(), name="api-templates"),
    path("whatsapp/templates/sync", api.TemplateSyncView.as_view(), name="api-templates-sync"),
    path("", include("messaging.broadcasts.api_urls")),
]
