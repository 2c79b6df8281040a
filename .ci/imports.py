"""Checks that the crate's modules import each other without cycles.

Reads every `src/**/*.rs` and maps each file to its module (src/lib.rs is the
crate root, src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is `a::b`). A file
refers to another module with:
- `use` declarations, `pub use` and `pub(crate) use` included, grouped forms
  (`use crate::{a, b::c}`) expanded, `crate::`, `super::` and `self::`
  resolved against the file's module (and any inline `mod` it is in);
- paths in code: `crate::x::y`, `super::x`, `self::x`, and a child module's
  name followed by `::`.
Comments, doc comments and string literals are not read. A name re-exported
by a module (`crate::Problem`, `super::ResponseFuture`) is followed to the
module that defines it, so an import through a re-export is an edge to the
module the item comes from.

Two graphs are checked:
- top-level modules: every reference reduced to its first module under the
  crate (`crate::problem::json` -> `problem`);
- inside each top-level folder, its files (`crate::a::b::c` -> `a::b`; the
  folder's own `mod.rs` or `a.rs` is `a`). A parent's re-exports of its own
  children (`pub use self::layer::X`, any `pub(..) use`) are structure, not
  edges; anything else the parent uses of a child, and whatever a child uses
  of its parent, is an edge.

Ignored: references from src/lib.rs (the table of contents; its re-exports
are still used to resolve `crate::Name`), and `#[cfg(test)]` modules.

A cycle is printed with one line per edge (`file:line` and the import) and
the exit status is 1. Without cycles, the top-level graph is printed, one
line per module, and the exit status is 0.

    python3 .ci/imports.py [--src DIR] [--graph] [--edges]
    python3 .ci/imports.py --self-test
"""

import argparse
import bisect
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MAX_DEPTH = 32
ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
PATH_STARTS = {"crate", "$crate", "super", "self"}


# ---------------------------------------------------------------- reading


