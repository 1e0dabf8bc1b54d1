#!/usr/bin/env python3
"""httpx (Python's HTTP/2 client, on the `h2` library) as a load peer: --requests GETs of --url at
--concurrency over HTTP/2 prior knowledge, no retries of our own. Prints one JSON line:
{"requests": n, "ok": n, "failed": n, "errors": {"<exception: first words>": count}}.
Exit 0 whatever the failures (the test decides); 2 when httpx is not installed.
"""
import argparse, asyncio, json, sys

try:
    import httpx
except ImportError:
    print(json.dumps({"error": "httpx not installed (pip install 'httpx[http2]')"}))
    sys.exit(2)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    errors, ok = {}, 0
    left = args.requests
    async with httpx.AsyncClient(http1=False, http2=True, timeout=args.timeout) as client:
        async def worker():
            nonlocal left, ok
            while left > 0:
                left -= 1
                try:
                    r = await client.get(args.url)
                    if r.status_code == 200:
                        ok += 1
                    else:
                        errors[f"status {r.status_code}"] = errors.get(f"status {r.status_code}", 0) + 1
                except Exception as e:  # the kinds of failure are the measurement
                    key = f"{type(e).__name__}: {' '.join(str(e).split()[:6])}"
                    errors[key] = errors.get(key, 0) + 1
        await asyncio.gather(*[worker() for _ in range(args.concurrency)])
    print(json.dumps({"requests": args.requests, "ok": ok, "failed": args.requests - ok, "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
