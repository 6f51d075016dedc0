// The parts of the properties panel beyond label, key and help: default,
// validation preset, sensitivity and index, relation, subform columns,
// serial number format, and a section's settings. Each part draws labelled
// inputs and changes the schema through ctx.edit(fn, tag), which makes one
// undo step per input (props.js and layout.js hold the changes).
//
// ctx: {M, lang, bundle, form, key, edit(fn(schema, form), tag), redraw()}.

import * as P from "./props.js";
import * as L from "./layout.js";
import { el } from "./dom.js";
import { text } from "./form.js";

function row(id, label, input) {
  return el("div", { class: "dz-prop" }, el("label", { for: id, text: label }), input);
}

function select(attrs, options, value) {
  return el("select", attrs, ...options.map(([v, t]) => el("option", { value: v, text: t, selected: String(v) === String(value ?? "") })));
}

function options(s, lang) {
  const en = s.type === "array" ? (s.items || {}).enum : s.enum;
  const labels = s["x-options"] || {};
  return (Array.isArray(en) ? en : []).map((v) => [String(v), text(labels[String(v)], lang) || String(v)]);
}

// defaultBox sets the value a new record starts with.
export function defaultBox(ctx, s) {
  const { M } = ctx;
  if (s["x-compute"] || ["serial", "formula", "attachment", "image", "subform", "member", "unit", "relation"].includes(s["x-widget"])) return null;
  const id = "dz-p-default";
  const set = (v) => ctx.edit((x) => P.setDefault(x, v), "default");
  let input;
  if (s.type === "boolean") {
    input = select({ id, onchange: (ev) => set(ev.target.value) }, [["", M.p.default_none], ["true", M.p.yes], ["false", M.p.no]], P.defaultText(s));
  } else if (Array.isArray(s.enum)) {
    input = select({ id, onchange: (ev) => set(ev.target.value) }, [["", M.p.default_none], ...options(s, ctx.lang)], P.defaultText(s));
  } else if (s.type === "number" || s.type === "integer" || s.type === "string") {
    const type = s.type === "string" ? (s.format === "date" ? "date" : "text") : "number";
    input = el("input", { id, type, value: P.defaultText(s), oninput: (ev) => set(ev.target.value) });
  } else {
    return null;
  }
  return row(id, M.p.default, input);
}

// validationBox offers the presets that fit the field; a pattern no
// preset writes shows as custom (advanced) and stays as it is.
export function validationBox(ctx, s) {
  const { M } = ctx;
  if (s["x-compute"] || ["formula", "serial"].includes(s["x-widget"])) return null; // computed: nothing is entered
  const ids = P.presetsFor(s);
  if (!ids.length) return null;
  const cur = P.presetOf(s);
  const choices = [["", M.p.preset_none], ...ids.map((id) => [id, M.p["preset_" + id]])];
  if (cur.id === "custom") choices.push(["custom", M.p.preset_custom]);
  const box = el("fieldset", { class: "dz-group", "data-validation": "" }, el("legend", { text: M.p.validation }));
  const bounds = el("div", { class: "dz-bounds" });
  let min = cur.min ?? "", max = cur.max ?? "";
  const apply = (id, tag) => ctx.edit((x) => P.setPreset(x, id, M.presets, min, max), tag || "preset");
  const sel = select({ id: "dz-p-preset", "data-preset": "", onchange: (ev) => {
    min = ""; max = "";
    apply(ev.target.value);
    ctx.redraw();
  } }, choices, cur.id);
  box.append(row("dz-p-preset", M.p.validation_kind, sel));
  if (cur.id === "range" || cur.id === "length") {
    const step = cur.id === "length" ? "1" : "any";
    bounds.append(
      row("dz-p-min", cur.id === "length" ? M.p.min_length : M.p.min, el("input", { id: "dz-p-min", type: "number", step, min: cur.id === "length" ? "0" : null, value: String(min),
        oninput: (ev) => { min = ev.target.value; apply(cur.id, "bounds"); } })),
      row("dz-p-max", cur.id === "length" ? M.p.max_length : M.p.max, el("input", { id: "dz-p-max", type: "number", step, min: cur.id === "length" ? "0" : null, value: String(max),
        oninput: (ev) => { max = ev.target.value; apply(cur.id, "bounds"); } })));
    box.append(bounds);
  }
  if (cur.id && cur.id !== "custom") {
    const m = ((s["x-messages"] || {})[cur.id === "email" ? "format" : cur.id === "range" ? "minimum" : cur.id === "length" ? "maxLength" : "pattern"]);
    if (m) box.append(el("p", { class: "dz-hint", "data-preset-message": "" }, M.p.staff_read + text(m, ctx.lang)));
  }
  if (cur.id === "custom") {
    box.append(el("details", { class: "dz-advanced" }, el("summary", { text: M.p.advanced }),
      el("p", { class: "dz-hint", text: M.p.custom_help }),
      el("code", { class: "dz-code", text: cur.pattern })));
  }
  return box;
}

