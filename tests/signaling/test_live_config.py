"""ICE and TURN configuration: short-lived TURN credentials, the ICE server list a page gets,
the settings that describe them, the coturn configuration, and the socket.io origin rule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import socketio

from server.app import create_app
from server.i18n import Catalogues
from server.settings import WEB_DIR, IceServerSetting, Settings, SettingsError, parse_ice_servers
from signaling.live.server import origin_check
from signaling.live.turn import ice_servers_for, turn_credentials
from tests.world import World

from .test_live_support import Live, hearing

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-shared-secret-of-some-length"


@pytest.fixture
def backend() -> str:
    """SQLite only: nothing here is about the database."""
    return "sqlite"


def test_turn_credentials_follow_the_coturn_rest_scheme() -> None:
    username, password = turn_credentials(SECRET, "17", ttl_s=600, now=1_700_000_000.7)
    assert username == "1700000600:17"
    expected = hmac.new(SECRET.encode(), b"1700000600:17", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected
    # Another participant, another time or another secret: another password.
    assert turn_credentials(SECRET, "18", 600, 1_700_000_000)[1] != password
    assert turn_credentials(SECRET, "17", 600, 1_700_000_001)[1] != password
    assert turn_credentials(SECRET + "x", "17", 600, 1_700_000_000)[1] != password
    with pytest.raises(ValueError):
        turn_credentials("", "17", 600, 0)
    with pytest.raises(ValueError):
        turn_credentials(SECRET, "1:7", 600, 0)


def test_ice_servers_for_a_page() -> None:
    settings = Settings(
        environment="test",
        ice_servers=(
            IceServerSetting(("stun:stun.example.org:3478",)),
            IceServerSetting(("turn:turn.example.org:3478?transport=udp",)),
            IceServerSetting(("turns:other.example.org:5349",), "fixed", "pw"),
        ),
        turn_secret=SECRET,
        turn_ttl_s=3600,
    )
    servers = ice_servers_for(settings, 42, now=1_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    assert servers[1]["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert servers[1]["username"] == "4600:42"
    assert servers[1]["credential"] == turn_credentials(SECRET, "42", 3600, 1_000)[1]
    assert servers[2] == {
        "urls": ["turns:other.example.org:5349"],
        "username": "fixed",
        "credential": "pw",
    }
    # Without a secret a TURN entry is passed on as configured; by default there is nothing.
    no_secret = settings.with_changes(turn_secret="")
    assert "username" not in ice_servers_for(no_secret, 42)[1]
    assert ice_servers_for(Settings(environment="test"), 42) == []


def test_ice_settings_from_the_environment() -> None:
    env = {
        "BILIN_ICE_SERVERS": '[{"urls": "stun:s.example.org"}, {"urls": ["turn:t.example.org"]}]',
        "BILIN_TURN_SECRET": SECRET,
        "BILIN_TURN_TTL": "900",
    }
    settings = Settings.from_env(env)
    assert settings.ice_servers == (
        IceServerSetting(("stun:s.example.org",)),
        IceServerSetting(("turn:t.example.org",)),
    )
    assert (settings.turn_secret, settings.turn_ttl_s) == (SECRET, 900)
    assert Settings.from_env({}).ice_servers == ()
    for bad in (
        "not json",
        '{"urls": ["stun:x"]}',
        '[{"urls": ["http://x"]}]',
        '[{"urls": []}]',
        '[{"urls": ["stun:x"], "password": "x"}]',
        '[{"urls": ["turn:x"], "username": 1}]',
    ):
        with pytest.raises(SettingsError):
            parse_ice_servers(bad)
    with pytest.raises(SettingsError):
        Settings.from_env({"BILIN_TURN_SECRET": "short"})
    with pytest.raises(SettingsError):
        Settings.from_env({"BILIN_TURN_TTL": "5"})


def _conf() -> list[tuple[str, str]]:
    lines = (ROOT / "docker" / "coturn" / "turnserver.conf").read_text().splitlines()
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def _denied() -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]]:
    ranges = []
    for name, value in _conf():
        if name == "denied-peer-ip":
            low, _, high = value.partition("-")
            ranges.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    return ranges


def _is_denied(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(
        type(low) is type(ip) and low <= ip <= high  # type: ignore[operator]
        for low, high in _denied()
    )


def test_coturn_uses_short_lived_credentials_and_relays_to_no_private_address() -> None:
    names = [name for name, _ in _conf()]
    assert "use-auth-secret" in names and "static-auth-secret" in names
    assert not {"user", "lt-cred-mech", "no-auth", "allow-loopback-peers"} & set(names)
    assert not any(name.startswith("allowed-peer-ip") for name in names)
    for address in (
        "0.0.0.1",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata services
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ):
        assert _is_denied(address), address
    for address in ("8.8.8.8", "172.32.0.1", "100.128.0.1", "2400:3200::1"):
        assert not _is_denied(address), address


def test_origin_rule() -> None:
    allowed = origin_check(
        Settings(environment="test", public_base_url="https://tiaojie.example.gov.cn/")
    )
    environ: dict[str, Any] = {"wsgi.url_scheme": "http", "HTTP_HOST": "10.1.1.5:8080"}
    assert allowed("https://tiaojie.example.gov.cn", environ)
    assert allowed("http://10.1.1.5:8080", environ)
    assert not allowed("https://evil.example", environ)
    assert not allowed("http://10.1.1.5:8081", environ)
    assert not allowed("null", environ)


async def test_a_foreign_origin_cannot_connect_and_the_page_gets_turn_credentials(
    settings: Settings, aiohttp_client: Any, world: World
) -> None:
    turn = IceServerSetting(("turn:turn.example.org:3478",))
    client = await aiohttp_client(
        create_app(settings.with_changes(ice_servers=(turn,), turn_secret=SECRET))
    )
    async with hearing(client, world) as h:
        cookies = await h.cookies_of("applicant")
        foreign = Live("applicant")
        h.lives.append(foreign)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await foreign.sio.connect(
                h.url,
                headers={"Cookie": cookies, "Origin": "https://evil.example"},
                namespaces=["/live"],
                transports=["websocket"],
                wait_timeout=5,
            )
        own = Live("applicant")
        h.lives.append(own)
        await own.sio.connect(
            h.url,
            headers={"Cookie": cookies, "Origin": h.url.rstrip("/")},
            namespaces=["/live"],
            transports=["polling", "websocket"],
            wait_timeout=5,
        )
        ack = await own.call("hello", {})
        assert ack["ok"]
        [server] = ack["ice_servers"]
        assert server["urls"] == ["turn:turn.example.org:3478"]
        expiry, _, user = server["username"].partition(":")
        assert user == str(h.seat("applicant")) and re.fullmatch(r"\d{10}", expiry)
        assert server["credential"] == turn_credentials(SECRET, user, 0, int(expiry))[1]


def test_every_message_key_of_the_live_layer_is_in_both_languages() -> None:
    catalogues = Catalogues.load(WEB_DIR / "i18n")
    keys = set()
    for path in (ROOT / "signaling" / "live").glob("*.py"):
        keys |= set(re.findall(r'"((?:error|signaling)\.[a-z_.]+)"', path.read_text()))
    assert "error.live_forbidden" in keys and "signaling.main_room" in keys
    for locale in ("zh-CN", "en"):
        missing = sorted(k for k in keys if k not in catalogues.messages[locale])
        assert missing == [], locale
    for key in keys:
        assert re.search(r"[\u4e00-\u9fff]", catalogues.messages["zh-CN"][key]), key
