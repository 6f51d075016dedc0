package web

// AdminBackupsPage is /admin/backups: the backups serve keeps, newest first.
type AdminBackupsPage struct {
	Page
	AdminNav
	Dir     string
	Off     bool // this process takes no backups (MongoDB, or FORMWORK_BACKUP_EVERY=off)
	Backups []AdminBackupRow
}

// AdminBackupRow is one backup file.
type AdminBackupRow struct {
	Name, Time, Size string
}
