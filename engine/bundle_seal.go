package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// sampleStandIn takes the place of a sealed sample_data value in a stored
// bundle, so what is left is still a bundle that loads (without samples).
const sampleStandIn = "{}"

// sealedSpan is one sample_data value cut out of a stored bundle.
type sealedSpan struct {
	At   int    `json:"at"`   // byte offset in the stored bundle of the stand-in "{}"
	Data string `json:"data"` // the value's bytes, sealed under the app's data key (see Keyring.Seal)
}

// sampleSpans returns the byte ranges of the values of a bundle's
// top-level "sample_data" keys (several, if the document repeats the key).
func sampleSpans(data []byte) ([][2]int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("bundle: not a JSON object")
	}
	var spans [][2]int
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		if t != "sample_data" {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < 0 || !bytes.Equal(data[start:end], raw) {
			return nil, fmt.Errorf("bundle: cannot locate sample_data")
		}
		spans = append(spans, [2]int{start, end})
	}
	return spans, nil
}

func sampleAAD(version, i int) string {
	return "app_version/" + strconv.Itoa(version) + "/sample_data/" + strconv.Itoa(i)
}

// sealBundle stores data, a bundle as imported, in vd: with a keyring its
// sample_data values are sealed under the app's data key and cut out,
// "{}" standing in for each, so no sample value (a sensitive field's
// among them) is at rest in clear while the definitions stay readable to
// whoever reads forms from the store. Without a keyring it is kept as is.
func sealBundle(ctx context.Context, k *Keyring, vd *appVersionDoc, data []byte) error {
	id := appVersionID(vd.Key, vd.Version)
	sb, err := sealSamples(ctx, k, vd.Key, func(i int) string { return sampleAAD(vd.Version, i) }, data)
	if err != nil {
		return fmt.Errorf("app version %s: seal sample data: %w", id, err)
	}
	vd.Bundle, vd.Sealed = sb.Bundle, sb.Sealed
	return nil
}

// openBundle returns the bundle of vd exactly as it was imported.
func openBundle(ctx context.Context, k *Keyring, vd *appVersionDoc) ([]byte, error) {
	out, err := openSamples(ctx, k, vd.Key, func(i int) string { return sampleAAD(vd.Version, i) }, SealedBundle{Bundle: vd.Bundle, Sealed: vd.Sealed})
	if err != nil {
		return nil, fmt.Errorf("app version %s: %w", appVersionID(vd.Key, vd.Version), err)
	}
	return out, nil
}

// SealedBundle is a bundle as kept at rest: with a keyring, its
// sample_data values are sealed under the app's data key and cut out of
// Bundle, "{}" standing in for each (see sealBundle).
type SealedBundle struct {
	Bundle string       `json:"bundle"`
	Sealed []sealedSpan `json:"sealed,omitempty"`
}

// KindAppDraft is the doc kind the designer keeps an app's draft in (doc
// ID = app key): a JSON object with the app's key under "app" and a
// SealedBundle's fields, which re-encryption seals anew (resealDrafts);
// the designer owns its other fields.
const KindAppDraft = "app_draft"

// draftAAD binds a draft's sealed sample data to the app's draft.
func draftAAD(i int) string { return "app_draft/sample_data/" + strconv.Itoa(i) }

// SealDraft is how the designer keeps a draft bundle at rest: its sample
// data sealed under the app's data key, as a published version's is, so a
// draft made from a template holds no customer value in clear. Without a
// keyring (a store that encrypts nothing) it is kept as is.
func (s *Service) SealDraft(ctx context.Context, app string, data []byte) (SealedBundle, error) {
	sb, err := sealSamples(ctx, s.keys, app, draftAAD, data)
	if err != nil {
		return SealedBundle{}, fmt.Errorf("draft of %s: seal sample data: %w", app, err)
	}
	return sb, nil
}

// OpenDraft returns the draft bundle SealDraft kept, exactly as saved.
func (s *Service) OpenDraft(ctx context.Context, app string, sb SealedBundle) ([]byte, error) {
	out, err := openSamples(ctx, s.keys, app, draftAAD, sb)
	if err != nil {
		return nil, fmt.Errorf("draft of %s: %w", app, err)
	}
	return out, nil
}

