"""Schemathesis hooks for test_api_schemathesis.py, loaded through SCHEMATHESIS_HOOKS.

The OpenAPI document describes shapes. A few values in a well-shaped request must also name something that exists
in the database, which no static document can list: a service in the catalog, a staff member to assign, a cursor
the server issued. One more rule is stated in words because JSON Schema cannot compare the parts of one string:
a bbox lists its minimums first; a case names an existing case type, and its answers, documents and steps are
those of its type (looked up on the server for the case at hand); a task's staff assignee exists; an appointment
ends after it starts (at most 12 hours later); a crew action's photo is a real JPEG or PNG image, and goes with
`resolve` only; an Idempotency-Key is sent again only with the same body. Schema-valid random values that break these are rightly refused with 400, so the
positive_data_acceptance check would report the server's correct answer as a failure.

These hooks fix that for positive cases only: they swap such a value for one that exists (taken from the running
server by the test and passed in CIVITAS_SCHEMATHESIS_FIXTURES as JSON), or put the bbox numbers in order. Negative
cases are left exactly as generated, so every rejection schemathesis expects is still demanded. Every replacement is
itself valid against the document, so a positive case stays positive.
"""
import base64
import datetime
import hashlib
import json
import os
import zlib

import requests

import schemathesis
from hypothesis.internal import lambda_sources
from schemathesis import GenerationMode


def _describe_lambda_safely(describe):
    # CPython 3.11 before 3.11.9 (Debian 12 ships 3.11.2) can raise "SystemError: AST constructor recursion depth
    # mismatch" from ast.parse when it is called deep in a stack (python/cpython#106905). Hypothesis calls it only
    # to print a filter's lambda in a strategy's repr; a crash there aborts a schemathesis phase without testing
    # anything, so the description falls back to the one hypothesis itself uses when it cannot find the source.
    def wrapped(f):
        try:
            return describe(f)
        except SystemError:
            return "lambda: <unknown>"

    return wrapped


lambda_sources._lambda_description = _describe_lambda_safely(lambda_sources._lambda_description)

FIXTURES = json.loads(os.environ.get("CIVITAS_SCHEMATHESIS_FIXTURES", "{}"))
# Realtime services that define no attributes: any schema-valid `attributes` object is accepted for them, because
# a service ignores attribute codes it does not define.
SERVICE_CODES = FIXTURES.get("service_codes", [])
# Ids of demo requests, so generated reads and changes also hit real rows (and their full response bodies).
REQUEST_IDS = FIXTURES.get("request_ids", [])
# `next_cursor` values the server issued; any other cursor is a 400 by design.
CURSORS = FIXTURES.get("cursors", [])
# Case type keys the server has (the demo's examples).
CASE_TYPES = FIXTURES.get("case_types", ["unemployment-claim", "building-permit", "hr-request"])


# Where the server is and a token to read what a case is (its type's documents and steps), for the case hooks.
BASE = FIXTURES.get("base")
TOKEN = FIXTURES.get("token")
# The smallest PDF the document check accepts (it looks at the first bytes).
TINY_PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()


_FOUND = {}


