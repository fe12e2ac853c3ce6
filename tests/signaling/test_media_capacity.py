"""A hearing of eight devices: everyone receives everyone else's camera and microphone."""

from __future__ import annotations

from .conftest import Media, until

PEOPLE = ("mediator", "applicant", "respondent", "agent", "judge", "clerk", "liaison", "village")


async def test_eight_participants_each_receive_the_other_seven(media: Media) -> None:
    room = media.worker.room("hearing-8")
    people = [await media.join(room, name) for name in PEOPLE]

    def everyone_receives_everyone() -> bool:
        for participant, client in people:
            for other, _ in people:
                if other is participant:
                    continue
                for label in ("camera", "microphone"):
                    if client.packets_by_track.get(f"{other.id}/{label}", 0) < 5:
                        return False
        return True

    await until(everyone_receives_everyone, *(c.packet_event for _, c in people), within=30)
    for participant, _ in people:
        # 7 others x (camera + microphone): nobody's own media comes back to them.
        assert len(participant.stats().subscribed) == 14
