"""httpx (HTTP/2, h2c prior knowledge) as applications use it: one AsyncClient, N GETs with C in
flight, no retries configured. Prints one JSON line.
    python scripts/bench-peers/httpx_load.py http://127.0.0.1:8080/ 5000 32
"""
import asyncio
import json
import sys
import time

import httpx


async def main(url, n, c):
    ok = failed = issued = 0
    errors = {}

    async with httpx.AsyncClient(http1=False, http2=True, timeout=30, verify=False) as client:
        async def worker():
            nonlocal ok, failed, issued
            while issued < n:
                issued += 1
                try:
                    r = await client.get(url)
                    await r.aread()
                    ok += 1
                except Exception as e:  # every failure is what a user would see
                    failed += 1
                    k = type(e).__name__
                    errors[k] = errors.get(k, 0) + 1

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(c)))
        elapsed = time.monotonic() - t0
    print(json.dumps({"requests": n, "succeeded": ok, "failed": failed, "errors": errors, "elapsed_s": elapsed}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
