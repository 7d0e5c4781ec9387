"""Every third-party import of the project's code is declared, at a version that provides it.

The imports are read from the code with ``ast`` (imports inside functions too). The runtime code
(app.py, predictor/, ui/) must be covered by requirements.txt alone, training/ by the package and
its ``training`` and ``spark`` extras, and bench/ by requirements-dev.txt. Against the installed
packages each declaration must also hold: the installed version is in the declared range, every
``from X import name`` resolves, every keyword argument passed to a third-party callable is in its
signature, and the APIs known to be recent have a floor no lower than the version that added them.

On a machine with only requirements.txt installed the runtime checks all run; a training or bench
module whose distribution is absent is still checked for its declaration, and the checks that need
the installed package are skipped for that module alone.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
# The project's own top-level names that are not in the repository root: the bundle's code.
BUNDLE_PACKAGES = frozenset({"campaign_model"})
DEFINING = ("__init__", "__new__")


@dataclass(frozen=True)
class Scope:
    """Code that must run with what a set of requirements files installs."""

    name: str
    sources: tuple[str, ...]
    files: tuple[str, ...]
    # Only the runtime must be installed wherever the tests run.
    installed_everywhere: bool


RUNTIME = Scope("runtime", ("app.py", "predictor", "ui"), ("requirements.txt",), True)
TRAINING = Scope(
    "training",
    ("training",),
    ("requirements.txt", "requirements-training.txt", "requirements-spark.txt"),
    False,
)
DEV = Scope("dev", ("bench",), ("requirements-dev.txt",), False)
SCOPES = (RUNTIME, TRAINING, DEV)


@dataclass(frozen=True)
class RecentApi:
    """A keyword that a third-party callable accepts only from version ``since`` on."""

    distribution: str
    module: str  # the top-level module the distribution provides
    callable_name: str  # the last part of the dotted name, wherever it is imported from
    keyword: str
    since: str


RECENT_APIS: tuple[RecentApi, ...] = (
    RecentApi("urllib3", "urllib3", "Retry", "retry_after_max", "2.6.3"),
    RecentApi("urllib3", "urllib3", "Retry", "backoff_jitter", "2.0"),
    RecentApi("urllib3", "urllib3", "Retry", "backoff_max", "2.0"),
)


# ---------------------------------------------------------------------------------------------
# Reading the code


@dataclass(frozen=True)
class ImportUse:
    """One ``import module`` or ``from module import names`` statement."""

    where: str  # path:line
    module: str
    names: tuple[str, ...] = ()

    @property
    def top(self) -> str:
        return self.module.partition(".")[0]


@dataclass(frozen=True)
class KeywordCall:
    """A call, with keyword arguments, of a name bound by an import (dotted, as imported)."""

    where: str
    target: str
    keywords: tuple[str, ...]

    @property
    def top(self) -> str:
        return self.target.partition(".")[0]


@dataclass
class Scan:
    """What a piece of code imports and the keyword arguments it passes to imported callables."""

    imports: list[ImportUse] = field(default_factory=list)
    calls: list[KeywordCall] = field(default_factory=list)

    def extend(self, other: Scan) -> None:
        self.imports += other.imports
        self.calls += other.calls


def _own_statements(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope, without descending into nested functions, classes and lambdas."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            yield from _own_statements(child)


class _Scanner(ast.NodeVisitor):
    """Collects the imports and the keyword calls of imported names, scope by scope."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scan = Scan()
        self.scopes: list[dict[str, str]] = [{}]

    def _where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', 0)}"

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted name an expression stands for, when it starts from an imported name."""
        if isinstance(node, ast.Name):
            return self.scopes[-1].get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _bind(self, scope_node: ast.AST, names: dict[str, str]) -> None:
        """Bind a scope's imports, then its classes that only inherit an imported constructor."""
        for node in _own_statements(scope_node):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        top = alias.name.partition(".")[0]
                        names[top] = top
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if alias.name != "*":
                        names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.scopes.append(names)
        for node in _own_statements(scope_node):
            if isinstance(node, ast.ClassDef) and self._inherits_constructor(node):
                names[node.name] = self.resolve(node.bases[0])  # type: ignore[assignment]

    def _inherits_constructor(self, node: ast.ClassDef) -> bool:
        """A plain subclass of an imported class: its calls go to the base's signature."""
        if node.decorator_list or node.keywords or not node.bases:
            return False
        if self.resolve(node.bases[0]) is None:
            return False
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign):
                return False  # fields a metaclass may turn into constructor arguments
            if isinstance(statement, ast.FunctionDef) and statement.name in DEFINING:
                return False
        return True

    def _visit_scope(self, node: ast.AST) -> None:
        self._bind(node, dict(self.scopes[-1]))
        self.generic_visit(node)
        self.scopes.pop()

    def visit_Module(self, node: ast.Module) -> None:
        self.scopes = []
        self._bind(node, {})
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_scope

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.scan.imports.append(ImportUse(self._where(node), alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            self.scan.imports.append(ImportUse(self._where(node), node.module, names))

    def visit_Call(self, node: ast.Call) -> None:
        keywords = tuple(k.arg for k in node.keywords if k.arg is not None)
        target = self.resolve(node.func) if keywords else None
        if target:
            self.scan.calls.append(KeywordCall(self._where(node), target, keywords))
        self.generic_visit(node)


def scan_source(source: str, path: str) -> Scan:
    """The imports and keyword calls of one module's source (``path`` names it in messages)."""
    scanner = _Scanner(path)
    scanner.visit(ast.parse(source, filename=path))
    return scanner.scan


def source_files(sources: Iterable[str], root: Path = REPO) -> list[Path]:
    """The Python files of the named files and folders."""
    found: list[Path] = []
    for name in sources:
        path = root / name
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


@cache
def scan_scope(scope: Scope) -> Scan:
    """The scan of every Python file of a scope."""
    scan = Scan()
    for path in source_files(scope.sources):
        rel = path.relative_to(REPO).as_posix()
        scan.extend(scan_source(path.read_text(encoding="utf-8"), rel))
    return scan


@cache
def local_names(root: Path = REPO) -> frozenset[str]:
    """Top-level names of the project itself: root modules and folders holding Python files."""
    names = {path.stem for path in root.glob("*.py")}
    names |= {
        path.name
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith(".") and any(path.glob("*.py"))
    }
    return frozenset(names | BUNDLE_PACKAGES)


def is_third_party(top: str) -> bool:
    """Neither the standard library nor the project."""
    return top not in sys.stdlib_module_names and top not in local_names()


def third_party_modules(scope: Scope) -> list[str]:
    """The top-level third-party modules a scope imports, sorted."""
    return sorted({use.top for use in scan_scope(scope).imports if is_third_party(use.top)})


# ---------------------------------------------------------------------------------------------
# Reading the requirements


@dataclass(frozen=True)
class Declared:
    """A requirement line and the file it is in."""

    origin: str
    requirement: Requirement

    def __str__(self) -> str:
        return f"{self.requirement} ({self.origin})"


def parse_requirements(
    text: str, origin: str, base: Path | None = None, *, applicable_only: bool = True
) -> list[Declared]:
    """The requirements of a requirements file's text, following ``-r`` includes under ``base``.

    With ``applicable_only``, lines whose environment marker is false here are left out.
    """
    found: list[Declared] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r", "--requirement")):
            name = line.split(None, 1)[1] if " " in line else line.removeprefix("-r")
            if base is None:
                raise ValueError(f"{origin}: cannot follow {line!r} without a folder")
            found += read_requirements(base / name.strip(), applicable_only=applicable_only)
            continue
        if line.startswith("-"):
            raise ValueError(f"{origin}: option line {line!r} is not supported here")
        requirement = Requirement(line)
        marker = requirement.marker
        if applicable_only and marker is not None and not marker.evaluate({"extra": ""}):
            continue
        found.append(Declared(origin, requirement))
    return found


def read_requirements(path: Path, *, applicable_only: bool = True) -> list[Declared]:
    """The requirements of a requirements file, following its ``-r`` includes."""
    text = path.read_text(encoding="utf-8")
    return parse_requirements(text, path.name, path.parent, applicable_only=applicable_only)


@cache
def scope_requirements(scope: Scope) -> tuple[Declared, ...]:
    """Everything a scope's requirements files declare for this platform."""
    return tuple(declared for name in scope.files for declared in read_requirements(REPO / name))


# ---------------------------------------------------------------------------------------------
# Checking


@cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


def installed_distributions(top: str) -> list[str]:
    """Canonical names of the installed distributions that provide a top-level module."""
    return sorted({canonicalize_name(name) for name in _distributions().get(top, [])})


def installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def declarations_for(top: str, requirements: Iterable[Declared]) -> list[Declared]:
    """The requirements that provide a top-level module.

    By the installed distributions that provide it; when none is installed, by name: the module's
    own name, or that name with a suffix (``xgboost`` for ``xgboost-cpu``).
    """
    provided_by = installed_distributions(top)
    if provided_by:
        return [d for d in requirements if canonicalize_name(d.requirement.name) in provided_by]
    own = canonicalize_name(top)
    names = {d: canonicalize_name(d.requirement.name) for d in requirements}
    return [d for d, name in names.items() if name == own or name.startswith(f"{own}-")]


def lower_bound(requirement: Requirement) -> Version | None:
    """The lowest version a requirement's specifier admits by its ``>=``/``>``/``==``/``~=``."""
    bounds = [
        Version(spec.version.removesuffix(".*"))
        for spec in requirement.specifier
        if spec.operator in (">=", ">", "==", "~=", "===")
    ]
    return max(bounds, default=None)


def _load(target: str) -> Any:
    """The object a dotted name stands for: the longest importable module, then attributes."""
    parts = target.split(".")
    obj: Any = importlib.import_module(parts[0])
    done = 1
    for index in range(2, len(parts) + 1):
        try:
            obj = importlib.import_module(".".join(parts[:index]))
            done = index
        except ImportError:
            break
    for name in parts[done:]:
        obj = getattr(obj, name)
    return obj


def _has_name(module: ModuleType, name: str) -> bool:
    if hasattr(module, name):
        return True
    try:
        importlib.import_module(f"{module.__name__}.{name}")
    except ImportError:
        return False
    return True


def rejected_keywords(func: Any, keywords: Iterable[str]) -> list[str] | None:
    """The keywords a callable's signature does not take; None when it cannot be introspected."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    named = {
        name
        for name, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return [k for k in keywords if k not in named]


@dataclass
class Report:
    """What is wrong with one module's declaration, and why checks were skipped, if they were."""

    problems: list[str] = field(default_factory=list)
    skipped: str | None = None


def check_module(
    top: str,
    scan: Scan,
    requirements: Iterable[Declared],
    files: str,
    *,
    installed_everywhere: bool,
) -> Report:
    """Check one top-level third-party module of a scan against the requirements of ``files``."""
    report = Report()
    requirements = list(requirements)
    imports = [use for use in scan.imports if use.top == top]
    calls = [call for call in scan.calls if call.top == top]
    declared = declarations_for(top, requirements)
    if not declared:
        provided_by = installed_distributions(top)
        hint = ", ".join(f"{name} {installed_version(name)}" for name in provided_by)
        for use in imports:
            report.problems.append(
                f"{use.where}: imports {use.module}, but {files} declares no requirement for "
                f"the distribution providing {top!r} "
                f"({f'installed here: {hint}' if hint else 'none installed here'}); "
                "add it with a range"
            )
        return report

    versions = {d.requirement.name: installed_version(d.requirement.name) for d in declared}
    missing = [name for name, found in versions.items() if found is None]
    if missing:
        reason = f"{top}: {', '.join(missing)} is declared in {files} but not installed here"
        if installed_everywhere:
            report.problems.append(f"{reason}: pip install -r {files}")
        else:
            report.skipped = f"{reason}; declaration checked, installed-version checks skipped"
        return report

    declared_text = "; ".join(str(d) for d in declared)
    installed_text = ", ".join(f"{name} {found}" for name, found in versions.items())
    for d in declared:
        found = versions[d.requirement.name]
        if not d.requirement.specifier.contains(found, prereleases=True):
            report.problems.append(
                f"{top}: installed {d.requirement.name} {found} is outside the declared {d}"
            )

    for use in imports:
        try:
            module = importlib.import_module(use.module)
        except ImportError as error:
            report.problems.append(
                f"{use.where}: import {use.module} fails with {installed_text} "
                f"(declared {declared_text}): {error}"
            )
            continue
        for name in use.names:
            if not _has_name(module, name):
                report.problems.append(
                    f"{use.where}: from {use.module} import {name}: {installed_text} has no "
                    f"{name!r} (declared {declared_text})"
                )

    for call in calls:
        try:
            func = _load(call.target)
        except (ImportError, AttributeError) as error:
            report.problems.append(
                f"{call.where}: {call.target} does not exist in {installed_text} "
                f"(declared {declared_text}): {error}"
            )
            continue
        rejected = rejected_keywords(func, call.keywords)
        for keyword in rejected or []:
            report.problems.append(
                f"{call.where}: {call.target}(...) gets keyword {keyword!r}, which {installed_text} "
                f"does not accept (declared {declared_text})"
            )
    return report


def floor_problems(
    scan: Scan, requirements: Iterable[Declared], table: Iterable[RecentApi]
) -> list[str]:
    """Recent APIs the code uses whose declared lower bound is below the version that added them."""
    requirements = list(requirements)
    problems: list[str] = []
    for api in table:
        uses = [
            call
            for call in scan.calls
            if call.top == api.module
            and call.target.rsplit(".", 1)[-1] == api.callable_name
            and api.keyword in call.keywords
        ]
        if not uses:
            continue
        declared = [
            d
            for d in requirements
            if canonicalize_name(d.requirement.name) == canonicalize_name(api.distribution)
        ]
        floors = [lower_bound(d.requirement) for d in declared]
        since = Version(api.since)
        if not declared or any(floor is None or floor < since for floor in floors):
            problems.append(
                f"{uses[0].where}: {api.callable_name}({api.keyword}=...) needs "
                f"{api.distribution}>={api.since}, but the declaration is "
                f"{'; '.join(str(d) for d in declared) or 'missing'}"
            )
    return problems


def _check(scope: Scope, top: str) -> None:
    report = check_module(
        top,
        scan_scope(scope),
        scope_requirements(scope),
        " + ".join(scope.files),
        installed_everywhere=scope.installed_everywhere,
    )
    assert not report.problems, "\n".join(report.problems)
    if report.skipped:
        pytest.skip(report.skipped)


# ---------------------------------------------------------------------------------------------
# The project


@pytest.mark.parametrize("top", third_party_modules(RUNTIME))
def test_runtime_import_is_declared_and_provided(top: str) -> None:
    _check(RUNTIME, top)


@pytest.mark.parametrize("top", third_party_modules(TRAINING))
def test_training_import_is_declared_and_provided(top: str) -> None:
    _check(TRAINING, top)


@pytest.mark.parametrize("top", third_party_modules(DEV))
def test_bench_import_is_declared_and_provided(top: str) -> None:
    _check(DEV, top)


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: scope.name)
def test_recent_apis_have_a_high_enough_floor(scope: Scope) -> None:
    problems = floor_problems(scan_scope(scope), scope_requirements(scope), RECENT_APIS)
    assert not problems, "\n".join(problems)


def test_recent_api_table_matches_the_code() -> None:
    """Each entry describes a call the code makes, and the installed version takes it."""
    calls = [call for scope in SCOPES for call in scan_scope(scope).calls]
    for api in RECENT_APIS:
        uses = [
            call
            for call in calls
            if call.top == api.module
            and call.target.rsplit(".", 1)[-1] == api.callable_name
            and api.keyword in call.keywords
        ]
        assert uses, f"no call passes {api.callable_name}({api.keyword}=...): drop the entry"
        assert rejected_keywords(_load(uses[0].target), [api.keyword]) == []


def test_the_scan_sees_the_code() -> None:
    """Imports inside functions and the project's own packages are told apart as they should."""
    runtime = third_party_modules(RUNTIME)
    assert {"gradio", "urllib3", "mlflow"} <= set(runtime)  # mlflow: imported in functions only
    assert not {"predictor", "ui", "training", "tests", "os"} & set(runtime)
    assert "pyspark" in third_party_modules(TRAINING) and "pyspark" not in runtime
    targets = {call.target for call in scan_scope(RUNTIME).calls}
    assert "urllib3.util.retry.Retry" in targets


# ---------------------------------------------------------------------------------------------
# The checker on code made up here


RETRY_REQUIREMENT = parse_requirements("urllib3>=2.6.3,<3\n", "requirements.txt")


def _problems(source: str, requirements: str = "urllib3>=2.6.3,<3\n") -> list[str]:
    scan = scan_source(source, "example.py")
    declared = parse_requirements(requirements, "requirements.txt")
    report = check_module("urllib3", scan, declared, "requirements.txt", installed_everywhere=True)
    return report.problems


def test_checker_reports_an_undeclared_import() -> None:
    [problem] = _problems("import json\n\nimport urllib3\n", "requests>=2,<3\n")
    assert "example.py:3" in problem and "urllib3" in problem and "requirements.txt" in problem


def test_checker_reports_a_keyword_the_signature_does_not_take() -> None:
    source = "from urllib3.util.retry import Retry\n\nRetry(0, total=1, no_such_option=2)\n"
    [problem] = _problems(source)
    assert "example.py:3" in problem and "'no_such_option'" in problem and "Retry" in problem
    assert _problems(source.replace("no_such_option", "connect")) == []


def test_checker_follows_aliases_modules_functions_and_subclasses() -> None:
    source = (
        "import urllib3\n"
        "import urllib3.util as u\n"
        "from urllib3.util.retry import Retry\n"
        "\n"
        "class Mine(Retry):\n"
        "    def increment(self):\n"
        "        return self\n"
        "\n"
        "def make():\n"
        "    from urllib3.util import Retry as R\n"
        "    return R(bad_one=1), urllib3.util.Retry(bad_two=1), u.Retry(bad_three=1)\n"
        "\n"
        "Mine(bad_four=1)\n"
    )
    problems = _problems(source)
    for keyword in ("bad_one", "bad_two", "bad_three", "bad_four"):
        assert any(f"'{keyword}'" in problem for problem in problems), keyword
    assert sum("example.py:11" in problem for problem in problems) == 3
    assert any("example.py:13" in problem for problem in problems)


def test_checker_leaves_a_subclass_with_its_own_constructor_alone() -> None:
    source = (
        "from urllib3.util.retry import Retry\n"
        "class Mine(Retry):\n"
        "    def __init__(self, mine=0):\n"
        "        super().__init__()\n"
        "Mine(mine=1)\n"
    )
    assert _problems(source) == []


def test_checker_reports_a_name_the_module_lacks() -> None:
    [problem] = _problems("from urllib3 import PoolManager, NoSuchThing\n")
    assert "example.py:1" in problem and "'NoSuchThing'" in problem
    [problem] = _problems("import urllib3\nurllib3.no_such_function(x=1)\n")
    assert "example.py:2" in problem and "no_such_function" in problem


def test_checker_reports_an_installed_version_outside_the_range() -> None:
    [problem] = _problems("import urllib3\n", "urllib3>=99\n")
    assert version("urllib3") in problem and ">=99" in problem


def test_checker_reports_a_floor_below_a_recent_api() -> None:
    scan = scan_source("from urllib3.util import Retry\nRetry(retry_after_max=5)\n", "example.py")
    low = parse_requirements("urllib3>=2.0,<3\n", "requirements.txt")
    [problem] = floor_problems(scan, low, RECENT_APIS)
    assert "example.py:2" in problem and "urllib3>=2.6.3" in problem
    unbounded = parse_requirements("urllib3<3\n", "requirements.txt")
    assert floor_problems(scan, unbounded, RECENT_APIS)
    assert floor_problems(scan, RETRY_REQUIREMENT, RECENT_APIS) == []


def test_an_absent_distribution_is_declared_by_name_and_then_skipped() -> None:
    top = "no_such_dist_for_this_check"
    scan = scan_source(f"import {top}.sub\n", "example.py")
    declared = parse_requirements("no-such-dist-for-this-check-cpu>=1\n", "requirements-x.txt")
    report = check_module(top, scan, declared, "requirements-x.txt", installed_everywhere=False)
    assert report.problems == [] and report.skipped and "not installed" in report.skipped
    report = check_module(top, scan, declared, "requirements-x.txt", installed_everywhere=True)
    assert report.problems and "not installed" in report.problems[0]
    report = check_module(top, scan, [], "requirements-x.txt", installed_everywhere=False)
    assert report.problems and "example.py:1" in report.problems[0]


def test_requirements_respect_markers_and_includes(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("alpha>=1  # the base\n")
    (tmp_path / "all.txt").write_text(
        "-r base.txt\n# a comment\nbeta>=2; python_version < '3'\ngamma>=3\n"
    )
    names = [d.requirement.name for d in read_requirements(tmp_path / "all.txt")]
    assert names == ["alpha", "gamma"]
    every = read_requirements(tmp_path / "all.txt", applicable_only=False)
    assert [d.requirement.name for d in every] == ["alpha", "beta", "gamma"]
    assert every[0].origin == "base.txt"
    with pytest.raises(ValueError, match="not supported"):
        parse_requirements("--index-url https://example.invalid\n", "x.txt")


# ---------------------------------------------------------------------------------------------
# pyproject's extras


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _lines(files: Iterable[str]) -> set[str]:
    return {
        str(d.requirement)
        for name in files
        for d in read_requirements(REPO / name, applicable_only=False)
    }


def test_extras_are_read_from_the_requirements_files() -> None:
    project = _pyproject()
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert {"dependencies", "optional-dependencies"} <= set(project["project"]["dynamic"])
    assert dynamic["dependencies"] == {"file": ["requirements.txt"]}
    extras = {name: spec["file"] for name, spec in dynamic["optional-dependencies"].items()}
    assert {"training", "spark", "dev"} <= set(extras)
    for name in {"requirements.txt", *(f for files in extras.values() for f in files)}:
        text = (REPO / name).read_text(encoding="utf-8")
        options = [line for line in text.splitlines() if line.strip().startswith("-")]
        assert not options, f"{name}: setuptools reads it line by line, so no {options[0]!r}"
    assert _lines(["requirements.txt"]).isdisjoint(_lines(extras["dev"]))
    assert _lines(["requirements.txt", *extras["dev"]]) == _lines(["requirements-dev.txt"]), (
        "requirements-dev.txt must install exactly the package with its dev extra"
    )
    assert set(extras["training"]) | set(extras["spark"]) <= set(extras["dev"])
    assert "pyspark" in {Requirement(line).name for line in _lines(extras["spark"])}
    assert "mlflow" in {Requirement(line).name for line in _lines(extras["training"])}


def test_the_runtime_file_stays_lean() -> None:
    """pip install -r requirements.txt brings none of the training, Spark or test packages."""
    extras = _pyproject()["tool"]["setuptools"]["dynamic"]["optional-dependencies"]
    runtime = {canonicalize_name(Requirement(line).name) for line in _lines(["requirements.txt"])}
    for name, spec in extras.items():
        extra = {canonicalize_name(Requirement(line).name) for line in _lines(spec["file"])}
        assert not runtime & extra, f"extra {name} repeats {sorted(runtime & extra)}"