// moreBox sets the sensitivity class and the index.
export function moreBox(ctx, s) {
  const { M } = ctx;
  const kids = [];
  if (s.type === "string" || s.type === "object") {
    kids.push(row("dz-p-sensitive", M.p.sensitive, select({ id: "dz-p-sensitive", onchange: (ev) => {
      const v = ev.target.value;
      ctx.edit((x) => P.setKeyword(x, "x-sensitive", v), "sensitive");
    } }, [["", M.p.sensitive_none], ...["name", "phone", "id_number", "email", "bank_card", "address"].map((c) => [c, M.p["sensitive_" + c]])], s["x-sensitive"] || "")));
    kids.push(el("p", { class: "dz-hint", text: M.p.sensitive_help }));
  }
  if (s["x-widget"] !== "subform" && s.type !== "object") {
    kids.push(el("div", { class: "dz-prop dz-check" },
      el("input", { id: "dz-p-index", type: "checkbox", checked: s["x-index"] === true, onchange: (ev) => {
        const on = ev.target.checked;
        ctx.edit((x) => P.setKeyword(x, "x-index", on));
      } }),
      el("label", { for: "dz-p-index", text: M.p.index })));
  }
  return kids.length ? el("fieldset", { class: "dz-group" }, el("legend", { text: M.p.more }), ...kids) : null;
}

