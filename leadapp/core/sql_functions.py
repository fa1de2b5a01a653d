"""SQL functions written once for each database we run on (SQLite and PostgreSQL), used in queries like
`func` ones: `utc_month(col(Call.created_at))`. Each renders without bound parameters, so an expression
can be repeated in GROUP BY; any other dialect refuses to compile it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

Render = Callable[..., str]


def dialect_function(
    name: str, result: TypeEngine[Any], *, sqlite: Render, postgresql: Render, doc: str
) -> type[FunctionElement[Any]]:
    """A SQL function `name` returning `result`, rendered by `sqlite` or `postgresql` from its rendered
    arguments (`sqlite("created_at")` → `"strftime('%Y-%m', created_at)"`)."""
    function: type[FunctionElement[Any]] = type(
        name, (FunctionElement,), {"type": result, "name": name, "inherit_cache": True, "__doc__": doc}
    )

    def rendered_by(render: Render) -> Callable[..., str]:
        def compile_(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
            return render(*(compiler.process(clause, **kw) for clause in element.clauses))

        return compile_

    compiles(function, "sqlite")(rendered_by(sqlite))
    compiles(function, "postgresql")(rendered_by(postgresql))

    @compiles(function)
    def _other(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
        raise CompileError(f"{name} is written for SQLite and PostgreSQL, not {compiler.dialect.name}")

    return function
