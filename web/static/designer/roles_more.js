// More of the roles page: a role's names, its two-step verification and
// its hours and addresses (roleSettings), how many people hold it, and a
// form's custom data scope built with condition rows (scopeBuilder). The
// rows go to the rule API (…/draft/rule with want "filter"), which turns
// them into the record filter a role's scope takes and reads a stored
// filter back into rows, so the page writes no filter itself; a filter the
// rows cannot show stays as it was written.

const COND_OPS = ["eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "contains", "empty", "not_empty"];
const NO_VALUE = new Set(["empty", "not_empty"]);
const LIST_OPS = new Set(["in", "not_in"]);

// el makes an element with attributes (on… are listeners) and children.
export function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}

function text(t, lang, fallback) {
  if (t && typeof t === "object") return t[lang] || t.zh || t.en || fallback;
  return t || fallback;
}

// openSettings are the roles whose settings are open, kept open when the
// page draws again after a change.
const openSettings = new Set();

// rememberOpen notes which roles' settings are open in box now (a click
// opens them before their toggle event says so), before box is drawn again.
export function rememberOpen(box) {
  for (const d of box.querySelectorAll("details[data-role-settings]")) {
    if (d.open) openSettings.add(d.dataset.roleSettings); else openSettings.delete(d.dataset.roleSettings);
  }
}

// roleSettings draws a role's names, key, two-step verification, hours
// and addresses, and who holds it. set(fn) changes the role in a copy of
// the bundle (fn gets the role) and saves what changed.
export function roleSettings({ role, M, holders, usersURL, set }) {
  const k = role.key;
  const id = (what) => "dz-role-" + what + "-" + k;
  const name = role.name || {};
  const pol = role.policy || {};
  const rename = () => set((r) => {
    const zh = document.getElementById(id("zh")).value.trim();
    const en = document.getElementById(id("en")).value.trim();
    if (!zh && !en) return;
    r.name = { zh: zh || en, en: en || zh };
  });
  const policy = () => set((r) => {
    const hours = document.getElementById(id("hours")).value.trim();
    const days = [...document.querySelectorAll('[data-role-weekday^="' + k + '/"]')].filter((c) => c.checked).map((c) => Number(c.value));
    const ip = document.getElementById(id("ip")).value.split(/[\s,，;；]+/).map((s) => s.trim()).filter(Boolean);
    const p = {};
    if (hours) p.hours = hours;
    if (days.length && days.length < 7) p.weekdays = days;
    if (ip.length) p.ip = ip;
    if (Object.keys(p).length) r.policy = p; else delete r.policy;
  });
  const days = el("fieldset", { class: "dz-weekdays" }, el("legend", { text: M["s.r.weekdays"] }));
  for (let d = 1; d <= 7; d++) {
    days.append(el("label", { class: "check" },
      el("input", { type: "checkbox", value: String(d), "data-role-weekday": k + "/" + d,
        checked: !pol.weekdays || pol.weekdays.includes(d), onchange: policy }),
      " " + M["s.r.wd." + d]));
  }
  const box = el("details", { class: "dz-role-settings", "data-role-settings": k, open: openSettings.has(k),
    ontoggle: (e) => { if (e.target.open) openSettings.add(k); else openSettings.delete(k); } },
    el("summary", { text: M["s.r.settings"] }),
    el("div", { class: "dz-role-names" },
      el("label", { for: id("zh"), text: M["s.r.name_zh"] }),
      el("input", { id: id("zh"), type: "text", value: name.zh || "", "data-role-name": k + "/zh", onchange: rename }),
      el("label", { for: id("en"), text: M["s.r.name_en"] }),
      el("input", { id: id("en"), type: "text", value: name.en || "", "data-role-name": k + "/en", onchange: rename }),
      el("p", { class: "dz-hint", text: M["s.r.key"] + k + M["s.r.key_fixed"] })),
    el("label", { class: "check" },
      el("input", { type: "checkbox", "data-role-mfa": k, checked: !!role.mfa,
        onchange: (e) => set((r) => { if (e.target.checked) r.mfa = true; else delete r.mfa; }) }),
      " " + M["s.r.mfa"]),
    el("div", { class: "dz-role-policy" },
      el("label", { for: id("hours"), text: M["s.r.hours"] }),
      el("input", { id: id("hours"), type: "text", value: pol.hours || "", placeholder: "09:00-21:00", "data-role-hours": k, onchange: policy }),
      days,
      el("label", { for: id("ip"), text: M["s.r.ip"] }),
      el("textarea", { id: id("ip"), rows: "2", "data-role-ip": k, onchange: policy, text: (pol.ip || []).join("\n") })));
  if (holders) {
    const n = holders[k] || 0;
    box.append(el("p", { class: "dz-role-holders", "data-role-holders": k },
      M["s.r.holders"].replace("%d", String(n)), " ",
      usersURL ? el("a", { href: usersURL, text: M["s.r.holders_link"] }) : null));
  }
  return box;
}