// relationBox picks the related form, the field shown for a picked record
// and the fields copied from it.
export function relationBox(ctx, s) {
  if (s["x-widget"] !== "relation") return null;
  const { M, lang } = ctx;
  const rel = s["x-relation"] || {};
  const forms = (ctx.bundle.forms || []).filter((f) => f && f["x-key"]);
  const target = forms.find((f) => f["x-key"] === rel.form);
  const tFields = target ? Object.keys(target.properties || {}) : [];
  const tLabel = (k) => text(((target.properties || {})[k] || {})["x-label"], lang) || k;
  const here = Object.keys(ctx.form.properties || {}).filter((k) => k !== ctx.key);
  const hLabel = (k) => text((ctx.form.properties[k] || {})["x-label"], lang) || k;
  const rows = P.fillRows(s);
  const writeFill = () => ctx.edit((x) => P.setFill(x, rows), "fill");
  const box = el("fieldset", { class: "dz-group", "data-relation": "" }, el("legend", { text: M.p.relation }),
    row("dz-p-rel-form", M.p.rel_form, select({ id: "dz-p-rel-form", onchange: (ev) => {
      const v = ev.target.value;
      ctx.edit((x) => P.setRelation(x, v));
      ctx.redraw();
    } }, forms.map((f) => [f["x-key"], text(f["x-title"], lang) || f["x-key"]]), rel.form)));
  if (!target) return box;
  box.append(row("dz-p-rel-display", M.p.rel_display, select({ id: "dz-p-rel-display", onchange: (ev) => {
    const v = ev.target.value;
    ctx.edit((x) => P.setRelation(x, rel.form, v), "display");
  } }, [["", M.p.rel_display_none], ...tFields.map((k) => [k, tLabel(k)])], rel.display || "")));
  const fillRow = (r, i) => el("li", { class: "dz-fill-row" },
    select({ "aria-label": M.p.fill_from + " " + (i + 1), onchange: (ev) => { r.from = ev.target.value; writeFill(); } },
      [["", M.p.choose], ...tFields.map((k) => [k, tLabel(k)])], r.from),
    el("span", { "aria-hidden": "true", text: "→" }),
    select({ "aria-label": M.p.fill_to + " " + (i + 1), onchange: (ev) => { r.to = ev.target.value; writeFill(); } },
      [["", M.p.choose], ...here.map((k) => [k, hLabel(k)])], r.to),
    el("button", { type: "button", class: "link danger", "aria-label": M.p.fill_remove + " " + (i + 1), text: "×", onclick: () => {
      rows.splice(i, 1);
      writeFill();
      ctx.redraw();
    } }));
  const list = el("ol", { class: "dz-fill" }, ...rows.map(fillRow));
  box.append(el("p", { class: "dz-hint", text: M.p.fill_help }), list,
    el("button", { type: "button", class: "link", "data-do": "fill-add", text: M.p.fill_add, onclick: () => {
      // a row is written once both sides are chosen
      rows.push({ from: "", to: "" });
      list.append(fillRow(rows[rows.length - 1], rows.length - 1));
    } }));
  return box;
}

// columnsBox edits a subform's columns: a label and a widget each.
export function columnsBox(ctx, s) {
  if (s["x-widget"] !== "subform") return null;
  const { M, lang } = ctx;
  const cols = P.columns(s);
  const wname = (w) => text(M.widgets[w], lang) || w;
  return el("fieldset", { class: "dz-group", "data-columns": "" }, el("legend", { text: M.p.columns }),
    el("ol", { class: "dz-cols" }, ...cols.map((c, i) => el("li", { class: "dz-col", "data-column": c.key },
      el("input", { type: "text", "aria-label": M.p.column_label + " " + (i + 1), value: lang === "zh" ? c.zh : c.en,
        oninput: (ev) => { const v = ev.target.value; ctx.edit((x) => P.setColumn(x, c.key, { lang, text: v }), "col:" + c.key); } }),
      select({ "aria-label": M.p.column_widget + " " + (i + 1), onchange: (ev) => {
        const w = ev.target.value;
        ctx.edit((x) => P.setColumn(x, c.key, { widget: w }));
        ctx.redraw();
      } }, P.COLUMN_WIDGETS.map((w) => [w, wname(w)]), c.widget),
      c.widget === "formula" ? el("input", { type: "text", class: "dz-col-expr", "data-column-compute": c.key, value: c.compute,
        "aria-label": M.p.column_formula + " " + (i + 1), title: M.p.column_formula_help + " " + cols.filter((o) => o.key !== c.key).map((o) => o.key + " (" + (lang === "zh" ? o.zh : o.en) + ")").join(", "),
        oninput: (ev) => { const v = ev.target.value; ctx.edit((x) => P.setColumnCompute(x, c.key, v), "colx:" + c.key); } }) : null,
      el("button", { type: "button", class: "link danger", "aria-label": M.p.column_remove + " " + (i + 1), text: "×", disabled: cols.length < 2, onclick: () => {
        ctx.edit((x) => P.removeColumn(x, c.key));
        ctx.redraw();
      } })))),
    el("button", { type: "button", class: "link", "data-do": "column-add", text: M.p.column_add, onclick: () => {
      const w = M.widgets.text;
      ctx.edit((x) => { P.addColumn(x, "text", { zh: w.zh, en: w.en }); });
      ctx.redraw();
    } }));
}

