#!/usr/bin/env node
// Validate Argo CD Application manifests (argoproj.io/v1alpha1) offline.
//
// Usage: node tests/validators/validate-application.mjs FILE.yaml...
//
// Every YAML document of every file is parsed with yaml@2. Each Application
// document must pass:
//   1. @kubernetes-models/argo-cd's own validator (`new Application(obj).validate()`,
//      schema of Argo CD v2.14; it allows unknown fields);
//   2. the strict JSON schema tests/schemas/argoproj.io/application_v1alpha1.json
//      (Argo CD v3.5.1 CRD, unknown fields rejected, metadata checked), with ajv;
//   3. a YAML 1.1 / 1.2 agreement check: Kubernetes reads manifests as YAML 1.1,
//      so a plain scalar such as `yes`, `0755` or `22:22` that means something
//      else in YAML 1.2 must be quoted.
// The document validated in 1. and 2. is the YAML 1.1 reading (what Kubernetes
// sees). Documents of other kinds are reported as skipped; a file without any
// Application document is an error. Empty documents are ignored.
//
// Prints one `ok` line per valid Application; on any failure prints
// `FAIL <file> doc <n> ...: <field path>: <message>` lines to stderr and exits 1.
// Exit 2 on usage errors.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import { parseAllDocuments } from "yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";

const API_VERSION = "argoproj.io/v1alpha1";
const KIND = "Application";
const SCHEMA_PATH = fileURLToPath(
  new URL("../schemas/argoproj.io/application_v1alpha1.json", import.meta.url),
);

function strictValidator() {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv, ["date-time"]);
  ajv.addFormat("int32", {
    type: "number",
    validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n) => Number.isInteger(n) });
  // Kubernetes extensions kept in the schema as annotations.
  for (const keyword of [
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
    "x-kubernetes-embedded-resource",
  ]) {
    ajv.addKeyword(keyword);
  }
  return ajv.compile(schema);
}

// "/spec/syncPolicy/automated" -> "spec.syncPolicy.automated"
function fieldPath(instancePath, extra) {
  const parts = instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || "(document)";
}

function describeAjvError(e) {
  switch (e.keyword) {
    case "additionalProperties":
      return [fieldPath(e.instancePath, e.params.additionalProperty), "unknown field"];
    case "required":
      return [fieldPath(e.instancePath, e.params.missingProperty), "required field is missing"];
    case "enum":
      return [fieldPath(e.instancePath), `${e.message}: ${JSON.stringify(e.params.allowedValues)}`];
    case "const":
      return [fieldPath(e.instancePath), `must be ${JSON.stringify(e.params.allowedValue)}`];
    default:
      return [fieldPath(e.instancePath), e.message];
  }
}

// Every place where two plain JS values differ, as [{path, a, b}].
function differences(a, b, path = "", out = []) {
  if (isDeepStrictEqual(a, b)) return out;
  const bothObjects =
    a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) {
    out.push({ path, a, b });
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const seg = k.replace(/~/g, "~0").replace(/\//g, "~1");
    if (!(k in a) || !(k in b)) {
      // A key read differently (e.g. `on:` is the key "true" in YAML 1.1).
      out.push({ path: `${path}/${seg}`, key: true, only: k in a ? "1.1" : "1.2" });
    } else {
      differences(a[k], b[k], `${path}/${seg}`, out);
    }
  }
  return out;
}

function parse(text, version) {
  return parseAllDocuments(text, { version, prettyErrors: true });
}

function main(files) {
  if (files.length === 0 || files.some((f) => f === "-h" || f === "--help")) {
    console.error("usage: validate-application.mjs FILE.yaml...");
    process.exit(2);
  }
  const validateStrict = strictValidator();
  const failures = [];
  let validated = 0;

  for (const file of files) {
    const fail = (where, path, msg) => failures.push(`FAIL ${file}${where}: ${path}: ${msg}`);
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      fail("", "(file)", `cannot read: ${err.message}`);
      continue;
    }
    const docs11 = parse(text, "1.1");
    const docs12 = parse(text, "1.2");
    let applications = 0;

    docs11.forEach((doc, i) => {
      const where = ` doc ${i + 1}`;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) fail(where, "(yaml)", e.message.split("\n")[0].replace(/:$/, ""));
        return;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) return; // empty document
      if (typeof obj !== "object" || Array.isArray(obj)) {
        fail(where, "(document)", "not a mapping");
        return;
      }
      if (obj.apiVersion !== API_VERSION || obj.kind !== KIND) {
        console.log(`skip ${file}${where}: ${obj.apiVersion}/${obj.kind}`);
        return;
      }
      applications += 1;
      const name = obj.metadata && typeof obj.metadata.name === "string" ? obj.metadata.name : "?";
      const at = `${where} (Application ${name})`;
      const before = failures.length;

      // 3. YAML 1.1 vs 1.2 agreement (the 1.2 parse has the same document count).
      const other = docs12[i] && docs12[i].errors.length === 0 ? docs12[i].toJS() : undefined;
      for (const d of differences(obj, other)) {
        const msg = d.key
          ? `ambiguous plain map key: this key exists only in the YAML ${d.only} reading; quote the key`
          : `ambiguous plain scalar: YAML 1.1 reads ${JSON.stringify(d.a)}, ` +
            `YAML 1.2 reads ${JSON.stringify(d.b)}; quote it`;
        fail(at, fieldPath(d.path), msg);
      }

      // 1. @kubernetes-models/argo-cd's validator.
      try {
        new Application(obj).validate();
      } catch (err) {
        const errors = Array.isArray(err.errors) ? err.errors : null;
        if (errors) {
          for (const e of errors) {
            const [p, m] = describeAjvError(e);
            fail(at, p, `${m} (@kubernetes-models/argo-cd)`);
          }
        } else {
          fail(at, "(document)", `${err.message} (@kubernetes-models/argo-cd)`);
        }
      }

      // 2. Strict schema.
      if (!validateStrict(obj)) {
        for (const e of validateStrict.errors) {
          const [p, m] = describeAjvError(e);
          fail(at, p, `${m} (strict schema)`);
        }
      }

      if (failures.length === before) {
        console.log(`ok ${file}${at}`);
        validated += 1;
      }
    });

    if (applications === 0 && !docs11.some((d) => d.errors.length > 0)) {
      fail("", "(file)", `no ${API_VERSION} ${KIND} document found`);
    }
  }

  if (failures.length > 0) {
    for (const f of failures) console.error(f);
    console.error(`${failures.length} problem(s); ${validated} Application document(s) valid`);
    process.exit(1);
  }
  console.log(`${validated} Application document(s) valid`);
}

main(process.argv.slice(2));
