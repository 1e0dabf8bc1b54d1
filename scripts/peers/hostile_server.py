#!/usr/bin/env python3
"""A misbehaving HTTP/2 (h2c, prior knowledge) server for the client's protection tests.

Raw sockets, no h2 package: it writes frames by hand so it can break the rules h2 would enforce.
Prints `LISTENING <port>` once bound (use --port 0 for a free port), and `CONN <n>` for every
accepted connection, `CLOSED <n>` when one ends, so tests can count connections.

--mode:
  no-settings      read everything, never send a byte (no SETTINGS).
  no-settings-ack  send SETTINGS, never ACK the client's; never answer.
  no-ping-ack      SETTINGS + ACK, never answer PINGs nor requests.
  ping-flood       SETTINGS + ACK, then --count PING frames as fast as possible; never answer.
  garbage          send --count random bytes instead of a preface.
  huge-headers     answer each request with a :status 200 header block of --bytes bytes
                   (HEADERS with END_STREAM + CONTINUATION frames of 16 KiB).
  huge-body        answer each request with --bytes of DATA (no content-length), ignoring the
                   client's windows only as far as they are generous (keep --bytes under 1 MiB).
  raise-last-id    on each request: GOAWAY(last-id 0), then GOAWAY(last-id = the stream): a peer
                   that raises last-stream-id (RFC 9113 §6.8 forbids it).
  head-only        answer each request with a 200 head and then nothing (the body never ends).
  stall            SETTINGS_INITIAL_WINDOW_SIZE 0 + ACK, never a WINDOW_UPDATE, never answers, and
                   stops reading after the client's first HEADERS (its writes back up).
"""
import argparse
import asyncio
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE, SETTINGS, frame, literal, run_server  # noqa: E402


def settings(pairs=()):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


def goaway(last, code=0):
    return frame(GOAWAY, 0, 0, struct.pack("!II", last, code))


STATUS_200 = b"\x88"  # indexed :status 200


async def read_frames(reader, on_frame, stop_after_headers=False):
    """Reads the preface, then frames, calling on_frame(type, flags, stream, payload)."""
    await reader.readexactly(len(PREFACE))
    while True:
        head = await reader.readexactly(9)
        length = int.from_bytes(head[:3], "big")
        kind, flags = head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        payload = await reader.readexactly(length)
        await on_frame(kind, flags, stream, payload)
        if stop_after_headers and kind == HEADERS:
            # Stop reading: the client's writes fill the socket buffers and back up.
            await asyncio.sleep(3600)


async def serve(reader, writer, args):
    mode = args.mode
    w = writer.write

    async def on_frame(kind, flags, stream, payload):
        if kind == SETTINGS and not flags & ACK and mode not in ("no-settings", "no-settings-ack"):
            w(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK and mode not in ("no-settings", "no-settings-ack", "no-ping-ack"):
            w(frame(PING, ACK, 0, payload))
        elif kind == HEADERS and stream % 2 == 1:
            if mode == "huge-headers":
                block = STATUS_200 + literal(b"x-huge", b"h" * args.bytes)
                chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
                for i, chunk in enumerate(chunks):
                    last = i == len(chunks) - 1
                    flags = (END_HEADERS if last else 0) | (END_STREAM if i == 0 else 0)
                    w(frame(HEADERS if i == 0 else CONTINUATION, flags, stream, chunk))
            elif mode == "huge-body":
                w(frame(HEADERS, END_HEADERS, stream, STATUS_200))
                left = args.bytes
                while left > 0:
                    n = min(left, 16384)
                    left -= n
                    w(frame(DATA, END_STREAM if left == 0 else 0, stream, b"b" * n))
            elif mode == "head-only":
                w(frame(HEADERS, END_HEADERS, stream, STATUS_200))
            elif mode == "raise-last-id":
                w(goaway(0) + goaway(stream))
        await writer.drain()

    try:
        if mode == "garbage":
            w(os.urandom(args.count))
            await writer.drain()
            await reader.read(1 << 20)
            return
        if mode == "no-settings":
            while await reader.read(65536):
                pass
            return
        if mode == "stall":
            w(settings([(4, 0)]))  # SETTINGS_INITIAL_WINDOW_SIZE 0
        else:
            w(settings([(3, 100)]))  # SETTINGS_MAX_CONCURRENT_STREAMS 100
        await writer.drain()
        if mode == "ping-flood":
            for i in range(args.count):
                w(frame(PING, 0, 0, struct.pack("!Q", i)))
            await writer.drain()
        await read_frames(reader, on_frame, stop_after_headers=(mode == "stall"))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--mode", required=True, choices=[
        "no-settings", "no-settings-ack", "no-ping-ack", "ping-flood", "garbage",
        "huge-headers", "huge-body", "head-only", "raise-last-id", "stall"])
    p.add_argument("--count", type=int, default=1000, help="PINGs (ping-flood) or bytes (garbage)")
    p.add_argument("--bytes", type=int, default=256 * 1024, help="header value (huge-headers) or body (huge-body) size")
    args = p.parse_args()
    counter = {"n": 0}

    async def on_conn(reader, writer):
        counter["n"] += 1
        n = counter["n"]
        print(f"CONN {n}", flush=True)
        await serve(reader, writer, args)
        print(f"CLOSED {n}", flush=True)

    run_server(on_conn, args.host, args.port)


if __name__ == "__main__":
    main()
