"""The enrichment page: an SQL box over the written tables, the result, and sentiment by topic
over time."""

from __future__ import annotations

import io
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gazer.apps.enrichment.query import run_query, tables
from gazer.errors import NotFound
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.protocol import JsonInt
from gazer.storage.resolve import storage_from_settings
from gazer.ui.pages import templates

DEFAULT_SQL = ("SELECT topic, count(*) AS messages, round(avg(sentiment_pos), 3) AS pos, "
               "round(avg(sentiment_neg), 3) AS neg\nFROM enrichment.social_listening\n"
               "GROUP BY 1 ORDER BY 2 DESC")


class QueryRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    sql: str = Field(min_length=1, max_length=20_000, examples=[DEFAULT_SQL])
    limit: JsonInt = Field(default=1000, ge=1, le=10_000)


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


def sentiment_figure(frame: Any, table: str) -> Any:
    """Mean sentiment per topic on a time axis: days as dates, each line in date order (as
    text the days were categories, placed in the order they first appeared)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(8, 3.8))
    days = pd.to_datetime(frame["day"], errors="coerce")
    for topic, part in frame.assign(day=days).dropna(subset=["day"]).groupby("topic"):
        part = part.sort_values("day")
        ax.plot(part["day"], part["sentiment"], marker="o", label=str(topic))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("mean sentiment (VADER compound)")
    ax.set_title(f"sentiment by topic over time: {table}")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def sentiment_chart(sandbox: Any, storage: Any, table: str) -> bytes:
    """A PNG: mean VADER compound per topic per day."""
    import matplotlib.pyplot as plt

    known = tables(storage)
    if table not in known:
        raise NotFound(f"no enrichment table {table!r}; tables: {', '.join(known) or 'none'}")
    sql = ("SELECT topic, CAST(date AS VARCHAR) AS day, avg(sentiment_compound) AS sentiment, "  # nosec B608 # table checked above
           f'count(*) AS n FROM enrichment."{table}" GROUP BY 1, 2 ORDER BY 2')
    fig = sentiment_figure(run_query(sandbox, storage, sql).frame, table)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def mount(app: FastAPI) -> None:
    """``POST /api/enrichment/query``, the chart, and ``/apps/enrichment`` (once per app)."""
    if getattr(app.state, "enrichment_mounted", False):
        return
    app.state.enrichment_mounted = True

    def storage(request: Request) -> Any:
        return storage_from_settings(request.app.state.gazer.settings)

    @app.post("/api/enrichment/query", response_model=QueryResponse, tags=["enrichment"],
              dependencies=[require("query")], responses=errors(404, 503))
    def query(body: QueryRequest, request: Request) -> QueryResponse:
        """Run SQL (DuckDB) over the ``enrichment.*`` tables the workflows wrote."""
        result = run_query(request.app.state.gazer.sql, storage(request), body.sql, body.limit)
        frame = result.frame
        rows = frame.astype(object).where(frame.notna(), None).values.tolist()
        return QueryResponse(columns=[str(c) for c in frame.columns],
                           rows=[[v if isinstance(v, int | float | str | bool) or v is None
                                  else str(v) for v in row] for row in rows],
                           truncated=result.truncated)

    @app.get("/api/enrichment/sentiment.png", tags=["enrichment"],
             dependencies=[require("query")], responses={**errors(404, 503), 200: {
                 "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                 "description": "A PNG chart"}},
             response_class=Response)
    def chart(request: Request, table: str = Query("social_listening", pattern=r"^\w+$")
              ) -> Response:
        """Mean sentiment per topic per day, as a PNG."""
        return Response(sentiment_chart(request.app.state.gazer.sql, storage(request), table),
                        media_type="image/png")

    @app.get("/apps/enrichment", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        return templates.TemplateResponse(request, "enrichment.html", {
            "tables": tables(storage(request)), "sql": DEFAULT_SQL})
