"""A do-nothing Graph API for measuring the dispatcher alone: every POST gets a 200 with a
fresh wamid, at once. Raw asyncio protocol, HTTP/1.1 keep-alive, nothing else; not a
sandbox (it checks nothing), only a stand-in that costs almost no CPU.

Usage: python bench/null_graph.py  → prints "listening on http://127.0.0.1:PORT".
"""

import asyncio
import itertools
import sys

_ids = itertools.count()


class NullGraph(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker)
                length = int(head[marker + 15 : line_end if line_end > 0 else None])
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            body = b'{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],' + (
                b'"messages":[{"id":"wamid.null%d"}]}' % next(_ids)
            )
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )


async def main() -> None:
    server = await asyncio.get_running_loop().create_server(NullGraph, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
