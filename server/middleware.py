"""Request middleware: one transaction per request, the session, CSRF, language, security
headers, and the one place where errors become responses."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server.appkeys import CATALOGUES, JINJA, SESSIONMAKER, SETTINGS
from server.auth.sessions import SESSION_COOKIE, load_session
from server.context import CONTEXT, RequestContext
from server.errors import BilinError, CsrfFailed, PayloadTooLarge
from server.i18n import Translator, negotiate_locale

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LANG_COOKIE = "bilin_lang"
ANON_CSRF_COOKIE = "bilin_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"
ANON_CSRF_KEY = web.RequestKey("anon_csrf", str)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# JSON API calls that need no session, so no session's CSRF token either.
SESSIONLESS_JSON_PATHS = frozenset({"/api/login", "/api/public/disputes"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


def is_api(request: web.Request) -> bool:
    """JSON API requests get JSON errors; pages get an error page."""
    return request.path.startswith("/api/") or request.path == "/healthz"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers every response carries: no referrer (tokens travel in links), CSP, no framing."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Raised responses (redirects, 405) carry the same headers.
        _add_security_headers(request, exc)
        raise
    _add_security_headers(request, response)
    return response


def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map :class:`BilinError` (and anything unexpected) to a translated response."""
    try:
        return await handler(request)
    except BilinError as exc:
        return error_response(request, exc.status, exc)
    except web.HTTPRequestEntityTooLarge:
        return error_response(request, 413, PayloadTooLarge())
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(request, 404, BilinError("error.not_found"))
        if exc.status >= 400 and is_api(request):
            # API clients get JSON for every error, e.g. DELETE where only GET is served.
            key = "error.method_not_allowed" if exc.status == 405 else "error.bad_request"
            response = error_response(request, exc.status, BilinError(key))
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, BilinError("error.internal"))


def _translator(request: web.Request) -> Translator:
    context = request.get(CONTEXT)
    if isinstance(context, RequestContext):
        return context.translate
    locale = negotiate_locale(
        request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language")
    )
    return request.app[CATALOGUES].translator(locale)


def error_response(request: web.Request, status: int, exc: BilinError) -> web.Response:
    """A JSON error for the API, an HTML page otherwise, in the requester's language."""
    t = _translator(request)
    message = t(exc.key, **exc.params)
    fields = {name: t(err.key, **err.params) for name, err in exc.fields.items()}
    if is_api(request) or "application/json" in request.headers.get("Accept", ""):
        body: dict[str, Any] = {"error": {"code": exc.key, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        return web.json_response(body, status=status)
    template = request.app[JINJA].get_template("error.html")
    context = request.get(CONTEXT)
    html = template.render(
        t=t,
        locale=t.locale,
        status=status,
        message=message,
        fields=fields,
        principal=context.principal if isinstance(context, RequestContext) else None,
        csrf_token=context.csrf_token if isinstance(context, RequestContext) else None,
        request_path=request.path,
    )
    return web.Response(text=html, status=status, content_type="text/html")


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Open the request's transaction, find its session and language, check CSRF.

    The transaction commits only if the handler returns a non-error response, so a request
    that fails leaves nothing half-saved.
    """
    if request.path.startswith(("/static/", "/socket.io/")) or request.path == "/metrics":
        # socket.io checks the session itself; a websocket must not hold a transaction open;
        # a scrape reads no session.
        return await handler(request)
    settings = request.app[SETTINGS]
    async with request.app[SESSIONMAKER]() as db:
        token = request.cookies.get(SESSION_COOKIE)
        loaded = await load_session(db, token) if token else None
        requested_lang = request.query.get("lang")
        locale = pick_locale(
            requested_lang or request.cookies.get(LANG_COOKIE),
            request.headers.get("Accept-Language"),
            loaded.locale if loaded else None,
        )
        context = RequestContext(
            db=db,
            translate=request.app[CATALOGUES].translator(locale),
            principal=loaded.principal if loaded else None,
            csrf_token=loaded.csrf_token if loaded else None,
            session_token=token if loaded else None,
            today=settings.today(),
        )
        request[CONTEXT] = context
        if request.method in UNSAFE_METHODS:
            await check_csrf(request, context)
        try:
            response: web.StreamResponse = await handler(request)
        except BilinError as exc:
            # Answered here rather than in ``errors`` so the language cookie below is set on
            # error responses too (``?lang=en`` on a refused form must stick).
            response = error_response(request, exc.status, exc)
        except BaseException:
            await db.rollback()
            raise
        if response.status < 400:
            await db.commit()
        else:
            await db.rollback()
    if requested_lang in ("zh-CN", "en"):
        response.set_cookie(
            LANG_COOKIE,
            requested_lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.cookie_secure,
        )
    if context.principal is None and ANON_CSRF_COOKIE not in request.cookies:
        # Double-submit token for the forms people fill in before logging in.
        response.set_cookie(
            ANON_CSRF_COOKIE,
            anon_csrf_token(request),
            httponly=True,
            samesite="Strict",
            secure=settings.cookie_secure,
        )
    return response


def pick_locale(explicit: str | None, accept_language: str | None, remembered: str | None) -> str:
    """The request's language: an explicit choice (``?lang=``, the language cookie), then what
    the client asks for in ``Accept-Language``, then the session's language, else zh-CN.

    The session's language is only what was negotiated at login, so a client that asks for
    another language on a later request gets it.
    """
    if explicit or _names_supported_language(accept_language):
        return negotiate_locale(explicit, accept_language)
    return negotiate_locale(remembered, None)


def _names_supported_language(accept_language: str | None) -> bool:
    return any(
        part.strip().lower().startswith(("zh", "en")) for part in (accept_language or "").split(",")
    )


def anon_csrf_token(request: web.Request) -> str:
    """The double-submit CSRF token of a visitor without a session (made once per request)."""
    existing = request.cookies.get(ANON_CSRF_COOKIE) or request.get(ANON_CSRF_KEY)
    if existing:
        return existing
    fresh = secrets.token_urlsafe(24)
    request[ANON_CSRF_KEY] = fresh
    return fresh


async def check_csrf(request: web.Request, context: RequestContext) -> None:
    """Refuse a state-changing request that does not carry the expected token.

    JSON API calls without a session (login, the public dispute form) need none: a browser
    cannot send ``application/json`` across sites without a CORS preflight, which Bilin never
    grants.
    """
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    json_api = is_api(request) and request.content_type == "application/json"
    if json_api and request.path in SESSIONLESS_JSON_PATHS:
        # Logging in again (or filing a dispute) with an old session cookie still works:
        # the old session's token protects nothing here, and the JSON argument above holds.
        return
    if context.csrf_token is not None:
        expected: str | None = context.csrf_token
    elif json_api:
        return
    else:
        expected = request.cookies.get(ANON_CSRF_COOKIE)
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise CsrfFailed()
