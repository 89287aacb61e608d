from django.apps import AppConfig


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"

    def ready(self):
        from messaging import activity, services
        from messaging.broadcasts import services as broadcast_services
        from messaging.contacts import services as contact_services
        from whatsapp import events

        activity.register_sentences()
        events.subscribe(events.StatusUpdate, services.on_status_update)
        events.subscribe(events.StatusUpdate, broadcast_services.on_status_update)
        events.subscribe(events.InboundMessageReceived, contact_services.on_inbound_message)
        events.subscribe(events.UserPreferenceUpdate, contact_services.on_user_preference_update)
        events.subscribe(events.TemplateStatusChanged, services.on_template_status_changed)
        events.subscribe(events.TemplateQualityChanged, services.on_template_quality_changed)
        events.subscribe(events.TemplateCategoryChanged, services.on_template_category_changed)
        activity.register_sentences()
