"""``torc dash``: the web dashboard, a Starlette application that talks to the coordinator
through the Python client (gRPC) like any other client. Pages are Jinja2 templates (every value
escaped); data comes from small JSON endpoints; live updates are Server-Sent Events fed by one
``WatchEvents`` stream per workflow on this side (:mod:`torc.client.dash.feeds`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from torc import states as S
from torc.client import output, plans
from torc.client.dash import plots as dash_plots
from torc.client.dash import specs, tables, views
from torc.client.dash.commands import Commands
from torc.client.dash.feeds import FEED_ENDED, Feeds
from torc.client.dash.security import COOKIE, CSRF_HEADER, Guard
from torc.client.reports import OutputDirs
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import DEFAULT_OUTPUT_DIR

HERE = Path(__file__).parent
PAGE_LIMIT = 500
ATTEMPTS_SHOWN = 20  # a job page's attempts with their logs, the latest first
HISTORY_SHOWN = 200  # events an opened page starts with
SPEC_LIMIT = 64 << 20  # an uploaded spec's bytes


def create_app(client: TorcClient, guard: Guard, output_dir: Path | None) -> Starlette:
    """The application, over one client."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    feeds = Feeds(client)
    commands = Commands(client.url, Path.cwd())

    async def call(fn: Any, *args: Any, **kw: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kw)

    def gate(request: Request) -> Response | None:
        """Where a page request goes instead of the page: a launch URL's secret becomes a
        session cookie (and the address loses it); no session, the login form."""
        offered = request.query_params.get("token")
        if offered is not None:
            session = guard.login(offered)
            if session is None:
                return RedirectResponse("/login", status_code=303)
            response = RedirectResponse(request.url.path, status_code=303)
            response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
            return response
        if not guard.allowed(request.cookies.get(COOKIE)):
            return RedirectResponse("/login", status_code=303)
        return None

    def page(request: Request, name: str, **context: Any) -> Response:
        return gate(request) or templates.TemplateResponse(
            request, name, {"csrf": guard.csrf, **context})

    def api(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not guard.allowed(request.cookies.get(COOKIE)):
                return JSONResponse({"error": "log in first"}, status_code=401)
            try:
                for name, value in request.path_params.items():
                    if isinstance(value, int):  # ids; a table's name is checked by its view
                        views.bounded(name, str(value), 0, views.MAX_ID)
                return JSONResponse(await fn(request))
            except TorcError as e:
                return JSONResponse({"error": e.message}, status_code=400)
        return endpoint

    async def login_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"error": ""})

    async def login(request: Request) -> Response:
        # A urlencoded form of one field: the standard library reads it (no multipart here).
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > 4096:
                return JSONResponse({"error": "login form too large"}, status_code=413)
        offered = urllib.parse.parse_qs(body.decode(errors="replace")).get("token", [""])[0]
        session = guard.login(offered)
        if session is None:
            return templates.TemplateResponse(request, "login.html",
                                              {"error": "that is not the token"},
                                              status_code=403)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
        return response

    async def workflows_page(request: Request) -> Response:
        return page(request, "workflows.html")

    async def workflow_page(request: Request) -> Response:
        wf_id = int(request.path_params["wf"])
        return page(request, "workflow.html", wf_id=wf_id)

    async def plots_page(request: Request) -> Response:
        """The resource plots of a workflow (``torc plot-resources``'s page)."""
        refused = gate(request)
        if refused is not None:
            return refused
        try:
            wf_id = views.bounded("wf", str(request.path_params["wf"]), 0, views.MAX_ID)
            text = await call(dash_plots.page, client, wf_id, output_dir)
        except TorcError as e:
            return JSONResponse({"error": e.message}, status_code=400)
        return HTMLResponse(text, headers={"Cache-Control": "no-store"})

    async def job_page(request: Request) -> Response:
        wf_id, job_id = int(request.path_params["wf"]), int(request.path_params["job"])
        return page(request, "job.html", wf_id=wf_id, job_id=job_id)

    async def workflows(request: Request) -> Any:
        wfs = await call(client.list_workflows, all=request.query_params.get("all") == "1")
        rows = []
        for w in wfs:
            status = await call(client.status, w.id)
            rows.append({**output.workflow_dict(w),
                         "job_counts": dict(status.job_counts)})
        return rows

    async def status(request: Request) -> Any:
        wf_id = int(request.path_params["wf"])
        w, s = await call(client.get_workflow, wf_id), await call(client.status, wf_id)
        return {**output.workflow_dict(w), **output.status_dict(s)}

    async def jobs(request: Request) -> Any:
        q = request.query_params
        limit = min(views.bounded("limit", q.get("limit", "50"), 1, views.MAX_ID), PAGE_LIMIT)
        offset = views.bounded("offset", q.get("offset", "0"), 0, views.MAX_ID)
        resp = await call(client.list_jobs_page, int(request.path_params["wf"]),
                          q.get("status") or None, offset, limit,
                          name_regex=q.get("name", ""), sort_by=q.get("sort", ""),
                          descending=q.get("desc") == "1")
        return {"total": resp.total, "jobs": [output.job_dict(j) for j in resp.jobs]}

    async def graph(request: Request) -> Any:
        wf_id = int(request.path_params["wf"])
        page = await call(client.list_jobs_page, wf_id, None, 0, views.GRAPH_JOB_LIMIT)
        if page.total <= views.GRAPH_JOB_LIMIT:
            return views.graph(list(page.jobs))
        return views.grouped(await call(client.job_graph, wf_id))

    async def timeline(request: Request) -> Any:
        wf_id = int(request.path_params["wf"])
        return views.timeline(await call(client.list_results, wf_id, all_runs=True),
                              await call(client.list_workers, wf_id))

    async def workers(request: Request) -> Any:
        wf_id = int(request.path_params["wf"])
        return {"workers": [output.worker_dict(w) for w in await call(client.list_workers,
                                                                      wf_id)],
                "allocations": [output.allocation_dict(a) for a in
                                await call(client.list_allocations, wf_id)],
                "actions": [output.action_dict(a) for a in await call(client.list_actions,
                                                                      wf_id)]}

    async def job(request: Request) -> Any:
        wf_id, job_id = int(request.path_params["wf"]), int(request.path_params["job"])
        found = await call(client.list_jobs, wf_id, job_ids=[job_id])
        if not found:
            raise TorcError(f"workflow {wf_id} has no job {job_id}")
        results = await call(client.list_results, wf_id, job_id=job_id, all_runs=True)
        attempts = []
        if results:
            # In the directory given, else where the worker that ran it said it writes.
            dirs = OutputDirs(await call(client.list_workers, wf_id), output_dir)
            for r in reversed(results[-ATTEMPTS_SHOWN:]):  # the latest first
                root = dirs.of(r)
                files = views.job_files(root, wf_id, r)
                # Off the event loop: a log is the job's file, and a job can make it anything.
                attempts.append({"run_id": r.run_id, "attempt_id": r.attempt_id,
                                 "status": S.name(r.status), "logs": {
                                     k: await call(views.tail, p, root)
                                     for k, p in files.items()}})
        return {"job": output.job_dict(found[0]),
                "results": [output.result_dict(r) for r in results],
                "logs": attempts[0]["logs"] if attempts else {}, "attempts": attempts}

    async def data_table(request: Request) -> Any:
        q = request.query_params
        query = tables.Query(
            filter=q.get("filter", "")[:200], sort=q.get("sort", "")[:100],
            descending=q.get("desc") == "1",
            offset=views.bounded("offset", q.get("offset", "0"), 0, views.MAX_ID),
            limit=min(views.bounded("limit", q.get("limit", "50"), 1, views.MAX_ID),
                      tables.MAX_ROWS))
        return await call(tables.table, client, request.path_params["name"],
                          int(request.path_params["wf"]), query)

    async def plan(request: Request) -> Any:
        """The execution plan (``torc workflows execution-plan ID``)."""
        jobs_, actions = await call(plans.from_coordinator, client,
                                    int(request.path_params["wf"]))
        return plans.execution_plan(jobs_, actions)

    async def history(request: Request) -> Any:
        """The workflow's recent events, job events among them, newest last."""
        events = await call(client.event_history, int(request.path_params["wf"]))
        return [{"workflow_id": e.workflow_id, "timestamp": e.timestamp, "kind": e.kind,
                 "message": e.message, "job_id": e.job_id, "job_status": e.job_status}
                for e in events[-HISTORY_SHOWN:]]

    def refused(request: Request) -> Response | None:
        """A control's checks (session, CSRF token, the dashboard's own origin)."""
        server = request.scope.get("server") or (None, None)
        why = guard.control_allowed(request.cookies.get(COOKIE),
                                    request.headers.get(CSRF_HEADER),
                                    request.headers.get("origin"), server[1])
        return JSONResponse({"error": why}, status_code=403) if why else None

    async def body_of(request: Request, limit: int) -> bytes:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise TorcError(f"the request is over {limit >> 20} MiB")
        return body

    async def create(request: Request) -> Response:
        """A workflow from a spec uploaded or pasted (YAML, JSON, JSON5 or KDL)."""
        if (no := refused(request)) is not None:
            return no
        try:
            sent = json.loads(await body_of(request, SPEC_LIMIT))
            wf_id = await call(specs.create_from_text, client, str(sent.get("spec", "")),
                               str(sent.get("filename", "") or "spec.yaml"))
        except (TorcError, ValueError, AttributeError) as e:
            return JSONResponse({"error": getattr(e, "message", None) or str(e)},
                                status_code=400)
        return JSONResponse({"id": wf_id})

    async def start_command(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        wf_id = int(request.path_params["wf"])
        try:
            cmd = commands.start(wf_id, request.path_params["what"],
                                 output_dir or Path(DEFAULT_OUTPUT_DIR).resolve())
        except TorcError as e:
            return JSONResponse({"error": e.message}, status_code=400)
        return JSONResponse(cmd.since(0))

    async def command_output(request: Request) -> Any:
        cmd = commands.by_workflow.get(int(request.path_params["wf"]))
        after = views.bounded("after", request.query_params.get("after", "0"), 0, 1 << 40)
        return cmd.since(after) if cmd is not None else {"command": "", "lines": [],
                                                         "seen": 0, "running": False,
                                                         "exit_code": None}

    async def control(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        wf_id, what = int(request.path_params["wf"]), request.path_params["what"]
        actions = {"initialize": lambda: client.initialize(wf_id),
                   "cancel": lambda: client.cancel(wf_id),
                   "reset-failed": lambda: client.reset_status(wf_id, failed_only=True,
                                                               reinitialize=True),
                   "reinitialize": lambda: client.reinitialize(wf_id)}
        if what not in actions:
            return JSONResponse({"error": f"unknown control {what!r}"}, status_code=404)
        try:
            w = await call(actions[what])
        except TorcError as e:
            return JSONResponse({"error": e.message}, status_code=400)
        return JSONResponse(output.workflow_dict(w))

    async def events(request: Request) -> Response:
        if not guard.allowed(request.cookies.get(COOKIE)):
            return JSONResponse({"error": "log in first"}, status_code=401)
        wf_id = int(request.path_params["wf"])
        queue = feeds.subscribe(wf_id)

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        data = await asyncio.wait_for(queue.get(), 15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {data}\n\n"
                    if data == FEED_ENDED:
                        return  # the browser reconnects (retry) to a new feed
            finally:
                feeds.unsubscribe(wf_id, queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", workflows_page), Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/workflows/{wf:int}", workflow_page),
        Route("/workflows/{wf:int}/jobs/{job:int}", job_page),
        Route("/workflows/{wf:int}/plots", plots_page),
        Route("/api/workflows", api(workflows)),
        Route("/api/workflows", create, methods=["POST"]),
        Route("/api/workflows/{wf:int}/command", api(command_output)),
        Route("/api/workflows/{wf:int}/command/{what}", start_command, methods=["POST"]),
        Route("/api/workflows/{wf:int}", api(status)),
        Route("/api/workflows/{wf:int}/jobs", api(jobs)),
        Route("/api/workflows/{wf:int}/graph", api(graph)),
        Route("/api/workflows/{wf:int}/timeline", api(timeline)),
        Route("/api/workflows/{wf:int}/workers", api(workers)),
        Route("/api/workflows/{wf:int}/jobs/{job:int}", api(job)),
        Route("/api/workflows/{wf:int}/events", events),
        Route("/api/workflows/{wf:int}/history", api(history)),
        Route("/api/workflows/{wf:int}/plan", api(plan)),
        Route("/api/workflows/{wf:int}/tables/{name}", api(data_table)),
        Route("/api/workflows/{wf:int}/{what}", control, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        feeds.close()
        commands.stop_all()

    # DNS rebinding: a page of another site whose name now points here must not be served
    # as the dashboard (Starlette's own check: 400 for any other Host).
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=guard.hosts)])
    app.state.states = list(S.NAMES.values())
    app.state.json = json
    return app
