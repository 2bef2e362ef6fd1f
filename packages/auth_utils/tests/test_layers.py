"""The folders of auth_utils are its layers, and imports only go down: a rule never reads
storage, storage never calls a service, a service never runs a flow, and nothing but the
operator's commands sits on top of the core. Checked from the source (every import,
including the ones inside functions), so a new upward import fails here, not in review."""

import ast
from pathlib import Path

import auth_utils

PACKAGE = Path(auth_utils.__file__).parent
# Lowest first; a module may import its own layer and those below it.
LAYERS = ["rules", "config", "storage", "services", "flows", "http", "core", "ops"]
MAX_LINES = 270  # "no module over ~250 lines" (issue 23)


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "auth_utils":
        return None
    if len(parts) == 1:
        return len(LAYERS)  # the package's own __init__ re-exports every layer
    return LAYERS.index(parts[1])


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("auth_utils", *path.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(p for p in parts if p != "__init__")] = path
    return found


def imports_of(path: Path, module: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level or None]
                names.add(".".join([*base, node.module]))
            else:
                names.add(node.module)
    return {n for n in names if n.split(".")[0] == "auth_utils"}


def test_every_module_sits_in_a_layer():
    for module in modules():
        assert layer_of(module) is not None, module


def test_imports_only_go_down():
    upward = []
    for module, path in modules().items():
        own = layer_of(module)
        for imported in imports_of(path, module):
            if layer_of(imported) > own:
                upward.append(f"{module} ({LAYERS[own] if own < len(LAYERS) else 'package'})"
                              f" imports {imported}")
    assert upward == []


def test_no_import_circle_between_modules():
    graph = {m: {i for i in imports_of(p, m) if i in modules() and i != m}
             for m, p in modules().items()}
    # a package's __init__ that re-exports its modules is not a circle with them
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".")}
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert circles == []


def test_each_layer_says_what_lives_there():
    for name in LAYERS:
        path = PACKAGE / name / "__init__.py"
        if path.exists():
            assert ast.get_docstring(ast.parse(path.read_text())), name


def test_no_module_is_long():
    long = {m for m, p in modules().items() if len(p.read_text().splitlines()) > MAX_LINES}
    assert long == set()


def class_defs() -> dict[str, tuple[str, ast.ClassDef, set[str]]]:
    """Every class auth_utils defines: its name -> (module, its ast, the names its module
    imports from Authlib)."""
    found = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        authlib = {alias.asname or alias.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                       "authlib") for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found[node.name] = (module, node, authlib)
    return found


def base_names(node: ast.ClassDef) -> list[str]:
    return [b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
            if isinstance(b, ast.Name | ast.Attribute)]


def test_no_flow_inherits_from_another_of_our_classes():
    """Flows are composed (issue 23): a flow object holds the objects it uses and
    inherits from none of ours, so none is one class spread over several files. A class
    may still extend one of ours that is only a value or a type (a dataclass, an
    Exception, a Protocol), or one of ours that extends Authlib's own classes (its
    grants and server are extended by subclassing: the library's mechanism)."""
    ours = class_defs()

    def allowed(name: str, seen: frozenset = frozenset()) -> bool:
        _, node, authlib = ours[name]
        decorators = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "")
                      for d in (getattr(d, "func", d) for d in node.decorator_list)}
        bases = base_names(node)
        return "dataclass" in decorators or any(
            b in ("Protocol", "Exception") or b.endswith("Error") or b in authlib
            or (b in ours and b not in seen and allowed(b, seen | {name})) for b in bases)

    inheriting = [f"{module}.{node.name}({base})" for module, node, _ in ours.values()
                  if module.startswith("auth_utils.flows") for base in base_names(node)
                  if base in ours and not allowed(base)]
    assert inheriting == []
