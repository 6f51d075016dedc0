// Package webhook is the webhook plugin: it POSTs a workflow action or a
// notification as JSON to a URL, signs the body with HMAC-SHA-256 and logs
// every delivery attempt as a doc. Retries with backoff come from the
// queue: a failed attempt fails the job, which asynq retries.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"formwork/engine"
)

// Name is the plugin's name in bundles (`"plugin": {"name": "webhook", "config": {"url": …}}`).
const Name = "webhook"

// KindDelivery is the doc kind of the delivery log, one doc per message.
const KindDelivery = "webhook_delivery"

// Headers of every request.
const (
	SignatureHeader = "X-Formwork-Signature" // "sha256=" + hex HMAC-SHA-256 of the body
	DeliveryHeader  = "X-Formwork-Delivery"  // the message id: the same on every retry, for receivers to deduplicate
	EventHeader     = "X-Formwork-Event"     // action or notification
)

// Options configure the plugin.
type Options struct {
	Store  engine.Store     // where the delivery log goes; required
	Secret []byte           // the signing key shared with receivers; required
	URL    string           // the URL for notifications and for actions whose config names none
	Client *http.Client     // default: a client with a 10s timeout
	Clock  func() time.Time // default time.Now
}

// Plugin is the webhook plugin.
type Plugin struct{ o Options }

// Register adds the webhook plugin to reg and returns it.
func Register(reg *engine.PluginRegistry, o Options) *Plugin {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	p := &Plugin{o: o}
	reg.Register(p)
	return p
}

// Name implements engine.Plugin.
func (p *Plugin) Name() string { return Name }

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"` // HTTP status; 0 when no response came
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// Delivery is the log of one message's delivery.
type Delivery struct {
	ID        string    `json:"id"` // the message id
	URL       string    `json:"url"`
	Event     string    `json:"event"`
	Record    string    `json:"record,omitempty"`
	Attempts  []Attempt `json:"attempts"`
	Delivered bool      `json:"delivered"`
	Version   int64     `json:"-"`
}

// Sign returns the signature header value of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret; receivers
// call it before trusting a request.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// FindDelivery returns the delivery log of a message. ENOTFOUND when it
// was never attempted.
func FindDelivery(ctx context.Context, s engine.Store, id string) (*Delivery, error) {
	d, err := s.FindDoc(ctx, KindDelivery, id)
	if err != nil {
		return nil, err
	}
	var dl Delivery
	if err := json.Unmarshal(d.Value, &dl); err != nil {
		return nil, fmt.Errorf("decode webhook delivery %s: %w", id, err)
	}
	dl.Version = d.Version
	return &dl, nil
}

// Run implements engine.Plugin: one delivery attempt. A message already
// delivered is not sent again. A 2xx answer delivers; a 4xx answer other
// than 408 and 429 fails for good; anything else fails the attempt so the
// queue retries it with backoff.
func (p *Plugin) Run(ctx context.Context, m engine.PluginMessage) error {
	if p.o.Store == nil || len(p.o.Secret) == 0 {
		return engine.Permanent(errors.New("webhook: no store or secret configured"))
	}
	dl, err := FindDelivery(ctx, p.o.Store, m.ID)
	switch {
	case err == nil:
		if dl.Delivered {
			return nil
		}
	case engine.ErrorCode(err) == engine.ENOTFOUND:
		dl = &Delivery{ID: m.ID, Event: m.Event, Record: m.Record}
	default:
		return fmt.Errorf("webhook: read delivery log: %w", err)
	}
	target := p.o.URL
	if u, ok := m.Config["url"].(string); ok && u != "" {
		target = u
	}
	if pu, err := url.Parse(target); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return engine.Permanent(fmt.Errorf("webhook: no valid http(s) url configured (%q)", target))
	}
	dl.URL = target
	body, err := json.Marshal(m)
	if err != nil {
		return engine.Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	start := p.o.Clock()
	status, sendErr := p.send(ctx, target, m, body)
	at := Attempt{At: start.UTC(), Status: status, DurationMS: p.o.Clock().Sub(start).Milliseconds()}
	if sendErr != nil {
		at.Error = sendErr.Error()
	}
	dl.Attempts = append(dl.Attempts, at)
	dl.Delivered = sendErr == nil
	doc := engine.Doc{Kind: KindDelivery, ID: m.ID, Tags: []string{"record:" + m.Record, "delivered:" + fmt.Sprint(dl.Delivered)}, Value: mustJSON(dl), Updated: start}
	if _, err := p.o.Store.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: doc, ExpectVersion: dl.Version}}}); err != nil {
		if sendErr == nil && engine.ErrorCode(err) == engine.ECONFLICT {
			return nil // a concurrent attempt logged first; this one was delivered all the same
		}
		return errors.Join(sendErr, fmt.Errorf("webhook: write delivery log: %w", err))
	}
	if sendErr != nil && status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return engine.Permanent(sendErr)
	}
	return sendErr
}

func (p *Plugin) send(ctx context.Context, target string, m engine.PluginMessage, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(p.o.Secret, body))
	req.Header.Set(DeliveryHeader, m.ID)
	req.Header.Set(EventHeader, m.Event)
	resp, err := p.o.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: %s answered %d: %s", target, resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return resp.StatusCode, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("webhook: marshal: " + err.Error())
	}
	return b
}
