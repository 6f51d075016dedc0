// Rules without code: a rule is condition rows "when [field] [operator]
// [value]" joined by all or any. The server (…/draft/rule) turns rows into
// an expression, reads an expression back into rows when it has their
// shape, and compiles it as the engine will at publish, answering with
// problems in the user's language. An expression the rows cannot show
// stays in advanced mode, as written.

import { el } from "./dom.js";
import { text } from "./form.js";

// OPS are the operators, each with the kind of value it takes.
export const OPS = ["eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "contains", "empty", "not_empty", "has"];

function hasOptions(s) {
  return Array.isArray(s.enum) || (s.type === "array" && s.items && Array.isArray(s.items.enum));
}

// opsFor lists the operators that fit a field.
export function opsFor(schema) {
  const s = schema || {};
  if (s.type === "boolean") return ["eq"];
  if (s.type === "array") return hasOptions(s) ? ["has", "empty", "not_empty"] : ["empty", "not_empty"];
  if (s.type === "number" || s.type === "integer") return ["eq", "ne", "gt", "ge", "lt", "le"];
  if (s.type !== "string") return [];
  if (hasOptions(s)) return ["eq", "ne", "in", "not_in", "empty", "not_empty"];
  if (s.format === "date" || s.format === "date-time") return ["eq", "ne", "gt", "ge", "lt", "le", "empty", "not_empty"];
  return ["eq", "ne", "contains", "empty", "not_empty"];
}

// ruleFields are the fields a condition may name: the form's fields
// (not subforms, files or formulas' own field), in display order.
export function ruleFields(form, keys, except) {
  const p = form.properties || {};
  return keys.filter((k) => k !== except && p[k] && opsFor(p[k]).length > 0);
}

// valueKind says what a row's value is: none, bool, option, options,
// number, date or text.
export function valueKind(schema, op) {
  const s = schema || {};
  if (op === "empty" || op === "not_empty") return "none";
  if (s.type === "boolean") return "bool";
  if (hasOptions(s)) return op === "in" || op === "not_in" ? "options" : "option";
  if (s.type === "number" || s.type === "integer") return "number";
  if (s.format === "date") return "date";
  return "text";
}

// complete reports whether every row names a field, an operator and,
// where one is needed, a value.
export function complete(rows, props) {
  if (!rows || !rows.conditions.length) return false;
  return rows.conditions.every((c) => {
    const s = props[c.field];
    if (!s || !opsFor(s).includes(c.op)) return false;
    const k = valueKind(s, c.op);
    if (k === "none" || k === "bool") return true;
    if (k === "options") return Array.isArray(c.value) && c.value.length > 0;
    if (k === "number") return c.value !== "" && c.value != null && Number.isFinite(Number(c.value));
    return c.value !== "" && c.value != null;
  });
}

// wire is the rows as the server takes them: numbers as numbers, and no
// value where the operator takes none.
export function wire(rows, props) {
  return {
    join: rows.join || "all",
    conditions: rows.conditions.map((c) => {
      const k = valueKind(props[c.field], c.op);
      const out = { field: c.field, op: c.op };
      if (k === "number") out.value = Number(c.value);
      else if (k === "bool") out.value = c.value === true || c.value === "true";
      else if (k !== "none") out.value = c.value;
      return out;
    }),
  };
}

// newRow starts a row on field (its first operator, a first value).
export function newRow(field, schema) {
  const op = opsFor(schema)[0] || "eq";
  const k = valueKind(schema, op);
  let value = "";
  if (k === "bool") value = true;
  else if (k === "option") value = String((schema.type === "array" ? schema.items.enum : schema.enum)[0]);
  else if (k === "options") value = [];
  return { field, op, value };
}

// checkRule asks the server about a rule: body is {form, rows? or
// expr?, want?, data?}. It answers {ok, expr, rows, problems, value} or,
// when the rows are refused, {ok: false, errors: [{field, message}]}.
const cache = new Map();
export async function checkRule(url, csrf, lang, body) {
  const key = JSON.stringify(body);
  if (!body.data && cache.has(key)) return cache.get(key);
  let r;
  try {
    r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": lang, "X-CSRF-Token": csrf },
      body: key,
    });
  } catch (e) {
    return { ok: false, errors: [], detail: "" }; // offline: no verdict yet
  }
  let res = {};
  try { res = await r.json(); } catch (e) { res = {}; }
  const out = r.ok ? { ok: true, ...res, problems: res.problems || [] } : { ok: false, errors: res.errors || [], detail: res.detail || res.title || "" };
  if (r.ok && !body.data) {
    if (cache.size > 200) cache.clear();
    cache.set(key, out);
  }
  return out;
}

