"""Large HTTP/2 frames (``rpc.accept_large_frames``): a peer may send one in the same read as
its ACK of our SETTINGS, and the connection must take it (h2 alone raises its limit only after
processing the ACK, and checks a whole read against the limit in force when the read began)."""

from __future__ import annotations

from collections.abc import Callable

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import pytest

from zkedge.fleet import rpc

SIZE = 1 << 15  # over h2's default 16 KiB limit, within the default flow-control window


def _pair(
    server_setup: Callable[[h2.connection.H2Connection], None],
) -> tuple[h2.connection.H2Connection, h2.connection.H2Connection]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    server_setup(server)
    client.receive_data(server.data_to_send())  # the server's SETTINGS: the client ACKs them
    return client, server


def _ack_and_large_frame(client: h2.connection.H2Connection) -> bytes:
    """The client's preface, SETTINGS ACK, headers and one 32 KiB DATA frame, as one read."""
    client.send_headers(1, [(":method", "POST"), (":path", "/x"), (":scheme", "http"),
                            (":authority", "h")])  # fmt: skip
    assert client.max_outbound_frame_size == rpc.MAX_FRAME_SIZE  # the SETTINGS arrived
    client.send_data(1, b"\0" * SIZE)
    return client.data_to_send()


def test_large_frame_in_the_same_read_as_the_ack() -> None:
    client, server = _pair(rpc.accept_large_frames)
    events = server.receive_data(_ack_and_large_frame(client))
    data = [e for e in events if isinstance(e, h2.events.DataReceived)]
    assert [len(e.data) for e in data] == [SIZE]  # one frame, not cut to 16 KiB
    assert server.max_inbound_frame_size == rpc.MAX_FRAME_SIZE


def test_h2_alone_loses_the_connection() -> None:
    """What accept_large_frames is for: advertising alone fails on that read."""
    client, server = _pair(
        lambda s: s.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: rpc.MAX_FRAME_SIZE})
    )
    with pytest.raises(h2.exceptions.FrameTooLargeError):
        server.receive_data(_ack_and_large_frame(client))
