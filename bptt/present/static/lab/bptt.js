// bptt.js: the course's vanilla RNN and its backpropagation through time, in the reader's browser.
//
// The same model, loss and truncation semantics as the Python library `bptt` (backward.py, truncation.py,
// diagnostics.py, paths.py, clipping.py), written for the course in plain JavaScript with no dependencies
// and no imports, so that it also loads from a `blob:` URL (how pages opened from file:// import it).
//
//   a_t = b + W h_{t-1} + U x_t,   h_t = f(a_t),   o_t = c + V h_t,   L_t = batch-mean of -log softmax(o_t)[y_t]
//   L = sum_t L_t.  Arrays are 0-based as in the Python code: xs[t] is x_{t+1}, hs[t] is h_t (hs[0] = h_0).
//
// Shapes (plain nested arrays of numbers, row-major, float64):
//   params = { U: H×D, W: H×H, V: K×H, b: [H], c: [K] }
//   xs: T×B×D numbers;  ys: T×B integers in [0, K)
//   opts = { activation: "tanh" | "sigmoid" | "relu" | "identity"   (default "tanh"),
//            h0: B×H (default zeros),
//            window: k | null        L_t reaches steps t-k+1 .. t only,
//            detachEvery: k | null   the state entering step t is detached when t is a positive multiple of k,
//            xi: [T] | null }        randomized-truncation factors (drawXi): the gradient carried from step t
//                                    back into hs[t] is multiplied by xi[t]
//   Every key of opts is optional; window, detachEvery and xi combine as in Python.
//
// Errors: bad input throws an Error saying what was expected. Results are never checked: settings that
// overflow (large spectral radius with the identity activation, say) give Infinity, or NaN where
// infinities cancel, and no exception; the caller decides what to show (Number.isFinite). One deliberate
// difference from numpy there: a zero carry multiplier (a detach, or xi[t] = 0) passes nothing back, so
// what lies behind it stays exactly 0 even when the carried gradient overflowed (numpy's 0·inf gives NaN).
//
// Exports (each documented where it is defined; t and k are 0-based code indices):
//   lossAndGrads(params, xs, ys, opts)        -> { loss, grads: { U, W, V, b, c } }       bptt.loss_and_grads
//   gradientNorms(params, xs, ys, opts)       -> G: T×T, G[t][k] = ||dL_t/dhs[k+1]||      bptt.gradient_norms
//   forward(params, xs, opts)                 -> { hs: (T+1)×B×H, logits: T×B×K }          bptt.forward
//   copyContributions(params, xs, ys, t, opts) -> [T], ||dL_t/dW^(k)|| for each copy k   bptt.copy_contributions
//   clipGradNorm(grads, maxNorm)              -> { grads, norm }                          bptt.clip_grad_norm
//   clipElementwise(grads, threshold)         -> grads                                    bptt.clip_elementwise
//   flatGrads(grads) -> Float64Array;  cosine(a, b) -> number;  relativeError(a, b) -> number
//   lagProfile(G) -> { lags, profile }                                                    bptt.lag_profile
//   drawXi(T, keepProb, rng) -> [T]                                                       bptt.draw_xi
//   makeRng(seed) -> { random, normal, integer };  makeProblem({ T, B, D, H, K, rho, wKind, inputScale, seed })
//   spectralRadius(W), topSingularValue(W) -> number;  ACTIVATIONS;  DERIVATIVE_BOUND
// and every number the live widget (widget.js) shows:
//   pathWeights(T, opts) -> P: T×T                                                        bptt.path_weights
//   lagBound(G, rate), stepFactor(G), lagPanel(G, sigmaMax, activation)   the lag panel (profile_bound, eq-van-loss-bound)
//   withRadius(params, rho, radius, inputScale), impulseResponse(params, T, opts)      (demo.impulse + forward)
//   vectorNorm(v), logColourRange(values, maxDecades), zeroCause(G, P, t, k)
//   widgetPanels(settings, views): all of the above for the widget's settings;  WIDGET_DIMS, EXPLODING
//
// Internally every array is a flat Float64Array; one step's backward rule (stepBack) is shared by the
// loops that sweep the (t, k) triangle, as in backward.py.

/** The hidden-layer nonlinearities, in the order the Python library lists them. */
export const ACTIVATIONS = Object.freeze(["tanh", "sigmoid", "relu", "identity"]);

/** gamma = sup |f'| for each activation (the bound in (gamma sigma_max)^(t-k)), as bptt.DERIVATIVE_BOUND. */
export const DERIVATIVE_BOUND = Object.freeze({ tanh: 1, sigmoid: 0.25, relu: 1, identity: 1 });

const OPTION_KEYS = ["activation", "h0", "window", "detachEvery", "xi"];

// ------------------------------------------------------------------------------------------ validation
function shapeText(shape) {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

function isRow(a) {
  return Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView));
}