def strip(text):
    """The text with comments, strings and char literals blanked out; line
    breaks are kept so that offsets still give line numbers."""
    out = []
    i, n = 0, len(text)

    def blank(start, end):
        out.append("".join(ch if ch == "\n" else " " for ch in text[start:end]))

    def ident_before(pos):
        return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] == "_")

    raw = re.compile(r'b?r(#*)"')
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j, depth = i + 2, 1
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "br" and not ident_before(i) and raw.match(text, i):
            m = raw.match(text, i)
            end = text.find('"' + m.group(1), m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            blank(i, j)
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and not ident_before(i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        elif c == "'" or (c == "b" and text.startswith("b'", i) and not ident_before(i)):
            q = i + (1 if c == "b" else 0)
            if text.startswith("\\", q + 1):
                j = q + 3
                while j < n and text[j] != "'":
                    j += 1
                blank(i, j + 1)
                i = j + 1
            elif q + 2 < n and text[q + 2] == "'":
                blank(i, q + 3)
                i = q + 3
            else:  # a lifetime or a label
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


TOKEN = re.compile(r"r#([A-Za-z_]\w*)|([A-Za-z_]\w*)|(::|\S)")


def tokens(text):
    """(token, line) pairs of the stripped text."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found = []
    for m in TOKEN.finditer(text):
        tok = m.group(1) or m.group(2) or m.group(3)
        found.append((tok, bisect.bisect_right(starts, m.start())))
    # `$crate` is `crate` in a macro.
    merged = []
    for tok, line in found:
        if tok == "crate" and merged and merged[-1][0] == "$":
            merged[-1] = ("$crate", line)
        else:
            merged.append((tok, line))
    return merged


def is_ident(tok):
    return tok[0].isalpha() or tok[0] == "_" or tok == "$crate"


class Module:
    def __init__(self, path, owner):
        self.path = path  # tuple of names under the crate
        self.owner = owner  # the module of the file that holds it
        self.names = {}  # name -> (scope, raw path) bound by `use`
        self.globs = []  # (scope, raw path) of `use x::*`
        self.defs = set()  # items defined here (for globs)
        self.test = False


class Ref:
    def __init__(self, file, module, line, scope, raw, kind, reexport, text):
        self.file, self.module, self.line = file, module, line
        self.scope, self.raw = scope, raw
        self.kind = kind  # "use", "code", or "child" (`child::x` in code)
        self.reexport = reexport  # a `pub(..) use`
        self.text = text


def module_path(src, file):
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts == ["lib"] or parts == ["main"]:
        return ()
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


class Crate:
    def __init__(self, src):
        self.src = src
        self.modules = {}
        self.refs = []
        for file in sorted(src.rglob("*.rs")):
            path = module_path(src, file)
            self.module(path, path)
        for file in sorted(src.rglob("*.rs")):
            self.read(file)

    def module(self, path, owner):
        if path not in self.modules:
            self.modules[path] = Module(path, owner)
        return self.modules[path]

    # ------------------------------------------------------------ one file

    def read(self, file):
        text = file.read_text(encoding="utf-8")
        lines = text.splitlines()
        toks = tokens(strip(text))
        name = str(file.relative_to(self.src.parent))
        file_module = module_path(self.src, file)
        scopes = [(0, file_module)]
        depth = 0
        pending_test = False
        vis = False
        i = 0

        def at(k):
            return toks[k][0] if k < len(toks) else ""

        def source(line):
            return lines[line - 1].strip() if 0 < line <= len(lines) else ""

        def skip_group(k, open_, close):
            """Index after the group that opens at k."""
            level = 0
            while k < len(toks):
                if toks[k][0] == open_:
                    level += 1
                elif toks[k][0] == close:
                    level -= 1
                    if level == 0:
                        return k + 1
                k += 1
            return k

        while i < len(toks):
            tok, line = toks[i]
            scope = scopes[-1][1]
            if tok == "#" and at(i + 1) in ("[", "!"):
                inner = at(i + 1) == "!"
                start = i + (2 if inner else 1)
                end = skip_group(start, "[", "]")
                words = [t for t, _ in toks[start:end]]
                test = words[1:2] == ["cfg"] and "test" in words and "not" not in words
                if inner and test and depth == 0:
                    self.modules[file_module].test = True
                elif not inner:
                    pending_test = pending_test or test
                i = end
                continue
            if tok == "pub":
                vis = True
                i += 1
                if at(i) == "(":
                    i = skip_group(i, "(", ")")
                continue
            if tok == "use" and at(i + 1) != "<":  # not `impl Trait + use<'a>`
                i = self.read_use(toks, i + 1, name, file_module, scope, vis, source)
                pending_test = vis = False
                continue
            if tok == "mod" and i + 2 < len(toks) and is_ident(at(i + 1)):
                child = scope + (at(i + 1),)
                if at(i + 2) == "{":
                    if pending_test:
                        i = skip_group(i + 2, "{", "}")
                    else:
                        self.module(child, self.modules[scope].owner)
                        depth += 1
                        scopes.append((depth, child))
                        i += 3
                else:
                    self.module(child, child)
                    if pending_test:
                        self.modules[child].test = True
                    i += 2
                pending_test = vis = False
                continue
            pending_test = vis = False
            if tok == "{":
                depth += 1
            elif tok == "}":
                if len(scopes) > 1 and scopes[-1][0] == depth:
                    scopes.pop()
                depth -= 1
            elif tok in ITEM_KEYWORDS or tok == "macro_rules":
                k = i + 1
                while at(k) in ITEM_KEYWORDS or at(k) in ("!", "unsafe", "async", "extern"):
                    k += 1
                if k < len(toks) and is_ident(at(k)):
                    self.modules[scope].defs.add(at(k))
            elif is_ident(tok) and at(i + 1) == "::" and (i == 0 or at(i - 1) not in ("::", ".")):
                raw, k = [tok], i + 1
                while at(k) == "::" and k + 1 < len(toks) and is_ident(at(k + 1)):
                    raw.append(at(k + 1))
                    k += 2
                kind = "code" if tok in PATH_STARTS else "child"
                self.refs.append(Ref(name, file_module, line, scope, raw, kind, False, source(line)))
                i = k
                continue
            i += 1

    def read_use(self, toks, i, name, file_module, scope, reexport, source):
        """Reads one `use` tree from i; records its bindings and references.
        Returns the index after the `;`."""
        found = []

        def tree(k, prefix):
            segs = list(prefix)
            if k < len(toks) and toks[k][0] == "::" and not segs:
                segs.append("")  # `::name`, an external crate
                k += 1
            while k < len(toks):
                tok, line = toks[k]
                if tok == "{":
                    k += 1
                    while k < len(toks) and toks[k][0] != "}":
                        k = tree(k, segs)
                        if k < len(toks) and toks[k][0] == ",":
                            k += 1
                    return k + 1
                if tok == "*":
                    found.append(("glob", segs, None, line))
                    return k + 1
                if not is_ident(tok):
                    return k
                segs.append(tok)
                k += 1
                if k < len(toks) and toks[k][0] == "::":
                    k += 1
                    continue
                alias = segs[-1]
                if k + 1 < len(toks) and toks[k][0] == "as":
                    alias = toks[k + 1][0]
                    k += 2
                if segs[-1] == "self" and len(segs) > 1:
                    segs.pop()
                    alias = segs[-1] if alias == "self" else alias
                found.append(("name", segs, alias, line))
                return k
            return k

        k = tree(i, [])
        while k < len(toks) and toks[k][0] != ";":
            k += 1
        module = self.modules[scope]
        for kind, segs, alias, line in found:
            if kind == "glob":
                module.globs.append((scope, segs))
            elif alias != "_":
                module.names.setdefault(alias, (scope, segs))
            shown = "pub use " if reexport else "use "
            text = shown + "::".join(segs) + ("::*" if kind == "glob" else "")
            self.refs.append(Ref(name, file_module, line, scope, segs, "use", reexport, text))
        return k + 1

    # ------------------------------------------------------------ resolving

    def absolute(self, scope, raw, depth=0):
        """The path from the crate root that `raw`, written in `scope`,
        names; None when it leaves the crate."""
        if not raw or depth > MAX_DEPTH:
            return None
        first, rest = raw[0], list(raw[1:])
        if first in ("crate", "$crate"):
            return rest
        if first == "self":
            return list(scope) + rest
        if first == "super":
            base = list(scope[:-1])
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            return base + rest
        if first == "":
            return None
        if scope + (first,) in self.modules:
            return list(scope) + list(raw)
        bound = self.modules[scope].names.get(first) if scope in self.modules else None
        if bound and bound[1] != raw:
            target = self.absolute(bound[0], bound[1], depth + 1)
            return None if target is None else target + rest
        return None

    def resolve(self, path, depth=0):
        """The module that the absolute `path` ends in, following
        re-exports and globs to where an item is defined."""
        cur = ()
        for k, seg in enumerate(path):
            if cur + (seg,) in self.modules:
                cur = cur + (seg,)
                continue
            if depth >= MAX_DEPTH:
                return cur
            module = self.modules[cur]
            bound = module.names.get(seg)
            if bound:
                target = self.absolute(bound[0], bound[1])
                if target is None:
                    return cur  # re-exported from another crate
                return self.resolve(target + list(path[k + 1:]), depth + 1)
            for scope, raw in module.globs:
                target = self.absolute(scope, raw)
                if target is None:
                    continue
                there = self.resolve(target, depth + 1)
                inner = self.modules[there]
                if seg in inner.defs or seg in inner.names or there + (seg,) in self.modules:
                    return self.resolve(list(there) + list(path[k:]), depth + 1)
            return cur
        return cur

    def written(self, path):
        """The deepest module `path` names without following re-exports."""
        cur = ()
        for seg in path:
            if cur + (seg,) not in self.modules:
                break
            cur = cur + (seg,)
        return self.modules[cur].owner

    def is_test(self, path):
        return any(self.modules.get(path[:k]) and self.modules[path[:k]].test
                   for k in range(1, len(path) + 1))

    def edges(self):
        """Edges of the top-level graph and of each folder's graph:
        {(from, to): [(Ref, via), ...]} each, `via` naming the module the
        reference was written against when a re-export led elsewhere."""
        top, sub = {}, {}
        for ref in self.refs:
            file_module = ref.module
            if not file_module or self.is_test(ref.scope) or self.is_test(file_module):
                continue
            if ref.kind == "child" and ref.scope + (ref.raw[0],) not in self.modules:
                continue
            target = self.absolute(ref.scope, ref.raw)
            if target is None:
                continue
            module = self.resolve(target)
            if not module:
                continue  # an item of the crate root itself
            owner = self.modules[module].owner
            written = self.written(target)
            if owner[0] != file_module[0]:
                via = written[0] if written and written[0] != owner[0] else None
                top.setdefault((file_module[0], owner[0]), []).append((ref, via))
                continue
            here, there = "::".join(file_module[:2]), "::".join(owner[:2])
            if here == there:
                continue
            structural = ref.reexport and len(file_module) == 1 and len(owner) > 1
            if not structural:
                via = "::".join(written[:2]) if written and "::".join(written[:2]) != there else None
                sub.setdefault((here, there), []).append((ref, via))
        return top, sub


# ---------------------------------------------------------------- cycles


def cycles(edges):
    """One cycle (a list of nodes, first repeated last) per strongly
    connected component of more than one node."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, comps = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            connect(v)
    found = []
    for comp in sorted(comps):
        members, start = set(comp), comp[0]
        # Shortest way back to the start, inside the component.
        prev, queue = {start: None}, [start]
        back = None
        while queue and back is None:
            v = queue.pop(0)
            for w in sorted(graph[v] & members):
                if w == start:
                    back = v
                    break
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
        path = [start]
        v = back
        while v is not None and v != start:
            path.insert(1, v)
            v = prev[v]
        found.append((comp, path + [start]))
    return found


def evidence(refs):
    ref, via = sorted(refs, key=lambda r: (r[0].kind != "use", r[0].file, r[0].line))[0]
    more = len(refs) - 1
    tail = (f"  (re-exported by {via})" if via else "") + (f"  (+{more} more)" if more else "")
    return f"{ref.file}:{ref.line}: {ref.text}{tail}"


def report(level, edges):
    found = cycles(edges)
    for comp, path in found:
        print(f"cycle among {level} modules: {' -> '.join(path)}")
        for a, b in zip(path, path[1:]):
            print(f"  {a} -> {b}: {evidence(edges[(a, b)])}")
        rest = sorted(e for e in edges if e[0] in comp and e[1] in comp
                      and e not in set(zip(path, path[1:])))
        if rest:
            print(f"  the same knot holds {', '.join(comp)}; its other edges:")
            for a, b in rest:
                print(f"  {a} -> {b}: {evidence(edges[(a, b)])}")
    return len(found)


def all_edges(top, sub):
    for edges in (top, sub):
        for a, b in sorted(edges):
            print(f"{a} -> {b}: {evidence(edges[(a, b)])}")


def graph_lines(crate, top):
    names = sorted({p[0] for p in crate.modules if p and not crate.is_test(p)})
    for name in names:
        imported = sorted({b for a, b in top if a == name})
        print(f"{name} -> {', '.join(imported) if imported else '(nothing)'}")


def check(src, show_graph, show_edges):
    if not src.is_dir():
        print(f"no such directory: {src}")
        return 2
    crate = Crate(src)
    top, sub = crate.edges()
    if show_edges:
        all_edges(top, sub)
        print()
    count = report("top-level", top)
    for folder in sorted({a.split("::")[0] for a, _ in sub}):
        count += report(f"{folder}'s", {k: v for k, v in sub.items() if k[0].split("::")[0] == folder})
    if count:
        print(f"{count} import cycle(s) in {src}")
        if show_graph:
            print()
            graph_lines(crate, top)
        return 1
    graph_lines(crate, top)
    return 0


# ---------------------------------------------------------------- self-test

CASES = {
    "top-level cycle a -> b -> a": (1, {
        "lib.rs": "mod a;\nmod b;\npub use crate::a::A;\n",
        "a.rs": "use crate::b::B;\npub struct A(B);\n",
        "b.rs": "use crate::a::A;\npub struct B(Option<Box<A>>);\n",
    }),
    "no cycle (comments, strings, doc links and tests ignored)": (0, {
        "lib.rs": "mod a;\nmod b;\npub use crate::a::A;\npub use crate::b::B;\n",
        "a.rs": "use crate::B;\npub struct A(B);\n",
        "b.rs": (
            "//! Not [`A`](crate::a::A).\n"
            "/// \"crate::a::A\" /* use crate::a::A; */\n"
            "pub struct B(&'static str, char);\n"
            "const S: &str = \"use crate::a::A;\";\n"
            "const C: char = '\"';\n"
            "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n    use super::*;\n}\n"
        ),
    }),
    "cycle through a grouped use and a re-export": (1, {
        "lib.rs": "mod a;\nmod b;\npub use crate::a::A;\n",
        "a.rs": "pub struct A;\npub fn f() { crate::b::g() }\n",
        "b.rs": "use crate::{A, a::f as _};\npub fn g() {}\n",
    }),
    "folder: siblings in a cycle through their parent's re-exports": (1, {
        "lib.rs": "pub mod x;\n",
        "x/mod.rs": "mod p;\nmod q;\npub use self::p::P;\npub use self::q::Q;\n",
        "x/p.rs": "use super::Q;\npub struct P(Q);\n",
        "x/q.rs": "pub struct Q;\nfn f() -> super::P { todo!() }\n",
    }),
    "folder: parent re-exports children, children use the parent": (0, {
        "lib.rs": "pub mod x;\n",
        "x/mod.rs": "mod p;\nmod q;\npub use self::p::P;\npub(crate) use self::q::Q;\npub struct Root;\n",
        "x/p.rs": "use super::{q::Q, Root};\npub struct P(Q, Root);\n",
        "x/q.rs": "pub struct Q;\n",
    }),
    "folder: a child using its parent, which uses the child": (1, {
        "lib.rs": "pub mod x;\n",
        "x/mod.rs": "mod p;\npub struct Root;\nfn f() { p::g() }\n",
        "x/p.rs": "use super::Root;\npub fn g() -> Root { Root }\n",
    }),
}


def self_test():
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (title, (expected, files)) in enumerate(CASES.items()):
            src = Path(tmp) / f"case{n}" / "src"
            for rel, text in files.items():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                (src / rel).write_text(text, encoding="utf-8")
            run = subprocess.run([sys.executable, __file__, "--src", str(src)],
                                 capture_output=True, text=True, check=False)
            ok = run.returncode == expected
            failed += not ok
            print(f"{'ok' if ok else 'FAILED'}: {title} (exit {run.returncode}, expected {expected})")
            if not ok:
                print("  " + run.stdout.replace("\n", "\n  ") + run.stderr)
    print(f"self-test: {len(CASES) - failed} of {len(CASES)} cases passed")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "src")
    parser.add_argument("--graph", action="store_true", help="print the top-level graph even with cycles")
    parser.add_argument("--edges", action="store_true", help="first print every edge with one import for it")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    return check(args.src, args.graph, args.edges)


if __name__ == "__main__":
    sys.exit(main())
