"""Real Open311 clients against a running civitas: the PyPI `georeport` client, and FixMyStreet's way of
reading XML (XML::Simple with ForceArray, root dropped, empty elements undefined) and of posting."""
import datetime
import re
import signal

import requests
import xmltodict
from georeport import GeoReport

from conftest import Server

W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
FORCE_ARRAY = ("service", "attribute", "value", "request", "error")


def fms_parse(text):
    """Parses like FixMyStreet's Open311.pm: XML::Simple ForceArray on list items, root dropped."""
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    document = xmltodict.parse(text, force_list=FORCE_ARRAY)
    assert len(document) == 1
    return next(iter(document.values())) or {}


def test_georeport_client_reads_the_demo_city_in_json_and_xml(server):
    client = GeoReport(server.open311)
    services = client.get_service_list()
    assert len(services) >= 12
    with_metadata = [s for s in services if s["metadata"] is True]
    definition = client.get_service_definition(with_metadata[0]["service_code"])
    assert definition["service_code"] == with_metadata[0]["service_code"]
    assert all(isinstance(a["values"], list) for a in definition["attributes"])

    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = end - datetime.timedelta(days=30)
    listed = client.get_service_requests(start_date=start.isoformat(), end_date=end.isoformat(), status="open")
    assert len(listed) > 20
    assert all(r["status"] == "open" for r in listed)
    one = client.get_service_request(listed[0]["service_request_id"])
    assert one["service_request_id"] == listed[0]["service_request_id"]
    assert isinstance(one["lat"], float) and isinstance(one["long"], float)
    assert W3C.match(one["requested_datetime"])

    xml_client = GeoReport(server.open311, output_format="xml")
    # In XML mode the client unwraps the root and item elements itself (xmltodict), and every value is a string.
    xml_services = xml_client.get_service_list()
    assert [s["service_code"] for s in xml_services] == [s["service_code"] for s in services]
    xml_one = xml_client.get_service_request(listed[0]["service_request_id"])
    assert xml_one["service_request_id"] == listed[0]["service_request_id"]
    assert float(xml_one["lat"]) == one["lat"]


def test_fixmystreet_populates_its_categories_and_extra_fields(server):
    services = fms_parse(requests.get(server.open311 + "/services.xml").text)["service"]
    assert all(s["service_code"] for s in services)
    for service in services:
        if service["metadata"].lower() == "true":
            meta = fms_parse(requests.get(f"{server.open311}/services/{service['service_code']}.xml").text)
            attributes = meta["attributes"]["attribute"]
            assert isinstance(attributes, list)
            orders = [int(a["order"]) for a in attributes]
            assert orders == sorted(orders)
            for attribute in attributes:
                assert attribute["required"] in ("true", "false") and attribute["variable"] in ("true", "false")
                if attribute["datatype"].endswith("valuelist"):
                    assert all(v["key"] and v["name"] for v in attribute["values"]["value"])
        else:
            assert service["metadata"] == "false"


def test_fixmystreet_posts_a_report_and_fetches_it_back(server):
    key = server.apikey("FixMyStreet")
    posted = requests.post(server.open311 + "/requests.xml", data={
        "api_key": key, "service_code": "POTHOLE", "lat": "39.290385", "long": "-76.612189",
        "description": "title: Big hole\r\n\r\ndetail: Outside number 12\r\n\r\nSubmitted via FixMyStreet\r\n",
        "first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org", "phone": "",
        "attribute[SIZE]": "large", "attribute[last_name]": "Diaz", "media_url": "", "deviceid": "",
    })
    assert posted.status_code == 200, posted.text
    created = fms_parse(posted.text)["request"][0]
    new_id = created["service_request_id"]
    assert new_id and new_id != "0" and not isinstance(new_id, dict)

    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(minutes=1)
    start = end - datetime.timedelta(hours=1)
    fetched = requests.get(server.open311 + "/requests.xml", params={
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ")})
    found = [r for r in fms_parse(fetched.text)["request"] if r["service_request_id"] == new_id]
    assert len(found) == 1
    report = found[0]
    assert float(report["lat"]) and float(report["long"])
    assert W3C.match(report["updated_datetime"]) and W3C.match(report["requested_datetime"])
    assert report["status"] == "open"
    assert report["description"].startswith("title: Big hole")
    assert "ana@example.org" not in fetched.text


def test_errors_are_open311_error_lists(server):
    denied = requests.post(server.open311 + "/requests.xml", data={"service_code": "POTHOLE", "lat": "1", "long": "1"})
    assert denied.status_code == 403
    assert fms_parse(denied.text)["error"][0]["code"] == "403"
    missing = requests.get(server.open311 + "/services/NOPE.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_an_acknowledged_report_survives_a_crash(tmp_path, database_url):
    first = Server(tmp_path, database_url)
    key = first.apikey()
    answer = requests.post(first.open311 + "/requests.json", data={
        "api_key": key, "service_code": "SEWER", "address_string": "1 Crash Ct"})
    assert answer.status_code == 200
    new_id = answer.json()[0]["service_request_id"]
    first.stop(signal.SIGKILL)

    second = Server(tmp_path, database_url)
    try:
        again = requests.get(f"{second.open311}/requests/{new_id}.json")
        assert again.status_code == 200 and again.json()[0]["address"] == "1 Crash Ct"
        assert "not loaded" in second.output()
    finally:
        assert second.stop() == 0
