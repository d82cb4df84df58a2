#!/usr/bin/env python3
"""Convert Kubernetes CRD YAML files into strict JSON schemas.

Usage (from the repo root, after tests/tools/install.sh):

    target/tools/venv/bin/python tests/schemas/convert.py [--out-dir DIR] CRD.yaml...
    target/tools/venv/bin/python tests/schemas/convert.py [--out-dir DIR] --core KIND.json...

With ``--core``, each input is the schema of a core Kubernetes kind as the
kubernetes-validate package ships it (``kubernetes-json-schema/<k8s
version>-local-strict/<kind>-v1.json``: already strict, but with a ``$ref``
for ``metadata``); it is written to ``DIR/core/<kind>_<version>.json`` with
the same strict ``metadata``, ``apiVersion``/``kind`` consts and required
fields as a CRD's. Any other ``$ref`` into ``_definitions.json`` (which must
sit next to the input, as in the wheel) is copied into the output's
``definitions`` and made strict, so the schema needs no other file.

For every version in each CRD, writes
``DIR/<group>/<kind-lowercase>_<version>.json`` (kubeconform naming:
``{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json``). DIR defaults to
the directory holding this script (tests/schemas).

Conversion of ``spec.versions[].schema.openAPIV3Schema``:
  * every object schema with ``properties``, without
    ``x-kubernetes-preserve-unknown-fields: true`` and without an existing
    ``additionalProperties`` gets ``"additionalProperties": false``; so does a
    ``type: object`` schema with no ``properties`` at all (the API server
    prunes every field of such an object, so only ``{}`` is meaningful);
  * ``x-kubernetes-int-or-string: true`` becomes ``anyOf: [integer, string]``
    (any ``type`` beside it is dropped);
  * ``apiVersion`` / ``kind`` become ``const`` of this CRD version's values;
  * ``apiVersion``, ``kind`` and ``metadata`` are required at the top level
    (on top of the CRD's own ``required`` list);
  * ``metadata`` is replaced by a strict object: ``name`` (required,
    DNS-1123 subdomain), ``namespace`` (DNS-1123 label), ``labels`` and
    ``annotations`` (string maps), ``finalizers`` (string list); anything else
    is rejected;
  * ``required`` lists and everything else are kept as they are. Other
    ``x-kubernetes-*`` keys (list types, CEL ``x-kubernetes-validations``) are
    kept as annotations: JSON Schema validators ignore them.
"""

import argparse
import json
import os
import sys

import yaml

DRAFT = "http://json-schema.org/draft-07/schema#"

# Kubernetes' own rules for object names (DNS-1123 subdomain) and namespaces
# (DNS-1123 label); the API server enforces them on custom resources too.
DNS1123_SUBDOMAIN = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

METADATA = {
    "type": "object",
    "description": "Standard object metadata (strict subset accepted by labc's tests).",
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 253,
            "pattern": DNS1123_SUBDOMAIN,
        },
        "namespace": {
            "type": "string",
            "minLength": 1,
            "maxLength": 63,
            "pattern": DNS1123_LABEL,
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
        },
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "additionalItems")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "items")


def strictify(schema):
    """Recursively make an OpenAPI v3 (structural) schema strict, in place."""
    if not isinstance(schema, dict):
        return
    if schema.get("x-kubernetes-int-or-string") is True:
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    # An object with neither properties nor additionalProperties (and not
    # preserving unknown fields) is pruned to {} by the API server, so only {}
    # is accepted for it as well.
    if (
        ("properties" in schema or schema.get("type") == "object")
        and schema.get("x-kubernetes-preserve-unknown-fields") is not True
        and "additionalProperties" not in schema
    ):
        schema["additionalProperties"] = False
    for key in SUBSCHEMA_MAPS:
        for sub in (schema.get(key) or {}).values():
            strictify(sub)
    for key in SUBSCHEMA_ONE:
        if isinstance(schema.get(key), dict):
            strictify(schema[key])
    for key in SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for sub in schema[key]:
                strictify(sub)


