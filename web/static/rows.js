// Formwork staff pages: subform rows. Rows are added, removed and moved
// with buttons, by dragging the handle (mouse, pen or finger) or with the
// arrow keys on the handle; after each change the rows are numbered again
// (names KEY.N.COL in the order shown, which is the order the server
// stores) and the form is told it changed, so app.js asks the server for
// the rules' verdict. The verdict's rows part (computed cells, cells shown
// or hidden by their row's rules, errors on a cell) is applied here.
(function () {
  "use strict";

  function esc(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function setup(wrap) {
    var key = wrap.getAttribute("data-rows");
    var body = wrap.querySelector("tbody");
    var blank = wrap.querySelector("template[data-blank]");
    var add = wrap.querySelector("[data-row-add]");
    var status = wrap.querySelector("[data-row-status]");
    if (!key || !body || !blank || !add) return;
    wrap.setAttribute("data-rows-live", "");
    var nameRe = new RegExp("^" + esc(key) + "\\.(\\d+|ROW)\\.");
    var idRe = new RegExp("^f-" + esc(key) + "-(\\d+|ROW)-");

    function rows() { return Array.prototype.slice.call(body.querySelectorAll(":scope > tr[data-row]")); }

    function say(attr, n) {
      if (status) status.textContent = (wrap.getAttribute(attr) || "").replace("%d", String(n));
    }

    // changed tells the form (and app.js) that the rows changed.
    function changed() { wrap.dispatchEvent(new Event("change", { bubbles: true })); }

    function renumber() {
      var all = rows();
      all.forEach(function (tr, i) {
        var nos = tr.querySelectorAll("[data-row-no]");
        for (var j = 0; j < nos.length; j++) nos[j].textContent = String(i + 1);
        var els = tr.querySelectorAll("[name], [id], label[for], [aria-describedby]");
        for (var k = 0; k < els.length; k++) {
          var el = els[k];
          if (el.name && nameRe.test(el.name)) el.name = el.name.replace(nameRe, key + "." + i + ".");
          if (el.id && idRe.test(el.id)) el.id = el.id.replace(idRe, "f-" + key + "-" + i + "-");
          var f = el.getAttribute("for");
          if (f && idRe.test(f)) el.setAttribute("for", f.replace(idRe, "f-" + key + "-" + i + "-"));
          var d = el.getAttribute("aria-describedby");
          if (d && idRe.test(d)) el.setAttribute("aria-describedby", d.replace(idRe, "f-" + key + "-" + i + "-"));
        }
        tr.querySelector("[data-row-up]").disabled = i === 0;
        tr.querySelector("[data-row-down]").disabled = i === all.length - 1;
      });
    }

    function addRow() {
      body.appendChild(document.importNode(blank.content, true));
      renumber();
      var all = rows();
      var first = all[all.length - 1].querySelector("input, select, textarea");
      if (first) first.focus();
      say("data-msg-added", all.length);
    }

    function clearRow(tr) {
      var els = tr.querySelectorAll("input, select, textarea");
      for (var i = 0; i < els.length; i++) {
        if (els[i].type === "checkbox" || els[i].type === "radio") els[i].checked = false;
        else els[i].value = "";
      }
      var outs = tr.querySelectorAll("output");
      for (var j = 0; j < outs.length; j++) outs[j].textContent = "";
    }

    function removeRow(tr) {
      var all = rows();
      var i = all.indexOf(tr);
      if (all.length === 1) {
        clearRow(tr); // one row stays to type into
      } else {
        tr.remove();
      }
      renumber();
      var rest = rows();
      var next = rest[Math.min(i, rest.length - 1)];
      var focus = next && next.querySelector("[data-row-remove]");
      (focus || add).focus();
      say("data-msg-gone", 0);
      changed();
    }

    function moveRow(tr, by, keep) {
      var all = rows();
      var i = all.indexOf(tr), j = i + by;
      if (j < 0 || j >= all.length) return;
      if (by < 0) body.insertBefore(tr, all[j]);
      else body.insertBefore(tr, all[j].nextSibling);
      renumber();
      if (keep) {
        if (keep.disabled) keep = tr.querySelector(by < 0 ? "[data-row-down]" : "[data-row-up]");
        keep.focus();
      }
      say("data-msg-moved", j + 1);
      changed();
    }

    add.addEventListener("click", addRow);
    body.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b || !body.contains(b)) return;
      var tr = b.closest("tr[data-row]");
      if (b.hasAttribute("data-row-remove")) removeRow(tr);
      else if (b.hasAttribute("data-row-up")) moveRow(tr, -1, b);
      else if (b.hasAttribute("data-row-down")) moveRow(tr, 1, b);
    });
    body.addEventListener("keydown", function (ev) {
      var b = ev.target.closest("[data-row-drag]");
      if (!b || (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")) return;
      ev.preventDefault();
      moveRow(b.closest("tr[data-row]"), ev.key === "ArrowUp" ? -1 : 1, b);
    });
    body.addEventListener("input", function (ev) {
      var tr = ev.target.closest("tr[data-row]");
      if (tr) tr.setAttribute("data-touched", "");
    });

    // Dragging by the handle (pointer events: mouse, pen and touch alike):
    // a line shows where the row lands; it moves there on release. The
    // row stays in place meanwhile, so the handle keeps the pointer.
    body.addEventListener("pointerdown", function (ev) {
      var h = ev.target.closest("[data-row-drag]");
      if (!h || (ev.pointerType === "mouse" && ev.button !== 0)) return;
      ev.preventDefault();
      var tr = h.closest("tr[data-row]");
      var from = rows().indexOf(tr), to = from;
      try { h.setPointerCapture(ev.pointerId); } catch (e) { /* released already */ }
      tr.classList.add("row-dragging");
      function mark() {
        rows().forEach(function (r, i) {
          r.classList.toggle("drop-before", to !== from && i === to && to < from);
          r.classList.toggle("drop-after", to !== from && i === to && to > from);
        });
      }
      function move(e) {
        e.preventDefault();
        // near the window's edge the page scrolls, so a long list can be crossed
        if (e.clientY < 40) window.scrollBy(0, -20);
        else if (e.clientY > window.innerHeight - 40) window.scrollBy(0, 20);
        var all = rows();
        to = from;
        for (var i = 0; i < all.length; i++) {
          var b = all[i].getBoundingClientRect();
          if (i < from && e.clientY < b.top + b.height / 2) { to = i; break; }
          if (i > from && e.clientY > b.top + b.height / 2) to = i;
        }
        mark();
      }
      function end(e) {
        h.removeEventListener("pointermove", move);
        h.removeEventListener("pointerup", end);
        h.removeEventListener("pointercancel", end);
        tr.classList.remove("row-dragging");
        var go = e.type === "pointerup" ? to : from;
        to = from;
        mark();
        if (go !== from) moveRow(tr, go - from, h);
      }
      h.addEventListener("pointermove", move);
      h.addEventListener("pointerup", end);
      h.addEventListener("pointercancel", end);
    });

    // filled reports whether a row posts anything (the server drops empty
    // rows, so the verdict's rows are the filled rows in order).
    function filled(tr) {
      var els = tr.querySelectorAll("input[name], select[name], textarea[name]");
      for (var i = 0; i < els.length; i++) {
        var el = els[i];
        if (el.disabled) continue;
        if (el.type === "checkbox" || el.type === "radio") { if (el.checked) return true; continue; }
        if (String(el.value).trim() !== "") return true;
      }
      return false;
    }

    function show(v) {
      if (v === undefined || v === null) return "";
      return typeof v === "object" ? "" : String(v);
    }

    // apply shows the verdict's part about these rows.
    function apply(res) {
      var data = (res.data || {})[key] || [];
      var states = (res.rows || {})[key] || [];
      var errs = {};
      var prefix = "/" + key + "/";
      (res.errors || []).forEach(function (e) {
        var p = e.pointer || "";
        if (p.indexOf(prefix) !== 0) return;
        var rest = p.slice(prefix.length).split("/");
        if (rest.length === 2 && !errs[rest[0] + "/" + rest[1]]) errs[rest[0] + "/" + rest[1]] = e.message;
      });
      var n = 0;
      rows().forEach(function (tr) {
        var k = filled(tr) ? n++ : -1;
        var row = k >= 0 ? data[k] || {} : {};
        var st = k >= 0 ? states[k] || {} : {};
        var cells = tr.querySelectorAll("td[data-col]");
        for (var i = 0; i < cells.length; i++) {
          var td = cells[i], col = td.getAttribute("data-col");
          var out = td.querySelector("output[data-cell]");
          if (out) out.textContent = k >= 0 ? show(row[col]) : "";
          var s = st[col];
          if (s) {
            td.classList.toggle("cell-off", !s.visible);
            var inp = td.querySelectorAll("input, select, textarea");
            for (var m = 0; m < inp.length; m++) {
              inp[m].disabled = !s.visible;
              if (s.required) inp[m].setAttribute("aria-required", "true"); else inp[m].removeAttribute("aria-required");
            }
          }
          var msg = td.querySelector(".field-error");
          var text = k >= 0 && tr.hasAttribute("data-touched") ? errs[k + "/" + col] || "" : "";
          if (msg && (tr.hasAttribute("data-touched") || !msg.textContent)) {
            msg.textContent = text;
            td.classList.toggle("has-error", text !== "");
          }
        }
      });
      // under the table only what is about the rows as a whole (too
      // many, too few): a cell's error sits on its cell
      var own = wrap.closest("[data-field]");
      var boxMsg = own && own.querySelector(":scope > .field-error");
      if (boxMsg && boxMsg.textContent) {
        var whole = "";
        (res.errors || []).forEach(function (e) { if (!whole && e.field === key && (e.pointer || "").indexOf(prefix) !== 0) whole = e.message; });
        boxMsg.textContent = whole;
        own.classList.toggle("has-error", whole !== "");
      }
    }
    wrap.closest("form").addEventListener("fw:rules", function (ev) { apply(ev.detail || {}); });
    renumber();
  }

  function init() {
    var wraps = document.querySelectorAll("form .subform-wrap[data-rows]");
    for (var i = 0; i < wraps.length; i++) setup(wraps[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
