// The workflow designer page: one workflow of the draft drawn as a
// vertical flow (trigger, then its nodes; condition and parallel branches
// side by side), a "+" between nodes to insert one, a panel for the
// selected node, the draft's problems next to the node they point at, and
// a simulation that draws the path a record would take. Every change is
// made on a copy of the workflow (flow_model.js), compared with the
// bundle before it (patch.js) and sent as JSON Patch (save.js), so what
// the page does not show is kept as it was.

import { diff } from "./patch.js";
import { Saver, fetchDraft } from "./save.js";
import { text, setText } from "./form.js";
import * as W from "./flow_model.js";

const root = document.getElementById("flow");
const M = JSON.parse(document.getElementById("dz-msgs").textContent);
const lang = root.dataset.lang;
const flowKey = root.dataset.key;
const flowBox = root.querySelector("[data-flow]");
const panel = root.querySelector("[data-panel]");
const simBox = root.querySelector("[data-sim]");
const simBtn = root.querySelector("[data-do=simulate]");
const problemsList = root.querySelector("[data-problems]");
const noProblems = root.querySelector(".dz-no-problems");
const status = root.querySelector(".dz-status");
const notice = root.querySelector(".dz-notice");
const title = root.querySelector("[data-flow-title]");

let doc = null; // the bundle as the page holds it
let wi = -1; // the index of this page's workflow in doc.workflows
let problems = [];
let selected = null; // "@trigger", a node's key, or null
let menuAt = null; // the "+" whose menu is open: "LIST:INDEX"
let path = null; // the simulated path: {keys, branches, starts}
const rows = new Map(); // condition editors' state by id ("@trigger" or "KEY.N")
const sample = {}; // the simulation's sample values

const saver = new Saver({
  url: root.dataset.draftUrl,
  csrf: root.dataset.csrf,
  version: 0,
  bundle: () => doc,
  onState: setSaved,
  onSaved: (res) => {
    // the flow is drawn again only when its problems changed: a redraw
    // under the pointer or the keyboard would move what they are on
    if (Array.isArray(res.problems) && JSON.stringify(res.problems) !== JSON.stringify(problems)) {
      problems = res.problems;
      renderFlow();
      renderProblems();
    }
  },
  onConflict: () => reload(M.conflict),
  onRefused: () => reload(M.refused),
});

function setSaved(ok) {
  status.dataset.saved = ok ? "true" : "false";
  status.textContent = ok ? M.saved : M.saving;
}

function say(msg) {
  notice.textContent = msg || "";
  notice.hidden = !msg;
}

const wf = () => doc.workflows[wi];
const tx = (t, fallback) => text(t, lang) || fallback || "";
const fmt = (s, ...args) => args.reduce((out, a) => out.replace(/%[sd]/, a), s);

function form() {
  return (doc.forms || []).find((f) => f && f["x-key"] === wf().form) || { properties: {} };
}

// fields are the form's fields as the builders offer them.
function fields() {
  return Object.entries(form().properties || {}).map(([key, s]) => {
    const multi = s.type === "array" && s.items && !s.items.properties;
    const enm = multi ? (s.items.enum || []) : (s.enum || []);
    return { key, label: tx(s["x-label"], key), type: multi ? "array" : s.type, widget: s["x-widget"] || "",
      options: enm.map((v) => ({ value: v, label: tx((s["x-options"] || {})[v], String(v)) })), compute: !!s["x-compute"] };
  });
}

async function load() {
  const d = await fetchDraft(root.dataset.draftUrl);
  doc = d.bundle;
  saver.version = d.version;
  problems = d.problems;
  wi = (doc.workflows || []).findIndex((w) => w && w.key === flowKey);
  if (wi < 0) throw new Error(M.no_flow);
}

async function reload(msg) {
  saver.drop();
  try {
    await load();
  } catch (e) {
    say(String(e.message || e));
    return;
  }
  rows.clear();
  if (selected && selected !== "@trigger" && !W.find(wf(), selected)) selected = null;
  say(msg);
  setSaved(true);
  render();
}

// change runs fn on a copy of the workflow and saves what changed; with
// again the panel is drawn again (a change of its shape, not of a text
// being typed).
function change(fn, again) {
  const next = { ...doc, workflows: doc.workflows.slice() };
  next.workflows[wi] = structuredClone(doc.workflows[wi]);
  const res = fn(next.workflows[wi]);
  const ops = diff(doc, next);
  if (!ops.length) return res;
  doc = next;
  path = null;
  say("");
  saver.push(ops);
  renderFlow();
  if (again) renderPanel();
  return res;
}

// nodeChange runs fn on the selected node of the copy.
function nodeChange(fn, again) {
  const key = selected;
  return change((w) => {
    const f = W.find(w, key);
    return f && fn(f.node, w);
  }, again);
}

// el builds an element: el("li", {class: "x", "data-node": k}, child…).
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "value") n.value = v;
    else n.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids) if (c != null && c !== false) n.append(c);
  return n;
}

let uid = 0;
const nextId = (p) => "dz-f-" + p + "-" + (++uid);

function labelled(labelText, input, hint) {
  if (!input.id) input.id = nextId("in");
  return el("div", { class: "dz-prop" }, el("label", { for: input.id, text: labelText }), input,
    hint ? el("p", { class: "dz-hint", text: hint }) : null);
}

// ---- problems

