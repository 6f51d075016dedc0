package main

import "testing"

// TestServerConfigFromEnvironment: an https public address makes cookies
// Secure; FORMWORK_TRUST_PROXY=1 trusts the proxy's headers; neither by
// default.
func TestServerConfigFromEnvironment(t *testing.T) {
	t.Setenv("FORMWORK_PUBLIC_URL", "")
	t.Setenv("FORMWORK_TRUST_PROXY", "")
	if c := serverConfig(); c.SecureCookies || c.TrustProxy {
		t.Errorf("defaults: secure cookies %v, trust proxy %v; want neither", c.SecureCookies, c.TrustProxy)
	}
	t.Setenv("FORMWORK_PUBLIC_URL", "HTTPS://forms.example.com")
	t.Setenv("FORMWORK_TRUST_PROXY", "1")
	if c := serverConfig(); !c.SecureCookies || !c.TrustProxy {
		t.Errorf("behind https: secure cookies %v, trust proxy %v; want both", c.SecureCookies, c.TrustProxy)
	}
}
