// The form model: pure functions over one form of a bundle (a JSON Schema
// with x- keywords). A form shows its fields in the order of its
// "x-layout" sections, then the fields no section names in the order of
// "properties" (as web.BuildForm does). Every function changes the form
// it is given and leaves every key it does not know alone.

// Widget groups of the palette, each widget with the schema a new field
// of it starts with. The server validates the result as any import.
export const WIDGETS = {
  basic: ["text", "textarea", "number", "money", "date", "datetime", "select", "radio", "checkbox"],
  advanced: ["phone", "email", "id_number", "address", "attachment", "image", "relation", "subform", "formula"],
  system: ["member", "unit", "serial"],
};

// OPTION_WIDGETS are the widgets whose choices the options editor edits.
export const OPTION_WIDGETS = new Set(["select", "radio", "checkbox"]);

// newSchema returns the property of a new field of widget. forms are the
// bundle's form keys (a relation points at the first).
export function newSchema(widget, label, forms) {
  const s = { type: "string", "x-widget": widget, "x-label": label };
  switch (widget) {
    case "number": case "money":
      s.type = "number"; break;
    case "date":
      s.format = "date"; break;
    case "datetime":
      s.format = "date-time"; break;
    case "select": case "radio":
      s.enum = ["option_1", "option_2"];
      s["x-options"] = { option_1: { zh: "选项1", en: "Option 1" }, option_2: { zh: "选项2", en: "Option 2" } };
      break;
    case "checkbox":
      s.type = "boolean"; break;
    case "attachment": case "image":
      s.type = "array"; s.maxItems = 10; break;
    case "relation":
      s["x-relation"] = { form: forms[0] || "" }; break;
    case "subform":
      s.type = "array";
      s.items = { type: "object", properties: { item: { type: "string", "x-widget": "text", "x-label": { zh: "项目", en: "Item" } } } };
      break;
    case "formula":
      s.type = "number"; s["x-compute"] = "0"; break;
    case "serial":
      s["x-serial"] = { digits: 4 }; break;
  }
  // keep the keys in the order people write them
  const out = { type: s.type };
  for (const k of Object.keys(s)) if (k !== "type") out[k] = s[k];
  return out;
}

function props(form) {
  if (!form.properties || typeof form.properties !== "object") form.properties = {};
  return form.properties;
}

function sections(form) {
  return Array.isArray(form["x-layout"]) ? form["x-layout"] : null;
}

// order returns the keys of the form's fields in display order, each with
// the section holding it (-1: none).
export function order(form) {
  const p = props(form);
  const out = [];
  const seen = new Set();
  (sections(form) || []).forEach((s, si) => {
    for (const k of (s && Array.isArray(s.fields)) ? s.fields : []) {
      if (typeof k === "string" && Object.prototype.hasOwnProperty.call(p, k) && !seen.has(k)) {
        seen.add(k);
        out.push({ key: k, section: si });
      }
    }
  });
  for (const k of Object.keys(p)) if (!seen.has(k)) out.push({ key: k, section: -1 });
  return out;
}

// reorderProps rebuilds properties in the order of keys.
function reorderProps(form, keys) {
  const p = props(form);
  const np = {};
  for (const k of keys) np[k] = p[k];
  form.properties = np;
}

function dropFromSections(form, key) {
  for (const s of sections(form) || []) {
    if (s && Array.isArray(s.fields)) {
      const i = s.fields.indexOf(key);
      if (i >= 0) s.fields.splice(i, 1);
    }
  }
}

// move puts the field key at position index of the display order.
export function move(form, key, index) {
  const cur = order(form).filter((e) => e.key !== key);
  index = Math.max(0, Math.min(index, cur.length));
  const before = cur[index - 1], after = cur[index];
  const lay = sections(form);
  // the field joins the section of its new neighbour (before it, else after)
  const target = before ? before.section : after ? after.section : -1;
  if (lay && target >= 0) {
    dropFromSections(form, key);
    const fields = lay[target].fields;
    let at = 0;
    for (let i = 0; i < index; i++) if (cur[i].section === target) at++;
    fields.splice(at, 0, key);
    return;
  }
  if (lay) dropFromSections(form, key);
  // among the fields no section holds, properties give the order
  const keys = Object.keys(props(form)).filter((k) => k !== key);
  let at = keys.length;
  const next = cur.slice(index).find((e) => e.section === -1);
  if (next) at = keys.indexOf(next.key);
  else {
    const prev = cur.slice(0, index).reverse().find((e) => e.section === -1);
    if (prev) at = keys.indexOf(prev.key) + 1;
  }
  keys.splice(at, 0, key);
  reorderProps(form, keys);
}

