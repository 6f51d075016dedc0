// JSON Patch (RFC 6902) between two versions of a bundle. The server keeps
// the order of an object's keys, and the order of a form's properties is
// the order its fields are shown in, so diff emits a patch that gives the
// same order too: keys that must move are removed and added again at the
// end (an "add" of a new key appends). Arrays keep their common head and
// tail and replace what differs between them.

// ptr escapes one reference token.
export function ptr(token) {
  return "/" + String(token).replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// equal is deep equality of JSON values, key order included.
export function equal(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i] || !equal(a[ka[i]], b[kb[i]])) return false;
    }
    return true;
  }
  return false;
}

// diff returns the operations that turn a into b.
export function diff(a, b, path = "", ops = []) {
  if (a === b) return ops;
  if (isObject(a) && isObject(b)) {
    diffObject(a, b, path, ops);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    diffArray(a, b, path, ops);
  } else if (!equal(a, b)) {
    ops.push({ op: "replace", path, value: b });
  }
  return ops;
}

function diffObject(a, b, path, ops) {
  const kb = Object.keys(b);
  const inB = new Set(kb);
  for (const k of Object.keys(a)) {
    if (!inB.has(k)) ops.push({ op: "remove", path: path + ptr(k) });
  }
  // the kept keys of a, in a's order; the longest head of b's keys that
  // they hold in the same order stays in place, the rest goes to the end
  const kept = Object.keys(a).filter((k) => inB.has(k));
  let i = 0, j = 0;
  for (; j < kb.length; j++) {
    const k = kb[j];
    if (!Object.prototype.hasOwnProperty.call(a, k)) break;
    while (i < kept.length && kept[i] !== k) i++;
    if (i === kept.length) break;
    i++;
  }
  const stay = new Set(kb.slice(0, j));
  // a key of a that is not in the head but sorts before the tail must
  // move even if its value is unchanged
  for (const k of kb.slice(0, j)) diff(a[k], b[k], path + ptr(k), ops);
  for (const k of kb.slice(j)) {
    if (Object.prototype.hasOwnProperty.call(a, k) && !stay.has(k)) {
      ops.push({ op: "remove", path: path + ptr(k) });
    }
    ops.push({ op: "add", path: path + ptr(k), value: b[k] });
  }
}

function diffArray(a, b, path, ops) {
  let head = 0;
  while (head < a.length && head < b.length && equal(a[head], b[head])) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head &&
    equal(a[a.length - 1 - tail], b[b.length - 1 - tail])) tail++;
  const am = a.length - head - tail, bm = b.length - head - tail;
  if (am === bm) {
    for (let i = head; i < head + am; i++) diff(a[i], b[i], path + "/" + i, ops);
    return;
  }
  if (am === 0 || bm === 0 || Math.max(am, bm) <= 8) {
    for (let i = head + am - 1; i >= head; i--) ops.push({ op: "remove", path: path + "/" + i });
    for (let i = head; i < head + bm; i++) ops.push({ op: "add", path: path + "/" + i, value: b[i] });
    return;
  }
  ops.push({ op: "replace", path, value: b });
}

// apply applies ops to a copy of doc (used by the tests to check diff).
export function apply(doc, ops) {
  doc = structuredClone(doc);
  const root = { "": doc };
  for (const op of ops) {
    const toks = op.path.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    let parent = root, key = "";
    for (const t of toks) { parent = parent[key]; key = t; }
    if (op.op === "remove") {
      if (Array.isArray(parent)) parent.splice(+key, 1); else delete parent[key];
    } else if (op.op === "add") {
      if (Array.isArray(parent)) parent.splice(key === "-" ? parent.length : +key, 0, structuredClone(op.value));
      else parent[key] = structuredClone(op.value);
    } else if (op.op === "replace") {
      parent[key] = structuredClone(op.value);
    } else {
      throw new Error("apply: unsupported op " + op.op);
    }
  }
  return root[""];
}
