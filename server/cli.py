"""The ``bilin`` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import socket
import sys
from collections.abc import Sequence

from aiohttp import web

from server.logs import configure_logging
from server.settings import Settings, SettingsError
from server.vocabulary import Role

logger = logging.getLogger(__name__)


def _worker_count(settings: Settings, requested: str) -> int:
    """``auto``: one worker per core when Redis is configured, else the one embedded process."""
    if requested == "auto":
        return (os.cpu_count() or 1) if settings.redis_url else 1
    count = int(requested)
    if not 1 <= count <= 256:
        raise ValueError("--workers must be between 1 and 256")
    return count


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.db.migrate import upgrade

    if not args.worker:
        try:
            count = _worker_count(settings, args.workers)
        except ValueError as exc:
            print(f"bilin: {exc}", file=sys.stderr)
            return 2
        if count > 1:
            from server.workers import ClusterError, Supervisor

            try:
                return Supervisor(
                    settings,
                    count,
                    prefix=args.worker_prefix,
                    balancer=not args.no_balancer,
                    restart_delay_s=args.restart_delay,
                ).run()
            except ClusterError as exc:
                print(f"bilin: {exc}", file=sys.stderr)
                return 2
        upgrade(settings)
        print(f"Bilin is running: open {settings.base_url}/  (Ctrl+C stops it)", flush=True)
    from server.hearings.access_log import RedactingAccessLogger

    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=RedactingAccessLogger,
    )
    return 0


def _cmd_haproxy_config(settings: Settings, args: argparse.Namespace) -> int:
    from server.balancer import haproxy_config, parse_worker

    try:
        host, _, port = args.listen.rpartition(":")
        workers = [parse_worker(w) for w in args.worker]
        print(haproxy_config(host, int(port), workers), end="")
    except ValueError as exc:
        print(f"bilin: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.migrate import upgrade

    upgrade(settings, args.revision)
    print(f"database at {args.revision}: {_redacted(settings.database_url)}")
    return 0


def _redacted(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"


def _read_password(stream_is_tty: bool) -> str:
    if stream_is_tty:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            # Exit 2 like every other refusal of ``user add`` (SystemExit("…") exits 1).
            print("bilin: the two passwords differ", file=sys.stderr)
            raise SystemExit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.accounts import UserAddError, add_user
    from server.db.migrate import upgrade

    upgrade(settings)
    password = _read_password(sys.stdin.isatty())
    try:
        staff_id = asyncio.run(
            add_user(settings, args.username, Role(args.role), args.org, password, args.name)
        )
    except UserAddError as exc:
        print(f"bilin: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.username} (id {staff_id}) at {args.org}")
    return 0


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.migrate import upgrade
    from server.demo import load_demo

    upgrade(settings)
    asyncio.run(load_demo(settings, out=sys.stdout))
    return 0


def _cmd_demo_session(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from server.db.migrate import upgrade
    from server.hearings.demo import demo_session

    if settings.environment == "production":
        print("bilin: demo-session makes demo data; not in production", file=sys.stderr)
        return 2
    upgrade(settings)
    demo = asyncio.run(demo_session(settings))
    for username, password in demo.created_accounts.items():
        print(f"created demo account {username} with password {password}", file=sys.stderr)
    print(json.dumps(demo.as_json(), ensure_ascii=False), flush=True)
    return 0


def _cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    from recording.verify import run

    return run(settings, args.target, check_database=args.db)


def _cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.migrate import upgrade
    from server.keys import run_keys_command

    upgrade(settings)
    return run_keys_command(settings, args.keys_command, getattr(args, "org", None))


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``serve``, ``db upgrade``, ``user add``, ``demo``."""
    parser = argparse.ArgumentParser(prog="bilin", description="Bilin (比邻) mediation platform")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database and run the web server")
    serve.add_argument("--host", help="listen address (default BILIN_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default BILIN_PORT or 8080)")
    serve.add_argument(
        "--workers",
        default="auto",
        help="media worker processes behind HAProxy (default auto: one per core when "
        "BILIN_REDIS_URL is set, else one process)",
    )
    serve.add_argument("--worker-prefix", default="w", help="worker ids are PREFIX1, PREFIX2, …")
    serve.add_argument(
        "--no-balancer", action="store_true", help="start the workers only (the LB runs elsewhere)"
    )
    serve.add_argument(
        "--restart-delay", type=float, default=10.0, help="seconds before a dead worker restarts"
    )
    # Internal: one worker of a supervisor (the database is already migrated).
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(func=_cmd_serve)

    balancer = sub.add_parser(
        "haproxy-config", help="print an HAProxy configuration for workers on several machines"
    )
    balancer.add_argument("--listen", default="0.0.0.0:8080", help="HOST:PORT to accept on")
    balancer.add_argument(
        "--worker", action="append", required=True, metavar="ID=HOST:PORT", help="repeat per worker"
    )
    balancer.set_defaults(func=_cmd_haproxy_config)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply Alembic migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_cmd_db_upgrade)

    user = sub.add_parser("user", help="staff accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a staff account (password from standard input)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--org", required=True, help="organisation code, e.g. 620602")
    add.add_argument("--name", help="display name (default: the username)")
    add.set_defaults(func=_cmd_user_add)

    demo = sub.add_parser("demo", help="load the Wuwei City demo data (idempotent)")
    demo.set_defaults(func=_cmd_demo)

    demo_session = sub.add_parser(
        "demo-session", help="create a demo case with a hearing starting now; print its links"
    )
    demo_session.set_defaults(func=_cmd_demo_session)

    verify = sub.add_parser(
        "verify",
        help="check a recording package or document bundle (PATH) or a session (SESSION_ID): "
        "signature, every segment's SHA-256, the hash chain, the time-stamp; exit 1 naming "
        "what fails",
    )
    verify.add_argument("target", metavar="PATH|SESSION_ID")
    verify.add_argument(
        "--db",
        action="store_true",
        help="also check that a package's signer key is registered in this deployment",
    )
    verify.set_defaults(func=_cmd_verify)

    keys = sub.add_parser("keys", help="organisations' public signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("list", help="code, key id and name of every signing key").set_defaults(
        func=_cmd_keys
    )
    export = keys_sub.add_parser("export", help="print an organisation's public key (PEM)")
    export.add_argument("org", metavar="ORG_CODE")
    export.set_defaults(func=_cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bilin`` console script."""
    args = build_parser().parse_args(argv)
    configure_logging(
        os.environ.get("BILIN_WORKER_ID", "") or f"{socket.gethostname()}:{os.getpid()}",
        json_lines=os.environ.get("BILIN_LOG_FORMAT", "").lower() == "json",
        verbose=args.verbose,
    )
    if not args.verbose:
        # Each migration step would print a line before what the person asked for.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        changes: dict[str, object] = {}
        if getattr(args, "host", None):
            changes["host"] = args.host
        if getattr(args, "port", None):
            changes["port"] = args.port
        if changes:
            settings = settings.with_changes(**changes)
    except SettingsError as exc:
        print(f"bilin: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
