"""Schemathesis hooks for test_api_schemathesis.py, loaded through SCHEMATHESIS_HOOKS.

The OpenAPI document describes shapes. A few values in a well-shaped request must also name something that exists
in the database, which no static document can list: a service in the catalog, a staff member to assign, a cursor
the server issued. One more rule is stated in words because JSON Schema cannot compare the parts of one string:
a bbox lists its minimums first; a case names an existing case type; an appointment ends after it starts (at most 12 hours later); a crew action's
photo is a real JPEG or PNG image, and goes with `resolve` only. Schema-valid random values that break these are rightly refused with 400, so the
positive_data_acceptance check would report the server's correct answer as a failure.

These hooks fix that for positive cases only: they swap such a value for one that exists (taken from the running
server by the test and passed in CIVITAS_SCHEMATHESIS_FIXTURES as JSON), or put the bbox numbers in order. Negative
cases are left exactly as generated, so every rejection schemathesis expects is still demanded. Every replacement is
itself valid against the document, so a positive case stays positive.
"""
import base64
import datetime
import json
import os
import zlib

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


@schemathesis.hook
def filter_case(context, case):
    """The coverage phase sends its cases as generated: a positive appointment whose window runs backwards (which
    no schema can forbid) is left out rather than changed."""
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation == "PUT /service-requests/{id}/appointment" and _not_negative(case) and isinstance(case.body, dict):
        return not _window_backwards(case)
    return True


@schemathesis.hook
def map_case(context, case):
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation == "PUT /service-requests/{id}/appointment" and _not_negative(case) and isinstance(case.body, dict):
        try:
            starts = datetime.datetime.fromisoformat(str(case.body.get("starts")).replace("Z", "+00:00"))
            case.body = {**case.body, "ends": (starts + datetime.timedelta(hours=2)).isoformat()}
        except ValueError:
            pass
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

    if operation == "POST /cases" and isinstance(case.body, dict) and CASE_TYPES and case.body.get("type") not in CASE_TYPES:
        # A case type is named by a key that must exist, like a service code.
        case.body = {**case.body, "type": _pick(CASE_TYPES, case.body.get("type")), "data": {}}

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
