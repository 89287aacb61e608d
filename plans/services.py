"""Writes for plans, budgets and the usage ledger.

Every AI call goes through ONE enforcement point, `ai_spend` (a context manager): it reserves
the call's largest possible cost (prompt tokens + max output tokens) on the month's counter
under a row lock before the provider is called, refuses with BudgetExhausted when a cap of that
budget is already reached (`>=`), or with CostUnknown when the budget has a cost cap and the
model has no price, and settles with the real usage afterwards. Concurrent calls
therefore overshoot a cap by at most one call's reservation. Each reservation is also a row
(AIReservation): settling deletes it, and `ai_reservations_release_stale` (a periodic task)
gives back the ones a killed worker never settled. Broadcasts reserve their recipients
through `broadcast_recipients_reserve`, the one choke point for that cap."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from common.errors import NotAllowed, ServiceError
from organizations import audit
from organizations.models import (
    MANAGER_ROLES,
    AIUsePriority,
    Membership,
    Organization,
    Role,
    User,
)
from organizations.services import audit_record
from plans.models import AIReservation, AIUsage, Budget, Credential, UsageCounter, WhatsAppUsage
from plans.prices import price_table
from plans.registry import PLANS, plan_for

logger = logging.getLogger(__name__)


# Tokens a chat request adds around the text (roles, separators); small, but counted.
PROMPT_OVERHEAD_TOKENS = 16


# --- months ---------------------------------------------------------------------------------


def month_start(moment: datetime | None = None) -> date:
    """The first day of the calendar month (server time zone) that `moment` falls in."""
    return timezone.localtime(moment or timezone.now()).date().replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_resets_at(month: date) -> datetime:
    """When the month's counters start again from zero."""
    return timezone.make_aware(datetime.combine(next_month(month), time.min))


# --- caps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapSpec:
    name: str  # the name the API and the 402 answer use
    budget: str
    counter_field: str  # which UsageCounter column it limits
    label: str
    unit: str  # "usd" | "tokens" | "recipients"

    def limit(self, organization: Organization) -> Decimal | int | None:
        """The cap for this organization; None = no cap."""
        if self.name == "broadcast_recipients":
            return plan_for(organization).broadcast_recipients
        return getattr(organization, self.name)

    def describe(self, value) -> str:
        if self.unit == "usd":
            return f"${Decimal(value):,.2f}"
        return f"{int(value):,} {self.unit}"


CAPS: tuple[CapSpec, ...] = (
    CapSpec("ai_cost_cap_usd", Budget.OWN, "cost_usd", "AI spending with your own key", "usd"),
    CapSpec("ai_token_cap", Budget.OWN, "tokens", "AI tokens with your own key", "tokens"),
    CapSpec(
        "platform_ai_cost_cap_usd",
        Budget.PLATFORM,
        "cost_usd",
        "AI spending with the platform's key",
        "usd",
    ),
    CapSpec(
        "platform_ai_token_cap",
        Budget.PLATFORM,
        "tokens",
        "AI tokens with the platform's key",
        "tokens",
    ),
    CapSpec(
        "broadcast_recipients",
        Budget.BROADCAST,
        "recipients",
        "Broadcast recipients",
        "recipients",
    ),
)
CAPS_BY_NAME = {cap.name: cap for cap in CAPS}


class BudgetExhausted(ServiceError):
    """A monthly cap is reached: nothing was spent (answered with 402)."""

    status = 402

    def __init__(self, message: str, *, cap: CapSpec, resets_at: datetime):
        super().__init__(
            message,
            code="budget_exhausted",
            details={"cap": cap.name, "resets_at": resets_at.isoformat()},
        )
        self.cap = cap
        self.resets_at = resets_at


class CostUnknown(BudgetExhausted):
    """A cost cap applies to the call but its model has no price, so the cap cannot be kept:
    nothing was spent (answered with 409). A subclass so that fail-over treats it like an
    exhausted budget: a key on another budget or with a priced model may still serve. The
    message names the cap and the model (the 409 body has no extra keys)."""

    status = 409

    def __init__(self, *, cap: CapSpec, limit, model: str, resets_at: datetime):
        ServiceError.__init__(
            self,
            f"The monthly cost cap ({cap.label}: {cap.describe(limit)}) cannot be applied to "
            f"the model {model}, which has no price: choose a priced model or remove the cost "
            "cap.",
            code="cost_unknown",
        )
        self.cap = cap
        self.resets_at = resets_at


