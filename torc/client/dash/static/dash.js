// torc dashboard. Every value from the coordinator is user text (job names, commands): it is
// put into the page with textContent, never as HTML.
"use strict";

const torcDash = (() => {
  const COLORS = {
    uninitialized: "#9aa5b1", blocked: "#c3c9d0", ready: "#4c9be8", pending: "#7fb8f0",
    running: "#f0a33c", completed: "#3aa65b", failed: "#d64545", canceled: "#8e6bbf",
    terminated: "#b5543a", disabled: "#dddddd", pending_failed: "#e07a7a",
  };
  const csrf = () => document.querySelector('meta[name="csrf"]').content;

  async function get(url) {
    const r = await fetch(url, {credentials: "same-origin"});
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function row(cells) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null ? "" : c;
      tr.appendChild(td);
    }
    return tr;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows.map(row));
  }

  function bar(counts, total) {
    const b = el("div", null, {class: "bar"});
    for (const [state, n] of Object.entries(counts)) {
      if (!n) continue;
      const seg = el("span", null, {class: "seg", title: `${state}: ${n}`,
                                    "data-state": state});
      seg.style.width = `${(100 * n) / Math.max(total, 1)}%`;
      seg.style.background = COLORS[state] || "#999";
      b.appendChild(seg);
    }
    return b;
  }

  // Server-Sent Events: one stream per page; `refresh` runs at most once a second, however
  // many jobs change. The page says whether it is live: the dashboard's stream of the
  // coordinator is open ("Live"), it ended or the dashboard is unreachable and the browser
  // retries ("Reconnecting"), or it gave up ("Disconnected").
  function live(wfId, onEvent, refresh, quick) {
    let timer = null;
    let quickTimer = null;
    let lastFull = 0;
    // A job event refreshes the cheap parts (counts, the job table's page) within a second
    // and the rest (graph, timeline: every job, every result) at most every ten seconds;
    // a workflow event refreshes everything.
    const soon = (ev) => {
      const jobLevel = quick && (ev.job_id || ev.kind === "jobs_changed");
      if (jobLevel && Date.now() - lastFull < 10000) {
        if (!quickTimer) quickTimer = setTimeout(() => { quickTimer = null; quick(); }, 1000);
        return;
      }
      if (!timer) {
        timer = setTimeout(() => { timer = null; lastFull = Date.now(); refresh(); }, 1000);
      }
    };
    const shown = document.getElementById("live-state");
    const say = (state) => {
      if (!shown) return;
      shown.textContent = state;
      shown.dataset.state = state.toLowerCase();
    };
    const source = new EventSource(`/api/workflows/${wfId}/events`);
    source.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      if (ev.kind === "feed_live") { say("Live"); refresh(); return; }
      if (ev.kind === "feed_ended") { say("Reconnecting"); return; }
      if (onEvent) onEvent(ev);
      soon(ev);
    };
    source.onerror = () => {
      say(source.readyState === EventSource.CLOSED ? "Disconnected" : "Reconnecting");
    };
    return source;
  }

  function workflowsPage() {
    const tbody = document.querySelector("#workflows tbody");
    const all = document.getElementById("show-all");
    async function refresh() {
      const wfs = await get(`/api/workflows${all.checked ? "?all=1" : ""}`);
      fill(tbody, wfs.map((w) => {
        const link = el("a", w.name, {href: `/workflows/${w.id}`});
        const state = w.canceled ? "canceled" : w.complete ? "complete"
          : w.initialized ? "running" : "not started";
        return [w.id, link, w.user, state, bar(w.job_counts, w.num_jobs), w.num_jobs,
                w.created_at];
      }));
      tbody.dataset.loaded = "1";
    }
    all.onchange = refresh;
    refresh();
    live(0, null, refresh);

    // A new workflow from a spec: the file's text (or what was pasted) and its name, whose
    // suffix says the format; errors come back with the file's line.
    const text = document.getElementById("spec-text");
    const name = document.getElementById("spec-name");
    document.getElementById("spec-file").onchange = async (e) => {
      const f = e.target.files[0];
      if (!f) return;
      text.value = await f.text();
      name.value = f.name;
    };
    document.getElementById("spec-create").onclick = async () => {
      const result = document.getElementById("spec-result");
      const r = await fetch("/api/workflows", {method: "POST", credentials: "same-origin",
        headers: {"X-Torc-CSRF": csrf(), "Content-Type": "application/json"},
        body: JSON.stringify({spec: text.value, filename: name.value})});
      const body = await r.json();
      result.dataset.ok = r.ok ? "1" : "0";
      if (!r.ok) { result.textContent = body.error; return; }
      result.textContent = `created workflow ${body.id}`;
      window.location.href = `/workflows/${body.id}`;
    };
  }

  function workflowPage(wfId) {
    let offset = 0;
    const limit = 50;
    let cy = null;
    let chart = null;

    async function status() {
      const s = await get(`/api/workflows/${wfId}`);
      document.getElementById("wf-name").textContent = s.name;
      document.getElementById("wf-state").textContent =
        `run ${s.run_id}, ${s.num_jobs} jobs, ` +
        (s.canceled ? "canceled" : s.complete ? "complete" : s.initialized ? "running"
          : "not initialized");
      document.getElementById("bar").replaceChildren(bar(s.job_counts, s.num_jobs));
      // Only the controls that apply now.
      const n = (k) => s.job_counts[k] || 0;
      const busy = n("pending") + n("running") > 0;
      const unsuccessful = n("failed") + n("canceled") + n("terminated") + n("pending_failed");
      const applies = {
        initialize: !s.initialized && !s.canceled,
        cancel: s.initialized && !s.complete && !s.canceled,
        "reset-failed": unsuccessful > 0 && !busy,
        reinitialize: s.initialized && !busy,
      };
      for (const b of document.querySelectorAll("button[data-control]")) {
        b.hidden = !applies[b.dataset.control];
      }
      const commandApplies = {
        run: !s.canceled && !s.complete,
        submit: !s.canceled && !s.complete,
        recover: unsuccessful > 0 && !busy,
      };
      for (const b of document.querySelectorAll("button[data-command]")) {
        b.hidden = !commandApplies[b.dataset.command];
      }
      const rows = Object.entries(s.job_counts).filter(([, n]) => n);
      fill(document.querySelector("#counts tbody"), rows);
      document.querySelector("#counts tbody").dataset.counts = JSON.stringify(s.job_counts);
    }

    async function jobs() {
      const q = new URLSearchParams({offset, limit,
        status: document.getElementById("job-status").value,
        name: document.getElementById("job-name").value,
        sort: document.getElementById("job-sort").value,
        desc: document.getElementById("job-desc").checked ? "1" : "0"});
      const page = await get(`/api/workflows/${wfId}/jobs?${q}`);
      fill(document.querySelector("#jobs tbody"), page.jobs.map((j) => [
        j.id, el("a", j.name, {href: `/workflows/${wfId}/jobs/${j.id}`}),
        el("span", j.status, {class: "state", "data-state": j.status}),
        j.return_code, j.attempt_id, j.run_id, j.command]));
      const last = Math.min(offset + limit, page.total);
      document.getElementById("job-page").textContent =
        `${page.total ? offset + 1 : 0}-${last} of ${page.total}`;
    }

    async function graph() {
      const g = await get(`/api/workflows/${wfId}/graph`);
      document.getElementById("graph-note").textContent =
        g.grouped ? "(jobs grouped by name pattern, with counts)" : "";
      const style = [
        {selector: "node", style: {"label": "data(label)", "font-size": 10,
          "background-color": (n) => COLORS[n.data("state")] || "#999",
          "text-valign": "bottom", "width": 18, "height": 18}},
        {selector: "edge", style: {"width": 1, "line-color": "#bbb", "target-arrow-shape":
          "triangle", "target-arrow-color": "#bbb", "curve-style": "bezier"}}];
      if (!cy) {
        cy = cytoscape({container: document.getElementById("graph"), elements: g.elements,
                        style, maxZoom: 4,
                        // Labels count in the layout: side by side, they would overlap.
                        layout: {name: "dagre", rankDir: "LR", nodeDimensionsIncludeLabels: true},
                        minZoom: 0.05, wheelSensitivity: 0.3});
        // Fitted, a small graph would be blown up: never past 1:1 at first (zoom in at will).
        const notPast1 = () => { if (cy.zoom() > 1) { cy.zoom(1); cy.center(); } };
        notPast1();
        cy.on("layoutstop", notPast1);
        window.torcGraph = cy;
      } else {
        for (const e of g.elements) {
          const node = cy.getElementById(e.data.id);
          if (node.nonempty()) node.data(e.data);
        }
      }
      legend(g.elements);  // the states present now, not those of the first draw
    }

    function legend(elements) {
      const present = new Set(elements.filter((e) => e.data.state).map((e) => e.data.state));
      const box = document.getElementById("legend");
      box.replaceChildren(...Object.keys(COLORS).filter((k) => present.has(k)).map((k) => {
        const item = el("span", null, {class: "legend-item", "data-state": k});
        const swatch = el("span", null, {class: "swatch"});
        swatch.style.background = COLORS[k];
        item.append(swatch, k);
        return item;
      }));
    }

    async function timeline() {
      const t = await get(`/api/workflows/${wfId}/timeline`);
      // Seconds since the first run started: jobs of a few seconds stay visible.
      const t0 = Math.min(...t.runs.map((r) => r.start), Infinity);
      const span = Math.max(...t.runs.map((r) => r.end - t0), 1);
      // A run too short to see is drawn 0.3% of the span wide (its tooltip has the truth).
      const data = {datasets: [{label: "job runs", data: t.runs.map((r) => ({
        x: [(r.start - t0) / 1000, Math.max(r.end - t0, r.start - t0 + span / 300) / 1000],
        y: r.lane, job: r.job, state: r.state})),
        backgroundColor: t.runs.map((r) => COLORS[r.state] || "#999")}]};
      const options = {indexAxis: "y", animation: false, maintainAspectRatio: false,
        parsing: {xAxisKey: "x", yAxisKey: "y"}, plugins: {legend: {display: false},
        tooltip: {callbacks: {label: (c) => `${c.raw.job} (${c.raw.state})`}}},
        scales: {x: {type: "linear", beginAtZero: true, title: {display: true,
          text: "seconds since the first job started"}},
          y: {type: "category", labels: t.lanes}}};
      const canvas = document.getElementById("timeline");
      canvas.parentElement.style.height = `${Math.min(Math.max(160, 22 * t.lanes.length +
                                                                  60), 4000)}px`;
      canvas.dataset.runs = String(t.runs.length);
      canvas.dataset.jobs = JSON.stringify(t.runs.map((r) => r.job));
      if (chart) { chart.data = data; chart.options = options; chart.update(); }
      else chart = new Chart(canvas, {type: "bar", data, options});
    }

    async function workers() {
      const w = await get(`/api/workflows/${wfId}/workers`);
      fill(document.querySelector("#workers tbody"), w.workers.map((x) => [
        x.id, x.node_name || x.hostname, x.slurm_job_id, x.state, x.last_heartbeat,
        (x.running_jobs || []).join(", ")]));
      fill(document.querySelector("#allocations tbody"), w.allocations.map((a) => [
        a.slurm_job_id, a.scheduler, a.num_nodes, a.state, a.submitted_at]));
      fill(document.querySelector("#actions tbody"), w.actions.map((a) => [
        a.id, a.trigger_type, a.action_type, `${a.trigger_count}/${a.required_triggers}`,
        a.pending ? "yes" : "", a.executions.length]));
    }

    // The data tabs: one table at a time, filtered (column:value), sorted by a header's
    // click, paged; the dashboard asks the coordinator for just that page when it can.
    const tab = {name: "files", sort: "", desc: false, offset: 0, limit: 50};
    async function dataTable() {
      const q = new URLSearchParams({filter: document.getElementById("data-filter").value,
        sort: tab.sort, desc: tab.desc ? "1" : "0", offset: tab.offset,
        limit: tab.limit});
      const t = await get(`/api/workflows/${wfId}/tables/${tab.name}?${q}`);
      const head = document.querySelector("#data thead tr");
      head.replaceChildren(...t.columns.map((c) => {
        const th = el("th", c + (tab.sort === c ? (tab.desc ? " ▼" : " ▲") : ""),
                      {"data-column": c});
        th.onclick = () => {
          tab.desc = tab.sort === c ? !tab.desc : false;
          tab.sort = c; tab.offset = 0; dataTable();
        };
        return th;
      }));
      fill(document.querySelector("#data tbody"), t.rows.map((r) => r.map(
        (v) => v === null ? "" : typeof v === "object" ? JSON.stringify(v) : v)));
      const table = document.getElementById("data");
      table.dataset.name = tab.name;
      table.dataset.total = String(t.total);
      const last = Math.min(tab.offset + tab.limit, t.total);
      document.getElementById("data-page").textContent =
        `${t.total ? tab.offset + 1 : 0}-${last} of ${t.total}`;
      for (const b of document.querySelectorAll("#data-tabs button")) {
        b.classList.toggle("active", b.dataset.table === tab.name);
      }
    }
    for (const b of document.querySelectorAll("#data-tabs button")) {
      b.onclick = () => {
        tab.name = b.dataset.table; tab.sort = ""; tab.desc = false; tab.offset = 0;
        dataTable();
      };
    }
    document.getElementById("data-filter").oninput = () => { tab.offset = 0; dataTable(); };
    document.getElementById("data-prev").onclick = () => {
      tab.offset = Math.max(tab.offset - tab.limit, 0); dataTable(); };
    document.getElementById("data-next").onclick = () => {
      tab.offset += tab.limit; dataTable(); };

    // Which jobs become ready after which, and the actions (allocations) each stage fires.
    async function plan() {
      const p = await get(`/api/workflows/${wfId}/plan`);
      const said = (items) => items.map((x) => `action ${x.action} ${x.action_type}` +
        (x.allocations ? ` (${x.allocations})` : "")).join("; ");
      const rows = [["start", "", said(p.at_start)]];
      for (const st of p.stages) {
        const names = st.jobs.slice(0, 6).join(", ") +
          (st.num_jobs > 6 ? ` … (${st.num_jobs})` : "");
        const acts = [st.when_ready.length ? "when ready: " + said(st.when_ready) : "",
          st.when_complete.length ? "when complete: " + said(st.when_complete) : ""]
          .filter((x) => x).join("; ");
        rows.push([st.stage, names, acts]);
      }
      rows.push(["end", "", said(p.at_end)]);
      fill(document.querySelector("#plan tbody"), rows);
      document.getElementById("plan-note").textContent =
        `${p.num_jobs} job(s) in ${p.num_stages} stage(s)`;
    }

    function refresh() {
      status(); jobs(); graph(); timeline(); workers(); dataTable();
    }

    const events = document.getElementById("events");
    const seen = new Set();  // the history and the live stream may both bring an event
    function addEvent(ev, older) {
      const key = `${ev.timestamp} ${ev.kind} ${ev.message}`;
      if (seen.has(key)) return;
      seen.add(key);
      const li = el("li", null, {"data-kind": ev.kind});
      li.append(el("span", new Date(ev.timestamp * 1000).toLocaleTimeString(),
                   {class: "sub"}), " ", el("b", ev.kind), " ", el("span", ev.message));
      if (older) events.append(li); else events.prepend(li);  // the newest on top
      while (events.children.length > 200) events.lastChild.remove();
    }

    for (const b of document.querySelectorAll("button[data-control]")) {
      b.onclick = async () => {
        const what = b.dataset.control;
        if (!window.confirm(`${what} workflow ${wfId}?`)) return;
        const r = await fetch(`/api/workflows/${wfId}/${what}`, {method: "POST",
          credentials: "same-origin", headers: {"X-Torc-CSRF": csrf()}});
        const body = await r.json();
        document.getElementById("control-result").textContent =
          r.ok ? `${what}: done` : `${what}: ${body.error}`;
        refresh();
      };
    }
    // Run here, submit, recover: the torc CLI run by the dashboard, its output shown as it
    // comes (read back from the dashboard every second while it runs).
    let outputSeen = 0;
    async function commandOutput() {
      const c = await get(`/api/workflows/${wfId}/command?after=${outputSeen}`);
      if (!c.command) return;
      const box = document.getElementById("command-box");
      box.hidden = false;
      const out = document.getElementById("command-output");
      out.textContent += c.lines.join("");
      outputSeen = c.seen;
      document.getElementById("command-title").textContent = c.running
        ? `${c.command}: running` : `${c.command}: exited with code ${c.exit_code}`;
      box.dataset.running = c.running ? "1" : "0";
      box.dataset.exitCode = c.exit_code === null ? "" : String(c.exit_code);
      if (c.running) setTimeout(commandOutput, 1000); else refresh();
    }
    for (const b of document.querySelectorAll("button[data-command]")) {
      b.onclick = async () => {
        const what = b.dataset.command;
        if (!window.confirm(`${b.textContent}: workflow ${wfId}?`)) return;
        const r = await fetch(`/api/workflows/${wfId}/command/${what}`, {method: "POST",
          credentials: "same-origin", headers: {"X-Torc-CSRF": csrf()}});
        const body = await r.json();
        document.getElementById("control-result").textContent =
          r.ok ? `${what}: started` : `${what}: ${body.error}`;
        if (!r.ok) return;
        outputSeen = 0;
        document.getElementById("command-output").textContent = "";
        commandOutput();
      };
    }
    commandOutput();  // one started before the page was opened
    for (const id of ["job-status", "job-sort", "job-desc"]) {
      document.getElementById(id).onchange = () => { offset = 0; jobs(); };
    }
    document.getElementById("job-name").oninput = () => { offset = 0; jobs(); };
    document.getElementById("job-prev").onclick = () => {
      offset = Math.max(offset - limit, 0); jobs(); };
    document.getElementById("job-next").onclick = () => { offset += limit; jobs(); };
    refresh();
    plan();  // it does not change while the workflow runs
    // What happened before the page opened (job events too), then what happens now.
    get(`/api/workflows/${wfId}/history`).then((past) => {
      for (const ev of past.slice().reverse()) addEvent(ev, true);
      events.dataset.history = String(past.length);
    }).catch(() => {});
    live(wfId, addEvent, refresh, () => { status(); jobs(); });
  }

  async function jobPage(wfId, jobId) {
    const d = await get(`/api/workflows/${wfId}/jobs/${jobId}`);
    document.getElementById("job-name").textContent = d.job.name;
    fill(document.querySelector("#job tbody"), [
      ["state", d.job.status], ["return code", d.job.return_code],
      ["command", d.job.command], ["depends on", d.job.depends_on.join(", ")],
      ["requirements", `${d.job.num_cpus} CPUs, ${d.job.memory_bytes} bytes, ` +
                       `${d.job.runtime_seconds} s`]]);
    fill(document.querySelector("#results tbody"), d.results.map((r) => [
      r.run_id, r.attempt_id, r.status, r.return_code, r.exec_seconds, r.peak_memory,
      r.peak_cpu_percent, r.message]));
    for (const k of ["stdout", "stderr"]) {
      const log = d.logs[k];
      if (!log) continue;
      document.getElementById(`${k}-path`).textContent = log.path;
      document.getElementById(k).textContent = log.text === null ? log.why : log.text;
    }
    // Earlier attempts, each folded: their stdout and stderr.
    const earlier = document.getElementById("earlier-attempts");
    earlier.replaceChildren(...d.attempts.slice(1).map((a) => {
      const box = el("details", null, {"data-attempt": `${a.run_id}.${a.attempt_id}`});
      box.append(el("summary", `run ${a.run_id}, attempt ${a.attempt_id}: ${a.status}`));
      for (const k of ["stdout", "stderr"]) {
        const log = a.logs[k];
        box.append(el("h3", k), el("p", log.path, {class: "sub"}),
                   el("pre", log.text === null ? log.why : log.text, {"data-log": k}));
      }
      return box;
    }));
    if (d.attempts.length) {
      const a = d.attempts[0];
      document.getElementById("latest-attempt").textContent =
        `run ${a.run_id}, attempt ${a.attempt_id}`;
    }
  }

  return {workflowsPage, workflowPage, jobPage};
})();
