package server

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"formwork/templates"
)

// flowModelChecks runs in the page against flow_model.js (window.bundles
// holds the bundles whose workflows to try) and returns what failed.
const flowModelChecks = `(async () => {
	const W = await import("/static/designer/flow_model.js");
	const P = await import("/static/designer/patch.js");
	const fails = [];
	const same = (what, got, want) => {
		const g = JSON.stringify(got), w = JSON.stringify(want);
		if (g !== w) fails.push(what + ": got " + g.slice(0, 300) + ", want " + w.slice(0, 300));
	};
	const names = { name: { zh: "节点", en: "Step" }, branch1: { zh: "分支 1", en: "Branch 1" }, branch2: { zh: "分支 2", en: "Branch 2" },
		otherwise: { zh: "其他情况", en: "Otherwise" } };

	let seen = 0;
	for (const [name, b] of Object.entries(window.bundles)) {
		(b.workflows || []).forEach((wf, wi) => {
			const where = name + "/" + wf.key;
			const keys = W.keys(wf);
			seen += keys.length;
			// every node is found where each puts it, and its problems land on it
			W.each(wf, (n, list, index, pointer) => {
				const f = W.find(wf, n.key);
				same(where + " find " + n.key, [f.list, f.index, f.pointer], [list, index, pointer]);
				same(where + " list of " + n.key, W.list(wf, list)[index] === n, true);
				same(where + " place " + n.key, W.place(wf, wi, "/workflows/" + wi + pointer + "/key"), { node: n.key, branch: -1 });
				(n.branches || []).forEach((_, bi) => {
					same(where + " place branch " + bi + " of " + n.key, W.place(wf, wi, "/workflows/" + wi + pointer + "/branches/" + bi + "/when"), { node: n.key, branch: bi });
				});
			});
			same(where + " place of the trigger", W.place(wf, wi, "/workflows/" + wi + "/trigger/when"), { node: "", branch: -1 });
			same(where + " place elsewhere", W.place(wf, wi, "/workflows/" + (wi + 1) + "/key"), null);
			// each node taken out and put back: the same workflow, key order
			// included, and a patch that does just that
			for (const k of keys) {
				const copy = structuredClone(wf);
				const f = W.find(copy, k);
				const n = W.remove(copy, k);
				same(where + " removed " + k, W.find(copy, k), null);
				W.insert(copy, f.list, f.index, n);
				same(where + " put back " + k, copy, wf);
				const moved = structuredClone(wf);
				if (W.shift(moved, k, -1)) {
					W.shift(moved, k, 1);
					same(where + " up and down " + k, moved, wf);
				}
			}
			// a node inserted anywhere is one add operation
			const lists = ["top"];
			W.each(wf, (n) => (n.branches || []).forEach((_, bi) => lists.push(n.key + "." + bi)));
			for (const l of lists) {
				const bundle = structuredClone(b);
				const w = bundle.workflows[wi];
				const at = W.list(w, l, true).length;
				W.insert(w, l, at, W.newNode("cc", W.uniqueKey(w, "cc"), names));
				const ops = P.diff(b, bundle);
				same(where + " insert into " + l + " ops", ops.map((o) => o.op), ["add"]);
				same(where + " insert into " + l + " applies", P.apply(b, ops), bundle);
			}
		});
	}
	if (seen < 10) fails.push("only " + seen + " nodes in the bundles' workflows");

	// a workflow built from nothing
	const wf = { key: "f", form: "x", trigger: { on: ["create"] }, nodes: [], "x-unknown": { kept: true } };
	W.insert(wf, "top", 0, W.newNode("approval", W.uniqueKey(wf, "approval"), names));
	W.insert(wf, "top", 1, W.newNode("condition", W.uniqueKey(wf, "condition"), names));
	W.insert(wf, "condition.0", 0, W.newNode("approval", W.uniqueKey(wf, "approval"), names));
	W.insert(wf, "top", 9, W.newNode("end", "end", names));
	same("keys", W.keys(wf), ["approval", "condition", "approval_2", "end"]);
	same("new approval", wf.nodes[0], { key: "approval", type: "approval", name: { zh: "节点", en: "Step" }, assignees: { unit_head: "submitter" }, mode: "any" });
	same("new condition", wf.nodes[1].branches.map((b) => [b.name.en, !!b.else]), [["Branch 1", false], ["Otherwise", true]]);
	same("no such list", W.insert(wf, "nope.0", 0, {}), false);
	// a branch goes before "otherwise", which stays last
	same("add branch", W.addBranch(wf, "condition", { name: { zh: "分支 2", en: "Branch 2" }, nodes: [] }), 1);
	same("branch order", wf.nodes[1].branches.map((b) => b.name.en), ["Branch 1", "Branch 2", "Otherwise"]);
	// "otherwise" moves to the end and drops its condition; another loses it
	wf.nodes[1].branches[0].when = "a > 1";
	W.setOtherwise(wf, "condition", 0, true);
	same("otherwise", wf.nodes[1].branches.map((b) => [b.name.en, !!b.else, b.when || ""]), [["Branch 2", false, ""], ["Otherwise", false, ""], ["Branch 1", true, ""]]);
	same("the branch's nodes went with it", W.find(wf, "approval_2").list, "condition.2");
	W.setOtherwise(wf, "condition", 2, false);
	same("not otherwise", wf.nodes[1].branches.some((b) => b.else), false);
	same("remove branch", W.removeBranch(wf, "condition", 2), true);
	same("its nodes went", W.find(wf, "approval_2"), null);
	W.removeBranch(wf, "condition", 1);
	same("the last branch stays", W.removeBranch(wf, "condition", 0), false);
	// moves: into a branch, not into itself
	same("move into a branch", W.move(wf, "approval", "condition.0", 0), true);
	same("moved", [W.find(wf, "approval").list, W.keys(wf)], ["condition.0", ["condition", "approval", "end"]]);
	same("move into itself", W.move(wf, "condition", "condition.0", 0), false);
	same("shift at the top", W.shift(wf, "condition", -1), false);
	same("shift down", [W.shift(wf, "condition", 1), W.keys(wf)], [true, ["end", "condition", "approval"]]);
	same("unknown keys kept", wf["x-unknown"], { kept: true });

	// assignees
	same("kind", [W.kind({ roles: ["a"] }), W.kind({ unit_head: "submitter", levels_up: 1 }), W.kind({ users: [] }), W.kind(null)], ["roles", "unit_head", "users", ""]);
	same("with kind", W.withKind({ unit_head: "submitter" }, "roles", "hq"), { roles: ["hq"] });
	const same1 = { roles: ["a"], extra: 1 };
	same("with the same kind", W.withKind(same1, "roles", "b") === same1, true);
	same("toggle role", W.toggleRole(W.toggleRole({ roles: ["a"] }, "b", true), "a", false), { roles: ["b"] });

	// the field grid writes only what differs from the default
	const n = { key: "n", type: "approval" };
	W.setFieldPerm(n, "discount", "read");
	same("read is the default", n, { key: "n", type: "approval" });
	W.setFieldPerm(n, "*", "edit");
	W.setFieldPerm(n, "discount", "read");
	same("grid", n.fields, { "*": "edit", discount: "read" });
	same("perm", [W.fieldPerm(n, "discount"), W.fieldPerm(n, "other"), W.fieldPerm(n, "*")], ["read", "edit", "edit"]);
	W.setFieldPerm(n, "discount", "edit");
	W.setFieldPerm(n, "*", "read");
	same("back to nothing", n.fields, undefined);

	// durations as hours or days
	same("from ISO", ["PT4H", "PT24H", "P2D", "P1DT2H", "PT30M", "P1W", "", null].map(W.fromISO),
		[{ n: 4, unit: "h" }, { n: 1, unit: "d" }, { n: 2, unit: "d" }, { n: 26, unit: "h" }, null, null, null, null]);
	same("to ISO", [W.toISO(4, "h"), W.toISO("2", "d"), W.toISO(0, "h"), W.toISO("x", "d")], ["PT4H", "P2D", "", ""]);
	const t = { key: "t", type: "approval" };
	W.setTiming(t, "after", "PT24H");
	W.setDeadlineAction(t, "escalate", ["hq"]);
	same("escalate", t.timeout, { after: "PT24H", action: "escalate", to: { roles: ["hq"] } });
	W.setDeadlineAction(t, "approve");
	same("approve", t.timeout, { after: "PT24H", action: "approve" });
	W.setTiming(t, "after", "");
	same("no deadline, no action", t.timeout, undefined);

	same("path", [...W.walkPath([{ node: "a" }, { node: "p", parallel: [[{ node: "b" }], [{ node: "c" }]] }])], ["a", "p", "b", "c"]);
	return fails;
})()`

