"""Signalling over socket.io /live: who may connect, what each one sees, moderator actions,
refusals of malformed, spoofed, oversized and too many events, chat, revocation, reconnect.

No media here (see test_live_media.py). Tests that read or write the database (chat, identity
and consent, revocation) run on SQLite and PostgreSQL; the others on SQLite only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import HearingChatMessage, IdentityCheck
from tests.world import World, id_number, login

from .test_live_support import Client, Live, cookie_header, hearing

# Overrides the conftest's backend parameter for tests where the database does not matter.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def ids(state: dict[str, Any]) -> set[int]:
    return {p["id"] for p in state["participants"]}


def person(state: dict[str, Any], participant_id: int) -> dict[str, Any]:
    return next(p for p in state["participants"] if p["id"] == participant_id)


@sqlite_only
async def test_parties_wait_until_admitted_and_see_only_their_room(
    client: Client, world: World
) -> None:
    async with hearing(client, world) as h:
        mediator, hello = await h.join("mediator")
        assert hello["you"] == {
            "participant_id": h.seat("mediator"),
            "name": hello["you"]["name"],
            "role": "mediator",
            "moderator": True,
            "hearing_id": h.id,
            "case_id": hello["you"]["case_id"],
        }
        assert hello["state"]["location"] == "main"
        assert hello["ice_servers"] == [] and hello["chat"] == []
        # The moderator sees every seat, connected or not, with identity and consent flags.
        assert ids(hello["state"]) == set(h.scheduled.seats.values())
        assert {"identity_checked", "consent", "do_not_record"} <= set(
            person(hello["state"], h.seat("applicant"))
        )

        applicant, hello = await h.join("applicant")
        assert hello["you"]["moderator"] is False
        assert hello["state"]["location"] == "waiting"
        # Someone waiting sees only themself, and no moderator-only fields.
        assert ids(hello["state"]) == {h.seat("applicant")}
        assert "identity_checked" not in hello["state"]["participants"][0]
        assert "waiting" not in hello["state"]
        assert [m["id"] for m in hello["state"]["moderators"]] == [h.seat("mediator")]
        await mediator.wait_state(lambda s: s["waiting"] == [h.seat("applicant")])
        # Not recorded yet: the indicator is off for someone who just joined.
        await applicant.wait_for(
            lambda: [e["active"] for e in applicant.events("recording")] == [False]
        )

        respondent, _ = await h.join("respondent")
        await mediator.wait_state(lambda s: len(s["waiting"]) == 2)
        ack = await mediator.call("admit", {"all": True})
        assert ack["ok"] and sorted(ack["admitted"]) == sorted(
            [h.seat("applicant"), h.seat("respondent")]
        )
        for party in (applicant, respondent):
            await party.wait_for(lambda p=party: {"room": "main"} in p.events("moved"))
            await party.wait_state(
                lambda s: ids(s) == {h.seat(r) for r in ("mediator", "applicant", "respondent")}
            )
        await mediator.wait_state(lambda s: s["waiting"] == [])

        # A caucus room: the respondent alone with the mediator; the applicant sees neither.
        ack = await mediator.call("open_caucus", {"label": "背对背一"})
        assert ack == {"ok": True, "room": "caucus-1"}
        assert (
            await mediator.call(
                "move", {"participant_id": h.seat("respondent"), "room": "caucus-1"}
            )
        )["ok"]
        assert (
            await mediator.call("move", {"participant_id": h.seat("mediator"), "room": "caucus-1"})
        )["ok"]
        await respondent.wait_state(
            lambda s: (
                s["location"] == "caucus-1"
                and ids(s) == {h.seat("mediator"), h.seat("respondent")}
                and s["rooms"] == [{"id": "caucus-1", "label": "背对背一"}]
            )
        )
        await applicant.wait_state(lambda s: ids(s) == {h.seat("applicant")})
        # Closing the room brings its occupants back to the main room.
        assert (await mediator.call("close_caucus", {"room": "caucus-1"}))["ok"]
        await applicant.wait_state(lambda s: len(ids(s)) == 3)
        assert respondent.events("moved")[-1] == {"room": "main"}

        # Send back and remove.
        assert (await mediator.call("send_to_waiting", {"participant_id": h.seat("respondent")}))[
            "ok"
        ]
        await respondent.wait_state(
            lambda s: s["location"] == "waiting" and ids(s) == {h.seat("respondent")}
        )
        assert (await mediator.call("remove", {"participant_id": h.seat("respondent")}))["ok"]
        await respondent.wait_for(lambda: respondent.disconnected.is_set())
        assert respondent.events("removed") == [{"reason": "removed"}]
        await mediator.wait_state(lambda s: not person(s, h.seat("respondent"))["connected"])


@sqlite_only
async def test_connections_without_a_seat_are_refused(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        nobody = Live("nobody")
        h.lives.append(nobody)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await nobody.connect(h.url, "")
        assert nobody.connect_error["data"]["code"] == "error.live_not_signed_in"

        forged = Live("forged")
        h.lives.append(forged)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await forged.connect(h.url, "bilin_session=not-a-real-token")
        assert forged.connect_error["data"]["code"] == "error.live_not_signed_in"

        # A link session names its own hearing only.
        cookies = await h.cookies_of("applicant")
        elsewhere = Live("elsewhere")
        h.lives.append(elsewhere)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await elsewhere.connect(h.url, cookies, {"hearing_id": h.id + 1000})
        assert elsewhere.connect_error["data"]["code"] == "error.live_no_seat"

        # Staff join on their login and must hold a seat in the hearing they name.
        await login(client, "lz_super")
        supervisor = Live("supervisor")
        h.lives.append(supervisor)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await supervisor.connect(
                h.url, cookie_header(client.session.cookie_jar), {"hearing_id": h.id}
            )
        assert supervisor.connect_error["data"]["code"] == "error.live_no_seat"

        await login(client, "lz_mediator")
        staff = Live("mediator")
        h.lives.append(staff)
        await staff.connect(h.url, cookie_header(client.session.cookie_jar), {"hearing_id": h.id})
        ack = await staff.call("hello", {})
        assert ack["ok"] and ack["you"]["participant_id"] == h.seat("mediator")
        assert ack["you"]["moderator"] is True


@sqlite_only
async def test_refused_events_change_nothing_for_anyone(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        applicant = await h.connect("applicant")
        # Nothing before hello.
        ack = await applicant.call("hand", {"raised": True})
        assert ack["error"]["code"] == "error.live_hello_first"
        assert (await applicant.call("hello", {}))["ok"]
        respondent, _ = await h.join("respondent")
        await h.admitted(mediator, applicant, respondent)
        # A judge in a mediation does not preside it.
        judge, hello = await h.join("judge")
        assert hello["you"]["moderator"] is False and hello["state"]["location"] == "waiting"
        await mediator.wait_state(lambda s: s["waiting"] == [h.seat("judge")])
        before = mediator.state

        refusals = [
            # a party sending moderator events, naming someone else or themself
            ("admit", {"all": True}, "error.live_forbidden"),
            ("remove", {"participant_id": h.seat("respondent")}, "error.live_forbidden"),
            (
                "move",
                {"participant_id": h.seat("applicant"), "room": "main"},
                "error.live_forbidden",
            ),
            ("mute", {"participant_id": None, "kind": "audio"}, "error.live_forbidden"),
            ("open_caucus", {"label": "x"}, "error.live_forbidden"),
            ("confirm_identity", {"participant_id": h.seat("applicant")}, "error.live_forbidden"),
            ("send_to_waiting", {"participant_id": h.seat("mediator")}, "error.live_forbidden"),
            # identity fields are never taken from a payload
            (
                "hand",
                {"raised": True, "participant_id": h.seat("respondent")},
                "error.live_invalid",
            ),
            ("chat", {"text": "hi", "from_id": h.seat("mediator")}, "error.live_invalid"),
            # malformed
            ("hand", {"raised": "yes"}, "error.live_invalid"),
            ("hand", [1, 2], "error.live_invalid"),
            ("hand", "raised", "error.live_invalid"),
            ("chat", {"text": ""}, "error.live_invalid"),
            ("chat", {"text": "   "}, "error.live_invalid"),
            ("chat", {"text": "长" * 1001}, "error.live_invalid"),
            ("media_state", {"audio": True}, "error.live_invalid"),
            ("publish", {"sdp": "v=0 nonsense"}, "error.live_sdp"),
            ("subscribe_answer", {"sdp": "v=0"}, "error.live_negotiation"),
            ("no_such_event", {}, "error.live_unknown_event"),
        ]
        refusals.append(("admit", {"participant_id": h.seat("judge")}, "error.live_forbidden"))
        for event, payload, code in refusals:
            sender = judge if event == "admit" and "participant_id" in payload else applicant
            ack = await sender.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
            assert ack["error"]["message"] and ack["error"]["message"] != code
        # A moderator's malformed or impossible event is refused the same way.
        ack = await mediator.call(
            "move", {"participant_id": h.seat("applicant"), "room": "caucus-9"}
        )
        assert ack["error"]["code"] == "error.live_unknown_room"
        ack = await mediator.call("move", {"participant_id": h.seat("applicant"), "room": "lobby"})
        assert ack["error"]["code"] == "error.live_invalid"
        ack = await mediator.call("move", {"participant_id": 10**6, "room": "main"})
        assert ack["error"]["code"] == "error.live_unknown_participant"
        ack = await mediator.call("remove", {"participant_id": h.seat("mediator")})
        assert ack["error"]["code"] == "error.live_invalid_target"
        ack = await mediator.call("admit", {"participant_id": "1"})
        assert ack["error"]["code"] == "error.live_invalid"
        ack = await mediator.call("admit", {"participant_id": True})
        assert ack["error"]["code"] == "error.live_invalid"

        # Nothing changed: the respondent is where it was, and the mediator's state is the same.
        assert (await respondent.call("hand", {"raised": True}))["ok"]
        await mediator.wait_state(lambda s: person(s, h.seat("respondent"))["hand"])
        after = mediator.state
        person(after, h.seat("respondent"))["hand"] = False
        assert after == before
        assert applicant.events("removed") == [] and not applicant.disconnected.is_set()


@sqlite_only
async def test_oversized_messages_close_only_the_sender(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant")
        await h.admitted(mediator, applicant)
        # Over engine.io's 16 KiB: the sender's connection is closed, nobody else's.
        await applicant.sio.emit("chat", {"text": "x" * 40_000}, namespace="/live")
        await applicant.wait_for(lambda: applicant.disconnected.is_set(), what="disconnect")
        await mediator.wait_state(lambda s: not person(s, h.seat("applicant"))["connected"])
        ack = await mediator.call("chat", {"text": "还在吗"})
        assert ack["ok"]


@sqlite_only
async def test_events_are_rate_limited(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant")
        await h.admitted(mediator, applicant)
        acks = await asyncio.gather(*(applicant.call("chat", {"text": f"{n}"}) for n in range(12)))
        codes = [a["error"]["code"] if not a["ok"] else "ok" for a in acks]
        assert codes.count("ok") <= 6 and "error.live_rate_limited" in codes
        acks = await asyncio.gather(
            *(applicant.call("hand", {"raised": n % 2 == 0}) for n in range(60))
        )
        assert sum(1 for a in acks if not a["ok"]) >= 10
        assert all(a["error"]["code"] == "error.live_rate_limited" for a in acks if not a["ok"])
        # The mediator's own budget is untouched.
        assert (await mediator.call("hand", {"raised": True}))["ok"]


async def test_chat_reaches_only_the_same_room_and_is_kept(
    client: Client, world: World, db: AsyncSession
) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant")
        respondent, _ = await h.join("respondent")
        ack = await respondent.call("chat", {"text": "我在候会"})
        assert ack["error"]["code"] == "error.live_waiting"
        await h.admitted(mediator, applicant, respondent)
        assert (await mediator.call("open_caucus", {"label": "申请人房间"}))["ok"]
        assert (
            await mediator.call("move", {"participant_id": h.seat("applicant"), "room": "caucus-1"})
        )["ok"]
        await applicant.wait_state(lambda s: s["location"] == "caucus-1")

        ack = await applicant.call("chat", {"text": "只对调解员说"})
        assert ack["ok"] and ack["message"]["room"] == "caucus-1"
        assert ack["message"]["from_id"] == h.seat("applicant")
        ack = await respondent.call("chat", {"text": "大家好"})
        assert ack["ok"]
        await mediator.wait_for(lambda: len(mediator.events("chat")) == 1)
        await respondent.wait_for(lambda: len(respondent.events("chat")) == 1)
        await applicant.wait_for(lambda: len(applicant.events("chat")) == 1)
        assert [m["text"] for m in mediator.events("chat")] == ["大家好"]
        assert [m["text"] for m in applicant.events("chat")] == ["只对调解员说"]
        # Check again after a round trip, so a late message would have arrived.
        assert (await applicant.call("hand", {"raised": True}))["ok"]
        assert [m["text"] for m in respondent.events("chat")] == ["大家好"]

        # Kept on the case, with the room; a rejoining person gets their room's history.
        rows = (
            (await db.execute(select(HearingChatMessage).order_by(HearingChatMessage.id)))
            .scalars()
            .all()
        )
        assert [(r.hearing_id, r.participant_id, r.location, r.text) for r in rows] == [
            (h.id, h.seat("applicant"), "caucus-1", "只对调解员说"),
            (h.id, h.seat("respondent"), "main", "大家好"),
        ]
        await mediator.close()
        _, hello = await h.join("mediator")
        assert [m["text"] for m in hello["chat"]] == ["大家好"]


async def test_revoked_participant_is_removed(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant")
        await h.admitted(mediator, applicant)
        csrf = await login(client, "lz_mediator")
        response = await client.delete(
            f"/api/hearings/{h.id}/participants/{h.seat('applicant')}/invitation",
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 204
        await applicant.wait_for(lambda: applicant.disconnected.is_set(), within=5)
        assert applicant.events("removed") == [{"reason": "revoked"}]
        await mediator.wait_state(lambda s: not person(s, h.seat("applicant"))["connected"])


@sqlite_only
async def test_reconnect_replaces_the_old_connection_in_the_same_room(
    client: Client, world: World
) -> None:
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        cookies = await h.cookies_of("applicant")
        applicant, _ = await h.join("applicant", cookies)
        await h.admitted(mediator, applicant)
        assert (await mediator.call("open_caucus", {"label": "甲"}))["ok"]
        assert (
            await mediator.call("move", {"participant_id": h.seat("applicant"), "room": "caucus-1"})
        )["ok"]
        await applicant.wait_state(lambda s: s["location"] == "caucus-1")

        # A reload: a new connection of the same browser while the old one is still open.
        again, hello = await h.join("applicant", cookies)
        assert hello["state"]["location"] == "caucus-1"
        await applicant.wait_for(lambda: applicant.disconnected.is_set())
        assert applicant.events("removed") == [{"reason": "replaced"}]
        await mediator.wait_state(
            lambda s: (
                person(s, h.seat("applicant"))["connected"]
                and person(s, h.seat("applicant"))["location"] == "caucus-1"
            )
        )
        assert [p["id"] for p in mediator.state["participants"]].count(h.seat("applicant")) == 1

        # A network drop: the connection is gone, the seat keeps its room.
        await again.close()
        await mediator.wait_state(lambda s: not person(s, h.seat("applicant"))["connected"])
        _, hello = await h.join("applicant", cookies)
        assert hello["state"]["location"] == "caucus-1"

        # After leaving, a party waits to be admitted again.
        third = h.lives[-1]
        assert (await third.call("leave", {}))["ok"]
        await third.wait_for(lambda: third.disconnected.is_set())
        _, hello = await h.join("applicant", cookies)
        assert hello["state"]["location"] == "waiting"


async def test_moderator_sees_consent_confirms_identity_and_asks_to_mute(
    client: Client, world: World, db: AsyncSession
) -> None:
    async with hearing(client, world) as h:
        # The applicant declares their identity and declines recording before entering.
        browser, csrf = await h.open("applicant")
        headers = {"X-CSRF-Token": csrf}
        response = await browser.post(
            "/api/join/identity",
            json={"name": "张三", "id_number": id_number("620602", "19850312", "021")},
            headers=headers,
        )
        assert response.status == 201, await response.text()
        notice = await (await browser.get("/api/join/notice")).json()
        response = await browser.post(
            "/api/join/consent",
            json={"notice_version": notice["version"], "given": False},
            headers=headers,
        )
        assert response.status == 201, await response.text()
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant", cookie_header(browser.cookie_jar))
        respondent, _ = await h.join("respondent")
        await mediator.wait_state(lambda s: len(s["waiting"]) == 2)
        seen = person(mediator.state, h.seat("applicant"))
        assert (seen["identity_declared"], seen["identity_checked"]) == (True, False)
        assert (seen["consent"], seen["do_not_record"]) == ("declined", True)
        assert person(mediator.state, h.seat("respondent"))["consent"] is None

        # Nothing declared, nothing to check; a declared identity is checked and recorded.
        ack = await mediator.call("confirm_identity", {"participant_id": h.seat("respondent")})
        assert ack["error"]["code"] == "error.hearing_nothing_declared"
        ack = await mediator.call("confirm_identity", {"participant_id": h.seat("applicant")})
        assert ack["ok"], ack
        await mediator.wait_state(lambda s: person(s, h.seat("applicant"))["identity_checked"])
        checks = (await db.execute(select(IdentityCheck))).scalars().all()
        assert [(c.participant_id, c.method, c.checked_by_participant_id) for c in checks] == [
            (h.seat("applicant"), "id_document_on_camera", h.seat("mediator"))
        ]

        await h.admitted(mediator, applicant, respondent)
        ack = await applicant.call("media_state", {"audio": False, "video": True, "screen": False})
        assert ack["ok"]
        await respondent.wait_state(lambda s: person(s, h.seat("applicant"))["audio"] is False)
        ack = await mediator.call("mute", {"participant_id": None, "kind": "video"})
        assert ack["ok"] and sorted(ack["asked"]) == sorted(
            [h.seat("applicant"), h.seat("respondent")]
        )
        ack = await mediator.call("mute", {"participant_id": h.seat("respondent"), "kind": "audio"})
        assert ack["ok"] and ack["asked"] == [h.seat("respondent")]
        await applicant.wait_for(lambda: bool(applicant.events("mute_requested")))
        await respondent.wait_for(lambda: len(respondent.events("mute_requested")) == 2)
        assert applicant.events("mute_requested")[0]["kind"] == "video"
        assert (
            applicant.events("mute_requested")[0]["by"]
            == person(mediator.state, h.seat("mediator"))["name"]
        )
        # Asking is all: the camera stays on in everyone's state until its owner turns it off.
        assert person(mediator.state, h.seat("applicant"))["video"] is True


@sqlite_only
async def test_judge_presides_a_confirmation_hearing_only(client: Client, world: World) -> None:
    # (A judge in a mediation is a participant like the others: see the refusals test.)
    async with hearing(client, world, username="lz_judge", kind="confirmation_hearing") as h:
        judge, hello = await h.join("judge")
        assert hello["you"]["moderator"] is True and hello["state"]["location"] == "main"
        applicant, _ = await h.join("applicant")
        await h.admitted(judge, applicant)


@sqlite_only
async def test_error_messages_follow_the_language(client: Client, world: World) -> None:
    async with hearing(client, world) as h:
        cookies = await h.cookies_of("applicant")
        english = await h.connect("applicant", cookies + "; bilin_lang=en")
        ack = await english.call("admit", {"all": True})
        assert ack["error"]["message"] == "You have not entered the hearing yet. Please wait."
        ack = await english.call("hello", {})
        assert ack["ok"]
        ack = await english.call("admit", {"all": True})
        assert ack["error"]["message"] == "Only the person presiding may do this."
