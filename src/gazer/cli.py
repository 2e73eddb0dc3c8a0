"""The ``gazer`` command.

Each command builds one ``Services`` (``gazer.services``) and calls it; imports stay
inside the commands so ``gazer --help`` answers without loading MLflow, FastAPI or torch.

Every ``GazerError`` becomes one line on stderr naming what was expected and what was
got, with a non-zero exit code; ``--debug`` (or ``GAZER_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gazer.apps.papers import commands as papers_commands
from gazer.errors import GazerError, InvalidParam
from gazer.settings import Settings, get_settings

app = typer.Typer(
    help="gazer: pipelines, tracked runs, a model registry and serving, on one laptop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
runs_app = typer.Typer(help="Inspect pipeline runs.", no_args_is_help=True)
models_app = typer.Typer(help="Registered models: versions, aliases, promotion.",
                         no_args_is_help=True)
db_app = typer.Typer(help="gazer's database: its schema version and migrations.",
                     no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
predictions_app = typer.Typer(help="The prediction log: what every endpoint answered.",
                              no_args_is_help=True)
monitor_app = typer.Typer(help="Quality per version, A/B readouts and drift, from the "
                               "prediction log and feedback.", no_args_is_help=True)
app.add_typer(predictions_app, name="predictions")
app.add_typer(monitor_app, name="monitor")
feedback_app = typer.Typer(help="Feedback users gave on answers.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
data_app = typer.Typer(help="Dataset versions runs read: list them, get one back.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(papers_commands.app, name="papers")


@data_app.command("versions")
def data_versions(
    name: Annotated[str | None, typer.Argument(help="A dataset name (default: list names).")]
    = None,
) -> None:
    """Every version of a dataset with the runs that read it and the models they made."""
    from gazer.core.datasets import names, produced, versions

    with _services() as services:
        if name is None:
            for found in names(services.db):
                echo(found)
            return
        found_versions = versions(services.db, name)
        if not found_versions:
            raise typer.BadParameter(f"no dataset named {name!r} was read by a run; known: "
                                     f"{', '.join(names(services.db)) or 'none'}")
        made = produced(services.registry, {r["run_id"] for v in found_versions
                                            for r in v.runs})
    table = Table("version (sha256)", "first seen (UTC)", "rows", "kept", "runs", "models")
    for v in found_versions:
        runs = sorted({r["run_id"] for r in v.runs})
        table.add_row(v.digest[:16], dt.datetime.fromtimestamp(v.first_seen, dt.UTC)
                      .strftime("%Y-%m-%d %H:%M"), str(v.rows) if v.rows is not None else "-",
                      "yes" if v.key else "no (source: " + v.source[:60] + ")",
                      ", ".join(r[:8] for r in runs),
                      ", ".join(m for r in runs for m in made.get(r, [])) or "-")
    out.print(table)


@data_app.command("checkout")
def data_checkout(
    version: Annotated[str, typer.Argument(help="A version's digest (6+ characters).")],
    folder: Annotated[Path, typer.Argument(help="Where to restore it.")],
) -> None:
    """Restore a dataset version's content, as the run read it."""
    from gazer.core.datasets import checkout

    with _services() as services:
        target = checkout(services.db, services.storage, version, folder)
    echo(f"restored {target}")


policies_app = typer.Typer(help="Retraining policies: when to retrain an app's model and "
                                "what to do with the result.", no_args_is_help=True)
app.add_typer(policies_app, name="policies")


@policies_app.command("list")
def policies_list() -> None:
    """Every policy, from the apps' own files and yours (later files win)."""
    from gazer.triggers.policies import load_policies, policy_files

    settings = _settings()
    files = policy_files(settings)
    table = Table("policy", "app", "endpoint", "triggers", "action", "limits")
    for p in load_policies(files).values():
        table.add_row(p.name, p.app, p.endpoint,
                      ", ".join(t.kind for t in p.triggers),
                      f"canary {p.action.canary_weight}"
                      + (f", feedback {p.action.feedback_window}" if p.action.feedback_param
                         else ""),
                      f"one per {p.limits.min_interval}" + (", dry run" if p.limits.dry_run
                                                            else ""))
    out.print(table)
    echo("from: " + ", ".join(str(f) for f in files if f.is_file()))


@policies_app.command("tick")
def policies_tick(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide, record, act on nothing.")]
    = False,
) -> None:
    """Evaluate every policy once now (gazer watch does this on its own) and act."""
    from gazer.triggers.policies import engine_for

    with _services() as services:
        for d in engine_for(services).tick(dry_run=True if dry_run else None):
            echo(f"{d.policy}: {d.kind}: {d.reason}")


