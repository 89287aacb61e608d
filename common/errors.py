"""Errors raised by services. Views turn them into a 400/403/409 (API) or a form error (pages)."""


class ServiceError(Exception):
    """A request the business rules refuse. `field` names the input at fault, if any."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "invalid",
        details: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        # Extra fields of the API's error body (e.g. which cap was hit and when it resets).
        self.details = details or {}


class NotAllowed(ServiceError):
    """The acting member's role does not allow this."""

    status = 403

    def __init__(self, message: str, *, code: str = "permission_denied"):
        super().__init__(message, code=code)
