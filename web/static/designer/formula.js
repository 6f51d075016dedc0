// The formula builder of a formula field: chips insert a field or a
// function into the expression at the caret, and the server compiles the
// expression as the engine will (…/draft/rule, want = the field's type)
// and computes it on sample values the manager types, so the result shows
// as the formula is written.

import { checkRule } from "./rules.js";
import { el } from "./dom.js";
import { text } from "./form.js";

// insert puts snippet into text between start and end and returns the
// new text and the caret: inside the brackets of a function, else after
// the snippet. A space separates it from a word before or after.
export function insert(text, start, end, snippet) {
  const before = text.slice(0, start), after = text.slice(end);
  const word = /[A-Za-z0-9_)\]"']$/;
  const pre = before && word.test(before) && /^[A-Za-z_(]/.test(snippet) ? " " : "";
  const post = after && /^[A-Za-z0-9_(]/.test(after) ? " " : "";
  const out = before + pre + snippet + post + after;
  let caret = before.length + pre.length + snippet.length;
  if (snippet.endsWith("()")) caret -= 1;
  return { text: out, caret };
}

// refs are the keys among keys that expr reads, in the order of keys
// (names inside quotes and member names after a dot are not reads).
export function refs(expr, keys) {
  const src = String(expr || "").replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ");
  const seen = new Set();
  const re = /(\.?)\b([A-Za-z_][A-Za-z0-9_]*)\b/g;
  let m;
  while ((m = re.exec(src))) if (!m[1]) seen.add(m[2]);
  return keys.filter((k) => seen.has(k));
}

// sampleValue is the value a sample input starts with for a field.
export function sampleValue(schema) {
  const s = schema || {};
  if (s.default != null && typeof s.default !== "object") return s.default;
  if (s.type === "number" || s.type === "integer") return 100;
  if (s.type === "boolean") return false;
  if (Array.isArray(s.enum)) return s.enum[0];
  return "";
}

// sampleData turns the inputs' texts into record data of the right types.
export function sampleData(props, texts) {
  const out = {};
  for (const [k, v] of Object.entries(texts)) {
    const s = props[k] || {};
    if (s.type === "number" || s.type === "integer") {
      if (v !== "" && Number.isFinite(Number(v))) out[k] = Number(v);
    } else if (s.type === "boolean") out[k] = v === true || v === "true";
    else if (v !== "") out[k] = v;
  }
  return out;
}

// fieldsFor are the fields a formula may read: the form's other fields,
// but not objects (read them through a function).
export function fieldsFor(form, keys, except) {
  const p = form.properties || {};
  return keys.filter((k) => k !== except && p[k] && p[k].type !== "object");
}

// OPERATORS are the chips for arithmetic.
export const OPERATORS = [["+", " + "], ["−", " - "], ["×", " * "], ["÷", " / "], ["(", "("], [")", ")"]];

function show(v, lang) {
  if (v == null) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
  if (typeof v === "boolean") return v ? (lang === "zh" ? "是" : "yes") : (lang === "zh" ? "否" : "no");
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

// formulaBuilder draws the builder. o: {key (the formula field), form,
// formKey, keys (display order), url, csrf, lang, M, functions ([{name,
// text}]), onWrite(expr)}.
export function formulaBuilder(o) {
  const M = o.M, props = o.form.properties || {};
  const schema = props[o.key] || {};
  const fields = fieldsFor(o.form, o.keys, o.key);
  const label = (k) => text((props[k] || {})["x-label"], o.lang) || k;
  const samples = {};
  let seq = 0;
  const area = el("textarea", { id: "dz-p-formula", rows: "3", class: "dz-code", spellcheck: "false", "data-formula": "" }, schema["x-compute"] || "");
  const result = el("output", { class: "dz-formula-result", "data-formula-result": "", for: "dz-p-formula" });
  const err = el("p", { class: "error", role: "alert", "data-formula-error": "", hidden: true });
  const sampleBox = el("div", { class: "dz-formula-samples" });

  // until the manager puts the caret somewhere, chips add at the end (and
  // replace a new field's 0)
  let touched = false;
  area.addEventListener("focus", () => { touched = true; });
  function put(snippet) {
    const len = area.value.length;
    const [start, end] = touched ? [area.selectionStart, area.selectionEnd] : [area.value.trim() === "0" ? 0 : len, len];
    const r = insert(area.value, start, end, snippet);
    area.value = r.text;
    area.focus();
    area.setSelectionRange(r.caret, r.caret);
    changed();
  }

  function drawSamples() {
    const used = refs(area.value, fields);
    for (const k of used) if (!(k in samples)) samples[k] = String(sampleValue(props[k]));
    sampleBox.replaceChildren(...(used.length ? [el("p", { class: "dz-hint", text: M.formula_samples })] : []),
      ...used.map((k) => {
        const s = props[k] || {};
        const id = "dz-sample-" + k;
        return el("div", { class: "dz-prop" }, el("label", { for: id, text: label(k) }),
          el("input", { id, type: s.type === "number" || s.type === "integer" ? "number" : "text", "data-sample": k, value: samples[k],
            oninput: (ev) => { samples[k] = ev.target.value; compute(); } }));
      }));
  }

  async function compute() {
    const src = area.value;
    const my = ++seq;
    if (!src.trim()) {
      result.textContent = "";
      err.hidden = true;
      return;
    }
    const used = refs(src, fields);
    const texts = {};
    for (const k of used) texts[k] = samples[k];
    const res = await checkRule(o.url, o.csrf, o.lang, { form: o.formKey, expr: src, want: schema.type || "", data: sampleData(props, texts) });
    if (my !== seq) return;
    let msg = "";
    if (!res.ok) msg = (res.errors[0] && res.errors[0].message) || res.detail;
    else if (res.problems.length) msg = text(res.problems[0].message, o.lang);
    err.textContent = msg;
    err.hidden = !msg;
    result.textContent = msg ? "" : M.formula_result + show(res.value, o.lang);
  }

  let timer = 0;
  function changed() {
    o.onWrite(area.value);
    drawSamples();
    clearTimeout(timer);
    timer = setTimeout(compute, 150);
  }
  area.addEventListener("input", changed);

  drawSamples();
  compute();
  return el("fieldset", { class: "dz-formula", "data-formula-builder": "" },
    el("legend", { text: M.formula }),
    el("p", { class: "dz-hint", text: M.formula_help }),
    el("div", { class: "dz-chips", role: "group", "aria-label": M.formula_fields },
      ...fields.map((k) => el("button", { type: "button", class: "dz-chip", "data-chip": k, text: label(k), onclick: () => put(k) }))),
    el("div", { class: "dz-chips", role: "group", "aria-label": M.formula_ops },
      ...OPERATORS.map(([t, s]) => el("button", { type: "button", class: "dz-chip dz-chip-op", "data-op": t, text: t, onclick: () => put(s) }))),
    el("details", { class: "dz-fns" }, el("summary", { text: M.formula_fns }),
      el("ul", {}, ...o.functions.map((f) => el("li", {},
        el("button", { type: "button", class: "dz-chip", "data-fn": f.name, text: f.name + "()", onclick: () => put(f.name + "()") }),
        el("span", { class: "dz-hint", text: f.text }))))),
    el("label", { for: "dz-p-formula", text: M.formula_expr }),
    area, err, sampleBox, result);
}