// plain is a problem of this workflow in the manager's words.
function plain(p) {
  const rest = p.pointer.slice(("/workflows/" + wi).length);
  if (p.code === "expr" || p.code === "eval") return tx(p.message);
  if (p.code === "unknown_key") return M["problem.unknown"];
  if (p.code === "duplicate") return M["problem.duplicate"];
  if (/\/timeout\/to(\/|$)/.test(rest)) return M["problem.to"];
  if (/\/timeout\/after$/.test(rest)) return M["problem.after"];
  if (/\/(assignees|to)(\/|$)/.test(rest)) return M["problem.assignees"];
  if (/\/branches\/\d+(\/when|\/else)?$/.test(rest)) return M["problem.branch"];
  if (/\/set(\/|$)/.test(rest)) return p.code === "reference" || p.code === "formula" || p.code === "minProperties" ? M["problem.set"] : M["problem.other"];
  if (rest === "/trigger/on" || rest.startsWith("/trigger/on/")) return M.on_missing;
  if (rest === "/form") return M["problem.form"];
  return M["problem.other"];
}

// mine are the problems of this workflow: {text, node, branch}, each text
// once per place.
function mine() {
  const out = [], seen = new Set();
  for (const p of problems) {
    const at = W.place(wf(), wi, p.pointer);
    if (!at) continue;
    const rest = p.pointer.slice(("/workflows/" + wi).length);
    const node = at.node || (rest.startsWith("/trigger") || rest === "/form" ? "@trigger" : "");
    const t = plain(p);
    const id = node + "|" + at.branch + "|" + t;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ text: t, node, branch: at.branch, pointer: p.pointer });
  }
  return out;
}

function renderProblems() {
  const ps = mine();
  problemsList.replaceChildren(...ps.map((p) => el("li", { "data-problem": p.pointer, "data-problem-node": p.node || "@flow" },
    el("button", { type: "button", class: "link", text: p.text, onclick: () => { if (p.node) select(p.node, true); } }))));
  noProblems.hidden = ps.length > 0;
  const box = panel.querySelector("[data-panel-problems]");
  if (box) box.replaceChildren(...ps.filter((p) => p.node === selected).map((p) => el("li", { text: p.text })));
}

// ---- the flow

function summaryOf(a) {
  switch (W.kind(a)) {
    case "roles": return a.roles.map((r) => tx((doc.roles || []).find((x) => x.key === r)?.name, r)).join("、");
    case "users": return a.users.join(", ");
    case "unit_head": return a.levels_up ? fmt(M["summary.unit_head_n"], a.levels_up) : M["summary.unit_head"];
    case "field": return fmt(M["summary.field"], fields().find((f) => f.key === a.field)?.label || a.field);
  }
  return M["summary.none"];
}

function nodeSummary(n) {
  switch (n.type) {
    case "approval": return summaryOf(n.assignees) + " · " + M["mode." + (n.mode || "any")];
    case "cc": return summaryOf(n.to);
    case "action": return fmt(M["summary.set_n"], Object.keys(n.set || {}).length);
    case "parallel": return M.all_finish;
  }
  return "";
}

function condSummary(expr, id) {
  if (!expr) return M["summary.always"];
  const st = rows.get(id);
  if (st && st.expr === expr && st.rows) return fmt(M["summary.rows_n"], st.rows.conditions.length);
  return M["summary.expr"];
}

function problemBadges(ps, node, branch) {
  const mineHere = ps.filter((p) => p.node === node && p.branch === branch);
  if (!mineHere.length) return null;
  return el("span", { class: "dz-fproblems", "data-node-problem": node + (branch >= 0 ? "." + branch : "") },
    ...mineHere.map((p) => el("span", { text: p.text })));
}

function addButton(list, index) {
  const id = list + ":" + index;
  const open = menuAt === id;
  const wrap = el("div", { class: "dz-fadd-wrap" },
    el("button", { type: "button", class: "dz-fadd", "data-add": id, "aria-label": M.add_here, title: M.add_here,
      "aria-haspopup": "menu", "aria-expanded": open ? "true" : "false",
      onclick: () => { menuAt = open ? null : id; renderFlow(); focusHook(open ? "data-add" : "data-add-type", open ? id : id + "/approval"); } }, "+"));
  if (open) {
    wrap.append(el("div", { class: "dz-fmenu", role: "menu", "aria-label": M.menu, "data-menu": id,
      onkeydown: (e) => {
        if (e.key === "Escape") { menuAt = null; renderFlow(); focusHook("data-add", id); }
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          const items = Array.from(e.currentTarget.querySelectorAll("button"));
          const i = items.indexOf(document.activeElement);
          items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
          e.preventDefault();
        }
      } },
    ...W.TYPES.map((t) => el("button", { type: "button", role: "menuitem", class: "dz-fmenu-" + t, "data-add-type": id + "/" + t,
      onclick: () => addNode(list, index, t) }, M["type." + t]))));
  }
  return wrap;
}

function card(n, list, index, ps) {
  const onPath = path && path.keys.has(n.key);
  const attrs = { type: "button", class: "dz-fcard dz-fcard-" + n.type + (selected === n.key ? " is-selected" : "") + (onPath ? " is-path" : ""),
    "data-node": n.key, "data-type": n.type, "aria-pressed": selected === n.key ? "true" : "false",
    onclick: (e) => select(n.key, e.detail === 0), // from the keyboard, on to the panel
    onkeydown: (e) => {
      if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        change((w) => W.shift(w, n.key, e.key === "ArrowUp" ? -1 : 1));
        focusHook("data-node", n.key);
      } else if (e.key === "Delete") {
        e.preventDefault();
        deleteNode(n.key);
      }
    } };
  if (onPath) attrs["data-path"] = "true";
  const sum = nodeSummary(n);
  return el("button", attrs,
    el("span", { class: "dz-fcard-type", text: M["type." + n.type] || n.type }),
    el("span", { class: "dz-fcard-name", text: tx(n.name, M["type." + n.type] || n.key) }),
    sum ? el("span", { class: "dz-fcard-sum", text: sum }) : null,
    problemBadges(ps, n.key, -1));
}