def _get(path):
    """What the server answers at `path`, or None. Only answers are kept: a case that did not exist when first asked
    about may be created later in the run (the stateful phase names the ids it just made), so a miss is asked again."""
    if not BASE or not TOKEN:
        return None
    if path not in _FOUND:
        answer = requests.get(BASE + "/api/v1" + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        if answer.status_code != 200:
            return None
        _FOUND[path] = answer.json()
    return _FOUND[path]


def _case_type(case_id):
    """The type (documents, steps) of a case that exists, or None for an id that does not."""
    found = _get(f"/cases/{case_id}") if isinstance(case_id, int) else None
    return _get(f"/case-types/{found['type']}") if found else None


# The smallest JPEG the server's photo check accepts (start of image, a quantisation table, start of scan, end).
TINY_JPEG = base64.b64encode(
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00\x04\x00\x01\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\x34\x56\xff\xd9").decode()


def _pick(values, seed):
    """A deterministic choice, so hypothesis can replay and shrink a case."""
    return values[zlib.crc32(repr(seed).encode()) % len(values)] if values else None


def _is_positive(case):
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def _not_negative(case):
    """Positive, or generated outside the modes (the examples and stateful phases can carry no mode)."""
    return case.meta is None or case.meta.generation.mode != GenerationMode.NEGATIVE


def _phase(case):
    return case.meta.phase.name if case.meta is not None else None


def _window_backwards(case):
    try:
        starts = datetime.datetime.fromisoformat(str(case.body.get("starts")).replace("Z", "+00:00"))
        ends = datetime.datetime.fromisoformat(str(case.body.get("ends")).replace("Z", "+00:00"))
        return not (starts < ends <= starts + datetime.timedelta(hours=12))
    except (ValueError, TypeError):
        return False


KEYS_SENT = {}


def _digest(case):
    return hashlib.sha256(json.dumps([case.operation.path, case.path_parameters, case.body], sort_keys=True, default=str).encode()).hexdigest()


def _names_what_does_not_exist(case, operation):
    """A well-shaped case (as the coverage phase sends it, unchanged) whose values name something the server does not
    have, or that the server's rules refuse: an unknown case type, question, document, step or staff member; a key
    already used for another body."""
    body = case.body if isinstance(case.body, dict) else {}
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if key is not None and KEYS_SENT.setdefault(key, _digest(case)) != _digest(case):
        return True
    if operation == "POST /cases":
        return body.get("type") not in CASE_TYPES or bool(body.get("data"))
    if operation == "PATCH /cases/{id}":
        return bool(body.get("data"))
    if operation == "POST /cases/{id}/tasks":
        return isinstance(body.get("assignee"), int)
    if operation == "POST /cases/{id}/documents":
        kind = _case_type(case.path_parameters.get("id"))
        return not kind or body.get("type") not in [d["key"] for d in kind["documents"]] or body.get("content_base64") != TINY_PDF
    if operation == "POST /cases/{id}/transitions":
        kind = _case_type(case.path_parameters.get("id"))
        step = next((t for t in (kind or {}).get("transitions", []) if t["key"] == body.get("transition")), None)
        return (
            step is None
            or (step["reason_required"] and not str(body.get("reason", "")).strip())
            or (step["asks_for_documents"] and not body.get("documents"))
            or any(d not in [x["key"] for x in kind["documents"]] for d in body.get("documents", []))
        )
    return False


@schemathesis.hook
def filter_case(context, case):
    """The coverage and examples phases send their cases as generated: a positive appointment whose window runs
    backwards (which no schema can forbid), or a case that names what does not exist, is left out rather than changed."""
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation == "PUT /service-requests/{id}/appointment" and _not_negative(case) and isinstance(case.body, dict):
        return not _window_backwards(case)
    if _phase(case) in ("coverage", "examples") and _not_negative(case) and _names_what_does_not_exist(case, operation):
        return False
    return True


@schemathesis.hook
def map_case(context, case):
    case = _map(case)
    if case.headers and case.headers.get("Idempotency-Key") is not None and _not_negative(case):
        # One key per body (as it is finally sent): the same body again is a replay (the first answer), never "this key
        # was used for another request" (422), the right answer to a reused key but not what a generator that
        # repeats keys means.
        case.headers = {**case.headers, "Idempotency-Key": "st-" + _digest(case)[:40]}
    return case


@schemathesis.hook
def before_call(context, case, kwargs):
    """In the stateful phase a link can fill a body field after `map_case` has run: a case's `type` (a case type key)
    lands in a document upload's `type` (a document key), which the server rightly refuses. Just before sending, a
    positive case-dependent body that names what its case does not have is mapped once more (and gets the key of
    what is finally sent)."""
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation not in ("POST /cases/{id}/documents", "POST /cases/{id}/transitions"):
        return
    if not _not_negative(case) or not isinstance(case.body, dict):
        return
    body = case.body if isinstance(case.body, dict) else {}
    kind = _case_type(case.path_parameters.get("id"))
    if not kind:
        return
    wrong = (
        body.get("type") not in [d["key"] for d in kind["documents"]]
        if operation.endswith("/documents")
        else body.get("transition") not in [t["key"] for t in kind["transitions"]]
    )
    if wrong:
        _map(case)
        if case.headers and case.headers.get("Idempotency-Key") is not None:
            case.headers = {**case.headers, "Idempotency-Key": "st-" + _digest(case)[:40]}


def _map(case):
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation == "PUT /service-requests/{id}/appointment" and _not_negative(case) and isinstance(case.body, dict):
        try:
            starts = datetime.datetime.fromisoformat(str(case.body.get("starts")).replace("Z", "+00:00"))
            case.body = {**case.body, "ends": (starts + datetime.timedelta(hours=2)).isoformat()}
        except ValueError:
            pass
    if operation == "POST /cases" and _not_negative(case) and isinstance(case.body, dict) and CASE_TYPES and case.body.get("type") not in CASE_TYPES:
        # A case type is named by a key that must exist, like a service code.
        case.body = {**case.body, "type": _pick(CASE_TYPES, case.body.get("type")), "data": {}}
    if operation == "POST /cases" and _not_negative(case) and isinstance(case.body, dict) and case.body.get("data"):
        # Answers are keyed by the type's questions; a generated key is not one of them.
        case.body = {**case.body, "data": {}}

    case_id = case.path_parameters.get("id") if case.path_parameters else None
    if operation == "PATCH /cases/{id}" and _not_negative(case) and isinstance(case.body, dict) and isinstance(case.body.get("data"), dict):
        # Answers are keyed by the case type's questions; a generated key is not one of them.
        case.body = {**case.body, "data": {}}

    if operation == "POST /cases/{id}/tasks" and _not_negative(case) and isinstance(case.body, dict) and "assignee" in case.body:
        # A staff member's id must exist; the applicant always does.
        case.body = {**case.body, "assignee": "applicant"}

    if operation == "POST /cases/{id}/documents" and _not_negative(case) and isinstance(case.body, dict):
        kind = _case_type(case_id)
        if kind and kind["documents"]:
            document = _pick(kind["documents"], case.body.get("type"))
            case.body = {**case.body, "type": document["key"], "filename": "scan.pdf", "content_base64": TINY_PDF}

    if operation == "POST /cases/{id}/transitions" and _not_negative(case) and isinstance(case.body, dict):
        kind = _case_type(case_id)
        if kind and kind["transitions"]:
            step = _pick(kind["transitions"], case.body.get("transition"))
            body = {**case.body, "transition": step["key"], "reason": "Checked by the partner's system."}
            body["documents"] = [kind["documents"][0]["key"]] if step["asks_for_documents"] and kind["documents"] else []
            case.body = body

    if not _is_positive(case):
        return case

    if operation == "POST /service-requests" and isinstance(case.body, dict):
        if case.body.get("service_code") not in SERVICE_CODES and SERVICE_CODES:
            case.body = {**case.body, "service_code": _pick(SERVICE_CODES, case.body.get("service_code"))}

    if operation == "PATCH /service-requests/{id}" and isinstance(case.body, dict):
        # Assigning needs a staff member of the request's department; unassigning (null) always works.
        if case.body.get("assignee_id") is not None:
            case.body = {**case.body, "assignee_id": None}

    if operation == "GET /service-requests" and isinstance(case.query.get("bbox"), str):
        corners = case.query["bbox"].split(",")
        if len(corners) == 4:
            for low, high in ((0, 2), (1, 3)):
                if float(corners[low]) > float(corners[high]):
                    corners[low], corners[high] = corners[high], corners[low]
            case.query = {**case.query, "bbox": ",".join(corners)}

    if operation == "GET /service-requests" and "cursor" in case.query and case.query["cursor"] not in CURSORS:
        query = dict(case.query)
        if CURSORS:
            query["cursor"] = _pick(CURSORS, query["cursor"])
        else:
            del query["cursor"]
        case.query = query

    if operation == "POST /service-requests/{id}/crew-actions" and isinstance(case.body, dict) and "photo" in case.body:
        body = dict(case.body)
        if body.get("action") == "resolve":
            body["photo"] = TINY_JPEG
        else:
            del body["photo"]
        case.body = body


    if operation == "PUT /service-requests/{id}/appointment" and isinstance(case.body, dict):
        try:
            starts = datetime.datetime.fromisoformat(str(case.body.get("starts")).replace("Z", "+00:00"))
            ends = starts + datetime.timedelta(hours=2)
            case.body = {**case.body, "ends": ends.isoformat()}
        except ValueError:
            pass

    # In the stateful phase the id comes from a link (a request schemathesis just created); keep it.
    identifier = case.path_parameters.get("id") if case.path_parameters else None
    if (
        "{id}" in case.operation.path
        and _phase(case) in ("fuzzing", "examples")
        and isinstance(identifier, int)
        and identifier % 2 == 0
        and REQUEST_IDS
    ):
        # Half of the generated ids point at a demo request; the other half most likely miss (404).
        case.path_parameters = {**case.path_parameters, "id": _pick(REQUEST_IDS, identifier)}
    return case
