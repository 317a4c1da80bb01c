"""An independent QUIC client (aioquic) for RpcNet's interoperability test.

Connects with ALPN rpcnet/1, verifies the server against the test CA, sends a payload on one
bidirectional stream with FIN, and prints the echoed bytes' length and SHA-256. Exits non-zero on
any failure, and within --timeout seconds.
"""

import argparse
import asyncio
import hashlib
import sys

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived


class EchoClient(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = bytearray()
        self.done = asyncio.get_running_loop().create_future()

    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived):
            self.received.extend(event.data)
            if event.end_stream and not self.done.done():
                self.done.set_result(bytes(self.received))


async def run(args):
    configuration = QuicConfiguration(is_client=True, alpn_protocols=["rpcnet/1"])
    configuration.load_verify_locations(args.ca)
    configuration.server_name = args.server_name
    payload = bytes((i * 7 + 3) % 256 for i in range(args.size))
    async with connect(args.host, args.port, configuration=configuration, create_protocol=EchoClient) as client:
        stream_id = client._quic.get_next_available_stream_id()
        client._quic.send_stream_data(stream_id, payload, end_stream=True)
        client.transmit()
        echoed = await client.done
        negotiated = client._quic.tls.alpn_negotiated
    print(f"alpn={negotiated} sent={len(payload)} received={len(echoed)} sha256={hashlib.sha256(echoed).hexdigest()}")
    if echoed != payload:
        print("echo mismatch", file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(asyncio.wait_for(run(args), args.timeout)))
    except Exception as error:  # report any failure as a non-zero exit with its reason
        print(f"interop client failed: {error!r}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