function nodeItem(n, list, index, ps) {
  if (n.type !== "condition" && n.type !== "parallel") return el("li", { class: "dz-fitem" }, card(n, list, index, ps));
  const branches = (n.branches || []).map((b, bi) => {
    const id = n.key + "." + bi;
    const taken = path && path.branches.get(n.key) === bi;
    const head = el("button", { type: "button", class: "dz-fbranch-head" + (taken ? " is-path" : ""), "data-branch-head": id,
      onclick: () => select(n.key) },
    el("span", { class: "dz-fcard-name", text: tx(b.name, fmt(M.branch_n, bi + 1)) }),
    n.type === "condition" ? el("span", { class: "dz-fcard-sum", text: b.else ? M["summary.otherwise"] : condSummary(b.when, id) }) : null,
    problemBadges(ps, n.key, bi));
    if (taken) head.dataset.path = "true";
    return el("div", { class: "dz-fbranch" + (taken ? " is-path" : ""), "data-branch": id }, head, nodeList(b.nodes || [], id, ps));
  });
  return el("li", { class: "dz-fitem dz-fsplit", "data-split": n.key },
    card(n, list, index, ps),
    el("div", { class: "dz-fbranches" }, ...branches),
    el("button", { type: "button", class: "dz-fadd-branch", "data-add-branch": n.key, onclick: () => addBranch(n.key) }, "+ " + M.add_branch));
}

function nodeList(nodes, list, ps) {
  const ol = el("ol", { class: "dz-flist", "data-list": list });
  ol.append(el("li", { class: "dz-fgap" }, addButton(list, 0)));
  nodes.forEach((n, i) => {
    if (!n || typeof n !== "object") return;
    ol.append(nodeItem(n, list, i, ps), el("li", { class: "dz-fgap" }, addButton(list, i + 1)));
  });
  return ol;
}

function renderFlow() {
  const focused = document.activeElement;
  const hook = focused && ["data-node", "data-add", "data-add-type", "data-branch-head", "data-add-branch"].find((a) => focused.hasAttribute && focused.hasAttribute(a));
  const hookVal = hook && focused.getAttribute(hook);
  const w = wf();
  const ps = mine();
  const tr = w.trigger || {};
  const on = (tr.on || []).map((o) => M["on_" + o] || o).join(" / ");
  const trig = el("button", { type: "button", class: "dz-fcard dz-fcard-trigger" + (selected === "@trigger" ? " is-selected" : "") + (path && path.starts ? " is-path" : ""),
    "data-node": "@trigger", "aria-pressed": selected === "@trigger" ? "true" : "false", onclick: (e) => select("@trigger", e.detail === 0) },
  el("span", { class: "dz-fcard-type", text: M.trigger }),
  el("span", { class: "dz-fcard-name", text: on || M.on_missing }),
  el("span", { class: "dz-fcard-sum", text: condSummary(tr.when, "@trigger") }),
  problemBadges(ps, "@trigger", -1));
  if (path && path.starts) trig.dataset.path = "true";
  const list = nodeList(w.nodes || [], "top", ps);
  list.prepend(el("li", { class: "dz-fitem" }, trig));
  list.append(el("li", { class: "dz-fitem dz-fend" }, el("span", { text: M["type.end"] })));
  flowBox.replaceChildren(list);
  title.textContent = tx(w.name, w.key);
  if (hook) focusHook(hook, hookVal);
}

function focusHook(attr, val) {
  const again = root.querySelector("[" + attr + '="' + CSS.escape(val) + '"]');
  if (again) again.focus();
}

function render() {
  renderFlow();
  renderPanel();
  renderProblems();
  if (!simBox.hidden) renderSim();
}

// ---- operations

function addNode(list, index, type) {
  menuAt = null;
  const B = M.both;
  const key = change((w) => {
    const k = W.uniqueKey(w, type);
    const names = { name: B["new." + type], branch1: { zh: fmt(B.branch_n.zh, 1), en: fmt(B.branch_n.en, 1) },
      branch2: { zh: fmt(B.branch_n.zh, 2), en: fmt(B.branch_n.en, 2) }, otherwise: B.otherwise };
    W.insert(w, list, index, W.newNode(type, k, names));
    return k;
  });
  select(key, true);
}

function addBranch(key) {
  const B = M.both;
  nodeChange((n, w) => {
    const i = n.branches.filter((b) => !b.else).length + 1;
    W.addBranch(w, key, { name: { zh: fmt(B.branch_n.zh, i), en: fmt(B.branch_n.en, i) }, nodes: [] });
  }, true);
  if (selected !== key) select(key);
}

function deleteNode(key) {
  const f = W.find(wf(), key);
  if (!f || !window.confirm(fmt(M.confirm_delete, tx(f.node.name, M["type." + f.node.type])))) return;
  const l = W.list(wf(), f.list);
  const nextKey = (l[f.index + 1] || l[f.index - 1] || {}).key;
  change((w) => W.remove(w, key));
  selected = null;
  renderFlow();
  renderPanel();
  renderProblems();
  if (nextKey) focusHook("data-node", nextKey); else focusHook("data-add", f.list + ":" + f.index);
}

function select(key, focusPanel) {
  selected = key;
  menuAt = null;
  renderFlow();
  renderPanel();
  renderProblems();
  if (focusPanel) panel.focus();
  // on a phone the panel is below the flow: bring it up
  if (key && window.matchMedia("(max-width: 1023px)").matches) panel.scrollIntoView({ block: "start" });
}

// ---- the panel

