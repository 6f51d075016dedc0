package engine

import (
	"context"
	"errors"
	"sort"
	"sync"
)

// Plugin is a channel or action extension: a webhook, an email sender …
// Packages under plugins/ implement it and add themselves to a
// PluginRegistry with their Register function.
//
// Run is called by the background worker, at least once per message: the
// same message (same ID) can arrive again after it succeeded, so a plugin
// uses ID to deduplicate what it can (receivers of a webhook see it as the
// delivery id). Returning an error has the job retried with backoff.
type Plugin interface {
	Name() string
	Run(ctx context.Context, m PluginMessage) error
}

// Plugin message events.
const (
	EventNotification = "notification" // a notification for users (channel plugins)
	EventAction       = "action"       // an action node's plugin call
)

// Recipient is a user a message is for.
type Recipient struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Lang  string `json:"lang,omitempty"` // the language the user reads: "zh", "en", or "" when unknown
}

// PluginMessage is what a plugin receives: a notification for users or an
// action node's call with its config and the record.
type PluginMessage struct {
	ID       string         `json:"id"`    // unique per message, stable across redeliveries
	Event    string         `json:"event"` // EventNotification or EventAction
	App      string         `json:"app,omitempty"`
	Form     string         `json:"form,omitempty"`
	Record   string         `json:"record,omitempty"`
	Workflow string         `json:"workflow,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Node     string         `json:"node,omitempty"`
	Kind     string         `json:"kind,omitempty"` // notification kind
	Title    Text           `json:"title"`
	To       []Recipient    `json:"to,omitempty"`
	Config   map[string]any `json:"config,omitempty"`
	Data     map[string]any `json:"data,omitempty"` // the record's data (actions only)
	Status   string         `json:"status,omitempty"`
}

// PluginRegistry holds plugins by name; safe for concurrent use.
type PluginRegistry struct {
	mu sync.RWMutex
	m  map[string]Plugin
}

// NewPluginRegistry returns an empty registry.
func NewPluginRegistry() *PluginRegistry { return &PluginRegistry{m: map[string]Plugin{}} }

// Register adds p under p.Name(), replacing a plugin of the same name.
func (r *PluginRegistry) Register(p Plugin) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[p.Name()] = p
}

// Get returns the plugin named name, or nil.
func (r *PluginRegistry) Get(name string) Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[name]
}

// Names lists the registered plugins, sorted.
func (r *PluginRegistry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// permanentError marks a plugin failure no retry can mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps a plugin error that retrying cannot fix (a missing URL,
// a receiver answering 4xx): the runtime records the failure in the audit
// log and on the timeline and stops retrying.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