@monitor_app.command("decisions")
def monitor_decisions(
    policy: Annotated[str | None, typer.Argument(help="One policy (default: all).")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="How many, newest first.")] = 20,
) -> None:
    """What the retraining policies decided, fired or not, and why."""
    from gazer.triggers.policies import decisions

    with _services() as services:
        rows = decisions(services.db, policy, n)
    table = Table("at (UTC)", "policy", "decision", "version", "why")
    for d in rows:
        table.add_row(dt.datetime.fromtimestamp(d["at"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                      d["policy"], d["kind"], f"v{d['version']}" if d["version"] else "-",
                      d["reason"])
    out.print(table)


@feedback_app.command("export")
def feedback_export(
    spec: Annotated[str, typer.Argument(help="ENDPOINT@7d, ENDPOINT@12h, ENDPOINT@2026-11-01 "
                                             "or ENDPOINT (all of it).")],
) -> None:
    """Write the labelled answers of SPEC as a versioned dataset (for --param feedback=SPEC)."""
    from gazer.monitoring.datasets import feedback_dataset

    with _services() as services:
        data = feedback_dataset(services.db, services.storage, spec)
        where = services.storage.url(data.key) if len(data) else "nothing written"
    echo(f"{len(data)} labelled answers, version {data.version} → {where}")
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def _settings() -> Settings:
    return get_settings()


def _services(settings: Settings | None = None) -> Any:
    from gazer.services import Services

    return Services(settings or _settings())


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["train.C=0.5"]`` → ``{"train.C": 0.5}``; values are JSON when they parse as JSON."""
    params: dict[str, Any] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise InvalidParam(f"--param must look like STEP.PARAM=VALUE (e.g. train.C=0.5) or "
                               f"PARAM=VALUE when one step has it; got {item!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def echo(line: str) -> None:
    """Print a progress line as plain text (no markup, no highlighting)."""
    out.print(line, highlight=False, markup=False)


def configure_server_logs() -> None:
    """JSON access lines (``gazer.access``) and serving events to stderr."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("gazer.access", "gazer.serving"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", envvar="GAZER_ENV_FILE",
        help="A settings file (KEY=VALUE lines, e.g. the one `gazer cluster up` writes); "
             "variables already set win.")] = None,
) -> None:
    """gazer: pipelines, tracked runs, a model registry and serving, on one laptop."""
    if env_file is not None:
        load_env_file(env_file)


