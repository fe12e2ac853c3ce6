"""One settings object, read from the environment and passed into ``create_app``."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_SECRET_KEY = "bilin-development-secret-change-me"  # noqa: S105 (refused outside development)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class SettingsError(ValueError):
    """The environment describes a configuration Bilin refuses to run with."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Bilin process.

    Read with :meth:`from_env`; every other module receives it (or a value taken from it)
    explicitly, so two apps with different settings can live in one process (as the tests do).
    """

    environment: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = DEFAULT_SECRET_KEY
    default_locale: str = "zh-CN"
    # Dates on cases (accepted on, deadlines) are the centre's calendar dates.
    timezone: str = "Asia/Shanghai"
    session_max_age_s: int = 12 * 3600
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    public_base_url: str = ""
    cookie_secure: bool = False
    web_dir: Path = field(default=WEB_DIR)

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'bilin.sqlite3'}"
            )
        if self.environment not in ("development", "test", "production"):
            raise SettingsError(
                f"BILIN_ENV must be development, test or production, not {self.environment!r}"
            )
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise SettingsError(
                "BILIN_SECRET_KEY is still the development default; set a long random value "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise SettingsError("BILIN_SECRET_KEY must be at least 32 characters in production")

    def today(self) -> dt.date:
        """Today's date on the centres' calendar."""
        return dt.datetime.now(ZoneInfo(self.timezone)).date()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``BILIN_*`` environment variables."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("BILIN_DATA_DIR", "var"))
        try:
            port = int(env.get("BILIN_PORT", "8080"))
        except ValueError as exc:
            raise SettingsError(f"BILIN_PORT must be a number, not {env['BILIN_PORT']!r}") from exc
        return cls(
            environment=env.get("BILIN_ENV", "development"),
            data_dir=data_dir,
            database_url=env.get("BILIN_DATABASE_URL", ""),
            host=env.get("BILIN_HOST", "127.0.0.1"),
            port=port,
            secret_key=env.get("BILIN_SECRET_KEY", DEFAULT_SECRET_KEY),
            default_locale=env.get("BILIN_LOCALE", "zh-CN"),
            timezone=env.get("BILIN_TIMEZONE", "Asia/Shanghai"),
            public_base_url=env.get("BILIN_PUBLIC_URL", ""),
            cookie_secure=env.get("BILIN_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            web_dir=Path(env.get("BILIN_WEB_DIR", str(WEB_DIR))),
        )

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        """Where people open Bilin; used in links printed or shown as QR codes."""
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"
