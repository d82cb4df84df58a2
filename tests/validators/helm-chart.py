#!/usr/bin/env python3
"""Render and lint a Helm chart offline with Helm v4's own engine.

Usage (from the repo root, after tests/tools/install.sh):

    target/tools/venv/bin/python tests/validators/helm-chart.py CHART_DIR [VALUES.json]

Uses helm-python-sdk (Helm v4's Go SDK through its C ABI, no helm binary, no
cluster): `Chart.load(CHART_DIR).render(values)` is what `helm template` does
(the chart's own values.yaml and values.schema.json included; VALUES.json, if
given, is merged over values.yaml as `-f` would be), and `lint` is `helm lint
--strict` with the same values.

Prints one JSON object on stdout:

    {"helm": "<Helm SDK version>",
     "chart": {"name": ..., "version": ...},
     "manifests": {"<chart>/templates/<file>": "<rendered text>", ...},
     "render_error": null | "<message>",
     "lint": {"total_charts_linted": n, "messages": [{"severity", "path", "error"}],
              "errors": [...]}}

Lint severities: 1 info, 2 warning, 3 error. Exit 0 when the JSON was printed
(whatever Helm reported: the caller asserts on it), 2 on usage errors.
"""

import json
import sys

import helm_python as helm


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    chart_dir = argv[1]
    values = None
    if len(argv) == 3:
        with open(argv[2], encoding="utf-8") as f:
            values = json.load(f)

    out = {"helm": helm.helm_sdk_version(), "render_error": None, "manifests": {}}
    with helm.Chart.load(chart_dir) as chart:
        meta = chart.metadata
        out["chart"] = {"name": meta.get("name"), "version": meta.get("version")}
        try:
            # The release name and namespace are what the root Application
            # gives: the templates use neither, so any value renders the same.
            out["manifests"] = chart.render(values, name="app-of-apps", namespace="argocd")
        except helm.HelmError as e:
            out["render_error"] = str(e)
    out["lint"] = helm.lint(chart_dir, values, strict=True)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
