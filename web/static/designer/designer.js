// The form designer page: the palette, the canvas and the properties of
// the selected field. The page holds the draft bundle; every change is
// made on a copy, compared with the bundle before it (patch.js) and sent
// as JSON Patch (save.js). Undo and redo keep up to 100 bundles, which
// share every part they did not change.

import { diff } from "./patch.js";
import * as F from "./form.js";
import { Saver, fetchDraft } from "./save.js";
import { enableDrag } from "./drag.js";
import { el } from "./dom.js";
import * as L from "./layout.js";
import * as Panel from "./panel.js";
import * as P from "./props.js";
import { ruleEditor, checksEditor } from "./rules.js";
import { formulaBuilder } from "./formula.js";

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
let section = null; // the selected section's index (when no field is)
let problems = [];
let published = new Set(JSON.parse(root.dataset.published || "[]"));
const undoStack = [], redoStack = [];
let lastTag = null; // consecutive edits of one input are one undo step
const autoKeys = new Set(); // new fields whose key follows the label
const enTyped = new Set(); // of those, the ones whose English label was typed (it makes the key)
const ruleUrl = root.dataset.draftUrl + "/rule";
const keyUrl = root.dataset.draftUrl + "/key";

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

// addField adds a field of widget at index of the display order, or,
// on a form with sections, where a drop just before the element before
// lands (layout.js).
// WIDGET_PRESETS are the validation a new field of a widget starts with:
// a phone field checks phone numbers in words staff understand.
const WIDGET_PRESETS = { phone: "phone", email: "email", id_number: "id_number" };

function addField(widget, index, before) {
  const key = change((f, b) => {
    const forms = (b.forms || []).map((x) => x["x-key"]);
    let k;
    if (before === undefined || !Array.isArray(f["x-layout"])) k = F.add(f, widget, index, newLabel(widget), forms);
    else {
      k = F.add(f, widget, F.order(f).length, newLabel(widget), forms);
      L.place(f, k, L.dropTarget(f, before));
    }
    if (WIDGET_PRESETS[widget]) P.setPreset(f.properties[k], WIDGET_PRESETS[widget], M.presets);
    return k;
  });
  autoKeys.add(key);
  selected = key;
  render(true);
  focusSelected();
}

function moveField(key, index, before) {
  change((f) => {
    if (before === undefined || !Array.isArray(f["x-layout"])) F.move(f, key, index);
    else L.place(f, key, L.dropTarget(f, before));
  });
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
  if (selected === key && section === null) return;
  selected = key;
  section = null;
  lastTag = null;
  render(true);
}

