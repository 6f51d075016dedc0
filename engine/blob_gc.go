package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The upload collector.
//
// An upload belongs to nobody's record until a record claims it (see
// bindBlobs); a user who abandons a form leaves it behind. The collector
// purges, with an audit event each (action "file.purge", actor system):
//   - uploads no record claimed, MaxAge after they were made (pending ones
//     too: an upload that crashed half-way);
//   - uploads whose record is gone for good (purged). A record in the
//     recycle bin keeps its files, and so does a record whose field no
//     longer holds one: its revisions still name it and restoring an
//     earlier revision brings the value back.
//
// Chunks are shared by content: a chunk goes with an upload only when no
// other upload's doc names it (the "chunk:SHA" tags of blob docs are the
// reference count). An upload's doc names its chunks before they are
// written (PutBlob), and the collector deletes a chunk at the version it
// read before counting, so an upload in progress either shows up in the
// count or bumps the version and makes the delete fail; the upload's doc,
// its thumbnail and its unshared chunks go in one atomic write, and any
// conflict leaves the upload whole for the next run.
//
// It runs as an outbox job: ScheduleBlobGC writes the first run, each run
// writes the next. Runs fall on multiples of Every and the job id is the
// run's time, so several processes scheduling at start-up, or a retried
// run, make one chain of runs, not several.

// JobBlobGC is the outbox job that purges uploads nobody holds.
const JobBlobGC = "blob:gc"

// BlobGCOptions tune the upload collector; zero values pick the defaults.
type BlobGCOptions struct {
	MaxAge time.Duration // how long an unclaimed upload is kept; default 24h
	Every  time.Duration // how often the collector runs; default 1h
	// BinRetention purges, before each run, the records that have been in
	// a recycle bin longer (PurgeExpired), so the same run releases their
	// files; 0 keeps deleted records until an administrator purges them.
	BinRetention time.Duration
}

func (o BlobGCOptions) withDefaults() BlobGCOptions {
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.Every <= 0 {
		o.Every = time.Hour
	}
	return o
}

type blobGCPayload struct {
	MaxAge       string `json:"max_age"`
	Every        string `json:"every"`
	BinRetention string `json:"bin_retention,omitempty"`
}

// BlobGCResult counts what one collector run did.
type BlobGCResult struct {
	Scanned int // upload docs read
	Purged  int // uploads purged
	Chunks  int // chunks deleted (the others were shared)
	Skipped int // uploads left for the next run after a conflict
}

// ScheduleBlobGC writes the collector's next run into the outbox, at the
// next multiple of o.Every. Call it when a process starts its workers; a
// run already scheduled for that time is kept.
func (s *Service) ScheduleBlobGC(ctx context.Context, o BlobGCOptions) error {
	o = o.withDefaults()
	now := s.now()
	return s.scheduleBlobGC(ctx, o, now.Truncate(o.Every).Add(o.Every), now)
}

func (s *Service) scheduleBlobGC(ctx context.Context, o BlobGCOptions, at, now time.Time) error {
	job := OutboxJob{ID: "blob-gc-" + at.UTC().Format("20060102T150405Z"), Type: JobBlobGC,
		Payload: MustJSON(blobGCPayload{MaxAge: o.MaxAge.String(), Every: o.Every.String(), BinRetention: o.BinRetention.String()}), RunAt: at, CreatedAt: now}
	_, err := s.store.Apply(ctx, &Change{Outbox: []OutboxJob{job}})
	if ErrorCode(err) == ECONFLICT {
		return nil // another process, or an earlier try of this run, scheduled it
	}
	if err != nil {
		return fmt.Errorf("schedule upload collector: %w", err)
	}
	return nil
}

// HandleBlobGCJob is the JobHandler of JobBlobGC: it schedules the next
// run, then purges (PurgeBlobs). Register it with the worker.
func (s *Service) HandleBlobGCJob(ctx context.Context, job OutboxJob) error {
	var pl blobGCPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return fmt.Errorf("upload collector job %s: %w", job.ID, err)
	}
	var o BlobGCOptions
	o.MaxAge, _ = time.ParseDuration(pl.MaxAge)
	o.Every, _ = time.ParseDuration(pl.Every)
	o.BinRetention, _ = time.ParseDuration(pl.BinRetention)
	o = o.withDefaults()
	now := s.now()
	next := job.RunAt.Truncate(o.Every).Add(o.Every)
	if !next.After(now) { // the queue was down for a while: no catching up run by run
		next = now.Truncate(o.Every).Add(o.Every)
	}
	if err := s.scheduleBlobGC(ctx, o, next, now); err != nil {
		return err
	}
	if _, err := s.PurgeExpired(ctx, o.BinRetention); err != nil {
		return err
	}
	_, err := s.PurgeBlobs(ctx, o.MaxAge)
	return err
}

// blobGCPage is how many upload docs the collector reads at a time.
const blobGCPage = 500