def load_env_file(path: Path) -> None:
    """Put a dotenv file's variables into this process's environment (and so its
    children's: serving replicas, Ray workers, batch workers); set variables win."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise typer.BadParameter(f"--env-file: no file at {path}")
    for key, value in dotenv_values(path).items():
        if value is not None:
            os.environ.setdefault(key, value)
    os.environ["GAZER_ENV_FILE"] = str(path.resolve())


@app.command("run")
def run_cmd(
    pipeline: Annotated[str, typer.Argument(
        help="App name (see `gazer pipelines`) or module:attr.")],
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="STEP.PARAM=VALUE; repeat for more.")] = None,
    executor: Annotated[str | None, typer.Option(help="local (threads) or ray.")] = None,
    resume: Annotated[str | None, typer.Option(
        help="Re-run only the failed and downstream steps of this run.")] = None,
) -> None:
    """Run a pipeline; unchanged steps are cache hits."""
    from gazer.errors import RunFailed

    params = parse_params(param or [])
    with _services() as services:
        try:
            record = services.run_pipeline(pipeline, params, resume=resume, executor=executor,
                                           echo=echo)
        except RunFailed as failed:
            out.print(f"details: gazer runs show {failed.run.id}; resume with "
                      f"`gazer run {pipeline} --resume {failed.run.id}`", highlight=False)
            raise typer.Exit(1) from None
    out.print(f"details: gazer runs show {record.id}")


@app.command("pipelines")
def pipelines_cmd() -> None:
    """List the registered pipelines with their steps, in the DAG's shape: steps that run
    side by side are joined by ‖, and each step's inputs are named where they do not come
    from the rank just before it."""
    from gazer.catalog import list_apps

    table = Table("name", "steps (→ next rank, ‖ side by side)", "description")
    for a in list_apps():
        table.add_row(a.name, dag_shape(a.build()), a.description)
    out.print(table, markup=False)


def dag_shape(pipeline: Any) -> str:
    """``load → split → train_a ‖ train_b → evaluate_a ‖ evaluate_b (← train_a) ...``: the
    ranks of the DAG, and for a step in a rank of several, the steps it reads from."""
    levels = pipeline.levels()
    parts = []
    for i, level in enumerate(levels):
        names = []
        for name in level:
            upstream = sorted(pipeline.upstream(name))
            show = len(level) > 1 and i > 0 and set(upstream) != set(levels[i - 1])
            names.append(f"{name} (← {', '.join(upstream)})" if show and upstream else name)
        parts.append(" ‖ ".join(names))
    return " → ".join(parts)


@runs_app.command("list")
def runs_list(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """Recent runs, newest first."""
    store = _services().runs
    store.reap_interrupted()
    table = Table("run", "pipeline", "status", "started", "duration", "steps", "cache hits")
    for r in store.list_runs(pipeline, limit):
        took = f"{r.finished_at - r.created_at:.1f}s" if r.finished_at else "-"
        table.add_row(r.id, r.pipeline, r.status, _when(r.created_at), took,
                      str(len(r.steps)), str(r.cache_hits))
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `gazer runs list`.")],
) -> None:
    """One run: its steps, status, durations, cache hits, artifacts and log files."""
    store = _services().runs
    store.reap_interrupted()
    r = store.get_run(run_id)
    out.print(f"[bold]run {r.id}[/] pipeline={r.pipeline} status={r.status} "
              f"executor={r.executor} started={_when(r.created_at)} resumes={r.resumes}")
    if r.tracking_run_id:
        out.print(f"mlflow run: {r.tracking_run_id}")
    if r.error:
        out.print(f"[red]error:[/] {r.error}")
    table = Table("step", "status", "cached", "attempts", "duration", "outputs", "log")
    order = {s.name: i for i, s in enumerate(sorted(r.steps, key=lambda s: s.started_at or 0))}
    for s in sorted(r.steps, key=lambda s: order[s.name]):
        took = f"{s.duration_s:.2f}s" if s.duration_s is not None else "-"
        outputs = "\n".join(f"{k}: {v['uri']} ({v['kind']}, {v['size']} B)"
                            for k, v in s.outputs.items())
        table.add_row(s.name, s.status, "yes" if s.cached else "", str(s.attempts), took,
                      outputs, s.log_path or "")
    out.print(table)
    params = ", ".join(f"{k}={v!r}" for k, v in r.params.items())
    out.print(f"params: {params}", highlight=False)
    for s in r.steps:
        if s.traceback:
            out.print(f"[red]{s.name} traceback (last lines):[/]")
            out.print("\n".join(s.traceback.strip().splitlines()[-6:]), highlight=False)


def _registry() -> Any:
    from gazer.registry.resolve import registry_from_settings

    return registry_from_settings(_settings())


@models_app.command("list")
def models_list() -> None:
    """Registered models with their champion and challenger."""
    reg = _registry()
    table = Table("model", "versions", "champion", "challenger")
    for name in reg.list_models():
        versions = reg.list_versions(name)
        champ, chall = reg.find_alias(name, "champion"), reg.find_alias(name, "challenger")
        table.add_row(name, str(len(versions)), f"v{champ.version}" if champ else "-",
                      f"v{chall.version}" if chall else "-")
    out.print(table)


@models_app.command("show")
def models_show(name: str) -> None:
    """Every version of a model: aliases, metrics, gate result and lineage."""
    from gazer.registry.promotion import champion_history

    reg = _registry()
    table = Table("version", "aliases", "metrics", "gate", "run", "dataset")
    for v in reg.list_versions(name):
        metrics = ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items()))
        table.add_row(f"v{v.version}", ",".join(v.aliases), metrics, v.tags.get("gazer.gate", ""),
                      v.tags.get("gazer.run_id", ""), v.tags.get("gazer.dataset", "")[:12])
    out.print(table)
    for h in champion_history(reg, name)[-5:]:
        out.print(f"  {_when(float(h['at']))}  champion → v{h['version']} ({h['reason']})",  # type: ignore[arg-type]
                  highlight=False)


@models_app.command("register")
def models_register(
    name: str,
    path: Annotated[Path, typer.Argument(help="An MLflow model directory, a .skops file, or "
                                         "a .joblib/.pkl file (with --trust-pickle).")],
    metric: Annotated[list[str] | None, typer.Option(
        help="A metric measured where it was trained: KEY=VALUE (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag: KEY=VALUE (repeatable).")] = None,
    origin: Annotated[str | None, typer.Option(
        help="Where it was trained, e.g. 'gpu-box-3, notebook train.ipynb' (default: "
             "this host).")] = None,
    trust_pickle: Annotated[bool, typer.Option(
        "--trust-pickle", help="Load a pickle (it runs its code): only files you made.")
    ] = False,
    trust: Annotated[list[str] | None, typer.Option(
        help="A type skops may load beyond its trusted set (repeatable).")] = None,
    promote_it: Annotated[bool, typer.Option(
        "--promote", help="Make it the champion (recorded in the promotion history).")
    ] = False,
) -> None:
    """Register a model trained elsewhere as a new version of NAME, with its lineage."""
    from gazer.registry.external import register_external
    from gazer.registry.promotion import promote

    metrics = _pairs(metric or [], "--metric")
    bad = [f"{k}={v}" for k, v in metrics.items() if not _is_number(v)]
    if bad:
        raise InvalidParam(f"--metric takes KEY=NUMBER; got {', '.join(bad)}")
    reg = _registry()
    version = register_external(reg, name, path, metrics={k: float(v) for k, v in
                                                          metrics.items()},
                                tags=_pairs(tag or [], "--tag"), origin=origin,
                                trust_pickle=trust_pickle, trusted=trust or [])
    out.print(f"{name}: registered v{version.version} from {version.tags['gazer.origin']} "
              f"({version.tags['gazer.source_format']}, sha256 "
              f"{version.tags['gazer.source_sha256'][:12]})", highlight=False)
    if promote_it:
        promote(reg, name, version.version, reason=f"registered from {path}")
        out.print(f"{name}: champion → v{version.version}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidParam(f"{option} takes KEY=VALUE; got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


@models_app.command("promote")
def models_promote(name: str, version: int) -> None:
    """Point the champion alias at VERSION."""
    from gazer.registry.promotion import promote

    v = promote(_registry(), name, version, reason="manual promote")
    out.print(f"{name}: champion → v{v.version}")


@models_app.command("rollback")
def models_rollback(name: str) -> None:
    """Point the champion alias back at the previous champion."""
    from gazer.registry.promotion import rollback

    v = rollback(_registry(), name)
    out.print(f"{name}: champion rolled back → v{v.version}")


@db_app.command("status")
def db_status() -> None:
    """The database's URL, the migration it is at, and the newest this release knows."""
    from gazer.db import Database, head_revision, safe_url

    db = Database(_settings().runs_url, migrate=False)
    try:
        current = db.revision()
    finally:
        db.close()
    head = head_revision()
    state = "up to date" if current == head else "upgrades on the next open or `gazer db upgrade`"
    echo(f"{safe_url(db.url)}: at {current or 'no migration (made before migrations)'}, "
         f"newest {head}: {state}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest migration now (every command also does on open)."""
    from gazer.db import Database, safe_url

    db = Database(_settings().runs_url)
    try:
        echo(f"{safe_url(db.url)}: at {db.revision()}")
    finally:
        db.close()


def _since(value: str | None, default_days: float) -> float:
    """``2026-11-01``, ``2026-11-01T12:00``, ``7d`` or ``12h`` → a timestamp."""
    import time

    from gazer.errors import InvalidInput
    from gazer.monitoring.datasets import parse_since

    if not value:
        return time.time() - default_days * 86400
    try:
        return parse_since(value)
    except InvalidInput:
        raise InvalidParam(f"--since must be a date (2026-11-01), a time (2026-11-01T12:00) "
                           f"or an age (7d, 12h); got {value!r}") from None


@predictions_app.command("tail")
def predictions_tail(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, e.g. characters.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many, newest last.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new ones.")
                      ] = False,
) -> None:
    """The newest logged answers of ENDPOINT: time, version, role, status, latency, answer."""
    import time

    from gazer.monitoring.predictions import recent

    last = 0
    with _services() as services:
        while True:
            for r in [r for r in reversed(recent(services.db, endpoint, n)) if r["id"] > last]:
                answer = r["answer"] or (r["output"] or "")[:60]
                echo(f"{_when(r['at'])}  v{r['version']} {r['role']:<10} {r['status']}  "
                     f"{r['latency_ms']:7.2f} ms  {r['request_id']}  {answer}")
                last = max(last, r["id"])
            if not follow:
                return
            time.sleep(1.0)


