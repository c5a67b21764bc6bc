/* bptt-book page code (loaded on every page of the static book; issue 12).
 *
 * 1. Alt text for widget frames. ipywidgets' Image has no alt attribute; bptt.widgets.frame_widget puts
 *    each frame's description in a CSS class (bptt-alt-<base64url>), and this decodes it into alt, also
 *    for the frames a widget Stack swaps in later.
 * 2. Accessible names of theme controls (see fixNames).
 * 3. Exercise answer boxes. bptt.check(name, None) emits <div class="bptt-answer" data-box=...>; here it
 *    becomes an input checked in the browser by the box's rule, with the messages of bptt.present.checks.judge,
 *    or, for exercises that need Python, a note on how to run them. The plain verdict (for live notebooks) is
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

  // ---- answer boxes: the rules of bptt.present.checks.judge, with its messages ----
  // A box (the JSON bptt.check(name, None) puts in data-box, made by checks.answer_box) names its rule: "close"
  // (every entry within atol + rtol |expected|: a value copied to 3 significant digits passes), "exact" (integers,
  // or True/False with kind "bool", equal to one of the accepted values) or "steps" (distinct integers, any order).
  // tests/browser/test_answer_boxes.py runs the same answers through this and through Python's judge.

  // The text a reader types, read as Python reads a literal: nested lists / tuples (np.array(...) allowed) of
  // leaves {kind: "int" | "float" | "bool", value}; 1 is an int, 1.0 and 1e3 are floats. null if unreadable.
  function parseAnswer(text) {
    var s = text.trim();
    var wrapped = s.match(/^(?:np\.|numpy\.)?array\s*\(([\s\S]*)\)$/);
    if (wrapped) s = wrapped[1];
    var tokens = s.match(/\s*([\[\]\(\),]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)|True|False|true|false)\s*/g);
    if (!tokens || tokens.join("").length !== s.length || !s.length) return null;
    tokens = tokens.map(function (t) { return t.trim(); });
    var i = 0;
    function value() {
      var t = tokens[i++];
      if (t === undefined) throw new Error("end");
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
      if (/^(True|true|False|false)$/.test(t)) return { kind: "bool", value: /^[Tt]/.test(t) ? 1 : 0 };
      if (/nan/.test(t)) return { kind: "float", value: NaN };
      if (/inf/.test(t)) return { kind: "float", value: t.charAt(0) === "-" ? -Infinity : Infinity };
      if (/^[-+]?\d+$/.test(t)) return { kind: "int", value: parseInt(t, 10) };
      if (/^[\])},]$/.test(t)) throw new Error("number");
      return { kind: "float", value: parseFloat(t) };
    }
    try {
      var v = value();
      if (i !== tokens.length) return null;
      return v;
    } catch (e) { return null; }
  }
  function shapeOf(v) {                      // null if ragged
    if (!Array.isArray(v)) return [];
    var inner = v.map(shapeOf);
    for (var k = 0; k < inner.length; k++) if (inner[k] === null || inner[k].join() !== inner[0].join()) return null;
    return [v.length].concat(inner.length ? inner[0] : []);
  }
  function leaves(v) { return Array.isArray(v) ? [].concat.apply([], v.map(leaves)) : [v]; }
  function flatNumbers(v) { return Array.isArray(v) ? [].concat.apply([], v.map(flatNumbers)) : [Number(v)]; }
  function pyShape(shape) { return "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")"); }
  function sameList(a, b) { return a.length === b.length && a.every(function (x, k) { return x === b[k]; }); }

  // checks.judge on a parsed answer: [right?, message]
  function judge(box, tree) {
    var what = box.what, label = box.label;
    if (tree === null) return [false, "could not read the " + what + " as " + label];
    var shape = shapeOf(tree);
    if (shape === null) return [false, "the " + what + " is a ragged list; expected " + label];
    var ls = leaves(tree), values = ls.map(function (l) { return l.value; }), right = [];
    if (box.rule === "steps") {
      if (shape.length !== 1 || ls.some(function (l) { return l.kind !== "int"; })) return [false, "give the " + what + " as " + label];
      var sorted = values.slice().sort(function (a, b) { return a - b; });
      for (var k = 1; k < sorted.length; k++) if (sorted[k] === sorted[k - 1]) return [false, "list each of the " + what + " once"];
      box.accept.forEach(function (acc, j) {
        if (sameList(sorted, flatNumbers(acc).sort(function (a, b) { return a - b; }))) right.push(j);
      });
    } else {
      if (!sameList(shape, box.shape)) return [false, "the " + what + " has shape " + pyShape(shape) + ", expected " + pyShape(box.shape)];
      if (!values.every(Number.isFinite)) return [false, "the " + what + " contains NaN or inf"];
      if (box.rule === "exact") {
        var want = box.kind || "int";
        if (ls.some(function (l) { return l.kind !== want; })) {
          return [false, want === "bool" ? "the " + what + " must be True or False values"
            : shape.length ? "the " + what + " must be whole numbers (exact counts), not decimals"
            : "the " + what + " must be a whole number (an exact count), not a decimal"];
        }
        box.accept.forEach(function (acc, j) { if (sameList(values, flatNumbers(acc))) right.push(j); });
      } else {
        var e = flatNumbers(box.accept[0]);
        if (values.every(function (a, k) { return Math.abs(a - e[k]) <= box.atol + box.rtol * Math.abs(e[k]); })) right.push(0);
      }
    }
    if (right.length) return [true, box.ok && box.ok.length ? box.ok[right[0]] : "the " + what + " is right"];
    return [false, "the " + what + (box.rule === "steps" ? " are" : " is") + " not right yet"];
  }

  var counter = 0;
  function buildBox(div) {
    if (div.dataset.bpttReady) return;
    div.dataset.bpttReady = "1";
    var name = div.dataset.exercise, hint = div.dataset.hint || "";
    var boxJson = div.dataset.box;
    if (!boxJson) {
      var p = document.createElement("p");
      p.className = "bptt-howto";
      p.textContent = "This exercise asks for Python code: run it in a live notebook (the download or rocket " +
        "button at the top of the page). The solution is in the hidden cell below.";
      div.appendChild(p);
      return;
    }
    var box = JSON.parse(boxJson);
    var id = "bptt-answer-" + (++counter);
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "Your answer to exercise " + name + ": " + box.label;
    var row = document.createElement("div");
    row.className = "bptt-answer-row";
    var input = document.createElement("input");
    input.type = "text"; input.id = id; input.autocomplete = "off"; input.spellcheck = false;
    var button = document.createElement("button");
    button.type = "button"; button.textContent = "Check";
    var verdict = document.createElement("div");
    verdict.className = "bptt-verdict"; verdict.setAttribute("role", "status"); verdict.setAttribute("aria-live", "polite");
    function run() {
      var res = judge(box, parseAnswer(input.value));
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
    note.textContent = "Checked in your browser; the solution is in the hidden cell below.";
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

})();
