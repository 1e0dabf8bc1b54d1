#!/usr/bin/env python3
"""Records what real HTTP/2 clients send, for the fuzz seed corpus: a TCP proxy on --listen that
forwards to --upstream (an h2c server, e.g. nghttpd --no-tls) and writes each connection's
client-to-server bytes to --out/<prefix>-<n>, prefixed with the fuzz harness's options byte
(0x01: bytes are raw, the preface is in the capture). Stops after --max-time seconds."""
import argparse, os, socket, threading, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--max-time", type=float, default=15)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen(16)
    srv.settimeout(0.2)
    deadline = time.monotonic() + args.max_time
    n = 0
    def pipe(src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record.append(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try: dst.shutdown(socket.SHUT_WR)
            except OSError: pass
    threads = []
    while time.monotonic() < deadline:
        try:
            client, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        upstream = socket.create_connection(("127.0.0.1", args.upstream))
        record = []
        path = os.path.join(args.out, f"{args.prefix}-{n}")
        def run(client=client, upstream=upstream, record=record, path=path):
            t = threading.Thread(target=pipe, args=(upstream, client, None), daemon=True)
            t.start()
            pipe(client, upstream, record)
            t.join(2)
            if record:  # readiness probes send nothing
                with open(path, "wb") as f:
                    f.write(b"\x01" + b"".join(record))
        th = threading.Thread(target=run, daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(3)

if __name__ == "__main__":
    main()
