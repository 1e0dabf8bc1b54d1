#!/usr/bin/env python3
"""A scripted HTTP/2 (h2c, prior knowledge) server for GOAWAY interop tests.

Prints `LISTENING <port>` once bound (use --port 0 for a free port).

Behaviours (combinable):
  --every N          answer N requests per connection, then GOAWAY(NO_ERROR, last-stream-id = Nth
                     stream); later streams are not processed; the connection closes once the
                     streams <= last-id are answered.
  --two-phase        before the real GOAWAY send the 2^31-1 shutdown notice and a PING.
  --refuse-every K   reset every Kth stream with REFUSED_STREAM (never processed).
  --refuse-fraction F  reset each stream with REFUSED_STREAM with probability F (0..1, random).
  --abrupt-after M   after M requests arrived on a connection (unanswered), send GOAWAY with
                     last-stream-id = highest stream seen and close the socket at once: every
                     request in flight is "possibly processed".
  --delay-ms D       wait D ms before answering (keeps streams in flight).
  --max-streams S    SETTINGS_MAX_CONCURRENT_STREAMS (default 100).
  --goaway-first     send GOAWAY(last-id 0) before our SETTINGS on every other connection.
  --debug-data TEXT  debug data of the --every GOAWAY (default max_requests).
  --log-requests     print `REQUEST <method> <stream>` as each request arrives (tests wait for it).
  --raise-last-id    follow the --every GOAWAY with a second one whose last-stream-id is higher
                     (a protocol violation the client must survive).
Responses: 200, body `ok <path> <request body bytes>\n`. Every connection logs a summary line to
stdout: `CONN served=<n> goaway_last=<id> refused=<k> seen=<streams>`; `POSTS_PROCESSED <n>` counts POST bodies
received by the application so tests can check nothing was processed twice.
"""
import argparse
import asyncio
import os
import random
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.errors
import h2.settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawh2 import run_server  # noqa: E402

posts_processed = 0


def goaway_frame(last_stream_id, error_code=0, debug=b""):
    """A raw GOAWAY frame. h2's close_connection() moves its state machine to CLOSED and then
    rejects every later frame, so a graceful drain (answering streams <= last-id) is impossible
    with it; GOAWAY carries no HPACK state, so writing it between h2's frames is safe."""
    payload = struct.pack("!II", last_stream_id & 0x7FFFFFFF, error_code) + debug
    return struct.pack("!I", len(payload))[1:] + bytes([0x7, 0]) + struct.pack("!I", 0) + payload


