"""Live hearings: the socket.io signalling server (namespace ``/live``) that joins browsers to
the media worker. The wire protocol is ``docs/protocol.md``."""

from .server import setup_live
from .service import NAMESPACE, LiveService
from .turn import ice_servers_for, turn_credentials

__all__ = ["NAMESPACE", "LiveService", "ice_servers_for", "setup_live", "turn_credentials"]
