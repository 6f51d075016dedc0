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

    // data-rules is "busy" from a change until the answer to the last one
    // is applied, then "idle": the answer may show errors and fields and
    // so move what is below them (tests wait for it before they click)
    function busy(b) {
      form.setAttribute("data-rules", b ? "busy" : "idle");
    }

    function schedule(ev) {
      var k = ev && ev.target ? fieldKey(ev.target) : null;
      if (k) touched[k] = true;
      if (timer) clearTimeout(timer);
      busy(true);
      timer = setTimeout(run, ev && ev.type === "input" ? 300 : 0);
    }

    function run() {
      timer = null;
      busy(true);
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
        form.dispatchEvent(new CustomEvent("fw:rules", { detail: res })); // rows.js shows the rows' part
        if (!timer) busy(false);
      }).catch(function () {
        // the plain submit still works
        if (my === seq && !timer) busy(false);
      });
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
        var msg = box.querySelector(":scope > .field-error"); // not a subform cell's
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

  // Date-times: the server renders datetime-local values in UTC and reads
  // posted ones in the offset of a _tz field (minutes east of UTC), UTC
  // without it. This shows them in local time and adds _tz to the form.
  function localTimes(form) {
    var inputs = form.querySelectorAll("input[type=datetime-local]");
    if (!inputs.length || form.querySelector("input[name=_tz]")) return;
    var off = -new Date().getTimezoneOffset();
    for (var i = 0; i < inputs.length; i++) {
      var v = inputs[i].value;
      if (!v) continue;
      var d = new Date(v + (v.length === 16 ? ":00" : "") + "Z");
      if (isNaN(d.getTime())) continue;
      var l = new Date(d.getTime() + off * 60000).toISOString();
      inputs[i].value = l.slice(0, 16);
    }
    var tz = document.createElement("input");
    tz.type = "hidden";
    tz.name = "_tz";
    tz.value = String(off);
    form.appendChild(tz);
  }

  // Fill on pick (a relation's x-fill, data-fill): the server says what
  // the picked record puts into this form's fields, as the user may see
  // it. A value the user sees masked is no value of this record: it shows
  // as the field's placeholder with a note, the field stays empty for the
  // user to type into, and the server stores nothing of it whatever this
  // page sends.
  function fillFrom(inp, record) {
    var url = inp.getAttribute("data-fill");
    var form = inp.form;
    if (!url || !form || !record) return;
    fetch(url + "?record=" + encodeURIComponent(record), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("fill " + r.status); return r.json(); })
      .then(function (res) {
        if (inp.value !== record) return; // picked another meanwhile
        var vals = res.values || {};
        Object.keys(vals).forEach(function (k) {
          var el = form.querySelector("[name=\"" + k + "\"]");
          if (!el || el.type === "hidden" || el.type === "file" || el.readOnly || el.disabled) return;
          var v = vals[k], box = el.closest("[data-field]");
          var note = box ? box.querySelector(".fill-note") : null;
          if (!el.hasAttribute("data-placeholder")) el.setAttribute("data-placeholder", el.getAttribute("placeholder") || "");
          if (v.masked) {
            el.value = "";
            el.setAttribute("placeholder", String(v.value));
            el.setAttribute("data-fill-masked", "");
            if (box && !note) {
              note = document.createElement("p");
              note.className = "hint fill-note";
              note.id = el.id + "-fill";
              el.parentNode.insertBefore(note, el.nextSibling);
              el.setAttribute("aria-describedby", ((el.getAttribute("aria-describedby") || "") + " " + note.id).trim());
            }
            if (note) { note.textContent = inp.getAttribute("data-fill-masked"); note.hidden = false; }
          } else {
            el.value = v.value === null || v.value === undefined ? "" : String(v.value);
            el.setAttribute("placeholder", el.getAttribute("data-placeholder"));
            el.removeAttribute("data-fill-masked");
            if (note) note.hidden = true;
          }
        });
        form.dispatchEvent(new Event("change", { bubbles: true }));
      })
      .catch(function () { /* the server fills on save all the same */ });
  }

  // Pickers for member, unit and relation inputs (data-pick): a search
  // box with a list of choices from the server, by keyboard (arrows,
  // Enter, Escape) or pointer. The original input becomes the hidden
  // value; without script it stays a plain input for the id.
  var pickSeq = 0;
  function picker(inp) {
    var url = inp.getAttribute("data-pick");
    if (!url || inp.readOnly || inp.type === "hidden") return;
    var id = inp.id || "pick-" + (++pickSeq);
    var box = document.createElement("div");
    box.className = "picker";
    var search = document.createElement("input");
    search.type = "text";
    search.id = id;
    search.autocomplete = "off";
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-expanded", "false");
    search.setAttribute("aria-controls", id + "-list");
    var desc = inp.getAttribute("aria-describedby");
    if (desc) search.setAttribute("aria-describedby", desc);
    search.value = inp.getAttribute("data-picked") || inp.value;
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "pick-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    inp.id = id + "-value";
    inp.type = "hidden";
    inp.parentNode.insertBefore(box, inp.nextSibling);
    box.appendChild(search);
    box.appendChild(list);
    var shown = document.getElementById(id + "-picked");
    if (shown) shown.hidden = true;
    var items = [], active = -1, timer = null, seq = 0;

    function close() {
      list.hidden = true;
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(i) {
      var opts = list.children;
      for (var j = 0; j < opts.length; j++) opts[j].setAttribute("aria-selected", j === i ? "true" : "false");
      active = i;
      if (i >= 0 && opts[i]) {
        search.setAttribute("aria-activedescendant", opts[i].id);
        if (opts[i].scrollIntoView) opts[i].scrollIntoView({ block: "nearest" });
      }
    }
    function choose(i) {
      var it = items[i];
      if (!it) return;
      inp.value = it.value;
      search.value = it.label;
      close();
      inp.dispatchEvent(new Event("change", { bubbles: true }));
      fillFrom(inp, it.value);
    }
    function render(res) {
      items = res.items || [];
      list.textContent = "";
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.id = id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.textContent = (it.depth ? new Array(it.depth + 1).join("\u2014 ") : "") + it.label;
        if (it.hint) {
          var h = document.createElement("span");
          h.className = "hint";
          h.textContent = " " + it.hint;
          li.appendChild(h);
        }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "hint";
        none.textContent = document.documentElement.lang === "en" ? "No matches" : "没有匹配项";
        list.appendChild(none);
      }
      list.hidden = false;
      search.setAttribute("aria-expanded", "true");
      mark(items.length ? 0 : -1);
    }
    function fetchNow() {
      var my = ++seq;
      var q = search.value === (inp.getAttribute("data-picked") || inp.value) ? "" : search.value;
      fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("pick " + r.status); return r.json(); })
        .then(function (res) { if (my === seq && document.activeElement === search) render(res); })
        .catch(function () { close(); });
    }
    search.addEventListener("input", function (ev) {
      ev.stopPropagation();
      if (search.value === "") { inp.value = ""; inp.dispatchEvent(new Event("change", { bubbles: true })); }
      if (timer) clearTimeout(timer);
      timer = setTimeout(fetchNow, 200);
    });
    search.addEventListener("change", function (ev) { ev.stopPropagation(); });
    // Enter in the search box picks; it never submits the form (a
    // keypress may arrive apart from its keydown, e.g. from automation)
    search.addEventListener("keypress", function (ev) { if (ev.key === "Enter") ev.preventDefault(); });
    search.addEventListener("focus", fetchNow);
    search.addEventListener("blur", function () { setTimeout(close, 100); });
    search.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (list.hidden) { fetchNow(); return; }
        var n = items.length;
        if (!n) return;
        mark(ev.key === "ArrowDown" ? (active + 1) % n : (active - 1 + n) % n);
      } else if (ev.key === "Enter") {
        if (!list.hidden && active >= 0) { ev.preventDefault(); choose(active); }
      } else if (ev.key === "Escape") {
        if (!list.hidden) { ev.preventDefault(); close(); }
      }
    });
  }

  function init() {
    var forms = document.querySelectorAll("form");
    for (var f = 0; f < forms.length; f++) localTimes(forms[f]);
    var picks = document.querySelectorAll("input[data-pick]");
    for (var p = 0; p < picks.length; p++) picker(picks[p]);
    var fw = document.querySelectorAll("form.fw-form[data-preview]");
    for (var i = 0; i < fw.length; i++) setup(fw[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
