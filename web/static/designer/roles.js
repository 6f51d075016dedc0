// The roles page: for each role of the draft and each form, the
// operations, the data scope and the field grid. Every change is made on a
// copy of the bundle, compared with the bundle before it (patch.js) and
// sent as JSON Patch (save.js), so only what the user changed is written:
// a field whose permission equals the role's default ("*") is not listed,
// and a custom filter scope the condition rows cannot show is kept as it
// was written (roles_more.js builds the others and a role's settings).

import { diff } from "./patch.js";
import { Saver, fetchDraft } from "./save.js";
import { el, roleSettings, scopeBuilder, startScope, dropScope, scopeFixed, forgetScopes, showProblems, rememberOpen } from "./roles_more.js";

const OPS = ["create", "read", "update", "delete", "export", "import", "print"];
const SCOPES = ["own", "unit", "unit_and_below", "all"];
const KEY_RE = /^[a-z][a-z0-9_]{0,62}$/;

const root = document.getElementById("roles");
const M = JSON.parse(document.getElementById("dz-msgs").textContent);
const lang = root.dataset.lang;
const box = root.querySelector("[data-roles]");
const status = root.querySelector(".dz-status");
const notice = root.querySelector(".dz-notice");
const addForm = root.querySelector("[data-add-role]");
const addError = root.querySelector("#dz-role-error");

let doc = null; // the bundle as the page holds it
let problems = []; // the draft's problems as the last answer gave them
const holders = root.dataset.holders ? JSON.parse(root.dataset.holders) : null;
const ruleURL = root.dataset.draftUrl + "/rule";

const saver = new Saver({
  url: root.dataset.draftUrl,
  csrf: root.dataset.csrf,
  version: 0,
  bundle: () => doc,
  onState: setSaved,
  onSaved: (body) => {
    problems = body.problems || [];
    showProblems(box, problems, lang);
  },
  onConflict: () => reload(M.conflict),
  onRefused: (body) => reload((body && (body.detail || body.title)) || M.refused),
});

function setSaved(ok) {
  status.dataset.saved = ok ? "true" : "false";
  status.textContent = ok ? M.saved : M.saving;
}

function say(msg) {
  notice.textContent = msg || "";
  notice.hidden = !msg;
}

function text(t, fallback) {
  if (t && typeof t === "object") return t[lang] || t.zh || t.en || fallback;
  return t || fallback;
}

async function load() {
  const d = await fetchDraft(root.dataset.draftUrl);
  doc = d.bundle;
  saver.version = d.version;
  problems = d.problems;
}

async function reload(msg) {
  saver.drop();
  forgetScopes();
  try {
    await load();
  } catch (e) {
    say(String(e.message || e));
    return;
  }
  say(msg);
  setSaved(true);
  render();
}

// change runs fn on a copy of the bundle and saves what changed.
function change(fn) {
  const next = structuredClone(doc);
  fn(next);
  const ops = diff(doc, next);
  if (!ops.length) return;
  doc = next;
  say("");
  saver.push(ops);
  render();
}

// perm is the role's permissions on the form in bundle b, made when make.
function perm(b, ri, fk, make) {
  const role = b.roles[ri];
  if (!role.permissions) {
    if (!make) return null;
    role.permissions = {};
  }
  if (!role.permissions[fk]) {
    if (!make) return null;
    role.permissions[fk] = {};
  }
  return role.permissions[fk];
}

// fieldDefault is what an unlisted field gets, as the engine reads it:
// "*" if given, else edit for a role that may create or update, read
// otherwise.
function fieldDefault(p) {
  if (p && p.fields && p.fields["*"]) return p.fields["*"];
  const ops = (p && p.operations) || [];
  return ops.includes("create") || ops.includes("update") ? "edit" : "read";
}

function fieldValue(p, key) {
  if (p && p.fields && Object.prototype.hasOwnProperty.call(p.fields, key)) return p.fields[key];
  return fieldDefault(p);
}

function cycle(v, sensitive) {
  switch (v) {
    case "hidden": return sensitive ? "masked" : "read";
    case "masked": return "read";
    case "read": return "edit";
    default: return "hidden";
  }
}

function setField(b, ri, fk, key, v) {
  const p = perm(b, ri, fk, true);
  if (v === fieldDefault(p)) {
    if (p.fields) delete p.fields[key];
  } else {
    if (!p.fields) p.fields = {};
    p.fields[key] = v;
  }
}

function setOp(b, ri, fk, op, on) {
  const p = perm(b, ri, fk, true);
  const ops = p.operations || [];
  if (on && !ops.includes(op)) {
    // in the usual order where the list follows it, else at the end
    const at = ops.findIndex((o) => OPS.indexOf(o) > OPS.indexOf(op));
    if (at >= 0) ops.splice(at, 0, op); else ops.push(op);
  } else if (!on) {
    const i = ops.indexOf(op);
    if (i >= 0) ops.splice(i, 1);
  }
  p.operations = ops;
}

