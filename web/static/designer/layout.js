// The form's layout: sections ("x-layout") with a title, 1–4 columns and
// a collapsed flag, each naming its fields in order; fields no section
// names follow them. Pure functions over one form; keys of a section the
// designer does not know stay as they are.

import { order } from "./form.js";

function lay(form) {
  return Array.isArray(form["x-layout"]) ? form["x-layout"] : null;
}

function drop(form, key) {
  for (const s of lay(form) || []) {
    if (s && Array.isArray(s.fields)) {
      const i = s.fields.indexOf(key);
      if (i >= 0) s.fields.splice(i, 1);
    }
  }
}

// sectionOf is the index of the section holding key, -1 for none.
export function sectionOf(form, key) {
  const e = order(form).find((x) => x.key === key);
  return e ? e.section : -1;
}

// addSection adds a section titled title at the end and returns its
// index. The form's first section takes every field, so the form looks
// as it did; a later one starts empty.
export function addSection(form, title) {
  const first = !lay(form) || lay(form).length === 0;
  const s = { title, columns: 1, fields: first ? order(form).map((e) => e.key) : [] };
  if (first) form["x-layout"] = [s];
  else form["x-layout"].push(s);
  return form["x-layout"].length - 1;
}

// setSection changes a section's title (one language), columns or
// collapsed flag.
export function setSection(form, i, { lang, title, columns, collapsed }) {
  const s = (lay(form) || [])[i];
  if (!s) return;
  if (lang) {
    let t = s.title;
    if (typeof t === "string") t = { zh: t, en: t };
    t = { ...(t || {}), [lang]: title };
    if (!t[lang]) delete t[lang];
    if (!t.zh && !t.en) delete s.title;
    else s.title = t;
  }
  if (columns !== undefined) {
    const n = Math.max(1, Math.min(4, Math.trunc(Number(columns)) || 1));
    if (n === 1 && s.columns == null) { /* one column is the default */ } else s.columns = n;
  }
  if (collapsed !== undefined) {
    if (collapsed) s.collapsed = true;
    else delete s.collapsed;
  }
}

// removeSection removes section i; its fields join the section before it
// (the next one for the first). Without sections left the layout goes,
// and properties take the order the form showed.
export function removeSection(form, i) {
  const l = lay(form);
  if (!l || !l[i]) return;
  if (l.length === 1) {
    const keys = order(form).map((e) => e.key);
    delete form["x-layout"];
    const np = {};
    for (const k of keys) np[k] = form.properties[k];
    form.properties = np;
    return;
  }
  const fields = (l[i].fields || []).filter((k) => typeof k === "string");
  l.splice(i, 1);
  if (i > 0) l[i - 1].fields = (l[i - 1].fields || []).concat(fields);
  else l[0].fields = fields.concat(l[0].fields || []);
}

// place moves the field key (already in the form) to where: {before: k}
// (just before field k, in k's section) or {end: i} (the end of section
// i; -1: after the fields no section holds).
export function place(form, key, where) {
  const l = lay(form);
  if (where.before === key) return;
  if (where.before != null) {
    const si = sectionOf(form, where.before);
    if (si >= 0) {
      drop(form, key);
      const f = l[si].fields;
      f.splice(f.indexOf(where.before), 0, key);
      return;
    }
    drop(form, key);
    reorder(form, key, where.before);
    return;
  }
  drop(form, key);
  if (where.end >= 0 && l && l[where.end]) {
    if (!Array.isArray(l[where.end].fields)) l[where.end].fields = [];
    l[where.end].fields.push(key);
    return;
  }
  reorder(form, key, null);
}

// reorder puts key just before before (or last) among properties.
function reorder(form, key, before) {
  const keys = Object.keys(form.properties).filter((k) => k !== key);
  const at = before == null ? keys.length : keys.indexOf(before);
  keys.splice(at < 0 ? keys.length : at, 0, key);
  const np = {};
  for (const k of keys) np[k] = form.properties[k];
  form.properties = np;
}

// dropTarget says where a drop lands that falls just before the element
// before (a field, a section head, or null for the end of the canvas).
export function dropTarget(form, before) {
  if (before && before.dataset.field) return { before: before.dataset.field };
  const l = lay(form) || [];
  const unplaced = order(form).some((e) => e.section === -1);
  if (before && before.dataset.sectionHead != null) {
    const i = Number(before.dataset.sectionHead);
    if (i === -1) return { end: l.length - 1 };
    if (i === 0) {
      const first = order(form).find((e) => e.section === 0);
      return first ? { before: first.key } : { end: 0 };
    }
    return { end: i - 1 };
  }
  return { end: unplaced ? -1 : l.length - 1 };
}