def _exhausted(cap: CapSpec, limit, month: date) -> BudgetExhausted:
    resets_at = month_resets_at(month)
    return BudgetExhausted(
        f"This month's budget for {cap.label.lower()} ({cap.describe(limit)}) is used up. "
        f"It starts again on {resets_at:%-d %B %Y}. Owners can change the budget on the Plan "
        "and usage page.",
        cap=cap,
        resets_at=resets_at,
    )


def budget_for_credential(credential: str) -> str:
    return Budget.PLATFORM if credential == Credential.PLATFORM else Budget.OWN


def _locked_counter(organization: Organization, month: date, budget: str) -> UsageCounter:
    """The month's counter, locked until the surrounding transaction ends."""
    counter, _ = UsageCounter.objects.select_for_update().get_or_create(
        organization=organization, month=month, budget=budget
    )
    return counter


def _warn_once(organization: Organization, counter: UsageCounter) -> list[str]:
    """Caps of the counter's budget that just reached the warning share: marked as warned on
    the counter (saved by the caller) and returned, so each sends one email a month."""
    ratio = Decimal(str(settings.BUDGET_WARNING_RATIO))
    crossed = []
    for cap in CAPS:
        if cap.budget != counter.budget or cap.name in counter.warned:
            continue
        limit = cap.limit(organization)
        if limit and Decimal(getattr(counter, cap.counter_field)) >= ratio * Decimal(limit):
            counter.warned = [*counter.warned, cap.name]
            crossed.append(cap.name)
    return crossed


def _send_warnings(organization: Organization, month: date, cap_names: list[str]) -> None:
    if not cap_names:
        return
    recipients = list(
        Membership.objects.filter(organization=organization, role__in=MANAGER_ROLES)
        .select_related("user")
        .values_list("user__email", flat=True)
    )
    resets_at = month_resets_at(month)
    percent = round(settings.BUDGET_WARNING_RATIO * 100)
    for name in cap_names:
        cap = CAPS_BY_NAME[name]
        limit = cap.limit(organization)
        body = (
            f"{organization.name} has used {percent}% of this month's budget for "
            f"{cap.label.lower()} ({cap.describe(limit)}).\n\n"
            f"When it is used up, further use is refused until {resets_at:%-d %B %Y}. "
            f"Owners can change the budget on the Plan and usage page: "
            f"{settings.SITE_URL.rstrip('/')}/plan/\n"
        )
        subject = f"{organization.name}: {percent}% of the monthly budget for {cap.label.lower()}"
        transaction.on_commit(
            lambda subject=subject, body=body: send_mail(
                subject, body, None, recipients, fail_silently=True
            )
        )


# --- AI calls: reserve, call, settle ---------------------------------------------------------


def estimate_input_tokens(text: str) -> int:
    """An upper bound of the prompt's tokens: a token is at least one byte of UTF-8 text."""
    return len(text.encode("utf-8", errors="replace")) + PROMPT_OVERHEAD_TOKENS


@dataclass
class Reservation:
    organization: Organization
    month: date
    budget: str
    credential: str
    provider: str
    model: str
    purpose: str
    user: User | None
    tokens: int
    cost_usd: Decimal = field(default=Decimal(0))
    row_id: int | None = None  # its AIReservation


def _enforce_caps(
    organization: Organization, counter: UsageCounter, month: date, model: str, *, priced: bool
) -> None:
    """Refuses a call the counter's budget cannot take: a cap reached (`>=`), or a cost cap
    that an unpriced model would spend against for free."""
    caps = [(cap, cap.limit(organization)) for cap in CAPS if cap.budget == counter.budget]
    caps = [(cap, limit) for cap, limit in caps if limit is not None]
    for cap, limit in caps:
        if getattr(counter, cap.counter_field) >= limit:
            raise _exhausted(cap, limit, month)
    for cap, limit in caps:
        if cap.unit == "usd" and not priced:
            raise CostUnknown(cap=cap, limit=limit, model=model, resets_at=month_resets_at(month))