/** The shape of a nested array of numbers with `ndim` levels, or an Error naming `name`. */
function nestedShape(a, name, ndim, what) {
  const shape = [];
  let level = a;
  for (let d = 0; d < ndim; d++) {
    if (!isRow(level)) {
      throw new Error(`${name} must be a ${ndim}-D array ${what}, got ${describe(a)}`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  while (shape.length < ndim) shape.push(0);
  return shape;
}

function describe(a) {
  if (a === null) return "null";
  if (a === undefined) return "undefined";
  if (isRow(a)) return `an array of length ${a.length}`;
  return `${typeof a} ${String(a).slice(0, 40)}`;
}

/** Flatten a nested array into a Float64Array of `shape` (checked at every level), all entries finite
 *  unless `allowNonFinite`. `what` spells the shape in symbols, e.g. "(H, H)". */
function flatten(a, name, shape, what, allowNonFinite = false) {
  const got = nestedShape(a, name, shape.length, what);
  const expected = () => `${name} must have shape ${what} = ${shapeText(shape)}`;
  const n = shape.reduce((p, s) => p * s, 1);
  const out = new Float64Array(n);
  let pos = 0;
  const path = []; // the index being read, spelled in messages only when something is wrong
  const at = () => `${name}${path.map((i) => `[${i}]`).join("")}`;
  const walk = (x, d) => {
    if (!isRow(x) || x.length !== shape[d]) {
      if (d === 0 || got.some((g, i) => g !== shape[i])) throw new Error(`${expected()}, got ${shapeText(got)}`);
      throw new Error(`${expected()}, got a ragged array: ${at()} is ${describe(x)}, expected length ${shape[d]}`);
    }
    if (d + 1 < shape.length) {
      for (let i = 0; i < shape[d]; i++) { path.push(i); walk(x[i], d + 1); path.pop(); }
      return;
    }
    for (let i = 0; i < shape[d]; i++) {
      const v = x[i];
      if (typeof v !== "number" || (!allowNonFinite && !Number.isFinite(v))) {
        path.push(i);
        if (typeof v !== "number") throw new Error(`${at()} must be a number, got ${describe(v)}`);
        throw new Error(`${at()} is ${v}; all entries of ${name} must be finite numbers`);
      }
      out[pos++] = v;
    }
  };
  walk(a, 0);
  return out;
}

/** `value` if it is one of `options`, else an Error listing them (Python's choice). */
function oneOf(value, name, options) {
  if (!options.includes(value)) {
    throw new Error(`${name} must be one of ${options.map((o) => `"${o}"`).join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveInt(value, name) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be an integer >= 1 (or null), got ${describe(value)}`);
  }
  return value;
}

function finiteNumber(value, name, test, expected) {
  if (typeof value !== "number" || !Number.isFinite(value) || !test(value)) {
    throw new Error(`${name} must be ${expected}, got ${describe(value)}`);
  }
  return value;
}

function checkOptions(opts) {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== "object" || isRow(opts)) throw new Error(`opts must be an object, got ${describe(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new Error(`unknown option "${key}"; expected some of ${OPTION_KEYS.join(", ")}`);
    }
  }
  return opts;
}

/** Check params (and optionally their values' finiteness) and return sizes and flat copies. */
function readParams(params, name = "params", allowNonFinite = false) {
  if (params === null || typeof params !== "object" || isRow(params)) {
    throw new Error(`${name} must be an object { U: H×D, W: H×H, V: K×H, b: [H], c: [K] }, got ${describe(params)}`);
  }
  for (const key of ["U", "W", "V", "b", "c"]) {
    if (!(key in params)) throw new Error(`${name} must have the arrays U, W, V, b, c; ${key} is missing`);
  }
  const [H, D] = nestedShape(params.U, `${name}.U`, 2, "(H, D)");
  if (H < 1 || D < 1) throw new Error(`${name}.U must have shape (H, D) with H, D >= 1, got ${shapeText([H, D])}`);
  const [K] = nestedShape(params.V, `${name}.V`, 2, "(K, H)");
  if (K < 1) throw new Error(`${name}.V must have shape (K, H) with K >= 1, got K = 0`);
  const nf = allowNonFinite;
  return {
    H, D, K,
    U: flatten(params.U, `${name}.U`, [H, D], "(H, D)", nf),
    W: flatten(params.W, `${name}.W`, [H, H], "(H, H)", nf),
    V: flatten(params.V, `${name}.V`, [K, H], "(K, H)", nf),
    b: flatten(params.b, `${name}.b`, [H], "(H,)", nf),
    c: flatten(params.c, `${name}.c`, [K], "(K,)", nf),
  };
}

/** Everything a pass needs, validated and flat: sizes, weights, xs, ys (if given), h0, f, multipliers. */
function prepare(params, xs, ys, opts, needLabels = true) {
  const p = readParams(params);
  const [T, B, D] = nestedShape(xs, "xs", 3, "(T, B, D)");
  if (T < 1) throw new Error("xs is an empty sequence: T must be >= 1");
  if (B < 1) throw new Error("xs has an empty batch: B must be >= 1");
  if (D !== p.D) {
    throw new Error(`xs must have shape (T, B, D) with D = ${p.D} (U is ${shapeText([p.H, p.D])}), ` +
      `got ${shapeText([T, B, D])}`);
  }
  const o = checkOptions(opts);
  const prob = { ...p, T, B, xs: flatten(xs, "xs", [T, B, p.D], "(T, B, D)") };
  prob.activation = oneOf(o.activation === undefined || o.activation === null ? "tanh" : o.activation, "activation",
    ACTIVATIONS);
  prob.h0 = o.h0 === undefined || o.h0 === null ? new Float64Array(B * p.H) : flatten(o.h0, "h0", [B, p.H], "(B, H)");
  if (needLabels) prob.ys = readLabels(ys, T, B, p.K);
  prob.window = o.window === undefined || o.window === null ? null : positiveInt(o.window, "window");
  const detach = o.detachEvery === undefined || o.detachEvery === null ? null : positiveInt(o.detachEvery, "detachEvery");
  const xi = o.xi === undefined || o.xi === null ? null : o.xi;
  prob.mult = carryMultipliers(T, detach, xi);
  return prob;
}

function readLabels(ys, T, B, K) {
  const got = nestedShape(ys, "ys", 2, "(T, B)");
  if (got[0] !== T || got[1] !== B) {
    throw new Error(`ys must have shape (T, B) = ${shapeText([T, B])}, got ${shapeText(got)}`);
  }
  const out = new Int32Array(T * B);
  for (let t = 0; t < T; t++) {
    const row = ys[t];
    if (!isRow(row) || row.length !== B) {
      throw new Error(`ys must have shape (T, B) = ${shapeText([T, B])}, got ys[${t}] of ${describe(row)}`);
    }
    for (let i = 0; i < B; i++) {
      const y = row[i];
      if (typeof y !== "number" || !Number.isInteger(y)) {
        throw new Error(`ys[${t}][${i}] must be an integer class index in [0, K) = [0, ${K}), got ${describe(y)}`);
      }
      if (y < 0 || y >= K) {
        throw new Error(`ys must lie in [0, K) = [0, ${K}), got ys[${t}][${i}] = ${y}`);
      }
      out[t * B + i] = y;
    }
  }
  return out;
}

/** m: (T,), the factor on the gradient carried from step t back into hs[t] (m[0] unused), as Python's
 *  carry_multipliers: xi (or ones), zeroed at t = k, 2k, ... for detachEvery = k. */
function carryMultipliers(T, detachEvery, xi) {
  let m;
  if (xi === null) {
    m = new Float64Array(T).fill(1);
  } else {
    if (!isRow(xi) || xi.length !== T) {
      throw new Error(`xi must have shape (T,) = (${T},), got ${isRow(xi) ? `(${xi.length},)` : describe(xi)}`);
    }
    m = flatten(xi, "xi", [T], "(T,)");
  }
  if (detachEvery !== null) for (let t = detachEvery; t < T; t += detachEvery) m[t] = 0;
  return m;
}

// ------------------------------------------------------------------------------------------ forward
function sigmoid(a) {
  const e = Math.exp(-Math.abs(a)); // exp of -|a| only: no overflow
  return a >= 0 ? 1 / (1 + e) : e / (1 + e);
}

const F = {
  tanh: Math.tanh,
  sigmoid,
  relu: (a) => (a > 0 ? a : 0),
  identity: (a) => a,
};

// f'(a) from h = f(a): tanh' = 1 - h^2, sigmoid' = h (1 - h), relu' = [h > 0], identity' = 1
const F_PRIME = {
  tanh: (h) => 1 - h * h,
  sigmoid: (h) => (1 - h) * h,
  relu: (h) => (h > 0 ? 1 : 0),
  identity: () => 1,
};

/** hs: (T+1)·B·H flat, hs[0] = h0, hs[t+1] = f(U x_t + b + W hs[t]). */
function runHidden(p) {
  const { T, B, D, H, U, W, b, xs } = p;
  const f = F[p.activation];
  const hs = new Float64Array((T + 1) * B * H);
  hs.set(p.h0);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < B; r++) {
      const x = (t * B + r) * D, hPrev = (t * B + r) * H, hOut = ((t + 1) * B + r) * H;
      for (let i = 0; i < H; i++) {
        let ux = 0;
        for (let j = 0, u = i * D; j < D; j++) ux += U[u + j] * xs[x + j];
        let wh = 0;
        for (let j = 0, w = i * H; j < H; j++) wh += W[w + j] * hs[hPrev + j];
        hs[hOut + i] = f(ux + b[i] + wh);
      }
    }
  }
  return hs;
}

/** logits: T·B·K flat, logits[t] = V hs[t+1] + c. */
function outputLogits(p, hs) {
  const { T, B, H, K, V, c } = p;
  const out = new Float64Array(T * B * K);
  for (let r = 0; r < T * B; r++) {
    const h = (B + r) * H;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0, v = k * H; j < H; j++) s += V[v + j] * hs[h + j];
      out[r * K + k] = s + c[k];
    }
  }
  return out;
}

/** Per-step losses L_t (T) and dL/do_t = (softmax(o_t) - onehot(y_t)) / B (T·B·K, written over logits),
 *  from one stable log-sum-exp pass, as Python's losses_and_logits_grad. */
function lossesAndLogitsGrad(p, logits) {
  const { T, B, K, ys } = p;
  const losses = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let r = 0; r < B; r++) {
      const o = (t * B + r) * K;
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (logits[o + k] > max) max = logits[o + k];
      const y = ys[t * B + r];
      const picked = logits[o + y] - max;
      let total = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp(logits[o + k] - max);
        logits[o + k] = e;
        total += e;
      }
      sum += Math.log(total) - picked;
      const scale = 1 / (total * B);
      for (let k = 0; k < K; k++) logits[o + k] *= scale;
      logits[o + y] -= 1 / B;
    }
    losses[t] = sum / B;
  }
  return { losses, dO: logits };
}

/** The forward pass and what every backward pass starts from: hs, dO = dL/do, dH = direct dL_t/dh_t
 *  (= V^T dL/do_t, in rows dO V), fprime = f'(a_t), and the per-step losses. */
function forwardForBackward(p) {
  const { T, B, H, K, V } = p;
  const hs = runHidden(p);
  const { losses, dO } = lossesAndLogitsGrad(p, outputLogits(p, hs));
  const dH = new Float64Array(T * B * H);
  for (let r = 0; r < T * B; r++) {
    for (let k = 0; k < K; k++) {
      const g = dO[r * K + k];
      for (let j = 0, v = k * H, o = r * H; j < H; j++) dH[o + j] += g * V[v + j];
    }
  }
  const fp = F_PRIME[p.activation];
  const fprime = new Float64Array(T * B * H);
  for (let i = 0; i < fprime.length; i++) fprime[i] = fp(hs[B * H + i]);
  return { hs, dO, dH, fprime, losses };
}

// ------------------------------------------------------------------------------------------ backward
/** The local rule of one step, for `rows` stacked gradients dL_t/dh_s (each B·H, at dh[dhOff + i·B·H]):
 *  turns each into da = dL_t/da_s = dh * f'(a_s) in place, and, if `back` is given, adds
 *  m·(da W) (the part that flows into h_{s-1}, in rows: W^T da in the math) to `back` at backOff for the
 *  first `backRows` of them. WT is W transposed (flat, H·H), so each product is a contiguous dot. */
function stepBack(dh, dhOff, rows, fprime, fOff, BH, H, WT, back, backOff, backRows, m) {
  for (let i = 0; i < rows; i++) {
    const o = dhOff + i * BH;
    for (let j = 0; j < BH; j++) dh[o + j] *= fprime[fOff + j];
  }
  if (back === null || m === 0) return; // a detached step passes nothing back (not even 0·Infinity = NaN)
  // (da W)[r, j] = sum_i da[r, i] W[i, j] = dot(da[r, :], WT[j, :]); four rows at a time share each WT load
  const nRows = (BH / H) * backRows;
  let r = 0;
  for (; r + 3 < nRows; r += 4) {
    const a0 = dhOff + r * H, a1 = a0 + H, a2 = a1 + H, a3 = a2 + H, out = backOff + r * H;
    let j = 0;
    for (; j + 1 < H; j += 2) { // two columns of the product at once: 8 sums from 6 loads per i
      const w = j * H, v = w + H;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let i = 0; i < H; i++) {
        const x = WT[w + i], y = WT[v + i];
        const d0 = dh[a0 + i], d1 = dh[a1 + i], d2 = dh[a2 + i], d3 = dh[a3 + i];
        s0 += d0 * x; s1 += d1 * x; s2 += d2 * x; s3 += d3 * x;
        t0 += d0 * y; t1 += d1 * y; t2 += d2 * y; t3 += d3 * y;
      }
      addScaled(back, out + j, H, m, s0, s1, s2, s3);
      addScaled(back, out + j + 1, H, m, t0, t1, t2, t3);
    }
    for (; j < H; j++) {
      const w = j * H;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < H; i++) {
        const x = WT[w + i];
        s0 += dh[a0 + i] * x; s1 += dh[a1 + i] * x; s2 += dh[a2 + i] * x; s3 += dh[a3 + i] * x;
      }
      addScaled(back, out + j, H, m, s0, s1, s2, s3);
    }
  }
  for (; r < nRows; r++) {
    const a = dhOff + r * H, out = backOff + r * H;
    for (let j = 0; j < H; j++) {
      const w = j * H;
      let s = 0;
      for (let i = 0; i < H; i++) s += dh[a + i] * WT[w + i];
      back[out + j] += m === 1 ? s : s * m;
    }
  }
}

/** back[o + r·H] += m·s_r for four rows r (m = 1 adds s_r unchanged, as Python's `back * mult` skip). */
function addScaled(back, o, H, m, s0, s1, s2, s3) {
  if (m === 1) {
    back[o] += s0; back[o + H] += s1; back[o + 2 * H] += s2; back[o + 3 * H] += s3;
  } else {
    back[o] += s0 * m; back[o + H] += s1 * m; back[o + 2 * H] += s2 * m; back[o + 3 * H] += s3 * m;
  }
}

function transpose(W, H) {
  const WT = new Float64Array(H * H);
  for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) WT[j * H + i] = W[i * H + j];
  return WT;
}

/** O(T) BPTT (Python backward_full): dL/dh_s = dH[s] + m[s+1] (dL/da_{s+1}) W, one reverse sweep.
 *  Returns dA: T·B·H, dA[s] = dL/da_s. */
function backwardFull(p, dH, fprime) {
  const { T, B, H, W, mult } = p;
  const BH = B * H, WT = transpose(W, H);
  const dA = Float64Array.from(dH);
  for (let s = T - 1; s >= 0; s--) {
    const back = s > 0 ? dA : null;
    stepBack(dA, s * BH, 1, fprime, s * BH, BH, H, WT, back, (s - 1) * BH, 1, mult[s]);
  }
  return dA;
}

/** Reverse sweep that keeps each loss term apart (Python backward_per_term): at step s the buffer holds
 *  dL_t/dh_s for t = s, s+1, ... (at most `window` terms). If G (T·T flat) is given, G[t·T + s] receives
 *  ||dL_t/dh_s||; if dA is given, dA[s] receives the sum over the terms of dL_t/da_s. */
function backwardPerTerm(p, dH, fprime, dA, G) {
  const { T, B, H, W, mult } = p;
  const reach = p.window === null ? T : Math.min(p.window, T);
  const BH = B * H, WT = transpose(W, H);
  let cur = new Float64Array(reach * BH), next = new Float64Array(reach * BH);
  let carried = 0; // rows 1..carried of cur hold dL_t/dh_s for t = s+1 .. s+carried
  for (let s = T - 1; s >= 0; s--) {
    cur.set(dH.subarray(s * BH, (s + 1) * BH), 0);
    const rows = carried + 1;
    if (G !== null) {
      for (let i = 0; i < rows; i++) {
        let q = 0;
        for (let j = i * BH, e = j + BH; j < e; j++) q += cur[j] * cur[j];
        G[(s + i) * T + s] = Math.sqrt(q);
      }
    }
    // nothing is carried past the first step, beyond the window, or across a zero multiplier (all rows would be 0)
    const nextRows = s > 0 && mult[s] !== 0 ? Math.min(rows, reach - 1) : 0;
    if (nextRows > 0) next.fill(0, BH, (nextRows + 1) * BH);
    stepBack(cur, 0, rows, fprime, s * BH, BH, H, WT, nextRows > 0 ? next : null, BH, nextRows, mult[s]);
    if (dA !== null) {
      const o = s * BH;
      for (let j = 0; j < BH; j++) dA[o + j] = cur[j];
      for (let i = 1; i < rows; i++) for (let j = 0; j < BH; j++) dA[o + j] += cur[i * BH + j];
    }
    [cur, next] = [next, cur];
    carried = nextRows;
  }
}

/** Sum every step's copy of each weight (Python param_grads): flat U, W, V, b, c. */
function paramGrads(p, hs, dA, dO) {
  const { T, B, D, H, K, xs } = p;
  const gU = new Float64Array(H * D), gW = new Float64Array(H * H), gV = new Float64Array(K * H);
  const gb = new Float64Array(H), gc = new Float64Array(K);
  for (let r = 0; r < T * B; r++) {
    const a = r * H, o = r * K;
    addOuter(gU, dA, a, H, xs, r * D, D);            // da_t ⊗ x_t
    addOuter(gW, dA, a, H, hs, r * H, H);            // da_t ⊗ h_{t-1}
    addOuter(gV, dO, o, K, hs, (B + r) * H, H);      // do_t ⊗ h_t
    for (let i = 0; i < H; i++) gb[i] += dA[a + i];
    for (let k = 0; k < K; k++) gc[k] += dO[o + k];
  }
  return { U: gU, W: gW, V: gV, b: gb, c: gc };
}

/** G += g ⊗ x for one batch row: G (n, m) flat, g = gv[gOff .. gOff + n), x = xv[xOff .. xOff + m). */
function addOuter(G, gv, gOff, n, xv, xOff, m) {
  for (let i = 0; i < n; i++) {
    const d = gv[gOff + i];
    for (let j = 0; j < m; j++) G[i * m + j] += d * xv[xOff + j];
  }
}

// ------------------------------------------------------------------------------------------ nesting
function nest(flat, shape, offset = 0) {
  if (shape.length === 1) {
    const row = new Array(shape[0]);
    for (let i = 0; i < shape[0]; i++) row[i] = flat[offset + i];
    return row;
  }
  const inner = shape.slice(1), size = inner.reduce((a, s) => a * s, 1);
  const out = new Array(shape[0]);
  for (let i = 0; i < shape[0]; i++) out[i] = nest(flat, inner, offset + i * size);
  return out;
}

function nestParams(g, H, D, K) {
  return { U: nest(g.U, [H, D]), W: nest(g.W, [H, H]), V: nest(g.V, [K, H]), b: Array.from(g.b), c: Array.from(g.c) };
}

// ------------------------------------------------------------------------------------------ public API
/**
 * The forward pass (Python bptt.forward).
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} params
 * @param {number[][][]} xs  T×B×D
 * @param {{activation?:string,h0?:number[][]}} [opts]  (the truncation keys are accepted and ignored)
 * @returns {{hs:number[][][], logits:number[][][]}}  hs: (T+1)×B×H with hs[0] = h0; logits: T×B×K
 */
export function forward(params, xs, opts) {
  const p = prepare(params, xs, null, opts, false);
  const hs = runHidden(p);
  return { hs: nest(hs, [p.T + 1, p.B, p.H]), logits: nest(outputLogits(p, hs), [p.T, p.B, p.K]) };
}

/**
 * The loss L = sum_t L_t and its gradient with respect to U, W, V, b, c (Python bptt.loss_and_grads with
 * method "bptt"; given opts.xi it equals method "randomized" with that draw).
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} params
 * @param {number[][][]} xs  T×B×D
 * @param {number[][]} ys  T×B integers in [0, K)
 * @param {{activation?:string,h0?:number[][],window?:number|null,detachEvery?:number|null,xi?:number[]|null}} [opts]
 * @returns {{loss:number, grads:{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}}}
 */
export function lossAndGrads(params, xs, ys, opts) {
  const p = prepare(params, xs, ys, opts);
  const { hs, dO, dH, fprime, losses } = forwardForBackward(p);
  let dA;
  if (p.window !== null && p.window < p.T) {
    dA = new Float64Array(p.T * p.B * p.H);
    backwardPerTerm(p, dH, fprime, dA, null);
  } else {
    dA = backwardFull(p, dH, fprime);
  }
  let loss = 0;
  for (let t = 0; t < p.T; t++) loss += losses[t];
  return { loss, grads: nestParams(paramGrads(p, hs, dA, dO), p.H, p.D, p.K) };
}

/**
 * The gradient-flow map (Python bptt.gradient_norms): G[t][k] = ||dL_t/dhs[k+1]|| (Frobenius over batch
 * and units) for k <= t, 0 for k > t, of what the given truncation actually propagates.
 * @param {object} params  as in lossAndGrads
 * @param {number[][][]} xs  T×B×D
 * @param {number[][]} ys  T×B
 * @param {object} [opts]  as in lossAndGrads
 * @returns {number[][]}  T×T
 */
export function gradientNorms(params, xs, ys, opts) {
  const p = prepare(params, xs, ys, opts);
  const { dH, fprime } = forwardForBackward(p);
  const G = new Float64Array(p.T * p.T);
  backwardPerTerm(p, dH, fprime, null, G);
  return nest(G, [p.T, p.T]);
}

/**
 * ||dL_t/dW^(k)|| (Frobenius) for every copy k = 0 .. T-1 of W, for one 0-based loss term t: copy k is the W
 * used at code step k (computing hs[k+1] from hs[k]); 0 for k > t. Without truncation this is row t of
 * Python's bptt.copy_contributions(...).norms("W"); with window / detachEvery / xi each copy's
 * contribution is multiplied by the factor with which L_t reaches step k (Python's path_weights).
 * @param {object} params  as in lossAndGrads
 * @param {number[][][]} xs  T×B×D
 * @param {number[][]} ys  T×B
 * @param {number} t  integer in [0, T)
 * @param {object} [opts]  as in lossAndGrads
 * @returns {number[]}  length T
 */
export function copyContributions(params, xs, ys, t, opts) {
  const p = prepare(params, xs, ys, opts);
  const { T, B, H, W, mult } = p;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= T) {
    throw new Error(`t must be an integer loss-term index in [0, T) = [0, ${T}), got ${describe(t)}`);
  }
  const { hs, dH, fprime } = forwardForBackward(p);
  const BH = B * H, WT = transpose(W, H);
  const reach = p.window === null ? T : Math.min(p.window, T);
  const out = new Array(T).fill(0);
  let cur = dH.slice(t * BH, (t + 1) * BH), next = new Float64Array(BH);
  const M = new Float64Array(H * H);
  for (let k = t; k > t - reach && k >= 0; k--) {
    const more = k > 0 && k > t - reach + 1;
    if (more) next.fill(0);
    stepBack(cur, 0, 1, fprime, k * BH, BH, H, WT, more ? next : null, 0, 1, mult[k]);
    // dL_t/dW^(k) = sum over the batch of da ⊗ hs[k]
    M.fill(0);
    for (let r = 0; r < B; r++) addOuter(M, cur, r * H, H, hs, (k * B + r) * H, H);
    let q = 0;
    for (let i = 0; i < H * H; i++) q += M[i] * M[i];
    out[k] = Math.sqrt(q);
    [cur, next] = [next, cur];
  }
  return out;
}

/**
 * Rescale all five gradient arrays by min(1, maxNorm / (norm + 1e-6)) (Python bptt.clip_grad_norm, the rule of
 * torch.nn.utils.clip_grad_norm_). Non-finite gradient entries are allowed (the result then has them too).
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} grads
 * @param {number} maxNorm  finite, >= 0
 * @returns {{grads:object, norm:number}}  norm: the global L2 norm before clipping
 */
export function clipGradNorm(grads, maxNorm) {
  const g = readParams(grads, "grads", true);
  finiteNumber(maxNorm, "maxNorm", (v) => v >= 0, "a finite number >= 0");
  let total = 0;
  for (const key of ["U", "W", "V", "b", "c"]) {
    let s = 0;
    for (const v of g[key]) s += v * v;
    total += s;
  }
  const norm = Math.sqrt(total);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  for (const key of ["U", "W", "V", "b", "c"]) for (let i = 0; i < g[key].length; i++) g[key][i] *= coef;
  return { grads: nestParams(g, g.H, g.D, g.K), norm };
}

/**
 * Clip every gradient entry to [-threshold, threshold] (Python bptt.clip_elementwise).
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} grads
 * @param {number} threshold  finite, > 0
 * @returns {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}}
 */
export function clipElementwise(grads, threshold) {
  const g = readParams(grads, "grads", true);
  finiteNumber(threshold, "threshold", (v) => v > 0, "a finite number > 0");
  for (const key of ["U", "W", "V", "b", "c"]) {
    const a = g[key];
    for (let i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i], -threshold), threshold);
  }
  return nestParams(g, g.H, g.D, g.K);
}

/**
 * All gradient (or parameter) entries in one vector, in the order U, W, V, b, c (Python RNNParams.flat).
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} grads
 * @returns {Float64Array}
 */
export function flatGrads(grads) {
  const g = readParams(grads, "grads", true);
  const out = new Float64Array(g.U.length + g.W.length + g.V.length + g.b.length + g.c.length);
  let o = 0;
  for (const key of ["U", "W", "V", "b", "c"]) { out.set(g[key], o); o += g[key].length; }
  return out;
}

function asVector(a, name) {
  if (isRow(a)) return flatten(a, name, [a.length], "(n,)", true);
  return flatGrads(a);
}

/** a and b (vectors, or gradients flattened) as two flat vectors of the same length, or throw. */
function asVectors(a, b) {
  const x = asVector(a, "a"), y = asVector(b, "b");
  if (x.length !== y.length) {
    throw new Error(`a and b must have the same number of entries, got ${x.length} and ${y.length}`);
  }
  return [x, y];
}

/**
 * cos of the angle between two vectors, or two gradients (flattened), clipped to [-1, 1]
 * (Python bptt.cosine). Throws for a zero vector; NaN if an entry is not finite.
 * @param {number[]|Float64Array|object} a
 * @param {number[]|Float64Array|object} b
 * @returns {number}
 */
export function cosine(a, b) {
  const [x, y] = asVectors(a, b);
  let xy = 0, xx = 0, yy = 0;
  for (let i = 0; i < x.length; i++) { xy += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i]; }
  if (xx === 0 || yy === 0) throw new Error("the cosine of a zero vector is undefined");
  return Math.min(1, Math.max(-1, xy / (Math.sqrt(xx) * Math.sqrt(yy))));
}

/**
 * ||a - b|| / ||b||: the relative error of a (say, a truncated or clipped gradient) against b (the full one).
 * Vectors or gradients (flattened). Infinity if b is zero and a is not; 0 if both are zero.
 * @param {number[]|Float64Array|object} a
 * @param {number[]|Float64Array|object} b
 * @returns {number}
 */
export function relativeError(a, b) {
  const [x, y] = asVectors(a, b);
  let dd = 0, yy = 0;
  for (let i = 0; i < x.length; i++) { dd += (x[i] - y[i]) ** 2; yy += y[i] * y[i]; }
  return dd === 0 ? 0 : Math.sqrt(dd) / Math.sqrt(yy);
}

/**
 * The lag profile of a gradient-flow map (Python bptt.lag_profile): for each lag l = 0 .. T-1 the
 * geometric mean of the positive entries G[t][t-l], or 0 if there are none.
 * @param {number[][]} G  T×T, from gradientNorms
 * @returns {{lags:number[], profile:number[]}}
 */
export function lagProfile(G) {
  const T = nestedShape(G, "G", 2, "(T, T)")[0];
  const g = flatten(G, "G", [T, T], "(T, T)", true);
  const lags = [], profile = [];
  for (let l = 0; l < T; l++) {
    let s = 0, n = 0;
    for (let t = l; t < T; t++) {
      const v = g[t * T + t - l];
      if (v > 0) { s += Math.log(v); n++; }
    }
    lags.push(l);
    profile.push(n ? Math.exp(s / n) : 0);
  }
  return { lags, profile };
}

// ------------------------------------------------------------------------------------------ randomness
/**
 * A small seeded generator: mulberry32 for uniforms, Box-Muller for standard normals. Deterministic for a
 * seed (any integer; taken modulo 2^32). Not numpy's stream: the same seed gives other numbers than Python.
 * @param {number} seed
 * @returns {{random:()=>number, normal:()=>number, integer:(n:number)=>number}}
 *   random in [0, 1), normal ~ N(0, 1), integer uniform in [0, n)
 */
export function makeRng(seed) {
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${describe(seed)}`);
  let state = seed >>> 0;
  let spare = null;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u === 0) u = random(); // log(0) excluded
    const r = Math.sqrt(-2 * Math.log(u)), theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  const integer = (n) => Math.floor(random() * n);
  return { random, normal, integer };
}

function uniformSource(rng) {
  if (rng === undefined || rng === null) return Math.random;
  if (typeof rng === "function") return rng;
  if (typeof rng === "object" && typeof rng.random === "function") return () => rng.random();
  throw new Error("rng must be a function returning numbers in [0, 1) or an object with random() (makeRng), " +
    `got ${describe(rng)}`);
}

/**
 * One randomized-truncation factor per step (Python bptt.draw_xi): xi[0] = 1; for t >= 1, xi[t] = 1/keepProb
 * with probability keepProb (a uniform draw < keepProb), else 0, so E xi[t] = 1.
 * @param {number} T  integer >= 1
 * @param {number} keepProb  in (0, 1]
 * @param {(()=>number)|{random:()=>number}} [rng]  uniform source (default Math.random)
 * @returns {number[]}  length T
 */
export function drawXi(T, keepProb, rng) {
  positiveInt(T, "T");
  finiteNumber(keepProb, "keepProb", (v) => v > 0 && v <= 1, "a number in (0, 1]");
  const u = uniformSource(rng);
  const xi = [1];
  for (let t = 1; t < T; t++) xi.push(u() < keepProb ? 1 / keepProb : 0);
  return xi;
}

// ------------------------------------------------------------------------------------------ problems
function gaussianMatrix(rows, cols, std, rng) {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = std * rng.normal();
  return m;
}

/** A uniformly random (Haar) orthogonal H×H matrix: Gram-Schmidt (QR with positive diag R) of a Gaussian. */
function orthogonal(H, rng) {
  const Q = gaussianMatrix(H, H, 1, rng); // column j = Q[i*H + j]
  for (let j = 0; j < H; j++) {
    for (let pass = 0; pass < 2; pass++) { // twice is enough (Kahan): columns orthogonal to rounding
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < H; i++) d += Q[i * H + k] * Q[i * H + j];
        for (let i = 0; i < H; i++) Q[i * H + j] -= d * Q[i * H + k];
      }
    }
    let n = 0;
    for (let i = 0; i < H; i++) n += Q[i * H + j] ** 2;
    n = Math.sqrt(n);
    for (let i = 0; i < H; i++) Q[i * H + j] /= n;
  }
  return Q;
}

