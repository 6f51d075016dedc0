package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// KindImportJob is the doc kind of a sample-data import's progress.
const KindImportJob = "import_job"

// JobSampleImport is the outbox job that finishes a sample-data import a
// stopped process left unfinished. The import runs at once in the process
// that published the app; this job is its safety net, due a little later,
// and marked done by the import's last batch when all went well.
const JobSampleImport = "sample:import"

// SampleBatchSize is how many sample records go into one atomic write.
const SampleBatchSize = 64

// importLease is how long a running import's last heartbeat keeps another
// runner (the outbox job) from taking it over.
const importLease = 30 * time.Second

// importResumeDelay is when the safety-net outbox job falls due.
const importResumeDelay = time.Minute

// Import job states.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportJob is the progress of a sample-data import, stored as a doc of
// kind KindImportJob so any process (and the admin page) can follow it.
// Each batch of records is written in the same atomic write as the
// progress that counts it, so Done never runs ahead of or behind the data.
type ImportJob struct {
	ID       string               `json:"id"`
	App      string               `json:"app"`
	Version  int                  `json:"version"` // the published version the records are written under
	State    string               `json:"state"`
	Total    int                  `json:"total"`
	Done     int                  `json:"done"`
	Batches  int                  `json:"batches"`
	Forms    []ImportFormProgress `json:"forms"`
	Error    *Text                `json:"error,omitempty"`
	Actor    string               `json:"actor"`
	Unit     string               `json:"unit"`            // the records' unit (the importing user's)
	Roles    []string             `json:"roles,omitempty"` // the importing user's roles in the app, for rules that read them
	IP       string               `json:"ip,omitempty"`
	Started  time.Time            `json:"started"`
	Updated  time.Time            `json:"updated"` // heartbeat: the last batch written
	Finished *time.Time           `json:"finished,omitempty"`
}

// ImportFormProgress is one form's share of an import.
type ImportFormProgress struct {
	Form  string `json:"form"`
	Title Text   `json:"title"`
	Total int    `json:"total"`
	Done  int    `json:"done"`
}

// Over reports whether the job has stopped for good (done or failed).
func (j *ImportJob) Over() bool { return j.State == ImportDone || j.State == ImportFailed }

// newImportJob prepares the progress doc and its safety-net outbox job for
// the sample records of b, published as version; nil when b has none.
func (s *Service) newImportJob(p *Principal, b *Bundle, version int) (*ImportJob, []DocWrite, []OutboxJob) {
	now := s.now()
	j := &ImportJob{ID: "imp-" + NewID(now), App: b.App.Key, Version: version, State: ImportQueued, Forms: []ImportFormProgress{},
		Actor: p.Actor(), Started: now, Updated: now}
	if p != nil && p.User != nil {
		j.IP, j.Unit = p.IP, p.User.Unit
		j.Roles = append([]string{}, p.User.Roles[b.App.Key]...)
	}
	for _, f := range b.Forms {
		if n := len(b.SampleData[f.Key]); n > 0 {
			j.Forms = append(j.Forms, ImportFormProgress{Form: f.Key, Title: f.Title, Total: n})
			j.Total += n
		}
	}
	if j.Total == 0 {
		return nil, nil, nil
	}
	docs := []DocWrite{{Doc: Doc{Kind: KindImportJob, ID: j.ID, Tags: []string{"app:" + j.App}, Value: MustJSON(j)}}}
	jobs := []OutboxJob{{ID: j.ID, Type: JobSampleImport, Payload: MustJSON(map[string]string{"job": j.ID}),
		RunAt: now.Add(importResumeDelay), CreatedAt: now}}
	return j, docs, jobs
}

func (s *Service) findImportJob(ctx context.Context, id string) (*ImportJob, int64, error) {
	d, err := s.store.FindDoc(ctx, KindImportJob, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, 0, Errorf(ENOTFOUND, Tf("导入任务 %s 不存在", "import job %s does not exist", id))
		}
		return nil, 0, err
	}
	var j ImportJob
	if err := DecodeDoc(d, &j); err != nil {
		return nil, 0, err
	}
	return &j, d.Version, nil
}

// ImportJob returns the progress of a sample-data import (administrators only).
func (s *Service) ImportJob(ctx context.Context, p *Principal, id string) (*ImportJob, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.import", "", "", id, "not an administrator", err)
	}
	j, _, err := s.findImportJob(ctx, id)
	return j, err
}

// errImportBusy says another runner holds the job; retry later.
var errImportBusy = errors.New("sample import is running elsewhere")