@transaction.atomic
def ai_budget_reserve(
    *,
    organization: Organization,
    credential: str,
    provider: str,
    model: str,
    purpose: str,
    prompt_text: str,
    max_output_tokens: int,
    user: User | None = None,
    enforce: bool = True,
) -> Reservation:
    """Holds the call's largest cost on the month's counter. With `enforce`, refuses with
    BudgetExhausted when a cap of the credential's budget is reached. Key tests and health
    checks pass enforce=False: they are metered, but a budget never stops a key being fixed.
    With `enforce`, a model missing from the price table is refused (CostUnknown) when the
    budget has a cost cap: its cost could not be counted against it."""
    month = month_start()
    budget = budget_for_credential(credential)
    input_tokens = estimate_input_tokens(prompt_text)
    cost = price_table().cost_usd(provider, model, input_tokens, max_output_tokens)
    counter = _locked_counter(organization, month, budget)
    if enforce:
        _enforce_caps(organization, counter, month, model, priced=cost is not None)
    reservation = Reservation(
        organization=organization,
        month=month,
        budget=budget,
        credential=credential,
        provider=provider,
        model=model,
        purpose=purpose,
        user=user if user is not None and user.is_authenticated else None,
        tokens=input_tokens + max_output_tokens,
        # Unpriced adds no dollars: with a cost cap it was refused above; without one, the
        # ledger row keeps its cost unknown (None) and only the token cap counts it.
        cost_usd=cost if cost is not None else Decimal(0),
    )
    counter.tokens += reservation.tokens
    counter.cost_usd += reservation.cost_usd
    counter.save(update_fields=["tokens", "cost_usd"])
    reservation.row_id = AIReservation.objects.create(
        counter=counter, tokens=reservation.tokens, cost_usd=reservation.cost_usd
    ).pk
    return reservation


