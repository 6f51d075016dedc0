package server

import "testing"

// designerPropsChecks runs in the page against the property, layout,
// rule and formula modules (window.bundles holds bundles to try) and
// returns what failed.
const designerPropsChecks = `(async () => {
	const P = await import("/static/designer/props.js");
	const L = await import("/static/designer/layout.js");
	const R = await import("/static/designer/rules.js");
	const FM = await import("/static/designer/formula.js");
	const F = await import("/static/designer/form.js");
	const fails = [];
	const same = (what, got, want) => {
		const g = JSON.stringify(got), w = JSON.stringify(want);
		if (g !== w) fails.push(what + ": got " + g.slice(0, 300) + ", want " + w.slice(0, 300));
	};
	const msgs = { phone: { zh: "请填写手机号", en: "Enter a mobile number" }, email: { zh: "邮箱", en: "Email" },
		id_number: { zh: "身份证", en: "ID" }, vin: { zh: "车架号", en: "VIN" }, plate: { zh: "车牌", en: "Plate" },
		range_min: { zh: "不能小于 {min}", en: "At least {min}" }, range_max: { zh: "不能大于 {max}", en: "At most {max}" },
		length_min: { zh: "至少 {min} 个字", en: "At least {min}" }, length_max: { zh: "最多 {max} 个字", en: "At most {max}" } };

	// presets write their keywords and the staff's words, are recognised
	// again, and leave other keys alone; switching removes only their own
	const s = { type: "string", "x-widget": "text", "x-unknown": 1, "x-messages": { minimum: "kept" } };
	for (const id of ["phone", "id_number", "vin", "plate", "email"]) {
		P.setPreset(s, id, msgs);
		same("preset " + id, P.presetOf(s).id, id);
		same("preset " + id + " message", s["x-messages"][id === "email" ? "format" : "pattern"], msgs[id]);
		same("preset " + id + " keeps", [s["x-unknown"], s["x-messages"].minimum], [1, "kept"]);
	}
	P.setPreset(s, "length", msgs, "2", "10");
	same("length", [s.minLength, s.maxLength, s.pattern, s.format, P.presetOf(s)], [2, 10, undefined, undefined, { id: "length", min: 2, max: 10 }]);
	same("length words", s["x-messages"].maxLength, { zh: "最多 10 个字", en: "At most 10" });
	P.setPreset(s, "", msgs);
	same("no preset", s, { type: "string", "x-widget": "text", "x-unknown": 1, "x-messages": { minimum: "kept" } });
	const n = { type: "number", "x-widget": "number" };
	P.setPreset(n, "range", msgs, "0", "");
	same("range", [n.minimum, n.maximum, P.presetOf(n).id, P.presetsFor(n)], [0, undefined, "range", ["range"]]);
	// an unusual pattern is custom and stays, whatever else is chosen for it
	const c = { type: "string", pattern: "^[A-Z]{3}$" };
	same("custom", P.presetOf(c), { id: "custom", pattern: "^[A-Z]{3}$" });
	P.setPreset(c, "custom", msgs);
	same("custom kept", c, { type: "string", pattern: "^[A-Z]{3}$" });
	// the shipped bundles' fields: each recognised without a change
	for (const [name, b] of Object.entries(window.bundles)) {
		for (const form of b.forms) {
			for (const [k, fs] of Object.entries(form.properties)) {
				const before = JSON.stringify(fs);
				const id = P.presetOf(fs).id;
				if (id && id !== "custom" && !["range", "length"].includes(id)) {
					const copy = structuredClone(fs);
					P.setPreset(copy, id, msgs);
					if (copy.pattern !== fs.pattern || copy.format !== fs.format) fails.push(name + "/" + k + ": preset " + id + " rewrites its keyword");
				}
				if (JSON.stringify(fs) !== before) fails.push(name + "/" + k + ": presetOf changed the field");
			}
		}
	}

	// defaults, keywords, relations, x-fill, columns, serial
	const d = { type: "number" };
	P.setDefault(d, "12.5");
	same("default number", d.default, 12.5);
	P.setDefault(d, "");
	same("default gone", "default" in d, false);
	const bo = { type: "boolean" };
	P.setDefault(bo, "false");
	same("default boolean", bo.default, false);
	const rel = { type: "string", "x-widget": "relation", "x-relation": { form: "a", display: "name" }, "x-fill": { phone: "tel" } };
	P.setRelation(rel, "a", "title");
	same("display", rel, { type: "string", "x-widget": "relation", "x-relation": { form: "a", display: "title" }, "x-fill": { phone: "tel" } });
	P.setFill(rel, P.fillRows(rel).concat([{ from: "name", to: "who" }, { from: "x", to: "" }]));
	same("fill", rel["x-fill"], { phone: "tel", name: "who" });
	P.setRelation(rel, "b");
	same("other form", rel, { type: "string", "x-widget": "relation", "x-relation": { form: "b" } });
	const sub = F.newSchema("subform", { zh: "明细", en: "Lines" }, []);
	const col = P.addColumn(sub, "number", { zh: "数量", en: "Qty" });
	P.setColumn(sub, col, { widget: "date" });
	P.setColumn(sub, col, { lang: "en", text: "Day" });
	same("columns", P.columns(sub), [{ key: "item", widget: "text", compute: "", zh: "项目", en: "Item" }, { key: col, widget: "date", compute: "", zh: "数量", en: "Day" }]);
	same("column type", [sub.items.properties[col].type, sub.items.properties[col].format], ["string", "date"]);
	P.removeColumn(sub, "item");
	same("column removed", Object.keys(sub.items.properties), [col]);
	// a formula column: computed on its row by x-compute, which the engine reads
	P.setColumn(sub, col, { widget: "formula" });
	P.setColumnCompute(sub, col, " qty * price ");
	same("formula column", sub.items.properties[col], { type: "number", "x-widget": "formula", "x-label": { zh: "数量", en: "Day" }, "x-compute": "qty * price" });
	same("formula in columns", P.columns(sub)[0].compute, "qty * price");
	P.setColumn(sub, col, { widget: "money" });
	same("typed in again", [sub.items.properties[col].type, sub.items.properties[col]["x-compute"]], ["number", undefined]);
	const ser = { type: "string", "x-widget": "serial", "x-serial": { digits: 4 } };
	P.setSerial(ser, "prefix", "SO-");
	P.setSerial(ser, "date", "YYYYMMDD");
	P.setSerial(ser, "per", "unit");
	same("serial", ser["x-serial"], { digits: 4, prefix: "SO-", date: "YYYYMMDD", per: "unit" });
	same("serial example", P.serialExample(ser["x-serial"], new Date(2026, 11, 6)), "SO-20261206-0001");
	P.setSerial(ser, "date", "");
	same("serial no date", P.serialExample(ser["x-serial"], new Date(2026, 11, 6)), "SO-0001");

	// layout: the first section takes every field; a drop before a field
	// joins its section; a drop below a section's title joins that one
	const lf = { properties: { a: {}, b: {}, c: {}, d: {} } };
	L.addSection(lf, { zh: "一", en: "One" });
	L.addSection(lf, { zh: "二", en: "Two" });
	same("sections", lf["x-layout"].map((x) => x.fields), [["a", "b", "c", "d"], []]);
	const head = (i) => ({ dataset: { sectionHead: String(i) } });
	const fieldEl = (k) => ({ dataset: { field: k } });
	same("drop at the end", L.dropTarget(lf, null), { end: 1 });
	L.place(lf, "c", L.dropTarget(lf, null));
	L.place(lf, "a", L.dropTarget(lf, fieldEl("c")));
	same("placed", F.order(lf).map((e) => e.key + e.section), ["b0", "d0", "a1", "c1"]);
	L.place(lf, "c", L.dropTarget(lf, head(1)));
	same("end of the section above", F.order(lf).map((e) => e.key + e.section), ["b0", "d0", "c0", "a1"]);
	L.place(lf, "a", L.dropTarget(lf, head(0)));
	same("top of the first", F.order(lf).map((e) => e.key + e.section), ["a0", "b0", "d0", "c0"]);
	L.setSection(lf, 1, { columns: 2 });
	L.setSection(lf, 1, { collapsed: true });
	L.setSection(lf, 1, { lang: "en", title: "" });
	same("section set", lf["x-layout"][1], { title: { zh: "二" }, columns: 2, fields: [], collapsed: true });
	same("properties untouched", Object.keys(lf.properties), ["a", "b", "c", "d"]);
	L.removeSection(lf, 0);
	same("removed into the next", lf["x-layout"], [{ title: { zh: "二" }, columns: 2, fields: ["a", "b", "d", "c"], collapsed: true }]);
	L.removeSection(lf, 0);
	same("last removed: the order stays", [lf["x-layout"], Object.keys(lf.properties)], [undefined, ["a", "b", "d", "c"]]);

	// rules: operators per field, complete rows, rows as the server takes them
	const props = { level: { type: "string", enum: ["normal", "vip"] }, n: { type: "number" }, ok: { type: "boolean" },
		tags: { type: "array", items: { type: "string", enum: ["x"] } }, name: { type: "string" }, when: { type: "string", format: "date" } };
	same("ops choice", R.opsFor(props.level), ["eq", "ne", "in", "not_in", "empty", "not_empty"]);
	same("ops number", R.opsFor(props.n), ["eq", "ne", "gt", "ge", "lt", "le"]);
	same("ops multi", R.opsFor(props.tags), ["has", "empty", "not_empty"]);
	same("ops date", R.valueKind(props.when, "gt"), "date");
	same("new row", R.newRow("level", props.level), { field: "level", op: "eq", value: "normal" });
	const rows = { join: "any", conditions: [{ field: "n", op: "gt", value: "3" }, { field: "ok", op: "eq", value: "true" }, { field: "name", op: "empty", value: "x" }] };
	same("complete", R.complete(rows, props), true);
	same("wire", R.wire(rows, props), { join: "any", conditions: [{ field: "n", op: "gt", value: 3 }, { field: "ok", op: "eq", value: true }, { field: "name", op: "empty" }] });
	same("incomplete", R.complete({ join: "all", conditions: [{ field: "n", op: "gt", value: "" }] }, props), false);
	same("no field", R.complete({ join: "all", conditions: [{ field: "", op: "eq", value: "a" }] }, props), false);
	same("rule fields", R.ruleFields({ properties: { ...props, files: { type: "array" }, obj: { type: "object" } } }, ["level", "files", "obj", "n"], "n"), ["level", "files"]);

	// formula: chips insert at the caret, refs, samples
	same("insert field", FM.insert("price", 5, 5, "qty"), { text: "price qty", caret: 9 });
	same("insert op", FM.insert("price", 5, 5, " * "), { text: "price * ", caret: 8 });
	same("insert function", FM.insert("", 0, 0, "round()"), { text: "round()", caret: 6 });
	same("insert over a selection", FM.insert("a + b", 4, 5, "c"), { text: "a + c", caret: 5 });
	same("refs", FM.refs("round(price * qty) + len('price') + user.unit", ["qty", "price", "unit", "user"]), ["qty", "price", "user"]);
	same("sample", [FM.sampleValue({ type: "number" }), FM.sampleValue({ type: "number", default: 3 }), FM.sampleValue({ type: "string", enum: ["a"] })], [100, 3, "a"]);
	same("sample data", FM.sampleData({ n: { type: "number" }, s: { type: "string" } }, { n: "2.5", s: "" }), { n: 2.5 });
	return fails;
})()`

// TestBrowserDesignerPropsModules runs the properties panel's pure
// modules (props.js, layout.js, rules.js, formula.js) in Chromium: each
// validation preset writes its keyword and the staff's words and is
// recognised again (every field of both templates and the test apps is
// read without a change), defaults, relations, x-fill, subform columns
// and serial formats, sections and drops between them, condition rows,
// formula chips.
func TestBrowserDesignerPropsModules(t *testing.T) {
	fails, console := runModuleChecks(t, designerPropsChecks)
	for _, f := range fails {
		t.Error(f)
	}
	checkConsole(t, console)
}
