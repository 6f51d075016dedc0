package web

func init() {
	addMessages(map[string][2]string{
		"reauth.why": {"为了账号安全，系统要求你再次输入两步验证码。验证后将回到刚才的页面。", "For your account's safety, enter your two-factor code again. You will then go back to the page you were on."},
	})
}
