import hashlib

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from organizations import audit


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email(email))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The email address is the login; there is no username."""

    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Plan(models.TextChoices):
    """The product's tiers. What each one allows lives in plans/registry.py."""

    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class AIUsePriority(models.TextChoices):
    """Which key an Enterprise organization's AI calls try first."""

    OWN_FIRST = "own_first", "Our own key first, the platform's key as fall-back"
    PLATFORM_FIRST = "platform_first", "The platform's key first, our own key as fall-back"


def default_plan() -> str:
    return settings.DEFAULT_PLAN


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Plan and monthly budgets: changed by superusers (plan, platform budget) and owners (the
    # budget of their own key), always through plans/services.py. Empty budget = no cap.
    plan = models.CharField(max_length=20, choices=Plan, default=default_plan)
    ai_use_priority = models.CharField(
        "AI key priority",
        max_length=20,
        choices=AIUsePriority,
        default=AIUsePriority.OWN_FIRST,
    )
    ai_cost_cap_usd = models.DecimalField(
        "monthly AI cost cap for the own key (USD)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    ai_token_cap = models.PositiveBigIntegerField(
        "monthly AI token cap for the own key", null=True, blank=True
    )
    platform_ai_cost_cap_usd = models.DecimalField(
        "monthly cost cap for the platform's key (USD)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    platform_ai_token_cap = models.PositiveBigIntegerField(
        "monthly token cap for the platform's key", null=True, blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins write settings and invite."""
        return self.role in MANAGER_ROLES


def hash_token(token: str) -> str:
    """Invitation tokens are stored only as this digest."""
    return hashlib.sha256((token or "").encode()).hexdigest()


class Invitation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=[(Role.ADMIN, "Admin"), (Role.MEMBER, "Member")])
    # Only a SHA-256 of the token is stored; the token itself is shown once, at creation.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=8, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and not self.is_expired


class AuditEvent(models.Model):
    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.action} {self.target}"

    @property
    def action_label(self) -> str:
        return audit.action_label(self.action)