type blobCandidate struct {
	b      *BlobInfo
	ver    int64
	reason string
}

// PurgeBlobs purges the uploads no record holds: those unclaimed for
// longer than maxAge and those whose record was purged (see the comment at
// the top of this file). It is the collector's run; the caller is the
// system, so it checks no permission. Safe to run concurrently with
// uploads, record writes and another run.
func (s *Service) PurgeBlobs(ctx context.Context, maxAge time.Duration) (*BlobGCResult, error) {
	res := &BlobGCResult{}
	cutoff := s.now().Add(-maxAge)
	var cands []blobCandidate
	for after := ""; ; {
		docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindBlob, After: after, Limit: blobGCPage})
		if err != nil {
			return res, fmt.Errorf("upload collector: list uploads: %w", err)
		}
		for _, d := range docs {
			after = d.ID
			res.Scanned++
			var b BlobInfo
			if err := json.Unmarshal(d.Value, &b); err != nil {
				return res, fmt.Errorf("upload collector: upload %s: %w", d.ID, err)
			}
			ver := d.Version
			if !hasChunkTags(d, &b) {
				// an upload stored before chunks were counted: count them
				// now, before any chunk is deleted in this run
				out, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{blobDoc(&b, ver)}})
				if err != nil {
					if ErrorCode(err) == ECONFLICT {
						res.Skipped++
						continue
					}
					return res, fmt.Errorf("upload collector: tag upload %s: %w", d.ID, err)
				}
				ver = out.Docs[0].Version
			}
			if b.Record == "" {
				if b.CreatedAt.Before(cutoff) {
					cands = append(cands, blobCandidate{&b, ver, "unattached for more than " + maxAge.String()})
				}
				continue
			}
			_, err := s.store.FindRecordByID(ctx, b.App, b.Form, b.Record, true)
			switch {
			case ErrorCode(err) == ENOTFOUND:
				cands = append(cands, blobCandidate{&b, ver, "record purged"})
			case err != nil:
				return res, fmt.Errorf("upload collector: record of upload %s: %w", d.ID, err)
			}
		}
		if len(docs) < blobGCPage {
			break
		}
	}
	for _, c := range cands {
		if err := s.purgeBlob(ctx, c, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func hasChunkTags(d *Doc, b *BlobInfo) bool {
	tags := map[string]bool{}
	for _, t := range d.Tags {
		tags[t] = true
	}
	for _, c := range b.Chunks {
		if !tags["chunk:"+c] {
			return false
		}
	}
	return true
}

// purgeBlob deletes one upload, its thumbnail and the chunks no other
// upload names, with its audit event, in one write.
func (s *Service) purgeBlob(ctx context.Context, c blobCandidate, res *BlobGCResult) error {
	b := c.b
	writes := []DocWrite{
		{Doc: Doc{Kind: KindBlob, ID: b.ID}, Delete: true, ExpectVersion: c.ver},
		{Doc: Doc{Kind: KindBlobThumb, ID: b.ID}, Delete: true, ExpectVersion: AnyVersion},
	}
	seen := map[string]bool{}
	shared := 0
	for _, id := range b.Chunks {
		if seen[id] {
			continue
		}
		seen[id] = true
		d, err := s.store.FindDoc(ctx, KindBlobChunk, id)
		if ErrorCode(err) == ENOTFOUND {
			continue // an upload that stopped half-way
		}
		if err != nil {
			return fmt.Errorf("upload collector: chunk %s: %w", id, err)
		}
		users, err := s.store.FindDocs(ctx, DocQuery{Kind: KindBlob, Tag: "chunk:" + id, Limit: 2})
		if err != nil {
			return fmt.Errorf("upload collector: users of chunk %s: %w", id, err)
		}
		if len(users) > 1 || (len(users) == 1 && users[0].ID != b.ID) {
			shared++
			continue
		}
		writes = append(writes, DocWrite{Doc: Doc{Kind: KindBlobChunk, ID: id}, Delete: true, ExpectVersion: d.Version})
	}
	ev := s.Event(nil, "file.purge", b.App, b.Form, b.Record, []string{b.Field}, ResultOK, c.reason)
	ev.Detail = MustJSON(map[string]any{"blob": b.ID, "name": b.Name, "size": b.Size, "type": b.Type, "owner": b.Owner,
		"created_at": b.CreatedAt, "chunks_deleted": len(writes) - 2, "chunks_shared": shared})
	_, err := s.store.Apply(ctx, &Change{Docs: writes, Audit: []*AuditEvent{ev}})
	switch {
	case ErrorCode(err) == ECONFLICT || ErrorCode(err) == ENOTFOUND:
		// claimed meanwhile, purged by another run, or a chunk rewritten
		// by a new upload: leave it whole for the next run
		res.Skipped++
		return nil
	case err != nil:
		return fmt.Errorf("upload collector: purge %s: %w", b.ID, err)
	}
	res.Purged++
	res.Chunks += len(writes) - 2
	return nil
}
