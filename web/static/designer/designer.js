// The form designer page: the palette, the canvas and the properties of
// the selected field. The page holds the draft bundle; every change is
// made on a copy, compared with the bundle before it (patch.js) and sent
// as JSON Patch (save.js). Undo and redo keep up to 100 bundles, which
// share every part they did not change.

import { diff } from "./patch.js";
import * as F from "./form.js";
import { Saver, fetchDraft } from "./save.js";
import { enableDrag } from "./drag.js";

const HISTORY = 100;
const KEY_RE = /^[a-z][a-z0-9_]{0,62}$/;

const root = document.getElementById("designer");
const M = JSON.parse(document.getElementById("dz-msgs").textContent);
const lang = root.dataset.lang;
const formKey = root.dataset.form;
const canvas = root.querySelector("[data-canvas]");
const propsBox = root.querySelector("[data-props]");
const problemsList = root.querySelector("[data-problems]");
const status = root.querySelector(".dz-status");
const notice = root.querySelector(".dz-notice");
const undoBtn = root.querySelector("[data-do=undo]");
const redoBtn = root.querySelector("[data-do=redo]");

let doc = null; // the bundle as the page holds it
let fi = -1; // the index of this page's form in doc.forms
let selected = null; // the selected field's key
let problems = [];
let published = new Set(JSON.parse(root.dataset.published || "[]"));
const undoStack = [], redoStack = [];
let lastTag = null; // consecutive edits of one input are one undo step
const autoKeys = new Set(); // new fields whose key follows the English label

const saver = new Saver({
  url: root.dataset.draftUrl,
  csrf: root.dataset.csrf,
  version: 0,
  bundle: () => doc,
  onState: setSaved,
  onSaved: (res) => {
    if (Array.isArray(res.problems)) {
      problems = res.problems;
      renderProblems();
    }
  },
  onConflict: () => reload(M.conflict),
  onRefused: (body) => reload((body && (body.detail || body.title)) || M.refused),
});

function setSaved(ok) {
  status.dataset.saved = ok ? "true" : "false";
  status.textContent = ok ? M.saved : M.saving;
}

function form() {
  return doc.forms[fi];
}

function say(msg) {
  notice.textContent = msg || "";
  notice.hidden = !msg;
}

async function load() {
  const d = await fetchDraft(root.dataset.draftUrl);
  doc = d.bundle;
  saver.version = d.version;
  problems = d.problems;
  fi = (doc.forms || []).findIndex((f) => f && f["x-key"] === formKey);
  if (fi < 0) throw new Error(M.no_form);
}

async function reload(msg) {
  saver.drop();
  try {
    await load();
  } catch (e) {
    say(String(e.message || e));
    return;
  }
  undoStack.length = 0;
  redoStack.length = 0;
  lastTag = null;
  if (selected && !(form().properties || {})[selected]) selected = null;
  say(msg);
  setSaved(true);
  render(true);
}

// change runs fn on a copy of the form (and the bundle) and saves what
// changed as one undo step; tag names an input whose consecutive edits
// make one step.
function change(fn, tag) {
  const before = doc;
  const next = { ...doc, forms: doc.forms.slice() };
  next.forms[fi] = structuredClone(doc.forms[fi]);
  const res = fn(next.forms[fi], next);
  const ops = diff(before, next);
  if (!ops.length) return res;
  if (!tag || tag !== lastTag) {
    undoStack.push({ doc: before, selected });
    if (undoStack.length > HISTORY) undoStack.shift();
  }
  lastTag = tag || null;
  redoStack.length = 0;
  doc = next;
  saver.push(ops);
  return res;
}

function travel(from, to) {
  const step = from.pop();
  if (!step) return;
  to.push({ doc, selected });
  const ops = diff(doc, step.doc);
  doc = step.doc;
  selected = step.selected && form().properties && form().properties[step.selected] ? step.selected : null;
  lastTag = null;
  saver.push(ops);
  render(true);
}

const undo = () => travel(undoStack, redoStack);
const redo = () => travel(redoStack, undoStack);

function newLabel(widget) {
  const w = M.widgets[widget] || { zh: widget, en: widget };
  return { zh: w.zh, en: w.en };
}

