#!/usr/bin/env python3
"""A scripted raw-frame HTTP/2 server (h2c, prior knowledge) for the client's conformance and
dead-peer tests. Plain python3: frames are written by hand so they can break RFC 9113 on purpose.

Prints `LISTENING <port>`, `CONN <n>` per connection, and on the first connection, once the client's
first HEADERS arrived and the --case frame was sent, one line per frame the client sends back:
  GOT RST_STREAM stream=<id> code=<code>
  GOT GOAWAY last=<id> code=<code>
  GOT SETTINGS_ACK
  GOT PING_ACK payload=<hex>
  GOT <type> stream=<id>            (anything else)
and `CLOSED <n>` when the client closes the connection. Later connections get plain 200 answers.

--case silent-after --count N: every connection answers its first N requests (200, body "ok"),
acks SETTINGS and PINGs until then, and then goes silent: it reads on, writes nothing, never closes.
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, MAX_ID, PING, PREFACE,  # noqa: E402
                   PRIORITY, PUSH_PROMISE, RST_STREAM, SETTINGS, WINDOW_UPDATE, frame, run_counted_server)

STATUS_200 = b"\x88"  # HPACK: indexed :status 200


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


def u32(v):
    return struct.pack("!I", v)


# The frame(s) each case sends once the client's HEADERS on stream 1 arrived (RFC 9113 section).
CASES = {
    # §6.9: increment 0 on a stream: stream error PROTOCOL_ERROR; on stream 0: connection error.
    "window-update-zero-stream": frame(WINDOW_UPDATE, 0, 1, u32(0)),
    "window-update-zero-connection": frame(WINDOW_UPDATE, 0, 0, u32(0)),
    # §6.9.1: a window beyond 2^31-1: stream error / connection error FLOW_CONTROL_ERROR.
    "window-overflow-stream": frame(WINDOW_UPDATE, 0, 1, u32(MAX_ID)),
    "window-overflow-connection": frame(WINDOW_UPDATE, 0, 0, u32(MAX_ID)),
    # §6.9: a WINDOW_UPDATE payload is 4 octets: FRAME_SIZE_ERROR.
    "window-update-bad-length": frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"),
    # §6.5.3: SETTINGS must be acknowledged.
    "settings-ack": settings((3, 100)),
    # §6.5: ACK with a payload: FRAME_SIZE_ERROR; a length not a multiple of 6: FRAME_SIZE_ERROR.
    "settings-ack-with-payload": frame(SETTINGS, ACK, 0, struct.pack("!HI", 3, 100)),
    "settings-bad-length": frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00"),
    # §6.5: SETTINGS on a stream: PROTOCOL_ERROR.
    "settings-on-stream": frame(SETTINGS, 0, 1, b""),
    # §6.5.2: values out of range.
    "settings-enable-push-2": settings((2, 2)),
    "settings-initial-window-too-large": settings((4, 2**31)),
    "settings-max-frame-size-too-small": settings((5, 16383)),
    "settings-max-frame-size-too-large": settings((5, 2**24)),
    # §6.7: PING must be answered with the same payload; length 8; stream 0 only.
    "ping-ack": frame(PING, 0, 0, b"goaway!!"),
    "ping-bad-length": frame(PING, 0, 0, b"1234567"),
    "ping-on-stream": frame(PING, 0, 1, b"12345678"),
    # §6.8: GOAWAY on a stream: PROTOCOL_ERROR.
    "goaway-on-stream": frame(GOAWAY, 0, 1, u32(0) + u32(0)),
    # §6.1: DATA on stream 0: PROTOCOL_ERROR.
    "data-on-stream-0": frame(DATA, 0, 0, b"x"),
    # §6.4: RST_STREAM on stream 0: PROTOCOL_ERROR; length 4: FRAME_SIZE_ERROR.
    "rst-on-stream-0": frame(RST_STREAM, 0, 0, u32(0)),
    "rst-bad-length": frame(RST_STREAM, 0, 1, b"\x00\x00\x00"),
    # §6.3: PRIORITY of the wrong length: stream error FRAME_SIZE_ERROR; on stream 0: PROTOCOL_ERROR.
    "priority-bad-length": frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00"),
    "priority-on-stream-0": frame(PRIORITY, 0, 0, u32(1) + b"\x10"),
    # §6.6 / §8.4: PUSH_PROMISE when SETTINGS_ENABLE_PUSH is 0: PROTOCOL_ERROR.
    "push-promise": frame(PUSH_PROMISE, END_HEADERS, 1, u32(2) + STATUS_200),
    # §5.1: frames on an idle stream (never opened): PROTOCOL_ERROR.
    "data-on-idle-stream": frame(DATA, 0, 5, b"x"),
    "headers-on-even-stream": frame(HEADERS, END_HEADERS, 2, STATUS_200),
    # §4.3: a header block that does not decode: COMPRESSION_ERROR.
    "headers-bad-hpack": frame(HEADERS, END_HEADERS, 1, b"\xff\xff\xff\xff\xff\xff"),
    # §6.10: CONTINUATION without HEADERS before it: PROTOCOL_ERROR.
    "continuation-without-headers": frame(CONTINUATION, END_HEADERS, 1, STATUS_200),
    # §4.2: a frame beyond SETTINGS_MAX_FRAME_SIZE (16,384 here): FRAME_SIZE_ERROR.
    "frame-too-large": frame(HEADERS, END_HEADERS, 1, STATUS_200) + frame(DATA, 0, 1, b"x" * 16385),
    # §6.1: DATA after END_STREAM (stream closed): STREAM_CLOSED.
    "data-after-end-stream": frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS_200) + frame(DATA, 0, 1, b"x"),
    # §6.9.1: DATA beyond the stream window we granted: FLOW_CONTROL_ERROR (sent in pieces below).
    "data-beyond-window": None,
}

NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM", SETTINGS: "SETTINGS",
         PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY", WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}


async def frames(reader):
    await reader.readexactly(len(PREFACE))
    while True:
        head = await reader.readexactly(9)
        length = int.from_bytes(head[:3], "big")
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        yield head[3], head[4], stream, await reader.readexactly(length)


def report(kind, flags, stream, payload):
    if kind == RST_STREAM:
        print(f"GOT RST_STREAM stream={stream} code={int.from_bytes(payload[:4], 'big')}", flush=True)
    elif kind == GOAWAY:
        print(f"GOT GOAWAY last={int.from_bytes(payload[:4], 'big') & MAX_ID} code={int.from_bytes(payload[4:8], 'big')}", flush=True)
    elif kind == SETTINGS and flags & ACK:
        print("GOT SETTINGS_ACK", flush=True)
    elif kind == PING and flags & ACK:
        print(f"GOT PING_ACK payload={payload.hex()}", flush=True)
    else:
        print(f"GOT {NAMES.get(kind, kind)} stream={stream}", flush=True)


def answer(stream):
    return frame(HEADERS, END_HEADERS, stream, STATUS_200) + frame(DATA, END_STREAM, stream, b"ok")


async def serve(reader, writer, args, n):
    w = writer.write
    w(settings((3, 100)))
    await writer.drain()
    offended = args.case == "silent-after" or n > 1
    answered = 0
    silent = False
    async for kind, flags, stream, payload in frames(reader):
        if silent:
            continue  # dead peer: read on, answer nothing
        if offended and n == 1 and args.case != "silent-after":
            report(kind, flags, stream, payload)
            continue
        if kind == SETTINGS and not flags & ACK:
            w(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            w(frame(PING, ACK, 0, payload))
        elif kind == HEADERS:
            if not offended:
                offended = True
                if args.case == "data-beyond-window":
                    # Our 1 MiB stream window, and one byte more.
                    w(frame(HEADERS, END_HEADERS, stream, STATUS_200))
                    left = (1 << 20) + 1
                    while left > 0:
                        chunk = min(left, 16384)
                        w(frame(DATA, 0, stream, b"d" * chunk))
                        left -= chunk
                else:
                    w(CASES[args.case])
            else:
                w(answer(stream))
                answered += 1
                if args.case == "silent-after" and answered >= args.count:
                    silent = True
                    print(f"SILENT {n}", flush=True)
        await writer.drain()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--case", required=True, choices=sorted(list(CASES) + ["silent-after"]))
    p.add_argument("--count", type=int, default=5, help="requests answered per connection (silent-after)")
    args = p.parse_args()
    run_counted_server(lambda reader, writer, n: serve(reader, writer, args, n), args.host, args.port)


if __name__ == "__main__":
    main()
