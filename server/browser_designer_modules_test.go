package server

import "testing"

// designerModuleChecks runs in the page against the designer's modules
// (window.bundles holds the bundles to try) and returns what failed.
const designerModuleChecks = `(async () => {
	const P = await import("/static/designer/patch.js");
	const F = await import("/static/designer/form.js");
	const fails = [];
	const same = (what, got, want) => {
		const g = JSON.stringify(got), w = JSON.stringify(want);
		if (g !== w) fails.push(what + ": got " + g.slice(0, 300) + ", want " + w.slice(0, 300));
	};
	// a deterministic shuffle
	let seed = 7;
	const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
	// patch applies to give exactly the target, key order included
	const roundTrip = (what, a, b) => {
		const ops = P.diff(a, b);
		same(what, P.apply(a, ops), b);
		return ops;
	};

	for (const [name, b] of Object.entries(window.bundles)) {
		// lossless: nothing changed, nothing sent
		same(name + " unchanged", P.diff(b, structuredClone(b)), []);
		b.forms.forEach((form) => {
			// each form on its own, as /forms/0 of a bundle of one form
			const one = { forms: [form] };
			const keys = F.order(form).map((e) => e.key);
			const where = name + "/" + form["x-key"];
			// fields moved to places all over the form: the order is the one
			// asked for, nothing is lost, and the patch gives the same form
			const by = Math.max(1, keys.length >> 3);
			for (let i = 0; i < keys.length; i += by) {
				for (let to = 0; to < keys.length; to += by) {
					const next = structuredClone(one);
					F.move(next.forms[0], keys[i], to);
					const want = keys.filter((k) => k !== keys[i]);
					want.splice(to, 0, keys[i]);
					same(where + " move " + keys[i] + " to " + to, F.order(next.forms[0]).map((e) => e.key), want);
					roundTrip(where + " move patch " + keys[i] + " to " + to, one, next);
				}
			}
			// properties shuffled, a field removed, one added, a label changed
			const next = structuredClone(one);
			const f = next.forms[0];
			const pk = Object.keys(f.properties);
			for (let i = pk.length - 1; i > 0; i--) { const j = rnd(i + 1); [pk[i], pk[j]] = [pk[j], pk[i]]; }
			const np = {};
			for (const k of pk) np[k] = f.properties[k];
			f.properties = np;
			F.remove(f, pk[0]);
			F.add(f, "select", 1, { zh: "新字段", en: "New field" }, []);
			if (pk[1]) F.setText(f.properties[pk[1]], "x-label", "en", "Changed");
			roundTrip(where + " shuffled", one, next);
			same(where + " removed from required", (f.required || []).includes(pk[0]), false);
			same(where + " removed from layout", JSON.stringify(f["x-layout"] || []).includes('"' + pk[0] + '"'), false);
		});
	}

	// keys from labels
	same("key from label", F.keyFrom("Customer name"), "customer_name");
	same("key from Chinese", F.keyFrom("客户姓名"), "");
	same("key from mixed", F.keyFrom("VIN 车架号"), "vin");
	const form = { properties: { name: {}, name_2: {} } };
	same("unique key", F.uniqueKey(form, "name"), "name_3");
	same("field_N", F.uniqueKey(form, ""), "field_3");
	same("unique key, itself", F.uniqueKey(form, "name", "name"), "name");

	// rename keeps the place, required and layout
	const r = { properties: { a: {}, b: {}, c: {} }, required: ["b"], "x-layout": [{ fields: ["c", "b"] }] };
	F.rename(r, "b", "bee");
	same("rename", r, { properties: { a: {}, bee: {}, c: {} }, required: ["bee"], "x-layout": [{ fields: ["c", "bee"] }] });
	// duplicate lands right after, in the same section, required too
	const d = structuredClone(r);
	same("duplicate key", F.duplicate(d, "bee", { zh: "（副本）", en: " (copy)" }), "bee_copy");
	same("duplicate order", F.order(d).map((e) => e.key), ["c", "bee", "bee_copy", "a"]);
	same("duplicate required", d.required, ["bee", "bee_copy"]);

	// options: enum and x-options in and out, arrays too
	const sel = F.newSchema("select", { zh: "级别", en: "Level" }, []);
	F.setOptions(sel, [{ value: "a", zh: "甲", en: "A" }, { value: "b", zh: "B", en: "B" }]);
	same("options", sel.enum, ["a", "b"]);
	same("option labels", sel["x-options"], { a: { zh: "甲", en: "A" }, b: "B" });
	same("options back", F.options(sel), [{ value: "a", zh: "甲", en: "A" }, { value: "b", zh: "B", en: "B" }]);
	const multi = { type: "array", items: { type: "string", enum: ["x"] }, "x-widget": "checkbox" };
	F.setOptions(multi, [{ value: "x", zh: "", en: "" }, { value: "y", zh: "歪", en: "Y" }]);
	same("array options", multi, { type: "array", items: { type: "string", enum: ["x", "y"] }, "x-widget": "checkbox", "x-options": { y: { zh: "歪", en: "Y" } } });

	// texts: a string label becomes bilingual when one language changes
	const t = { "x-label": "Name" };
	F.setText(t, "x-label", "zh", "姓名");
	same("setText", t, { "x-label": { zh: "姓名", en: "Name" } });
	F.setText(t, "x-label", "zh", "");
	F.setText(t, "x-label", "en", "");
	same("setText empty", t, {});

	// pointers of problems lead to their field
	const pb = { forms: [{ properties: { a: {}, b: {} }, required: ["b"], "x-layout": [{ fields: ["a", "b"] }] }] };
	same("pointer property", F.fieldOfPointer(pb, 0, "/forms/0/properties/a/x-widget"), "a");
	same("pointer required", F.fieldOfPointer(pb, 0, "/forms/0/required/0"), "b");
	same("pointer layout", F.fieldOfPointer(pb, 0, "/forms/0/x-layout/0/fields/1"), "b");
	same("pointer other form", F.fieldOfPointer(pb, 1, "/forms/0/properties/a"), "");
	same("pointer app", F.fieldOfPointer(pb, 0, "/app/key"), "");

	// every palette widget starts as a field of the type it needs
	for (const w of Object.values(F.WIDGETS).flat()) {
		const s = F.newSchema(w, { zh: "x", en: "x" }, ["other"]);
		if (s["x-widget"] !== w || !s.type) fails.push("new " + w + ": " + JSON.stringify(s));
	}

	// ETags
	same("etag", P.ptr("a/b~c"), "/a~1b~0c");
	return fails;
})()`

// TestBrowserDesignerModules runs the designer's pure modules (patch.js,
// form.js) in Chromium on both templates and the test apps: a diff gives
// no operation for an unchanged bundle and, applied, exactly the changed
// one (key order included); moving any field to any place gives that
// display order with layouts and without; keys, options, texts and
// problem pointers behave.
func TestBrowserDesignerModules(t *testing.T) {
	fails, console := runModuleChecks(t, designerModuleChecks)
	for _, f := range fails {
		t.Error(f)
	}
	for _, m := range console {
		t.Logf("browser console: %s", m)
	}
}
