"""Each DVC stage's deps list the project files it imports, and no Python file it does not.

A stage's entry module comes from its `cmd` (`python -m stages.X`); its import closure inside
the project (fusion/, stages/) is read with `ast`, importing nothing: `import fusion.x`,
`from fusion import x`, `from fusion.x import y` and relative imports, at any depth (imports
inside functions run too), except under `if TYPE_CHECKING:`. A module runs its packages'
`__init__.py` first. `importlib.import_module(f"{__name__}.{name}")` imports one module of the
package chosen at run time: in a `foreach` stage over `strategies`, the module its entry names
(`fusion:`); in any other stage, each of them. A file without statements (a docstring at most)
needs no dep. A dep that is a folder covers every file inside it. A `foreach` stage is checked
once per entry of `strategies` in params.yaml, its `${key}` and `${item.*}` filled in.
"""

import ast
import re
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("fusion", "stages")
STRATEGIES = yaml.safe_load((PROJECT / "params.yaml").read_text())["strategies"]
CHOSEN = ".*"  # the suffix of a module that is imported by a name chosen at run time


def expand(stage: dict, key: str, item: dict) -> dict:
    """A `foreach` stage's `do` template for one entry of `strategies`."""
    fill = {"${key}": key, **{f"${{item.{k}}}": str(v) for k, v in item.items()}}
    text = yaml.safe_dump(stage)
    for placeholder, value in fill.items():
        text = text.replace(placeholder, value)
    return yaml.safe_load(text)


STAGES = {}
for _name, _stage in yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"].items():
    if "foreach" in _stage:
        assert _stage["foreach"] == "${strategies}", f"{_name}: a foreach over strategies"
        STAGES |= {f"{_name}@{k}": expand(_stage["do"], k, v) | {"op": v["fusion"]}
                   for k, v in STRATEGIES.items()}
    else:
        STAGES[_name] = _stage


def source(module: str) -> Path | None:
    """The file of project module `module` (a package's __init__.py); None outside the project."""
    if module.split(".")[0] not in PACKAGES:
        return None
    path = PROJECT.joinpath(*module.split("."))
    return next((f for f in (path / "__init__.py", path.with_suffix(".py")) if f.is_file()), None)


def imports(module: str, file: Path) -> set[str]:
    """Names that `file` (module `module`) imports; `from a import b` gives a and a.b."""
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    names = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: package.count(".") + 2 - node.level]
                base = ".".join([*parent, *filter(None, [node.module])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module"):
            assert ast.unparse(node.args[0]).startswith("f'{__name__}."), f"{file}: " \
                "import_module of anything but a module of its own package"
            names.add(f"{package}{CHOSEN}")
        typing_only = isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for child in node.orelse if typing_only else ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(file.read_text(), str(file)))
    return names


def closure(entry: str, op: str | None = None) -> set[Path]:
    """Every project file that running module `entry` imports, its own included; a module
    chosen at run time is `op` where given, else every module of its package."""
    files, seen, todo = set(), set(), [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if module.endswith(CHOSEN):
            package = module.removesuffix(CHOSEN)
            todo += [f"{package}.{op}"] if op else [
                f"{package}.{p.stem}" for p in source(package).parent.glob("[!_]*.py")]
            continue
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # its packages
        if file := source(module):
            files.add(file)
            todo += imports(module, file)
    return files


def has_code(file: Path) -> bool:
    body = ast.parse(file.read_text()).body
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


def imported_files(stage: dict) -> set[Path]:
    match = re.search(r"python -m ([\w.]+)", stage["cmd"])
    assert match, f"cmd {stage['cmd']!r} does not run `python -m <module>`"
    return closure(match[1], stage.get("op"))


def relative(paths) -> list[str]:
    return sorted(str(p.relative_to(PROJECT)) for p in paths)


@pytest.mark.parametrize("name", STAGES)
def test_deps_cover_every_project_file_the_stage_imports(name):
    deps = [Path(d) for d in STAGES[name].get("deps", [])]
    missing = [f for f in imported_files(STAGES[name]) if has_code(f) and not any(
        d == f.relative_to(PROJECT) or d in f.relative_to(PROJECT).parents for d in deps)]
    assert not missing, f"stage {name}: imported but not in deps: {relative(missing)}"


@pytest.mark.parametrize("name", STAGES)
def test_no_python_dep_the_stage_does_not_import(name):
    imported = imported_files(STAGES[name])
    listed = set()
    for dep in STAGES[name].get("deps", []):
        path = PROJECT / dep
        listed |= {path} if path.suffix == ".py" else set(path.rglob("*.py"))
    extra = listed - imported
    assert not extra, f"stage {name}: in deps but never imported (needless re-runs): " \
                      f"{relative(extra)}"
