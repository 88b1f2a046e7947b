"""20 agents pull cases from the queues at once through POST /api/v1/case-queues/pull until nothing is left;
prints pulls per second and checks that no case was handed to two agents."""
import json
import os
import sys
import threading
import time
import urllib.request

base, tokens = sys.argv[1], sys.argv[2:]
pulled, lock = [], threading.Lock()


def agent(token):
    while True:
        request = urllib.request.Request(base + "/api/v1/case-queues/pull", data=b"{}", method="POST",
                                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status == 204:
                return
            case = json.load(response)
        with lock:
            pulled.append(case["id"])


started = time.perf_counter()
workers = [threading.Thread(target=agent, args=(token,)) for token in tokens]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
elapsed = time.perf_counter() - started
print(f"{len(tokens)} agents pulled {len(pulled)} cases in {elapsed:.2f} s: {len(pulled) / elapsed:,.0f} pulls/s; "
      f"distinct: {len(set(pulled))} ({'no case pulled twice' if len(set(pulled)) == len(pulled) else 'DUPLICATES'})")
sys.exit(0 if len(set(pulled)) == len(pulled) else 1)
