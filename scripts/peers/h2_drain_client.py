#!/usr/bin/env python3
"""A raw HTTP/2 client for server drain tests: frames by hand, HPACK from the `hpack` package
(installed with `h2`). Raw, because h2's connection state machine stops at the first GOAWAY and a
drain sends two. Prints one JSON object per line: {"t": seconds since connect, "event": ...}.
Every wait is bounded by --max-time.

Modes:
  never-ack     send one request, never acknowledge PINGs; report GOAWAYs, PINGs, the response
                and when the server closed the connection.
  after-goaway  send one request, ack PINGs; once a GOAWAY with a real last-stream-id (< 2^31-1)
                arrives, open a new stream (101) anyway and report what happens to it.
"""
import argparse, json, os, socket, struct, sys, time

import hpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import *  # noqa: E402,F403  frame types, flags, frame(), split_frames(), emitter()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--path", default="/delay/3000")
    ap.add_argument("--mode", choices=["never-ack", "after-goaway"], required=True)
    ap.add_argument("--max-time", type=float, default=20.0)
    args = ap.parse_args()

    start = time.monotonic()
    emit = emitter()

    enc, dec = hpack.Encoder(), hpack.Decoder()
    sock = socket.create_connection((args.host, args.port), timeout=args.max_time)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))

    def request(stream_id, path):
        block = enc.encode([(":method", "GET"), (":scheme", "http"),
                            (":authority", f"{args.host}:{args.port}"), (":path", path)])
        sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream_id, block))

    request(1, args.path)
    emit("request_sent", stream=1)
    buf = b""
    late_sent = False
    while time.monotonic() - start < args.max_time:
        sock.settimeout(max(0.05, args.max_time - (time.monotonic() - start)))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            break
        except ConnectionResetError:
            emit("closed", how="reset")
            return
        if not data:
            emit("closed", how="eof")
            return
        buf += data
        frames, buf = split_frames(buf)
        for ftype, flags, stream, payload in frames:
            if ftype == SETTINGS and not flags & ACK:
                sock.sendall(frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                emit("ping", stream=stream, data=payload.hex())
                if args.mode != "never-ack":
                    sock.sendall(frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                last, code, debug = goaway_fields(payload)
                emit("goaway", stream=stream, last_stream_id=last, error_code=code, debug=debug)
                if args.mode == "after-goaway" and last < MAX_ID and not late_sent:
                    late_sent = True
                    request(101, "/")
                    emit("late_request_sent", stream=101)
            elif ftype == HEADERS:
                headers = dict(dec.decode(payload))
                if ":status" in headers:
                    emit("response", stream=stream, status=int(headers[":status"]))
                if flags & END_STREAM:
                    emit("stream_ended", stream=stream)
            elif ftype == DATA:
                if length:
                    sock.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length)))
                if flags & END_STREAM:
                    emit("stream_ended", stream=stream)
            elif ftype == RST_STREAM:
                emit("stream_reset", stream=stream, error_code=struct.unpack(">I", payload)[0])
    emit("timeout")

if __name__ == "__main__":
    run_client(main)
