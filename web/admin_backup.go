package web

// AdminBackupsPage is /admin/backups: the backups serve keeps, newest first.
type AdminBackupsPage struct {
	Page
	AdminNav
	Dir     string
	Off     bool // this process takes no backups (MongoDB, or FORMWORK_BACKUP_EVERY=off)
	CanRun  bool // backups can be taken and verified from the page
	Backups []AdminBackupRow
	Job     *BackupJobView // the backup or verify asked for (?job=ID)
}

// AdminBackupRow is one backup file.
type AdminBackupRow struct {
	Name, Time, Size string
}

// BackupJobView is a backup being taken or verified from the page: its
// steps done of total, its status (running, done, failed) and what it
// found, which static/backup.js follows at StatusURL until it ends.
type BackupJobView struct {
	Kind, Name, Status, Message, StatusURL string
	Done, Total                            int
}
