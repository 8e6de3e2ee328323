"""One way to reach each domain service: `Services.build` makes every one, once, over the
database it is given, and handlers and jobs reach them as `context.services.<name>`.

The rule is checked on the source (ast), so it cannot quietly regress: no handler imports from
`storage`, builds a service, or hands the database to a function (`f(services.db)`).
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services import Services
from storage.database import Database
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = sorted((ROOT / "handlers").glob("*.py"))
# Jobs the composition root runs besides the handlers: they reach services the same way.
JOBS = [ROOT / "bot" / "app.py"]

# Modules another change owns while this rule lands; each entry says what is left there
# (the exact edits are in the shared edits log). Remove an entry once its module complies.
NOT_YET: dict[str, set[str]] = {}


def _service_classes() -> set[str]:
    """The class names of every service Services holds (Settings and the clock aside)."""
    hints = typing.get_type_hints(Services)
    names = set()
    for field in dataclasses.fields(Services):
        kind = hints[field.name]
        if isinstance(kind, type) and kind not in (Settings, Database):
            names.add(kind.__name__)
    return names


SERVICE_CLASSES = _service_classes()


def _constructs_service(name: str) -> bool:
    return name in SERVICE_CLASSES or name.endswith("Service")


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _problems(path: Path) -> set[tuple[str, int, str]]:
    """(what, line, detail) for every way `path` reaches around Services."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "storage" or node.module.startswith("storage."):
                found.add(("storage", node.lineno, node.module))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "storage" or alias.name.startswith("storage."):
                    found.add(("storage", node.lineno, alias.name))
        elif isinstance(node, ast.Call):
            name = _called_name(node)
            if name is not None and _constructs_service(name):
                found.add(("construct", node.lineno, name))
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                if _is_database(argument):
                    found.add(("db", node.lineno, ast.unparse(node.func)))
    return found


def _is_database(argument: ast.expr) -> bool:
    """`services.db`, `self.services.db` or a local `db` handed to a function: a storage (or
    domain free) function called around the services. The database's own interface
    (`db.is_leader()`, as handlers/leadership.py asks) is not that."""
    if isinstance(argument, ast.Attribute):
        return argument.attr == "db"
    return isinstance(argument, ast.Name) and argument.id == "db"


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_service_classes_are_found() -> None:
    """The check below knows what a service is: the classes Services holds."""
    assert {"TeamService", "ProgressService", "Uploads", "GoldService", "RewriteReviews"} <= (
        SERVICE_CLASSES
    )


@pytest.mark.parametrize("path", HANDLERS, ids=_relative)
def test_a_handler_reaches_the_domain_through_services(path: Path) -> None:
    """No storage import, no service built per call, no database handed to a function."""
    allowed = NOT_YET.get(_relative(path), set())
    left = sorted(problem for problem in _problems(path) if problem[0] not in allowed)
    assert left == [], f"{_relative(path)} reaches around context.services: {left}"


@pytest.mark.parametrize("path", JOBS, ids=_relative)
def test_the_jobs_of_the_composition_root_build_no_service(path: Path) -> None:
    """The composition root uses the services it built (its own `services.db` is its to use:
    it opens, closes and backs up the database)."""
    allowed = NOT_YET.get(_relative(path), set())
    left = sorted(p for p in _problems(path) if p[0] == "construct" and p[0] not in allowed)
    assert left == [], f"{_relative(path)} builds services of its own: {left}"


def test_the_allow_list_names_only_what_is_still_there() -> None:
    """An entry is dropped once its module complies, so the list only shrinks."""
    for name, kinds in NOT_YET.items():
        present = {problem[0] for problem in _problems(ROOT / name)}
        assert kinds <= present, f"{name} no longer needs {kinds - present}: drop it from NOT_YET"


async def test_every_service_is_built_once_over_the_given_database(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    """Whichever backend: each service is over that database, and services that need another
    get the very one Services holds (no second Onboarding or ReviewService)."""
    services = Services.build(settings, db, clock)
    for field in dataclasses.fields(Services):
        service = getattr(services, field.name)
        if hasattr(service, "db"):
            assert service.db is db, field.name
    assert services.team.onboarding is services.onboarding
    assert services.corrections.review is services.review
    kinds = [type(getattr(services, f.name)) for f in dataclasses.fields(Services)]
    built = [kind for kind in kinds if kind.__name__ in SERVICE_CLASSES]
    assert len(built) == len(set(built)), "a service class is built twice"
