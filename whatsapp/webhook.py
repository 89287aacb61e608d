"""Meta's webhook for one organization: GET verifies the subscription, POST delivers events."""

import logging

from django.http import HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from whatsapp import services
from whatsapp.selectors import whatsapp_config_for_webhook

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request, webhook_id):
    config = whatsapp_config_for_webhook(webhook_id)
    if config is None:
        return HttpResponse(status=404)
    if request.method == "GET":
        return _verify_subscription(request, config)
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return HttpResponse(status=400)
    if declared > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    try:
        stored = services.webhook_receive(
            config=config, body=body, signature=request.headers.get("X-Hub-Signature-256")
        )
    except services.WebhookRefused as exc:
        logger.warning(
            "WhatsApp webhook refused for organization %s: %s", config.organization_id, exc.reason
        )
        return HttpResponse(status=exc.status)
    logger.info(
        "WhatsApp webhook stored %s new events for organization %s", stored, config.organization_id
    )
    return HttpResponse("OK", content_type="text/plain")


def _verify_subscription(request, config):
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token") or ""
    challenge = request.GET.get("hub.challenge") or ""
    if mode == "subscribe" and constant_time_compare(token, config.webhook_verify_token):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponseForbidden("Verification failed.", content_type="text/plain")