function renderPanel() {
  const w = wf();
  if (!selected) {
    panel.replaceChildren(el("h2", { text: M.panel }), el("p", { class: "dz-hint", text: M.panel_hint }));
    delete panel.dataset.for;
    return;
  }
  panel.dataset.for = selected;
  const head = (t) => el("div", { class: "dz-fpanel-head" }, el("h2", { text: t }),
    el("button", { type: "button", "data-do": "close", text: M.close, onclick: () => { const k = selected; select(null); if (k) focusHook("data-node", k); } }));
  const probs = el("ul", { class: "dz-fproblems", "data-panel-problems": "", role: "alert" });
  if (selected === "@trigger") {
    panel.replaceChildren(head(M.trigger), ...triggerPanel(w), probs);
    renderProblems();
    return;
  }
  const f = W.find(w, selected);
  if (!f) {
    selected = null;
    return renderPanel();
  }
  const n = f.node;
  const parts = [head(M["type." + n.type] || n.type), ...namesOf(n, (fn) => nodeChange(fn))];
  switch (n.type) {
    case "approval":
      parts.push(assigneesEditor(n.assignees, M.assignees, (fn) => nodeChange((x) => { x.assignees = fn(x.assignees); }, true)));
      parts.push(modeEditor(n));
      parts.push(gridEditor(n));
      parts.push(timingEditor(n));
      break;
    case "cc":
      parts.push(assigneesEditor(n.to, M.cc_to, (fn) => nodeChange((x) => { x.to = fn(x.to); }, true)));
      break;
    case "condition":
    case "parallel":
      parts.push(branchesEditor(n));
      break;
    case "action":
      parts.push(setEditor(n));
      break;
  }
  // the node's problems come after its controls: a save's answer that
  // adds or removes one moves nothing a hand may be about to press
  parts.push(probs);
  parts.push(el("p", {}, el("button", { type: "button", class: "danger", "data-do": "delete-node", text: M.delete_node, onclick: () => deleteNode(n.key) })));
  panel.replaceChildren(...parts);
  renderProblems();
}

// namesOf are the zh and en inputs of obj.name; edit(fn) saves fn(obj).
function namesOf(obj, edit, what) {
  const one = (lg, label) => {
    const input = el("input", { type: "text", value: typeof obj.name === "string" ? obj.name : (obj.name || {})[lg] || "",
      "data-name": (what || "node") + "/" + lg,
      oninput: (e) => edit((x) => setText(x, "name", lg, e.target.value)) });
    return labelled(label, input);
  };
  return [one("zh", M.name_zh), one("en", M.name_en)];
}

function radios(name, items, current, onpick) {
  return items.map((it) => {
    const id = nextId("r");
    return el("label", { class: "check", for: id },
      el("input", { type: "radio", id, name, value: it.value, checked: it.value === current, "data-pick": name + "/" + it.value,
        onchange: (e) => { if (e.target.checked) onpick(it.value); } }),
      " " + it.label);
  });
}

function assigneesEditor(a, legend, edit) {
  const k = W.kind(a);
  const name = nextId("kind");
  const box = el("fieldset", { class: "dz-fgroup", "data-assignees": "" }, el("legend", { text: legend }));
  const roles = doc.roles || [];
  const members = fields().filter((f) => f.widget === "member");
  box.append(el("div", { class: "dz-fchoices" }, ...radios(name, W.KINDS.map((v) => ({ value: v, label: M["kind." + v] })), k,
    (v) => edit((old) => W.withKind(old, v, v === "roles" ? (roles[0] || {}).key : v === "field" ? (members[0] || {}).key : "")))));
  switch (k) {
    case "roles":
      if (!roles.length) box.append(el("p", { class: "dz-hint", text: M.no_roles }));
      box.append(el("div", { class: "dz-fchoices" }, ...roles.map((r) => {
        const id = nextId("role");
        return el("label", { class: "check", for: id }, el("input", { type: "checkbox", id, "data-role-pick": r.key, checked: a.roles.includes(r.key),
          onchange: (e) => edit((old) => W.toggleRole(old, r.key, e.target.checked)) }), " " + tx(r.name, r.key));
      })));
      break;
    case "users":
      box.append(labelled(M["kind.users"], el("input", { type: "text", value: a.users.join(", "), "data-users": "", inputmode: "email",
        onchange: (e) => edit((old) => ({ ...old, users: e.target.value.split(/[,，;；\s]+/).filter(Boolean) })) }), M.users_help));
      break;
    case "unit_head": {
      const sel = el("select", { "data-levels": "",
        onchange: (e) => edit((old) => { const o = { ...old }; if (+e.target.value) o.levels_up = +e.target.value; else delete o.levels_up; return o; }) },
      ...[0, 1, 2, 3, 4, 5].map((i) => el("option", { value: String(i), selected: (a.levels_up || 0) === i, text: i ? fmt(M.level_n, i) : M.level_0 })));
      box.append(labelled(M.levels, sel));
      break;
    }
    case "field": {
      if (!members.length) box.append(el("p", { class: "dz-hint", text: M.no_member_fields }));
      const sel = el("select", { "data-member-field": "", onchange: (e) => edit((old) => ({ ...old, field: e.target.value })) },
        ...members.map((f) => el("option", { value: f.key, selected: f.key === a.field, text: f.label })));
      if (members.length) box.append(labelled(M["kind.field"], sel));
      break;
    }
  }
  return box;
}

function modeEditor(n) {
  const name = nextId("mode");
  return el("fieldset", { class: "dz-fgroup", "data-modes": "" }, el("legend", { text: M.mode }),
    el("div", { class: "dz-fchoices dz-fmodes" }, ...radios(name, W.MODES.map((m) => ({ value: m, label: M["mode." + m] + (lang === "zh" ? "（" + M["mode." + m + "_help"] + "）" : " (" + M["mode." + m + "_help"] + ")") })),
      n.mode || "any", (m) => nodeChange((x) => { x.mode = m; }))));
}

function permSelect(n, key, label) {
  const v = W.fieldPerm(n, key);
  const opts = ["hidden", "read", "edit"];
  if (v === "masked") opts.splice(1, 0, "masked");
  return el("select", { "data-fperm": key, "aria-label": label,
    onchange: (e) => nodeChange((x) => W.setFieldPerm(x, key, e.target.value), true) },
  ...opts.map((o) => el("option", { value: o, selected: o === v, text: M["perm." + o] })));
}

