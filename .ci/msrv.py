"""Checks that the crate's `rust-version` covers what it builds on.

The machine has one toolchain, so an older compiler cannot be run here.
Instead this checks the two things `rust-version` promises users:
- no dependency the library builds on (normal dependencies, every feature on)
  declares a newer `rust-version`;
- clippy's `incompatible_msrv` lint, which reads `rust-version` from
  Cargo.toml, forbids newer standard-library APIs in the crate itself (run by
  `cargo clippy -- -D warnings` in .ci/run).
"""

import json
import subprocess
import sys

PACKAGE = "tower-failed-dependency"


def version(text):
    """A version as three numbers: "1.85" and "1.85.0" are the same."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    # This machine's platform: a dependency only another platform builds
    # (wasm's, Windows') is not checked here.
    host = next(
        line.split(":", 1)[1].strip()
        for line in subprocess.check_output(["rustc", "-vV"], text=True).splitlines()
        if line.startswith("host:"))
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked",
         "--filter-platform", host]))
    by_id = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p for p in meta["packages"] if p["name"] == PACKAGE)
    ours = version(root["rust_version"])

    seen, stack = set(), [root["id"]]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            normal = any(k["kind"] in (None, "build") for k in dep["dep_kinds"])
            if normal and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])

    too_new = sorted(
        (by_id[i]["name"], by_id[i]["version"], by_id[i]["rust_version"])
        for i in seen
        if by_id[i].get("rust_version") and version(by_id[i]["rust_version"]) > ours
    )
    for name, ver, needs in too_new:
        print(f"{name} {ver} needs Rust {needs}, above rust-version {root['rust_version']}")
    if too_new:
        sys.exit(1)
    print(f"rust-version {root['rust_version']} covers all {len(seen)} library dependencies")


if __name__ == "__main__":
    main()