def convert_version(group, kind, version, source):
    api_version = f"{group}/{version['name']}"
    root = version["schema"]["openAPIV3Schema"]
    strictify(root)
    props = root.setdefault("properties", {})
    props["apiVersion"] = {**props.get("apiVersion", {}), "type": "string", "const": api_version}
    props["kind"] = {**props.get("kind", {}), "type": "string", "const": kind}
    props["metadata"] = METADATA
    required = list(root.get("required", []))
    for name in ("apiVersion", "kind", "metadata"):
        if name not in required:
            required.append(name)
    root["required"] = required
    root["additionalProperties"] = False
    out = {
        "$schema": DRAFT,
        "$comment": (
            f"Generated by tests/schemas/convert.py from {source} "
            f"({kind} {api_version}); do not edit by hand."
        ),
        "title": f"{kind} ({api_version}), strict",
    }
    out.update(root)
    return out


CORE_REF_PREFIX = "/api/_definitions.json#/$defs/"


def inline_core_refs(root, schema_dir):
    """Point the remaining ``$ref``s of a core kind schema (e.g. ServiceAccount
    ``imagePullSecrets[]`` -> LocalObjectReference) at local ``#/definitions/``
    copies taken from ``_definitions.json`` in the same folder (transitively),
    made strict like the rest. Returns the definitions (empty if none)."""
    found = {}

    def walk(node, defs):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(CORE_REF_PREFIX):
                name = ref[len(CORE_REF_PREFIX):]
                node["$ref"] = f"#/definitions/{name}"
                if name not in found:
                    if defs is None:
                        defs = load_defs()
                    found[name] = json.loads(json.dumps(defs["$defs"][name]))
                    walk(found[name], defs)
            for value in list(node.values()):
                defs = walk(value, defs)
        elif isinstance(node, list):
            for value in node:
                defs = walk(value, defs)
        return defs

    def load_defs():
        with open(os.path.join(schema_dir, "_definitions.json"), encoding="utf-8") as f:
            return json.load(f)

    walk(root, None)
    for sub in found.values():
        strictify(sub)
    return {name: found[name] for name in sorted(found)}


def convert_core(path):
    """A core kind's kubernetes-validate schema, made like the CRD schemas."""
    with open(path, encoding="utf-8") as f:
        root = json.load(f)
    (gvk,) = root["x-kubernetes-group-version-kind"]
    kind, version = gvk["kind"], gvk["version"]
    api_version = f"{gvk['group']}/{version}" if gvk["group"] else version
    for key in ("$schema", "$id"):
        root.pop(key, None)
    strictify(root)
    props = root["properties"]
    props["apiVersion"] = {"description": props["apiVersion"].get("description", ""), "type": "string", "const": api_version}
    props["kind"] = {"description": props["kind"].get("description", ""), "type": "string", "const": kind}
    props["metadata"] = METADATA
    definitions = inline_core_refs(root, os.path.dirname(path))
    if definitions:
        root["definitions"] = definitions
    required = list(root.get("required", []))
    for name in ("apiVersion", "kind", "metadata"):
        if name not in required:
            required.append(name)
    root["required"] = required
    root["additionalProperties"] = False
    out = {
        "$schema": DRAFT,
        "$comment": (
            f"Generated by tests/schemas/convert.py --core from kubernetes-validate's "
            f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)} "
            f"({kind} {api_version}); do not edit by hand."
        ),
        "title": f"{kind} ({api_version}), strict",
    }
    out.update(root)
    return kind, version, out


def write(schema, out_dir, kind, version):
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, f"{kind.lower()}_{version}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(schema, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return out


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=here)
    parser.add_argument(
        "--core", action="store_true", help="inputs are kubernetes-validate core kind schemas"
    )
    parser.add_argument("crds", nargs="+", metavar="CRD.yaml")
    args = parser.parse_args(argv)

    if args.core:
        for path in args.crds:
            kind, version, schema = convert_core(path)
            out = write(schema, os.path.join(args.out_dir, "core"), kind, version)
            print(f"{path} -> {out}")
        return

    for path in args.crds:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for crd in docs:
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            group, kind = spec["group"], spec["names"]["kind"]
            for version in spec["versions"]:
                schema = convert_version(group, kind, version, os.path.basename(path))
                out = write(schema, os.path.join(args.out_dir, group), kind, version["name"])
                print(f"{path} -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