function gridEditor(n) {
  const body = el("tbody", {}, el("tr", { class: "dz-fgrid-default" }, el("th", { scope: "row", text: M.default_field }),
    el("td", {}, permSelect(n, "*", M.default_field))));
  for (const f of fields()) {
    body.append(el("tr", {}, el("th", { scope: "row", text: f.label }), el("td", {}, permSelect(n, f.key, f.label))));
  }
  return el("fieldset", { class: "dz-fgroup" }, el("legend", { text: M.fields }),
    el("div", { class: "dz-grid-wrap" }, el("table", { class: "dz-grid", "data-field-grid": "" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: M.field }), el("th", { scope: "col", text: "" }))), body)));
}

function durationInput(part, iso) {
  const d = W.fromISO(iso);
  const num = el("input", { type: "number", min: "1", step: "1", inputmode: "numeric", value: d ? String(d.n) : "", "data-duration": part });
  const unit = el("select", { "data-duration-unit": part }, el("option", { value: "h", text: M.hours, selected: !d || d.unit === "h" }),
    el("option", { value: "d", text: M.days, selected: d && d.unit === "d" }));
  const save = () => {
    const next = num.value === "" ? "" : W.toISO(num.value, unit.value);
    if (num.value !== "" && !next) return;
    if (!d && iso && num.value === "") return; // a duration the page cannot show stays
    nodeChange((x) => W.setTiming(x, part, next), true);
  };
  num.addEventListener("change", save);
  unit.addEventListener("change", save);
  num.id = nextId("dur");
  return el("div", { class: "dz-prop dz-fduration" }, el("label", { for: num.id, text: M[part === "remind" ? "remind" : "deadline"] }),
    el("span", { class: "dz-frow" }, num, unit));
}

function timingEditor(n) {
  const t = n.timeout || {};
  const box = el("fieldset", { class: "dz-fgroup", "data-timing": "" }, el("legend", { text: M.timing }),
    durationInput("remind", t.remind), durationInput("after", t.after));
  if (t.after) {
    const sel = el("select", { "data-deadline-action": "", onchange: (e) => nodeChange((x) => W.setDeadlineAction(x, e.target.value, []), true) },
      el("option", { value: "", text: M.none, selected: !t.action }),
      ...["escalate", "approve", "reject"].map((a) => el("option", { value: a, text: M["act." + a], selected: t.action === a })));
    box.append(labelled(M.on_deadline, sel));
    if (t.action === "escalate") {
      box.append(el("div", { class: "dz-fchoices", role: "group", "aria-label": M.escalate_to }, ...(doc.roles || []).map((r) => {
        const id = nextId("esc");
        const on = W.kind(t.to) === "roles" && t.to.roles.includes(r.key);
        return el("label", { class: "check", for: id }, el("input", { type: "checkbox", id, "data-escalate-role": r.key, checked: on,
          onchange: (e) => nodeChange((x) => { x.timeout.to = W.toggleRole(W.withKind(x.timeout.to, "roles"), r.key, e.target.checked); }) }), " " + tx(r.name, r.key));
      })));
    }
  }
  return box;
}

function branchesEditor(n) {
  const box = el("div", { class: "dz-fbranch-edit" });
  if (n.type === "parallel") box.append(el("p", { class: "dz-hint", text: M.all_finish }));
  (n.branches || []).forEach((b, bi) => {
    const id = n.key + "." + bi;
    const fs = el("fieldset", { class: "dz-fgroup", "data-branch-edit": id }, el("legend", { text: tx(b.name, fmt(M.branch_n, bi + 1)) }));
    fs.append(...namesOf(b, (fn) => nodeChange((x) => fn(x.branches[bi])), "branch/" + bi));
    if (n.type === "condition") {
      const last = bi === n.branches.length - 1;
      if (last || b.else) {
        const cid = nextId("else");
        fs.append(el("label", { class: "check", for: cid }, el("input", { type: "checkbox", id: cid, "data-otherwise": id, checked: !!b.else,
          onchange: (e) => nodeChange((x, w) => W.setOtherwise(w, n.key, bi, e.target.checked), true) }), " " + M.otherwise_label));
      }
      if (!b.else) fs.append(rowsEditor(id, b.when || "", (expr) => nodeChange((x) => {
        if (expr) x.branches[bi].when = expr; else delete x.branches[bi].when;
      })));
    }
    if (n.branches.length > 1) {
      fs.append(el("button", { type: "button", class: "danger", "data-remove-branch": id, text: M.remove_branch,
        onclick: () => nodeChange((x, w) => W.removeBranch(w, n.key, bi), true) }));
    }
    box.append(fs);
  });
  box.append(el("button", { type: "button", "data-add-branch-panel": n.key, text: "+ " + M.add_branch, onclick: () => addBranch(n.key) }));
  return box;
}

function setEditor(n) {
  const set = n.set || {};
  const all = fields().filter((f) => !f.compute);
  const box = el("fieldset", { class: "dz-fgroup", "data-set": "" }, el("legend", { text: M.set }));
  Object.entries(set).forEach(([k, expr]) => {
    const sel = el("select", { "data-set-field": k, "aria-label": M.set_field,
      onchange: (e) => nodeChange((x) => {
        const to = e.target.value;
        if (to in x.set) return;
        x.set = Object.fromEntries(Object.entries(x.set).map(([kk, v]) => [kk === k ? to : kk, v]));
      }, true) },
    ...all.filter((f) => f.key === k || !(f.key in set)).map((f) => el("option", { value: f.key, selected: f.key === k, text: f.label })));
    const input = el("input", { type: "text", value: expr, "data-set-expr": k, "aria-label": M.set_expr, spellcheck: "false",
      onchange: (e) => nodeChange((x) => { x.set[k] = e.target.value; }) });
    box.append(el("div", { class: "dz-frow dz-fset" }, sel, input,
      el("button", { type: "button", class: "danger", "data-set-remove": k, text: M.set_remove, onclick: () => nodeChange((x) => { delete x.set[k]; }, true) })));
  });
  const free = all.find((f) => !(f.key in set));
  if (free) {
    box.append(el("button", { type: "button", "data-set-add": "", text: "+ " + M.set_add,
      onclick: () => nodeChange((x) => { x.set = { ...(x.set || {}), [free.key]: free.key }; }, true) }));
  }
  return box;
}

