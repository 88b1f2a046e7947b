"""The JSON API v1 document as the server assembles it from its parts, Sources/CivitasServer/Resources/openapi/*.yaml.

The rule, which the server follows when it starts:
- Every `*.yaml` file directly in the folder is a part. `api.yaml` must be there and is read first; the others follow
  in sorted filename order (by code point; keep the names lowercase ASCII).
- Only `api.yaml` may have top-level keys other than `tags`, `paths` and `components` (`openapi`, `info`, `servers`...);
  they are taken from it as they are, and it must have `openapi` and `info`.
- `tags` lists are concatenated in file order (a tag name given twice is an error); `paths` maps are merged (a path in
  two parts is an error); each `components.<kind>` map is merged (a name given twice within a kind is an error).
- Anything else (a file that is not a mapping, a part with meta keys, a key that is not a string, a duplicate key in
  one mapping, a value JSON cannot hold) is an error. Errors are ValueError naming the file and the key.

Files are read as Yams 6 (the server's YAML library) reads them: its implicit types for plain scalars and its refusal
of duplicate keys, so what this returns is what the server serves.
"""
import pathlib
import re

import yaml

BASE = "api.yaml"
MERGED = ("tags", "paths", "components")

# Yams 6 (Sources/Yams/Resolver.swift, Resolver.default): rules tried in this order; a plain scalar that none matches is
# a string, and a quoted or block scalar is always a string.
_YAMS_RULES = (
    ("tag:yaml.org,2002:bool", r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
                              r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
                                r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$"),
    ("tag:yaml.org,2002:timestamp", r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-"
                                    r"[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
                                    r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"),
    ("tag:yaml.org,2002:value", r"^(?:=)$"),
)


class _YamsLoader(yaml.SafeLoader):
    yaml_implicit_resolvers = {}

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            marker = (type(key).__name__, repr(key))
            if marker in seen:
                raise ValueError(f"duplicate key {key!r} in one mapping,{key_node.start_mark}")
            seen.add(marker)
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern in _YAMS_RULES:
    _YamsLoader.add_implicit_resolver(_tag, re.compile(_pattern), None)


def _check_json(value, where):
    """Refuses what JSON cannot hold (e.g. an unquoted date, or a number as a mapping key)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string (quote it)")
            _check_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
    elif value is not None and not isinstance(value, (str, bool, int, float)):
        raise ValueError(f"{where}: {type(value).__name__} {value!r} is not a JSON value (quote it)")


def part_files(folder: pathlib.Path) -> list:
    """The parts in the order they are read: api.yaml, then the rest by filename."""
    files = sorted((p for p in pathlib.Path(folder).glob("*.yaml") if p.is_file()), key=lambda p: p.name)
    base = [p for p in files if p.name == BASE]
    if not base:
        raise ValueError(f"{folder}: {BASE} is missing")
    return base + [p for p in files if p.name != BASE]


def load_part(path: pathlib.Path) -> dict:
    try:
        part = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamsLoader)
    except (yaml.YAMLError, ValueError) as error:
        raise ValueError(f"{path.name}: {error}") from error
    if not isinstance(part, dict):
        raise ValueError(f"{path.name}: the file is not a mapping")
    _check_json(part, path.name)
    return part


def assemble(folder: pathlib.Path) -> dict:
    """The whole document, as /api/v1/openapi.json serves it."""
    document, tags, paths, components = {}, [], {}, {}
    tag_files = {}
    for path in part_files(folder):
        name = path.name
        part = load_part(path)
        for key, value in part.items():
            if key in MERGED:
                continue
            if name != BASE:
                raise ValueError(f"{name}: top-level key {key!r} belongs in {BASE}")
            document[key] = value

        part_tags = part.get("tags", [])
        if not isinstance(part_tags, list):
            raise ValueError(f"{name}: tags is not a list")
        for tag in part_tags:
            tag_name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(tag_name, str):
                raise ValueError(f"{name}: a tag without a name: {tag!r}")
            if tag_name in tag_files:
                raise ValueError(f"{name}: tag {tag_name!r} is already defined in {tag_files[tag_name]}")
            tag_files[tag_name] = name
            tags.append(tag)

        part_paths = part.get("paths", {})
        if not isinstance(part_paths, dict):
            raise ValueError(f"{name}: paths is not a mapping")
        for key, item in part_paths.items():
            if key in paths:
                raise ValueError(f"{name}: path {key!r} is already defined in {paths[key][0]}")
            paths[key] = (name, item)

        part_components = part.get("components", {})
        if not isinstance(part_components, dict):
            raise ValueError(f"{name}: components is not a mapping")
        for kind, named in part_components.items():
            if not isinstance(named, dict):
                raise ValueError(f"{name}: components.{kind} is not a mapping")
            merged = components.setdefault(kind, {})
            for key, item in named.items():
                if key in merged:
                    raise ValueError(f"{name}: components.{kind}.{key} is already defined in {merged[key][0]}")
                merged[key] = (name, item)

    for key in ("openapi", "info"):
        if key not in document:
            raise ValueError(f"{BASE}: top-level key {key!r} is missing")
    if tags:
        document["tags"] = tags
    document["paths"] = {key: item for key, (_, item) in paths.items()}
    if components:
        document["components"] = {kind: {key: item for key, (_, item) in named.items()}
                                  for kind, named in components.items()}
    return document


def defined_in(folder: pathlib.Path) -> dict:
    """Which part defines each path and each component: {("paths", path) or (kind, name): filename}."""
    where = {}
    for path in part_files(folder):
        part = load_part(path)
        for key in part.get("paths", {}):
            where[("paths", key)] = path.name
        for kind, named in part.get("components", {}).items():
            for key in named:
                where[(kind, key)] = path.name
    return where
