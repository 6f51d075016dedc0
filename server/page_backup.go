package server

import (
	"fmt"
	"net/http"
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
	v := web.AdminBackupsPage{Page: pg, AdminNav: nav, Off: s.backups == nil}
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