function triggerPanel(w) {
  const tr = w.trigger || {};
  const parts = namesOf(w, (fn) => change((x) => fn(x)), "flow");
  const on = el("fieldset", { class: "dz-fgroup", "data-on": "" }, el("legend", { text: M.trigger }));
  for (const o of ["create", "update"]) {
    const id = nextId("on");
    on.append(el("label", { class: "check", for: id }, el("input", { type: "checkbox", id, "data-on": o, checked: (tr.on || []).includes(o),
      onchange: (e) => change((x) => {
        x.trigger = x.trigger || {};
        const cur = (x.trigger.on || []).filter((v) => v !== o);
        if (e.target.checked) cur.push(o);
        x.trigger.on = ["create", "update"].filter((v) => cur.includes(v)).concat(cur.filter((v) => v !== "create" && v !== "update"));
      }) }), " " + M["on_" + o]));
  }
  parts.push(on);
  const name = nextId("when");
  const when = el("fieldset", { class: "dz-fgroup", "data-when": "" }, el("legend", { text: M.only_when }),
    el("div", { class: "dz-fchoices" }, ...radios(name, [{ value: "always", label: M.always }, { value: "when", label: M.only_when }],
      tr.when || rows.get("@trigger")?.open ? "when" : "always", (v) => {
        if (v === "always") {
          rows.delete("@trigger");
          change((x) => { if (x.trigger) delete x.trigger.when; });
          renderPanel();
        } else {
          rows.set("@trigger", { expr: "", open: true });
          renderPanel();
        }
      })));
  if (tr.when || rows.get("@trigger")?.open) {
    when.append(rowsEditor("@trigger", tr.when || "", (expr) => change((x) => {
      x.trigger = x.trigger || {};
      if (expr) x.trigger.when = expr; else delete x.trigger.when;
    })));
  }
  parts.push(when);
  return parts;
}

// ---- the condition rows

const OPS = {
  number: ["eq", "ne", "gt", "ge", "lt", "le", "in", "not_in"],
  integer: ["eq", "ne", "gt", "ge", "lt", "le", "in", "not_in"],
  string: ["eq", "ne", "in", "not_in", "contains", "empty", "not_empty"],
  boolean: ["eq", "ne"],
  array: ["has", "empty", "not_empty"],
};

function opsOf(f) {
  if (!f) return ["eq"];
  const ops = OPS[f.type] || ["eq", "ne"];
  return f.options.length && f.type === "string" ? ops.filter((o) => o !== "contains") : ops;
}

async function ask(body) {
  const r = await fetch(root.dataset.ruleUrl, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": root.dataset.csrf },
    body: JSON.stringify({ form: wf().form, want: "boolean", ...body }),
  });
  let res = null;
  try { res = await r.json(); } catch (e) { res = null; }
  return { ok: r.ok, res: res || {} };
}

// firstError is why a condition was not taken, in plain words: a row's
// mistake or the compiler's (both put in plain words by the server), or
// else a sentence of ours (the draft's own problems are listed apart).
function firstError(res) {
  const e = (res.errors || []).find((x) => /^\/(conditions|join)(\/|$)/.test(x.field || ""));
  if (e && e.message) return e.message;
  const p = (res.problems || [])[0];
  return p ? tx(p.message) : M["problem.other"];
}

// rowsEditor edits one condition (expr) with the row builder, or as a
// formula when rows cannot show it; save(expr) stores a condition the
// server compiled.
function rowsEditor(id, expr, save) {
  const box = el("div", { class: "dz-frows", "data-rows": id });
  let st = rows.get(id);
  if (!st || st.expr !== expr || !st.rows && !st.advanced && !st.loading) {
    st = { expr, rows: null, advanced: false, problem: "", open: st && st.open, loading: !!expr };
    rows.set(id, st);
    if (!expr) {
      const f = fields()[0];
      st.rows = { join: "all", conditions: [{ field: f ? f.key : "", op: opsOf(f)[0], value: "" }] };
    } else {
      ask({ expr }).then(({ ok, res }) => {
        if (rows.get(id) !== st) return;
        st.loading = false;
        if (ok && res.rows) st.rows = res.rows; else st.advanced = true;
        draw();
      });
    }
  }
  let timer = null;
  const send = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const seq = st.seq = (st.seq || 0) + 1; // only the latest answer counts
      if (!st.advanced && !complete(st.rows)) return; // a value still to come
      const { ok, res } = st.advanced ? await ask({ expr: st.text }) : await ask({ rows: st.rows });
      if (rows.get(id) !== st || seq !== st.seq) return;
      // a problem at /data is the sample's (there is none): the rule compiled
      if (ok) res.problems = (res.problems || []).filter((p) => p.pointer !== "/data");
      if (ok && !res.problems.length) {
        st.problem = "";
        st.expr = res.expr;
        save(res.expr);
      } else {
        st.problem = firstError(res);
        if (st.advanced && ok) save(st.text); // kept as written, its problem shown
      }
      const p = box.querySelector("[data-rows-problem]");
      if (p) { p.textContent = st.problem; p.hidden = !st.problem; }
    }, 250);
  };
  const draw = () => {
    const kids = [];
    if (st.loading) kids.push(el("p", { class: "dz-hint", text: M["rows.checking"] }));
    else if (st.advanced) {
      st.text = st.text == null ? st.expr : st.text;
      const ta = el("textarea", { rows: "3", spellcheck: "false", "data-rows-expr": id, oninput: (e) => { st.text = e.target.value; send(); } }, st.text);
      if (st.expr && !st.rows) kids.push(el("p", { class: "dz-hint", text: M["rows.not_rows"] }));
      kids.push(labelled(M["rows.expr"], ta));
      kids.push(el("button", { type: "button", class: "link", "data-rows-mode": id, text: M["rows.builder"],
        onclick: () => { st.advanced = false; st.text = null; if (!st.rows) { const f = fields()[0]; st.rows = { join: "all", conditions: [{ field: f ? f.key : "", op: "eq", value: "" }] }; } draw(); } }));
    } else if (st.rows) {
      kids.push(...rowsOf(id, st, send, draw));
      kids.push(el("button", { type: "button", class: "link", "data-rows-mode": id, text: M["rows.advanced"],
        onclick: () => { st.advanced = true; st.text = st.expr; draw(); } }));
    }
    kids.push(el("p", { class: "error", role: "alert", "data-rows-problem": id, hidden: !st.problem, text: st.problem }));
    box.replaceChildren(...kids);
  };
  draw();
  return box;
}

