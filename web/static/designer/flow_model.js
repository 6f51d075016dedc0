// Pure functions over one workflow object of a bundle (FORMAT.md,
// Workflows): where its nodes are, inserting, removing and moving them,
// branches, durations and the pointers of problems. They change the
// object they are given and never touch a key they do not know, so a
// workflow the page cannot show fully keeps everything it had.
//
// A node list is named by a list id: "top" for the workflow's own nodes,
// "KEY.N" for the nodes of branch N of node KEY (node keys are unique in
// a workflow).

export const TYPES = ["approval", "cc", "condition", "parallel", "action", "end"];
export const MODES = ["any", "all", "sequence"];
export const KINDS = ["roles", "users", "unit_head", "field"];

// each walks every node of the workflow with the list id it sits in, its
// index there and its pointer relative to the workflow.
export function each(wf, fn) {
  const walk = (nodes, list, ptr) => {
    (nodes || []).forEach((n, i) => {
      if (!n || typeof n !== "object") return;
      const p = ptr + "/" + i;
      fn(n, list, i, p);
      (n.branches || []).forEach((b, bi) => {
        if (b && typeof b === "object") walk(b.nodes, n.key + "." + bi, p + "/branches/" + bi + "/nodes");
      });
    });
  };
  walk(wf.nodes, "top", "/nodes");
}

// find returns where the node with key is: {node, list, index, pointer},
// or null.
export function find(wf, key) {
  let out = null;
  each(wf, (n, list, index, pointer) => {
    if (!out && n.key === key) out = { node: n, list, index, pointer };
  });
  return out;
}

// list returns the array of list id (made when missing and make is set),
// or null.
export function list(wf, id, make) {
  if (id === "top") {
    if (!Array.isArray(wf.nodes)) {
      if (!make) return null;
      wf.nodes = [];
    }
    return wf.nodes;
  }
  const dot = id.lastIndexOf(".");
  const f = find(wf, id.slice(0, dot));
  const b = f && (f.node.branches || [])[+id.slice(dot + 1)];
  if (!b) return null;
  if (!Array.isArray(b.nodes)) {
    if (!make) return null;
    b.nodes = [];
  }
  return b.nodes;
}

// keys returns every node key of the workflow.
export function keys(wf) {
  const out = [];
  each(wf, (n) => out.push(n.key));
  return out;
}

// uniqueKey returns base, or base_2, base_3 … when taken in wf.
export function uniqueKey(wf, base) {
  const taken = new Set(keys(wf));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(base + "_" + n)) return base + "_" + n;
}

// newNode makes a node of type with key; names holds the node's name and
// the names of the branches it starts with ({zh, en} each).
export function newNode(type, key, names) {
  const n = { key, type, name: { ...names.name } };
  switch (type) {
    case "approval":
      n.assignees = { unit_head: "submitter" };
      n.mode = "any";
      break;
    case "cc":
      n.to = { unit_head: "submitter" };
      break;
    case "condition":
      n.branches = [{ name: { ...names.branch1 }, nodes: [] }, { name: { ...names.otherwise }, else: true, nodes: [] }];
      break;
    case "parallel":
      n.branches = [{ name: { ...names.branch1 }, nodes: [] }, { name: { ...names.branch2 }, nodes: [] }];
      break;
    case "action":
      n.set = {};
      break;
  }
  return n;
}

// insert puts node at index of list id (at its end when index is past
// it); false when there is no such list.
export function insert(wf, id, index, node) {
  const l = list(wf, id, true);
  if (!l) return false;
  l.splice(Math.max(0, Math.min(index, l.length)), 0, node);
  return true;
}

// remove takes the node with key out of the workflow, with whatever its
// branches hold, and returns it (null when there is none).
export function remove(wf, key) {
  const f = find(wf, key);
  if (!f) return null;
  list(wf, f.list).splice(f.index, 1);
  return f.node;
}

// move puts the node with key at index of list id, index counted in the
// list without the node; a node cannot go into its own branches.
export function move(wf, key, id, index) {
  const f = find(wf, key);
  if (!f || id === key || id.startsWith(key + ".")) return false;
  let inside = false;
  each({ nodes: [f.node] }, (n) => { if (id.startsWith(n.key + ".")) inside = true; });
  if (inside || !list(wf, id, false) && id !== "top") return false;
  list(wf, f.list).splice(f.index, 1);
  return insert(wf, id, index, f.node);
}

// shift moves the node with key by one place up (-1) or down (+1) in its
// list; false at either end.
export function shift(wf, key, by) {
  const f = find(wf, key);
  if (!f) return false;
  const l = list(wf, f.list);
  const to = f.index + by;
  if (to < 0 || to >= l.length) return false;
  l.splice(f.index, 1);
  l.splice(to, 0, f.node);
  return true;
}

// addBranch adds branch to the condition or parallel node with key:
// before a condition's "otherwise" branch, which stays last. It returns
// the new branch's index, or -1.
export function addBranch(wf, key, branch) {
  const f = find(wf, key);
  if (!f || !Array.isArray(f.node.branches)) return -1;
  const bs = f.node.branches;
  let at = bs.length;
  if (f.node.type === "condition" && bs.length && bs[bs.length - 1] && bs[bs.length - 1].else) at = bs.length - 1;
  bs.splice(at, 0, branch);
  return at;
}

// removeBranch removes branch bi of the node with key, with its nodes.
// A node keeps at least one branch: removing the last one is refused.
export function removeBranch(wf, key, bi) {
  const f = find(wf, key);
  const bs = f && f.node.branches;
  if (!Array.isArray(bs) || bs.length <= 1 || bi < 0 || bi >= bs.length) return false;
  bs.splice(bi, 1);
  return true;
}

