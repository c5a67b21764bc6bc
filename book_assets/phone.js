/* bptt-book on narrow screens (issue 18, item 9); styles in book.css ("Phones").
   - Display equations and tables wider than their box scroll in it: mark them (class bptt-scrolls: the
     CSS fades out each edge with more to show: bptt-more-left / -right), make them keyboard-focusable,
     label them.
   - Wrapped code keeps its indentation: each line of a code block hangs its continuation lines below
     its own indent.
   - Widgets reserve their space while they load: the output that holds a widget gets a min-height
     computed from the widget's saved state (frame widgets: the first frame's aspect ratio and the
     controls; live widgets: their panels and controls), removed once the widget has rendered. */
(function () {
  "use strict";
  var PHONE = "(max-width: 640px)";   // bptt.plotting.PHONE_MEDIA

  function edges(el) {   // which edges have more to show: the CSS fades them out
    var scrolls = el.classList.contains("bptt-scrolls");
    el.classList.toggle("bptt-more-left", scrolls && el.scrollLeft > 1);
    el.classList.toggle("bptt-more-right", scrolls && el.scrollLeft + el.clientWidth < el.scrollWidth - 1);
  }

  function markScrollables() {
    // MathJax's display container scrolls by itself (the theme's overflow-x: auto); a table scrolls in the
    // theme's container
    var boxes = ".bd-article div.math, .bd-article div.math > mjx-container[display=true], .bd-article .pst-scrollable-table-container";
    document.querySelectorAll(boxes).forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      el.classList.toggle("bptt-scrolls", scrolls);
      edges(el);
      if (scrolls && !el.dataset.bpttEdges) {
        el.dataset.bpttEdges = "1";
        el.addEventListener("scroll", function () { edges(el); }, {passive: true});
      }
      if (scrolls) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", el.closest("div.math") ? "equation (scrolls sideways)" : "table (scrolls sideways)");
      } else if (el.getAttribute("role") === "region") {
        el.removeAttribute("tabindex"); el.removeAttribute("role"); el.removeAttribute("aria-label");
      }
    });
  }

  function indentCode() {
    // each line of a code block becomes an inline-block span as wide as the block with a hanging indent
    // (its own indent + 4 columns); the newlines stay between the spans, so the text, the copy button's
    // innerText and the layout of unwrapped lines do not change. Pygments closes its spans at every line
    // end, so the HTML splits into whole lines.
    document.querySelectorAll(".cell_input div.highlight pre, div.highlight pre").forEach(function (pre) {
      if (pre.dataset.bpttLines) return;
      pre.dataset.bpttLines = "1";
      pre.innerHTML = pre.innerHTML.split("\n").map(function (line) {
        if (!line) return line;
        var text = line.replace(/<[^>]*>/g, "").replace(/&nbsp;/g, " ");
        var indent = (text.match(/^ */) || [""])[0].length;
        return '<span class="bptt-code-line" style="--bptt-indent:' + indent + 'ch">' + line + "</span>";
      }).join("\n");
    });
  }

  // --- widget placeholders -------------------------------------------------------------------------
  var state = null;
  function widgetState() {
    if (state) return state;
    var el = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    try { state = el ? JSON.parse(el.textContent).state : {}; } catch (e) { state = {}; }
    return state;
  }
  function model(id) { return widgetState()[String(id).replace("IPY_MODEL_", "")]; }
  function pngRatio(m) {  // height / width of a saved Image model's PNG
    var buf = (m.buffers || []).find(function (b) { return b.path && b.path[0] === "value"; });
    if (!buf) return null;
    var bytes = atob(buf.data.slice(0, 32));
    var u32 = function (o) { return ((bytes.charCodeAt(o) << 24) | (bytes.charCodeAt(o + 1) << 16) | (bytes.charCodeAt(o + 2) << 8) | bytes.charCodeAt(o + 3)) >>> 0; };
    return u32(20) / u32(16);
  }
  function firstImage(m) {
    if (!m) return null;
    if (m.model_name === "ImageModel") return m;
    var kids = (m.state && m.state.children) || [];
    for (var i = 0; i < kids.length; i++) { var found = firstImage(model(kids[i])); if (found) return found; }
    return null;
  }
  function estimateHeight(m, width) {
    var s = m.state || {}, classes = s._dom_classes || [];
    var phone = window.matchMedia(PHONE).matches;
    if (classes.indexOf("bptt-frame-widget") >= 0) {
      var kids = (s.children || []).map(model);
      var roots = kids.filter(function (k) { return k && k.model_name === "StackModel"; });
      var want = phone ? "bptt-phone-frames" : "bptt-desktop-frames";
      var root = roots.find(function (r) { return (r.state._dom_classes || []).indexOf(want) >= 0; }) || roots[0];
      var img = firstImage(root), ratio = img ? pngRatio(img) : 0.5;
      var controls = kids.length - roots.length;
      return Math.round(width * (ratio || 0.5) + controls * (phone ? 64 : 40));
    }
    if (m.model_module === "anywidget") {
      var views = (s.views || []).length || 1, ctrls = (s.controls || []).length;
      var panel = phone ? width * 0.8 : Math.min(width / Math.min(views, 2), 420) * 0.8;
      var rows = phone ? views : Math.ceil(views / 2);
      return Math.round(rows * panel + ctrls * (phone ? 44 : 20) + 60);
    }
    return 0;
  }
  function reserveWidgetSpace() {
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').forEach(function (script) {
      var out = script.parentElement;
      if (!out || out.querySelector(".widget-subarea, .jupyter-widgets")) return;
      var m;
      try { m = model(JSON.parse(script.textContent).model_id); } catch (e) { return; }
      if (!m) return;
      var h = estimateHeight(m, out.clientWidth || document.documentElement.clientWidth);
      if (!h) return;
      out.style.minHeight = h + "px";
      out.classList.add("bptt-widget-placeholder");
      var done = function () {
        if (!out.querySelector(".widget-subarea, .jupyter-widgets")) return false;
        out.style.minHeight = ""; out.classList.remove("bptt-widget-placeholder"); return true;
      };
      var obs = new MutationObserver(function () { if (done()) obs.disconnect(); });
      obs.observe(out, {childList: true, subtree: true});
    });
  }

  function start() {
    reserveWidgetSpace();
    indentCode();
    markScrollables();
    window.addEventListener("resize", markScrollables);
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(markScrollables);
    // MathJax may load after this script: check again once it has typeset
    var tries = 0, timer = setInterval(function () {
      markScrollables();
      if (++tries > 20) clearInterval(timer);
    }, 500);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