class Conn:
    def __init__(self, reader, writer, args, index):
        self.r, self.w, self.args, self.index = reader, writer, args, index
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8", validate_inbound_headers=False)
        self.c = h2.connection.H2Connection(config=cfg)
        self.served = 0
        self.accepted = 0  # requests we decided to process
        self.seen = 0
        self.refused = 0
        self.goaway_last = None
        self.bodies = {}
        self.headers = {}
        self.pending = set()  # streams <= last-id not yet answered
        self.closing = False

    def flush(self):
        data = self.c.data_to_send()
        if data and not getattr(self, "eof_sent", False):
            self.w.write(data)

    async def run(self):
        self.c.initiate_connection()
        if self.args.goaway_first and self.index % 2 == 1:
            # GOAWAY before SETTINGS (h2 queued SETTINGS already; send GOAWAY bytes first).
            settings = self.c.data_to_send()
            self.w.write(goaway_frame(0) + settings)
            await self.w.drain()
            self.closing = True
        else:
            self.c.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.args.max_streams})
            self.flush()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(self.r.read(65536), timeout=10 if self.closing else None)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
                try:
                    events = self.c.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    print(f"PROTOCOL_ERROR {e!r}", flush=True)
                    self.flush()
                    break
                for ev in events:
                    await self.handle(ev)
                self.flush()
                await self.w.drain()
                if self.closing and not self.pending:
                    self.half_close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            print(f"CONN served={self.served} goaway_last={self.goaway_last} refused={self.refused} seen={self.seen}", flush=True)
            try:
                self.w.close()
            except Exception:
                pass

    async def handle(self, ev):
        global posts_processed
        if isinstance(ev, h2.events.RequestReceived):
            sid = ev.stream_id
            self.seen += 1
            self.headers[sid] = dict(ev.headers)
            if self.args.log_requests:
                print(f"REQUEST {self.headers[sid].get(':method')} {sid}", flush=True)
            self.bodies[sid] = 0
            if self.goaway_last is not None and sid > self.goaway_last:
                return  # not processed: the client must re-send it elsewhere
            if (self.args.refuse_every and self.seen % self.args.refuse_every == 0) or \
                    (self.args.refuse_fraction and random.random() < self.args.refuse_fraction):
                self.refused += 1
                self.c.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                return
            if self.args.abrupt_after and self.seen >= self.args.abrupt_after:
                self.goaway_last = sid
                self.flush()
                self.w.write(goaway_frame(sid))
                await self.w.drain()
                self.w.transport.abort()
                raise ConnectionError("abrupt close")
            self.accepted += 1
            self.pending.add(sid)
            if self.args.every and self.accepted == self.args.every:
                self.flush()
                if self.args.two_phase:
                    self.w.write(goaway_frame(2**31 - 1))
                    self.c.ping(b"goaway!!")
                    self.flush()
                self.w.write(goaway_frame(sid, 0, self.args.debug_data.encode()))
                if self.args.raise_last_id:
                    # A peer violation (RFC 9113 §6.8: last-stream-id must never grow).
                    self.w.write(goaway_frame(sid + 100, 0))
                self.goaway_last = sid
                self.closing = True
            if ev.stream_ended:
                asyncio.ensure_future(self.respond(sid))
        elif isinstance(ev, h2.events.DataReceived):
            if ev.stream_id in self.bodies:
                self.bodies[ev.stream_id] += len(ev.data)
            self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if ev.stream_ended and ev.stream_id in self.pending:
                asyncio.ensure_future(self.respond(ev.stream_id))
        elif isinstance(ev, h2.events.StreamEnded):
            pass
        elif isinstance(ev, h2.events.StreamReset):
            self.pending.discard(ev.stream_id)

    async def respond(self, sid):
        global posts_processed
        if self.args.delay_ms:
            await asyncio.sleep(self.args.delay_ms / 1000)
        h = self.headers.get(sid, {})
        if h.get(":method") == "POST":
            posts_processed += 1
            print(f"POSTS_PROCESSED {posts_processed}", flush=True)
        body = f"ok {h.get(':path', '/')} {self.bodies.get(sid, 0)}\n".encode()
        try:
            self.c.send_headers(sid, [(":status", "200"), ("content-length", str(len(body)))])
            self.c.send_data(sid, body, end_stream=True)
            self.served += 1
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass
        self.pending.discard(sid)
        self.flush()
        try:
            await self.w.drain()
        except ConnectionError:
            return
        if self.closing and not self.pending:
            self.half_close()

    def half_close(self):
        """Everything <= last-id is answered: stop writing, but keep reading until the client
        closes (closing with unread input would make the kernel send RST and destroy responses
        still in flight to the client)."""
        if getattr(self, "eof_sent", False):
            return
        self.eof_sent = True
        try:
            self.w.write_eof()
        except (OSError, RuntimeError):
            pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--every", type=int, default=0)
    p.add_argument("--two-phase", action="store_true")
    p.add_argument("--refuse-every", type=int, default=0)
    p.add_argument("--refuse-fraction", type=float, default=0.0)
    p.add_argument("--abrupt-after", type=int, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--max-streams", type=int, default=100)
    p.add_argument("--goaway-first", action="store_true")
    p.add_argument("--debug-data", default="max_requests")
    p.add_argument("--raise-last-id", action="store_true")
    p.add_argument("--log-requests", action="store_true")
    args = p.parse_args()
    counter = {"n": 0}

    async def on_conn(reader, writer):
        counter["n"] += 1
        await Conn(reader, writer, args, counter["n"]).run()

    run_server(on_conn, args.host, args.port)


if __name__ == "__main__":
    main()
