#!/usr/bin/env python3
"""A scripted HTTP/2 client for the server's own conformance suite (Tests/InteropTests/
ServerConformanceTests.swift): one case per MUST of RFC 9113 §3–§8 and RFC 7541 that a server can
be checked on. Raw frames; HPACK blocks are built by hand (literals without indexing, so a case
never depends on dynamic-table state).

A case: handshake (preface, SETTINGS, ack of the server's SETTINGS, wait for the ack of ours),
then the case's frames and, in the same write, PING("CONFORM!"). Every frame the server sends
back is printed as one JSON line; the run ends at that PING's ack (the connection is alive and
every frame before it was processed), at the server's close, or after --max-time:
  {"event": "rst_stream", "stream": 1, "error_code": 5}
  {"event": "goaway", "stream": 0, "last_stream_id": 1, "error_code": 1, "debug": ""}
  {"event": "headers", "stream": 1, "status": 200}   {"event": "data", "stream": 1, "end": true}
  {"event": "ping_ack"}   {"event": "closed", "how": "eof"}   {"event": "timeout"}

`--list` prints the case names.
"""
import argparse, os, socket, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import *  # noqa: E402,F403  frame types, flags, frame(), split_frames(), emitter()

PADDED, PRIORITY_FLAG = 0x8, 0x20
PROBE = b"CONFORM!"


def lit(name, value):
    return literal(name.encode(), value.encode())


def block(*extra, method="GET", path="/", pseudo=None):
    """A request header block; `pseudo` replaces the four pseudo-fields, `extra` follows them."""
    fields = pseudo if pseudo is not None else [(":method", method), (":scheme", "http"), (":authority", "localhost"), (":path", path)]
    return b"".join(lit(n, v) for n, v in list(fields) + list(extra))


def headers(stream, blk=None, end_stream=True, end_headers=True, flags=0):
    f = flags | (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, f, stream, block() if blk is None else blk)


def data(stream, payload=b"", end_stream=False, flags=0):
    return frame(DATA, flags | (END_STREAM if end_stream else 0), stream, payload)


def rst(stream, code=8):
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def post(stream, length=None, path="/echo", end_stream=False):
    extra = [("content-length", str(length))] if length is not None else []
    return headers(stream, block(*extra, method="POST", path=path), end_stream=end_stream)


