package web

func init() {
	addMessages(map[string][2]string{
		"backups.create":     {"立即备份", "Back up now"},
		"backups.verify":     {"校验", "Verify"},
		"backups.job.create": {"备份", "Backup"},
		"backups.job.verify": {"校验备份", "Verify"},
		"backups.st.running": {"进行中", "Running"},
		"backups.st.done":    {"已完成", "Done"},
		"backups.st.failed":  {"失败", "Failed"},
		"backups.steps":      {"第 %d / %d 步", "step %d of %d"},
		"backups.created":    {"备份已完成：%s，%d 条审计事件，已加密并校验。", "Backup taken: %s, %d audit events, encrypted and checked."},
		"backups.verified":   {"校验通过：恢复到临时目录后，每张表的哈希与备份清单一致，审计链完整（%d 条事件）。", "Verified: restored into a scratch directory, every table's hash matches the backup's manifest and the audit chain holds (%d events)."},
		"backups.failed":     {"失败：%s", "Failed: %s"},
		"backups.job.gone":   {"这个任务已不存在（服务重启过）。", "That task is gone (the server restarted)."},
	})
}
