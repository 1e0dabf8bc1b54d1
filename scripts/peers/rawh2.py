"""Raw HTTP/2 framing for the test peers that must break the rules (drain clients, attackers,
hostile servers): frame types, flags, a frame encoder, a splitter for received bytes and a JSON
line emitter. HPACK comes from the `hpack` package (installed with `h2`)."""
import json, struct, threading, time

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_ID = 2**31 - 1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first=0):
    """An HPACK integer with a `prefix_bits` prefix; `first` holds the bits above it (RFC 7541 §5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2); bytes in."""
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def split_frames(buf):
    """Complete frames at the front of `buf`: ([(type, flags, stream, payload)], rest)."""
    frames = []
    while len(buf) >= 9:
        length = int.from_bytes(buf[0:3], "big")
        if len(buf) < 9 + length:
            break
        ftype, flags = buf[3], buf[4]
        stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        frames.append((ftype, flags, stream, buf[9:9 + length]))
        buf = buf[9 + length:]
    return frames, buf


def goaway_fields(payload):
    """(last_stream_id, error_code, debug text) of a GOAWAY payload."""
    last, code = struct.unpack(">II", payload[:8])
    return last & 0x7FFFFFFF, code, payload[8:].decode("latin-1")


def emitter():
    """A thread-safe function printing one JSON object per line: {"t": seconds since now, "event": ...}."""
    start = time.monotonic()
    lock = threading.Lock()

    def emit(event, **kw):
        kw.update({"t": round(time.monotonic() - start, 4), "event": event})
        with lock:
            print(json.dumps(kw), flush=True)

    return emit


def run_client(main):
    """Runs a peer client's main(): any exception becomes one JSON line and exit 1, never a traceback."""
    import sys
    try:
        main()
    except Exception as e:
        print(json.dumps({"event": "error", "error": repr(e)}), flush=True)
        sys.exit(1)


def run_server(on_conn, host, port):
    """Serves on_conn(reader, writer) with asyncio, prints `LISTENING <port>` (flushed) first, and
    exits 0 on Ctrl-C."""
    import asyncio, sys

    async def serve():
        server = await asyncio.start_server(on_conn, host, port)
        print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


def run_counted_server(serve, host, port):
    """run_server, numbering connections: prints `CONN <n>` when one opens and `CLOSED <n>` when
    `serve(reader, writer, n)` returns or the peer goes away, then closes the writer."""
    import asyncio
    counter = {"n": 0}

    async def on_conn(reader, writer):
        counter["n"] += 1
        n = counter["n"]
        print(f"CONN {n}", flush=True)
        try:
            await serve(reader, writer, n)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            print(f"CLOSED {n}", flush=True)
            try:
                writer.close()
            except Exception:
                pass

    run_server(on_conn, host, port)
