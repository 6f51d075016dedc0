package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// KindKeysJob is the doc kind of a re-encryption job's progress.
const KindKeysJob = "keys_job"

// RotateMaster re-wraps every app's data keys under newMaster and adds a
// fresh data key per app, which new writes use from then on (old data keys
// stay, wrapped by the new master key, to read what was sealed under them
// until Reencrypt has rewritten it). It returns the apps it rotated. Other
// processes pick the new master key up when restarted with it; until then
// they keep the keys they hold in memory.
func (k *Keyring) RotateMaster(ctx context.Context, newMaster []byte) ([]string, error) {
	if len(newMaster) != MasterKeySize {
		return nil, fmt.Errorf("rotate: master key must be %d bytes", MasterKeySize)
	}
	docs, err := k.store.FindDocs(ctx, DocQuery{Kind: KindKeyring})
	if err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	now := k.now()
	fp := Fingerprint(newMaster)
	var apps []string
	var writes []DocWrite
	for _, d := range docs {
		var kd keyringDoc
		if err := json.Unmarshal(d.Value, &kd); err != nil {
			return nil, fmt.Errorf("rotate: keyring %s: %w", d.ID, err)
		}
		m, err := k.masterFor(kd.Master)
		if err != nil {
			return nil, err
		}
		next := 0
		for i, wk := range kd.Keys {
			raw, err := unwrapKey(m, wk.Wrapped, dataKeyAAD(kd.App, wk.ID))
			if err != nil {
				return nil, fmt.Errorf("rotate: keyring %s key %d: %w", kd.App, wk.ID, err)
			}
			if kd.Keys[i].Wrapped, err = wrapKey(newMaster, raw, dataKeyAAD(kd.App, wk.ID)); err != nil {
				return nil, err
			}
			next = max(next, wk.ID)
		}
		next++
		fresh, err := randomKey()
		if err != nil {
			return nil, err
		}
		w, err := wrapKey(newMaster, fresh, dataKeyAAD(kd.App, next))
		if err != nil {
			return nil, err
		}
		kd.Keys = append(kd.Keys, wrappedKey{ID: next, Wrapped: w, Created: now})
		ik, err := unwrapKey(m, kd.Index, indexKeyAAD(kd.App))
		if err != nil {
			return nil, fmt.Errorf("rotate: keyring %s index key: %w", kd.App, err)
		}
		if kd.Index, err = wrapKey(newMaster, ik, indexKeyAAD(kd.App)); err != nil {
			return nil, err
		}
		kd.Master, kd.Current, kd.Updated = fp, next, now
		writes = append(writes, DocWrite{Doc: Doc{Kind: KindKeyring, ID: d.ID, Value: MustJSON(kd)}, ExpectVersion: d.Version})
		apps = append(apps, kd.App)
	}
	ch := &Change{Docs: writes, Audit: []*AuditEvent{{Time: now, Actor: SystemActor, Action: "keys.rotate", Object: fp, Result: ResultOK,
		Detail: MustJSON(map[string]any{"apps": apps, "master": fp})}}}
	if _, err := k.store.Apply(ctx, ch); err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	k.mu.Lock()
	k.old = append(k.old, k.master)
	k.master = newMaster
	k.apps = map[string]*appKeys{}
	k.mu.Unlock()
	return apps, nil
}

