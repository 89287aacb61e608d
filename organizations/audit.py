"""Audit action names, in one place (as Zulip keeps its event types): services record them,
the Activity page and the admin describe them. Stored values: never rename one, add a new one."""

ORGANIZATION_CREATED = "organization.created"
INVITATION_CREATED = "invitation.created"
INVITATION_ACCEPTED = "invitation.accepted"
MEMBERSHIP_ADDED = "membership.added"  # by staff, in the admin
INVITATION_REVOKED = "invitation.revoked"
INVITATION_RESENT = "invitation.resent"
ACCOUNT_EMAIL_VERIFIED = "account.email_verified"
ACCOUNT_PASSWORD_CHANGED = "account.password_changed"
ACCOUNT_PASSWORD_RESET = "account.password_reset"
ACCOUNT_MFA_ADDED = "account.mfa_added"
ACCOUNT_MFA_REMOVED = "account.mfa_removed"
MEMBERSHIP_ROLE_CHANGED = "membership.role_changed"
MEMBERSHIP_REMOVED = "membership.removed"
MEMBERSHIP_LEFT = "membership.left"
AI_CONFIG_CREATED = "ai_config.created"
AI_CONFIG_UPDATED = "ai_config.updated"
AI_CONFIG_DELETED = "ai_config.deleted"
AI_BACKUP_CONFIG_CREATED = "ai_config.backup_created"
AI_BACKUP_CONFIG_UPDATED = "ai_config.backup_updated"
AI_BACKUP_CONFIG_DELETED = "ai_config.backup_deleted"
ORGANIZATION_PLAN_CHANGED = "organization.plan_changed"
ORGANIZATION_BUDGET_CHANGED = "organization.budget_changed"
WHATSAPP_CONFIG_CREATED = "whatsapp_config.created"
WHATSAPP_CONFIG_UPDATED = "whatsapp_config.updated"
WHATSAPP_CONFIG_DELETED = "whatsapp_config.deleted"
# Recorded by the system (no actor): a stored credential's health, the WhatsApp token's expiry.
CREDENTIAL_NEEDS_ATTENTION = "credential_health.needs_attention"
CREDENTIAL_HEALTH_CLEARED = "credential_health.cleared"
WHATSAPP_TOKEN_EXPIRING = "whatsapp_config.token_expiring"
CONTACT_DELETED = "contact.deleted"
CONTACTS_IMPORTED = "contacts.imported"
CONTACTS_EXPORTED = "contacts.exported"
CONTACT_GROUP_DELETED = "contact_group.deleted"
CONTACT_SETTINGS_UPDATED = "contact_settings.updated"
BROADCAST_CREATED = "broadcast.created"
BROADCAST_CANCELLED = "broadcast.cancelled"
BROADCAST_RESUMED = "broadcast.resumed"
BROADCAST_PAUSED = "broadcast.paused"

TEMPLATE_SUBMITTED = "template.submitted"
TEMPLATE_SYNC_REQUESTED = "template.sync_requested"

# What each action did, in a few words (the admin's filter). The Activity page tells each event
# as a whole sentence (organizations/activity.py and each app's activity.py).
ACTION_LABELS: dict[str, str] = {
    TEMPLATE_SUBMITTED: "Template submitted to Meta",
    TEMPLATE_SYNC_REQUESTED: "Template sync requested",
    ORGANIZATION_CREATED: "Organization created",
    INVITATION_CREATED: "Invitation sent",
    INVITATION_ACCEPTED: "Invitation accepted",
    MEMBERSHIP_ADDED: "Member added",
    INVITATION_REVOKED: "Invitation withdrawn",
    INVITATION_RESENT: "Invitation sent again",
    ACCOUNT_EMAIL_VERIFIED: "Email address verified",
    ACCOUNT_PASSWORD_CHANGED: "Password changed",
    ACCOUNT_PASSWORD_RESET: "Password reset by email",
    ACCOUNT_MFA_ADDED: "Two-factor sign-in added",
    ACCOUNT_MFA_REMOVED: "Two-factor sign-in removed",
    MEMBERSHIP_ROLE_CHANGED: "Member's role changed",
    MEMBERSHIP_REMOVED: "Member removed",
    MEMBERSHIP_LEFT: "Member left",
    AI_CONFIG_CREATED: "AI provider connected",
    AI_CONFIG_UPDATED: "AI provider settings changed",
    AI_CONFIG_DELETED: "AI provider removed",
    AI_BACKUP_CONFIG_CREATED: "Backup AI key connected",
    AI_BACKUP_CONFIG_UPDATED: "Backup AI key changed",
    AI_BACKUP_CONFIG_DELETED: "Backup AI key removed",
    ORGANIZATION_PLAN_CHANGED: "Plan or budgets changed by the platform",
    ORGANIZATION_BUDGET_CHANGED: "AI budget changed",
    WHATSAPP_CONFIG_CREATED: "WhatsApp number connected",
    WHATSAPP_CONFIG_UPDATED: "WhatsApp settings changed",
    WHATSAPP_CONFIG_DELETED: "WhatsApp number removed",
    CREDENTIAL_NEEDS_ATTENTION: "Connection needs attention",
    CREDENTIAL_HEALTH_CLEARED: "Connection works again",
    WHATSAPP_TOKEN_EXPIRING: "WhatsApp token expiry warning sent",
    CONTACT_DELETED: "Contact deleted",
    CONTACTS_IMPORTED: "Contacts imported from a CSV file",
    CONTACTS_EXPORTED: "Contacts exported as a CSV file",
    CONTACT_GROUP_DELETED: "Contact group deleted",
    CONTACT_SETTINGS_UPDATED: "Default country for numbers changed",
    BROADCAST_CREATED: "Broadcast started",
    BROADCAST_CANCELLED: "Broadcast cancelled",
    BROADCAST_RESUMED: "Broadcast resumed",
    BROADCAST_PAUSED: "Broadcast paused by WhatsApp",
}


def action_label(action: str) -> str:
    """The action in words; an action recorded by an older version shows as stored."""
    return ACTION_LABELS.get(action, action)
