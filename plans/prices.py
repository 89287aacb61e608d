"""The versioned price table (plans/prices.json, or the file AI_PRICE_TABLE names): USD per
million input and output tokens, per provider and model. A model not in the table has an
unknown cost (None), never zero: a ledger that says "free" for an unpriced model would lie."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input_per_million: Decimal
    output_per_million: Decimal


@dataclass(frozen=True)
class PriceTable:
    version: str
    prices: dict[tuple[str, str], Price]

    def price_for(self, provider: str, model: str | None) -> Price | None:
        if not model:
            return None
        # Gemini answers "models/…" names in some places; the table uses the bare id.
        return self.prices.get((provider, model)) or self.prices.get(
            (provider, model.removeprefix("models/"))
        )

    def cost_usd(
        self, provider: str, model: str | None, input_tokens: int | None, output_tokens: int | None
    ) -> Decimal | None:
        """The cost of a call, or None when the model is not priced or a count is missing."""
        price = self.price_for(provider, model)
        if price is None or input_tokens is None or output_tokens is None:
            return None
        return (
            Decimal(input_tokens) * price.input_per_million
            + Decimal(output_tokens) * price.output_per_million
        ) / MILLION


def _load(path: str) -> PriceTable:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    prices = {
        (provider, model): Price(Decimal(entry["input"]), Decimal(entry["output"]))
        for provider, models in data["models"].items()
        for model, entry in models.items()
    }
    return PriceTable(version=str(data["version"]), prices=prices)


@lru_cache(maxsize=4)
def _cached(path: str) -> PriceTable:
    return _load(path)


def price_table() -> PriceTable:
    return _cached(str(settings.AI_PRICE_TABLE))