function addField(widget, index) {
  const key = change((f, b) => F.add(f, widget, index, newLabel(widget), (b.forms || []).map((x) => x["x-key"])));
  autoKeys.add(key);
  selected = key;
  render(true);
  focusSelected();
}

function moveField(key, index) {
  change((f) => F.move(f, key, index));
  selected = key;
  render(true);
  focusSelected();
}

function removeField(key) {
  const order = F.order(form()).map((e) => e.key);
  const i = order.indexOf(key);
  change((f) => F.remove(f, key));
  selected = order[i + 1] || order[i - 1] || null;
  if (selected === key) selected = null;
  render(true);
  focusSelected();
}

function duplicateField(key) {
  selected = change((f) => F.duplicate(f, key, M.copy_suffix));
  render(true);
  focusSelected();
}

function select(key) {
  if (selected === key) return;
  selected = key;
  lastTag = null;
  render(true);
}

function focusSelected() {
  const el = selected && canvas.querySelector(`[data-field="${CSS.escape(selected)}"]`);
  if (el) el.focus();
}

// el builds an element: el("li", {class: "x", "data-field": k}, child…).
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k != null) n.append(k);
  return n;
}

function label(schema, key) {
  return F.text(schema && schema["x-label"], lang) || key;
}

function render(withProps) {
  renderCanvas();
  if (withProps) renderProps();
  renderProblems();
  undoBtn.disabled = undoStack.length === 0;
  redoBtn.disabled = redoStack.length === 0;
}

function renderCanvas() {
  const f = form();
  const focused = canvas.contains(document.activeElement);
  const items = F.order(f).map(({ key }) => {
    const s = f.properties[key] || {};
    const lbl = label(s, key);
    const w = s["x-widget"] || "";
    return el("li", { class: "dz-field" + (key === selected ? " is-selected" : ""), "data-field": key, tabindex: "0", "aria-current": key === selected ? "true" : false },
      el("span", { class: "dz-handle", "aria-hidden": "true", text: "⠿" }),
      el("span", { class: "dz-label" }, lbl, F.isRequired(f, key) ? el("span", { class: "req", "aria-label": M.required, text: " *" }) : null),
      el("span", { class: "dz-kind", text: F.text(M.widgets[w], lang) || w }),
      el("span", { class: "dz-tools" },
        el("button", { type: "button", class: "link", "data-do": "duplicate", "aria-label": M.duplicate + " " + lbl, text: M.duplicate }),
        el("button", { type: "button", class: "link danger", "data-do": "delete", "aria-label": M.delete + " " + lbl, text: M.delete })));
  });
  canvas.replaceChildren(...items);
  root.querySelector(".dz-empty").hidden = items.length > 0;
  if (focused) focusSelected();
}

function field(id, text, input) {
  return el("div", { class: "dz-prop" }, el("label", { for: id, text }), input);
}