@predictions_app.command("export")
def predictions_export(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, e.g. characters.")],
    since: Annotated[str | None, typer.Option(help="A date, a time, or an age (7d, 12h); "
                                                   "default 7d.")] = None,
) -> None:
    """Write ENDPOINT's log as Parquet by day (with feedback) for `gazer query`."""
    from gazer.monitoring.export import export_predictions

    with _services() as services:
        done = export_predictions(services.db, services.storage, endpoint, _since(since, 7))
    example = "gazer query 'SELECT version, count(*) FROM monitoring.predictions GROUP BY 1'"
    echo(f"{done.rows} predictions over {len(done.days)} day(s) → {done.url}; query them: "
         f"{example}")  # nosec B608 # a hint printed for the user, not a query gazer runs


def _endpoint_config(name: str) -> Any:
    from gazer.settings import EndpointSettings

    configured = {e.name: e for e in _settings().serving.endpoints or []}
    return configured.get(name) or EndpointSettings(name=name)


@monitor_app.command("quality")
def monitor_quality(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, e.g. characters.")],
    days: Annotated[float, typer.Option(min=0.01, help="The window, in days back.")] = 7.0,
) -> None:
    """Per version: answers, errors, latency, labelled accuracy and rating with intervals."""
    from gazer.monitoring.readout import quality

    with _services() as services:
        report = quality(services.db, endpoint, days=days)
    table = Table("version", "role", "answers", "errors", "p50 ms", "p99 ms", "accuracy (95%)",
                  "labels", "estimate (no labels)", "rating (95%)", "ratings")
    for v in report["versions"]:
        estimate = v.get("estimate")
        table.add_row(f"v{v['version']}", v["role"], str(v["predictions"]), str(v["errors"]),
                      _num(v["latency_p50_ms"]), _num(v["latency_p99_ms"]),
                      _interval(v["accuracy"]), str(v["accuracy"]["n"]),
                      _num(estimate["value"]) if estimate else "-",
                      _interval(v["rating"]), str(v["rating"]["n"]))
    out.print(table)


