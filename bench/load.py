"""HTTP load on loopback for a fixed time: wrk when it is installed, else a pure-Python loop.

wrk (``apt-get install wrk``) is what the documented figures use: it costs the 2-core machine
little CPU, so the server gets most of it. The Python loop (threads with keep-alive
connections) needs nothing installed; it takes more CPU from the server, so its absolute
figures are lower, but the page and its reference are loaded the same way in one run.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.common import percentile


@dataclass
class Load:
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    errors: int  # non-2xx/3xx responses, socket errors, timeouts
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def only_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load only loopback addresses, not {host}")


def run_load(
    url: str, seconds: float, connections: int = 8, headers: dict[str, str] | None = None, tool: str = "auto"
) -> Load:
    """Load ``url`` with ``connections`` concurrent connections for ``seconds``."""
    only_loopback(url)
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        return _wrk(url, seconds, connections, headers or {})
    return python_load(url, seconds, connections, headers or {})


_DURATION = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk duration not understood: {text!r}")
    return float(match.group(1)) * _DURATION[match.group(2)]


def parse_wrk(output: str, seconds: float) -> Load:
    requests = int(re.search(r"(\d+) requests in ([\d.]+\w+)", output).group(1))
    elapsed = _duration(re.search(r"\d+ requests in ([\d.]+\w+)", output).group(1))
    p50 = _duration(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _duration(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in match.groups())
    return Load(requests, elapsed or seconds, p50, p99, errors, "wrk")


def _wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> Load:
    command = [
        "wrk",
        "-t",
        str(min(2, connections)),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    return parse_wrk(output, seconds)


def python_load(
    url: str,
    seconds: float,
    connections: int = 8,
    headers: dict[str, str] | None = None,
    max_requests: int = 1_000_000,
) -> Load:
    """Threads, one keep-alive connection each, GET in a loop until the time is up."""
    only_loopback(url)
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    sent = [0]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    break
                sent[0] += 1
            start = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers or {})
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    errors[index] += 1
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            latencies[index].append(time.perf_counter() - start)
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - started
    every = [value for values in latencies for value in values]
    return Load(len(every), elapsed, percentile(every, 50), percentile(every, 99), sum(errors), "python")