function renderForm(role, ri, form) {
  const fk = form["x-key"];
  const p = perm(doc, ri, fk, false);
  const id = role.key + "/" + fk;
  const sec = el("section", { class: "dz-role-form", "data-role-form": id },
    el("h3", { text: text(form["x-title"], fk) }));

  const ops = el("fieldset", { class: "dz-ops" }, el("legend", { text: M.operations }));
  for (const op of OPS) {
    const on = !!(p && (p.operations || []).includes(op));
    ops.append(el("label", { class: "check" },
      el("input", { type: "checkbox", "data-op": id + "/" + op, checked: on,
        onchange: (e) => change((b) => setOp(b, ri, fk, op, e.target.checked)) }),
      " " + M["op." + op]));
  }
  sec.append(ops);

  const scopeId = "dz-scope-" + role.key + "-" + fk;
  const scope = p ? p.scope : undefined;
  const custom = !!(scope && typeof scope === "object");
  const building = scopeBuilder({ id, form, scope, M, lang, ruleURL, csrf: root.dataset.csrf, rerender: render,
    apply: (filter) => change((b) => { perm(b, ri, fk, true).scope = { filter }; }) });
  const sel = el("select", { id: scopeId, "data-scope": id, disabled: custom && scopeFixed(id), "data-custom": custom ? "true" : null,
    onchange: (e) => {
      const v = e.target.value;
      if (v === "custom") {
        startScope(id);
        render();
        return;
      }
      dropScope(id);
      if (v) change((b) => { perm(b, ri, fk, true).scope = v; });
      else render();
    } });
  if (!custom && !building && !SCOPES.includes(scope)) sel.append(el("option", { value: "", text: M["perm.none"], selected: true }));
  for (const s of SCOPES) sel.append(el("option", { value: s, text: M["scope." + s], selected: !custom && !building && s === scope }));
  sel.append(el("option", { value: "custom", text: M.custom, selected: custom || !!building }));
  sec.append(el("p", { class: "dz-scope" }, el("label", { for: scopeId, text: M.scope }), " ", sel));
  if (building) sec.append(building);

  const props = form.properties || {};
  const keys = Object.keys(props);
  const colId = "dz-col-" + role.key + "-" + fk;
  const col = el("select", { id: colId, "data-column": id,
    onchange: (e) => {
      const v = e.target.value;
      if (!v) return;
      change((b) => {
        const q = perm(b, ri, fk, true);
        const fields = { "*": v };
        // masked only where a field is sensitive; elsewhere read
        if (v === "masked") {
          fields["*"] = "read";
          for (const k of keys) if (props[k]["x-sensitive"]) fields[k] = "masked";
        }
        q.fields = fields;
      });
    } },
  el("option", { value: "", text: "…" }),
  ...["hidden", "masked", "read", "edit"].map((v) => el("option", { value: v, text: M["perm." + v] })));
  const table = el("table", { class: "dz-grid" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: M.field }), el("th", { scope: "col" },
      el("label", { for: colId, text: M.whole_column }), " ", col))));
  const body = el("tbody");
  for (const k of keys) {
    const v = fieldValue(p, k);
    const explicit = !!(p && p.fields && Object.prototype.hasOwnProperty.call(p.fields, k));
    const sensitive = !!props[k]["x-sensitive"];
    body.append(el("tr", {},
      el("th", { scope: "row", text: text(props[k]["x-label"], k) }),
      el("td", {}, el("button", { type: "button", class: "dz-perm dz-perm-" + v + (explicit ? " is-set" : ""),
        "data-perm": id + "/" + k, "data-value": v, title: M.cycle_hint,
        onclick: () => change((b) => setField(b, ri, fk, k, cycle(fieldValue(perm(b, ri, fk, false), k), sensitive))),
        text: M["perm." + v] }))));
  }
  table.append(body);
  sec.append(el("h4", { text: M.fields }), el("div", { class: "dz-grid-wrap" }, table));
  return sec;
}

function render() {
  const focused = document.activeElement;
  const hook = focused && ["data-perm", "data-op", "data-scope", "data-column", "data-cond-field", "data-cond-op", "data-cond-value",
    "data-cond-join", "data-role-name", "data-role-mfa", "data-role-hours", "data-role-ip", "data-role-weekday"].find((a) => focused.hasAttribute(a));
  const hookVal = hook && focused.getAttribute(hook);
  rememberOpen(box);
  const roles = doc.roles || [];
  const out = [];
  if (!roles.length) out.push(el("p", { text: M.no_roles }));
  roles.forEach((role, ri) => {
    const name = text(role.name, role.key);
    const sec = el("section", { class: "card dz-role", "data-role": role.key },
      el("div", { class: "dz-role-head" },
        el("h2", { text: name }),
        el("button", { type: "button", class: "danger", "data-delete-role": role.key, text: M.delete_role,
          onclick: () => {
            if (!window.confirm(M.confirm_delete.replace("%s", name))) return;
            change((b) => { b.roles.splice(ri, 1); });
          } })),
      el("ul", { class: "error dz-role-problems", "data-role-problems": role.key, "data-role-index": String(ri), role: "alert", hidden: true }),
      roleSettings({ role, M, holders, usersURL: root.dataset.usersUrl,
        set: (fn) => change((b) => fn(b.roles[ri])) }));
    for (const f of doc.forms || []) if (f && f["x-key"]) sec.append(renderForm(role, ri, f));
    out.push(sec);
  });
  box.replaceChildren(...out);
  showProblems(box, problems, lang);
  if (hook) {
    const again = box.querySelector("[" + hook + '="' + CSS.escape(hookVal) + '"]');
    if (again) again.focus();
  }
}

// roleKey makes a role's key from its English name.
function roleKey(en) {
  return en.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 63);
}

addForm.addEventListener("submit", (e) => {
  e.preventDefault();
  let zh = addForm.elements.zh.value.trim(), en = addForm.elements.en.value.trim();
  const refuse = (msg) => { addError.textContent = msg; addError.hidden = false; };
  if (!zh && !en) return refuse(M.name_missing);
  const key = roleKey(en);
  if (!KEY_RE.test(key)) return refuse(M.key_bad);
  if ((doc.roles || []).some((r) => r.key === key)) return refuse(M.key_taken);
  if (!zh) zh = en;
  addError.hidden = true;
  change((b) => {
    if (!b.roles) b.roles = [];
    b.roles.push({ key, name: { zh, en }, permissions: {} });
  });
  addForm.reset();
});

reload("").then(() => { root.dataset.ready = "true"; });
