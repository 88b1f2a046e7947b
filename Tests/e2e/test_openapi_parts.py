"""The JSON API v1 document's parts (Sources/CivitasServer/Resources/openapi/*.yaml) make one sound document.

No server is needed: these read the parts the way the server assembles them (openapi_parts.py).
"""
import pathlib
import textwrap

import pytest

from openapi_parts import BASE, assemble, defined_in

FOLDER = pathlib.Path(__file__).resolve().parents[2] / "Sources" / "CivitasServer" / "Resources" / "openapi"
# Defined but listed on no operation, on purpose: the 405 answers methods that no operation has (its description says
# so). What it refers to counts as used.
UNREFERENCED_ON_PURPOSE = {("responses", "MethodNotAllowed")}


def references(node, found=None):
    """Every `$ref` under node, and every security scheme a security requirement names (as #/components/... refs)."""
    found = set() if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            elif key == "security" and isinstance(value, list):
                found.update(f"#/components/securitySchemes/{name}" for requirement in value for name in requirement)
            else:
                references(value, found)
    elif isinstance(node, list):
        for value in node:
            references(value, found)
    return found


def component_key(ref):
    """("schemas", "Problem") for "#/components/schemas/Problem"."""
    parts = ref.split("/")
    assert len(parts) == 4 and parts[:2] == ["#", "components"], f"{ref} does not name a component"
    return parts[2], parts[3]


def reachable(document, roots):
    """Components reachable from the given nodes, following references through components (ones that do not resolve
    are left to test_every_reference_resolves)."""
    seen, todo = set(), [component_key(ref) for ref in references(roots)]
    while todo:
        key = todo.pop()
        if key not in seen and key[1] in document["components"].get(key[0], {}):
            seen.add(key)
            todo.extend(component_key(ref) for ref in references(document["components"][key[0]][key[1]]))
    return seen


def resolve(document, ref):
    assert ref.startswith("#/"), f"{ref} is not a reference inside the document"
    node = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{ref} does not resolve"
        node = node[token]
    return node


@pytest.fixture(scope="module")
def document():
    return assemble(FOLDER)


def test_the_parts_assemble_without_duplicates(document):
    assert sorted(p.name for p in FOLDER.glob("*.yaml")) == [
        "api.yaml", "cases.yaml", "field.yaml", "identity.yaml", "requests.yaml"
    ]
    assert document["openapi"].startswith("3.1.")
    assert document["servers"] == [{"url": "/api/v1", "description": "This Civitas install."}]
    assert "/openapi.json" in document["paths"] and "/service-requests" in document["paths"]
    tag_names = [tag["name"] for tag in document["tags"]]
    assert len(tag_names) == len(set(tag_names))
    used = {tag for item in document["paths"].values() for op in item.values() if isinstance(op, dict)
            for tag in op.get("tags", [])}
    assert used == set(tag_names), "every tag an operation names is declared once, and every declared tag is used"


def test_every_reference_resolves(document):
    refs = references(document)
    assert "#/components/schemas/Problem" in refs
    for ref in sorted(refs):
        resolve(document, ref)


def test_no_component_is_dead(document):
    defined = {(kind, name) for kind, named in document["components"].items() for name in named}
    for key in UNREFERENCED_ON_PURPOSE:
        assert key in defined, f"{key} is listed as unreferenced on purpose but is not defined"
        assert f"#/components/{key[0]}/{key[1]}" not in references(document), f"{key} is referenced after all"
    used = reachable(document, [document["paths"], *(document["components"][k][n] for k, n in UNREFERENCED_ON_PURPOSE)])
    dead = sorted(defined - used - UNREFERENCED_ON_PURPOSE)
    assert not dead, f"components that no operation reaches: {dead}"


def test_a_component_lives_in_api_yaml_exactly_when_several_parts_use_it(document):
    where = defined_in(FOLDER)
    users = {}
    for path, item in document["paths"].items():
        for key in reachable(document, item):
            users.setdefault(key, set()).add(where[("paths", path)])
    for key in UNREFERENCED_ON_PURPOSE:
        for used in reachable(document, document["components"][key[0]][key[1]]) | {key}:
            users.setdefault(used, set()).add(BASE)
    for kind, named in document["components"].items():
        for name in named:
            parts, home = users.get((kind, name), set()), where[(kind, name)]
            if len(parts) > 1:
                assert home == BASE, f"components.{kind}.{name} is used by {sorted(parts)}, so it belongs in {BASE}"
            else:
                assert {home} == parts, f"components.{kind}.{name} is in {home} but only {sorted(parts)} uses it"


BASE_PART = """\
    openapi: 3.1.0
    info: {title: T, version: '1'}
    tags:
    - name: t
    paths:
      /a: {get: {responses: {'200': {description: ok}}}}
    components:
      schemas:
        A: {type: string}
"""


@pytest.mark.parametrize("other, refused", [
    ("paths:\n  /a: {post: {responses: {'200': {description: ok}}}}\n", r"b\.yaml: path '/a' is already defined in api\.yaml"),
    ("components:\n  schemas:\n    A: {type: integer}\n", r"b\.yaml: components\.schemas\.A is already defined in api\.yaml"),
    ("tags:\n- name: t\n", r"b\.yaml: tag 't' is already defined in api\.yaml"),
    ("openapi: 3.1.0\n", r"b\.yaml: top-level key 'openapi' belongs in api\.yaml"),
])
def test_a_name_defined_twice_is_refused(tmp_path, other, refused):
    (tmp_path / "api.yaml").write_text(textwrap.dedent(BASE_PART))
    (tmp_path / "b.yaml").write_text("paths:\n  /b: {get: {responses: {'200': {description: ok}}}}\n")
    assert set(assemble(tmp_path)["paths"]) == {"/a", "/b"}, "two parts without duplicates assemble"

    (tmp_path / "b.yaml").write_text(other)
    with pytest.raises(ValueError, match=refused):
        assemble(tmp_path)


def test_parts_are_read_base_first_then_by_name(tmp_path):
    (tmp_path / "api.yaml").write_text(textwrap.dedent(BASE_PART).replace("name: t", "name: base"))
    (tmp_path / "zz.yaml").write_text("tags:\n- name: zz\n")
    (tmp_path / "aa.yaml").write_text("tags:\n- name: aa\n")
    (tmp_path / "notes.yml").write_text("tags:\n- name: ignored, not *.yaml\n")
    assert [tag["name"] for tag in assemble(tmp_path)["tags"]] == ["base", "aa", "zz"]