@monitor_app.command("ab")
def monitor_ab(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, e.g. characters.")],
    days: Annotated[float, typer.Option(min=0.01, help="The window, in days back.")] = 7.0,
) -> None:
    """Champion against challenger: the sequential verdict, intervals, split and agreement."""
    from gazer.monitoring.readout import ab_readout

    config = _endpoint_config(endpoint)
    with _services() as services:
        registry = services.registry
        champion = registry.find_alias(config.model_name, "champion")
        challenger = registry.find_alias(config.model_name, "challenger")
        policy = config.policy if config.policy != "champion" else _logged_policy(
            services, endpoint)
        readout = ab_readout(services.db, endpoint, champion.version if champion else None,
                             challenger.version if challenger else None, policy,
                             config.canary_weight, days=days)
    if not readout["active"]:
        echo(f"{endpoint}: {readout['detail']}")
        return
    table = Table("", "version", "answers", "error rate", "p50 ms", "p99 ms",
                  f"{readout['outcome']} (95%)", "labels")
    for side in ("champion", "challenger"):
        v = readout[side]
        table.add_row(side, f"v{v['version']}", str(v["predictions"]), _num(v["error_rate"]),
                      _num(v["latency_p50_ms"]), _num(v["latency_p99_ms"]),
                      _interval(v["accuracy"]), str(v["accuracy"]["n"]))
    out.print(table)
    verdict = readout["verdict"]
    line = f"verdict ({readout['policy']}): challenger {verdict['decision']}"
    if verdict["difference"] is not None:
        line += (f", difference {verdict['difference']:+.3f} "
                 f"[{verdict['low']:+.3f}, {verdict['high']:+.3f}] over {verdict['pairs']} pairs")
    if verdict.get("labels_needed"):
        line += f"; about {verdict['labels_needed']} more labels at this difference"
    echo(line)
    if "agreement" in readout:
        echo(f"agreement on the same inputs: {_interval(readout['agreement'])} "
             f"over {readout['agreement']['n']}")
    if "sample_ratio" in readout:
        srm = readout["sample_ratio"]
        echo(f"split: challenger {_num(srm['observed_share'])} of {srm['n']} (configured "
             f"{srm['expected_share']}): " + ("MISMATCH, no verdict" if srm["mismatch"]
                                              else "as configured"))


@monitor_app.command("drift")
def monitor_drift(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, e.g. characters.")],
    window: Annotated[str, typer.Option(
        help="1h, 7d, a date (UTC), or N for the last N answers.")] = "1h",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report.")] = False,
) -> None:
    """The recent window against the serving version's reference profile: a test per
    feature, corrected across features, and one verdict. Exits 3 on drift."""
    from gazer.monitoring.drift import drift_report

    config = _endpoint_config(endpoint)
    with _services() as services:
        report = drift_report(services.db, services.storage, services.registry, endpoint,
                              config.model_name, window)
    if as_json:
        echo(json.dumps(report, indent=2, default=float))
    else:
        table = Table("feature", "test", "effect", "p (Holm)", "window", "drift")
        for f in report["features"]:
            table.add_row(f["name"], f["test"], f"{f['effect']:.3f}",
                          f"{f['adjusted_p']:.2g}", str(f["n_window"]),
                          "DRIFT" if f["drifted"] else "")
        out.print(table)
        echo(f"{endpoint} ({report['model']} v{report['version']}), {report['n_window']} "
             f"answers: {report['detail']}")
    if report["drifted"]:
        raise typer.Exit(3)


def _logged_policy(services: Any, endpoint: str) -> str:
    from sqlalchemy import text

    with services.db.engine.connect() as conn:
        roles = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT role FROM gazer_prediction_minutes WHERE endpoint = :e"),
            {"e": endpoint})}
    return "shadow" if "shadow" in roles else "canary" if "challenger" in roles else "champion"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _interval(i: dict[str, Any]) -> str:
    if i.get("value") is None:
        return "-"
    if i.get("low") is None:
        return f"{i['value']:.3f}"
    return f"{i['value']:.3f} [{i['low']:.3f}, {i['high']:.3f}]"


@app.command("serve")
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    allow_anonymous: Annotated[bool, typer.Option(
        "--allow-anonymous", help="Serve on a non-loopback address with no API keys.")] = False,
) -> None:
    """Serve every registered model, the APIs and the web UI."""
    from gazer.serving.app import serve

    settings = _settings()
    if allow_anonymous:
        settings.serving.allow_anonymous = True
    configure_server_logs()
    with _services(settings) as services:
        serve(services, host, port, echo=echo)


