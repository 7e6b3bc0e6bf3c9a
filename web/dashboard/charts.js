// Charts drawn as SVG from the window's series: no library, so the
// dashboard needs nothing from the network. Every chart puts the canary
// against production on a shared time axis (minutes since the first look).
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 600, H = 240, M = { l: 52, r: 12, t: 10, b: 28 };
  let clips = 0; // numbers the clip paths, whose ids are page-wide

  function el(tag, attrs) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  // ticks returns about n round values covering [lo, hi].
  function ticks(lo, hi, n) {
    const span = hi - lo || 1;
    const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(f => f * mag).find(s => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step / 1e6; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  function fmt(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1000) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1).replace(/\.0$/, "");
    return (+v.toPrecision(3)).toString();
  }

  // scales fits the lines' points, bands and reference values. A band
  // counts only up to three times the highest line: at the first looks it
  // spans most of the range and would flatten the lines it is drawn for
  // (it is clipped to the plot instead).
  function scales(spec) {
    let xmax = 0, ymin = 0, ymax = 0;
    for (const s of spec.series) {
      for (const p of s.points) { xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]); ymin = Math.min(ymin, p[1]); }
    }
    const bandCap = Math.max(3 * ymax, spec.bandFloor || 0);
    for (const s of spec.series) {
      for (const b of s.band || []) ymax = Math.max(ymax, Math.min(b[2], bandCap));
    }
    for (const r of spec.refs || []) ymax = Math.max(ymax, r.y);
    if (ymax === ymin) ymax = ymin + 1;
    ymax *= 1.08;
    if (xmax === 0) xmax = 1;
    const x = v => M.l + (v / xmax) * (W - M.l - M.r);
    const y = v => H - M.b - ((v - ymin) / (ymax - ymin)) * (H - M.t - M.b);
    return { x, y, xmax, ymin, ymax };
  }

  function axes(svg, sc, unit) {
    for (const v of ticks(sc.ymin, sc.ymax, 4)) {
      svg.appendChild(el("line", { class: "grid-line", x1: M.l, x2: W - M.r, y1: sc.y(v), y2: sc.y(v) }));
      const t = el("text", { x: M.l - 6, y: sc.y(v) + 4, "text-anchor": "end" });
      t.textContent = fmt(v) + (unit && unit !== "%" ? "" : unit || "");
      svg.appendChild(t);
    }
    // Seconds for a short window, minutes for a long one.
    const secs = sc.xmax < 2, f = secs ? 60 : 1;
    for (const v of ticks(0, sc.xmax * f, 5)) {
      const t = el("text", { x: sc.x(v / f), y: H - 8, "text-anchor": "middle" });
      t.textContent = fmt(v) + (secs ? " s" : " min");
      svg.appendChild(t);
    }
    svg.appendChild(el("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
    svg.appendChild(el("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  }

  function pathOf(points, sc) {
    return points.map((p, i) => (i ? "L" : "M") + sc.x(p[0]).toFixed(1) + "," + sc.y(p[1]).toFixed(1)).join("");
  }

  // bandOf is the closed area between the band's low and high edges.
  function bandOf(band, sc) {
    const top = band.map((b, i) => (i ? "L" : "M") + sc.x(b[0]).toFixed(1) + "," + sc.y(b[2]).toFixed(1));
    const bottom = band.slice().reverse().map(b => "L" + sc.x(b[0]).toFixed(1) + "," + sc.y(b[1]).toFixed(1));
    return top.join("") + bottom.join("") + "Z";
  }

  // line draws spec = {title, unit, series: [{name, cls, points: [[x, y]],
  // band: [[x, lo, hi]]}], refs: [{y, label}]} into a figure element.
  function line(spec) {
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
    const sc = scales(spec);
    axes(svg, sc, spec.unit);
    const clip = "clip-" + (++clips);
    const cp = el("clipPath", { id: clip });
    cp.appendChild(el("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b }));
    svg.appendChild(cp);
    for (const s of spec.series) {
      if (s.band && s.band.length > 1) svg.appendChild(el("path", { class: "band " + s.cls, d: bandOf(s.band, sc), "clip-path": `url(#${clip})` }));
    }
    for (const r of spec.refs || []) {
      svg.appendChild(el("line", { class: "limit", x1: M.l, x2: W - M.r, y1: sc.y(r.y), y2: sc.y(r.y) }));
      const t = el("text", { x: W - M.r - 4, y: sc.y(r.y) - 4, "text-anchor": "end" });
      t.textContent = r.label;
      svg.appendChild(t);
    }
    for (const s of spec.series) {
      if (s.points.length === 0) continue;
      const p = el("path", { class: "line " + s.cls, d: pathOf(s.points, sc) });
      const title = el("title");
      title.textContent = s.name;
      p.appendChild(title);
      svg.appendChild(p);
      if (s.points.length === 1) {
        const [x, y] = s.points[0];
        svg.appendChild(el("circle", { class: "line " + s.cls, cx: sc.x(x), cy: sc.y(y), r: 3 }));
      }
    }
    return figure(spec, svg);
  }

  // quantiles draws each arm's distribution as a box from its p50 to its
  // p95, whiskers from the minimum to the maximum and a tick at the p99:
  // all the distribution the evidence keeps without decoding sketches.
  function quantiles(spec) {
    const svg = el("svg", { viewBox: `0 0 ${W} 150`, role: "img", "aria-label": spec.title });
    const arms = spec.arms.filter(a => a.d && a.d.count > 0);
    let lo = Math.min(...arms.map(a => a.d.min)), hi = Math.max(...arms.map(a => a.d.max));
    if (hi === lo) hi = lo + 1;
    const x = v => M.l + ((v - lo) / (hi - lo)) * (W - M.l - M.r);
    arms.forEach((a, i) => {
      const y = 20 + i * 50, d = a.d;
      svg.appendChild(el("line", { class: "line " + a.cls, x1: x(d.min), x2: x(d.max), y1: y + 15, y2: y + 15, "stroke-width": 1.5 }));
      svg.appendChild(el("rect", { class: a.cls, x: x(d.p50), y: y, width: Math.max(2, x(d.p95) - x(d.p50)), height: 30 }));
      svg.appendChild(el("line", { class: "line median " + a.cls, x1: x(d.p50), x2: x(d.p50), y1: y, y2: y + 30 }));
      svg.appendChild(el("line", { class: "line p99 " + a.cls, x1: x(d.p99), x2: x(d.p99), y1: y + 5, y2: y + 25 }));
      const t = el("text", { x: 4, y: y + 19 });
      t.textContent = a.name;
      svg.appendChild(t);
    });
    for (const v of ticks(lo, hi, 5)) {
      const t = el("text", { x: x(v), y: 142, "text-anchor": "middle" });
      t.textContent = fmt(v);
      svg.appendChild(t);
    }
    return figure(spec, svg);
  }

  function figure(spec, svg) {
    const f = document.createElement("figure");
    f.className = "chart";
    f.dataset.chart = spec.id;
    f.style.margin = "0";
    const h = document.createElement("h3");
    h.textContent = spec.title;
    f.append(h, svg);
    if (spec.note) {
      const n = document.createElement("p");
      n.className = "muted";
      n.textContent = spec.note;
      f.appendChild(n);
    }
    return f;
  }

  window.Charts = { line, quantiles };
})();