// ReencryptProgress is the state of a re-encryption job, kept as a doc of
// kind KindKeysJob so any node (and the admin UI) can show it.
type ReencryptProgress struct {
	ID        string `json:"id"`
	State     string `json:"state"` // running, done, failed
	Total     int64  `json:"total"`
	Scanned   int64  `json:"scanned"`
	Rewritten int64  `json:"rewritten"`
	// Docs counts the published bundles (their sample data) and two-factor
	// enrolments (their secrets) sealed anew under the current data keys.
	Docs     int64      `json:"docs"`
	Error    string     `json:"error,omitempty"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
}

// Reencrypt rewrites every live record holding a value sealed under an
// older data key, so it is sealed under its app's current key, and then
// the docs that hold sealed parts (see resealDocs); progress is
// saved in a KindKeysJob doc (and passed to report, if not nil) every
// batch. Revisions keep the ciphertext they were written with: their old
// data keys stay in the keyring. Records in the recycle bin are rewritten
// when restored. Run it in a goroutine; it stops when ctx is cancelled.
func Reencrypt(ctx context.Context, es *EncryptingStore, jobID string, report func(ReencryptProgress)) (ReencryptProgress, error) {
	k := es.keys
	inner := es.Store
	pr := ReencryptProgress{ID: jobID, State: "running", Started: k.now()}
	save := func() error {
		if _, err := inner.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindKeysJob, ID: jobID, Value: MustJSON(pr)}, ExpectVersion: AnyVersion}}}); err != nil {
			return err
		}
		if report != nil {
			report(pr)
		}
		return nil
	}
	fail := func(err error) (ReencryptProgress, error) {
		t := k.now()
		pr.State, pr.Error, pr.Finished = "failed", err.Error(), &t
		_ = save()
		return pr, err
	}
	apps, err := inner.FindDocs(ctx, DocQuery{Kind: KindApp})
	if err != nil {
		return fail(err)
	}
	type target struct{ app, form string }
	var targets []target
	for _, d := range apps {
		for _, fk := range formKeysOf(ctx, inner, d) {
			f, err := es.forms(ctx, d.ID, fk, 0)
			if err != nil {
				return fail(err)
			}
			if !hasSensitive(f) {
				continue
			}
			n, err := inner.CountRecords(ctx, RecordQuery{App: d.ID, Form: fk})
			if err != nil {
				return fail(err)
			}
			pr.Total += n
			targets = append(targets, target{d.ID, fk})
		}
	}
	if err := save(); err != nil {
		return pr, err
	}
	for _, tg := range targets {
		cur, err := k.CurrentKeyID(ctx, tg.app)
		if err != nil {
			return fail(err)
		}
		cursor := ""
		for {
			page, err := inner.FindRecords(ctx, RecordQuery{App: tg.app, Form: tg.form, Limit: 200, Cursor: cursor})
			if err != nil {
				return fail(err)
			}
			for _, raw := range page.Items {
				pr.Scanned++
				if !usesOtherKey(raw.Data, cur) {
					continue
				}
				plain, err := es.decryptRecord(ctx, raw)
				if err != nil {
					return fail(err)
				}
				_, err = es.Apply(ctx, &Change{Records: []RecordWrite{{Op: WriteUpdate, Record: plain, ExpectVersion: raw.Version, Actor: SystemActor, At: k.now()}}})
				if err != nil && ErrorCode(err) != ECONFLICT && ErrorCode(err) != ENOTFOUND {
					return fail(err)
				}
				if err == nil { // a conflict means someone wrote it meanwhile, under the current key
					pr.Rewritten++
				}
			}
			if err := save(); err != nil {
				return pr, err
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	if err := resealDocs(ctx, k, inner, &pr); err != nil {
		return fail(err)
	}
	if err := save(); err != nil {
		return pr, err
	}
	t := k.now()
	pr.State, pr.Finished = "done", &t
	_, err = inner.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindKeysJob, ID: jobID, Value: MustJSON(pr)}, ExpectVersion: AnyVersion}},
		Audit: []*AuditEvent{{Time: t, Actor: SystemActor, Action: "keys.reencrypt", Object: jobID, Result: ResultOK,
			Detail: MustJSON(map[string]any{"scanned": pr.Scanned, "rewritten": pr.Rewritten, "docs": pr.Docs})}}})
	if err != nil {
		return pr, err
	}
	if report != nil {
		report(pr)
	}
	return pr, nil
}

// FindReencryptProgress reads a re-encryption job's progress.
func FindReencryptProgress(ctx context.Context, st Store, jobID string) (*ReencryptProgress, error) {
	d, err := st.FindDoc(ctx, KindKeysJob, jobID)
	if err != nil {
		return nil, err
	}
	var pr ReencryptProgress
	if err := json.Unmarshal(d.Value, &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// formKeysOf lists the form keys of an app doc's current bundle.
func formKeysOf(ctx context.Context, st Store, appd *Doc) []string {
	var a appDoc
	if json.Unmarshal(appd.Value, &a) != nil {
		return nil
	}
	d, err := st.FindDoc(ctx, KindAppVersion, appVersionID(a.Key, a.Version))
	if err != nil {
		return nil
	}
	var vd appVersionDoc
	if json.Unmarshal(d.Value, &vd) != nil {
		return nil
	}
	var b struct {
		Forms []struct {
			Key string `json:"x-key"`
		} `json:"forms"`
	}
	if json.Unmarshal([]byte(vd.Bundle), &b) != nil {
		return nil
	}
	var out []string
	for _, f := range b.Forms {
		out = append(out, f.Key)
	}
	slices.Sort(out)
	return out
}

// usesOtherKey reports whether stored data holds a ciphertext under a key other than cur.
func usesOtherKey(data map[string]any, cur int) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return IsCiphertext(x) && cipherKeyID(x) != cur
		case map[string]any:
			for _, vv := range x {
				if walk(vv) {
					return true
				}
			}
		case []any:
			for _, vv := range x {
				if walk(vv) {
					return true
				}
			}
		}
		return false
	}
	return walk(map[string]any(data))
}

// resealDocs seals anew, under the current data keys, what docs hold
// sealed under an older one — the sample data of published bundles and
// of the designer's drafts (app key) and users' TOTP secrets (system key)
// — and seals what an older
// version of Formwork, or a store without keys, left of them in clear.
// A doc changed meanwhile (a login rewrote an enrolment) was written
// under the current key and is left alone.
func resealDocs(ctx context.Context, k *Keyring, st Store, pr *ReencryptProgress) error {
	put := func(d *Doc, v json.RawMessage) error {
		_, err := st.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: d.Kind, ID: d.ID, Tags: d.Tags, Unique: d.Unique, Value: v}, ExpectVersion: d.Version}}})
		if err == nil {
			pr.Docs++
		}
		if ErrorCode(err) == ECONFLICT || ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return err
	}
	versions, err := st.FindDocs(ctx, DocQuery{Kind: KindAppVersion})
	if err != nil {
		return err
	}
	for _, d := range versions {
		var vd appVersionDoc
		if err := DecodeDoc(d, &vd); err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		changed, err := resealBundle(ctx, k, &vd)
		if err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		if changed {
			if err := put(d, MustJSON(vd)); err != nil {
				return fmt.Errorf("reseal: app version %s: %w", d.ID, err)
			}
		}
	}
	drafts, err := st.FindDocs(ctx, DocQuery{Kind: KindAppDraft})
	if err != nil {
		return err
	}
	for _, d := range drafts {
		v, err := resealDraft(ctx, k, d)
		if err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		if v != nil {
			if err := put(d, v); err != nil {
				return fmt.Errorf("reseal: draft %s: %w", d.ID, err)
			}
		}
	}
	enrolments, err := st.FindDocs(ctx, DocQuery{Kind: KindMFA})
	if err != nil || len(enrolments) == 0 {
		return err
	}
	cur, err := k.CurrentKeyID(ctx, SystemKeyring)
	if err != nil {
		return err
	}
	for _, d := range enrolments {
		var stored mfaDoc
		if err := DecodeDoc(d, &stored); err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		if stored.Sealed != "" && cipherKeyID(stored.Sealed) == cur || stored.Sealed == "" && stored.Secret == "" && stored.URL == "" {
			continue
		}
		m, err := openMFA(ctx, k, d.ID, d.Value)
		if err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		v, err := sealMFA(ctx, k, m)
		if err != nil {
			return fmt.Errorf("reseal: %w", err)
		}
		if err := put(d, v); err != nil {
			return fmt.Errorf("reseal: mfa %s: %w", d.ID, err)
		}
	}
	return nil
}
