// Formwork staff pages: live form rules. The server is the one rule
// evaluator: on every change this posts the form as it stands to the
// page's preview address and applies the verdict (visible, required,
// readonly, computed values, errors) without reloading the page.
(function () {
  "use strict";

  function setup(form) {
    var url = form.getAttribute("data-preview");
    if (!url) return;
    var touched = {};
    var timer = null;
    var seq = 0;

    function fieldKey(el) {
      var box = el.closest("[data-field]");
      return box ? box.getAttribute("data-field") : null;
    }

    function schedule(ev) {
      var k = ev && ev.target ? fieldKey(ev.target) : null;
      if (k) touched[k] = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, ev && ev.type === "input" ? 300 : 0);
    }

    function run() {
      var my = ++seq;
      var body = new URLSearchParams(new FormData(form));
      var token = form.querySelector("input[name=_csrf]");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/json",
          "X-CSRF-Token": token ? token.value : ""
        },
        body: body.toString()
      }).then(function (r) {
        if (!r.ok) throw new Error("preview " + r.status);
        return r.json();
      }).then(function (res) {
        if (my !== seq) return; // a newer answer is on its way
        apply(res);
      }).catch(function () { /* the plain submit still works */ });
    }

    function apply(res) {
      var boxes = form.querySelectorAll("[data-field]");
      var errs = {};
      (res.errors || []).forEach(function (e) {
        if (e.field && !errs[e.field]) errs[e.field] = e.message;
      });
      for (var i = 0; i < boxes.length; i++) {
        var box = boxes[i];
        if (box.parentElement && box.parentElement.closest("[data-field]")) continue;
        var k = box.getAttribute("data-field");
        var st = (res.fields || {})[k];
        if (!st) continue;
        box.hidden = !st.visible;
        var marks = box.querySelectorAll(".req, .req-text");
        for (var j = 0; j < marks.length; j++) marks[j].hidden = !st.required;
        var inputs = box.querySelectorAll("input, select, textarea");
        for (var m = 0; m < inputs.length; m++) {
          var inp = inputs[m];
          if (inp.type === "hidden") continue;
          if (inp.tagName === "SELECT" || inp.type === "checkbox" || inp.type === "radio") {
            inp.disabled = !!st.readonly;
          } else {
            inp.readOnly = !!st.readonly;
          }
          if (st.required) inp.setAttribute("aria-required", "true"); else inp.removeAttribute("aria-required");
        }
        if (st.computed && res.values && Object.prototype.hasOwnProperty.call(res.values, k)) {
          var out = box.querySelector("output, input");
          if (out) {
            if (out.tagName === "OUTPUT") out.textContent = res.values[k]; else out.value = res.values[k];
          }
        }
        var msg = box.querySelector(".field-error");
        var text = touched[k] && st.visible ? (errs[k] || "") : "";
        if (msg && (touched[k] || !msg.textContent)) {
          msg.textContent = text;
          box.classList.toggle("has-error", text !== "");
        }
      }
    }

    form.addEventListener("change", schedule);
    form.addEventListener("input", schedule);
    form.addEventListener("submit", function () {
      // Values of disabled controls are not posted; the server keeps what
      // readonly fields hold, so nothing is lost.
      if (timer) clearTimeout(timer);
    });
    run();
  }

  function init() {
    var forms = document.querySelectorAll("form.fw-form[data-preview]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