// HandleSampleImportJob is the JobHandler of JobSampleImport: it finishes
// an import whose runner stopped (idempotent: a finished job is left
// alone; a job whose runner still beats is retried later).
func (s *Service) HandleSampleImportJob(ctx context.Context, job OutboxJob) error {
	var pl struct {
		Job string `json:"job"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil || pl.Job == "" {
		return fmt.Errorf("sample import job %s: bad payload", job.ID)
	}
	j, _, err := s.findImportJob(ctx, pl.Job)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil // the publish that made it never happened
		}
		return err
	}
	if j.Over() {
		return nil
	}
	if j.State == ImportRunning && s.now().Sub(j.Updated) < importLease {
		return errImportBusy
	}
	_, err = s.runImportJob(ctx, pl.Job, nil)
	if ErrorCode(err) == EINVALID {
		return nil // recorded as failed; running it again cannot help
	}
	return err
}

// startImportJob runs the job in the background of this process; Close
// stops it (the outbox job resumes it later).
func (s *Service) startImportJob(id string) {
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		_, _ = s.runImportJob(s.jobCtx, id, nil) // the outcome is in the job's doc
	}()
}

// runImportJob writes the job's remaining sample records in batches of
// SampleBatchSize, each batch in one atomic write together with the
// records' revisions and audit events and the job's progress (checked
// against the version it read, so two runners never both write a batch).
// Each record passes its form's rules first. report, if set, sees the
// progress after every batch.
func (s *Service) runImportJob(ctx context.Context, id string, report func(ImportJob)) (*ImportJob, error) {
	j, ver, err := s.findImportJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Over() {
		return j, nil
	}
	b, _, err := s.Bundle(ctx, j.App, j.Version)
	if err != nil {
		return j, err
	}
	j.State = ImportRunning
	actor := &Principal{User: &User{ID: j.Actor, Unit: j.Unit, Roles: map[string][]string{j.App: j.Roles}}, IP: j.IP}
	var ch Change
	// what the store holds: restored when a failure drops a pending batch
	saved := func() (int, []ImportFormProgress) { return j.Done, append([]ImportFormProgress{}, j.Forms...) }
	savedDone, savedForms := saved()
	flush := func(final bool) error {
		now := s.now()
		j.Updated = now
		if final {
			j.State, j.Finished = ImportDone, &now
			ch.OutboxDone = []string{j.ID}
		}
		if len(ch.Records) > 0 {
			j.Batches++
		}
		ch.Docs = []DocWrite{{Doc: Doc{Kind: KindImportJob, ID: j.ID, Tags: []string{"app:" + j.App}, Value: MustJSON(j)}, ExpectVersion: ver}}
		res, err := s.store.Apply(ctx, &ch)
		if err != nil {
			return err
		}
		ver = res.Docs[0].Version
		ch = Change{}
		savedDone, savedForms = saved()
		if report != nil {
			report(*j)
		}
		return nil
	}
	fail := func(cause error) (*ImportJob, error) {
		if ErrorCode(cause) == ECONFLICT || ctx.Err() != nil {
			return j, cause // another runner has it, or we were stopped: the outbox resumes
		}
		now := s.now()
		msg := T(ErrorMessage(cause, "zh"), ErrorMessage(cause, "en"))
		if fe := ErrorFields(cause); len(fe) > 0 {
			msg = T(fe[0].Field+"："+fe[0].Message.In("zh"), fe[0].Field+": "+fe[0].Message.In("en"))
		}
		j.Done, j.Forms = savedDone, savedForms
		j.State, j.Error, j.Finished, j.Updated = ImportFailed, &msg, &now, now
		ch = Change{Docs: []DocWrite{{Doc: Doc{Kind: KindImportJob, ID: j.ID, Tags: []string{"app:" + j.App}, Value: MustJSON(j)}, ExpectVersion: ver}},
			OutboxDone: []string{j.ID}}
		if _, err := s.store.Apply(ctx, &ch); err != nil {
			return j, err
		}
		if report != nil {
			report(*j)
		}
		return j, cause
	}
	// claim the job (a heartbeat before the first, possibly slow, batch)
	if err := flush(false); err != nil {
		return fail(err)
	}
	for fi := range j.Forms {
		fp := &j.Forms[fi]
		f := b.Form(fp.Form)
		cf := b.Compiled(fp.Form)
		recs := b.SampleData[fp.Form]
		if f == nil || cf == nil || len(recs) != fp.Total {
			return fail(fmt.Errorf("import job %s: form %s changed under the job", j.ID, fp.Form))
		}
		for fp.Done < fp.Total {
			if err := ctx.Err(); err != nil {
				return j, err
			}
			i := fp.Done
			now := s.now()
			res := cf.Evaluate(EvalInput{Data: recs[i], Now: now, TZ: s.zone, User: UserEnvFor(actor.User, j.App), SkipTimeChecks: true, NoFieldMap: true})
			if !res.OK() {
				return fail(Invalid(prefixErrors(res.Errors, fmt.Sprintf("/sample_data/%s/%d", fp.Form, i))...))
			}
			r := &Record{ID: NewID(now), App: j.App, Form: fp.Form, FormVersion: j.Version, Unit: j.Unit, Owner: j.Actor,
				Status: StatusActive, Data: res.Data, CreatedBy: j.Actor, UpdatedBy: j.Actor}
			ch.Records = append(ch.Records, RecordWrite{Op: WriteCreate, Record: r, Actor: j.Actor, At: now, Serials: SerialClaims(f, r, now, s.zone)})
			ch.Audit = append(ch.Audit, s.Event(actor, "create", j.App, fp.Form, r.ID, slices.Sorted(maps.Keys(res.Data)), ResultOK, "sample data"))
			fp.Done++
			j.Done++
			if len(ch.Records) >= SampleBatchSize {
				if err := flush(false); err != nil {
					return fail(err)
				}
			}
		}
	}
	if err := flush(true); err != nil {
		return fail(err)
	}
	return j, nil
}
