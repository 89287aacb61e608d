from django.urls import include, path

from messaging import views
from messaging.contacts import views as contact_views

urlpatterns = [
    path("messages/", views.composer, name="messages"),
    path("contacts/", contact_views.contact_list, name="contacts"),
    path("contacts/new/", contact_views.contact_new, name="contact-new"),
    path("contacts/import/", contact_views.contact_import, name="contacts-import"),
    path(
        "contacts/import/<str:pending_id>/",
        contact_views.contact_import_preview,
        name="contacts-import-preview",
    ),
    path("contacts/export.csv", contact_views.contact_export, name="contacts-export"),
    path("contacts/settings/", contact_views.contact_settings, name="contact-settings"),
    path("contacts/groups/", contact_views.group_list, name="contact-groups"),
    path("contacts/groups/<int:group_id>/", contact_views.group_edit, name="contact-group"),
    path(
        "contacts/groups/<int:group_id>/delete/",
        contact_views.group_delete,
        name="contact-group-delete",
    ),
    path("contacts/<int:contact_id>/", contact_views.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/delete/", contact_views.contact_delete, name="contact-delete"),
    path("messages/templates/", views.templates_page, name="message-templates"),
    path("", include("messaging.broadcasts.urls")),
]
