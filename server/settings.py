"""One settings object, read from the environment and passed into ``create_app``."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_SECRET_KEY = "bilin-development-secret-change-me"  # noqa: S105 (refused outside development)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class SettingsError(ValueError):
    """The environment describes a configuration Bilin refuses to run with."""


@dataclass(frozen=True)
class IceServerSetting:
    """One STUN or TURN server given to browsers (``BILIN_ICE_SERVERS``). A TURN server
    without a username gets short-lived credentials made with ``BILIN_TURN_SECRET``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def parse_ice_servers(text: str) -> tuple[IceServerSetting, ...]:
    """``BILIN_ICE_SERVERS``: a JSON list of ``{"urls": [...], "username"?, "credential"?}``."""
    try:
        data = json.loads(text or "[]")
    except ValueError as exc:
        raise SettingsError(f"BILIN_ICE_SERVERS is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise SettingsError("BILIN_ICE_SERVERS must be a JSON list")
    servers = []
    for entry in data:
        if not isinstance(entry, dict) or set(entry) - {"urls", "username", "credential"}:
            raise SettingsError(f"BILIN_ICE_SERVERS: unexpected entry {entry!r}")
        urls = entry.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(
            isinstance(u, str) and u.startswith(("stun:", "turn:", "turns:")) for u in urls
        ):
            raise SettingsError(f"BILIN_ICE_SERVERS: bad urls in {entry!r}")
        username, credential = entry.get("username"), entry.get("credential")
        if not all(v is None or isinstance(v, str) for v in (username, credential)):
            raise SettingsError(f"BILIN_ICE_SERVERS: bad credentials in {entry!r}")
        servers.append(IceServerSetting(tuple(urls), username, credential))
    return tuple(servers)


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
    # Online disputes one address may file per hour (the public form needs no account).
    public_submissions_per_hour: int = 5
    public_base_url: str = ""
    cookie_secure: bool = False
    web_dir: Path = field(default=WEB_DIR)
    # Recording (issue 4): refuse to start, and stop visibly, below this much free disk space.
    recording_min_free_mb: int = 500
    # Start recording when a moderator first admits someone (centre policy; off by default).
    recording_autostart: bool = False
    recording_segment_seconds: float = 10.0
    # Which process records a session (its next start recovers what it left open).
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Several media workers (issue 6): Redis holds which worker has which room; empty means
    # one process with everything in memory (the embedded default).
    redis_url: str = ""
    # Admission control: a worker holding this many rooms or participants takes no new room.
    media_max_rooms: int = 25
    media_max_participants: int = 100
    # ICE servers handed to browsers (empty: host candidates only, fine on one network).
    ice_servers: tuple[IceServerSetting, ...] = ()
    # coturn's static-auth-secret; TURN credentials given to browsers expire after turn_ttl_s.
    turn_secret: str = ""
    turn_ttl_s: int = 6 * 3600
    # RFC 3161 time-stamp authority for recording manifests (empty: none); unstamped
    # manifests are retried every tsa_retry_s seconds.
    tsa_url: str = ""
    tsa_retry_s: int = 300
    tsa_timeout_s: int = 10
    # Recordings in an S3-compatible object store instead of <data_dir>/recordings (all of
    # endpoint, bucket and keys set; default none: local files).
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    # Whether this process runs background jobs (renders, transcriptions) from the queue.
    run_jobs: bool = True
    # Centres' own document templates: <templates_dir>/<org code>/<kind>.html (default
    # <data_dir>/templates).
    templates_dir: Path | None = None
    # Draft transcription of recorded audio: pocketsphinx (English model in the package) or
    # vosk (a model directory the centre installs, e.g. Mandarin); the language it is for.
    transcription_engine: str = "pocketsphinx"
    vosk_model_dir: Path | None = None
    transcription_language: str = "en-US"

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
        if self.turn_secret and len(self.turn_secret) < 16:
            raise SettingsError("BILIN_TURN_SECRET must be at least 16 characters")
        if self.transcription_engine not in ("pocketsphinx", "vosk"):
            raise SettingsError("BILIN_TRANSCRIPTION_ENGINE must be pocketsphinx or vosk")
        if not 60 <= self.turn_ttl_s <= 7 * 24 * 3600:
            raise SettingsError("BILIN_TURN_TTL must be between 60 seconds and 7 days")

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
        try:
            turn_ttl_s = int(env.get("BILIN_TURN_TTL", str(6 * 3600)))
        except ValueError as exc:
            raise SettingsError("BILIN_TURN_TTL must be a number of seconds") from exc
        return cls(
            environment=env.get("BILIN_ENV", "development"),
            data_dir=data_dir,
            database_url=env.get("BILIN_DATABASE_URL", ""),
            host=env.get("BILIN_HOST", "127.0.0.1"),
            port=port,
            secret_key=env.get("BILIN_SECRET_KEY", DEFAULT_SECRET_KEY),
            default_locale=env.get("BILIN_LOCALE", "zh-CN"),
            timezone=env.get("BILIN_TIMEZONE", "Asia/Shanghai"),
            public_submissions_per_hour=_int(env, "BILIN_PUBLIC_SUBMISSIONS_PER_HOUR", 5),
            public_base_url=env.get("BILIN_PUBLIC_URL", ""),
            cookie_secure=env.get("BILIN_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            web_dir=Path(env.get("BILIN_WEB_DIR", str(WEB_DIR))),
            recording_min_free_mb=_int(env, "BILIN_RECORDING_MIN_FREE_MB", 500),
            recording_autostart=env.get("BILIN_RECORDING_AUTOSTART", "").lower()
            in ("1", "true", "yes"),
            recording_segment_seconds=float(env.get("BILIN_RECORDING_SEGMENT_SECONDS", "10")),
            worker_id=env.get("BILIN_WORKER_ID", "") or f"{socket.gethostname()}:{os.getpid()}",
            ice_servers=parse_ice_servers(env.get("BILIN_ICE_SERVERS", "[]")),
            turn_secret=env.get("BILIN_TURN_SECRET", ""),
            turn_ttl_s=turn_ttl_s,
            tsa_url=env.get("BILIN_TSA_URL", ""),
            tsa_retry_s=_int(env, "BILIN_TSA_RETRY_S", 300),
            tsa_timeout_s=_int(env, "BILIN_TSA_TIMEOUT_S", 10),
            s3_endpoint=env.get("BILIN_S3_ENDPOINT", ""),
            s3_bucket=env.get("BILIN_S3_BUCKET", ""),
            s3_access_key=env.get("BILIN_S3_ACCESS_KEY", ""),
            s3_secret_key=env.get("BILIN_S3_SECRET_KEY", ""),
            s3_region=env.get("BILIN_S3_REGION", "") or "us-east-1",
            run_jobs=env.get("BILIN_RUN_JOBS", "1").lower() not in ("0", "false", "no"),
            templates_dir=(
                Path(env["BILIN_TEMPLATES_DIR"]) if env.get("BILIN_TEMPLATES_DIR") else None
            ),
            transcription_engine=env.get("BILIN_TRANSCRIPTION_ENGINE", "") or "pocketsphinx",
            vosk_model_dir=(
                Path(env["BILIN_VOSK_MODEL_DIR"]) if env.get("BILIN_VOSK_MODEL_DIR") else None
            ),
            transcription_language=env.get("BILIN_TRANSCRIPTION_LANGUAGE", "") or "en-US",
            redis_url=env.get("BILIN_REDIS_URL", ""),
            media_max_rooms=_int(env, "BILIN_MEDIA_MAX_ROOMS", 25),
            media_max_participants=_int(env, "BILIN_MEDIA_MAX_PARTICIPANTS", 100),
        )

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        """Where people open Bilin; used in links printed or shown as QR codes."""
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from exc