// ruleEditor draws the editor of one rule and returns its element.
// o: {id, title, empty (what holds without a rule), expr, form (the form
// schema), formKey, keys (display order), except, want, url, csrf, lang,
// M (texts), onWrite(expr or null)}.
export function ruleEditor(o) {
  const M = o.M;
  const props = o.form.properties || {};
  const fields = ruleFields(o.form, o.keys, o.except);
  let rows = null; // the rows shown, or null in advanced mode / no rule
  let expr = o.expr || "";
  let mode = expr ? "loading" : "none";
  let seq = 0;
  const box = el("fieldset", { class: "dz-rule", "data-rule": o.id });
  const err = el("p", { class: "dz-rule-error error", role: "alert", hidden: true });
  const label = (k) => text((props[k] || {})["x-label"], o.lang) || k;

  function showError(msg) {
    err.textContent = msg || "";
    err.hidden = !msg;
  }

  async function send(body) {
    const my = ++seq;
    const res = await checkRule(o.url, o.csrf, o.lang, { form: o.formKey, want: o.want || "boolean", ...body });
    return my === seq ? res : null; // a later edit answers instead
  }

  async function rowsChanged() {
    box.querySelectorAll("[data-row-error]").forEach((p) => { p.textContent = ""; p.hidden = true; });
    if (!complete(rows, props)) {
      showError(M.rule_incomplete);
      return;
    }
    const res = await send({ rows: wire(rows, props) });
    if (!res) return;
    if (!res.ok) {
      showError("");
      let placed = false;
      for (const e of res.errors) {
        const m = /^\/conditions\/(\d+)/.exec(e.field || "");
        const p = m && box.querySelector(`[data-row="${m[1]}"] [data-row-error]`);
        if (p) { p.textContent = e.message; p.hidden = false; placed = true; }
      }
      if (!placed) showError((res.errors[0] && res.errors[0].message) || res.detail);
      return;
    }
    if (res.problems.length) {
      showError(text(res.problems[0].message, o.lang));
      return;
    }
    showError("");
    expr = res.expr;
    o.onWrite(expr);
  }

  async function exprChanged(src) {
    expr = src;
    o.onWrite(src.trim() ? src : null);
    if (!src.trim()) { showError(""); return; }
    const res = await send({ expr: src });
    if (!res) return;
    if (!res.ok) showError((res.errors[0] && res.errors[0].message) || res.detail);
    else showError(res.problems.length ? text(res.problems[0].message, o.lang) : "");
  }

  function valueInput(c, i) {
    const s = props[c.field] || {};
    const kind = valueKind(s, c.op);
    const set = (v) => { rows.conditions[i].value = v; rowsChanged(); };
    const aria = M.rule_value + " " + (i + 1);
    switch (kind) {
      case "none":
        return null;
      case "bool":
        return el("select", { "aria-label": aria, "data-value": "", onchange: (ev) => set(ev.target.value === "true") },
          el("option", { value: "true", text: M.yes, selected: c.value !== false }),
          el("option", { value: "false", text: M.no, selected: c.value === false }));
      case "option": case "options": {
        const en = s.type === "array" ? s.items.enum : s.enum;
        const labels = s["x-options"] || {};
        const name = (v) => text(labels[String(v)], o.lang) || String(v);
        if (kind === "option") {
          return el("select", { "aria-label": aria, "data-value": "", onchange: (ev) => set(ev.target.value) },
            ...en.map((v) => el("option", { value: String(v), text: name(v), selected: String(c.value) === String(v) })));
        }
        const chosen = new Set((Array.isArray(c.value) ? c.value : []).map(String));
        return el("span", { class: "dz-rule-options", "data-value": "", role: "group", "aria-label": aria },
          ...en.map((v) => el("label", { class: "check" },
            el("input", { type: "checkbox", checked: chosen.has(String(v)), onchange: (ev) => {
              if (ev.target.checked) chosen.add(String(v)); else chosen.delete(String(v));
              set(en.map(String).filter((x) => chosen.has(x)));
            } }), name(v))));
      }
      default:
        return el("input", { type: kind === "number" ? "number" : kind === "date" ? "date" : "text", "aria-label": aria, "data-value": "",
          value: c.value == null ? "" : String(c.value), oninput: (ev) => set(ev.target.value) });
    }
  }

  function rowEl(c, i) {
    const s = props[c.field] || {};
    return el("li", { class: "dz-rule-row", "data-row": String(i) },
      el("span", { class: "dz-rule-when", text: i === 0 ? M.rule_when : (rows.join === "any" ? M.rule_or : M.rule_and) }),
      el("select", { "aria-label": M.rule_field + " " + (i + 1), "data-cond-field": "", onchange: (ev) => {
        rows.conditions[i] = newRow(ev.target.value, props[ev.target.value]);
        draw();
        rowsChanged();
      } },
        ...(fields.includes(c.field) ? [] : [el("option", { value: "", text: M.rule_choose, selected: true })]),
        ...fields.map((k) => el("option", { value: k, text: label(k), selected: k === c.field }))),
      el("select", { "aria-label": M.rule_op + " " + (i + 1), "data-cond-op": "", onchange: (ev) => {
        const before = valueKind(s, rows.conditions[i].op);
        rows.conditions[i].op = ev.target.value;
        if (valueKind(s, ev.target.value) !== before) rows.conditions[i].value = newRow(c.field, s).value;
        if (valueKind(s, ev.target.value) === "options" && !Array.isArray(rows.conditions[i].value)) rows.conditions[i].value = [];
        draw();
        rowsChanged();
      } }, ...opsFor(s).map((op) => el("option", { value: op, text: M["op_" + op], selected: op === c.op }))),
      valueInput(c, i),
      el("button", { type: "button", class: "link danger", "aria-label": M.rule_row_remove + " " + (i + 1), text: "×", onclick: () => {
        rows.conditions.splice(i, 1);
        if (!rows.conditions.length) { remove(); return; }
        draw();
        rowsChanged();
      } }),
      el("p", { class: "error", "data-row-error": "", hidden: true }));
  }

  function remove() {
    rows = null;
    expr = "";
    mode = "none";
    showError("");
    o.onWrite(null);
    draw();
  }

  function draw() {
    const kids = [el("legend", { text: o.title })];
    if (mode === "loading") {
      kids.push(el("p", { class: "dz-hint", text: M.rule_loading }));
    } else if (mode === "none") {
      kids.push(el("p", { class: "dz-hint", text: o.empty }));
      if (fields.length) {
        kids.push(el("button", { type: "button", class: "button", "data-do": "rule-add", text: M.rule_add, onclick: () => {
          rows = { join: "all", conditions: [newRow(fields[0], props[fields[0]])] };
          mode = "rows";
          draw();
          rowsChanged();
        } }));
      }
    } else if (mode === "rows") {
      kids.push(el("label", { class: "dz-rule-join" }, M.rule_join + " ",
        el("select", { "data-join": "", onchange: (ev) => { rows.join = ev.target.value; draw(); rowsChanged(); } },
          el("option", { value: "all", text: M.join_all, selected: rows.join !== "any" }),
          el("option", { value: "any", text: M.join_any, selected: rows.join === "any" }))));
      kids.push(el("ol", { class: "dz-rule-rows" }, ...rows.conditions.map(rowEl)));
      kids.push(el("button", { type: "button", class: "link", "data-do": "row-add", text: M.rule_row_add, onclick: () => {
        const k = fields[0];
        rows.conditions.push(newRow(k, props[k]));
        draw();
        rowsChanged();
      } }));
    } else {
      const id = o.id + "-expr";
      kids.push(el("label", { for: id, text: M.rule_expr }),
        el("textarea", { id, rows: "2", class: "dz-code", spellcheck: "false", "data-expr": "", oninput: (ev) => exprChanged(ev.target.value) }, expr));
      if (o.unshown) kids.push(el("p", { class: "dz-hint", text: M.rule_unshown }));
    }
    kids.push(err);
    if (mode === "rows" || mode === "advanced") {
      kids.push(el("div", { class: "dz-rule-tools" },
        el("label", { class: "check" },
          el("input", { type: "checkbox", "data-advanced": "", checked: mode === "advanced", onchange: (ev) => toggle(ev.target.checked) }),
          M.rule_advanced),
        el("button", { type: "button", class: "link danger", "data-do": "rule-remove", text: M.rule_remove, onclick: remove })));
    }
    box.replaceChildren(...kids);
  }

  async function toggle(advanced) {
    if (advanced) {
      mode = "advanced";
      o.unshown = false;
      draw();
      return;
    }
    if (!expr.trim()) { remove(); return; }
    const res = await send({ expr });
    if (res && res.ok && res.rows) {
      rows = res.rows;
      mode = "rows";
      o.unshown = false;
    } else {
      o.unshown = true;
    }
    draw();
  }

  draw();
  if (mode === "loading") {
    send({ expr }).then((res) => {
      if (res && res.ok && res.rows && res.rows.conditions.every((c) => fields.includes(c.field))) {
        rows = res.rows;
        mode = "rows";
      } else {
        mode = "advanced";
        o.unshown = true;
        if (res && res.ok && res.problems.length) showError(text(res.problems[0].message, o.lang));
      }
      draw();
    });
  }
  return box;
}

