// Front end of the live gradient-flow widget (bptt/present/live.py).
//
// Draws the views the widget's `views` trait asks for; every number it shows comes from the engine (bptt.js,
// widgetPanels), which tests/browser/test_engine.py checks against Python:
//   "impulse"  the state's response to an impulse x_1 = e_1 (units over time and ||h_t||)
//   "map"      the gradient-flow map G[t, k] = ||dL_t/dh_k|| on a log colour scale, with a readout
//   "lag"      its lag profile against the bound (gamma sigma_max)^(t-k)
//   "copies"   ||dL_t/dW^(k)|| for every copy k of W, for the chosen loss term t
//   "compare"  cosine and relative error of the truncated / clipped gradient against full BPTT
// Indices on screen are the book's math indices (t, k = 1..T); the engine's arrays are 0-based.
//
// live.py concatenates the engine and this file into one module (the widget's _esm): the import line
// below is removed there, and everything of this file lives inside one closure, so that its names
// cannot collide with the engine's.
import { logColourRange, widgetPanels, zeroCause } from "./bptt.js";

const BpttLiveWidget = (() => {
  "use strict";
  // every control: the trait it sets, its kind, label and valid range (values are clamped to it). live.py writes
  // its CONTROL_TABLE (the one source of the controls, which Python validates against too) in place of [] below.
  const CONTROLS = /* CONTROL_TABLE */ [];
  const CONTROL = Object.fromEntries(CONTROLS.map((c) => [c.name, c]));
  const VIEWS = ["impulse", "map", "lag", "copies", "compare"];
  // the settings the lab page keeps in its URL: ?rho=1.1&T=120&trunc=window:10&act=tanh&w=orthogonal&...
  const URL_KEYS = ["rho", "T", "act", "w", "in", "trunc", "clip", "t", "draw"];
  const URL_ALIAS = { act: "activation", w: "w_kind", in: "input_scale", trunc: "truncation", clip: "clipping",
                      draw: "seed", pi: "keep_prob", thr: "threshold" };

  // ---------- numbers on screen ---------------------------------------------------------------
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const finite = (v) => typeof v === "number" && Number.isFinite(v);
  const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const pow10 = (e) => "10" + String(e).split("").map((c) => SUP[c]).join("");
  function fmt(v, digits = 3) {           // never "NaN" or "Infinity" on screen
    if (!finite(v)) return "overflow";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) {
      const [m, e] = v.toExponential(digits - 1).split("e");
      return `${m}×10${String(Number(e)).split("").map((c) => SUP[c]).join("")}`;
    }
    return String(Number(v.toPrecision(digits)));
  }
  function clean(name, value) {           // a trait value clamped to the control's range
    const c = CONTROL[name];
    if (!c) return value;
    if (c.kind === "select") return c.options.includes(value) ? value : c.options[0];
    let v = Number(value);
    if (!finite(v)) v = c.min;
    v = clamp(v, c.min, c.max);
    return c.digits === 0 ? Math.round(v) : v;
  }
  function settings(model) {
    const s = {};
    for (const c of CONTROLS) s[c.name] = c.kind === "button" ? (Number(model.get(c.name)) | 0) : clean(c.name, model.get(c.name));
    const net = model.get("network");
    s.network = net && net.W ? net : null;                         // a given network, or a random one
    if (s.network && s.network.xs) s.T = Math.min(s.T, s.network.xs.length);
    s.k = Math.min(s.k, s.T);
    s.t = Math.min(s.t, s.T);
    s.problem_seed = Number(model.get("problem_seed")) | 0;
    return s;
  }

  // ---------- drawing -------------------------------------------------------------------------
  const MAGMA = ["#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064", "#fb8761", "#fec287", "#fcfdbf"];
  const RDBU = ["#053061", "#2166ac", "#4393c3", "#92c5de", "#f7f7f7", "#f4a582", "#d6604d", "#b2182b", "#67001f"];
  const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  function lut(stops) {                    // 256 RGB triples interpolated between the stops
    const rgb = stops.map(hex), out = [];
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * (rgb.length - 1), j = Math.min(rgb.length - 2, Math.floor(x)), f = x - j;
      out.push(rgb[j].map((a, c) => Math.round(a + f * (rgb[j + 1][c] - a))));
    }
    return out;
  }
  const MAGMA_LUT = lut(MAGMA), RDBU_LUT = lut(RDBU);
  const INK = "#222", GRID = "#d0d0d0", BLANK = [255, 255, 255];
  const COL = { measured: "#1f77b4", full: "#7f7f7f", bound: "#555", bar: "#d62728", clip: "#ff7f0e" };

  function canvasFor(cv, w, h) {           // a canvas sized in CSS px, backed at the device pixel ratio
    const dpr = Math.max(1, window.devicePixelRatio || 1);
    cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr);
    cv.style.width = `${w}px`; cv.style.height = `${h}px`;
    const ctx = cv.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    ctx.font = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
    ctx.fillStyle = INK; ctx.strokeStyle = INK; ctx.lineWidth = 1;
    return ctx;
  }
  function niceTicks(n) {                  // ticks 1..n for step axes
    const step = [1, 2, 5, 10, 20, 25, 50, 100].find((s) => n / s <= 6) || 100;
    const ticks = step === 1 || step >= 5 ? [1] : [];              // 1, 5, 10, ... or 2, 4, 6, ...
    for (let v = step; v <= n; v += step) if (v !== 1) ticks.push(v);
    return ticks;
  }
  function text(ctx, s, x, y, align = "left", base = "alphabetic", size = 12, bold = false) {
    const font = (px) => `${bold ? "600 " : ""}${px}px system-ui, -apple-system, 'Segoe UI', sans-serif`;
    ctx.font = font(size);
    if (bold && align === "center") {        // a title: shrink it until it fits the canvas
      const room = 2 * Math.min(x, parseFloat(ctx.canvas.style.width) - x) - 4;
      while (size > 9 && ctx.measureText(s).width > room) ctx.font = font(--size);
    }
    ctx.textAlign = align; ctx.textBaseline = base; ctx.fillText(s, x, y);
  }
  function vtext(ctx, s, x, y) { ctx.save(); ctx.translate(x, y); ctx.rotate(-Math.PI / 2); text(ctx, s, 0, 0, "center", "middle"); ctx.restore(); }

  // a matrix M (rows x cols) as an image in the box (x, y, w, h); colour(v) -> [r, g, b]
  function drawMatrix(ctx, M, x, y, w, h, colour) {
    const rows = M.length, cols = M[0].length;
    const off = document.createElement("canvas"); off.width = cols; off.height = rows;
    const octx = off.getContext("2d"), img = octx.createImageData(cols, rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const [r, g, b] = colour(M[i][j], i, j), p = 4 * (i * cols + j);
      img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.save(); ctx.imageSmoothingEnabled = false; ctx.drawImage(off, x, y, w, h); ctx.restore();
    ctx.strokeStyle = INK; ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  }
  function colourBar(ctx, x, y, w, h, table, lo, hi, label, logScale = true) {
    for (let i = 0; i < h; i++) { const c = table[Math.round(255 * (1 - i / (h - 1)))]; ctx.fillStyle = `rgb(${c})`; ctx.fillRect(x, y + i, w, 1.5); }
    ctx.strokeStyle = INK; ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    ctx.fillStyle = INK;
    const every = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let e = lo; e <= hi; e += logScale ? every : (hi - lo) / 2) {
      const yy = y + h - ((e - lo) / (hi - lo)) * h;
      ctx.beginPath(); ctx.moveTo(x + w, yy); ctx.lineTo(x + w + 3, yy); ctx.stroke();
      text(ctx, logScale ? pow10(e) : fmt(e, 2), x + w + 5, yy, "left", "middle", 11);
    }
    if (label) vtext(ctx, label, x + w + 46, y + h / 2);
  }
  function stepAxes(ctx, x, y, w, h, rows, cols, xlabel, ylabel) {
    ctx.fillStyle = INK;
    for (const v of niceTicks(cols)) { const xx = x + ((v - 0.5) / cols) * w; ctx.beginPath(); ctx.moveTo(xx, y + h); ctx.lineTo(xx, y + h + 4); ctx.stroke(); text(ctx, String(v), xx, y + h + 15, "center"); }
    for (const v of niceTicks(rows)) { const yy = y + ((v - 0.5) / rows) * h; ctx.beginPath(); ctx.moveTo(x, yy); ctx.lineTo(x - 4, yy); ctx.stroke(); text(ctx, String(v), x - 6, yy, "right", "middle"); }
    text(ctx, xlabel, x + w / 2, y + h + 32, "center");
    vtext(ctx, ylabel, x - 36, y + h / 2);
  }
  // a line chart on a log y axis: series [{xs, ys, colour, dash, label}]
  function logChart(ctx, W, H, series, { xlabel, ylabel, title, xmin, xmax, integerX = true }) {
    const L = 62, R = 12, Tm = 24, B = 44, w = W - L - R, h = H - Tm - B;
    const all = series.filter((s) => !s.noRange).flatMap((s) => s.ys);
    const { lo, hi } = logColourRange(all, 40);
    const X = (v) => L + ((v - xmin) / Math.max(1e-9, xmax - xmin)) * w;
    const Y = (v) => Tm + h - ((Math.log10(v) - lo) / (hi - lo)) * h;
    text(ctx, title, L + w / 2, 15, "center", "alphabetic", 12, true);
    ctx.strokeStyle = GRID;
    const every = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let e = lo; e <= hi; e += every) { const yy = Y(10 ** e); ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(L + w, yy); ctx.stroke(); ctx.fillStyle = INK; text(ctx, pow10(e), L - 5, yy, "right", "middle", 11); }
    ctx.strokeStyle = INK; ctx.strokeRect(L + 0.5, Tm + 0.5, w, h);
    const xt = integerX ? niceTicks(Math.max(1, xmax)).map((v) => (xmin === 0 && v === 1 ? 0 : v)) : [xmin, xmax];
    for (const v of xt) if (v >= xmin && v <= xmax) { const xx = X(v); ctx.beginPath(); ctx.moveTo(xx, Tm + h); ctx.lineTo(xx, Tm + h + 4); ctx.stroke(); text(ctx, String(v), xx, Tm + h + 15, "center"); }
    text(ctx, xlabel, L + w / 2, Tm + h + 32, "center");
    vtext(ctx, ylabel, 14, Tm + h / 2);
    ctx.save(); ctx.beginPath(); ctx.rect(L, Tm, w, h); ctx.clip();
    for (const s of series) {
      ctx.strokeStyle = s.colour; ctx.fillStyle = s.colour; ctx.lineWidth = s.width || 1.8; ctx.setLineDash(s.dash || []);
      ctx.beginPath(); let pen = false;
      s.ys.forEach((v, i) => {
        const ok = v > 0;
        const yy = ok ? (finite(v) ? Y(v) : Tm - 5) : null;        // overflow: pinned above the top edge
        if (yy === null) { pen = false; return; }
        if (pen) ctx.lineTo(X(s.xs[i]), yy); else ctx.moveTo(X(s.xs[i]), yy);
        pen = true;
      });
      ctx.stroke();
    }
    ctx.restore(); ctx.setLineDash([]); ctx.lineWidth = 1;
    // legend
    let ly = Tm + 12;
    for (const s of series) if (s.label) {
      ctx.strokeStyle = s.colour; ctx.lineWidth = 1.8; ctx.setLineDash(s.dash || []);
      ctx.beginPath(); ctx.moveTo(L + w - 150, ly); ctx.lineTo(L + w - 128, ly); ctx.stroke(); ctx.setLineDash([]); ctx.lineWidth = 1;
      ctx.fillStyle = "rgba(255,255,255,0.8)"; ctx.fillRect(L + w - 124, ly - 8, 120, 15);
      ctx.fillStyle = INK; text(ctx, s.label, L + w - 122, ly, "left", "middle", 11); ly += 16;
    }
    return { L, Tm, w, h, X, Y };
  }

  // ---------- the widget ----------------------------------------------------------------------
  let instances = 0;
  function render({ model, el }) {
    const uid = `bptt-live-${++instances}-${Math.random().toString(36).slice(2, 7)}`;
    const root = document.createElement("div");
    root.className = "bptt-live";
    el.appendChild(root);
    const views = () => { const v = model.get("views") || []; const ok = v.filter((x) => VIEWS.includes(x)); return ok.length ? ok : ["map"]; };
    const shownControls = () => { const c = model.get("controls"); return (c && c.length ? c : CONTROLS.map((x) => x.name)).filter((n) => CONTROL[n]); };

    // controls
    const form = document.createElement("div"); form.className = "bptt-live-controls"; root.appendChild(form);
    const inputs = {};
    const save = (name, value) => { model.set(name, value); model.save_changes(); };
    for (const c of CONTROLS) {
      const row = document.createElement("div"); row.className = "bptt-live-control"; row.dataset.control = c.name;
      const id = `${uid}-${c.name}`;
      let input, out = null;
      if (c.kind === "button") {
        input = document.createElement("button"); input.type = "button"; input.id = id; input.textContent = c.label;
        input.setAttribute("aria-label", c.label);
        out = document.createElement("output"); out.setAttribute("for", id);
        input.addEventListener("click", () => save(c.name, (Number(model.get(c.name)) | 0) + 1));
        row.append(input, out);
      } else {
        const label = document.createElement("label"); label.htmlFor = id; label.textContent = c.label;
        if (c.kind === "select") {
          input = document.createElement("select");
          for (const o of c.options) { const opt = document.createElement("option"); opt.value = o; opt.textContent = o; input.appendChild(opt); }
          input.addEventListener("change", () => save(c.name, clean(c.name, input.value)));
        } else {
          input = document.createElement("input"); input.type = "range";
          if (c.kind === "logrange") { input.min = Math.log10(c.min); input.max = Math.log10(c.max); input.step = c.step; }
          else { input.min = c.min; input.max = c.max; input.step = c.step; }
          out = document.createElement("output"); out.setAttribute("for", id);
          const onInput = () => {
            let v = Number(input.value);
            if (c.kind === "logrange") v = Number((10 ** v).toPrecision(3));
            if (c.name === "k" || c.name === "t") v = Math.min(v, clean("T", model.get("T")));
            save(c.name, clean(c.name, v));
          };
          input.addEventListener("input", onInput);
          input.addEventListener("change", onInput);
        }
        input.id = id;
        row.append(label, input);
        if (out) row.appendChild(out);
      }
      // JupyterLab's shortcuts would swallow arrow keys on a focused control
      input.addEventListener("keydown", (e) => e.stopPropagation());
      form.appendChild(row);
      inputs[c.name] = { input, out, row };
    }

    const message = document.createElement("div"); message.className = "bptt-live-message"; message.setAttribute("role", "status");
    root.appendChild(message);
    const panels = document.createElement("div"); panels.className = "bptt-live-panels"; root.appendChild(panels);
    const panel = {};
    for (const v of VIEWS) {
      const p = document.createElement("div"); p.className = `bptt-live-panel bptt-live-${v}`; p.dataset.view = v; p.setAttribute("role", "group");
      const cv = document.createElement("canvas"); cv.setAttribute("role", "img");
      p.appendChild(cv);
      let cv2 = null;
      if (v === "impulse") { cv2 = document.createElement("canvas"); cv2.setAttribute("role", "img"); p.appendChild(cv2); }
      const info = document.createElement("div"); info.className = "bptt-live-info"; info.setAttribute("aria-live", "polite");
      p.appendChild(info);
      panels.appendChild(p);
      panel[v] = { p, cv, cv2, info };
    }

    // URL state (the lab page): read once, then written back on every change
    function readURL() {
      const q = new URLSearchParams(window.location.search);
      // the short keys the page writes, or the trait names (a hand-written link may use either)
      const get = (key) => { for (const k of [key, URL_ALIAS[key]]) if (k && q.has(k)) return q.get(k); return null; };
      const num = (key) => { const v = get(key); return v !== null && v.trim() !== "" && finite(Number(v)) ? Number(v) : null; };
      const set = {};
      for (const [key, trait] of [["rho", "rho"], ["T", "T"], ["in", "input_scale"], ["t", "t"], ["k", "k"], ["pi", "keep_prob"],
                                  ["thr", "threshold"]]) if (num(key) !== null) set[trait] = num(key);
      if (num("draw") !== null) set.seed = Math.max(0, Math.round(num("draw")));
      if (get("act") !== null) set.activation = get("act");
      if (get("w") !== null) set.w_kind = get("w");
      if (get("trunc") !== null) {
        const [kind, arg] = get("trunc").split(":");
        set.truncation = kind === "rand" ? "randomized" : kind;
        if (arg !== undefined && arg !== "" && finite(Number(arg))) set[set.truncation === "randomized" ? "keep_prob" : "k"] = Number(arg);
      }
      if (get("clip") !== null) {
        const [kind, arg] = get("clip").split(":");
        set.clipping = kind;
        if (arg !== undefined && arg !== "" && finite(Number(arg))) set.threshold = Number(arg);
      }
      const T = clean("T", set.T !== undefined ? set.T : model.get("T"));
      let changed = false;
      for (const [k, v] of Object.entries(set)) {
        let cv = k === "seed" ? v : clean(k, v);
        if (k === "k" || k === "t") cv = Math.min(cv, T);
        if (cv !== model.get(k)) { model.set(k, cv); changed = true; }
      }
      if (changed) model.save_changes();
    }
    function writeURL(s) {
      const q = new URLSearchParams(window.location.search);
      const trunc = s.truncation === "full" ? "full" : s.truncation === "randomized" ? `rand:${s.keep_prob}` : `${s.truncation}:${s.k}`;
      const vals = { rho: s.rho, T: s.T, act: s.activation, w: s.w_kind, in: s.input_scale, trunc,
                     clip: s.clipping === "none" ? "none" : `${s.clipping}:${s.threshold}`, t: s.t, draw: s.seed };
      for (const k of URL_KEYS) q.set(k, String(vals[k]));
      for (const k of ["k", "pi", "thr", ...Object.values(URL_ALIAS)]) if (!URL_KEYS.includes(k)) q.delete(k);  // now in trunc, clip
      const url = `${window.location.pathname}?${q.toString()}${window.location.hash}`;
      try { window.history.replaceState(window.history.state, "", url); } catch (e) { /* file:// in some browsers */ }
      root.dataset.url = url;
    }

    // the page URL holds the settings only in the static book, never in JupyterLab's own URL
    const urlState = () => Boolean(model.get("url_state")) && !document.querySelector(".jp-LabShell, .jp-NotebookPanel");
    let result = null, pending = 0, resizePending = 0, hover = null, lastWidth = 0;
    function syncControls(s) {
      const shown = shownControls();
      for (const c of CONTROLS) {
        const { input, out, row } = inputs[c.name];
        row.hidden = !shown.includes(c.name);
        if (c.kind === "button") { out.textContent = `draw ${s.seed + 1}`; input.disabled = s.truncation !== "randomized"; continue; }
        let v = s[c.name];
        if (c.name === "k" || c.name === "t") input.max = s.T;
        if (c.name === "T") input.max = s.network && s.network.xs ? Math.min(c.max, s.network.xs.length) : c.max;
        if (c.kind === "logrange") { if (Math.abs(10 ** Number(input.value) - v) > 1e-3 * v) input.value = Math.log10(v); }
        else if (String(input.value) !== String(v)) input.value = v;
        if (out) out.textContent = c.kind === "select" ? "" : c.kind === "logrange" ? fmt(v, 3) : c.digits === 0 ? String(v) : v.toFixed(c.digits);
        input.disabled = (c.name === "k" && !["window", "detach"].includes(s.truncation))
          || (c.name === "keep_prob" && s.truncation !== "randomized")
          || (c.name === "threshold" && s.clipping === "none");
      }
    }
    function recompute() {
      pending = 0;
      const s = settings(model), vs = views();
      syncControls(s);
      if (urlState()) writeURL(s);
      for (const v of VIEWS) { panel[v].p.hidden = !vs.includes(v); panel[v].p.style.order = String(vs.indexOf(v)); }
      const t0 = performance.now();
      try {
        result = { ...widgetPanels(s, vs), s, error: null };
      } catch (err) {
        result = { s, error: String(err && err.message ? err.message : err) };
      }
      root.dataset.ms = (performance.now() - t0).toFixed(2);   // also marks the widget as drawn
      draw();
    }
    function draw() {
      resizePending = 0;
      if (!result) return;
      const vs = views(), r = result;
      const msgs = [];
      if (r.error) msgs.push(`Could not compute these settings: ${r.error}`);
      if (r.overflow) msgs.push("Overflow: some values exceed the range of float64 (about 10³⁰⁸). They are drawn in the top colour, and the numbers read \"overflow\". The gradients are exploding: lower ρ, shorten T or clip.");
      else if (r.exploding) msgs.push("Exploding: some gradient norms exceed 10³⁰. Lower ρ, shorten T, or clip the gradient.");
      message.textContent = msgs.join(" ");
      message.hidden = msgs.length === 0;
      root.classList.toggle("bptt-live-overflow", Boolean(r.overflow || r.exploding));
      lastWidth = panels.clientWidth;
      if (r.error) return;
      for (const v of vs) {
        // the panels wrap (CSS flex, basis 340 px): side by side when two fit, stacked on a phone
        const pw = Math.max(260, Math.min(v === "impulse" ? 1000 : 620, Math.floor(panel[v].p.clientWidth || panels.clientWidth || 600)));
        try { DRAW[v](panel[v], r, pw); }
        catch (err) { panel[v].info.textContent = `Could not draw: ${err && err.message ? err.message : err}`; }
      }
    }
    const schedule = () => { if (!pending) pending = requestAnimationFrame(recompute); };
    const scheduleDraw = () => { if (!resizePending && panels.clientWidth !== lastWidth) resizePending = requestAnimationFrame(draw); };

    // ----- the views
    const DRAW = {
      impulse({ cv, cv2, info }, r, width) {
        const T = r.s.T, H = r.units[0].length;
        const W = width >= 640 ? Math.floor((width - 20) / 2) : width - 8;   // the two charts side by side if they fit
        let ctx = canvasFor(cv, W, 210);
        const L = 50, R = 80, Tm = 24, B = 44, w = W - L - R, h = 210 - Tm - B;
        // one colour scale for every step, unless the state's size spans more than 100x: then each step is
        // scaled by its largest |h_t,i| (a linear scale would leave all but the last steps white), and it says so
        const peaks = r.unitPeaks, lim = Math.max(...peaks) || 1, perStep = r.unitSpan > 100;
        const M = r.units[0].map((_, i) => r.units.map((row) => row[i]));   // (H, T)
        const scaleAt = (t) => (perStep ? peaks[t] || 1 : lim);
        drawMatrix(ctx, M, L, Tm, w, h, (v, i, t) => RDBU_LUT[finite(v) ? Math.round(127.5 + 127.5 * clamp(v / scaleAt(t), -1, 1)) : (v > 0 ? 255 : 0)]);
        text(ctx, perStep ? `h_t after x₁ = e₁, each step scaled to its largest unit`
          : `h_t after an impulse x₁ = e₁ (${r.s.activation}, ρ = ${r.s.rho.toFixed(2)})`, L + w / 2, 15, "center", "alphabetic", 12, true);
        stepAxes(ctx, L, Tm, w, h, H, T, "step t", "hidden unit i");
        colourBar(ctx, L + w + 10, Tm, 12, h, RDBU_LUT, perStep ? -1 : -lim, perStep ? 1 : lim, perStep ? "h_t,i / max_i |h_t,i|" : "", false);
        ctx = canvasFor(cv2, W, 210);
        const xs = r.stateNorms.map((_, i) => i + 1);
        const series = [{ xs, ys: r.stateNorms, colour: COL.measured, label: "‖h_t‖" }];
        if (r.stateBound) series.push({ xs, ys: r.stateBound, colour: COL.bound, dash: [5, 4], label: "σ_max^(t−1) ‖h₁‖", noRange: true });
        logChart(ctx, W, 210, series, { xlabel: "step t", ylabel: "‖h_t‖", title: `state norm: ‖h_T‖ = ${fmt(r.stateNorms[T - 1])}`, xmin: 1, xmax: T });
        cv.setAttribute("aria-label", "hidden units over time after an impulse");
        cv2.setAttribute("aria-label", `state norm over time, final ${fmt(r.stateNorms[T - 1])}`);
        info.textContent = `σ_max(W) = ${fmt(r.sigma)}; ‖h₁‖ = ${fmt(r.stateNorms[0])}, ‖h_T‖ = ${fmt(r.stateNorms[T - 1])}`
          + (perStep ? `. The state's size spans ${fmt(r.unitSpan, 2)}×, so each step's colours are scaled to its largest unit (the chart on the right shows the size).` : "");
      },
      map({ cv, info }, r, W) {
        const G = r.G, T = G.length;
        const L = 50, R = 92, Tm = 24, B = 44;
        const side = Math.max(120, Math.min(W - L - R, 460));
        const Wc = L + side + R, Hc = Tm + side + B;
        const ctx = canvasFor(cv, Wc, Hc);
        const { lo, hi, below, above, clamped } = r.mapRange;
        const colour = (v) => {
          if (!(v > 0) && finite(v)) return BLANK;                      // exactly 0 (the readout says why)
          if (!finite(v)) return MAGMA_LUT[255];                        // overflow: saturated
          return MAGMA_LUT[Math.round(255 * clamp((Math.log10(v) - lo) / (hi - lo), 0, 1))];
        };
        drawMatrix(ctx, G, L, Tm, side, side, colour);
        const title = r.s.truncation === "full" ? "G[t, k] = ‖∂L_t/∂h_k‖, full BPTT" : `G[t, k] with ${truncName(r.s)}`;
        text(ctx, title, L + side / 2, 15, "center", "alphabetic", 12, true);
        stepAxes(ctx, L, Tm, side, side, T, T, "state h_k", "loss term t");
        colourBar(ctx, L + side + 10, Tm, 12, side, MAGMA_LUT, lo, hi, "‖∂L_t/∂h_k‖ (log)");
        cv.setAttribute("aria-label", `gradient-flow map for T = ${T}; values from ${pow10(lo)} to ${pow10(hi)}`);
        const scale = clamped ? `Colours clamped to ${pow10(lo)} … ${pow10(hi)} (the values span more decades than colours can show): `
          + [below ? `${below} smaller values in the darkest colour` : "", above ? `${above} larger in the brightest` : ""].filter(Boolean).join(", ") + ". " : "";
        const WHY = {                            // the engine's zeroCause, in words
          truncated: () => "cut by the truncation",
          silent: (t) => `L_${t} sends no gradient: its prediction equals the one-hot target to float64 precision`,
          vanished: () => "every path is blocked by a zero slope f′ = 0 or underflows below float64's smallest number",
        };
        const show = () => {
          if (!hover || hover.t > T || hover.k > T) { info.textContent = `${scale}Hover over (or tap) the map to read a value and its (t, k).`; return; }
          const { t, k } = hover, v = G[t - 1][k - 1], why = zeroCause(G, r.P, t - 1, k - 1);
          info.textContent = why === "future" ? `loss term t = ${t}, state h_${k}: nothing (k > t: gradient never flows forwards in time)`
            : `loss term t = ${t}, state h_${k}: ‖∂L_${t}/∂h_${k}‖ = ${fmt(v)}${why ? ` (${WHY[why](t)})` : ""}`;
          root.dataset.readout = info.textContent;
        };
        const readout = (e) => {
          const rect = cv.getBoundingClientRect();
          const x = e.clientX - rect.left - L, y = e.clientY - rect.top - Tm;
          if (x < 0 || y < 0 || x >= side || y >= side) return;
          hover = { k: Math.floor((x / side) * T) + 1, t: Math.floor((y / side) * T) + 1 };
          show();
        };
        cv.onpointermove = readout;
        cv.onpointerdown = readout;
        show();
      },
      lag({ cv, info }, r, W) {
        const { lags, profile, bound, gamma, rate, factor, truncated } = r.lag, T = lags.length;
        const series = [{ xs: lags, ys: profile, colour: COL.measured, label: "measured (full BPTT)" },
                        { xs: lags, ys: bound, colour: COL.bound, dash: [5, 4], label: "bound (γσ_max)^(t−k)", noRange: true }];
        if (truncated) series.splice(1, 0, { xs: lags, ys: truncated, colour: COL.clip, label: truncName(r.s) });
        const ctx = canvasFor(cv, W, 260);
        logChart(ctx, W, 260, series, { xlabel: "distance t − k (steps)", ylabel: "‖∂L_t/∂h_k‖, geometric mean over t",
                                         title: `lag profile: γσ_max = ${fmt(rate)}`, xmin: 0, xmax: Math.max(1, T - 1) });
        cv.setAttribute("aria-label", `lag profile; gamma sigma_max = ${fmt(rate)}`);
        info.textContent = `γ = ${gamma}, σ_max = ${fmt(r.sigma)}; measured factor per step back ${finite(factor) ? fmt(factor) : "—"}, bound γσ_max = ${fmt(rate)}`;
      },
      copies({ cv, info }, r, W) {
        const t = r.s.t, vals = r.copies.slice(0, t);
        const ctx = canvasFor(cv, W, 240);
        const L = 62, R = 12, Tm = 24, B = 44, w = W - L - R, h = 240 - Tm - B;
        const { lo, hi } = logColourRange(vals, 16);
        text(ctx, `loss term t = ${t}: ‖∂L_${t}/∂W^(k)‖ for each copy k`, L + w / 2, 15, "center", "alphabetic", 12, true);
        ctx.strokeStyle = GRID;
        const every = Math.max(1, Math.ceil((hi - lo) / 6));
        for (let e = lo; e <= hi; e += every) { const yy = Tm + h - ((e - lo) / (hi - lo)) * h; ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(L + w, yy); ctx.stroke(); text(ctx, pow10(e), L - 5, yy, "right", "middle", 11); }
        const bw = w / t;
        ctx.fillStyle = COL.bar;
        vals.forEach((v, i) => {
          if (!(v > 0)) return;
          const f = finite(v) ? clamp((Math.log10(v) - lo) / (hi - lo), 0, 1) : 1;
          ctx.fillRect(L + i * bw + (bw > 4 ? 0.15 * bw : 0), Tm + h - f * h, bw > 4 ? 0.7 * bw : Math.max(0.8, bw), f * h);
        });
        ctx.strokeStyle = INK; ctx.strokeRect(L + 0.5, Tm + 0.5, w, h);
        for (const v of niceTicks(t)) { const xx = L + (v - 0.5) * bw; ctx.beginPath(); ctx.moveTo(xx, Tm + h); ctx.lineTo(xx, Tm + h + 4); ctx.stroke(); ctx.fillStyle = INK; text(ctx, String(v), xx, Tm + h + 15, "center"); }
        text(ctx, "copy k of W", L + w / 2, Tm + h + 32, "center");
        vtext(ctx, "‖∂L_t/∂W^(k)‖", 14, Tm + h / 2);
        const sum = r.copiesSum, zero = r.copiesZero;
        cv.setAttribute("aria-label", `contributions of the copies of W to loss term ${t}`);
        info.textContent = `sum over k of ‖∂L_${t}/∂W^(k)‖ = ${fmt(sum)}; ${zero} of ${t} copies ${zero === 1 ? "contributes" : "contribute"} nothing`
          + (zero ? (r.s.truncation === "full" ? " (h₀ = 0 makes the share of W^(1) zero)" : " (h₀ = 0 zeroes W^(1); the truncation cuts the others)") : "");
      },
      compare({ cv, info }, r, W) {
        const ctx = canvasFor(cv, W, 250);
        const L = 62, R = 12, Tm = 24, B = 44, w = W - L - R, h = 250 - Tm - B;
        const name = [r.s.truncation !== "full" ? truncName(r.s) : "", r.s.clipping !== "none" ? `${r.s.clipping} clipping at ${fmt(r.s.threshold)}` : ""].filter(Boolean).join(" + ") || "full BPTT (nothing cut or clipped)";
        text(ctx, `all of ∂L/∂θ (U, W, V, b, c): ${name}`, L + w / 2, 15, "center", "alphabetic", 12, true);
        let lim = 0; for (const v of r.full) if (finite(v)) lim = Math.max(lim, Math.abs(v));
        for (const v of r.g) if (finite(v)) lim = Math.max(lim, Math.abs(v));
        lim = lim || 1;
        const X = (v) => L + ((clamp(v, -lim, lim) + lim) / (2 * lim)) * w, Y = (v) => Tm + h - ((clamp(v, -lim, lim) + lim) / (2 * lim)) * h;
        ctx.strokeStyle = GRID; ctx.beginPath(); ctx.moveTo(X(-lim), Y(-lim)); ctx.lineTo(X(lim), Y(lim)); ctx.stroke();
        ctx.beginPath(); ctx.moveTo(X(0), Tm); ctx.lineTo(X(0), Tm + h); ctx.moveTo(L, Y(0)); ctx.lineTo(L + w, Y(0)); ctx.stroke();
        ctx.fillStyle = "rgba(214,39,40,0.55)";
        r.full.forEach((v, i) => { const g = r.g[i]; const gx = finite(v) ? v : Math.sign(v) * lim, gy = finite(g) ? g : Math.sign(g) * lim;
          if (Number.isNaN(gx) || Number.isNaN(gy)) return; ctx.fillRect(X(gx) - 1.5, Y(gy) - 1.5, 3, 3); });
        ctx.strokeStyle = INK; ctx.strokeRect(L + 0.5, Tm + 0.5, w, h); ctx.fillStyle = INK;
        text(ctx, fmt(-lim, 2), L, Tm + h + 15, "left"); text(ctx, fmt(lim, 2), L + w, Tm + h + 15, "right");
        text(ctx, fmt(-lim, 2), L - 5, Tm + h, "right", "bottom", 11); text(ctx, fmt(lim, 2), L - 5, Tm, "right", "top", 11);
        text(ctx, "full-BPTT gradient (entry)", L + w / 2, Tm + h + 32, "center");
        vtext(ctx, "this gradient (entry)", 14, Tm + h / 2);
        cv.setAttribute("aria-label", `gradient entries against full BPTT; cosine ${fmt(r.cos)}`);
        const clipNote = r.s.clipping === "none" ? "" : `, ${fmt(r.preClip)} before clipping`;
        info.innerHTML = "";
        const line = (label, value) => { const d = document.createElement("div"); const b = document.createElement("b"); b.textContent = value; d.append(`${label} `, b); info.appendChild(d); };
        line("cosine with full BPTT:", finite(r.cos) ? r.cos.toFixed(4) : "overflow");
        line("relative error ‖g − g_full‖/‖g_full‖:", fmt(r.relErr));
        line("norms:", `‖g‖ = ${fmt(r.gNorm)}${clipNote}; ‖g_full‖ = ${fmt(r.fullNorm)}`);
      },
    };
    function truncName(s) {
      if (s.truncation === "window") return `window τ = ${s.k}`;
      if (s.truncation === "detach") return `detach every ${s.k}`;
      if (s.truncation === "randomized") return `randomized π = ${s.keep_prob.toFixed(2)}, draw ${s.seed + 1}`;
      return "full BPTT";
    }

    if (urlState()) readURL();
    const TRAITS = [...CONTROLS.map((c) => c.name), "views", "controls", "url_state", "problem_seed", "network"];
    for (const name of TRAITS) model.on(`change:${name}`, schedule);
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(scheduleDraw) : null;
    if (ro) ro.observe(root); else window.addEventListener("resize", scheduleDraw);
    recompute();
    return () => {
      for (const name of TRAITS) model.off(`change:${name}`, schedule);
      if (ro) ro.disconnect(); else window.removeEventListener("resize", scheduleDraw);
      if (pending) cancelAnimationFrame(pending);
      if (resizePending) cancelAnimationFrame(resizePending);
    };
  }
  return { render };
})();

export default BpttLiveWidget;
