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
import argparse, json, socket, struct, sys, time

import hpack

MAX_ID = 2**31 - 1
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1

def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--path", default="/delay/3000")
    ap.add_argument("--mode", choices=["never-ack", "after-goaway"], required=True)
    ap.add_argument("--max-time", type=float, default=20.0)
    args = ap.parse_args()

    start = time.monotonic()
    def emit(event, **kw):
        kw.update({"t": round(time.monotonic() - start, 4), "event": event})
        print(json.dumps(kw), flush=True)

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
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            if ftype == SETTINGS and not flags & ACK:
                sock.sendall(frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                emit("ping", stream=stream, data=payload.hex())
                if args.mode != "never-ack":
                    sock.sendall(frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                last, code = struct.unpack(">II", payload[:8])
                emit("goaway", stream=stream, last_stream_id=last & 0x7FFFFFFF, error_code=code,
                     debug=payload[8:].decode("latin-1"))
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
    try:
        main()
    except Exception as e:  # one line, never a traceback
        print(json.dumps({"event": "error", "error": repr(e)}), flush=True)
        sys.exit(1)