function renderProps() {
  const f = form();
  const key = selected;
  const s = key && f.properties[key];
  propsBox.dataset.for = s ? key : "";
  if (!s) {
    propsBox.replaceChildren(el("h2", { text: M.props }), el("p", { class: "dz-hint", text: M.select_hint }));
    return;
  }
  const edit = (kw, lng) => (ev) => {
    const v = ev.target.value;
    const k = selected;
    change((ff) => F.setText(ff.properties[k], kw, lng, v), kw + ":" + lng + ":" + k);
    if (kw === "x-label" && lng === "en" && autoKeys.has(k)) {
      const nk = F.uniqueKey(form(), F.keyFrom(v), k);
      if (nk !== k && KEY_RE.test(nk)) {
        change((ff) => F.rename(ff, k, nk), kw + ":" + lng + ":" + k);
        lastTag = kw + ":" + lng + ":" + nk;
        autoKeys.delete(k);
        autoKeys.add(nk);
        selected = nk;
        propsBox.dataset.for = nk;
        const ki = propsBox.querySelector("#dz-p-key");
        if (ki) ki.value = nk;
      }
    }
    renderCanvas();
    renderProblems();
  };
  const lbl = s["x-label"];
  const canKey = !published.has(key);
  const kids = [
    el("h2", { text: M.props }),
    field("dz-p-label-zh", M.label_zh, el("input", { id: "dz-p-label-zh", type: "text", value: typeof lbl === "string" ? lbl : (lbl && lbl.zh) || "", oninput: edit("x-label", "zh") })),
    field("dz-p-label-en", M.label_en, el("input", { id: "dz-p-label-en", type: "text", value: typeof lbl === "string" ? lbl : (lbl && lbl.en) || "", oninput: edit("x-label", "en") })),
    field("dz-p-key", M.key, el("input", {
      id: "dz-p-key", type: "text", value: key, disabled: !canKey, spellcheck: "false", autocapitalize: "off",
      "aria-describedby": "dz-p-key-help", onchange: renameKey,
    })),
    el("p", { class: "dz-hint", id: "dz-p-key-help", text: canKey ? M.key_help : M.key_fixed }),
    el("div", { class: "dz-prop dz-check" },
      el("input", { id: "dz-p-required", type: "checkbox", checked: F.isRequired(f, key), onchange: (ev) => {
        const on = ev.target.checked;
        const k = selected;
        change((ff) => F.setRequired(ff, k, on));
        render(false);
      } }),
      el("label", { for: "dz-p-required", text: M.required })),
    field("dz-p-placeholder", M.placeholder, el("input", { id: "dz-p-placeholder", type: "text", value: F.text(s["x-placeholder"], lang), oninput: edit("x-placeholder", lang) })),
    field("dz-p-help", M.help, el("textarea", { id: "dz-p-help", rows: "2", oninput: edit("x-help", lang) }, F.text(s["x-help"], lang))),
  ];
  if (F.OPTION_WIDGETS.has(s["x-widget"]) && s.type !== "boolean") kids.push(optionsEditor(s));
  propsBox.replaceChildren(...kids);
}

function renameKey(ev) {
  const k = selected;
  const nk = ev.target.value.trim();
  const help = propsBox.querySelector("#dz-p-key-help");
  if (nk === k) return;
  if (!KEY_RE.test(nk)) {
    help.textContent = M.key_bad;
    help.classList.add("error");
    return;
  }
  if (form().properties[nk]) {
    help.textContent = M.key_taken;
    help.classList.add("error");
    return;
  }
  change((f) => F.rename(f, k, nk));
  autoKeys.delete(k);
  selected = nk;
  render(true);
}

function optionsEditor(s) {
  const opts = F.options(s);
  const k = selected;
  const write = (next, tag) => {
    change((f) => F.setOptions(f.properties[k], next), tag);
    renderProblems();
  };
  const rows = opts.map((o, i) => el("li", { class: "dz-option" },
    el("input", { type: "text", "aria-label": M.option_zh + " " + (i + 1), value: o.zh, oninput: (ev) => { opts[i].zh = ev.target.value; write(opts.map((x) => ({ ...x })), "opt:zh:" + i + k); } }),
    el("input", { type: "text", "aria-label": M.option_en + " " + (i + 1), value: o.en, oninput: (ev) => { opts[i].en = ev.target.value; write(opts.map((x) => ({ ...x })), "opt:en:" + i + k); } }),
    el("button", { type: "button", class: "link danger", "aria-label": M.option_remove + " " + (i + 1), text: "×", onclick: () => {
      write(opts.filter((_, j) => j !== i));
      renderProps();
    } })));
  return el("fieldset", { class: "dz-options" },
    el("legend", { text: M.options }),
    el("ol", {}, ...rows),
    el("button", { type: "button", class: "button", text: M.option_add, onclick: () => {
      const taken = new Set(opts.map((o) => o.value));
      let n = opts.length + 1;
      while (taken.has("option_" + n)) n++;
      write(opts.concat([{ value: "option_" + n, zh: "选项" + n, en: "Option " + n }]));
      renderProps();
    } }));
}

