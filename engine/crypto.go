package engine

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KindKeyring is the doc kind of an app's wrapped data keys (one doc per app).
const KindKeyring = "keyring"

// SystemKeyring is the keyring id of Formwork's own data key, which seals
// what belongs to no app (users' TOTP secrets). App keys start with a
// letter, so no app can take it; rotation re-wraps it like an app's.
const SystemKeyring = "_system"

// MasterKeySize is the length of the master key and of every data key.
const MasterKeySize = 32

// cipherPrefix starts every encrypted value at rest: "fwenc1:<key id>:<base64 nonce||ciphertext>".
const cipherPrefix = "fwenc1:"

// keyringDoc is an app's keys as stored: each data key and the blind-index
// key wrapped (AES-256-GCM) by the master key whose fingerprint is Master.
type keyringDoc struct {
	App     string       `json:"app"`
	Master  string       `json:"master"` // fingerprint of the wrapping master key
	Current int          `json:"current"`
	Keys    []wrappedKey `json:"keys"`
	Index   string       `json:"index"` // wrapped blind-index key
	Updated time.Time    `json:"updated"`
}

type wrappedKey struct {
	ID      int       `json:"id"`
	Wrapped string    `json:"wrapped"`
	Created time.Time `json:"created"`
}

// appKeys are an app's unwrapped keys held in memory.
type appKeys struct {
	current int
	data    map[int]cipher.AEAD
	index   []byte
}

// Keyring holds the master key and hands out per-app data keys: AES-256-GCM
// keys that encrypt sensitive field values, and an HMAC-SHA-256 key for the
// blind index that makes equality lookups on them possible. Data keys are
// stored wrapped by the master key as docs of kind KindKeyring; the master
// key itself never reaches the store.
type Keyring struct {
	store  Store
	master []byte
	old    [][]byte // earlier master keys still accepted for unwrapping (rotation in progress)
	now    func() time.Time

	mu   sync.Mutex
	apps map[string]*appKeys
}

// NewKeyring returns a keyring over store with the master key; older master
// keys, if given, are tried when a keyring doc was wrapped by one of them.
func NewKeyring(store Store, master []byte, clock func() time.Time, older ...[]byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("keyring: master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	if clock == nil {
		clock = time.Now
	}
	return &Keyring{store: store, master: master, old: older, now: clock, apps: map[string]*appKeys{}}, nil
}

