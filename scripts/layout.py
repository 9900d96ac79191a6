#!/usr/bin/env python3
"""The house rules, checked: no import cycles between source files, no
source file over 600 lines (test files excepted), and each layer keeps to
what it may touch (see the README's "How it is built").

Run from the repository root: python3 scripts/layout.py
"""
import os
import re
import sys

SRC = "src"
LIMIT = 600

def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)

def files():
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".rs"):
                yield os.path.join(root, n)

def strip_tests(text):
    # Everything from the test module (`#[cfg(test)]` then `mod tests`) on
    # is test code; a `#[cfg(test)]` on one helper is not.
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+", text)
    return text if m is None else text[:m.start()]

def uncommented(text):
    return re.sub(r"//[^\n]*", "", text)

def uses(text):
    """Paths named by `use` items and inline `crate::`/`super::` paths."""
    text = uncommented(text)
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        found.extend(expand(m.group(1).replace("\n", " ")))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        found.append(m.group(1))
    return found

def expand(tree):
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.groups()
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""; continue
        depth += ch == "{"; depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out.extend(prefix + "::" + q for q in expand(p))
    return out

def resolve(path, here, is_mod_file, modules):
    segs = path.split("::")
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] == "super":
        base, rest = here, segs
        while rest and rest[0] == "super":
            base = base[:-1]; rest = rest[1:]
    else:
        return None
    # The longest module prefix that exists.
    best = None
    for i in range(len(rest) + 1):
        cand = base + tuple(s for s in rest[:i] if s != "self")
        if cand in modules:
            best = cand
    return best

def main():
    errors = []
    modules, texts, modfile = {}, {}, {}
    for f in files():
        m = module_of(f)
        modules[m] = f
        with open(f, encoding="utf-8") as fh:
            texts[m] = fh.read()
        modfile[m] = os.path.basename(f) in ("mod.rs", "lib.rs", "main.rs")
    # Line limit (test files and test modules excepted).
    for m, f in modules.items():
        if f.endswith("tests.rs") or "/tests/" in f:
            continue
        n = strip_tests(texts[m]).count("\n")
        if n > LIMIT:
            errors.append(f"{f}: {n} lines of code (the limit is {LIMIT}): split it")
    # Import graph between files; a parent's `mod` declarations are not edges.
    graph = {m: set() for m in modules}
    for m in modules:
        if m == () or modules[m].endswith("main.rs"):
            continue
        for p in uses(strip_tests(texts[m])):
            t = resolve(p, m, modfile[m], modules)
            if t is None or t == m:
                continue
            # Using a child from its parent, or a parent's items from a child,
            # is how Rust modules are built: only siblings and cousins count.
            if t[:len(m)] == m or m[:len(t)] == t:
                continue
            graph[m].add(t)
    # Cycles (Tarjan's strongly connected components).
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)
    for v in graph:
        if v not in index:
            strong(v)
    for comp in comps:
        names = sorted("::".join(c) for c in comp)
        errors.append("import cycle between " + ", ".join(names))
    # What each layer may not touch.
    rules = [
        ("smtp", r"std::fs|\bFile::|clap|egui|crate::(cli|ui|store|sandbox)\b", "smtp/ opens no file and knows no CLI, window, store or sandbox"),
        ("message", r"clap|egui|crate::(cli|ui|sandbox)\b", "message/ knows no CLI or window"),
        ("oauth", r"std::fs|\bFile::|clap|egui|keyring|crate::(cli|ui|store|sandbox|app|smtp)\b", "oauth/ opens no file and knows no keychain, CLI, window or store"),
        ("store", r"clap|egui|crate::(cli|ui)\b", "store/ knows no CLI or window"),
        ("app", r"clap|egui|crate::(cli|ui)\b", "app/ knows no CLI or window"),
        ("sandbox", r"clap|egui|crate::(cli|ui)\b", "sandbox/ knows no CLI or window"),
        ("ui", r"std::net|TcpStream|TcpListener|clap|crate::cli\b", "ui/ opens no socket and knows no CLI"),
        ("cli", r"egui|crate::ui\b", "cli/ knows no window"),
    ]
    for layer, pattern, why in rules:
        for m, f in modules.items():
            if m[:1] != (layer,):
                continue
            code = strip_tests(texts[m])
            code = "\n".join(l for l in code.split("\n") if not l.lstrip().startswith("//"))
            hit = re.search(pattern, code)
            if hit:
                errors.append(f"{f}: uses {hit.group(0)!r}: {why}")
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} layout problem(s)")
        return 1
    print(f"layout ok: {len(modules)} files, no cycles, none over {LIMIT} lines")
    return 0

if __name__ == "__main__":
    sys.exit(main())