// scopeStates keeps each builder's rows between renders (rows being typed
// are not in the bundle until the server accepts them), by role/form.
const scopeStates = new Map();

// forgetScopes drops every builder's rows (after the page reloads the draft).
export function forgetScopes() {
  scopeStates.clear();
}

// startScope opens the builder for id with one empty row.
export function startScope(id) {
  scopeStates.set(id, { join: "all", conditions: [{ field: "", op: "eq", value: "" }] });
}

// scopeBuilder draws the condition rows of a custom scope. scope is the
// role's scope on the form as stored; apply(filter) stores a new filter;
// rerender draws the page again.
export function scopeBuilder({ id, form, scope, M, lang, ruleURL, csrf, apply, rerender }) {
  let st = scopeStates.get(id);
  if (!st && scope && typeof scope === "object") {
    st = { loading: true };
    scopeStates.set(id, st);
    ask(ruleURL, csrf, { form: form["x-key"], want: "filter", filter: scope.filter }).then(({ ok, body }) => {
      const rows = ok && body.rows;
      scopeStates.set(id, rows ? { join: rows.join || "all", conditions: rows.conditions } : { fixed: true });
      rerender();
    });
  }
  if (!st) return null;
  const box = el("div", { class: "dz-cond", "data-cond": id });
  if (st.loading) return box;
  if (st.fixed) {
    box.append(el("p", { class: "dz-hint", text: M["s.r.c.fixed"] }));
    return box;
  }
  const props = form.properties || {};
  const keys = Object.keys(props).filter((k) => (props[k].type !== "array" || (props[k].items || {}).type !== "object") && props[k].type !== "object");
  const send = () => {
    const rows = { join: st.join, conditions: st.conditions.map((c) => ({ field: c.field, op: c.op, value: valueOf(c, props[c.field]) })) };
    st.error = "";
    if (rows.conditions.some((c) => !c.field || (!NO_VALUE.has(c.op) && (c.value === "" || (Array.isArray(c.value) && !c.value.length))))) {
      rerender();
      return; // not complete yet: nothing to store
    }
    ask(ruleURL, csrf, { form: form["x-key"], want: "filter", rows }).then(({ ok, body }) => {
      if (ok && body.filter && !(body.problems || []).length) {
        apply(body.filter);
        return;
      }
      const p = ok ? (body.problems || [])[0] : ((body && body.errors) || [])[0];
      st.error = (p && text(p.message, lang, "")) || (body && (body.detail || body.title)) || M.refused;
      rerender();
    });
  };
  const join = el("select", { "data-cond-join": id, "aria-label": M["s.r.c.join"],
    onchange: (e) => { st.join = e.target.value; send(); } },
  el("option", { value: "all", text: M["s.r.c.all"], selected: st.join !== "any" }),
  el("option", { value: "any", text: M["s.r.c.any"], selected: st.join === "any" }));
  box.append(el("p", { class: "dz-cond-head" }, M["s.r.c.when"], " ", join, " ", M["s.r.c.when_end"]));
  const list = el("ol", { class: "dz-cond-rows" });
  st.conditions.forEach((c, i) => {
    const rid = id + "/" + i;
    const field = el("select", { "data-cond-field": rid, "aria-label": M["s.r.c.field"],
      onchange: (e) => { c.field = e.target.value; c.value = ""; send(); } },
    el("option", { value: "", text: M["s.r.c.field"] }),
    ...keys.map((k) => el("option", { value: k, text: text(props[k]["x-label"], lang, k), selected: k === c.field })));
    const op = el("select", { "data-cond-op": rid, "aria-label": M["s.r.c.op"],
      onchange: (e) => { c.op = e.target.value; send(); } },
    ...COND_OPS.map((o) => el("option", { value: o, text: M["s.r.c.op." + o], selected: o === c.op })));
    const row = el("li", { class: "dz-cond-row", "data-cond-row": rid }, field, op);
    if (!NO_VALUE.has(c.op)) row.append(valueInput(c, props[c.field], rid, M, lang, send));
    row.append(el("button", { type: "button", class: "dz-cond-remove", "data-cond-remove": rid, text: M["s.r.c.remove"],
      onclick: () => {
        st.conditions.splice(i, 1);
        if (!st.conditions.length) st.conditions.push({ field: "", op: "eq", value: "" });
        send();
      } }));
    list.append(row);
  });
  box.append(list, el("button", { type: "button", "data-cond-add": id, text: M["s.r.c.add"],
    onclick: () => { st.conditions.push({ field: "", op: "eq", value: "" }); rerender(); } }));
  if (st.error) box.append(el("p", { class: "error", role: "alert", "data-cond-error": id, text: st.error }));
  return box;
}

