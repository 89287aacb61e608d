"""`Cache-Control: no-store` on responses that carry a token or a secret, so that no browser
cache, proxy or back button keeps them: the API's token, registration, password and invitation
endpoints, the account pages (password reset links, two-factor secrets and recovery codes,
invitation links), and the WhatsApp settings (API and page) that show the webhook's verify
token. Pages that show a secret outside these paths add it themselves."""

from django.utils.cache import add_never_cache_headers

NO_STORE_PREFIXES = (
    "/api/auth/",
    "/api/organization/invitations",
    "/accounts/",
    "/invitations/",
    "/api/settings/whatsapp-meta",
    # The Settings page and its forms' answers, which render every section (the verify token).
    "/settings/",
)


class NoStoreForSecretsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(NO_STORE_PREFIXES):
            add_never_cache_headers(response)
        return response