// complete reports whether every row has the value its condition needs.
function complete(r) {
  return r.conditions.every((c) => ["empty", "not_empty"].includes(c.op) ||
    (Array.isArray(c.value) ? c.value.length > 0 : c.value !== "" && c.value != null));
}

function rowsOf(id, st, send, draw) {
  const fs = fields().filter((f) => !["attachment", "image", "subform"].includes(f.widget) && f.type !== "object");
  const r = st.rows;
  const join = el("select", { "data-rows-join": id, onchange: (e) => { r.join = e.target.value; send(); } },
    el("option", { value: "all", text: M["rows.all"], selected: r.join !== "any" }),
    el("option", { value: "any", text: M["rows.any"], selected: r.join === "any" }));
  const out = [labelled(M["rows.join"], join)];
  const list = el("ol", { class: "dz-frowlist" });
  r.conditions.forEach((c, i) => {
    const f = fs.find((x) => x.key === c.field);
    const rid = id + "/" + i;
    const field = el("select", { "data-row-field": rid, "aria-label": M["rows.field"],
      onchange: (e) => { const nf = fs.find((x) => x.key === e.target.value); r.conditions[i] = { field: e.target.value, op: opsOf(nf)[0], value: "" }; draw(); send(); } },
    ...fs.map((x) => el("option", { value: x.key, selected: x.key === c.field, text: x.label })));
    const op = el("select", { "data-row-op": rid, "aria-label": M["rows.op"],
      onchange: (e) => { c.op = e.target.value; if (["in", "not_in"].includes(c.op)) c.value = []; else if (Array.isArray(c.value)) c.value = ""; draw(); send(); } },
    ...opsOf(f).map((o) => el("option", { value: o, selected: o === c.op, text: M["op." + o] })));
    list.append(el("li", { class: "dz-frow", "data-row": rid }, field, op, valueInput(f, c, rid, send),
      r.conditions.length > 1 ? el("button", { type: "button", class: "danger", "data-row-remove": rid, "aria-label": M["rows.remove"], title: M["rows.remove"],
        onclick: () => { r.conditions.splice(i, 1); draw(); send(); } }, "×") : null));
  });
  out.push(list, el("button", { type: "button", "data-row-add": id, text: "+ " + M["rows.add"],
    onclick: () => { const f0 = fs[0]; r.conditions.push({ field: f0 ? f0.key : "", op: opsOf(f0)[0], value: "" }); draw(); } }));
  return out;
}

function valueInput(f, c, rid, send) {
  if (["empty", "not_empty"].includes(c.op)) return null;
  const aria = M["rows.value"];
  if (f && f.type === "boolean") {
    if (typeof c.value !== "boolean") c.value = true;
    return el("select", { "data-row-value": rid, "aria-label": aria, onchange: (e) => { c.value = e.target.value === "true"; send(); } },
      el("option", { value: "true", text: M.yes, selected: c.value === true }), el("option", { value: "false", text: M.no, selected: c.value === false }));
  }
  if (["in", "not_in"].includes(c.op)) {
    const cur = Array.isArray(c.value) ? c.value : [];
    if (f && f.options.length) {
      return el("span", { class: "dz-fchoices", "data-row-value": rid, role: "group", "aria-label": aria }, ...f.options.map((o) => {
        const id = nextId("in");
        return el("label", { class: "check", for: id }, el("input", { type: "checkbox", id, value: String(o.value), checked: cur.includes(o.value),
          onchange: (e) => { const vs = new Set(Array.isArray(c.value) ? c.value : []); if (e.target.checked) vs.add(o.value); else vs.delete(o.value); c.value = f.options.map((x) => x.value).filter((v) => vs.has(v)); send(); } }), " " + o.label);
      }));
    }
    return el("input", { type: "text", "data-row-value": rid, "aria-label": aria, value: cur.join(", "),
      oninput: (e) => { c.value = e.target.value.split(/[,，]\s*/).map((s) => s.trim()).filter(Boolean); send(); } });
  }
  if (f && f.options.length) {
    if (c.value === "" || c.value == null) c.value = f.options[0].value;
    return el("select", { "data-row-value": rid, "aria-label": aria, onchange: (e) => { c.value = e.target.value; send(); } },
      ...f.options.map((o) => el("option", { value: String(o.value), text: o.label, selected: o.value === c.value })));
  }
  const num = f && (f.type === "number" || f.type === "integer");
  return el("input", { type: num ? "number" : "text", step: num ? "any" : null, "data-row-value": rid, "aria-label": aria,
    value: c.value == null ? "" : String(c.value), oninput: (e) => { c.value = e.target.value; send(); } });
}

// ---- simulation

function simFields() {
  return fields().filter((f) => !f.compute && !["attachment", "image", "subform", "relation", "member", "unit", "serial"].includes(f.widget) && f.type !== "object");
}

