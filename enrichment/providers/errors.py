"""The one failure a provider reports: its own module, so that the HTTP client and the
providers built on it can both raise it (base -> http -> errors, no way back)."""


class ProviderError(Exception):
    """A failed lookup; the message is shown on the case, so it must never contain secrets."""
