/* A bridge from the MathJax 2 API to MathJax 3, for ipywidgets' page code.
 *
 * @jupyter-widgets/html-manager typesets every control's description with
 * MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), the MathJax 2 API. The book
 * serves MathJax 3, which has no Hub, so each widget label threw a TypeError.
 * This gives every object assigned to window.MathJax (Sphinx's configuration, then
 * MathJax 3 itself, which replaces it) a Hub whose Queue forwards to MathJax 3's
 * typesetPromise, so labels are typeset and nothing throws.
 * Load it before the widget scripts (see nb_ipywidgets_js in _config.yml). */
(function () {
  "use strict";
  var hub = {
    Queue: function (job) {
      var mj = window.MathJax;
      var element = job && job[2];
      if (element && mj && typeof mj.typesetPromise === "function") {
        mj.typesetPromise([element]).catch(function () {});
      }
    }
  };
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      value.Hub = hub;
    }
    return value;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
})();