// problemText says what a problem is about in words: the field's label,
// else the form's title, then the message.
function problemText(p) {
  const msg = F.text(p.message, lang);
  const toks = String(p.pointer).split("/");
  if (toks[1] === "forms") {
    const i = Number(toks[2]);
    const f = (doc.forms || [])[i];
    if (f) {
      const k = F.fieldOfPointer(doc, i, p.pointer);
      const title = F.text(f["x-title"], lang) || f["x-key"];
      if (k && f.properties && f.properties[k]) {
        const l = label(f.properties[k], k);
        return (i === fi ? l : title + " · " + l) + M.colon + msg;
      }
      return title + M.colon + msg;
    }
  }
  return msg;
}

function renderProblems() {
  problemsList.replaceChildren(...problems.map((p) => el("li", { "data-problem": p.pointer },
    el("button", { type: "button", class: "link", text: problemText(p) }))));
  root.querySelector(".dz-no-problems").hidden = problems.length > 0;
}

// events

problemsList.addEventListener("click", (ev) => {
  const li = ev.target.closest("[data-problem]");
  if (!li) return;
  const ptr = li.dataset.problem;
  const k = F.fieldOfPointer(doc, fi, ptr);
  if (k && form().properties[k]) {
    select(k);
    focusSelected();
  }
});

canvas.addEventListener("click", (ev) => {
  const li = ev.target.closest("[data-field]");
  if (!li) return;
  const key = li.dataset.field;
  const act = ev.target.closest("[data-do]");
  if (act && act.dataset.do === "delete") return removeField(key);
  if (act && act.dataset.do === "duplicate") return duplicateField(key);
  select(key);
  focusSelected();
});

canvas.addEventListener("keydown", (ev) => {
  const li = ev.target.closest("[data-field]");
  if (!li || ev.target !== li) return;
  const order = F.order(form()).map((e) => e.key);
  const key = li.dataset.field;
  const i = order.indexOf(key);
  if (ev.altKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
    ev.preventDefault();
    const to = ev.key === "ArrowUp" ? i - 1 : i + 1;
    if (to >= 0 && to < order.length) moveField(key, to);
  } else if (ev.key === "ArrowUp" || ev.key === "ArrowDown") {
    ev.preventDefault();
    const to = order[ev.key === "ArrowUp" ? i - 1 : i + 1];
    if (to) { select(to); focusSelected(); }
  } else if (ev.key === "Delete" || ev.key === "Backspace") {
    ev.preventDefault();
    removeField(key);
  } else if (ev.key === "Enter" || ev.key === " ") {
    ev.preventDefault();
    select(key);
    const first = propsBox.querySelector("input");
    if (first) first.focus();
  }
});

document.addEventListener("keydown", (ev) => {
  if (!(ev.ctrlKey || ev.metaKey) || ev.altKey) return;
  const k = ev.key.toLowerCase();
  if (ev.target.closest && ev.target.closest("input, textarea, select")) return; // the input's own undo
  if (k === "z" && !ev.shiftKey) { ev.preventDefault(); undo(); }
  else if (k === "y" || (k === "z" && ev.shiftKey)) { ev.preventDefault(); redo(); }
});

undoBtn.addEventListener("click", undo);
redoBtn.addEventListener("click", redo);

root.querySelector(".dz-palette").addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-widget]");
  if (!b) return;
  // a click (or Enter) adds the field after the selected one, else last
  const order = F.order(form()).map((e) => e.key);
  const i = selected ? order.indexOf(selected) + 1 : order.length;
  addField(b.dataset.widget, i);
});

enableDrag({
  root: root.querySelector(".dz-palette"), selector: "[data-widget]", canvas, itemSelector: "[data-field]",
  onDrop: (src, index) => addField(src.dataset.widget, index),
});
enableDrag({
  root: canvas, selector: "[data-field]", canvas, itemSelector: "[data-field]", handle: ".dz-handle",
  onDrop: (src, index) => moveField(src.dataset.field, index),
});

window.addEventListener("beforeunload", (ev) => {
  if (!saver.saved) ev.preventDefault();
});

load().then(() => {
  render(true);
  root.dataset.ready = "true";
  // how long the page took to be usable, for the tests' speed checks
  root.dataset.readyMs = String(Math.round(performance.now()));
}, (e) => say(String(e.message || e)));