# Each case: (frames sent after the handshake, or a function(send, wait) for cases that need to
# wait for the server; `raw` cases skip the handshake).
CASES = {
    # §3.4 Connection preface
    "3.4/invalid-preface": {"raw": b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings()},
    "3.4/first-frame-not-settings": {"raw": PREFACE + frame(PING, 0, 0, b"12345678")},
    # §4.1 Frame format
    "4.1/unknown-frame-type-ignored": {"send": frame(0x42, 0, 0, b"hello")},
    "4.1/unknown-flags-ignored": {"send": frame(PING, 0x10 | 0x40, 0, b"flagflag")},
    "4.1/reserved-bit-ignored": {"send": struct.pack(">I", len(block()))[1:] + bytes([HEADERS, END_STREAM | END_HEADERS]) + struct.pack(">I", 0x80000001) + block()},
    # §4.2 Frame size
    "4.2/data-max-frame-size-accepted": {"send": post(1, 16384) + data(1, b"x" * 16384, end_stream=True)},
    "4.2/data-over-max-frame-size": {"send": post(1) + data(1, b"x" * 16385)},
    "4.2/headers-over-max-frame-size": {"send": headers(1, block(("x-big", "a" * 16400)))},
    "4.2/settings-over-max-frame-size": {"send": frame(SETTINGS, 0, 0, b"\0" * 16390)},
    # §4.3 Field section compression
    "4.3/invalid-field-block": {"send": headers(1, b"\xff\xff\xff\xff\xff")},
    "4.3/priority-inside-field-block": {"send": headers(1, block(), end_headers=False) + frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 15))},
    "4.3/headers-other-stream-inside-field-block": {"send": headers(1, block(), end_headers=False) + headers(3)},
    "4.3/ping-inside-field-block": {"send": headers(1, block(), end_headers=False) + frame(PING, 0, 0, b"inside!!")},
    # §5.1 Stream states: idle
    "5.1/idle-data": {"send": data(1, b"x", end_stream=True)},
    "5.1/idle-rst-stream": {"send": rst(1)},
    "5.1/idle-window-update": {"send": window_update(1, 100)},
    "5.1/idle-continuation": {"send": frame(CONTINUATION, END_HEADERS, 1, block())},
    # half-closed (remote): the request ended, the response is still pending
    "5.1/half-closed-remote-data": {"send": headers(1, block(path="/delay/300")) + data(1, b"x")},
    "5.1/half-closed-remote-headers": {"send": headers(1, block(path="/delay/300")) + headers(1, block(("x-trailer", "1"), pseudo=[]))},
    # closed
    "5.1/closed-after-reset-data": {"send": post(1, path="/") + rst(1) + data(1, b"x")},
    "5.1/closed-after-reset-headers": {"send": post(1, path="/") + rst(1) + headers(1, block(("x-trailer", "1"), pseudo=[]))},
    "5.1/closed-after-end-stream-data": {"wait_response": True, "send": headers(1), "then": data(1, b"x")},
    "5.1/closed-after-end-stream-headers": {"wait_response": True, "send": headers(1), "then": headers(1)},
    "5.1/closed-after-reset-priority-allowed": {"send": post(1, path="/") + rst(1) + frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 15))},
    "5.1/closed-window-update-after-end-stream-allowed": {"wait_response": True, "send": headers(1), "then": window_update(1, 100)},
    # §5.1.1 Stream identifiers
    "5.1.1/even-stream-id": {"send": headers(2)},
    "5.1.1/stream-id-decreasing": {"send": headers(5) + headers(3)},
    # §5.1.2 Stream concurrency (the server advertises SETTINGS_MAX_CONCURRENT_STREAMS; the test sets it to 2)
    "5.1.2/over-max-concurrent-streams": {"send": headers(1, block(path="/delay/500")) + headers(3, block(path="/delay/500")) + headers(5, block(path="/delay/500"))},
    # §5.3.1 / §5.3.3 Priority: a stream depending on itself
    "5.3.1/headers-depends-on-itself": {"send": frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1, struct.pack(">IB", 1, 15) + block())},
    "5.3.1/priority-depends-on-itself": {"send": frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 15))},
    # §5.4.1 Connection error: GOAWAY, then close
    "5.4.1/connection-error-closes": {"send": frame(PING, 0, 0, b"short")},
    # §5.5 Extending HTTP/2
    "5.5/unknown-frame-ignored": {"send": frame(0xEE, 0xFF, 1, b"ext")},
    "5.5/unknown-frame-inside-field-block": {"send": headers(1, block(), end_headers=False) + frame(0xEE, 0, 1, b"ext")},
    # §6.1 DATA
    "6.1/data-stream-0": {"send": data(0, b"x")},
    "6.1/data-half-closed-remote": {"send": headers(1, block(path="/delay/300")) + data(1, b"x", end_stream=True)},
    "6.1/data-invalid-pad-length": {"send": post(1) + frame(DATA, PADDED, 1, bytes([10]) + b"abc")},
    "6.1/data-padded-accepted": {"send": post(1, 3) + frame(DATA, PADDED | END_STREAM, 1, bytes([4]) + b"abc" + b"\0" * 4)},
    # §6.2 HEADERS
    "6.2/headers-stream-0": {"send": headers(0)},
    "6.2/headers-invalid-pad-length": {"send": frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, bytes([200]) + block())},
    "6.2/headers-padded-accepted": {"send": frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, bytes([3]) + block() + b"\0\0\0")},
    "6.2/headers-priority-accepted": {"send": frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1, struct.pack(">IB", 0, 15) + block())},
    # §6.3 PRIORITY
    "6.3/priority-stream-0": {"send": frame(PRIORITY, 0, 0, struct.pack(">IB", 1, 15))},
    "6.3/priority-bad-length": {"send": headers(1, block(path="/delay/300")) + frame(PRIORITY, 0, 1, struct.pack(">IBB", 0, 15, 0))},
    "6.3/priority-idle-accepted": {"send": frame(PRIORITY, 0, 9, struct.pack(">IB", 0, 15))},
    # §6.4 RST_STREAM
    "6.4/rst-stream-0": {"send": rst(0)},
    "6.4/rst-stream-bad-length": {"send": headers(1, block(path="/delay/300")) + frame(RST_STREAM, 0, 1, b"\0\0\0\0\0")},
    # §6.5 SETTINGS
    "6.5/settings-ack-with-payload": {"send": frame(SETTINGS, ACK, 0, b"\0" * 6)},
    "6.5/settings-nonzero-stream": {"send": frame(SETTINGS, 0, 1, b"")},
    "6.5/settings-bad-length": {"send": frame(SETTINGS, 0, 0, b"\0\x03\0\0")},
    "6.5.2/enable-push-invalid": {"send": settings((0x2, 2))},
    "6.5.2/initial-window-size-too-large": {"send": settings((0x4, 2**31))},
    "6.5.2/max-frame-size-too-small": {"send": settings((0x5, 16383))},
    "6.5.2/max-frame-size-too-large": {"send": settings((0x5, 2**24))},
    "6.5.2/unknown-setting-ignored": {"send": settings((0xFF, 1))},
    "6.5.3/settings-acked": {"send": settings((0x3, 100)), "expect_settings_ack": True},
    # §6.7 PING
    "6.7/ping-answered-with-same-payload": {"send": frame(PING, 0, 0, b"pingdata"), "expect_ping": b"pingdata"},
    "6.7/ping-ack-not-answered": {"send": frame(PING, ACK, 0, b"unasked!")},
    "6.7/ping-nonzero-stream": {"send": frame(PING, 0, 1, b"12345678")},
    "6.7/ping-bad-length": {"send": frame(PING, 0, 0, b"123456789")},
    # §6.8 GOAWAY
    "6.8/goaway-nonzero-stream": {"send": frame(GOAWAY, 0, 1, struct.pack(">II", 0, 0))},
    # §6.9 WINDOW_UPDATE
    "6.9/window-update-0-connection": {"send": window_update(0, 0)},
    "6.9/window-update-0-stream": {"send": post(1, path="/") + window_update(1, 0)},
    "6.9/window-update-bad-length": {"send": frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\1\0")},
    "6.9.1/connection-window-overflow": {"send": window_update(0, 2**31 - 1) + window_update(0, 2**31 - 1)},
    "6.9.1/stream-window-overflow": {"send": post(1, path="/") + window_update(1, 2**31 - 1)},
    "6.9.2/initial-window-size-overflows-stream": {"send": post(1, path="/delay/300") + window_update(1, 2**31 - 1 - 65535) + settings((0x4, 65536))},
    # §6.10 CONTINUATION
    "6.10/continuation-accepted": {"send": frame(HEADERS, END_STREAM, 1, block()[:5]) + frame(CONTINUATION, 0, 1, block()[5:10]) + frame(CONTINUATION, END_HEADERS, 1, block()[10:])},
    "6.10/continuation-after-end-headers": {"send": headers(1, block(path="/delay/300")) + frame(CONTINUATION, END_HEADERS, 1, block())},
    "6.10/continuation-stream-0": {"send": headers(1, block(), end_headers=False) + frame(CONTINUATION, END_HEADERS, 0, b"")},
    "6.10/continuation-other-stream": {"send": headers(1, block(), end_headers=False) + frame(CONTINUATION, END_HEADERS, 3, b"")},
    "6.10/data-inside-field-block": {"send": headers(1, block(), end_headers=False) + data(1, b"x")},
    # §7 Error codes: unknown codes are not errors
    "7/unknown-code-rst-stream": {"send": headers(1, block(path="/delay/300")) + rst(1, 0xFF)},
    "7/unknown-code-goaway": {"send": headers(1) + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0xFF))},
    # §8.1 HTTP message framing
    "8.1/second-headers-without-end-stream": {"send": post(1) + headers(1, block(("x-trailer", "1"), pseudo=[]), end_stream=False)},
    "8.1/trailers-with-pseudo-header": {"send": post(1) + headers(1, block(pseudo=[(":path", "/")]))},
    # §8.1.1 Malformed messages: content-length
    "8.1.1/content-length-mismatch-one-data": {"send": post(1, 1, path="/") + data(1, b"abcd", end_stream=True)},
    "8.1.1/content-length-mismatch-several-data": {"send": post(1, 3, path="/") + data(1, b"ab") + data(1, b"cd", end_stream=True)},
    "8.1.1/content-length-short": {"send": post(1, 10, path="/") + data(1, b"ab", end_stream=True)},
    "8.1.1/content-length-with-echo": {"send": post(1, 4, path="/echo") + data(1, b"ab") + data(1, b"cdef", end_stream=True)},
    # §8.2 Field validity
    "8.2/uppercase-field-name": {"send": headers(1, block(("X-Upper", "1")))},
    "8.2/connection-specific-field": {"send": headers(1, block(("connection", "keep-alive")))},
    "8.2/te-not-trailers": {"send": headers(1, block(("te", "gzip")))},
    "8.2/te-trailers-accepted": {"send": headers(1, block(("te", "trailers")))},
    "8.2/field-value-with-newline": {"send": headers(1, block(("x-bad", "a\nb")))},
    # §8.3 Pseudo-header fields
    "8.3/unknown-pseudo-header": {"send": headers(1, block(pseudo=[(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/"), (":foo", "1")]))},
    "8.3/response-pseudo-header-in-request": {"send": headers(1, block(pseudo=[(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/"), (":status", "200")]))},
    "8.3/pseudo-header-after-regular": {"send": headers(1, block(pseudo=[(":method", "GET"), (":scheme", "http"), ("x-a", "1"), (":path", "/")]))},
    "8.3/duplicate-pseudo-header": {"send": headers(1, block(pseudo=[(":method", "GET"), (":method", "GET"), (":scheme", "http"), (":path", "/")]))},
    "8.3/missing-method": {"send": headers(1, block(pseudo=[(":scheme", "http"), (":authority", "x"), (":path", "/")]))},
    "8.3/missing-scheme": {"send": headers(1, block(pseudo=[(":method", "GET"), (":authority", "x"), (":path", "/")]))},
    "8.3/missing-path": {"send": headers(1, block(pseudo=[(":method", "GET"), (":scheme", "http"), (":authority", "x")]))},
    "8.3/empty-path": {"send": headers(1, block(pseudo=[(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "")]))},
    # §8.4 Server push: a client must not push
    "8.4/client-push-promise": {"send": headers(1, block(path="/delay/300")) + frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + block())},
    # RFC 7541
    "hpack-2.3.3/index-out-of-range": {"send": headers(1, b"\xff\x7f")},
    "hpack-4.2/table-size-update-over-limit": {"send": headers(1, hpack_int(4097, 5, 0x20) + block())},
    "hpack-5.2/huffman-eos": {"send": headers(1, block()[:0] + b"\x00\x81\xff" + hpack_int(1, 7) + b"a")},
    "hpack-5.2/huffman-padding-too-long": {"send": headers(1, b"\x00\x83\xa8\xff\xff" + hpack_int(1, 7) + b"a")},
    "hpack-5.2/huffman-padding-not-eos": {"send": headers(1, b"\x00\x81\x1c" + hpack_int(1, 7) + b"a")},
    "hpack-6.1/index-0": {"send": headers(1, b"\x80")},
    "hpack-6.3/table-size-update-after-field": {"send": headers(1, block() + hpack_int(0, 5, 0x20))},
    "hpack/valid-indexed-request-accepted": {"send": headers(1, b"\x82\x86\x84\x01\x09localhost")},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--case")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--max-time", type=float, default=5.0)
    args = ap.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    case = CASES[args.case]
    emit = emitter()
    start = time.monotonic()
    sock = socket.create_connection((args.host, args.port), timeout=args.max_time)
    buf = b""

    def read_frames():
        """Frames from one recv; None at the server's close."""
        nonlocal buf
        sock.settimeout(max(0.05, args.max_time - (time.monotonic() - start)))
        try:
            chunk = sock.recv(65535)
        except socket.timeout:
            return []
        except OSError as e:
            emit("closed", how=type(e).__name__)
            return None
        if not chunk:
            emit("closed", how="eof")
            return None
        buf += chunk
        frames, buf = split_frames(buf)
        return frames

    def read_until(done, during):
        """Reads frames until done(frame) is true (True), or the close or --max-time (False)."""
        while time.monotonic() - start < args.max_time:
            frames = read_frames()
            if frames is None:
                return False
            if any([done(*f) for f in frames]):
                return True
        emit("timeout", during=during)
        return False

    if "raw" in case:
        sock.sendall(case["raw"])
    else:
        # Handshake: our SETTINGS, their SETTINGS acked, our SETTINGS acked.
        sock.sendall(PREFACE + settings())
        seen = set()

        def handshake(ftype, flags, stream, payload):
            if ftype == SETTINGS and flags & ACK:
                seen.add("ack")
            elif ftype == SETTINGS:
                seen.add("settings")
                sock.sendall(frame(SETTINGS, ACK, 0))
            return seen == {"ack", "settings"}

        if not read_until(handshake, "handshake"):
            return
        emit("handshake_done")
        if case.get("wait_response"):
            sock.sendall(case["send"])

            def response(ftype, flags, stream, payload):
                report(emit, ftype, flags, stream, payload)
                return ftype in (HEADERS, DATA) and flags & END_STREAM

            if not read_until(response, "response"):
                return
            sock.sendall(case["then"] + frame(PING, 0, 0, PROBE))
        else:
            sock.sendall(case["send"] + frame(PING, 0, 0, PROBE))

    while time.monotonic() - start < args.max_time:
        frames = read_frames()
        if frames is None:
            return
        for ftype, flags, stream, payload in frames:
            if ftype == PING and flags & ACK and payload == PROBE:
                emit("ping_ack")
                return
            report(emit, ftype, flags, stream, payload)
    emit("timeout")


def report(emit, ftype, flags, stream, payload):
    if ftype == GOAWAY:
        last, code, debug = goaway_fields(payload)
        emit("goaway", stream=stream, last_stream_id=last, error_code=code, debug=debug)
    elif ftype == RST_STREAM:
        emit("rst_stream", stream=stream, error_code=struct.unpack(">I", payload[:4])[0])
    elif ftype == HEADERS:
        emit("headers", stream=stream, status=status_of(payload, flags), end=bool(flags & END_STREAM))
    elif ftype == DATA:
        emit("data", stream=stream, end=bool(flags & END_STREAM))
    elif ftype == PING and not flags & ACK:
        emit("ping", debug=payload.decode("latin-1"))
    elif ftype == PING:
        emit("ping_ack_other", debug=payload.decode("latin-1"))
    elif ftype == SETTINGS and flags & ACK:
        emit("settings_ack")


def status_of(payload, flags):
    """The :status of a response HEADERS frame (the server's HPACK; decoded with `hpack`)."""
    try:
        import hpack
        if flags & PADDED:
            payload = payload[1:len(payload) - payload[0]]
        if flags & PRIORITY_FLAG:
            payload = payload[5:]
        for name, value in DECODER.decode(payload):
            if name in (":status", b":status"):
                return int(value)
    except Exception:
        return None
    return None


try:
    import hpack
    DECODER = hpack.Decoder()
except ImportError:  # the status is informational; the frames are what the tests check
    DECODER = None

if __name__ == "__main__":
    run_client(main)
