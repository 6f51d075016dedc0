// Field properties as plain choices: pure functions over one field's
// schema (a JSON Schema property with x- keywords). Each changes only the
// keywords it owns and leaves every other key alone, so a bundle the
// designer cannot show stays as it was.

// PRESETS are the validation presets. A pattern preset writes "pattern"
// and the words staff read when a value breaks it ("x-messages"); the
// page's catalogue gives the words (msgs[id]: {zh, en}). The patterns are
// also how a preset is recognised when the page reopens.
export const PRESETS = {
  phone: { pattern: "^1[3-9][0-9]{9}$" },
  email: { format: "email" },
  id_number: { pattern: "^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$" },
  vin: { pattern: "^[A-HJ-NPR-Z0-9]{17}$" },
  plate: { pattern: "^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$" },
  range: { keywords: ["minimum", "maximum"] },
  length: { keywords: ["minLength", "maxLength"] },
};

const isNumber = (s) => s && (s.type === "number" || s.type === "integer");

// presetsFor lists the presets that fit the field's type.
export function presetsFor(schema) {
  if (isNumber(schema)) return ["range"];
  if (schema && schema.type === "string" && !schema.enum) return ["phone", "email", "id_number", "vin", "plate", "length"];
  return [];
}

// presetOf recognises the field's validation: {id, min, max}; id is ""
// for none and "custom" for a pattern no preset writes (shown as
// advanced, kept as it is).
export function presetOf(schema) {
  const s = schema || {};
  if (typeof s.pattern === "string") {
    for (const [id, p] of Object.entries(PRESETS)) if (p.pattern === s.pattern) return { id };
    return { id: "custom", pattern: s.pattern };
  }
  if (s.format === "email" && s.type === "string") return { id: "email" };
  if (isNumber(s) && (s.minimum != null || s.maximum != null)) return { id: "range", min: s.minimum, max: s.maximum };
  if (s.type === "string" && (s.minLength != null || s.maxLength != null)) return { id: "length", min: s.minLength, max: s.maxLength };
  return { id: "" };
}

function setMessage(schema, kw, text) {
  const m = { ...(schema["x-messages"] || {}) };
  if (text) m[kw] = text;
  else delete m[kw];
  if (Object.keys(m).length) schema["x-messages"] = m;
  else delete schema["x-messages"];
}

// clearPreset removes what the field's current preset wrote.
function clearPreset(schema) {
  const cur = presetOf(schema).id;
  if (cur === "") return;
  const p = PRESETS[cur];
  if (cur === "custom" || (p && p.pattern)) {
    delete schema.pattern;
    setMessage(schema, "pattern", null);
  } else if (cur === "email") {
    delete schema.format;
    setMessage(schema, "format", null);
  } else {
    for (const kw of p.keywords) {
      delete schema[kw];
      setMessage(schema, kw, null);
    }
  }
}

// fill puts {min} and {max} of a message template in both languages.
function fill(t, min, max) {
  const f = (s) => String(s || "").replace("{min}", min).replace("{max}", max);
  return { zh: f(t.zh), en: f(t.en) };
}

// setPreset makes id the field's validation. min and max are numbers or
// null (range and length); msgs are the catalogue's words per preset and,
// for range and length, per bound: msgs.range_min, range_max,
// length_min, length_max (templates with {min} and {max}).
export function setPreset(schema, id, msgs, min = null, max = null) {
  if (id === "custom") return; // kept as it is
  clearPreset(schema);
  const p = PRESETS[id];
  if (!p) return;
  if (p.pattern) {
    schema.pattern = p.pattern;
    setMessage(schema, "pattern", msgs[id]);
  } else if (p.format) {
    schema.format = p.format;
    setMessage(schema, "format", msgs[id]);
  } else {
    const [lo, hi] = p.keywords;
    const num = (v) => (v === "" || v == null || !Number.isFinite(Number(v)) ? null : Number(v));
    min = num(min);
    max = num(max);
    if (id === "length") {
      if (min != null) min = Math.max(0, Math.floor(min));
      if (max != null) max = Math.max(0, Math.floor(max));
    }
    if (min != null) {
      schema[lo] = min;
      setMessage(schema, lo, fill(msgs[id + "_min"], min, max));
    }
    if (max != null) {
      schema[hi] = max;
      setMessage(schema, hi, fill(msgs[id + "_max"], min, max));
    }
  }
}

// defaultText is the field's default as an input shows it.
export function defaultText(schema) {
  const d = schema && schema.default;
  if (d == null || typeof d === "object") return "";
  return String(d);
}

// setDefault sets the default from an input's text ("" removes it): a
// number for number fields, true or false for a checkbox.
export function setDefault(schema, text) {
  if (text === "" || text == null) {
    delete schema.default;
    return;
  }
  if (isNumber(schema)) {
    const n = Number(text);
    if (!Number.isFinite(n)) return;
    schema.default = schema.type === "integer" ? Math.trunc(n) : n;
  } else if (schema.type === "boolean") {
    schema.default = text === true || text === "true";
  } else if (schema.type === "string") {
    schema.default = String(text);
  }
}

// setKeyword sets or (for "", null, false) removes one keyword.
export function setKeyword(schema, kw, v) {
  if (v === "" || v == null || v === false) delete schema[kw];
  else schema[kw] = v;
}

