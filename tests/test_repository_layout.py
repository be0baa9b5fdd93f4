"""The repository's shape, as docs/architecture.md describes it: small functions, the pair style
free of libtorch, the public API apart from the workflows. These rules hold for every file of
``python/nbody_lmp/`` and ``lammps_plugin/``; a change that breaks one should split the code, not
relax the test."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80
CPP_SUFFIXES = {".cpp", ".h", ".cu", ".hpp"}
NOT_FUNCTIONS = re.compile(r"^\s*(namespace|struct|class|enum|union|extern)\b|=\s*\{?$")


def tracked(*folders):
    out = subprocess.run(
        ["git", "ls-files", *folders], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [ROOT / p for p in out.stdout.split()]


def python_functions(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - _body_start(node) + 1


def _body_start(node):
    """First line of a function's code: after its signature (one argument per line once
    formatted) and its docstring."""
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return body[0].lineno


def _strip_cpp(text):
    """Comments, string and character literals blanked out (line breaks kept)."""
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def cpp_functions(path):
    """(signature, first line, length) of every function body at namespace scope or in a class:
    a brace block opened after a ``)`` (optionally ``const``/``override``/an initialiser list),
    counted from the first line of its signature to its closing brace."""
    lines = _strip_cpp(path.read_text()).split("\n")
    stack = []  # one entry per open brace: True when it opened a function body
    start = None
    for n, line in enumerate(lines):
        for k, ch in enumerate(line):
            if ch == "{":
                in_function = any(stack)
                seg = re.split(r"[{};]", line[:k])[-1]
                head = seg.strip() or (lines[n - 1].strip() if n else "")
                is_body = (
                    not in_function
                    and not NOT_FUNCTIONS.search(seg)
                    and not NOT_FUNCTIONS.search(head)
                    and re.search(
                        r"\)\s*(const)?\s*(noexcept)?\s*(override)?\s*$|\)\s*:\s*.*|^\s*:\s*.*|\)$",
                        head,
                    )
                    is not None
                )
                if is_body:
                    s = n
                    while (
                        s > 0
                        and lines[s - 1].strip()
                        and not re.search(r"[;{}]\s*$", lines[s - 1])
                        and not lines[s - 1].lstrip().startswith("#")
                    ):
                        s -= 1
                    start = (s, lines[s].strip())
                stack.append(is_body)
            elif ch == "}" and stack:
                if stack.pop() and start is not None:
                    yield start[1], start[0] + 1, n - start[0] + 1
                    start = None


def long_functions():
    found = []
    for path in tracked("python/nbody_lmp"):
        if path.suffix == ".py":
            found += [
                (path, line, name, length)
                for name, line, length in python_functions(path)
                if length > MAX_FUNCTION_LINES
            ]
    for path in tracked("lammps_plugin"):
        if path.suffix in CPP_SUFFIXES:
            found += [
                (path, line, sig, length)
                for sig, line, length in cpp_functions(path)
                if length > MAX_FUNCTION_LINES
            ]
    return found


def test_no_function_is_longer_than_80_lines():
    found = long_functions()
    assert not found, "split these functions:\n" + "\n".join(
        f"{p.relative_to(ROOT)}:{line} {name!r} is {length} lines"
        for p, line, name, length in found
    )


def test_the_length_rule_sees_long_functions(tmp_path):
    body = "\n".join(f"  x += {k};" for k in range(90))
    cpp = tmp_path / "f.cpp"
    cpp.write_text(
        "namespace a {\nint PairX::f(int n,\n           double y) const\n{\n"
        f"  int x = 0;\n{body}\n  return x;\n}}\nstruct S {{ int g() {{ return 1; }} }};\n}}\n"
    )
    got = list(cpp_functions(cpp))
    assert [(line, length) for _, line, length in got] == [(2, 96), (98, 1)]
    py = tmp_path / "f.py"
    args = "".join(f"    a{k},\n" for k in range(30))
    body = "\n".join(f"    x = {k}" for k in range(85))
    short = "\n".join(f"    x = {k}" for k in range(20))
    py.write_text(f'def f():\n{body}\n\n\ndef g(\n{args}):\n    """Doc.\n\n    More."""\n{short}\n')
    # the code is counted, not the signature (one argument per line) or the docstring
    assert [length for _, _, length in python_functions(py)] == [85, 20]


def test_pair_style_is_libtorch_free_and_small():
    pair = (ROOT / "lammps_plugin" / "pair_nbody.cpp").read_text()
    assert len(pair.splitlines()) <= 600
    local = {"pair_nbody.cpp", "pair_nbody.h"}
    seen = set()

    def includes(name):  # the pair style's own headers, followed transitively
        if name in seen:
            return []
        seen.add(name)
        text = (
            (ROOT / "lammps_plugin" / name).read_text()
            if (ROOT / "lammps_plugin" / name).exists()
            else ""
        )
        found = re.findall(r'#include\s*[<"]([^>"]+)[>"]', text)
        out = list(found)
        for f in found:
            if (ROOT / "lammps_plugin" / f).exists():
                out += includes(f)
        return out

    allinc = [inc for name in local for inc in includes(name)]
    assert not [i for i in allinc if i.startswith(("torch", "ATen", "c10"))], allinc


def test_top_level_is_the_public_api():
    import nbody_lmp

    for name in ("NBodyNetwork", "NBodyCalculator", "export", "load_exported", "plugin_path"):
        assert hasattr(nbody_lmp, name), name
    top = {p.stem for p in (ROOT / "python" / "nbody_lmp").glob("*.py")}
    assert not top & {"demo", "selection", "analysis", "lammps_run"}, top
    assert not (ROOT / "python" / "nbody_lmp" / "data" / "generate_sw.py").exists()


@pytest.mark.parametrize("folder", ["benchmarks", "tests", "python", "examples"])
def test_no_sys_path_manipulation(folder):
    out = subprocess.run(
        ["git", "grep", "-n", r"sys\.path\.\(insert\|append\)", "--", folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.stdout == "", out.stdout