function renderSim() {
  const inputs = simFields().map((f) => {
    let input;
    const set = (v) => { if (v === "" || v == null) delete sample[f.key]; else sample[f.key] = v; };
    if (f.type === "boolean") {
      input = el("input", { type: "checkbox", "data-sim-field": f.key, checked: sample[f.key] === true, onchange: (e) => set(e.target.checked) });
    } else if (f.options.length && f.type !== "array") {
      input = el("select", { "data-sim-field": f.key, onchange: (e) => set(e.target.value) }, el("option", { value: "", text: "—" }),
        ...f.options.map((o) => el("option", { value: String(o.value), text: o.label, selected: sample[f.key] === o.value })));
    } else if (f.type === "array") {
      return null;
    } else {
      const num = f.type === "number" || f.type === "integer";
      input = el("input", { type: num ? "number" : "text", step: num ? "any" : null, "data-sim-field": f.key, value: sample[f.key] == null ? "" : String(sample[f.key]),
        oninput: (e) => set(num ? (e.target.value === "" ? "" : Number(e.target.value)) : e.target.value) });
    }
    return labelled(f.label, input);
  });
  simBox.replaceChildren(el("h2", { text: M.sim }), el("p", { class: "dz-hint", text: M["sim.intro"] }), ...inputs.filter(Boolean),
    el("button", { type: "button", class: "primary", "data-do": "run-sim", text: M["sim.run"], onclick: runSim }),
    el("div", { "data-sim-result": "", "aria-live": "polite" }));
}

async function runSim() {
  const out = simBox.querySelector("[data-sim-result]");
  await waitSaved();
  let r, res = {};
  try {
    r = await fetch(root.dataset.simulateUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ workflow: flowKey, as: { user: root.dataset.me }, data: sample }),
    });
    res = await r.json();
  } catch (e) {
    r = { ok: false };
  }
  if (!r.ok) {
    path = null;
    renderFlow();
    const fix = mine().length > 0;
    out.replaceChildren(el("p", { class: "error", "data-sim-error": "", text: fix ? M["sim.fix_first"] : M["sim.failed"] + (res.detail || res.title || "") }));
    return;
  }
  const keys = W.walkPath(res.steps);
  const branches = new Map();
  const walkB = (steps) => { for (const s of steps || []) { if (s.branch != null) branches.set(s.node, s.branch); (s.parallel || []).forEach(walkB); } };
  walkB(res.steps);
  path = { keys, branches, starts: !!res.starts };
  renderFlow();
  if (!res.starts) {
    out.replaceChildren(el("p", { "data-sim-nostart": "", text: M["sim.no_start"] }));
    return;
  }
  const ended = (res.steps || []).some((s) => s.type === "end");
  out.replaceChildren(el("p", { text: M["sim.path"] }), stepsList(res.steps), ended ? null : el("p", { class: "dz-hint", text: M["sim.done"] }));
}

function stepsList(steps) {
  const w = wf();
  return el("ol", { class: "dz-fsim-steps" }, ...(steps || []).map((s) => {
    const who = (s.users || []).map((u) => u.name || u.id).join("、");
    let detail = "";
    switch (s.type) {
      case "approval": detail = (s.escalated ? M["sim.nobody"] : fmt(M["sim.asks"], who)) + " · " + M["mode." + (s.mode || "any")]; break;
      case "cc": detail = fmt(M["sim.informs"], who || M["summary.none"]); break;
      case "condition": {
        const f = W.find(w, s.node);
        const b = f && (f.node.branches || [])[s.branch];
        detail = s.branch >= 0 ? fmt(M["sim.branch"], tx(b && b.name, fmt(M.branch_n, s.branch + 1))) : M["sim.no_branch"];
        break;
      }
      case "action": detail = fmt(M["sim.sets"], (s.sets || []).map((k) => fields().find((f) => f.key === k)?.label || k).join("、")); break;
      case "end": detail = M["sim.end"]; break;
      case "parallel": detail = M["sim.parallel"]; break;
    }
    return el("li", { "data-sim-step": s.node }, el("strong", { text: tx(s.name) && tx(s.name) !== s.node ? tx(s.name) : M["type." + s.type] || s.node }), " ", el("span", { text: detail }),
      s.type === "parallel" ? el("div", { class: "dz-fsim-par" }, ...(s.parallel || []).map((p) => stepsList(p))) : null);
  }));
}

function waitSaved() {
  return new Promise((resolve) => {
    const check = () => (saver.saved ? resolve() : setTimeout(check, 50));
    check();
  });
}

// Escape in the panel closes it and goes back to its node
panel.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || !selected) return;
  const k = selected;
  select(null);
  focusHook("data-node", k);
});

simBtn.addEventListener("click", () => {
  simBox.hidden = !simBox.hidden;
  simBtn.setAttribute("aria-expanded", simBox.hidden ? "false" : "true");
  if (!simBox.hidden) {
    renderSim();
    simBox.focus();
  } else {
    path = null;
    renderFlow();
  }
});

document.addEventListener("click", (e) => {
  if (menuAt && !e.target.closest("[data-menu]") && !e.target.closest("[data-add]")) {
    menuAt = null;
    renderFlow();
  }
});

// Wide branches scroll inside the canvas. It is kept at the middle, where
// the flow runs, until the person scrolls it themselves.
const canvasWrap = flowBox.parentElement;
let centredAt = -1;
canvasWrap.addEventListener("scroll", () => {
  if (centredAt >= 0 && Math.abs(canvasWrap.scrollLeft - centredAt) > 2) centredAt = -2;
});
function centre() {
  if (centredAt === -2) return;
  centredAt = Math.max(0, Math.round((canvasWrap.scrollWidth - canvasWrap.clientWidth) / 2));
  canvasWrap.scrollLeft = centredAt;
}
new ResizeObserver(centre).observe(flowBox);

reload("").then(() => { root.dataset.ready = "true"; });
