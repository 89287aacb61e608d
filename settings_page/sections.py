"""The credentials the Settings page and the settings API manage, in the page's order. Each is
declared once by its integration; adding one here gives it a page section, its URLs and its
API endpoints."""

from aiconfig.credentials import AI_BACKUP_KEY, AI_PROVIDER_KEY
from common.credentials import CredentialSettings
from whatsapp.credentials import WHATSAPP_NUMBER

SECTIONS: tuple[CredentialSettings, ...] = (AI_PROVIDER_KEY, AI_BACKUP_KEY, WHATSAPP_NUMBER)

SECRET_FIELDS: tuple[str, ...] = tuple(
    sorted({field for section in SECTIONS for field in section.secret_fields})
)