// TestBrowserDesignerFlowModel runs flow_model.js in Chromium on the
// workflows of both templates and the test apps: every node is found
// where the walk puts it and problems' pointers land on it; a node taken
// out and put back, or moved up and down, gives the same workflow; an
// insertion anywhere is one JSON Patch add; and branches, otherwise,
// moves, assignees, the field grid and durations behave.
func TestBrowserDesignerFlowModel(t *testing.T) {
	fails, console := runModuleChecks(t, flowModelChecks)
	for _, f := range fails {
		t.Error(f)
	}
	checkConsole(t, console)
}

// runModuleChecks runs checks (a script answering the list of what
// failed) in Chromium on a page of the product, with window.bundles
// holding both templates and the test apps; it returns what failed and
// the browser console.
func runModuleChecks(t *testing.T, checks string) (fails, console []string) {
	ctx, msgs := chrome(t, chromeOpts{})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	bundles := map[string]json.RawMessage{}
	for _, name := range templates.Names() {
		b, err := templates.Get(name)
		must(t, "template "+name, err)
		bundles[name] = b
	}
	for _, f := range []string{"shop.json", "visit.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		must(t, f, err)
		bundles[f] = b
	}
	js, err := json.Marshal(bundles)
	must(t, "bundles", err)
	step(t, ctx, "page",
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.Evaluate[chromedp.Void]("window.bundles = "+string(js)),
	)
	return run(t, ctx, "checks", chromedp.Evaluate[[]string](checks, chromedp.EvalAwaitPromise)), msgs()
}