// setOtherwise makes branch bi of a condition its "otherwise" branch (its
// condition dropped, moved to the end) or, with on false, an ordinary one.
export function setOtherwise(wf, key, bi, on) {
  const f = find(wf, key);
  const bs = f && f.node.branches;
  if (!Array.isArray(bs) || !bs[bi]) return false;
  const b = bs[bi];
  if (on) {
    bs.forEach((o) => { if (o !== b && o.else) delete o.else; });
    delete b.when;
    b.else = true;
    bs.splice(bi, 1);
    bs.push(b);
  } else {
    delete b.else;
  }
  return true;
}

// kind is how assignees are given: roles, users, unit_head, field (the
// first key present, even while still empty) or "".
export function kind(a) {
  if (!a || typeof a !== "object") return "";
  return KINDS.find((k) => a[k] != null) || "";
}

// withKind returns the assignees of kind k: the old ones when they are of
// that kind already, else a fresh start (first holds a role or field to
// begin with).
export function withKind(a, k, first) {
  if (kind(a) === k) return a;
  switch (k) {
    case "roles": return { roles: first ? [first] : [] };
    case "users": return { users: [] };
    case "unit_head": return { unit_head: "submitter" };
    case "field": return { field: first || "" };
  }
  return {};
}

// toggleRole adds role r to the assignees' roles or takes it out.
export function toggleRole(a, r, on) {
  const rs = Array.isArray(a.roles) ? a.roles : [];
  const i = rs.indexOf(r);
  if (on && i < 0) rs.push(r);
  if (!on && i >= 0) rs.splice(i, 1);
  a.roles = rs;
  return a;
}

// fieldPerm is what a node grants on field key: its own entry, else "*",
// else read (engine/workflow nodeFieldPerm).
export function fieldPerm(node, key) {
  const f = node.fields || {};
  if (Object.prototype.hasOwnProperty.call(f, key)) return f[key];
  if (key !== "*" && Object.prototype.hasOwnProperty.call(f, "*")) return f["*"];
  return "read";
}

// setFieldPerm sets the node's permission on field key ("*" the
// default): an entry equal to what the field would get anyway is not
// written, and an empty grid is dropped.
export function setFieldPerm(node, key, perm) {
  const f = { ...(node.fields || {}) };
  if (key === "*") {
    if (perm === "read") delete f["*"]; else f["*"] = perm;
  } else {
    delete f[key];
    if (fieldPerm({ fields: f }, key) !== perm) f[key] = perm;
  }
  if (Object.keys(f).length) node.fields = f; else delete node.fields;
  return node;
}

const ISO = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/;

// fromISO reads a duration as {n, unit} with unit "d" or "h"; null for
// one that is not whole days or hours (kept as it is).
export function fromISO(s) {
  const m = typeof s === "string" ? ISO.exec(s) : null;
  if (!m || s === "P" || s.endsWith("T")) return null;
  const mins = (+(m[1] || 0)) * 1440 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
  if (!mins) return null;
  if (mins % 1440 === 0) return { n: mins / 1440, unit: "d" };
  if (mins % 60 === 0) return { n: mins / 60, unit: "h" };
  return null;
}

// toISO writes n hours ("h") or days ("d") as ISO 8601; "" for none.
export function toISO(n, unit) {
  n = Math.floor(Number(n));
  if (!(n > 0)) return "";
  return unit === "d" ? "P" + n + "D" : "PT" + n + "H";
}

// setTiming sets part ("remind" or "after") of the node's timeout to the
// duration iso ("" drops it); an empty timeout is dropped.
export function setTiming(node, part, iso) {
  const t = { ...(node.timeout || {}) };
  if (iso) t[part] = iso; else delete t[part];
  if (part === "after" && !iso) { delete t.action; delete t.to; }
  if (Object.keys(t).length) node.timeout = t; else delete node.timeout;
  return node;
}

// setDeadlineAction sets what happens when the deadline passes:
// "escalate" (to the roles given), "approve", "reject" or "" (nothing).
export function setDeadlineAction(node, action, roles) {
  const t = { ...(node.timeout || {}) };
  if (!action) {
    delete t.action;
    delete t.to;
  } else {
    t.action = action;
    if (action === "escalate") t.to = t.to && kind(t.to) === "roles" ? t.to : { roles: roles || [] };
    else delete t.to;
  }
  if (Object.keys(t).length) node.timeout = t; else delete node.timeout;
  return node;
}

// place returns where a problem's pointer (into the bundle) lands in
// workflow wi: {node, branch} — the innermost node it is under (its key,
// "" for the workflow itself) and the branch index when it points into a
// branch's own settings; null when it is not in this workflow.
export function place(wf, wi, pointer) {
  const at = "/workflows/" + wi;
  if (pointer !== at && !pointer.startsWith(at + "/")) return null;
  const rest = pointer.slice(at.length);
  let out = { node: "", branch: -1 };
  each(wf, (n, _l, _i, p) => {
    if (rest === p || rest.startsWith(p + "/")) {
      out = { node: n.key, branch: -1 };
      const m = /^\/branches\/(\d+)(?:$|\/(?!nodes\/))/.exec(rest.slice(p.length));
      if (m) out.branch = +m[1];
    }
  });
  return out;
}

// walkPath returns the node keys a simulation's steps pass, parallel
// branches included.
export function walkPath(steps, out = new Set()) {
  for (const s of steps || []) {
    out.add(s.node);
    for (const p of s.parallel || []) walkPath(p, out);
  }
  return out;
}