// Fingerprint names a master key without revealing it.
func Fingerprint(key []byte) string {
	h := sha256.Sum256(append([]byte("formwork master key fingerprint\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// MasterFingerprint returns the fingerprint of the current master key.
func (k *Keyring) MasterFingerprint() string { return Fingerprint(k.master) }

func wrapKey(master, key []byte, aad string) (string, error) {
	a, err := newAEAD(master)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("wrap key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(a.Seal(nonce, nonce, key, []byte(aad))), nil
}

func unwrapKey(master []byte, wrapped, aad string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return nil, err
	}
	a, err := newAEAD(master)
	if err != nil {
		return nil, err
	}
	if len(raw) < a.NonceSize() {
		return nil, fmt.Errorf("wrapped key too short")
	}
	return a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(aad))
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func randomKey() ([]byte, error) {
	k := make([]byte, MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func dataKeyAAD(app string, id int) string {
	return "formwork data key " + app + " " + strconv.Itoa(id)
}
func indexKeyAAD(app string) string { return "formwork index key " + app }

// masterFor returns the known master key with the fingerprint.
func (k *Keyring) masterFor(fp string) ([]byte, error) {
	for _, m := range append([][]byte{k.master}, k.old...) {
		if Fingerprint(m) == fp {
			return m, nil
		}
	}
	return nil, fmt.Errorf("keyring: the data keys are wrapped by master key %s, which this process does not hold (set FORMWORK_MASTER_KEY or restore DATA/master.key)", fp)
}

// unwrapDoc turns a stored keyring doc into keys in memory.
func (k *Keyring) unwrapDoc(kd *keyringDoc) (*appKeys, error) {
	m, err := k.masterFor(kd.Master)
	if err != nil {
		return nil, err
	}
	ak := &appKeys{current: kd.Current, data: map[int]cipher.AEAD{}}
	for _, wk := range kd.Keys {
		raw, err := unwrapKey(m, wk.Wrapped, dataKeyAAD(kd.App, wk.ID))
		if err != nil {
			return nil, fmt.Errorf("keyring %s: unwrap data key %d: %w", kd.App, wk.ID, err)
		}
		a, err := newAEAD(raw)
		if err != nil {
			return nil, err
		}
		ak.data[wk.ID] = a
	}
	if ak.index, err = unwrapKey(m, kd.Index, indexKeyAAD(kd.App)); err != nil {
		return nil, fmt.Errorf("keyring %s: unwrap index key: %w", kd.App, err)
	}
	return ak, nil
}

func (k *Keyring) readDoc(ctx context.Context, app string) (*keyringDoc, int64, error) {
	d, err := k.store.FindDoc(ctx, KindKeyring, app)
	if err != nil {
		return nil, 0, err
	}
	var kd keyringDoc
	if err := json.Unmarshal(d.Value, &kd); err != nil {
		return nil, 0, fmt.Errorf("keyring %s: %w", app, err)
	}
	return &kd, d.Version, nil
}

// keys returns an app's keys, creating them on first use. reload forces a
// fresh read (a key id this process has not seen yet was found at rest).
func (k *Keyring) keys(ctx context.Context, app string, reload bool) (*appKeys, error) {
	k.mu.Lock()
	ak := k.apps[app]
	k.mu.Unlock()
	if ak != nil && !reload {
		return ak, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		kd, _, err := k.readDoc(ctx, app)
		if err == nil {
			ak, err := k.unwrapDoc(kd)
			if err != nil {
				return nil, err
			}
			k.mu.Lock()
			k.apps[app] = ak
			k.mu.Unlock()
			return ak, nil
		}
		if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		// first use: create the app's keys; a concurrent creator wins the race (ECONFLICT) and we re-read
		kd, err = k.newDoc(app)
		if err != nil {
			return nil, err
		}
		_, err = k.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindKeyring, ID: app, Value: MustJSON(kd)}}},
			Audit: []*AuditEvent{{Time: k.now(), Actor: SystemActor, Action: "keys.create", App: app, Object: app, Result: ResultOK}}})
		if err != nil && ErrorCode(err) != ECONFLICT {
			return nil, fmt.Errorf("keyring %s: create: %w", app, err)
		}
	}
	return nil, fmt.Errorf("keyring %s: could not create or read the keys", app)
}

func (k *Keyring) newDoc(app string) (*keyringDoc, error) {
	dk, err := randomKey()
	if err != nil {
		return nil, err
	}
	ik, err := randomKey()
	if err != nil {
		return nil, err
	}
	wd, err := wrapKey(k.master, dk, dataKeyAAD(app, 1))
	if err != nil {
		return nil, err
	}
	wi, err := wrapKey(k.master, ik, indexKeyAAD(app))
	if err != nil {
		return nil, err
	}
	now := k.now()
	return &keyringDoc{App: app, Master: k.MasterFingerprint(), Current: 1, Keys: []wrappedKey{{ID: 1, Wrapped: wd, Created: now}}, Index: wi, Updated: now}, nil
}

// Encrypt seals a JSON value of an app's field under the app's current data
// key. aad binds the ciphertext to where it belongs (form and field).
func (k *Keyring) Encrypt(ctx context.Context, app, aad string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	return k.Seal(ctx, app, aad, plain)
}

// Seal encrypts bytes under the app's current data key (the same format
// as Encrypt, without the JSON step, so the bytes come back exactly).
func (k *Keyring) Seal(ctx context.Context, app, aad string, plain []byte) (string, error) {
	ak, err := k.keys(ctx, app, false)
	if err != nil {
		return "", err
	}
	a := ak.data[ak.current]
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	sealed := a.Seal(nonce, nonce, plain, []byte(app+"\x00"+aad))
	return cipherPrefix + strconv.Itoa(ak.current) + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// IsCiphertext reports whether a stored value is an encrypted value.
func IsCiphertext(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, cipherPrefix)
}

// cipherKeyID returns the data key id of a ciphertext, or 0.
func cipherKeyID(s string) int {
	rest, ok := strings.CutPrefix(s, cipherPrefix)
	if !ok {
		return 0
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(id)
	return n
}

// Decrypt opens a value sealed by Encrypt with the same app and aad.
func (k *Keyring) Decrypt(ctx context.Context, app, aad, s string) (any, error) {
	plain, err := k.Open(ctx, app, aad, s)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(plain, &v); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return v, nil
}

// Open returns the bytes sealed by Seal (or Encrypt) with the same app and aad.
func (k *Keyring) Open(ctx context.Context, app, aad, s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, cipherPrefix)
	if !ok {
		return nil, fmt.Errorf("decrypt: not a ciphertext")
	}
	idText, body, ok := strings.Cut(rest, ":")
	id, err := strconv.Atoi(idText)
	if !ok || err != nil {
		return nil, fmt.Errorf("decrypt: malformed ciphertext")
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decrypt: malformed ciphertext: %w", err)
	}
	ak, err := k.keys(ctx, app, false)
	if err != nil {
		return nil, err
	}
	a := ak.data[id]
	if a == nil {
		if ak, err = k.keys(ctx, app, true); err != nil {
			return nil, err
		}
		if a = ak.data[id]; a == nil {
			return nil, fmt.Errorf("decrypt: app %s has no data key %d", app, id)
		}
	}
	if len(raw) < a.NonceSize() {
		return nil, fmt.Errorf("decrypt: ciphertext too short")
	}
	plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(app+"\x00"+aad))
	if err != nil {
		return nil, fmt.Errorf("decrypt %s/%s: %w", app, aad, err)
	}
	return plain, nil
}

// BlindIndex returns the keyed blind index of a field value: HMAC-SHA-256
// under the app's index key over the form, field and canonical JSON of the
// value, truncated to 128 bits. Equal values give equal indexes; nothing
// else about the value can be learnt without the key.
func (k *Keyring) BlindIndex(ctx context.Context, app, form, field string, v any) (string, error) {
	ak, err := k.keys(ctx, app, false)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(normJSON(v))
	if err != nil {
		return "", fmt.Errorf("blind index: %w", err)
	}
	m := hmac.New(sha256.New, ak.index)
	m.Write([]byte(form + "\x00" + field + "\x00"))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), nil
}

// CurrentKeyID returns the id of the app's current data key.
func (k *Keyring) CurrentKeyID(ctx context.Context, app string) (int, error) {
	ak, err := k.keys(ctx, app, false)
	if err != nil {
		return 0, err
	}
	return ak.current, nil
}
