package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// anomalyWatch evaluates the anomaly rules on audit events after they are
// committed, on a goroutine of its own, so a write never waits for it.
//
// Why not an outbox job per event: every view would then cost a second
// write and a queue round trip, doubling the audit log's write load for a
// check that mostly finds nothing. Instead each node watches the events it
// committed itself, and every count is a query on the store's audit log
// (the state all nodes share), so a user spreading requests over several
// nodes is counted as one. An alert's unique key (rule, user, window)
// keeps two nodes from raising it twice. When the queue is full the oldest
// events are dropped, not waited for: the counting rules see them anyway
// at the newer events, since they read the log.
//
// The rules are kept decoded with the settings doc's version and read
// again only when a read of that version (no value) finds it moved, so
// an administrator's change on any node holds from the next batch on.
type anomalyWatch struct {
	s    *Service
	kick chan struct{} // observe's signal to a loop waiting for a first batch
	done chan struct{}

	mu      sync.Mutex
	pending [][]*AuditEvent // committed batches not yet taken by the loop
	queued  int             // the events in pending
	idle    bool            // the loop waits on kick for a first batch
	closed  bool

	set    *AnomalySettings // the rules as last read (the loop's alone)
	setVer int64            // the settings doc's version they were read at; 0: no doc
}

// watchQueue is how many events wait for the loop at most (some MiB);
// when more come the oldest batches are dropped, so the newest events are
// always evaluated: the counting rules read the log, so the last event of
// a burst counts the dropped ones too (see anomalyWatch).
const watchQueue = 16384

func newAnomalyWatch(s *Service) *anomalyWatch {
	w := &anomalyWatch{s: s, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

// observe queues committed events; it never blocks, and after close it
// drops them (a login or an export may finish while the service stops).
// It wakes the loop only when the loop waits for a first batch: batches
// that come while it gathers wait for the end of the gathering, so a
// burst of reads does not wake the loop's goroutine once per request
// (each wake of a parked goroutine while a processor is idle starts a
// thread: at one client that was a context switch or two per request).
func (w *anomalyWatch) observe(evs []*AuditEvent) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.pending = append(w.pending, evs)
	w.queued += len(evs)
	for w.queued > watchQueue && len(w.pending) > 1 {
		w.queued -= len(w.pending[0])
		w.pending[0] = nil
		w.pending = w.pending[1:]
	}
	wake := w.idle
	w.idle = false
	w.mu.Unlock()
	if wake {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *anomalyWatch) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.kick)
	}
	w.mu.Unlock()
	<-w.done
}

// watchGather is the least time between two reads of the anomaly
// settings: batches committed sooner after a read wait for the next one
// and are evaluated together with it. A read of the settings costs about
// what a read by id does; without this every batch (one per view at
// light load) paid one. An idle watch evaluates a batch at once.
const watchGather = 100 * time.Millisecond

func (w *anomalyWatch) loop() {
	defer close(w.done)
	ctx := context.Background()
	var last time.Time // when the settings were last read (wall time only paces reads)
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			if w.closed {
				w.mu.Unlock()
				return
			}
			w.idle = true
			w.mu.Unlock()
			<-w.kick // a first batch, or close
			continue
		}
		closed := w.closed
		w.mu.Unlock()
		if wait := watchGather - time.Since(last); wait > 0 && !closed {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.kick: // closed: evaluate what is queued now
			}
			t.Stop()
		}
		// what came meanwhile too
		w.mu.Lock()
		batches := w.pending
		w.pending, w.queued = nil, 0
		w.mu.Unlock()
		// one read of the settings, after every batch was committed, for
		// all of them; each batch is evaluated on its own, as committed
		set, err := w.settings(ctx)
		last = time.Now()
		if err != nil {
			slog.Warn("anomaly rules", "err", err)
			continue
		}
		for _, b := range batches {
			if err := w.evaluate(ctx, set, b); err != nil {
				slog.Warn("anomaly rules", "err", err)
			}
		}
	}
}

// settings returns the anomaly rules as the store holds them now: the
// ones read before while the settings doc's version is the same, else the
// doc again.
func (w *anomalyWatch) settings(ctx context.Context) (*AnomalySettings, error) {
	vs, err := w.s.store.DocVersions(ctx, []DocRef{{KindSettings, SettingsAnomaly}})
	if err != nil {
		return nil, fmt.Errorf("read anomaly settings: %w", err)
	}
	if w.set != nil && vs[0] == w.setVer {
		return w.set, nil
	}
	set, ver, err := w.s.anomalySettingsAt(ctx)
	if err != nil {
		return nil, err
	}
	w.set, w.setVer = set, ver
	return set, nil
}

