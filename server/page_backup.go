package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// BackupFile is one backup as /admin/backups lists it.
type BackupFile struct {
	Name string
	Size int64
	Time time.Time
}

// adminBackups is /admin/backups: the backups serve keeps, for administrators.
func (s *server) adminBackups(c echo.Context) error {
	if err := engine.RequireAdmin(principal(c)); err != nil {
		return err
	}
	pg, nav := s.adminPage(c, "admin.backups.title", "backups")
	v := web.AdminBackupsPage{Page: pg, AdminNav: nav, Off: s.backups == nil, CanRun: s.backups != nil && s.runs.runs != nil,
		Job: s.backupJobView(c, pg.Lang)}
	if v.Job != nil && v.Job.Status == "running" {
		v.Scripts = append(v.Scripts, "backup.js")
	}
	if s.backups != nil {
		list, err := s.backups()
		if err != nil {
			return fmt.Errorf("list backups: %w", err)
		}
		for _, b := range list {
			v.Backups = append(v.Backups, web.AdminBackupRow{Name: b.Name, Time: b.Time.In(s.svc.TimeZone()).Format("2006-01-02 15:04"), Size: fmt.Sprintf("%.1f MB", float64(b.Size)/1e6)})
		}
	}
	return Render(c, http.StatusOK, web.AdminBackupsView(v))
}

// BackupRuns takes and verifies backups for /admin/backups; cmd wires them
// to the process's store, backup directory and backup key. Each tells
// step how far it has come.
type BackupRuns struct {
	// Create takes a backup and returns its file name and the number of
	// audit events it holds.
	Create func(ctx context.Context, step func(done, total int)) (name string, events int64, err error)
	// Verify restores the backup named (one Backups lists) into scratch,
	// compares it and returns the number of audit events it verified.
	Verify func(ctx context.Context, name string, step func(done, total int)) (events int64, err error)
}

// backupJob is one backup or verify started from the page. It lives in
// this process's memory: backups are of the SQLite store, which one
// process serves.
type backupJob struct {
	kind, name  string
	status      string // running, done, failed
	done, total int
	events      int64
	failure     engine.Text
}

// backupJobs runs one backup job at a time (a second waits for nothing:
// it is refused while one runs) and remembers the last ones by id.
type backupJobs struct {
	runs *BackupRuns
	mu   sync.Mutex
	jobs map[string]*backupJob
	busy bool
}

func newBackupJobs(r *BackupRuns) *backupJobs {
	return &backupJobs{runs: r, jobs: map[string]*backupJob{}}
}

// start runs fn as a job of kind on name in the background; the audit
// event (ok or failed) is written when it ends, as p.
func (s *server) startBackupJob(c echo.Context, kind, name string, fn func(ctx context.Context, step func(done, total int)) (string, int64, error)) error {
	r := s.runs
	r.mu.Lock()
	if r.busy {
		r.mu.Unlock()
		return engine.Errorf(engine.ECONFLICT, engine.T("已有备份或校验在进行，请等它完成", "a backup or a verify is already running: wait for it to finish"))
	}
	r.busy = true
	id := engine.NewID(s.now())
	j := &backupJob{kind: kind, name: name, status: "running", total: 1}
	r.jobs[id] = j
	r.mu.Unlock()
	p := principal(c)
	go func() {
		ctx := context.Background()
		got, events, err := fn(ctx, func(done, total int) {
			r.mu.Lock()
			j.done, j.total = done, total
			r.mu.Unlock()
		})
		result, reason := engine.ResultOK, ""
		r.mu.Lock()
		if got != "" {
			j.name = got
		}
		j.events = events
		if err != nil {
			j.status, result, reason = "failed", engine.ResultFailed, err.Error()
			j.failure = engine.T("备份失败，详情见服务器日志", "the backup failed; the server log has the details")
			if kind == "verify" {
				j.failure = engine.T("备份文件已损坏、被截断，或不是用这个备份密钥加密的", "the backup is corrupted or truncated, or sealed under another backup key")
			}
			s.log.Error("backup from the page failed", "kind", kind, "file", j.name, "err", err)
		} else {
			j.status, j.done = "done", j.total
		}
		r.busy = false
		name := j.name
		r.mu.Unlock()
		if aerr := s.svc.Audit(ctx, p, "backup."+kind, "", "", name, result, reason); aerr != nil {
			s.log.Error("audit backup", "err", aerr)
		}
	}()
	return c.Redirect(http.StatusSeeOther, "/admin/backups?job="+url.QueryEscape(id))
}

