"""Drive one URL for a bounded time: `wrk` when installed, else an async httpx client."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

import httpx

__all__ = ["Result", "drive", "driver_name"]


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"cannot read wrk's latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> Result:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    if "Requests/sec" not in out or "50%" not in out:
        raise RuntimeError(f"wrk gave no result for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(rps, p50, p99, errors, "wrk")


async def _httpx(url: str, headers: dict[str, str], seconds: float, connections: int) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    r = await client.get(url)
                    if r.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return Result(len(latencies) / elapsed, statistics.median(latencies) * 1000,
                  latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, errors, "httpx")


def driver_name(choice: str = "auto") -> str:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "httpx"
    return choice


def drive(url: str, headers: dict[str, str] | None = None, seconds: float = 5.0,
          connections: int = 16, driver: str = "auto") -> Result:
    headers = headers or {}
    run = _wrk if driver_name(driver) == "wrk" else (lambda *a: asyncio.run(_httpx(*a)))
    run(url, headers, min(1.0, seconds), connections)  # warm-up, not counted
    return run(url, headers, seconds, connections)
