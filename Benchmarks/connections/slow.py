"""Holds COUNT slow connections (half-sent headers, silent ones, trickled bodies, idle keep-alives) from many loopback
addresses against a running civitas, and reports /healthz latency meanwhile and the server's memory.
    python3 Benchmarks/connections/slow.py PORT PID [COUNT] [SECONDS]"""
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "Tests" / "e2e"))
from slow_clients import open_slow_connections, raise_file_limit, resident_kib, timed_get  # noqa: E402

port, pid = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
raise_file_limit(count + 500)
idle = sorted(timed_get(port)[1] for _ in range(100))
before = resident_kib(pid)
sources = [f"127.0.{4 + n // 200}.{1 + n % 200}" for n in range(max(1, count // 50))]
started = time.monotonic()
sockets, trickling = open_slow_connections(port, count, sources, b"Host: 127.0.0.1\r\n")
opened = time.monotonic() - started
time.sleep(1)
latencies, peak, turn = [], before, 0
started = time.monotonic()
while time.monotonic() - started < seconds:
    for connection in trickling[turn % 20::20]:
        connection.send(b"a")
    turn += 1
    latencies.append(timed_get(port, source="127.0.0.9")[1])
    time.sleep(0.05)
    peak = max(peak, resident_kib(pid))
latencies.sort()
for connection in sockets:
    connection.close()
time.sleep(2)
after = resident_kib(pid)


def ms(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


print(f"{count} slow connections from {len(sources)} addresses, opened in {opened:.1f} s")
print(f"/healthz alone:      p50 {ms(idle, .5):.1f} ms  p99 {ms(idle, .99):.1f} ms")
print(f"/healthz meanwhile:  p50 {ms(latencies, .5):.1f} ms  p99 {ms(latencies, .99):.1f} ms  max {latencies[-1] * 1000:.1f} ms "
      f"({len(latencies)} calls)")
print(f"server RSS: {before / 1024:.0f} MiB before, {peak / 1024:.0f} MiB at most with them open, {after / 1024:.0f} MiB after they closed")
