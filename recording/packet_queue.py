"""A track recorder's queue: packets kept as columns, not as one Python object each.

Packets wait up to a flush interval (0.5 s) before they are written. Kept as tuples, a
media worker recording a few dozen tracks holds about a thousand of them at any time, and
every one is an object the garbage collector has to look at: recording then cost more in
collections than in framing (bench/recording.md). Here a packet is one entry in each of five
columns: arrays of numbers and a list of payloads (``bytes``, which the collector ignores).
A control (pause, resume, stop) takes a row of its own, its marker in the payload column.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Generic, TypeVar

from .depacketize import PacketRow

ControlT = TypeVar("ControlT")


class PacketQueue(Generic[ControlT]):
    """Packets and controls in arrival order; :meth:`take` empties it in one step."""

    __slots__ = ("_arrivals", "_controls", "_markers", "_payloads", "_sequences", "_timestamps")

    def __init__(self) -> None:
        self._sequences = array("H")
        self._timestamps = array("I")
        self._markers = bytearray()
        self._payloads: list[bytes | ControlT] = []
        self._arrivals = array("d")
        self._controls: list[int] = []

    def __len__(self) -> int:
        return len(self._payloads)

    def put(
        self, sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float
    ) -> None:
        """Queue one packet's fields (the forwarding path: five appends, no allocation)."""
        self._sequences.append(sequence)
        self._timestamps.append(timestamp)
        self._markers.append(marker)
        self._payloads.append(payload)
        self._arrivals.append(arrival)

    def put_control(self, control: ControlT) -> None:
        """Queue a control between the packets before and after it."""
        self._controls.append(len(self._payloads))
        self._sequences.append(0)
        self._timestamps.append(0)
        self._markers.append(0)
        self._payloads.append(control)
        self._arrivals.append(0.0)

    def clear(self) -> None:
        """Forget everything queued."""
        self.take()

    def take(self) -> QueuedBatch[ControlT]:
        """Everything queued, as a batch; the queue starts again empty."""
        batch = QueuedBatch(
            self._sequences,
            self._timestamps,
            self._markers,
            self._payloads,
            self._arrivals,
            self._controls,
        )
        self._sequences = array("H")
        self._timestamps = array("I")
        self._markers = bytearray()
        self._payloads = []
        self._arrivals = array("d")
        self._controls = []
        return batch


class QueuedBatch(Generic[ControlT]):
    """What :meth:`PacketQueue.take` returns: packet runs between controls."""

    __slots__ = ("arrivals", "controls", "markers", "payloads", "sequences", "timestamps")

    def __init__(
        self,
        sequences: array[int],
        timestamps: array[int],
        markers: bytearray,
        payloads: list[bytes | ControlT],
        arrivals: array[float],
        controls: list[int],
    ) -> None:
        self.sequences = sequences
        self.timestamps = timestamps
        self.markers = markers
        self.payloads = payloads
        self.arrivals = arrivals
        self.controls = controls
        """Positions of the controls, in order."""

    def control(self, position: int) -> ControlT:
        """The control at ``position`` (one of :attr:`controls`)."""
        return self.payloads[position]  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.payloads)

    def rows(self, start: int = 0, stop: int | None = None) -> Iterator[PacketRow]:
        """The packets from ``start`` to ``stop`` (no control among them), as rows."""
        end = len(self.payloads) if stop is None else stop
        whole = start == 0 and end == len(self.payloads)
        # Only packets lie between start and stop: their payloads are bytes.
        payloads: list[bytes] = self.payloads if whole else self.payloads[start:end]  # type: ignore[assignment]
        if whole:
            return zip(
                self.sequences, self.timestamps, self.markers, payloads, self.arrivals, strict=True
            )
        return zip(
            self.sequences[start:end],
            self.timestamps[start:end],
            self.markers[start:end],
            payloads,
            self.arrivals[start:end],
            strict=True,
        )
