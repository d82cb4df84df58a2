#!/usr/bin/env bash
# Prove the strict schemas in tests/schemas/ work, with check-jsonschema:
#   1. every schema is itself a valid JSON schema (--check-metaschema);
#   2. every examples/valid/*.yaml passes its schema;
#   3. every examples/invalid/*.yaml fails its schema, with the error its
#      "# expect: ..." line names (so it fails for the intended reason);
#   4. the Application examples give the same verdicts with
#      tests/validators/validate-application.mjs.
# An example's schema is chosen by its file name: <kind-lowercase>[-...].yaml
# uses tests/schemas/*/<kind-lowercase>_*.json, and <base>[-...].yaml uses
# tests/schemas/files/<base>.json (schemas of file contents, not objects).
#
# Needs tests/tools/install.sh to have run. Exit 0 when all behave as expected.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCHEMAS="$ROOT/tests/schemas"
EXAMPLES="$SCHEMAS/examples"
CHECK_JSONSCHEMA="${CHECK_JSONSCHEMA:-$ROOT/target/tools/venv/bin/check-jsonschema}"
NODE_VALIDATOR="$ROOT/tests/validators/validate-application.mjs"

[[ -x "$CHECK_JSONSCHEMA" ]] || { echo "missing $CHECK_JSONSCHEMA: run tests/tools/install.sh" >&2; exit 2; }
[[ -d "$ROOT/tests/validators/node_modules" ]] || { echo "missing tests/validators/node_modules: run tests/tools/install.sh" >&2; exit 2; }

ok=0
wrong=0
good() { ok=$((ok + 1)); echo "ok    $*"; }
bad() { wrong=$((wrong + 1)); echo "WRONG $*"; }

schema_for() {
  local name kind f base
  name="$(basename "$1" .yaml)"
  # Schemas of file contents: files/<base>.json is used by <base>[-...].yaml.
  for f in "$SCHEMAS"/files/*.json; do
    base="$(basename "$f" .json)"
    if [[ -f "$f" && ( "$name" == "$base" || "$name" == "$base"-* ) ]]; then
      echo "$f"
      return 0
    fi
  done
  kind="${name%%-*}"
  local matches=("$SCHEMAS"/*/"${kind}"_*.json)
  if [[ ${#matches[@]} -ne 1 || ! -f "${matches[0]}" ]]; then
    echo "no single schema for $1 (looked for */${kind}_*.json)" >&2
    return 1
  fi
  echo "${matches[0]}"
}

rel() { echo "${1#"$ROOT"/}"; }

# 1. Schemas are valid JSON schemas.
if out="$("$CHECK_JSONSCHEMA" --check-metaschema "$SCHEMAS"/*/*.json 2>&1)"; then
  good "metaschema: $(cd "$SCHEMAS" && echo */*.json)"
else
  bad "metaschema check failed:"; echo "$out"
fi

# 2. Valid examples pass.
for f in "$EXAMPLES"/valid/*.yaml; do
  schema="$(schema_for "$f")" || { bad "$(rel "$f"): no schema"; continue; }
  if out="$("$CHECK_JSONSCHEMA" --schemafile "$schema" "$f" 2>&1)"; then
    good "valid   $(rel "$f") against $(rel "$schema")"
  else
    bad "valid   $(rel "$f") was rejected:"; echo "$out"
  fi
done

# 3. Invalid examples fail, for the expected reason.
for f in "$EXAMPLES"/invalid/*.yaml; do
  schema="$(schema_for "$f")" || { bad "$(rel "$f"): no schema"; continue; }
  expect="$(sed -n 's/^# expect: //p' "$f" | head -1)"
  [[ -n "$expect" ]] || { bad "$(rel "$f") has no '# expect: ...' line"; continue; }
  if out="$("$CHECK_JSONSCHEMA" --schemafile "$schema" "$f" 2>&1)"; then
    bad "invalid $(rel "$f") was accepted"
  elif ! grep -q 'Schema validation errors were encountered' <<<"$out"; then
    bad "invalid $(rel "$f") failed, but not with a validation error:"; echo "$out"
  elif ! grep -qF -- "$expect" <<<"$out"; then
    bad "invalid $(rel "$f") failed without the expected error '$expect':"; echo "$out"
  else
    good "invalid $(rel "$f"): $expect"
  fi
done

# 4. The node Application validator agrees on the Application examples.
for f in "$EXAMPLES"/valid/application*.yaml; do
  if out="$(node "$NODE_VALIDATOR" "$f" 2>&1)"; then
    good "node    $(rel "$f") accepted"
  else
    bad "node    $(rel "$f") was rejected:"; echo "$out"
  fi
done
for f in "$EXAMPLES"/invalid/application*.yaml; do
  set +e
  out="$(node "$NODE_VALIDATOR" "$f" 2>&1)"
  rc=$?
  set -e
  if [[ $rc -eq 1 ]] && grep -q '^FAIL ' <<<"$out"; then
    good "node    $(rel "$f") rejected: $(grep -m1 '^FAIL ' <<<"$out" | sed 's/^FAIL [^:]*: //')"
  else
    bad "node    $(rel "$f") exit $rc, expected 1 with FAIL lines:"; echo "$out"
  fi
done

echo "check-examples: $ok as expected, $wrong not"
[[ $wrong -eq 0 ]]