function focusSelected() {
  const el = selected && canvas.querySelector(`[data-field="${CSS.escape(selected)}"]`);
  if (el) el.focus();
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

// sectionHead is the canvas's title of section i (-1: the fields no
// section holds); a drop just below it lands in the section.
function sectionHead(f, i) {
  const s = i >= 0 ? f["x-layout"][i] : null;
  const title = s ? F.text(s.title, lang) || M.p.section_untitled : M.p.other_fields;
  const meta = s ? [M.p["columns_" + Math.max(1, Math.min(4, s.columns || 1))]].concat(s.collapsed ? [M.p.collapsed] : []).join(" · ") : "";
  return el("li", { class: "dz-section-head" + (i >= 0 && i === section ? " is-selected" : ""), "data-section-head": String(i) },
    el("span", { class: "dz-section-title", text: title }),
    meta ? el("span", { class: "dz-kind", text: meta }) : null,
    s ? el("button", { type: "button", class: "link", "data-do": "edit-section", "aria-label": M.p.section_edit + " " + title, text: M.p.section_edit }) : null);
}

function renderCanvas() {
  const f = form();
  const focused = canvas.contains(document.activeElement);
  const ord = F.order(f);
  const items = ord.map(({ key }) => {
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
  const lay = Array.isArray(f["x-layout"]) ? f["x-layout"] : null;
  if (lay) {
    const out = [];
    lay.forEach((_, si) => {
      out.push(sectionHead(f, si));
      ord.forEach((e, j) => { if (e.section === si) out.push(items[j]); });
    });
    if (ord.some((e) => e.section === -1)) out.push(sectionHead(f, -1));
    ord.forEach((e, j) => { if (e.section === -1) out.push(items[j]); });
    canvas.replaceChildren(...out);
  } else {
    canvas.replaceChildren(...items);
  }
  root.querySelector(".dz-empty").hidden = items.length > 0;
  if (focused) focusSelected();
}

function field(id, text, input) {
  return el("div", { class: "dz-prop" }, el("label", { for: id, text }), input);
}

// write changes the form for an input that stays on the page (the
// panel is not drawn again, so the input keeps its focus and state).
function write(fn, tag) {
  change(fn, tag);
  renderCanvas();
  renderProblems();
  undoBtn.disabled = undoStack.length === 0;
  redoBtn.disabled = redoStack.length === 0;
}

// panelCtx is what the panel's modules need: the texts, the bundle and
// form, and how to change the selected field (always the one selected
// when the input changes, as the key may change while typing).
function panelCtx() {
  return {
    M, lang, bundle: doc, form: form(), key: selected,
    schema: () => selected && form().properties[selected],
    edit: (fn, tag) => {
      const k = selected;
      write((ff) => fn(ff.properties[k], ff), tag && tag + ":" + k);
    },
    editForm: (fn, tag) => write(fn, tag),
    redraw: () => renderProps(),
    removeSection: (i) => {
      change((ff) => L.removeSection(ff, i));
      section = null;
      render(true);
    },
  };
}

function ruleCtx() {
  return { form: form(), formKey, keys: F.order(form()).map((e) => e.key), url: ruleUrl, csrf: root.dataset.csrf, lang, M: M.p };
}

// rules draws the editors of the field's visible, required and readonly
// rules (a formula is only ever shown or not).
function rules(key, s) {
  const kinds = s["x-widget"] === "formula" || s["x-compute"] ? ["visible"] : ["visible", "required", "readonly"];
  return el("section", { class: "dz-rules", "data-rules": "" }, el("h3", { text: M.p.rules }),
    ...kinds.map((kind) => ruleEditor({
      ...ruleCtx(), id: "dz-rule-" + kind, title: M.p["rule_" + kind], empty: M.p["rule_" + kind + "_empty"],
      expr: s["x-" + kind] || "", except: key,
      onWrite: (expr) => {
        const k = selected;
        write((ff) => {
          if (expr == null) delete ff.properties[k]["x-" + kind];
          else ff.properties[k]["x-" + kind] = expr;
        }, "rule:" + kind + ":" + k);
      },
    })));
}

// formSettings is the panel when no field is selected: the form's
// cross-field checks.
function formSettings() {
  return [
    el("h2", { text: M.p.form_settings }),
    el("p", { class: "dz-hint", text: M.p.form_hint }),
    checksEditor({
      ...ruleCtx(), checks: form()["x-checks"] || [],
      onChecks: (next) => write((ff) => {
        if (next.length) ff["x-checks"] = next;
        else delete ff["x-checks"];
      }, "checks"),
    }),
  ];
}

// pinyinKey asks the server for a key made from a Chinese label and
// gives it to the new field k, unless the field changed meanwhile or its
// English label makes its key.
let pinyinTimer = 0;
function pinyinKey(k, label) {
  clearTimeout(pinyinTimer);
  if (!/[\u3400-\u9fff]/.test(label)) return;
  pinyinTimer = setTimeout(async () => {
    let key = "";
    try {
      const r = await fetch(keyUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": root.dataset.csrf },
        body: JSON.stringify({ form: formKey, label }),
      });
      if (r.ok) key = (await r.json()).key || "";
    } catch (e) {
      return;
    }
    if (selected !== k || !autoKeys.has(k) || enTyped.has(k) || !KEY_RE.test(key)) return;
    autoRename(k, F.uniqueKey(form(), key, k), "x-label:zh:");
    renderCanvas();
    renderProblems();
  }, 250);
}

// autoRename gives the new field k the key nk made from its label, in the
// undo step of the label's input (tag), and shows it in the panel.
function autoRename(k, nk, tag) {
  if (nk === k || !KEY_RE.test(nk)) return;
  change((ff) => F.rename(ff, k, nk), tag + k);
  lastTag = tag + nk;
  for (const s of [autoKeys, enTyped]) {
    if (s.delete(k)) s.add(nk);
  }
  selected = nk;
  propsBox.dataset.for = nk;
  const ki = propsBox.querySelector("#dz-p-key");
  if (ki) ki.value = nk;
}

function renderProps() {
  const f = form();
  const key = selected;
  const s = key && f.properties[key];
  propsBox.dataset.for = s ? key : "";
  if (!s) {
    selected = null;
    const lay = f["x-layout"] || [];
    propsBox.dataset.section = section !== null && lay[section] ? String(section) : "";
    if (section !== null && lay[section]) propsBox.replaceChildren(...Panel.sectionPanel(panelCtx(), section));
    else propsBox.replaceChildren(...formSettings());
    return;
  }
  propsBox.dataset.section = "";
  const edit = (kw, lng) => (ev) => {
    const v = ev.target.value;
    const k = selected;
    change((ff) => F.setText(ff.properties[k], kw, lng, v), kw + ":" + lng + ":" + k);
    if (kw === "x-label" && lng === "zh" && autoKeys.has(k) && !enTyped.has(k)) pinyinKey(k, v);
    if (kw === "x-label" && lng === "en" && autoKeys.has(k)) {
      enTyped.add(k);
      autoRename(k, F.uniqueKey(form(), F.keyFrom(v), k), "x-label:en:");
    }
    renderCanvas();
    renderProblems();
  };
  const lbl = s["x-label"];
  const canKey = !published.has(key);
  const ctx = panelCtx();
  const kids = [
    el("h2", { text: M.props }),
    field("dz-p-label-zh", M.label_zh, el("input", { id: "dz-p-label-zh", type: "text", value: typeof lbl === "string" ? lbl : (lbl && lbl.zh) || "", oninput: edit("x-label", "zh") })),
    field("dz-p-label-en", M.label_en, el("input", { id: "dz-p-label-en", type: "text", value: typeof lbl === "string" ? lbl : (lbl && lbl.en) || "", oninput: edit("x-label", "en") })),
    field("dz-p-key", M.key, el("input", {
      id: "dz-p-key", type: "text", value: key, disabled: !canKey, spellcheck: "false", autocapitalize: "off",
      "aria-describedby": "dz-p-key-help", onchange: renameKey,
    })),
    el("p", { class: "dz-hint", id: "dz-p-key-help", text: canKey ? M.p.key_help : M.key_fixed }),
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
    Panel.defaultBox(ctx, s),
    Panel.validationBox(ctx, s),
  ];
  if (F.OPTION_WIDGETS.has(s["x-widget"]) && s.type !== "boolean") kids.push(optionsEditor(s));
  if (s["x-widget"] === "formula") {
    kids.push(formulaBuilder({
      ...ruleCtx(), key, functions: M.fns,
      onWrite: (expr) => {
        const k = selected;
        write((ff) => { ff.properties[k]["x-compute"] = expr; }, "formula:" + k);
      },
    }));
  }
  kids.push(Panel.relationBox(ctx, s), Panel.columnsBox(ctx, s), Panel.serialBox(ctx, s), Panel.moreBox(ctx, s), rules(key, s));
  propsBox.replaceChildren(...kids.filter(Boolean));
}

function selectSection(i) {
  selected = null;
  section = i;
  lastTag = null;
  render(true);
}

function addSection() {
  const n = (form()["x-layout"] || []).length + 1;
  const i = change((f) => L.addSection(f, { zh: "分组" + n, en: "Section " + n }));
  selectSection(i);
  const t = propsBox.querySelector("#dz-s-title-" + lang);
  if (t) t.focus();
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
  const head = ev.target.closest("[data-section-head]");
  if (head && Number(head.dataset.sectionHead) >= 0) return selectSection(Number(head.dataset.sectionHead));
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
  root: root.querySelector(".dz-palette"), selector: "[data-widget]", canvas, itemSelector: "[data-field], [data-section-head]",
  onDrop: (src, index, before) => addField(src.dataset.widget, index, before),
});
enableDrag({
  root: canvas, selector: "[data-field]", canvas, itemSelector: "[data-field], [data-section-head]", handle: ".dz-handle",
  onDrop: (src, index, before) => moveField(src.dataset.field, index, before),
});
root.querySelector("[data-do=add-section]").addEventListener("click", addSection);
root.querySelector("[data-do=form-settings]").addEventListener("click", () => {
  selected = null;
  section = null;
  lastTag = null;
  render(true);
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
