// The saver sends the designer's changes to the draft API as JSON Patch,
// one request at a time: operations made while a request is on its way
// wait and go together in the next one, with the version the previous
// answer gave (If-Match), so no change overwrites another. An app that
// has no draft yet (version 0) gets its first draft whole, by PUT.

export class Saver {
  // url is the draft's address; version the draft version the page holds.
  // bundle returns the bundle as the page holds it (for the first draft).
  constructor({ url, csrf, version, bundle, onState, onSaved, onConflict, onRefused }) {
    Object.assign(this, { url, csrf, version, bundle, onState, onSaved, onConflict, onRefused });
    this.pending = [];
    this.busy = false;
  }

  get saved() {
    return !this.busy && this.pending.length === 0;
  }

  push(ops) {
    if (!ops.length) return;
    this.pending.push(...ops);
    this.onState(false);
    this.kick();
  }

  // drop forgets what is not sent yet (after a conflict the page reloads).
  drop() {
    this.pending = [];
  }

  async kick() {
    if (this.busy || this.pending.length === 0) return;
    const ops = this.pending;
    this.pending = [];
    this.busy = true;
    const first = !this.version;
    const headers = { "Accept": "application/json", "X-CSRF-Token": this.csrf };
    if (first) {
      headers["Content-Type"] = "application/json";
    } else {
      headers["Content-Type"] = "application/json-patch+json";
      headers["If-Match"] = '"' + this.version + '"';
    }
    let r;
    try {
      r = await fetch(this.url, {
        method: first ? "PUT" : "PATCH",
        credentials: "same-origin",
        headers,
        body: JSON.stringify(first ? this.bundle() : ops),
      });
    } catch (e) {
      // offline: keep the operations and try again shortly
      this.pending = ops.concat(this.pending);
      this.busy = false;
      setTimeout(() => this.kick(), 2000);
      return;
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    this.busy = false;
    if (r.ok) {
      const v = body && body.version != null ? body.version : parseETag(r.headers.get("ETag"));
      if (v != null) this.version = v;
      this.onSaved(body || {});
    } else if (r.status === 409 || r.status === 412) {
      this.pending = [];
      this.onConflict(body);
      return;
    } else {
      this.pending = [];
      this.onRefused(body, r.status);
      return;
    }
    if (this.pending.length) this.kick();
    else this.onState(true);
  }
}

export function parseETag(tag) {
  if (!tag) return null;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(tag.trim());
  return m ? Number(m[1]) : null;
}

// fetchDraft reads the draft at url: its bundle, version and problems.
export async function fetchDraft(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || body.title || String(r.status));
  const version = body.version != null ? body.version : parseETag(r.headers.get("ETag")) || 0;
  return { bundle: body.bundle, version, problems: body.problems || [] };
}
