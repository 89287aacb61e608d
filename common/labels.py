"""Display names that a lower layer shows but a higher one owns: aiconfig registers its
providers' names here when it starts (AppConfig.ready), so plans' admin and ledger can say
"OpenAI (ChatGPT)" without importing aiconfig (the import layers forbid it)."""

_LABELS: dict[str, dict[str, str]] = {}

AI_PROVIDER = "ai_provider"


def labels_register(kind: str, labels: dict[str, str]) -> None:
    _LABELS.setdefault(kind, {}).update(labels)


def label_for(kind: str, value: str) -> str:
    """The registered name of `value`, or `value` itself when none is registered."""
    return _LABELS.get(kind, {}).get(value, value)