// sealSamples cuts each top-level sample_data value out of data and seals
// it under app's data key with additional data aad(i). It fails, sealing
// nothing, when data is not a JSON object.
func sealSamples(ctx context.Context, k *Keyring, app string, aad func(int) string, data []byte) (SealedBundle, error) {
	if k == nil {
		return SealedBundle{Bundle: string(data)}, nil
	}
	spans, err := sampleSpans(data)
	if err != nil {
		return SealedBundle{}, err
	}
	var sb SealedBundle
	out := make([]byte, 0, len(data))
	prev := 0
	for i, sp := range spans {
		out = append(out, data[prev:sp[0]]...)
		ct, err := k.Seal(ctx, app, aad(i), data[sp[0]:sp[1]])
		if err != nil {
			return SealedBundle{}, err
		}
		sb.Sealed = append(sb.Sealed, sealedSpan{At: len(out), Data: ct})
		out = append(out, sampleStandIn...)
		prev = sp[1]
	}
	sb.Bundle = string(append(out, data[prev:]...))
	return sb, nil
}

// openSamples puts the sealed sample data of sb back in place.
func openSamples(ctx context.Context, k *Keyring, app string, aad func(int) string, sb SealedBundle) ([]byte, error) {
	if len(sb.Sealed) == 0 {
		return []byte(sb.Bundle), nil
	}
	if k == nil {
		return nil, fmt.Errorf("its sample data is sealed and this store holds no keys")
	}
	out := make([]byte, 0, len(sb.Bundle))
	prev := 0
	for i, sp := range sb.Sealed {
		if sp.At < prev || sp.At+len(sampleStandIn) > len(sb.Bundle) || sb.Bundle[sp.At:sp.At+len(sampleStandIn)] != sampleStandIn {
			return nil, fmt.Errorf("sealed sample data %d does not fit the stored bundle", i)
		}
		plain, err := k.Open(ctx, app, aad(i), sp.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, sb.Bundle[prev:sp.At]...)
		out = append(out, plain...)
		prev = sp.At + len(sampleStandIn)
	}
	return append(out, sb.Bundle[prev:]...), nil
}

// resealBundle seals vd again under the app's current data key when a part
// of it is sealed under an older one, or when it still holds sample data
// in clear (stored before sealing, or without keys); it reports whether vd
// changed.
func resealBundle(ctx context.Context, k *Keyring, vd *appVersionDoc) (bool, error) {
	cur, err := k.CurrentKeyID(ctx, vd.Key)
	if err != nil {
		return false, err
	}
	stale := false
	for _, sp := range vd.Sealed {
		stale = stale || cipherKeyID(sp.Data) != cur
	}
	if len(vd.Sealed) == 0 {
		spans, err := sampleSpans([]byte(vd.Bundle))
		if err != nil {
			return false, err
		}
		stale = len(spans) > 0
	}
	if !stale {
		return false, nil
	}
	full, err := openBundle(ctx, k, vd)
	if err != nil {
		return false, err
	}
	return true, sealBundle(ctx, k, vd, full)
}

// resealDraft seals a stored draft's sample data again under its app's
// current data key when a part is sealed under an older one; it returns
// the doc's new value, or nil when it is current. The draft's other
// fields are kept as they are.
func resealDraft(ctx context.Context, k *Keyring, d *Doc) (json.RawMessage, error) {
	var head struct {
		App string `json:"app"`
		SealedBundle
	}
	if err := DecodeDoc(d, &head); err != nil {
		return nil, err
	}
	if len(head.Sealed) == 0 {
		return nil, nil
	}
	cur, err := k.CurrentKeyID(ctx, head.App)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(head.Sealed, func(sp sealedSpan) bool { return cipherKeyID(sp.Data) != cur }) {
		return nil, nil
	}
	full, err := openSamples(ctx, k, head.App, draftAAD, head.SealedBundle)
	if err != nil {
		return nil, fmt.Errorf("draft of %s: %w", head.App, err)
	}
	sb, err := sealSamples(ctx, k, head.App, draftAAD, full)
	if err != nil {
		return nil, fmt.Errorf("draft of %s: %w", head.App, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(d.Value, &all); err != nil {
		return nil, err
	}
	all["bundle"], all["sealed"] = MustJSON(sb.Bundle), MustJSON(sb.Sealed)
	return MustJSON(all), nil
}

// readAppVersion reads a published version's doc.
func (s *Service) readAppVersion(ctx context.Context, app string, version int) (*appVersionDoc, error) {
	id := appVersionID(app, version)
	d, err := s.store.FindDoc(ctx, KindAppVersion, id)
	if err != nil {
		return nil, err
	}
	var vd appVersionDoc
	if err := DecodeDoc(d, &vd); err != nil {
		return nil, err
	}
	return &vd, nil
}
