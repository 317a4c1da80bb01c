"""An independent rpcnet/1 client written only from docs/PROTOCOL.md, on aioquic.

Calls a unary method and a server-streaming method on an RpcNet server and checks the answers.
Prints one line per check and exits 0 only if every check passed, within --timeout seconds.
"""

import argparse
import asyncio
import sys

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived, StreamReset

CALL_HEADER, MESSAGE, TRAILER = 0x01, 0x02, 0x03


def varint(value):
    """QUIC variable-length integer (PROTOCOL.md section 2)."""
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return (value | 0x4000).to_bytes(2, "big")
    if value < 1 << 30:
        return (value | 0x80000000).to_bytes(4, "big")
    return (value | 0xC000000000000000).to_bytes(8, "big")


def read_varint(data, offset):
    length = 1 << (data[offset] >> 6)
    value = data[offset] & 0x3F
    for index in range(1, length):
        value = (value << 8) | data[offset + index]
    return value, offset + length


def string(text):
    encoded = text.encode()
    return varint(len(encoded)) + encoded


def frame(kind, payload):
    return bytes([kind]) + varint(len(payload)) + payload


def call_header(method, timeout_us=0):
    return frame(CALL_HEADER, string(method) + varint(timeout_us) + varint(0))


def parse_frames(data):
    """Splits a complete response stream into (type, payload) frames."""
    frames, offset = [], 0
    while offset < len(data):
        kind = data[offset]
        length, offset = read_varint(data, offset + 1)
        frames.append((kind, data[offset:offset + length]))
        offset += length
    return frames


def parse_trailer(payload):
    code, offset = read_varint(payload, 0)
    length, offset = read_varint(payload, offset)
    message = payload[offset:offset + length].decode()
    return code, message


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buffers, self.done = {}, {}

    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived):
            self.buffers.setdefault(event.stream_id, bytearray()).extend(event.data)
            if event.end_stream:
                self.done[event.stream_id].set_result(bytes(self.buffers[event.stream_id]))
        elif isinstance(event, StreamReset):
            self.done[event.stream_id].set_exception(RuntimeError(f"stream reset with code {event.error_code}"))

    async def call(self, method, message, timeout_us=0):
        stream_id = self._quic.get_next_available_stream_id()
        self.done[stream_id] = asyncio.get_running_loop().create_future()
        request = call_header(method, timeout_us) + frame(MESSAGE, message)
        self._quic.send_stream_data(stream_id, request, end_stream=True)
        self.transmit()
        return parse_frames(await self.done[stream_id])


async def run(args):
    configuration = QuicConfiguration(is_client=True, alpn_protocols=["rpcnet/1"])
    configuration.load_verify_locations(args.ca)
    configuration.server_name = "localhost"
    failures = 0

    def check(name, ok, detail):
        nonlocal failures
        print(f"{'ok' if ok else 'FAIL'} {name}: {detail}")
        failures += 0 if ok else 1

    async with connect(args.host, args.port, configuration=configuration, create_protocol=Client) as client:
        frames = await client.call("Echo.say", b"hello from python", timeout_us=5_000_000)
        check("unary", frames[:1] == [(MESSAGE, b"hello from python")] and frames[1][0] == TRAILER
              and parse_trailer(frames[1][1]) == (0, ""), frames)

        frames = await client.call("Echo.count", b"4")
        messages = [payload for kind, payload in frames if kind == MESSAGE]
        check("server streaming", messages == [b"0", b"1", b"2", b"3"] and frames[-1][0] == TRAILER
              and parse_trailer(frames[-1][1])[0] == 0, frames)

        frames = await client.call("No.such", b"")
        check("unknown method", frames and frames[-1][0] == TRAILER and parse_trailer(frames[-1][1])[0] == 12, frames)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(asyncio.wait_for(run(args), args.timeout)))
    except Exception as error:  # any failure is a non-zero exit with its reason
        print(f"protocol client failed: {error!r}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
