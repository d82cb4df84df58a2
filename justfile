# Everyday recipes. `just --list` shows them.

# Compile lab.ncl into generated/ (and refresh schemas/).
build:
    cargo run --quiet -- build

# Is the lab valid and generated/ current? (what CI and the pre-commit hook run)
check:
    cargo run --quiet -- check

# What build would change, writing nothing.
diff:
    cargo run --quiet -- diff

# Regenerate schemas/lab.schema.json and schemas/lab.ncl from the Rust types.
schema:
    cargo run --quiet -- schema

# Install the consumer tools the tests use, then run every test.
test:
    bash tests/tools/install.sh
    cargo test --locked

# Review changed snapshots interactively (needs cargo-insta).
review:
    cargo insta review

# Accept every changed snapshot without review (then read the git diff!).
accept:
    INSTA_UPDATE=always cargo test --locked

# No unused dependency (what CI checks; installs cargo-machete once).
deps:
    test -x target/tools/machete/bin/cargo-machete || cargo install --locked cargo-machete@0.9.2 --root target/tools/machete
    target/tools/machete/bin/cargo-machete

# What CI runs.
ci:
    bash .ci/run

# The benchmark against `nickel export` (see BENCHMARKS.md).
bench:
    bash bench/run.sh