// setRelation points a relation at form (its display field and x-fill go
// when the form changes) and sets its display field.
export function setRelation(schema, form, display) {
  const cur = schema["x-relation"] || {};
  const next = { ...cur, form };
  if (cur.form !== form) {
    delete next.display;
    delete schema["x-fill"];
  }
  if (display !== undefined) {
    if (display) next.display = display;
    else delete next.display;
  }
  schema["x-relation"] = next;
}

// fillRows are a relation's x-fill as [{from, to}] in document order.
export function fillRows(schema) {
  return Object.entries(schema["x-fill"] || {}).map(([from, to]) => ({ from, to }));
}

// setFill writes rows back; rows missing either side are left out.
export function setFill(schema, rows) {
  const m = {};
  for (const r of rows) if (r.from && r.to) m[r.from] = r.to;
  if (Object.keys(m).length) schema["x-fill"] = m;
  else delete schema["x-fill"];
}

// COLUMN_WIDGETS are the widgets a subform column may have; a formula
// column is computed on its row by the server (x-compute over the row's
// columns, e.g. qty * price).
export const COLUMN_WIDGETS = ["text", "textarea", "number", "money", "date", "phone", "email", "formula"];

function columnSchema(widget, label, keep) {
  const s = { ...(keep || {}) };
  delete s.format;
  s.type = widget === "number" || widget === "money" || widget === "formula" ? "number" : "string";
  if (widget === "date") s.format = "date";
  if (widget === "formula") s["x-compute"] = s["x-compute"] || "0";
  else if (keep && keep["x-widget"] === "formula") delete s["x-compute"]; // typed in from now on
  s["x-widget"] = widget;
  if (label) s["x-label"] = label;
  return s;
}

function itemProps(schema) {
  if (!schema.items || typeof schema.items !== "object") schema.items = { type: "object", properties: {} };
  if (!schema.items.properties) schema.items.properties = {};
  return schema.items.properties;
}

// columns are a subform's columns as [{key, zh, en, widget}].
export function columns(schema) {
  const p = (schema.items && schema.items.properties) || {};
  return Object.entries(p).map(([key, c]) => {
    const l = (c || {})["x-label"];
    return { key, widget: (c || {})["x-widget"] || "text", compute: (c || {})["x-compute"] || "",
      zh: typeof l === "string" ? l : (l && l.zh) || "", en: typeof l === "string" ? l : (l && l.en) || "" };
  });
}

// setColumnCompute sets a formula column's expression over its row's
// columns (the engine evaluates it row by row); empty is 0.
export function setColumnCompute(schema, key, expr) {
  const p = itemProps(schema);
  if (p[key]) p[key]["x-compute"] = String(expr || "").trim() || "0";
}

// addColumn adds a column of widget labelled label and returns its key.
export function addColumn(schema, widget, label) {
  const p = itemProps(schema);
  let n = Object.keys(p).length + 1;
  while (p["col_" + n]) n++;
  const key = "col_" + n;
  p[key] = columnSchema(widget, label);
  return key;
}

// setColumn changes a column's widget (its type follows) or label.
export function setColumn(schema, key, { widget, lang, text }) {
  const p = itemProps(schema);
  if (!p[key]) return;
  if (widget) p[key] = columnSchema(widget, null, p[key]);
  if (lang) {
    let l = p[key]["x-label"];
    if (typeof l === "string") l = { zh: l, en: l };
    l = { ...(l || {}), [lang]: text };
    if (!l.zh && !l.en) delete p[key]["x-label"];
    else p[key]["x-label"] = l;
  }
}

// removeColumn removes a column and its mention in the items' required.
export function removeColumn(schema, key) {
  const p = itemProps(schema);
  delete p[key];
  if (Array.isArray(schema.items.required)) {
    schema.items.required = schema.items.required.filter((k) => k !== key);
    if (!schema.items.required.length) delete schema.items.required;
  }
}

// SERIAL_DATES are the date parts a serial number may carry.
export const SERIAL_DATES = ["YYYYMMDD", "YYMMDD", "YYYYMM", "YYYY"];

// setSerial sets one part of x-serial (prefix, date, digits, per); an
// empty value removes it.
export function setSerial(schema, part, v) {
  const s = { ...(schema["x-serial"] || {}) };
  if (part === "digits") v = v === "" || v == null ? null : Math.max(1, Math.min(12, Math.trunc(Number(v)) || 1));
  if (v === "" || v == null) delete s[part];
  else s[part] = v;
  schema["x-serial"] = s;
}

// serialExample is the number the serial gives first on day (a Date).
export function serialExample(cfg, day) {
  const c = cfg || {};
  const p2 = (n) => String(n).padStart(2, "0");
  const y = String(day.getFullYear()), m = p2(day.getMonth() + 1), d = p2(day.getDate());
  const dates = { YYYYMMDD: y + m + d, YYMMDD: y.slice(2) + m + d, YYYYMM: y + m, YYYY: y };
  const parts = [];
  if (c.date && dates[c.date]) parts.push(dates[c.date]);
  parts.push("1".padStart(c.digits || 4, "0"));
  return (c.prefix || "") + parts.join("-");
}
