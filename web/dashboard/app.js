// The modelgate dashboard: promotions from the server's JSON API, a
// running canary's figures redrawn as the event stream reports each look,
// and the acts the caller's role allows. Nothing here is trusted with
// markup: every text goes in through textContent.
"use strict";

(function () {
  const TOKEN_KEY = "modelgate.token";
  const app = document.getElementById("app");
  let me = null;          // {name, role, may: ["read", "operate", "approve"]}
  let follower = null;    // the AbortController of the open event stream
  let poller = null;      // the timer of the polling fallback

  // ---- small DOM helpers ----------------------------------------------
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "class") e.className = attrs[k];
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.append(kid instanceof Node ? kid : String(kid));
    }
    return e;
  }
  const badge = (text, cls) => h("span", { class: "badge " + (cls || text) }, text);
  const card = (title, ...kids) => h("section", { class: "card" }, title ? h("h2", null, title) : null, ...kids);
  const stamp = t => t ? new Date(t).toLocaleString([], { dateStyle: "short", timeStyle: "medium" }) : "";
  const clock = t => t ? new Date(t).toLocaleTimeString([], { hour12: false }) : "";
  function took(a, b) {
    if (!a || !b) return "";
    const s = Math.round((Date.parse(b) - Date.parse(a)) / 1000);
    return s < 120 ? s + " s" : Math.round(s / 60) + " min";
  }

  // ---- the API ----------------------------------------------------------
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const auth = () => ({ Authorization: "Bearer " + token() });

  async function api(method, path, body) {
    const init = { method, headers: auth() };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error((data.error && data.error.message) || resp.status + " " + resp.statusText);
      err.status = resp.status;
      throw err;
    }
    return data;
  }
  const may = what => !!me && me.may.includes(what);

  // ---- signing in -------------------------------------------------------
  async function signIn() {
    if (token()) {
      try {
        me = await api("GET", "/api/v1/whoami");
        showWho();
        return;
      } catch (e) {
        if (e.status !== 401) throw e;
        sessionStorage.removeItem(TOKEN_KEY);
      }
    }
    await askToken();
  }

  function askToken() {
    const dlg = document.getElementById("token-dialog");
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    const error = document.getElementById("token-error");
    return new Promise(resolve => {
      form.onsubmit = async ev => {
        ev.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        try {
          me = await api("GET", "/api/v1/whoami");
        } catch (e) {
          sessionStorage.removeItem(TOKEN_KEY);
          error.textContent = e.status === 401 ? "The server does not know this token." : e.message;
          error.hidden = false;
          return;
        }
        input.value = "";
        error.hidden = true;
        dlg.close();
        showWho();
        resolve();
      };
      dlg.oncancel = ev => ev.preventDefault(); // nothing works without a token
      dlg.showModal();
      input.focus();
    });
  }

  function showWho() {
    document.getElementById("who").textContent = me.name + " · " + me.role;
    const out = document.getElementById("signout");
    out.hidden = false;
    out.onclick = () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); };
  }

  // ---- the list of promotions -------------------------------------------
  async function listPage() {
    document.title = "Promotions · modelgate";
    const data = await api("GET", "/api/v1/promotions");
    const rows = data.promotions.slice().sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
    const table = h("table", { class: "list" },
      h("tr", null, h("th", null, "promotion"), h("th", null, "model"), h("th", null, "version"),
        h("th", { class: "optional" }, "replacing"), h("th", null, "state"), h("th", { class: "optional" }, "started"), h("th", { class: "optional" }, "by")),
      rows.map(p => h("tr", { "data-id": p.id },
        h("td", { class: "id" }, h("a", { href: "/promotions/" + encodeURIComponent(p.id) }, p.id)),
        h("td", null, p.model), h("td", null, p.version), h("td", { class: "optional" }, p.previous),
        h("td", null, stateBadge(p)), h("td", { class: "optional" }, stamp(p.started_at)), h("td", { class: "optional" }, p.actor))));
    app.replaceChildren(h("h1", null, "Promotions"),
      card(null, rows.length ? h("div", { class: "tbl" }, table) : h("p", { class: "muted" }, "No promotion yet.")));
    if (rows.some(p => !p.outcome)) setTimeout(() => route().catch(fail), 5000);
  }

  function stateBadge(p) {
    return p.outcome ? badge(p.outcome.replace("_", " "), p.outcome) : badge("running: " + p.step, "running");
  }

  // ---- one promotion -----------------------------------------------------
  async function promotionPage(id) {
    const data = await api("GET", "/api/v1/promotions/" + encodeURIComponent(id));
    renderPromotion(data.promotion, data.steps || []);
    if (isLive(data.promotion)) follow(id);
  }

  const isLive = p => !p.outcome;
  const evidence = (steps, step) => {
    const found = steps.filter(s => s.step === step && s.evidence);
    return found.length ? found[found.length - 1].evidence : null;
  };

  function renderPromotion(p, steps) {
    document.title = p.model + " " + p.version + " · modelgate";
    const win = evidence(steps, "window");
    app.replaceChildren(...[
      h("p", null, h("a", { href: "/" }, "← all promotions")),
      h("h1", null, p.model + " version " + p.version + " ", h("span", { id: "outcome", "data-outcome": p.outcome || "running" }, stateBadge(p))),
      h("p", { class: "muted" }, "Promotion ", h("code", null, p.id), ", replacing version " + (p.previous || "none") +
        ", started " + stamp(p.started_at) + " by " + p.actor + (p.ended_at ? ", ended " + stamp(p.ended_at) : "") + ". ",
        h("span", { id: "live", class: "live" }, isLive(p) ? "Following live…" : "")),
      actions(p),
      p.reasons && p.reasons.length ? card("Reasons", h("ul", null, p.reasons.map(r => h("li", null, r)))) : null,
      win && win.judgement ? verdicts(win) : null,
      charts(steps, win),
      h("div", { class: "grid two" }, timeline(steps), h("div", null, traffic(steps), smoke(steps)))].filter(Boolean));
  }

  function actions(p) {
    const bar = h("div", { class: "actions" });
    if (may("operate") && p.outcome === "held") {
      bar.append(h("button", { id: "btn-accept", class: "primary", type: "button", onclick: () => act(p, "accept") }, "Accept and promote"));
    }
    if (may("operate") && (p.outcome === "" || p.outcome === "held" || p.outcome === undefined)) {
      bar.append(h("button", { id: "btn-abort", class: "danger", type: "button", onclick: () => act(p, "abort") }, "Abort"));
    }
    if (may("approve")) {
      bar.append(h("button", { id: "btn-approve", type: "button", onclick: () => act(p, "approve") }, "Approve version " + p.version));
    }
    bar.append(h("button", { id: "btn-report", type: "button", onclick: () => openReport(p) }, "HTML report"));
    return bar;
  }

  const acts = {
    accept: { title: "Accept the held canary", verb: "Accept", help: "The window ended without a decision. Accepting promotes the canary; your name and reason go in the audit trail." },
    abort: { title: "Abort the promotion", verb: "Abort", help: "Production goes back to the previous version within seconds; your name and reason go in the audit trail." },
    approve: { title: "Approve this version", verb: "Approve", help: "Record your approval of this version under one of the roles the configuration requires. Your name is taken from your token." },
  };

  // act asks for what the act needs and sends it; the dialog stays open
  // with the server's answer when it is refused.
  function act(p, kind) {
    const a = acts[kind];
    const dlg = document.getElementById("act-dialog");
    const reason = document.getElementById("act-reason");
    const role = document.getElementById("act-role");
    const error = document.getElementById("act-error");
    document.getElementById("act-title").textContent = a.title;
    document.getElementById("act-help").textContent = a.help;
    document.getElementById("act-submit").textContent = a.verb;
    document.getElementById("act-role-label").hidden = kind !== "approve";
    document.getElementById("act-reason-label").hidden = kind === "approve";
    reason.value = role.value = "";
    error.hidden = true;
    document.getElementById("act-cancel").onclick = () => dlg.close();
    document.getElementById("act-form").onsubmit = async ev => {
      ev.preventDefault();
      const text = kind === "approve" ? role.value.trim() : reason.value.trim();
      if (!text) {
        error.textContent = kind === "approve" ? "Name the role you approve as." : "A reason is required: it is kept in the audit trail.";
        error.hidden = false;
        return;
      }
      try {
        const res = await send(p, kind, text);
        dlg.close();
        const next = res && res.promotion ? res.promotion.id : p.id;
        if (next !== p.id) history.pushState(null, "", "/promotions/" + encodeURIComponent(next));
        await route();
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    };
    dlg.showModal();
    (kind === "approve" ? role : reason).focus();
  }

  function send(p, kind, text) {
    const model = "/api/v1/models/" + encodeURIComponent(p.model);
    if (kind === "approve") return api("POST", model + "/approvals", { version: p.version, role: text });
    return api("POST", model + "/" + kind, { reason: text });
  }

  // openReport fetches the report with the token (a plain link could not
  // send it) and shows it in a new tab.
  async function openReport(p) {
    const resp = await fetch("/api/v1/promotions/" + encodeURIComponent(p.id) + "/report.html", { headers: auth() });
    if (!resp.ok) { fail(new Error("The report: " + resp.status + " " + resp.statusText)); return; }
    const url = URL.createObjectURL(await resp.blob());
    window.open(url, "_blank", "noopener");
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ---- checks in plain words ---------------------------------------------
  const verdictWords = {
    pass: "passes", fail: "fails", continue: "not decided yet: still watching",
    inconclusive: "inconclusive: a person decides", not_judged: "not judged at this traffic",
  };

  function figure(c, v) {
    const g = x => (+x.toPrecision(4)).toString();
    if (c.kind === "shift") return (v >= 0 ? "+" : "") + (100 * v).toFixed(1) + "%";
    if (c.unit === "rate") return (100 * v).toFixed(2) + "%";
    return c.unit ? g(v) + " " + c.unit : g(v);
  }

  function limitText(c) {
    if (c.kind === "shift") return figure(c, c.limit_low || 0) + " … " + figure(c, c.limit);
    return "≤ " + figure(c, c.limit);
  }

  function verdicts(w) {
    const j = w.judgement;
    const head = h("p", null, "After " + w.elapsed + " of " + w.window + " (" + w.looks + " looks) the judge says ",
      badge(j.decision || w.decision || "continue"), ".");
    const list = h("div", { class: "checks", id: "checks" }, j.checks.map(c => h("div", { class: "check", "data-check": c.name, "data-verdict": c.verdict },
      h("div", null, h("strong", null, c.name.replace(/_/g, " ")), " ", badge(verdictWords[c.verdict] || c.verdict, c.verdict)),
      h("div", null, c.summary || c.detail),
      h("div", { class: "figures" }, "canary " + figure(c, c.canary) +
        (c.kind === "distance" ? "" : ", production " + (c.kind === "shift" ? "0%" : figure(c, c.production))) + ", allowed " + limitText(c)))));
    const more = [];
    if (w.plan) more.push(h("details", null, h("summary", null, "What this window can detect"), h("ul", null, [...w.plan.lines, ...(w.plan.warnings || [])].map(l => h("li", null, l)))));
    if (j.not_judged && j.not_judged.length) more.push(h("details", null, h("summary", null, "Not judged"), h("ul", null, j.not_judged.map(l => h("li", null, l)))));
    if (w.accepted) more.push(h("p", null, "Accepted by " + w.accepted.by + " at " + stamp(w.accepted.at) + ": " + w.accepted.reason));
    return card("Canary against production", head, list, more);
  }

  // ---- charts ---------------------------------------------------------------
  function charts(steps, win) {
    const figs = [];
    if (win && win.series && win.series.length) figs.push(...seriesCharts(win.series, ["canary", "production"], ""));
    if (win && win.figures) figs.push(distributions(win.figures));
    const bake = evidence(steps, "bake");
    if (bake && bake.series && bake.series.length) figs.push(...seriesCharts(bake.series, ["production"], "Bake: "));
    if (!figs.length) return card("Canary figures over time", h("p", { class: "muted" }, "No look at the canary window yet."));
    return card("Canary figures over time",
      h("div", { class: "legend" }, h("span", { class: "canary" }, h("i"), "canary"), h("span", { class: "production" }, h("i"), "production"),
        h("span", null, "bands: 95% interval · dotted p50, solid p95, dashed p99")),
      h("div", { class: "charts", id: "charts" }, figs.filter(Boolean)));
  }

  // seriesCharts draws the series' figures over minutes since its first
  // point, for the given arms.
  function seriesCharts(series, arms, prefix) {
    const t0 = Date.parse(series[0].at);
    const x = p => (Date.parse(p.at) - t0) / 60000;
    const of = (arm, keep, val) => series.filter(p => keep(p[arm])).map(p => [x(p), val(p[arm])]);
    const served = f => f && f.requests > 0;
    const out = [];
    out.push(Charts.line({ id: prefix + "error_rate", title: prefix + "Error rate (%) with its 95% band", unit: "%", bandFloor: 1,
      series: arms.map(a => ({ name: a, cls: a, points: of(a, served, f => 100 * f.error_rate),
        band: series.filter(p => served(p[a])).map(p => [x(p), 100 * p[a].error_low, 100 * p[a].error_high]) })) }));
    out.push(Charts.line({ id: prefix + "latency", title: prefix + "Latency p50 / p95 / p99 (ms)", unit: "",
      series: arms.flatMap(a => ["p50", "p95", "p99"].map(q => ({ name: a + " " + q, cls: a + " " + q, points: of(a, served, f => f[q + "_ms"]) }))) }));
    const predicted = f => f && f.predictions > 0;
    if (series.some(p => arms.some(a => predicted(p[a])))) {
      out.push(Charts.line({ id: prefix + "prediction_mean", title: prefix + "Mean prediction", unit: "",
        series: arms.map(a => ({ name: a, cls: a, points: of(a, predicted, f => f.prediction_mean) })) }));
    }
    for (const feature of driftFeatures(series, arms)) {
      const has = f => f && f.drift && f.drift[feature] !== undefined;
      out.push(Charts.line({ id: prefix + "drift_" + feature, title: prefix + "Drift of " + feature + " (share of its alert level)", unit: "",
        refs: [{ y: 1, label: "alert level" }],
        series: arms.map(a => ({ name: a, cls: a, points: of(a, has, f => f.drift[feature]) })) }));
    }
    return out;
  }

  function driftFeatures(series, arms) {
    const names = new Set();
    for (const p of series) for (const a of arms) for (const k in (p[a] && p[a].drift) || {}) names.add(k);
    return [...names].sort();
  }

  // distributions overlays both arms' prediction distributions of the
  // window so far, when the platform measures predictions.
  function distributions(w) {
    const arms = [{ name: "canary", cls: "canary", d: w.canary && w.canary.predictions }, { name: "production", cls: "production", d: w.stable && w.stable.predictions }];
    if (!arms.some(a => a.d && a.d.count > 0)) return null;
    return Charts.quantiles({ id: "prediction_distribution", title: "Predictions: distribution so far", arms,
      note: "Box from p50 to p95, tick at p99, whiskers from the minimum to the maximum." });
  }

  // ---- timeline, traffic, smoke -----------------------------------------------
  function timeline(steps) {
    return card("Timeline", h("ol", { class: "timeline", id: "timeline" }, steps.map(s => h("li", { "data-step": s.step },
      h("span", { class: "when" }, clock(s.started_at)),
      h("span", null, h("strong", null, s.step), " ", h("span", { class: "muted" }, stepLine(s)), s.ended_at ? h("span", { class: "muted" }, " · " + took(s.started_at, s.ended_at)) : null),
      badge(s.outcome)))));
  }

  // stepLine says in a few words what a step's evidence holds.
  function stepLine(s) {
    const e = s.evidence || {};
    if (e.error) return e.error;
    switch (s.step) {
      case "preconditions": return (e.approvals || []).map(a => a.role + " by " + a.by).join(", ");
      case "smoke": return (e.gates || []).filter(g => g.passed).length + " of " + (e.gates || []).length + " gates passed";
      case "canary": return e.traffic ? "version " + e.traffic.canary + " at " + e.traffic.canary_percent + "%" : "";
      case "window": return (e.elapsed || "") + " of " + (e.window || "") + (e.decision ? ", " + e.decision : "");
      case "decision": return e.decision + (e.reasons && e.reasons.length ? ": " + e.reasons[0] : "");
      case "rollout": return e.production ? "version " + e.production + " in production" : "";
      case "bake": return e.looks + " looks" + (e.fired && e.fired.length ? ", " + e.fired.length + " alerts fired" : "");
      case "rollback": return (e.reasons || [])[0] || "";
      case "incident": return e.ticket ? e.ticket.system + " " + e.ticket.id : e.ticket_error || "";
    }
    return "";
  }

  function traffic(steps) {
    let split = null;
    for (const s of steps) if (s.evidence && s.evidence.traffic && s.evidence.traffic.stable) split = s.evidence.traffic;
    if (!split) return card("Traffic split", h("p", { class: "muted" }, "No traffic set yet."));
    const pc = split.canary ? split.canary_percent : 0;
    // Widths through the style object: the page's policy refuses style
    // attributes.
    const part = (cls, pct, text) => { const d = h("div", { class: cls }, text); d.style.width = pct + "%"; return d; };
    return card("Traffic split", h("div", { class: "split", id: "split" },
      part("stable", 100 - pc, "production v" + split.stable + " · " + (100 - pc) + "%"),
      pc ? part("canary", pc, "canary v" + split.canary + " · " + pc + "%") : null));
  }

  function smoke(steps) {
    const e = evidence(steps, "smoke");
    if (!e || !e.gates) return null;
    return card("Smoke tests and evaluation", h("div", { class: "tbl" }, h("table", { id: "smoke" },
      h("tr", null, h("th", null, "gate"), h("th", null, "result"), h("th", null, "what it found")),
      e.gates.map(g => h("tr", null, h("td", null, g.name), h("td", null, badge(g.passed ? "passed" : "failed", g.passed ? "pass" : "fail")),
        h("td", null, g.summary, g.failures && g.failures.length ? h("ul", null, g.failures.map(f => h("li", null, f))) : null))))));
  }

  // ---- following a running promotion -----------------------------------------
  // follow reads the event stream (with fetch: EventSource cannot send the
  // token) and redraws after each look; when the stream cannot be had it
  // polls instead.
  async function follow(id) {
    stopFollowing();
    const ctl = new AbortController();
    follower = ctl;
    let redraw = null;
    const later = () => { if (!redraw) redraw = setTimeout(() => { redraw = null; reload(id, ctl); }, 300); };
    try {
      const resp = await fetch("/api/v1/promotions/" + encodeURIComponent(id) + "/events", { headers: { ...auth(), Accept: "text/event-stream" }, signal: ctl.signal });
      if (!resp.ok || !resp.body) throw new Error("event stream: " + resp.status);
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const name = eventName(buf.slice(0, i));
          buf = buf.slice(i + 2);
          if (name === "progress" || name === "end") later();
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      poll(id, ctl);
      return;
    }
    if (!ctl.signal.aborted) reload(id, ctl);
  }

  function eventName(block) {
    const line = block.split("\n").find(l => l.startsWith("event:"));
    return line ? line.slice(6).trim() : "";
  }

  function poll(id, ctl) {
    const live = document.getElementById("live");
    if (live) live.textContent = "Refreshing every 3 s (no event stream).";
    poller = setTimeout(async () => { if (!ctl.signal.aborted && await reload(id, ctl)) poll(id, ctl); }, 3000);
  }

  // reload redraws the promotion; true while it still runs.
  async function reload(id, ctl) {
    if (ctl.signal.aborted || currentID() !== id) return false;
    const data = await api("GET", "/api/v1/promotions/" + encodeURIComponent(id)).catch(e => { fail(e); return null; });
    if (!data || ctl.signal.aborted) return false;
    renderPromotion(data.promotion, data.steps || []);
    if (!isLive(data.promotion)) ctl.abort();
    return isLive(data.promotion);
  }

  function stopFollowing() {
    if (follower) follower.abort();
    clearTimeout(poller);
    follower = null;
  }

  // ---- routing ------------------------------------------------------------------
  function currentID() {
    const m = location.pathname.match(/^\/promotions\/([^/]+)$/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function route() {
    stopFollowing();
    const id = currentID();
    if (id) return promotionPage(id);
    return listPage();
  }

  function fail(e) {
    if (e.status === 401) { sessionStorage.removeItem(TOKEN_KEY); location.reload(); return; }
    const box = document.getElementById("failure") || h("p", { id: "failure", class: "error card", role: "alert" });
    box.textContent = e.message;
    app.prepend(box);
  }

  window.addEventListener("popstate", () => route().catch(fail));
  signIn().then(route).catch(fail);
})();
