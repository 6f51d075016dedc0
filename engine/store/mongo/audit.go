package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
)

// chainHeadID is the meta document every appending transaction writes, so
// two transactions appending at once conflict and one of them retries: the
// chain gets one total order across writers and nodes.
const chainHeadID = "audit_head"

func jsonValid(b []byte) bool { return json.Valid(b) }

// auditDoc is an audit event as stored, keyed by its sequence number; Detail
// keeps its JSON bytes exactly, as the hash covers them.
type auditDoc struct {
	Seq      int64         `bson:"_id"`
	Time     bson.DateTime `bson:"time"`
	Actor    string        `bson:"actor"`
	IP       string        `bson:"ip"`
	Action   string        `bson:"action"`
	App      string        `bson:"app"`
	Form     string        `bson:"form"`
	Object   string        `bson:"object"`
	Fields   []string      `bson:"fields"`
	Result   string        `bson:"result"`
	Reason   string        `bson:"reason"`
	Detail   *string       `bson:"detail"`
	PrevHash string        `bson:"prev_hash"`
	Hash     string        `bson:"hash"`
}

func toAuditDoc(e *engine.AuditEvent) auditDoc {
	d := auditDoc{Seq: e.Seq, Time: dt(e.Time), Actor: e.Actor, IP: e.IP, Action: e.Action, App: e.App, Form: e.Form,
		Object: e.Object, Fields: e.Fields, Result: e.Result, Reason: e.Reason, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Detail != nil {
		s := string(e.Detail)
		d.Detail = &s
	}
	return d
}

func (d *auditDoc) event() *engine.AuditEvent {
	e := &engine.AuditEvent{Seq: d.Seq, Time: d.Time.Time().UTC(), Actor: d.Actor, IP: d.IP, Action: d.Action, App: d.App,
		Form: d.Form, Object: d.Object, Fields: d.Fields, Result: d.Result, Reason: d.Reason, PrevHash: d.PrevHash, Hash: d.Hash}
	if len(e.Fields) == 0 {
		e.Fields = nil
	}
	if d.Detail != nil {
		e.Detail = json.RawMessage(*d.Detail)
	}
	return e
}

// lastAudit returns the newest event's sequence number, hash and time.
func (s *Store) lastAudit(ctx context.Context) (engine.AuditHead, error) {
	var d auditDoc
	err := s.audit.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return engine.AuditHead{}, nil
	}
	if err != nil {
		return engine.AuditHead{}, fmt.Errorf("mongo audit head: %w", err)
	}
	return engine.AuditHead{Seq: d.Seq, Hash: d.Hash, Time: d.Time.Time().UTC()}, nil
}

// appendAudit seals evs in order after the newest event and stores them.
func (s *Store) appendAudit(ctx context.Context, evs []*engine.AuditEvent) error {
	if err := engine.CheckAuditEvents(evs); err != nil {
		return err
	}
	if s.tx {
		return s.appendAuditTx(ctx, evs)
	}
	return s.appendAuditCAS(ctx, evs)
}

// appendAuditTx runs inside the Apply transaction. Writing the chain head
// makes any two concurrent appenders conflict (WriteConflict, a transient
// transaction error): the driver retries the loser's whole transaction,
// which then sees the winner's events.
func (s *Store) appendAuditTx(ctx context.Context, evs []*engine.AuditEvent) error {
	head, err := s.lastAudit(ctx)
	if err != nil {
		return err
	}
	docs := make([]any, 0, len(evs))
	for _, ev := range evs {
		ev.Seal(head)
		head = ev.Head()
		docs = append(docs, toAuditDoc(ev))
	}
	if _, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: chainHeadID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: head.Seq}, {Key: "hash", Value: head.Hash}}}},
		options.UpdateOne().SetUpsert(true)); err != nil {
		return fmt.Errorf("mongo audit chain head: %w", err)
	}
	if _, err := s.audit.InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("mongo audit insert: %w", err)
	}
	return nil
}

// appendAuditCAS appends without transactions. The event's sequence
// number is its _id, so inserting it is the compare-and-set: when another
// writer took that number first the insert is a duplicate key, and the
// event is sealed again after the new newest one. This holds even on
// servers whose single-document updates are not atomic, as long as the
// unique _id index is.
func (s *Store) appendAuditCAS(ctx context.Context, evs []*engine.AuditEvent) error {
	for _, ev := range evs {
		for attempt := 0; ; attempt++ {
			head, err := s.lastAudit(ctx)
			if err != nil {
				return err
			}
			ev.Seal(head)
			_, err = s.audit.InsertOne(ctx, toAuditDoc(ev))
			if err == nil {
				break
			}
			if !mongo.IsDuplicateKeyError(err) || attempt >= 1000 {
				return fmt.Errorf("mongo audit insert: %w", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt%10) * time.Millisecond):
			}
		}
	}
	return nil
}

// FindAuditEvents returns events newest first (by Seq). From is inclusive,
// To exclusive.
func (s *Store) FindAuditEvents(ctx context.Context, q engine.AuditQuery) (*engine.AuditPage, error) {
	limit := engine.AuditPageLimit(q.Limit)
	below, err := engine.DecodeAuditCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	f := bson.D{}
	if below > 0 {
		f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: below}}})
	}
	for _, e := range []bson.E{{Key: "actor", Value: q.Actor}, {Key: "action", Value: q.Action}, {Key: "app", Value: q.App},
		{Key: "form", Value: q.Form}, {Key: "object", Value: q.Object}, {Key: "result", Value: q.Result}, {Key: "ip", Value: q.IP}} {
		if e.Value != "" {
			f = append(f, e)
		}
	}
	var tr bson.D
	if !q.From.IsZero() {
		tr = append(tr, bson.E{Key: "$gte", Value: dt(engine.AuditTime(q.From))})
	}
	if !q.To.IsZero() {
		tr = append(tr, bson.E{Key: "$lt", Value: dt(engine.AuditTime(q.To))})
	}
	if len(tr) > 0 {
		f = append(f, bson.E{Key: "time", Value: tr})
	}
	evs, err := s.findAudit(ctx, f, findOpts().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, fmt.Errorf("mongo find audit: %w", err)
	}
	return engine.NewAuditPage(evs, limit), nil
}

// findAudit reads the events a query selects.
func (s *Store) findAudit(ctx context.Context, f bson.D, opts *options.FindOptionsBuilder) ([]*engine.AuditEvent, error) {
	cur, err := s.audit.Find(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var evs []*engine.AuditEvent
	for cur.Next(ctx) {
		var d auditDoc
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		evs = append(evs, d.event())
	}
	return evs, cur.Err()
}

// WalkAudit calls fn for every event with Seq > after, in Seq order, reading
// engine.AuditWalkChunk events per query.
func (s *Store) WalkAudit(ctx context.Context, after int64, fn func(*engine.AuditEvent) error) error {
	return engine.WalkAuditChunks(after, func(after int64) ([]*engine.AuditEvent, error) {
		evs, err := s.findAudit(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
			findOpts().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(engine.AuditWalkChunk))
		if err != nil {
			return nil, fmt.Errorf("mongo walk audit: %w", err)
		}
		return evs, nil
	}, fn)
}