// keyFrom makes a field key of an English label: its ASCII letters and
// digits, words joined by _, starting with a letter; "" if none.
export function keyFrom(label) {
  const k = String(label || "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^[^a-z]+/, "").replace(/_+$/, "");
  return k.slice(0, 40).replace(/_+$/, "");
}

// uniqueKey returns base, or base_2, base_3 … whichever the form lacks;
// "field_N" when base is empty.
export function uniqueKey(form, base, except) {
  const p = props(form);
  const taken = (k) => k !== except && Object.prototype.hasOwnProperty.call(p, k);
  if (!base) {
    let n = Object.keys(p).length + 1;
    while (taken("field_" + n)) n++;
    return "field_" + n;
  }
  if (!taken(base)) return base;
  let n = 2;
  while (taken(base + "_" + n)) n++;
  return base + "_" + n;
}

// add inserts a new field of widget at index and returns its key.
export function add(form, widget, index, label, forms) {
  const key = uniqueKey(form, keyFrom(label.en));
  props(form)[key] = newSchema(widget, label, forms);
  move(form, key, index);
  return key;
}

// remove deletes the field key with its mentions in required and layout.
export function remove(form, key) {
  delete props(form)[key];
  if (Array.isArray(form.required)) {
    form.required = form.required.filter((k) => k !== key);
  }
  dropFromSections(form, key);
}

// duplicate copies the field key right after it and returns the copy's key.
export function duplicate(form, key, suffix) {
  const src = props(form)[key];
  const copy = structuredClone(src);
  const label = copy["x-label"];
  if (label && typeof label === "object") {
    copy["x-label"] = { ...label, zh: (label.zh || "") + suffix.zh, en: (label.en || "") + suffix.en };
  } else if (typeof label === "string") {
    copy["x-label"] = label + suffix.en;
  }
  const nk = uniqueKey(form, key + "_copy");
  props(form)[nk] = copy;
  const idx = order(form).findIndex((e) => e.key === key);
  move(form, nk, idx + 1);
  if (Array.isArray(form.required) && form.required.includes(key)) form.required.push(nk);
  return nk;
}

// rename changes a field's key in place, in required and in the layout.
export function rename(form, from, to) {
  const p = props(form);
  const np = {};
  for (const k of Object.keys(p)) np[k === from ? to : k] = p[k];
  form.properties = np;
  if (Array.isArray(form.required)) form.required = form.required.map((k) => (k === from ? to : k));
  for (const s of sections(form) || []) {
    if (s && Array.isArray(s.fields)) s.fields = s.fields.map((k) => (k === from ? to : k));
  }
}

// text reads a bilingual text (a string is the same in both languages).
export function text(t, lang) {
  if (t == null) return "";
  if (typeof t === "string") return t;
  return t[lang] || t[lang === "zh" ? "en" : "zh"] || "";
}

// setText sets one language of the text at schema[kw]; an empty text
// removes the keyword.
export function setText(schema, kw, lang, value) {
  let t = schema[kw];
  if (typeof t === "string") t = { zh: t, en: t };
  t = { ...(t || {}) };
  t[lang] = value;
  if (!t.zh && !t.en) {
    delete schema[kw];
    return;
  }
  if (!t[lang]) delete t[lang];
  schema[kw] = t;
}

export function isRequired(form, key) {
  return Array.isArray(form.required) && form.required.includes(key);
}

export function setRequired(form, key, on) {
  const req = Array.isArray(form.required) ? form.required.filter((k) => k !== key) : [];
  if (on) req.push(key);
  if (req.length) form.required = req;
  else delete form.required;
}

// options returns a choice field's options as {value, zh, en}.
export function options(schema) {
  const en = schema.type === "array" ? (schema.items || {}).enum : schema.enum;
  const labels = schema["x-options"] || {};
  return (Array.isArray(en) ? en : []).map((v) => {
    const l = labels[String(v)];
    return { value: String(v), zh: typeof l === "string" ? l : (l && l.zh) || "", en: typeof l === "string" ? l : (l && l.en) || "" };
  });
}

// setOptions writes options back as enum and x-options.
export function setOptions(schema, opts) {
  const values = opts.map((o) => o.value);
  if (schema.type === "array") {
    schema.items = { ...(schema.items || {}), enum: values };
  } else {
    schema.enum = values;
  }
  const labels = {};
  for (const o of opts) {
    if (o.zh || o.en) labels[o.value] = o.zh === o.en ? o.zh : { zh: o.zh, en: o.en };
  }
  if (Object.keys(labels).length) schema["x-options"] = labels;
  else delete schema["x-options"];
}

// fieldOfPointer returns the key of the top-level field of form fi that a
// problem's JSON pointer points into, or "".
export function fieldOfPointer(bundle, fi, pointer) {
  const toks = String(pointer).split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (toks[0] !== "forms" || Number(toks[1]) !== fi) return "";
  const form = (bundle.forms || [])[fi] || {};
  switch (toks[2]) {
    case "properties":
      return toks[3] || "";
    case "required":
      return (form.required || [])[Number(toks[3])] || "";
    case "x-layout":
      if (toks[4] === "fields") return ((form["x-layout"] || [])[Number(toks[3])] || {}).fields[Number(toks[5])] || "";
  }
  return "";
}
