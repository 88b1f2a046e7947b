"""Several identical civitas processes in front of one PostgreSQL: any instance serves any request,
ids never collide, migrations and batch intake are shared safely."""
import concurrent.futures
import time

import requests

from conftest import Server, _postgres_database


def test_two_instances_share_one_postgres(tmp_path):
    database = _postgres_database()
    first = Server(tmp_path, database)
    second = Server(tmp_path, database, demo=False)
    try:
        key = first.apikey()

        def post(index):
            target = first if index % 2 else second
            answer = requests.post(target.open311 + "/requests.json", data={
                "api_key": key, "service_code": "SEWER", "address_string": f"{index} Shared St"})
            assert answer.status_code == 200, answer.text
            return answer.json()[0]["service_request_id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(post, range(80)))
        assert len(set(ids)) == 80

        # What one instance stored, the other serves at once.
        listed = requests.get(second.open311 + "/requests.json", params={"service_request_id": ",".join(ids)}).json()
        assert sorted(r["service_request_id"] for r in listed) == sorted(ids)

        # A batch submission made on one instance becomes exactly one request, whichever worker claims it.
        tokens = [requests.post(target.open311 + "/requests.json", data={
            "api_key": key, "service_code": "VACANT", "address_string": f"{n} Empty Row"}).json()[0]["token"]
            for n, target in enumerate([first, second] * 10)]
        deadline = time.time() + 20
        made = {}
        while time.time() < deadline and len(made) < len(tokens):
            for token in tokens:
                answer = requests.get(f"{first.open311}/tokens/{token}.json").json()[0]
                if answer["service_request_id"]:
                    made[token] = answer["service_request_id"]
            time.sleep(0.2)
        assert len(made) == len(tokens)
        assert len(set(made.values())) == len(tokens)
    finally:
        assert second.stop() == 0
        assert first.stop() == 0