// serialBox sets the serial number's prefix, date, digits and counter.
export function serialBox(ctx, s) {
  if (s["x-widget"] !== "serial") return null;
  const { M } = ctx;
  const cfg = s["x-serial"] || {};
  const example = el("p", { class: "dz-hint", "data-serial-example": "" }, M.p.serial_example + P.serialExample(cfg, new Date()));
  const set = (part, v, tag) => {
    ctx.edit((x) => P.setSerial(x, part, v), tag);
    example.textContent = M.p.serial_example + P.serialExample((ctx.schema() || {})["x-serial"], new Date());
  };
  return el("fieldset", { class: "dz-group", "data-serial": "" }, el("legend", { text: M.p.serial }),
    row("dz-p-serial-prefix", M.p.serial_prefix, el("input", { id: "dz-p-serial-prefix", type: "text", maxlength: "20", value: cfg.prefix || "",
      oninput: (ev) => set("prefix", ev.target.value, "serial-prefix") })),
    row("dz-p-serial-date", M.p.serial_date, select({ id: "dz-p-serial-date", onchange: (ev) => set("date", ev.target.value) },
      [["", M.p.serial_date_none], ...P.SERIAL_DATES.map((d) => [d, M.p["serial_" + d]])], cfg.date || "")),
    row("dz-p-serial-digits", M.p.serial_digits, el("input", { id: "dz-p-serial-digits", type: "number", min: "1", max: "12", value: cfg.digits || "",
      oninput: (ev) => set("digits", ev.target.value, "serial-digits") })),
    row("dz-p-serial-per", M.p.serial_per, select({ id: "dz-p-serial-per", onchange: (ev) => set("per", ev.target.value) },
      [["", M.p.serial_per_none], ["app", M.p.serial_per_app], ["form", M.p.serial_per_form], ["unit", M.p.serial_per_unit]], cfg.per || "")),
    example);
}

// sectionPanel sets section i's titles, columns and collapsed flag, or
// removes it. ctx.editForm(fn, tag) changes the form.
export function sectionPanel(ctx, i) {
  const { M } = ctx;
  const s = (ctx.form["x-layout"] || [])[i] || {};
  const t = s.title;
  const titleOf = (lng) => (typeof t === "string" ? t : (t && t[lng]) || "");
  const title = (lng) => el("input", { id: "dz-s-title-" + lng, type: "text", value: titleOf(lng),
    oninput: (ev) => { const v = ev.target.value; ctx.editForm((f) => L.setSection(f, i, { lang: lng, title: v }), "section:" + lng + ":" + i); } });
  return [
    el("h2", { text: M.p.section }),
    row("dz-s-title-zh", M.p.section_title_zh, title("zh")),
    row("dz-s-title-en", M.p.section_title_en, title("en")),
    row("dz-s-columns", M.p.section_columns, select({ id: "dz-s-columns", "data-columns-select": "", onchange: (ev) => {
      const v = ev.target.value;
      ctx.editForm((f) => L.setSection(f, i, { columns: v }));
    } }, [1, 2, 3, 4].map((n) => [String(n), M.p["columns_" + n]]), String(s.columns || 1))),
    el("div", { class: "dz-prop dz-check" },
      el("input", { id: "dz-s-collapsed", type: "checkbox", checked: s.collapsed === true, onchange: (ev) => {
        const on = ev.target.checked;
        ctx.editForm((f) => L.setSection(f, i, { collapsed: on }));
      } }),
      el("label", { for: "dz-s-collapsed", text: M.p.section_collapsed })),
    el("p", { class: "dz-hint", text: M.p.section_help }),
    el("button", { type: "button", class: "link danger", "data-do": "section-remove", text: M.p.section_remove, onclick: () => ctx.removeSection(i) }),
  ];
}