batch_app = typer.Typer(help="Batch inference over files: chunked and resumable.",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch")


@batch_app.command("run")
def batch_run(
    model: Annotated[str, typer.Option(
        help="NAME@ALIAS or NAME@VERSION, e.g. summarizer@champion")],
    input: Annotated[str, typer.Option("--input", help="A .csv/.jsonl/.parquet: a key in gazer's "
                                       "storage, s3://bucket/key, or a local path.")],
    output: Annotated[str, typer.Option(help="Output folder: a storage key, s3:// or a path.")],
    column: Annotated[str, typer.Option(help="The input column the model reads.")] = "text",
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.")] = 500,
    workers: Annotated[int, typer.Option(help="Worker processes (or Ray actors).")] = 2,
    executor: Annotated[str, typer.Option(
        help="local (processes), ray (actors fed by this process) or ray-data (Ray Data "
             "actors that read and write the storage themselves).")] = "local",
    keep: Annotated[str, typer.Option(help="Input columns to copy into the output beside "
                                      "row_id, comma-separated (e.g. id,lang), so results "
                                      "join back to their input.")] = "",
) -> None:
    """Run a registered model over a file; kill it and run it again to resume."""
    from gazer.batch.locate import locate

    kept = tuple(c.strip() for c in keep.split(",") if c.strip())
    with _services() as services:
        result = services.start_batch(model, input, output, column=column,
                                      chunk_rows=chunk_rows, keep=kept, workers=workers,
                                      executor=executor, echo=echo)
        target, prefix = locate(output, services.settings, services.storage)
    echo(f"{result.rows} rows: {result.predicted} predicted, {result.errors} errors "
         f"({result.chunks} chunks, {result.skipped_chunks} reused) in {result.seconds:.1f}s "
         f"→ {target.url(prefix)}/predictions.parquet")


@app.command("watch")
def watch_cmd(
    config: Annotated[str, typer.Option(help="YAML/JSON file with 'bindings:' (see docs).")],
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Scan once and exit.")] = False,
) -> None:
    """Watch storage prefixes and fire schedules; each starts a batch job or a pipeline."""
    from gazer.triggers.actions import make_action, start_scheduled
    from gazer.triggers.ledger import WatchLedger
    from gazer.triggers.loop import watch_forever
    from gazer.triggers.schedule import Scheduler, load_schedules
    from gazer.triggers.watcher import StorageWatcher, load_bindings, read_config

    bindings = load_bindings(config)
    schedules = load_schedules(read_config(config).get("schedules"))
    services = _services()
    ledger = WatchLedger(services.db)
    watcher = StorageWatcher(services.storage, bindings, ledger,
                             make_action(services, echo), echo)
    scheduler = Scheduler(schedules, ledger, lambda s: start_scheduled(services, s, echo))
    echo(f"watching {', '.join(b.prefix for b in bindings) or 'no prefixes'} in "
         f"{services.storage.uri}; {len(schedules)} schedule(s)")
    try:
        if once:
            handled = watcher.scan_once() + scheduler.fire_due()
            echo(f"{len(handled)} object(s) or schedule(s) handled")
            return
        drift = _drift_schedule(services)
        from gazer.triggers.policies import PolicyClock, engine_for

        policies = PolicyClock(engine_for(services), services.settings.runs.policy_interval_s,
                               echo)
        try:
            watch_forever(lambda: watcher.scan_once() + scheduler.fire_due()
                          + [d for d in policies() if d.fired], interval, echo)
        finally:
            if drift is not None:
                drift.stop()
    finally:
        services.close()


def _drift_schedule(services: Any) -> Any:
    """The drift checks ``gazer watch`` runs beside its triggers, as ``gazer serve`` does."""
    from gazer.monitoring.drift import DriftSchedule, check_all
    from gazer.serving.app import default_endpoints

    serving = services.settings.serving
    if serving.drift_interval_s <= 0:
        return None
    endpoints = {e.name: e.model_name for e in serving.endpoints or default_endpoints()}
    return DriftSchedule(lambda: check_all(services.db, services.storage, services.registry,
                                           endpoints, serving.drift_window),
                         serving.drift_interval_s).start()


@app.command("query")
def query_cmd(
    sql: Annotated[str, typer.Argument(
        help="SQL over enrichment.<table> and monitoring.predictions views (DuckDB).")],
    output: Annotated[str, typer.Option(
        "--format", help="table, csv or json.")] = "table",
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 1000,
) -> None:
    """Query what the enrichment workflows and `gazer predictions export` wrote."""
    from gazer.apps.enrichment.query import run_query
    from gazer.monitoring.export import query_tables
    from gazer.sql import QuerySandbox
    from gazer.storage.resolve import storage_from_settings

    if output not in ("table", "csv", "json"):
        raise InvalidParam(f"--format must be table, csv or json; got {output!r}")
    settings = _settings()
    storage = storage_from_settings(settings)
    with QuerySandbox(settings) as sandbox:
        result = run_query(sandbox, storage, sql, limit, extra=query_tables(storage))
    frame = result.frame
    if output == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif output == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", force_ascii=False)
                         + "\n")
    else:
        table = Table(*[str(c) for c in frame.columns])
        for row in frame.astype(str).itertuples(index=False):
            table.add_row(*row)
        Console(soft_wrap=True).print(table)
        echo(f"{len(frame)} row(s)")
    if result.truncated:
        Console(stderr=True).print(f"truncated: only the first {len(frame)} rows are shown "
                                   f"(--limit, at most GAZER_QUERY__MAX_ROWS)", highlight=False)


