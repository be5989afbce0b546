"""The ``salesforce:`` section of the config, and the secrets it refers to.

Secrets are never written in the YAML: each one is named by reference, an
environment variable (``*_env``) or a file (``*_file``), and resolved only when
connecting, into a :class:`Secret` whose ``repr``/``str`` never shows the value.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sfrenew.salesforce.errors import ConfigurationError, SecretMissing

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
# Where ``sfrenew localorg serve`` keeps its data by default (relative to the config).
DEFAULT_LOCAL_DATA_DIR = Path(".state/localorg")
_MASK = "**********"
# Keys someone might use to paste a secret straight into the YAML.
_LITERAL_SECRET_KEYS = {
    "consumer_secret": "consumer_secret", "client_secret": "consumer_secret",
    "password": "password", "security_token": "security_token",
    "access_token": "access_token", "session_id": "access_token",
    "private_key": "private_key_file",
}


class Secret:
    """A credential value that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class AuthFlow(StrEnum):
    """How the gateway logs in."""

    JWT = "jwt"
    CLIENT_CREDENTIALS = "client_credentials"
    ACCESS_TOKEN = "access_token"  # noqa: S105 (a flow name, not a token)
    PASSWORD = "password"  # noqa: S105 (a flow name, not a password)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdSettings(_Strict):
    """Volumes above which the Bulk API 2.0 is used instead of REST."""

    read_bulk_rows: int = Field(default=10_000, ge=1)
    write_bulk_rows: int = Field(default=2_000, ge=1)


class RetrySettings(_Strict):
    """The retry policy (see :class:`sfrenew.salesforce.retry.RetryPolicy`)."""

    attempts: int = Field(default=5, ge=1, le=20)
    max_seconds: float = Field(default=300.0, gt=0)
    initial_wait_seconds: float = Field(default=1.0, ge=0)
    max_wait_seconds: float = Field(default=60.0, ge=0)
    lock_retry_rounds: int = Field(default=3, ge=0, le=10)


class BudgetSettings(_Strict):
    """A run's share of the org's daily API allocation."""

    max_calls_per_run: int | None = Field(default=None, ge=1)
    reserve_calls: int = Field(default=0, ge=0)
    reserve_percent: float = Field(default=0.0, ge=0, le=100)


class SalesforceConfig(_Strict):
    """``salesforce:`` — which org, how to log in, and how hard to use it."""

    target: Literal["local", "org"] = "org"
    auth: AuthFlow | None = None
    local_data_dir: Path = DEFAULT_LOCAL_DATA_DIR
    login_url: str = DEFAULT_LOGIN_URL
    my_domain_url: str | None = None
    instance_url: str | None = None
    consumer_key: str | None = None
    username: str | None = None
    private_key_file: Path | None = None
    consumer_secret_env: str | None = None
    consumer_secret_file: Path | None = None
    password_env: str | None = None
    password_file: Path | None = None
    security_token_env: str | None = None
    security_token_file: Path | None = None
    access_token_env: str | None = None
    access_token_file: Path | None = None
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    timeout_seconds: float = Field(default=120.0, gt=0)
    # The shortest interval between Bulk job polls; the interval adapts to each job's
    # size and progress above it (salesforce/polling.py). 0 polls without sleeping.
    bulk_poll_seconds: float = Field(default=0.1, ge=0)
    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, ref in _LITERAL_SECRET_KEYS.items():
                if key in data:
                    hint = (f"use {ref}: PATH" if ref.endswith("_file")
                            else f"use {ref}_env: VARIABLE or {ref}_file: PATH")
                    raise ValueError(f"{key}: secrets must not be written in the config; {hint}")
        return data

    @model_validator(mode="after")
    def _flow_has_what_it_needs(self) -> SalesforceConfig:
        for name in ("login_url", "my_domain_url", "instance_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith("https://"):
                raise ValueError(f"{name} must be an https:// URL (TLS is always verified)")
        if self.target == "local":
            if self.auth not in (None, AuthFlow.CLIENT_CREDENTIALS, AuthFlow.JWT,
                                 AuthFlow.PASSWORD):
                raise ValueError("target: local logs in with client_credentials, jwt or password")
            return self
        needs: dict[AuthFlow, tuple[str, ...]] = {
            AuthFlow.JWT: ("consumer_key", "username", "private_key_file"),
            AuthFlow.CLIENT_CREDENTIALS: ("consumer_key", "my_domain_url", "consumer_secret"),
            AuthFlow.ACCESS_TOKEN: ("instance_url", "access_token"),
            AuthFlow.PASSWORD: ("username", "password"),
        }
        if self.auth is None:
            raise ValueError("auth is required for target: org "
                             "(jwt, client_credentials, access_token or password)")
        missing = [n for n in needs[self.auth] if not self._has(n)]
        if missing:
            raise ValueError(f"auth: {self.auth.value} needs " + ", ".join(
                n if hasattr(self, n) else f"{n}_env or {n}_file" for n in missing))
        return self

    def _has(self, name: str) -> bool:
        if name in type(self).model_fields:
            return getattr(self, name) is not None
        return (getattr(self, f"{name}_env") is not None
                or getattr(self, f"{name}_file") is not None)

    def secret(self, name: str, *, base_dir: Path | None = None) -> Secret | None:
        """Resolve secret ``name`` from its ``_env`` or ``_file`` reference (None if unset)."""
        var: str | None = getattr(self, f"{name}_env")
        path: Path | None = getattr(self, f"{name}_file")
        if var is not None:
            value = os.environ.get(var)
            if not value:
                raise SecretMissing(
                    f"salesforce.{name}_env: environment variable {var} is not set",
                    setting=f"salesforce.{name}_env", variable=var)
            return Secret(value)
        if path is not None:
            full = path if base_dir is None or path.is_absolute() else base_dir / path
            try:
                return Secret(full.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigurationError(
                    f"salesforce.{name}_file: cannot read {full}: {exc.strerror}") from None
        return None