// evaluate checks each of set's rules once per user and batch.
func (w *anomalyWatch) evaluate(ctx context.Context, set *AnomalySettings, evs []*AuditEvent) error {
	if len(set.Rules) == 0 {
		return nil
	}
	last := map[string]*AuditEvent{} // newest event per user in the batch
	for _, ev := range evs {
		if u := subject(ev); u != "" {
			last[u] = ev
		}
	}
	for id, ev := range last {
		u, err := w.s.org.FindUserByID(ctx, id)
		if err != nil {
			continue // a failed login's email, or a deleted user
		}
		for _, r := range set.Rules {
			if !r.appliesTo(u) {
				continue
			}
			detail, err := w.check(ctx, r, ev, evs)
			if err != nil {
				return err
			}
			if !detail.IsZero() {
				if err := w.raise(ctx, r, u, ev, detail); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// subject is the user an event is about: its actor, or for a login
// (written before anyone is signed in) the user it names.
func subject(ev *AuditEvent) string {
	if strings.HasPrefix(ev.Action, "login") && ev.Actor == "anonymous" {
		return ev.Object
	}
	if ev.Actor == SystemActor || ev.Actor == "anonymous" {
		return ""
	}
	return ev.Actor
}

// check returns why ev (and the log before it) trips r, in both
// languages, or a zero Text.
func (w *anomalyWatch) check(ctx context.Context, r AlertRule, ev *AuditEvent, batch []*AuditEvent) (Text, error) {
	from := ev.Time.Add(-r.window())
	to := ev.Time.Add(time.Millisecond) // AuditQuery.To is exclusive
	user := subject(ev)
	win := windowText(r.window())
	var none Text
	switch r.Kind {
	case RuleMassView:
		n, err := w.distinct(ctx, AuditQuery{Actor: user, Action: "view", Result: ResultOK, From: from, To: to}, r.Threshold)
		if err != nil || n < r.Threshold {
			return none, err
		}
		return T(fmt.Sprintf("%s内查看了 %d 条不同的记录", win.Zh, n), fmt.Sprintf("%d distinct records viewed within %s", n, win.En)), nil
	case RuleDenials:
		n, err := w.count(ctx, AuditQuery{Actor: user, Result: ResultDenied, From: from, To: to}, r.Threshold)
		if err != nil || n < r.Threshold {
			return none, err
		}
		return T(fmt.Sprintf("%s内 %d 次操作被拒绝", win.Zh, n), fmt.Sprintf("%d refused actions within %s", n, win.En)), nil
	case RuleFailedLogins:
		n, err := w.count(ctx, AuditQuery{Object: user, Action: "login.failed", From: from, To: to}, r.Threshold)
		if err != nil || n < r.Threshold {
			return none, err
		}
		return T(fmt.Sprintf("%s内 %d 次登录失败", win.Zh, n), fmt.Sprintf("%d failed logins within %s", n, win.En)), nil
	case RuleBulkExport:
		rows, err := w.exportedRows(ctx, user, from, to, r.Threshold)
		if err != nil || rows < r.Threshold {
			return none, err
		}
		return T(fmt.Sprintf("%s内导出了 %d 行", win.Zh, rows), fmt.Sprintf("%d rows exported within %s", rows, win.En)), nil
	case RuleOffHours:
		lo, hi := r.hours()
		h := ev.Time.In(w.s.zone).Hour()
		if h >= lo && h < hi {
			return none, nil
		}
		at := ev.Time.In(w.s.zone).Format("2006-01-02 15:04 MST")
		return Tf("%[2]s 有操作（%[1]s），不在工作时间 %02[3]d:00–%02[4]d:00 之内", "%[1]s at %[2]s, outside %02[3]d:00–%02[4]d:00", ev.Action, at, lo, hi), nil
	case RuleNewNetwork:
		if ev.IP == "" {
			return none, nil
		}
		before := earliest(batch, ev.Actor, ev.IP)
		seen, err := w.count(ctx, AuditQuery{Actor: user, IP: ev.IP, To: before}, 1)
		if err != nil || seen > 0 {
			return none, err
		}
		any, err := w.count(ctx, AuditQuery{Actor: user, To: before}, 1)
		if err != nil || any == 0 { // a first-ever action has no usual network to differ from
			return none, err
		}
		return Tf("从从未用过的地址 %[2]s 操作（%[1]s）", "%[1]s from %[2]s, an address never used before", ev.Action, ev.IP), nil
	}
	return none, nil
}

// windowText says a rule's window in words: "5 分钟" / "5 minutes".
func windowText(d time.Duration) Text {
	unit := func(n int64, zh, en string) Text {
		if n != 1 {
			en += "s"
		}
		return T(fmt.Sprintf("%d %s", n, zh), fmt.Sprintf("%d %s", n, en))
	}
	switch {
	case d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "天", "day")
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "小时", "hour")
	case d%time.Minute == 0:
		return unit(int64(d/time.Minute), "分钟", "minute")
	}
	return unit(int64(d/time.Second), "秒", "second")
}

// earliest returns the time of the batch's first event by actor from ip.
func earliest(batch []*AuditEvent, actor, ip string) time.Time {
	var t time.Time
	for _, e := range batch {
		if e.Actor == actor && e.IP == ip && (t.IsZero() || e.Time.Before(t)) {
			t = e.Time
		}
	}
	return t
}

// pages walks q's events newest first until fn says stop.
func (w *anomalyWatch) pages(ctx context.Context, q AuditQuery, fn func(*AuditEvent) bool) error {
	q.Limit = MaxAuditLimit
	for {
		p, err := w.s.store.FindAuditEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("anomaly count: %w", err)
		}
		for _, e := range p.Items {
			if !fn(e) {
				return nil
			}
		}
		if p.NextCursor == "" {
			return nil
		}
		q.Cursor = p.NextCursor
	}
}

// count counts q's events, stopping at limit.
func (w *anomalyWatch) count(ctx context.Context, q AuditQuery, limit int) (int, error) {
	n := 0
	err := w.pages(ctx, q, func(*AuditEvent) bool { n++; return n < limit })
	return n, err
}

// distinct counts the distinct records q's events name, stopping at limit.
func (w *anomalyWatch) distinct(ctx context.Context, q AuditQuery, limit int) (int, error) {
	seen := map[string]bool{}
	err := w.pages(ctx, q, func(e *AuditEvent) bool {
		seen[e.App+"/"+e.Form+"/"+e.Object] = true
		return len(seen) < limit
	})
	return len(seen), err
}

// exportedRows sums the rows of the user's finished exports.
func (w *anomalyWatch) exportedRows(ctx context.Context, actor string, from, to time.Time, limit int) (int, error) {
	rows := 0
	err := w.pages(ctx, AuditQuery{Actor: actor, Action: "export", Result: ResultOK, From: from, To: to}, func(e *AuditEvent) bool {
		var d struct {
			Rows int `json:"rows"`
		}
		if len(e.Detail) > 0 && json.Unmarshal(e.Detail, &d) == nil {
			rows += d.Rows
		}
		return rows < limit
	})
	return rows, err
}

// raise writes the alert once per rule, user and window (on any node) with
// its audit event, then takes the rule's action.
func (w *anomalyWatch) raise(ctx context.Context, r AlertRule, u *User, ev *AuditEvent, detail Text) error {
	now := w.s.now()
	bucket := ev.Time.Truncate(r.window()).Unix()
	a := &Alert{ID: NewID(now), Rule: r.Kind, User: u.ID, At: now, Status: AlertOpen, Detail: detail.En, Message: detail, Action: r.Action,
		Key: fmt.Sprintf("%s|%s|%d", r.Kind, u.ID, bucket)}
	aev := &AuditEvent{Time: now, Actor: SystemActor, Action: "alert.raise", Object: u.ID, Result: ResultOK,
		Reason: r.Kind, Detail: MustJSON(map[string]string{"alert": a.ID, "action": r.Action, "detail": detail.En})}
	ch := &Change{Docs: []DocWrite{alertDoc(a, 0)}, Audit: []*AuditEvent{aev}}
	for _, h := range w.s.alertHooks {
		if err := h(ctx, a, ch); err != nil {
			return fmt.Errorf("alert hook: %w", err)
		}
	}
	_, err := w.s.store.Apply(ctx, ch)
	if ErrorCode(err) == ECONFLICT {
		return nil // raised already in this window, here or on another node
	}
	if err != nil {
		return fmt.Errorf("raise alert: %w", err)
	}
	switch {
	case r.Action == ActionFreeze && !u.Admin:
		if _, err := w.s.org.Freeze(ctx, AuditActor{ID: SystemActor}, u.ID); err != nil {
			return fmt.Errorf("freeze on alert: %w", err)
		}
	case r.Action == ActionReauth:
		// administrators too: proving their own second factor again
		// locks nobody out
		if err := w.s.requireReauth(ctx, u, a.ID); err != nil {
			return fmt.Errorf("reauth on alert: %w", err)
		}
	}
	return nil
}