@transaction.atomic
def ai_usage_settle(
    *,
    reservation: Reservation,
    ok: bool,
    error_code: str = "",
    model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> AIUsage:
    """Replaces the reservation with what the call really used, and records the call."""
    model = model or reservation.model
    table = price_table()
    cost = table.cost_usd(reservation.provider, model, input_tokens, output_tokens)
    if cost is None and model != reservation.model:
        cost = table.cost_usd(reservation.provider, reservation.model, input_tokens, output_tokens)
    counted = input_tokens is not None and output_tokens is not None
    if counted:
        # An unknown cost keeps what was reserved (zero for an unpriced model, which a cost
        # cap refused before the call); the ledger row records None, never zero.
        spent_cost = cost if cost is not None else reservation.cost_usd
        spent_tokens = input_tokens + output_tokens
    elif ok:
        # The provider answered without counts: keep the reservation (the most it could be).
        spent_tokens, spent_cost = reservation.tokens, reservation.cost_usd
    else:
        spent_tokens, spent_cost = 0, Decimal(0)  # refused calls are not billed
    counter = _locked_counter(reservation.organization, reservation.month, reservation.budget)
    # With the counter locked, the row tells whether the reservation is still on it: the
    # stale sweep may have given it back already (the call outlived the bound).
    held = AIReservation.objects.filter(pk=reservation.row_id).delete()[0] > 0
    held_tokens, held_cost = (reservation.tokens, reservation.cost_usd) if held else (0, Decimal(0))
    counter.tokens = max(0, counter.tokens - held_tokens + spent_tokens)
    counter.cost_usd = max(Decimal(0), counter.cost_usd - held_cost + spent_cost)
    crossed = _warn_once(reservation.organization, counter)
    counter.save(update_fields=["tokens", "cost_usd", "warned"])
    _send_warnings(reservation.organization, reservation.month, crossed)
    return AIUsage.objects.create(
        organization=reservation.organization,
        user=reservation.user,
        purpose=reservation.purpose,
        credential=reservation.credential,
        provider=reservation.provider,
        model=model[:200],
        ok=ok,
        error_code=(error_code or "")[:40],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        price_version=table.version if cost is not None else "",
    )


class AICall:
    """Handle yielded by ai_spend: the caller reports the outcome with settle()."""

    def __init__(self, reservation: Reservation):
        self.reservation = reservation
        self.usage: AIUsage | None = None

    def settle(
        self,
        *,
        ok: bool,
        error_code: str = "",
        model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> AIUsage:
        if self.usage is None:
            self.usage = ai_usage_settle(
                reservation=self.reservation,
                ok=ok,
                error_code=error_code,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        return self.usage


@contextmanager
def ai_spend(
    *,
    organization: Organization,
    credential: str,
    provider: str,
    model: str,
    purpose: str,
    prompt_text: str,
    max_output_tokens: int,
    user: User | None = None,
    enforce: bool = True,
) -> Iterator[AICall]:
    """THE enforcement point for every AI call (see the module docstring):

        with ai_spend(organization=…, credential="primary", provider=…, model=…,
                      purpose="draft", prompt_text=system + prompt, max_output_tokens=N) as call:
            generation = clients.generate(…)
            call.settle(ok=True, model=generation.model, input_tokens=…, output_tokens=…)

    Raises BudgetExhausted before the body runs when a cap is reached. A body that raises
    without settling is recorded as a failed call (its `error_code` attribute, if any)."""
    call = AICall(
        ai_budget_reserve(
            organization=organization,
            credential=credential,
            provider=provider,
            model=model,
            purpose=purpose,
            prompt_text=prompt_text,
            max_output_tokens=max_output_tokens,
            user=user,
            enforce=enforce,
        )
    )
    try:
        yield call
    except BaseException as exc:
        if call.usage is None:
            call.settle(ok=False, error_code=getattr(exc, "error_code", None) or "error")
        raise
    if call.usage is None:
        call.settle(ok=False, error_code="not_reported")


def ai_reservation_bound() -> timedelta:
    """How long a reservation may stay unsettled before it counts as leaked: it covers one
    provider call (clients keep each within AI_PROVIDER_TIMEOUT; a fail-over reserves
    afresh for its own call), doubled, plus a minute for lock waits and clock skew between
    servers. Released early, a slow call would still settle correctly (see ai_usage_settle);
    only the overshoot bound would loosen meanwhile."""
    return timedelta(seconds=2 * float(settings.AI_PROVIDER_TIMEOUT) + 60)


@transaction.atomic
def _ai_reservation_release(row_id: int) -> bool:
    row = AIReservation.objects.filter(pk=row_id).first()
    if row is None:
        return False
    # The same lock order as reserve and settle (counter, then row): whoever deletes the
    # row is the one that takes the reservation off the counter, exactly once.
    counter = UsageCounter.objects.select_for_update().get(pk=row.counter_id)
    if not AIReservation.objects.filter(pk=row_id).delete()[0]:
        return False
    counter.tokens = max(0, counter.tokens - row.tokens)
    counter.cost_usd = max(Decimal(0), counter.cost_usd - row.cost_usd)
    counter.save(update_fields=["tokens", "cost_usd"])
    return True


def ai_reservations_release_stale(*, now: datetime | None = None) -> int:
    """Gives back the reservations older than ai_reservation_bound(): their calls never
    settled (the worker was killed mid-call), so they would block the budget until the month
    ends. Idempotent. Returns how many it released."""
    cutoff = (now or timezone.now()) - ai_reservation_bound()
    stale = AIReservation.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)
    released = sum(_ai_reservation_release(row_id) for row_id in list(stale))
    if released:
        logger.warning("Released %d AI reservations that were never settled.", released)
    return released


# --- broadcasts -----------------------------------------------------------------------------


@transaction.atomic
def broadcast_recipients_reserve(*, organization: Organization, count: int) -> None:
    """THE choke point for the plan's monthly broadcast recipients: call it before a broadcast
    goes out, with the number of recipients. Refuses the whole broadcast with BudgetExhausted
    (402, cap "broadcast_recipients") when it does not fit in what is left this month."""
    if count <= 0:
        return
    cap = CAPS_BY_NAME["broadcast_recipients"]
    month = month_start()
    counter = _locked_counter(organization, month, Budget.BROADCAST)
    limit = cap.limit(organization)
    if limit is not None and counter.recipients + count > limit:
        if counter.recipients >= limit:
            raise _exhausted(cap, limit, month)
        resets_at = month_resets_at(month)
        left = limit - counter.recipients
        raise BudgetExhausted(
            f"This broadcast would go to {count:,} people, but only {left:,} of this month's "
            f"{limit:,} broadcast recipients are left. Choose fewer recipients, or wait until "
            f"{resets_at:%-d %B %Y}.",
            cap=cap,
            resets_at=resets_at,
        )
    counter.recipients += count
    crossed = _warn_once(organization, counter)
    counter.save(update_fields=["recipients", "warned"])
    _send_warnings(organization, month, crossed)


@transaction.atomic
def broadcast_recipients_release(*, organization: Organization, count: int) -> None:
    """Gives back reserved recipients a broadcast did not send to (e.g. it was cancelled)."""
    if count <= 0:
        return
    counter = _locked_counter(organization, month_start(), Budget.BROADCAST)
    counter.recipients = max(0, counter.recipients - count)
    counter.save(update_fields=["recipients"])


# --- WhatsApp -------------------------------------------------------------------------------


def whatsapp_usage_record_sent(
    *, organization: Organization, message_id: str, sent_at: datetime | None = None
) -> None:
    """A message Meta accepted from the organization's number (idempotent: the row is unique
    per message, and one INSERT that ignores a conflict keeps a broadcast's sends cheap)."""
    if message_id:
        WhatsAppUsage.objects.bulk_create(
            [
                WhatsAppUsage(
                    organization=organization,
                    message_id=message_id[:200],
                    sent_at=sent_at or timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )


DELIVERED_STATUSES = ("delivered", "read")


@transaction.atomic
def whatsapp_usage_record_status(
    *,
    organization: Organization,
    message_id: str,
    status: str,
    pricing: dict | None = None,
    occurred_at: datetime | None = None,
) -> None:
    """A status from the webhook: delivery, and Meta's pricing (category, billable)."""
    if not message_id:
        return
    row, _ = WhatsAppUsage.objects.select_for_update().get_or_create(
        organization=organization,
        message_id=message_id[:200],
        defaults={"sent_at": occurred_at or timezone.now()},
    )
    fields = []
    if status in DELIVERED_STATUSES and row.delivered_at is None:
        row.delivered_at = occurred_at or timezone.now()
        fields.append("delivered_at")
    pricing = pricing if isinstance(pricing, dict) else {}
    category, model = pricing.get("category"), pricing.get("pricing_model")
    if isinstance(category, str) and category:
        row.pricing_category = category[:40]
        fields.append("pricing_category")
    if isinstance(model, str) and model:
        row.pricing_model = model[:40]
        fields.append("pricing_model")
    if isinstance(pricing.get("billable"), bool):
        row.billable = pricing["billable"]
        fields.append("billable")
    if fields:
        row.save(update_fields=fields)


# --- plan and budgets -----------------------------------------------------------------------

PLAN_FIELDS = (
    "plan",
    "ai_use_priority",
    "ai_cost_cap_usd",
    "ai_token_cap",
    "platform_ai_cost_cap_usd",
    "platform_ai_token_cap",
)


def _validate(changes: dict) -> None:
    if "plan" in changes and changes["plan"] not in PLANS:
        raise ServiceError("Choose one of the plans.", field="plan", code="invalid_choice")
    if "ai_use_priority" in changes and changes["ai_use_priority"] not in AIUsePriority.values:
        raise ServiceError(
            "Choose which key goes first.", field="ai_use_priority", code="invalid_choice"
        )
    for name in PLAN_FIELDS[2:]:
        value = changes.get(name)
        if value is not None and value < 0:
            raise ServiceError("A budget cannot be negative.", field=name, code="invalid")


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


@transaction.atomic
def _organization_update(
    *, organization: Organization, actor: User, changes: dict, action: str, ip: str | None
) -> Organization:
    _validate(changes)
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {name: _plain(getattr(locked, name)) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    after = {name: _plain(getattr(locked, name)) for name in changes}
    if before != after:
        locked.save(update_fields=list(changes))
        audit_record(
            organization=locked,
            actor=actor,
            action=action,
            target=locked.plan,
            ip=ip,
            metadata={"before": before, "after": after},
        )
    for name in changes:
        setattr(organization, name, getattr(locked, name))
    return organization


def organization_plan_update(
    *, organization: Organization, actor: User, changes: dict, ip: str | None = None
) -> Organization:
    """A superuser changes the plan, the key priority and any budget (the admin's form)."""
    if not (actor and actor.is_superuser):
        raise NotAllowed("Only the platform's administrators can change a plan.")
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown field: {sorted(unknown)[0]}.", code="invalid")
    return _organization_update(
        organization=organization,
        actor=actor,
        changes=changes,
        action=audit.ORGANIZATION_PLAN_CHANGED,
        ip=ip,
    )


def organization_budget_update(
    *,
    membership: Membership,
    ai_cost_cap_usd: Decimal | None,
    ai_token_cap: int | None,
    ai_use_priority: str | None = None,
    ip: str | None = None,
) -> Organization:
    """An owner sets the monthly budget of the organization's own key and, where the plan
    includes the platform's key, which key goes first. The platform budget is not theirs."""
    if membership.role != Role.OWNER:
        raise NotAllowed("Only owners can change the organization's budget.")
    organization = membership.organization
    changes: dict = {"ai_cost_cap_usd": ai_cost_cap_usd, "ai_token_cap": ai_token_cap}
    if ai_use_priority:
        if not plan_for(organization).platform_key:
            raise ServiceError(
                "Your plan does not include the platform's key.",
                field="ai_use_priority",
                code="not_in_plan",
            )
        changes["ai_use_priority"] = ai_use_priority
    return _organization_update(
        organization=organization,
        actor=membership.user,
        changes=changes,
        action=audit.ORGANIZATION_BUDGET_CHANGED,
        ip=ip,
    )
