"""Open K idle HTTP/2 connections (prior-knowledge h2c: preface, SETTINGS, SETTINGS ack) to a
server and hold them, to measure the server's memory per open idle connection.
    python3 scripts/bench-peers/idle_conns.py PORT K HOLD_SECONDS
Prints "ready K" on stdout once every connection has seen the server's SETTINGS, then holds them.
Bounded: it opens K connections once and exits after HOLD_SECONDS."""
import resource
import socket
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


def main(port, k, hold):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, k + 100)), hard))
    conns = []
    for _ in range(k):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(PREFACE + SETTINGS)
        conns.append(s)
    for s in conns:  # the server's SETTINGS frame (at least its 9-byte header)
        got = b""
        while len(got) < 9:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("idle_conns: a connection closed before the server's SETTINGS")
            got += chunk
        s.sendall(ACK)
    print(f"ready {k}", flush=True)
    time.sleep(hold)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
