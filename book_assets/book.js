/* bptt-book page code (loaded on every page of the static book; issue 12).
 *
 * 1. Alt text for widget frames. ipywidgets' Image has no alt attribute; bptt.widgets.frame_widget puts
 *    each frame's description in a CSS class (bptt-alt-<base64url>), and this decodes it into alt, also
 *    for the frames a widget Stack swaps in later.
 * 2. Accessible names of theme controls (see fixNames).
 * 3. Exercise answer boxes. bptt.check(name, None) emits <div class="bptt-answer" data-box=...>; here it
 *    becomes an input checked in the browser with the tolerance and messages of bptt.checks.close, or,
 *    for exercises that need Python, a note on how to run them. The plain verdict (for live notebooks) is
 *    hidden by book.css.
 */
(function () {
  "use strict";

  var ALT_PREFIX = "bptt-alt-";
  function decodeAlt(code) {                 // unpadded base64url of UTF-8 (bptt.widgets.alt_class)
    var b64 = code.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    return new TextDecoder("utf-8").decode(bytes);
  }
  function fixAlt(root) {
    root.querySelectorAll("img.widget-image").forEach(function (img) {
      var cls = Array.prototype.find.call(img.classList, function (c) { return c.indexOf(ALT_PREFIX) === 0; });
      if (cls && !img.dataset.bpttAlt) {
        try { img.setAttribute("alt", decodeAlt(cls.slice(ALT_PREFIX.length))); img.dataset.bpttAlt = "1"; }
        catch (e) { /* leave it to the fallback below */ }
      }
      if (!img.hasAttribute("alt")) img.setAttribute("alt", "interactive figure frame");
    });
  }

  // ---- Python's formatting, so the messages read as bptt.check's ----
  function fmtG(x, p) {                      // Python's format(x, f".{p}g")
    if (p === undefined) p = 6;
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var s = x.toExponential(p - 1);
    var parts = s.split("e"), exp = parseInt(parts[1], 10);
    if (exp < -4 || exp >= p) {
      var m = parts[0];
      if (m.indexOf(".") >= 0) m = m.replace(/0+$/, "").replace(/\.$/, "");
      var e = Math.abs(exp).toString();
      if (e.length < 2) e = "0" + e;
      return m + "e" + (exp < 0 ? "-" : "+") + e;
    }
    var f = x.toFixed(Math.max(0, p - 1 - exp));
    if (f.indexOf(".") >= 0) f = f.replace(/0+$/, "").replace(/\.$/, "");
    return f;
  }
  function pyShape(shape) {
    if (shape.length === 0) return "()";
    if (shape.length === 1) return "(" + shape[0] + ",)";
    return "(" + shape.join(", ") + ")";
  }

  // ---- reading an answer: a number or nested lists / tuples of numbers (np.array(...) allowed) ----
  function parseAnswer(text) {
    var s = text.trim();
    var wrapped = s.match(/^(?:np\.|numpy\.)?array\s*\(([\s\S]*)\)$/);
    if (wrapped) s = wrapped[1];
    var tokens = s.match(/\s*([\[\]\(\),]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)|True|False)\s*/g);
    if (!tokens || tokens.join("").length !== s.length) return null;
    tokens = tokens.map(function (t) { return t.trim(); });
    var i = 0;
    function value() {
      var t = tokens[i++];
      if (t === "[" || t === "(") {
        var close = t === "[" ? "]" : ")", items = [];
        while (tokens[i] !== close) {
          if (i >= tokens.length) throw new Error("unclosed");
          items.push(value());
          if (tokens[i] === ",") i++;
          else if (tokens[i] !== close) throw new Error("comma");
        }
        i++;
        return items;
      }
      if (t === "True") return 1;
      if (t === "False") return 0;
      var x = parseFloat(t.replace(/inf/, "Infinity"));
      if (/nan/.test(t)) x = NaN;
      if (t === undefined || (Number.isNaN(x) && !/nan/.test(t))) throw new Error("number");
      return x;
    }
    try {
      var v = value();
      if (i !== tokens.length) return null;
      return v;
    } catch (e) { return null; }
  }
  function shapeOf(v) {                      // null if ragged
    if (!Array.isArray(v)) return [];
    if (v.length === 0) return [0];
    var inner = shapeOf(v[0]);
    if (inner === null) return null;
    for (var k = 1; k < v.length; k++) {
      var s = shapeOf(v[k]);
      if (s === null || s.join() !== inner.join()) return null;
    }
    return [v.length].concat(inner);
  }
  function flat(v) { return Array.isArray(v) ? [].concat.apply([], v.map(flat)) : [v]; }

  // bptt.checks.close for numbers and arrays, with its messages
  function closeCheck(answer, box) {
    var what = box.what, shape = shapeOf(answer);
    if (shape === null) return [false, "expected a number or array for the " + what + ", got a ragged list"];
    var expShape = box.shape;
    if (shape.join() !== expShape.join() || shape.length !== expShape.length)
      return [false, "the " + what + " has shape " + pyShape(shape) + ", expected " + pyShape(expShape)];
    var a = flat(answer), e = flat(box.expected);
    if (!a.every(Number.isFinite)) return [false, "the " + what + " contains NaN or inf"];
    var err = 0, ok = true;
    for (var k = 0; k < a.length; k++) {
      var d = Math.abs(a[k] - e[k]);
      if (!(d <= box.atol + box.rtol * Math.abs(e[k]))) ok = false;
      err = Math.max(err, d);
    }
    if (ok) return [true, box.ok_message];
    return [false, "the " + what + " is off by up to " + fmtG(err, 3) + " (tolerance rtol=" + fmtG(box.rtol, 6) + ")"];
  }

  var HOWTO = "To run it, open this chapter as a live notebook: the rocket button at the top of the page " +
    "opens it in Binder or Colab, and the download button gives the .ipynb to open in Jupyter on your " +
    "computer (its first cell installs the bptt library). Replace the placeholder in the cell above and run it; " +
    "the check prints its verdict. The solution is in the hidden cell below (click to show it).";

  var counter = 0;
  function buildBox(div) {
    if (div.dataset.bpttReady) return;
    div.dataset.bpttReady = "1";
    var name = div.dataset.exercise, hint = div.dataset.hint || "";
    var boxJson = div.dataset.box;
    if (!boxJson) {
      var p = document.createElement("p");
      p.className = "bptt-howto";
      p.textContent = "This exercise asks for Python code. " + HOWTO;
      div.appendChild(p);
      return;
    }
    var box = JSON.parse(boxJson);
    var id = "bptt-answer-" + (++counter);
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "Your answer to exercise " + name +
      (box.shape.length ? " (an array of shape " + pyShape(box.shape) + ", e.g. [[1, 2], [3, 4]])" : " (a number)");
    var row = document.createElement("div");
    row.className = "bptt-answer-row";
    var input = document.createElement("input");
    input.type = "text"; input.id = id; input.autocomplete = "off"; input.spellcheck = false;
    var button = document.createElement("button");
    button.type = "button"; button.textContent = "Check";
    var verdict = document.createElement("div");
    verdict.className = "bptt-verdict"; verdict.setAttribute("role", "status"); verdict.setAttribute("aria-live", "polite");
    function run() {
      var value = parseAnswer(input.value);
      var res = value === null
        ? [false, "could not read that as a number or array: write e.g. 0.25, 1e-3 or [[1, 2], [3, 4]]"]
        : closeCheck(value, box);
      var msg = res[1];
      if (!res[0] && hint) msg += ". Hint: " + hint;
      verdict.textContent = (res[0] ? "\u2713 Correct" : "\u2717 Not yet") + " (" + name + "): " + msg;
      verdict.className = "bptt-verdict " + (res[0] ? "ok" : "bad");
    }
    button.addEventListener("click", run);
    input.addEventListener("keydown", function (ev) { if (ev.key === "Enter") run(); });
    row.appendChild(input); row.appendChild(button);
    var note = document.createElement("p");
    note.className = "bptt-howto";
    note.textContent = "Checked in your browser with the tolerance of bptt.check. To compute it in Python instead: " +
      HOWTO.charAt(0).toLowerCase() + HOWTO.slice(1);
    div.appendChild(label); div.appendChild(row); div.appendChild(verdict); div.appendChild(note);
  }

  // Theme controls whose accessible name does not contain their visible text (axe: label-content-name-
  // mismatch): the name of a control should be what a sighted user reads on it.
  function fixNames(root) {
    root.querySelectorAll(".search-button-field[aria-label]").forEach(function (b) {
      var text = (b.innerText || b.textContent || "").replace(/\s+/g, " ").trim();
      if (text && b.getAttribute("aria-label") !== text) b.setAttribute("aria-label", text);
    });
    root.querySelectorAll(".theme-switch-button svg, .theme-switch-button i").forEach(function (icon) {
      // the icons' titles (Light / Dark / System Settings) are not the button's name ("Color mode")
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("aria-labelledby");
      icon.removeAttribute("role");
      icon.querySelectorAll("title").forEach(function (t) { t.remove(); });
    });
    // ipywidgets' slider handle (role=slider) has no name: name it by the slider's label and let it say
    // the value its readout shows (a SelectionSlider's own value is only an index)
    document.querySelectorAll(".widget-slider").forEach(function (slider) {
      var label = slider.querySelector(".widget-label"), readout = slider.querySelector(".widget-readout");
      slider.querySelectorAll(".noUi-handle").forEach(function (h) {
        var name = label && label.textContent.trim();
        if (name && h.getAttribute("aria-label") !== name) h.setAttribute("aria-label", name);
        var value = readout && (readout.value || readout.textContent || "").trim();
        if (value && h.getAttribute("aria-valuetext") !== value) h.setAttribute("aria-valuetext", value);
      });
    });
    root.querySelectorAll("details > summary[aria-label]").forEach(function (s) {
      s.removeAttribute("aria-label");            // "Show code cell content" names it
    });
  }

  function scan(root) {
    fixAlt(root);
    fixNames(root);
    root.querySelectorAll(".bptt-answer").forEach(buildBox);
  }

  function start() {
    scan(document);
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        if (r.target && r.target.nodeType === 1) fixAlt(r.target.parentNode || r.target);
        r.addedNodes.forEach(function (n) {
          if (n.nodeType === 1) n.parentNode && n.parentNode.querySelectorAll(".bptt-answer").forEach(buildBox);
        });
      });
      fixNames(document);   // once per batch: names and readout values of controls
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true,
                                attributeFilter: ["class"] });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  window.bpttBook = { fmtG: fmtG, parseAnswer: parseAnswer, closeCheck: closeCheck };
})();