// checksEditor draws the form's cross-field checks: each a rule that must
// hold, with the message staff read when it does not. o: as ruleEditor
// without id, title, expr and except, plus checks (the form's x-checks)
// and onChecks(next checks).
export function checksEditor(o) {
  const M = o.M;
  const list = el("ol", { class: "dz-checks" });
  // a check added is written once its rule is valid
  const checks = (o.checks || []).map((c) => ({ ...c }));
  // the form gets copies: the editor goes on changing its own
  const write = () => o.onChecks(structuredClone(checks.filter((c) => c.expr)));
  function item(c, i) {
    const msg = (lng) => el("input", { type: "text", "aria-label": (lng === "zh" ? M.check_msg_zh : M.check_msg_en) + " " + (i + 1),
      "data-check-msg": lng, value: typeof c.message === "string" ? c.message : (c.message || {})[lng] || "",
      oninput: (ev) => {
        let m = c.message;
        if (typeof m === "string") m = { zh: m, en: m };
        c.message = { ...(m || {}), [lng]: ev.target.value };
        if (c.expr) write();
      } });
    return el("li", { class: "dz-check-item", "data-check": String(i) },
      ruleEditor({ ...o, id: "dz-check-" + i, title: M.check_title + " " + (i + 1), empty: M.check_empty, expr: c.expr, except: "",
        onWrite: (expr) => {
          if (expr == null) {
            checks.splice(i, 1);
            write();
            draw();
            return;
          }
          c.expr = expr;
          if (!c.message) c.message = { zh: "", en: "" };
          write();
        } }),
      el("label", { text: M.check_msg_zh }), msg("zh"),
      el("label", { text: M.check_msg_en }), msg("en"));
  }
  function draw() {
    list.replaceChildren(...checks.map(item));
  }
  draw();
  return el("section", { class: "dz-checks-box", "data-checks": "" },
    el("h3", { text: M.checks }),
    el("p", { class: "dz-hint", text: M.checks_help }),
    list,
    el("button", { type: "button", class: "button", "data-do": "check-add", text: M.check_add, onclick: () => {
      checks.push({ expr: "", message: { zh: "", en: "" } });
      draw();
      const last = list.lastElementChild && list.lastElementChild.querySelector("[data-do=rule-add]");
      if (last) last.click();
    } }));
}