// valueInput is a row's value: the field's options when it has them, the
// person looking for a member or unit field, else text (a list of values
// is separated by commas).
function valueInput(c, prop, rid, M, lang, send) {
  const opts = options(prop, lang);
  if (prop && prop["x-widget"] === "member") opts.unshift({ value: "$user.id", label: M["s.r.c.me"] });
  if (prop && prop["x-widget"] === "unit") opts.unshift({ value: "$user.unit", label: M["s.r.c.my_unit"] });
  if (opts.length && !LIST_OPS.has(c.op)) {
    return el("select", { "data-cond-value": rid, "aria-label": M["s.r.c.value"],
      onchange: (e) => { c.value = e.target.value; send(); } },
    el("option", { value: "", text: M["s.r.c.value"] }),
    ...opts.map((o) => el("option", { value: o.value, text: o.label, selected: String(c.value) === o.value })));
  }
  const shown = Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "");
  return el("input", { type: "text", "data-cond-value": rid, "aria-label": M["s.r.c.value"], value: shown,
    placeholder: LIST_OPS.has(c.op) ? M["s.r.c.list_hint"] : "",
    onchange: (e) => { c.value = e.target.value; send(); } });
}

// options are a choice field's values with their labels.
function options(prop, lang) {
  if (!prop) return [];
  const vals = prop.enum || (prop.items && prop.items.enum) || [];
  const labels = prop["x-options"] || {};
  return vals.map((v) => ({ value: String(v), label: text(labels[v], lang, String(v)) }));
}

// valueOf is what a row sends: a list for in / not in, else the value.
function valueOf(c, prop) {
  if (NO_VALUE.has(c.op)) return undefined;
  if (LIST_OPS.has(c.op)) {
    const vs = Array.isArray(c.value) ? c.value : String(c.value || "").split(/[,，、]/).map((s) => s.trim()).filter(Boolean);
    return vs;
  }
  if (prop && prop.type === "boolean" && (c.value === "true" || c.value === "false")) return c.value === "true";
  return c.value;
}

async function ask(url, csrf, body) {
  try {
    const r = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body) });
    let out = null;
    try { out = await r.json(); } catch (e) { out = null; }
    return { ok: r.ok, body: out || {} };
  } catch (e) {
    return { ok: false, body: {} };
  }
}

// dropScope closes id's builder (another scope was chosen).
export function dropScope(id) {
  scopeStates.delete(id);
}

// scopeFixed reports whether id's stored filter cannot be shown as rows.
export function scopeFixed(id) {
  const st = scopeStates.get(id);
  return !!(st && st.fixed);
}

// showProblems puts the draft's problems about each role (pointer
// /roles/N/…) under that role, in the page's language.
export function showProblems(box, problems, lang) {
  for (const list of box.querySelectorAll("[data-role-problems]")) {
    const at = "/roles/" + list.dataset.roleIndex + "/";
    const mine = (problems || []).filter((p) => (p.pointer || "").startsWith(at));
    list.replaceChildren(...mine.map((p) => el("li", { text: text(p.message, lang, p.code) })));
    list.hidden = mine.length === 0;
  }
}
