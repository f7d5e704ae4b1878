#!/usr/bin/env python3
"""Start-up to first answer, and memory at rest, of a `toolcall-sim` binary.

    python3 scripts/sim_startup.py [BINARY] [RUNS]

BINARY defaults to target/release/toolcall-sim, RUNS to 20. Each run starts
`BINARY serve --port 0`, reads the URL it prints, POSTs one chat request on
a new connection and times the spawn to the full reply; then the process
rests 200 ms and its resident memory (VmRSS, Linux) is read, with the CPU
time its threads used so far (schedstat: what a busy machine does not
inflate, unlike the wall-clock time). Prints the range and the median of
each, and the load average.
"""

import glob
import os

import http.client
import json
import statistics
import subprocess
import sys
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/toolcall-sim"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
firsts, rss, cpu = [], [], []
for _ in range(runs):
    start = time.perf_counter()
    child = subprocess.Popen([binary, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = child.stdout.readline().strip()
    host = url.removeprefix("http://").removesuffix("/v1")
    connection = http.client.HTTPConnection(host)
    connection.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    reply = connection.getresponse()
    reply.read()
    firsts.append((time.perf_counter() - start) * 1000)
    assert reply.status == 200, reply.status
    connection.close()
    time.sleep(0.2)
    with open(f"/proc/{child.pid}/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    rss.append(kb / 1024)
    on_cpu = 0
    for path in glob.glob(f"/proc/{child.pid}/task/*/schedstat"):
        with open(path) as stat:
            on_cpu += int(stat.read().split()[0])
    cpu.append(on_cpu / 1e6)
    child.terminate()
    child.wait()
print(f"first answer: {min(firsts):.1f} to {max(firsts):.1f} ms (median {statistics.median(firsts):.1f}) over {runs} runs")
print(f"CPU time of the server up to then: {min(cpu):.1f} to {max(cpu):.1f} ms (median {statistics.median(cpu):.1f})")
print(f"machine load: {os.getloadavg()[0]:.1f}")
print(f"resident at rest after one request: {min(rss):.1f} to {max(rss):.1f} MB (median {statistics.median(rss):.1f})")