function matVec(W, H, v, out) {
  for (let i = 0; i < H; i++) {
    let s = 0;
    for (let j = 0; j < H; j++) s += W[i * H + j] * v[j];
    out[i] = s;
  }
  return out;
}

function squareFlat(W, name) {
  const H = nestedShape(W, name, 2, "(H, H)")[0];
  if (H < 1) throw new Error(`${name} must be a non-empty square matrix (H, H)`);
  return { H, w: flatten(W, name, [H, H], "(H, H)") };
}

/**
 * An estimate of the spectral radius rho(W) = max |eigenvalue|: the mean growth rate per step of
 * ||W^n v|| for a fixed pseudo-random v over n = 100 .. `iterations` (power iteration, renormalised each step).
 * Exact to rounding for normal matrices with a dominant eigenvalue (rho·I, rho·orthogonal: every |eigenvalue|
 * is rho); for a general matrix the error shrinks like 1/iterations (a few tenths of a percent at 500).
 * @param {number[][]} W  H×H
 * @param {number} [iterations=500]
 * @returns {number}
 */
export function spectralRadius(W, iterations = 500) {
  const { H, w } = squareFlat(W, "W");
  return growthRate(w, H, positiveInt(iterations, "iterations"));
}

function growthRate(w, H, iterations) {
  const rng = makeRng(12345);
  let v = new Float64Array(H).map(() => rng.normal()), u = new Float64Array(H);
  const skip = Math.min(100, Math.floor(iterations / 5));
  let logSum = 0;
  for (let n = 0; n < iterations; n++) {
    let norm = 0;
    for (let i = 0; i < H; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0; // nilpotent on this vector
    for (let i = 0; i < H; i++) v[i] /= norm;
    matVec(w, H, v, u);
    [v, u] = [u, v];
    if (n >= skip) {
      let g = 0;
      for (let i = 0; i < H; i++) g += v[i] * v[i];
      logSum += 0.5 * Math.log(g);
    }
  }
  return Math.exp(logSum / (iterations - skip));
}

/**
 * sigma_max(W) = ||W||_2, the largest singular value: power iteration on W^T W (converges for any W).
 * @param {number[][]} W  H×H
 * @param {number} [iterations=300]
 * @returns {number}
 */
export function topSingularValue(W, iterations = 300) {
  const { H, w } = squareFlat(W, "W");
  positiveInt(iterations, "iterations");
  const wt = transpose(w, H), rng = makeRng(54321);
  let v = new Float64Array(H).map(() => rng.normal());
  const u = new Float64Array(H);
  let sigma = 0;
  for (let n = 0; n < iterations; n++) {
    matVec(w, H, v, u);
    let nu = 0;
    for (let i = 0; i < H; i++) nu += u[i] * u[i];
    let nv = 0;
    for (let i = 0; i < H; i++) nv += v[i] * v[i];
    if (nu === 0) return 0;
    sigma = Math.sqrt(nu / nv);
    matVec(wt, H, u, v);
    let n2 = 0;
    for (let i = 0; i < H; i++) n2 += v[i] * v[i];
    n2 = Math.sqrt(n2);
    for (let i = 0; i < H; i++) v[i] /= n2;
  }
  return sigma;
}

/**
 * A seeded random problem for the live widgets: params, xs, ys. U ~ N(0, 1/D) times inputScale, V ~ N(0, 1/H),
 * b = c = 0, xs ~ N(0, 1), ys uniform in [0, K). W has spectral radius rho:
 *   "orthogonal": rho times a Haar-random orthogonal matrix (every singular value and |eigenvalue| is rho, exact);
 *   "identity":   rho·I (exact);
 *   "gaussian":   an N(0, 1/H) matrix scaled by rho / spectralRadius(it) (the 500-step power-iteration
 *                 estimate, so rho is approximate, typically within a fraction of a percent).
 * Deterministic for a seed (its own generator, makeRng; not numpy's draws).
 * @param {{T:number,B?:number,D?:number,H?:number,K?:number,rho?:number,wKind?:string,inputScale?:number,seed?:number}} spec
 *   defaults: B 1, D 8, H 32, K 8, rho 1, wKind "orthogonal", inputScale 1, seed 0
 * @returns {{params:{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}, xs:number[][][], ys:number[][]}}
 */
export function makeProblem(spec) {
  const allowed = ["T", "B", "D", "H", "K", "rho", "wKind", "inputScale", "seed"];
  if (spec === null || typeof spec !== "object" || isRow(spec)) {
    throw new Error(`makeProblem expects an object {${allowed.join(", ")}}, got ${describe(spec)}`);
  }
  for (const key of Object.keys(spec)) {
    if (!allowed.includes(key)) throw new Error(`unknown makeProblem key "${key}"; expected some of ${allowed.join(", ")}`);
  }
  const { T, B = 1, D = 8, H = 32, K = 8, rho = 1, wKind = "orthogonal", inputScale = 1, seed = 0 } = spec;
  for (const [name, v] of [["T", T], ["B", B], ["D", D], ["H", H], ["K", K]]) positiveInt(v, name);
  finiteNumber(rho, "rho", (v) => v >= 0, "a finite number >= 0");
  finiteNumber(inputScale, "inputScale", (v) => v >= 0, "a finite number >= 0");
  oneOf(wKind, "wKind", ["orthogonal", "gaussian", "identity"]);
  const rng = makeRng(seed);
  const U = gaussianMatrix(H, D, inputScale / Math.sqrt(D), rng);
  const V = gaussianMatrix(K, H, 1 / Math.sqrt(H), rng);
  let W;
  if (wKind === "identity") {
    W = new Float64Array(H * H);
    for (let i = 0; i < H; i++) W[i * H + i] = rho;
  } else if (wKind === "orthogonal") {
    W = orthogonal(H, rng).map((v) => v * rho);
  } else {
    W = gaussianMatrix(H, H, 1 / Math.sqrt(H), rng);
    const r = growthRate(W, H, 500);
    W = W.map((v) => (r > 0 ? (v * rho) / r : 0));
  }
  const xs = nest(gaussianMatrix(T * B, D, 1, rng), [T, B, D]);
  const ys = [];
  for (let t = 0; t < T; t++) {
    const row = [];
    for (let i = 0; i < B; i++) row.push(rng.integer(K));
    ys.push(row);
  }
  const params = { U: nest(U, [H, D]), W: nest(W, [H, H]), V: nest(V, [K, H]),
    b: new Array(H).fill(0), c: new Array(K).fill(0) };
  return { params, xs, ys };
}

// ------------------------------------------------------------------------------------------ the live widget's numbers
// Everything the live widget (widget.js) shows is computed here, where tests/browser/test_engine.py checks it
// against Python; widget.js only draws it.

/**
 * The Euclidean norm of a vector, scaled so that no square overflows: Infinity if an entry is not finite.
 * @param {number[]|Float64Array} v
 * @returns {number}
 */
export function vectorNorm(v) {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  if (!Number.isFinite(m)) return Infinity;
  if (m === 0) return 0;
  let s = 0;
  for (const x of v) s += (x / m) * (x / m);
  return m * Math.sqrt(s);
}

/**
 * P: T×T, the factor with which loss term t reaches hs[k+1] (Python bptt.core.truncation.path_weights):
 * the product of the carry multipliers m[k+1 .. t] inside the window (t - k < window), 0 outside it and for k > t.
 * @param {number} T  integer >= 1
 * @param {{window?:number|null, detachEvery?:number|null, xi?:number[]|null}} [opts]  as in lossAndGrads
 * @returns {number[][]}
 */
export function pathWeights(T, opts) {
  positiveInt(T, "T");
  const o = opts || {};
  const window = o.window === undefined || o.window === null ? T : positiveInt(o.window, "window");
  const detach = o.detachEvery === undefined || o.detachEvery === null ? null : positiveInt(o.detachEvery, "detachEvery");
  const m = carryMultipliers(T, detach, o.xi === undefined ? null : o.xi);
  const P = [];
  for (let t = 0; t < T; t++) {
    const row = new Array(T).fill(0);
    let w = 1;
    for (let k = t; k >= 0 && t - k < window; k--) {
      row[k] = w;
      w *= m[k];
    }
    P.push(row);
  }
  return P;
}

/** For each lag l the t that lagProfile averages over, {t >= l : 0 < G[t][t-l]}, read off a flat T·T map. */
function lagRows(g, T, l) {
  const rows = [];
  for (let t = l; t < T; t++) if (g[t * T + t - l] > 0) rows.push(t);
  return rows;
}

/**
 * The bound on lagProfile(G) implied by eq-van-loss-bound, entry by entry (Python
 * bptt.studies.vanishing.profile_bound, which it equals when G has no zero entries): every entry obeys
 * G[t][t-l] <= rate^l G[t][t], so over the t that lagProfile averages (those with G[t][t-l] > 0) the geometric
 * mean of the left side is at most rate^l times the geometric mean of G[t][t]. bound[l] is that right side (0 where
 * lagProfile has no entry); bound[l] >= profile[l] for every l, whatever zeros the map has.
 * @param {number[][]} G  T×T, from gradientNorms (full BPTT)
 * @param {number} rate  gamma sigma_max, finite, >= 0
 * @returns {number[]}  length T
 */
export function lagBound(G, rate) {
  const T = nestedShape(G, "G", 2, "(T, T)")[0];
  const g = flatten(G, "G", [T, T], "(T, T)", true);
  finiteNumber(rate, "rate", (v) => v >= 0, "a finite number >= 0");
  const out = [];
  for (let l = 0; l < T; l++) {
    const rows = lagRows(g, T, l);
    if (!rows.length) { out.push(0); continue; }
    let s = 0;
    for (const t of rows) s += Math.log(g[t * T + t]);
    out.push(l === 0 ? Math.exp(s / rows.length) : rate > 0 ? Math.exp(s / rows.length + l * Math.log(rate)) : 0);
  }
  return out;
}

/**
 * The measured factor per step back: exp of the least-squares slope, through the origin, of log r_l against the lag
 * l >= 1, where r_l is the geometric mean over the t that lagProfile averages of G[t][t-l] / G[t][t] (entries with
 * a non-finite value left out). Each log r_l <= l log(gamma sigma_max) by eq-van-loss-bound, so the factor never
 * exceeds gamma sigma_max. NaN when no lag >= 1 has an entry.
 * @param {number[][]} G  T×T, from gradientNorms (full BPTT)
 * @returns {number}
 */
export function stepFactor(G) {
  const T = nestedShape(G, "G", 2, "(T, T)")[0];
  const g = flatten(G, "G", [T, T], "(T, T)", true);
  let num = 0, den = 0;
  for (let l = 1; l < T; l++) {
    let s = 0, n = 0;
    for (const t of lagRows(g, T, l)) {
      const a = g[t * T + t - l], d = g[t * T + t];
      if (Number.isFinite(a) && Number.isFinite(d)) { s += Math.log(a / d); n++; }
    }
    if (n) { num += l * (s / n); den += l * l; }
  }
  return den ? Math.exp(num / den) : NaN;
}

/**
 * The lag panel: lagProfile of the full-BPTT map, its bound (lagBound) at rate = gamma sigma_max(W), and the
 * measured factor per step back (stepFactor).
 * @param {number[][]} G  T×T, from gradientNorms without truncation
 * @param {number} sigmaMax  sigma_max(W) (topSingularValue)
 * @param {string} activation  one of ACTIVATIONS (gamma = DERIVATIVE_BOUND[activation])
 * @returns {{lags:number[], profile:number[], bound:number[], gamma:number, rate:number, factor:number}}
 */
export function lagPanel(G, sigmaMax, activation) {
  const gamma = DERIVATIVE_BOUND[oneOf(activation, "activation", ACTIVATIONS)];
  const rate = gamma * finiteNumber(sigmaMax, "sigmaMax", (v) => v >= 0, "a finite number >= 0");
  const { lags, profile } = lagProfile(G);
  return { lags, profile, bound: lagBound(G, rate), gamma, rate, factor: stepFactor(G) };
}

/**
 * The live widget's given network at the reader's settings: W times rho / radius (so that its spectral radius,
 * `radius` before, becomes rho) and U times inputScale; V, b, c unchanged. radius 0 leaves W zero.
 * @param {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}} params
 * @param {number} rho  finite, >= 0
 * @param {number} radius  the spectral radius of params.W, finite, >= 0
 * @param {number} [inputScale=1]  finite, >= 0
 * @returns {{U:number[][],W:number[][],V:number[][],b:number[],c:number[]}}
 */
export function withRadius(params, rho, radius, inputScale = 1) {
  const p = readParams(params);
  finiteNumber(rho, "rho", (v) => v >= 0, "a finite number >= 0");
  finiteNumber(radius, "radius", (v) => v >= 0, "a finite number >= 0");
  finiteNumber(inputScale, "inputScale", (v) => v >= 0, "a finite number >= 0");
  const f = radius > 0 ? rho / radius : 0;
  return { U: nest(p.U.map((v) => v * inputScale), [p.H, p.D]), W: nest(p.W.map((v) => v * f), [p.H, p.H]),
           V: nest(p.V, [p.K, p.H]), b: Array.from(p.b), c: Array.from(p.c) };
}

/**
 * The state's response to an impulse (Python bptt.studies.demo.impulse): inputs x_1 = e_1 for every batch entry,
 * zero afterwards, from h0 (opts.h0, or zeros with B = 1).
 * @param {object} params  as in lossAndGrads
 * @param {number} T  integer >= 1
 * @param {{activation?:string,h0?:number[][]}} [opts]
 * @returns {{units:number[][], stateNorms:number[]}}  units: T×H, h_1 .. h_T of batch entry 0; stateNorms: their norms
 */
export function impulseResponse(params, T, opts) {
  const p = readParams(params);
  positiveInt(T, "T");
  const o = opts || {};
  const B = o.h0 ? nestedShape(o.h0, "h0", 2, "(B, H)")[0] : 1;
  const xs = [];
  for (let t = 0; t < T; t++) {
    const step = [];
    for (let r = 0; r < B; r++) { const x = new Array(p.D).fill(0); if (t === 0) x[0] = 1; step.push(x); }
    xs.push(step);
  }
  const units = forward(params, xs, { activation: o.activation, h0: o.h0 }).hs.slice(1).map((h) => h[0]);
  return { units, stateNorms: units.map(vectorNorm) };
}

/**
 * A log10 colour range [lo, hi] (integer exponents) for the positive values: all of them if they span at most
 * maxDecades decades, else the 1 % .. 99 % quantiles of their logs, then at most the top maxDecades decades.
 * below / above count the positive values outside the range (drawn in the end colours); clamped says if any are.
 * Zeros and non-finite values are left out (and not counted).
 * @param {number[]|number[][]} values
 * @param {number} [maxDecades=80]
 * @returns {{lo:number, hi:number, below:number, above:number, clamped:boolean}}
 */
export function logColourRange(values, maxDecades = 80) {
  const logs = [];
  const walk = (v) => { if (isRow(v)) { for (const x of v) walk(x); } else if (v > 0 && Number.isFinite(v)) logs.push(Math.log10(v)); };
  walk(values);
  if (!logs.length) return { lo: -1, hi: 1, below: 0, above: 0, clamped: false };
  logs.sort((a, b) => a - b);
  let lo = Math.floor(logs[0]), hi = Math.ceil(logs[logs.length - 1]);
  if (hi - lo > maxDecades) {
    const q = (f) => logs[Math.round(f * (logs.length - 1))];
    lo = Math.floor(q(0.01)); hi = Math.ceil(q(0.99));
    if (hi - lo > maxDecades) lo = hi - maxDecades;
  }
  if (hi === lo) { lo -= 1; hi += 1; }
  let below = 0, above = 0;
  for (const v of logs) { if (v < lo) below++; else if (v > hi) above++; }
  return { lo, hi, below, above, clamped: below + above > 0 };
}

/**
 * Why G[t][k] is exactly 0 (0-based t, k): "future" (k > t: gradients never flow forwards), "truncated" (the
 * truncation's path weight P[t][k] is 0), "silent" (L_t sends nothing to its own state: G[t][t] = 0, its softmax
 * output equals the one-hot target to float64 precision), "vanished" (the paths exist, but a zero slope f' = 0 on
 * the way, or underflow below float64's smallest number, leaves exactly 0); null if G[t][k] is not 0.
 * @param {number[][]} G  T×T, from gradientNorms
 * @param {number[][]} P  T×T, from pathWeights with the same truncation
 * @param {number} t
 * @param {number} k
 * @returns {string|null}
 */
export function zeroCause(G, P, t, k) {
  if (k > t) return "future";
  if (G[t][k] !== 0) return null;
  if (P[t][k] === 0) return "truncated";
  if (G[t][t] === 0) return "silent";
  return "vanished";
}

/** The live widget's problem size but for T (a given network brings its own). */
export const WIDGET_DIMS = Object.freeze({ B: 1, D: 4, H: 16, K: 4 });
/** Above this a gradient norm counts as exploding (the widget says so). */
export const EXPLODING = 1e30;

function widgetTruncation(s) {
  if (s.truncation === "window") return { window: s.k };
  if (s.truncation === "detach") return { detachEvery: s.k };
  if (s.truncation === "randomized") return { xi: drawXi(s.T, s.keep_prob, makeRng(1000003 * (s.seed + 1) + 7919 * s.T)) };
  return {};
}

function widgetProblem(s) {
  if (!s.network) {
    return makeProblem({ T: s.T, ...WIDGET_DIMS, rho: s.rho, wKind: s.w_kind, inputScale: s.input_scale, seed: s.problem_seed });
  }
  const n = s.network;
  const params = withRadius(n, s.rho, n.radius, s.input_scale);
  if (n.xs) return { params, xs: n.xs.slice(0, s.T), ys: n.ys.slice(0, s.T) };
  const { xs, ys } = makeProblem({ T: s.T, B: 1, D: n.U[0].length, H: n.W.length, K: n.V.length, seed: s.problem_seed });
  return { params, xs, ys };
}

/**
 * Everything the live widget shows for its settings (the traits of bptt.present.live.GradientFlowWidget, already
 * clamped: rho, w_kind, activation, input_scale, T, truncation, k, keep_prob, seed, clipping, threshold, t (1-based),
 * problem_seed, network: live.network_state(...) or null) and the views it draws.
 * @param {object} s
 * @param {string[]} views  some of "impulse", "map", "lag", "copies", "compare"
 * @returns {object}  G, P, mapRange (map); lag: lagPanel with .truncated, the truncated map's profile (lag);
 *   units, stateNorms, sigma, unitPeaks, unitSpan, stateBound (the identity activation's bound, when b = 0)
 *   (impulse); copies, copiesSum, copiesZero (copies, for the loss term t);
 *   copies (copies); full, g, cos, relErr, preClip, gNorm, fullNorm (compare); overflow, exploding
 */
export function widgetPanels(s, views) {
  const out = { overflow: false, exploding: false };
  const { params, xs, ys } = widgetProblem(s);
  const base = { activation: s.activation, ...(s.network && s.network.h0 ? { h0: s.network.h0 } : {}) };
  const cut = widgetTruncation(s);
  const opts = { ...base, ...cut };
  const truncated = s.truncation !== "full";
  const need = (v) => views.includes(v);
  if (need("impulse") || need("lag")) out.sigma = topSingularValue(params.W);
  if (need("impulse")) {
    Object.assign(out, impulseResponse(params, s.T, base));
    // each step's largest |h_t,i|, and how many times the largest of them exceeds the smallest positive one
    out.unitPeaks = out.units.map((row) => row.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0));
    const positive = out.unitPeaks.filter((v) => v > 0);
    out.unitSpan = positive.length ? Math.max(...positive) / Math.min(...positive) : 1;
    // a linear RNN with b = 0 and no input after x_1: ||h_t|| <= sigma_max^(t-1) ||h_1||
    if (s.activation === "identity" && params.b.every((v) => v === 0) && out.stateNorms[0] > 0) {
      out.stateBound = out.stateNorms.map((_, t) => out.stateNorms[0] * out.sigma ** t);
    }
  }
  if (need("map") || need("lag")) {
    out.G = gradientNorms(params, xs, ys, opts);
    const Gfull = truncated && need("lag") ? gradientNorms(params, xs, ys, base) : out.G;
    if (need("map")) {
      out.P = pathWeights(s.T, cut);
      out.mapRange = logColourRange(out.G);
    }
    if (need("lag")) {
      out.lag = lagPanel(Gfull, out.sigma, s.activation);
      if (truncated) out.lag.truncated = lagProfile(out.G).profile;
      out.Gfull = Gfull;
    }
  }
  if (need("copies")) {
    out.copies = copyContributions(params, xs, ys, s.t - 1, opts);
    const shown = out.copies.slice(0, s.t);              // the copies k = 1 .. t that reach L_t
    out.copiesSum = shown.reduce((a, v) => a + v, 0);
    out.copiesZero = shown.filter((v) => v === 0).length;
  }
  if (need("compare")) {
    const full = flatGrads(lossAndGrads(params, xs, ys, base).grads);
    let grads = lossAndGrads(params, xs, ys, opts).grads;
    out.preClip = vectorNorm(flatGrads(grads));
    if (s.clipping === "norm") grads = clipGradNorm(grads, s.threshold).grads;
    else if (s.clipping === "element") grads = clipElementwise(grads, s.threshold);
    const g = flatGrads(grads);
    out.full = Array.from(full); out.g = Array.from(g);
    out.fullNorm = vectorNorm(full); out.gNorm = vectorNorm(g);
    try { out.cos = cosine(g, full); } catch (e) { out.cos = NaN; }  // a zero gradient has no direction
    out.relErr = relativeError(g, full);
  }
  const check = (v) => { if (!Number.isFinite(v)) out.overflow = true; else if (Math.abs(v) > EXPLODING) out.exploding = true; };
  for (const M of [out.G, out.Gfull]) if (M) for (const row of M) for (const v of row) check(v);
  for (const key of ["copies", "stateNorms", "full", "g"]) if (out[key]) for (const v of out[key]) check(v);
  return out;
}