// bindBackupPages binds taking and verifying a backup from /admin/backups
// and following it (administrators).
func (s *server) bindBackupPages(e *echo.Echo, admin []echo.MiddlewareFunc) {
	e.POST("/admin/backups/create", s.createBackupPage, admin...)
	e.POST("/admin/backups/verify", s.verifyBackupPage, admin...)
	e.GET("/admin/backups/jobs/:id", s.backupJobStatus, admin...)
}

func (s *server) backupRunsOff() error {
	if s.runs.runs == nil {
		return engine.Errorf(engine.ENOTFOUND, engine.T("本进程不做备份", "this process takes no backups"))
	}
	return nil
}

func (s *server) createBackupPage(c echo.Context) error {
	if err := s.backupRunsOff(); err != nil {
		return err
	}
	return s.startBackupJob(c, "create", "", s.runs.runs.Create)
}

// verifyBackupPage verifies one of the listed backups (by name only: a
// path or an unknown name is refused before anything is opened).
func (s *server) verifyBackupPage(c echo.Context) error {
	if err := s.backupRunsOff(); err != nil {
		return err
	}
	name := c.FormValue("name")
	list, err := s.backups()
	if err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	if !slices.ContainsFunc(list, func(b BackupFile) bool { return b.Name == name }) {
		return engine.Errorf(engine.ENOTFOUND, engine.T("没有这个备份文件", "there is no such backup file"))
	}
	return s.startBackupJob(c, "verify", name, func(ctx context.Context, step func(done, total int)) (string, int64, error) {
		n, err := s.runs.runs.Verify(ctx, name, step)
		return name, n, err
	})
}

// backupJob returns the job of id and a copy of its state.
func (s *server) backupJob(id string) (backupJob, bool) {
	s.runs.mu.Lock()
	defer s.runs.mu.Unlock()
	j, ok := s.runs.jobs[id]
	if !ok {
		return backupJob{}, false
	}
	return *j, true
}

// backupJobStatus answers {"status", "done", "total"} for the page's script.
func (s *server) backupJobStatus(c echo.Context) error {
	j, ok := s.backupJob(c.Param("id"))
	if !ok {
		return engine.Errorf(engine.ENOTFOUND, engine.T("这个任务已不存在", "that task is gone"))
	}
	return c.JSON(http.StatusOK, map[string]any{"status": j.status, "done": j.done, "total": j.total})
}

// backupJobView is the page's view of the job ?job=ID, if any.
func (s *server) backupJobView(c echo.Context, lang string) *web.BackupJobView {
	id := c.QueryParam("job")
	if id == "" {
		return nil
	}
	j, ok := s.backupJob(id)
	if !ok {
		return &web.BackupJobView{Kind: "create", Status: "failed", Message: web.Msg(lang, "backups.job.gone"), Total: 1}
	}
	v := &web.BackupJobView{Kind: j.kind, Name: j.name, Status: j.status, Done: j.done, Total: j.total, StatusURL: "/admin/backups/jobs/" + url.PathEscape(id)}
	switch {
	case j.status == "failed":
		v.Message = web.Msgf(lang, "backups.failed", j.failure.In(lang))
	case j.status == "done" && j.kind == "create":
		v.Message = web.Msgf(lang, "backups.created", j.name, j.events)
	case j.status == "done":
		v.Message = web.Msgf(lang, "backups.verified", j.events)
	}
	return v
}
