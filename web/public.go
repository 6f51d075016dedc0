package web

// PublicFormPage is the anonymous page of a public form link: the fields
// the public fills, its signed form token and proof-of-work challenge.
type PublicFormPage struct {
	Page
	FormTitle  string
	Action     string // where the form posts
	PreviewURL string // where live rules are asked
	Sections   []Section
	Errors     []string // errors not tied to a visible field
	FormToken  string
	Challenge  string
	WorkBits   int
	Work       string // a proof of work already found (a refused submission shown again)
}

// PublicMessagePage is what a public link's visitor reads instead of the
// form: the thank-you after sending it, or why it was refused.
type PublicMessagePage struct {
	Page
	Status   int
	Heading  string
	Detail   string
	RetryURL string // open the form again; "" when that cannot help
	Done     bool   // the thank-you
}

// PublicLinkPage is where an administrator or designer makes, shows and
// revokes a form's public link.
type PublicLinkPage struct {
	Page
	FormTitle    string
	ListURL      string
	Action       string // makes a new link
	RevokeAction string
	Link         *PublicLinkInfo // nil when the form has none
	Units        []Choice
	Unit         string
	Owner        string
	Sensitive    []SensitiveChoice
	Fields       []string // labels of the fields the public fills
	Errors       []string
}

// PublicLinkInfo is a form's live public link as its page shows it.
type PublicLinkInfo struct {
	URL       string
	QR        string // data: URL of the QR code PNG
	Unit      string
	Owner     string
	Sensitive string
	CreatedAt string
	CreatedBy string
}

// SensitiveChoice is a sensitive field the link may let the public fill.
type SensitiveChoice struct {
	Key     string
	Label   string
	Checked bool
}

// makeLabel names the button (and its section) that makes a link: a new
// one when the form has one already.
func makeLabel(lang string, replace bool) string {
	if replace {
		return Msg(lang, "public.link.replace")
	}
	return Msg(lang, "public.link.make")
}
