package web

// AccountPage is the signed-in user's own account: one of its tabs —
// password, sessions and devices, personal API tokens (two-step
// verification is the MFA page, under the same tabs).
type AccountPage struct {
	Page
	Tab        string // "password", "sessions", "tokens"
	Name       string
	Email      string
	MustChange bool              // an administrator's reset is pending: only the password form
	Error      string            // a refusal of the whole form
	Fields     map[string]string // field errors of the password or token form, by input name
	Sessions   []AccountSession
	Tokens     []AccountToken
	Apps       []Choice         // apps a token may be limited to
	TokenForm  AccountTokenForm // the create form as sent, after a refusal
	NewToken   *AccountNewToken // the token just created: its secret is shown only now
}

// AccountSession is one place the user is signed in.
type AccountSession struct {
	ID, Kind, Device, IP, Created, LastSeen string
	Current                                 bool
}

// AccountToken is one personal API token (never its secret).
type AccountToken struct {
	ID, Name, Apps, Created, Expires, LastUsed string
}

// AccountTokenForm is the token create form's values.
type AccountTokenForm struct {
	Name string
	Days string
	Apps map[string]bool
}

// AccountNewToken is a token just created, with its secret.
type AccountNewToken struct {
	Name, Secret string
}

// tokenDays are the lifetimes the token form offers, in days.
var tokenDays = []string{"30", "90", "180", "365"}

func (v AccountPage) fieldError(name string) string { return v.Fields[name] }