cluster_app = typer.Typer(help="A scale-out stack on this machine: PostgreSQL, S3, an MLflow "
                          "server, a Ray cluster, serving replicas and HAProxy.",
                          no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")
ClusterFile = Annotated[Path, typer.Argument(help="The cluster's YAML file (docs/scale-out.md).")]


def _cluster(path: Path) -> Any:
    from gazer.cluster import Cluster, load_spec

    return Cluster(load_spec(path), echo=echo)


@cluster_app.command("up")
def cluster_up(path: ClusterFile) -> None:
    """Start every part that is not running yet, in order, and wait until each answers."""
    cluster = _cluster(path)
    cluster.up()
    keys = cluster.spec.dir / "keys.json"
    echo(f"up: gazer at http://{cluster.spec.haproxy_address}:{cluster.spec.ports.haproxy} "
         f"(API keys in {keys}); settings for every gazer command: "
         f"gazer --env-file {cluster.env_file} ...")


@cluster_app.command("down")
def cluster_down(path: ClusterFile) -> None:
    """Stop every process and remove the namespaces; the data stays for the next `up`."""
    stopped = _cluster(path).down()
    echo(f"down: {len(stopped)} processes stopped")


@cluster_app.command("status")
def cluster_status(path: ClusterFile) -> None:
    """Each process: running, answering, its address and network; exit 1 if one is not."""
    rows = _cluster(path).status()
    if not rows:
        echo("no cluster is running from this file (gazer cluster up FILE)")
        raise typer.Exit(1)
    table = Table("name", "pid", "running", "answering", "models ready", "HAProxy",
                  "address", "netns", "network")
    for r in rows:
        table.add_row(r["name"], str(r["pid"]), _yes(r["running"]), _yes(r["answering"]),
                      "-" if r["ready"] is None else _yes(r["ready"]), r["balancer"] or "-",
                      r["address"], r["netns"] or "-", r["network"])
    out.print(table, markup=False)
    if not all(r["running"] and r["answering"] for r in rows):
        raise typer.Exit(1)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


@cluster_app.command("env")
def cluster_env_cmd(path: ClusterFile) -> None:
    """Print the cluster's settings as `export` lines (eval "$(gazer cluster env FILE)")."""
    from gazer.cluster import export_lines

    cluster = _cluster(path)
    if not cluster.env_file.exists():
        raise InvalidParam(f"no cluster has been started from {path}: gazer cluster up {path}")
    from dotenv import dotenv_values

    env = {k: v for k, v in dotenv_values(cluster.env_file).items() if v is not None}
    typer.echo("\n".join(export_lines(env)))


@cluster_app.command("cut")
def cluster_cut(path: ClusterFile, host: Annotated[str, typer.Argument(
        help="A replica or Ray worker with its own namespace, e.g. serve-1.")]) -> None:
    """Take a host off the network (its link down), as a machine failure would."""
    _cluster(path).set_link(host, up=False)
    echo(f"{host}: network cut")


@cluster_app.command("restore")
def cluster_restore(path: ClusterFile, host: Annotated[str, typer.Argument(
        help="A host cut with `gazer cluster cut`.")]) -> None:
    """Put a cut host back on the network."""
    _cluster(path).set_link(host, up=True)
    echo(f"{host}: network restored")


@app.command("demo")
def demo_cmd(
    check: Annotated[bool, typer.Option(
        "--check", help="Exit once every app is trained and answering (for CI).")] = False,
) -> None:
    """Serve every app now and train the ones without a champion in the background, one at
    a time (the pages show the progress; each app goes live when its champion lands)."""
    from gazer.demo import run_demo

    ok = run_demo(_settings(), echo=echo, check=check)
    if not ok:
        raise typer.Exit(1)


def _click_exceptions(name: str) -> tuple[type[Any], ...]:
    """Every class called ``name`` that typer may raise: from its vendored click
    (``typer._click``, typer ≥ 0.2x), from click itself (older typer) and from typer."""
    import importlib

    found: list[type[Any]] = []
    for module in ("typer._click.exceptions", "click.exceptions", "typer.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


def _closest(word: str, candidates: list[str]) -> str:
    """``"; did you mean 'list'?"`` for the closest candidate, or ``""`` when none is close."""
    import difflib

    match = difflib.get_close_matches(word, candidates, n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _quoted_name(message: str, prefix: str) -> str | None:
    """The ``repr``-quoted name right after ``prefix`` in click's message, unquoted."""
    import ast
    import re

    found = re.match(re.escape(prefix) + r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""",
                     message)
    if found is None:
        return None
    try:
        name = ast.literal_eval(found.group(1))
    except (ValueError, SyntaxError):
        return None
    return name if isinstance(name, str) else None


def _param_hint(exc: Any) -> str:
    """``'PIPELINE'`` or ``'--limit'``: how a ``BadParameter`` names its parameter."""
    import inspect

    hint = exc.param_hint
    if hint is None:
        get_hint = exc.param.get_error_hint  # click passes ctx; typer's own copy takes none
        try:
            takes_ctx = bool(inspect.signature(get_hint).parameters)
        except (TypeError, ValueError):
            takes_ctx = False
        hint = get_hint(exc.ctx) if takes_ctx else get_hint()
    return hint if isinstance(hint, str) else " / ".join(repr(h) for h in hint)


def _usage_line(exc: Any) -> str:
    """One line for a click ``UsageError``: what was wrong, the closest valid command or
    option when one was misspelt, and where the help is (``gazer ... --help``)."""
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command", None)
    path = ctx.command_path if ctx is not None else "gazer"
    message = str(getattr(exc, "message", "") or exc)

    if isinstance(exc, _click_exceptions("NoSuchOption")):
        names: list[str] = list(ctx.help_option_names) if ctx is not None else []
        for param in getattr(command, "params", []):
            if getattr(param, "param_type_name", None) == "option":
                names += [*param.opts, *param.secondary_opts]
        what = f"no option {exc.option_name!r} for {path!r}{_closest(exc.option_name, names)}"
    elif isinstance(exc, _click_exceptions("MissingParameter")) and exc.param is not None:
        kind = exc.param_type or exc.param.param_type_name
        what = f"missing {kind} {_param_hint(exc)} for {path!r}"
    elif isinstance(exc, _click_exceptions("BadParameter")) and (
            exc.param_hint is not None or exc.param is not None):
        what = f"invalid value for {_param_hint(exc)} in {path!r}: {message.rstrip('.')}"
    elif (typo := _quoted_name(message, "No such command")) is not None and command is not None:
        commands = [name for name in command.list_commands(ctx)
                    if not getattr(command.get_command(ctx, name), "hidden", False)]
        what = f"no command {typo!r} in {path!r}{_closest(typo, commands)}"
    elif message.startswith("Got unexpected extra argument") and message.endswith(")"):
        extra = message[message.index("(", len("Got unexpected extra argument(s)")) + 1:-1]
        takes = [p for p in getattr(command, "params", [])
                 if getattr(p, "param_type_name", None) == "argument"]
        what = (f"unexpected extra argument(s) {extra!r} for {path!r}" if takes
                else f"{path!r} takes no arguments; got {extra!r}")
    else:
        message = message.rstrip(".")
        what = message[:1].lower() + message[1:]
    line = f"{what} (see {path} --help)" if ctx is not None else what
    return " ".join(line.split())


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning gazer errors and usage errors into one clear line.

    A usage error (unknown command or option, missing or extra argument, bad value) exits
    with 2; ``--debug`` (or ``GAZER_DEBUG=1``) re-raises it with its traceback. ``--help``
    and a group called without a command print the help and exit with 0.
    """
    import contextlib

    from pydantic import ValidationError
    from rich.markup import escape

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("GAZER_DEBUG", "").lower() in (
        "1", "true", "yes", "on")
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="gazer", standalone_mode=False)
    except ValidationError as exc:  # settings from GAZER_* variables that do not validate
        if debug:
            raise
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors()[:3])
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error:[/] invalid settings ({exc.title}): {escape(problems)}; "
            f"check the GAZER_* environment variables", highlight=False)
        sys.exit(2)
    except GazerError as exc:
        if debug:
            raise
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(2 if 400 <= exc.status_code < 500 else 1)
    except _click_exceptions("Exit") as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _click_exceptions("NoArgsIsHelpError") as exc:
        # Help for a group called without a command: rich help is already on stdout
        # (typer prints it while building the exception); plain help is the message.
        text = getattr(exc, "format_message", lambda: "")()
        if text.strip():
            print(text)
        sys.exit(0)
    except _click_exceptions("ClickException") as exc:
        if debug:
            raise
        line = " ".join(str(exc.format_message()).split())
        if isinstance(exc, _click_exceptions("UsageError")):
            # An unforeseen click/typer shape keeps click's own message.
            with contextlib.suppress(Exception):
                line = _usage_line(exc)
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {escape(line)}",
                                                   highlight=False)
        sys.exit(getattr(exc, "exit_code", 1) or 1)
    except _click_exceptions("Abort"):
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
