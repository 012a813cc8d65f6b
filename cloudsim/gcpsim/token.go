package gcpsim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// simPrivateKey signs nothing the simulator checks: Google verifies the
// RS256 signature of a JWT grant, the simulator only reads its claims. It
// is a fixed key so that generated key files are byte-identical per seed;
// it protects nothing and must never be used outside the simulator.
const simPrivateKey = `
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4ndJ+7aibJSdg
v8ShYedR6H85DAT3jU919IePgVafxQLf1/HPMlF6LA2w4C/mwn6b2+JYv6Ehx6EC
0FmRT4a2EBSemjun2cYqLlRAbDwJ17Q3S0gMPkQsgREkb35HZH8FHsVolzggnE1O
d6t5ik4PXEyh7pn5yBtN79R15fXLqvaJfUDgACCuufZHSEUJ8a96468JW6MF7QSq
Q95R6hLNWUV1obmHZ3Fj9cu9XT7CN9fn0MAfBv62ixrCN5F7mGfepw+oZ5G/2loD
KqN1moizgTFI2SApN51TXncRXTH6z4QdozesmWdGMUszMwi1Co/Pzxk/I3j2SJ06
JjYHFNkbAgMBAAECggEANwVyUrnp4jM0hTUiGSbglhzArfPTFyRaZkE2laJqertw
m930B1hryAmRGwH1xMR6j2D9GI4kK7kfV4NY7mHRODmaq5oz5VaWJMQiAAFB830C
DOi21E9KaikdPsqrzAM7h/8fvogzBiUPNS+dP1/k29caT7iY00S8PoIXw/uBQe10
UiDzWRSnaIYQN7vocoMG8jAvE4+8cPwEan2AsmEZ7YSjAHvCtST5/+b4nCPAEIVK
w2URqqy/dzMU6zZX4xtQhbimmuADFLxI9MMl4Jn8rgFUTONWGjS+DJzhO8zFB2XP
+GwOEq3hT+XuuVeXhXiWDDCHxL8A3RshEf9O5cIRwQKBgQDiqMN/ZaayxkogPJUV
CR9wZqXfwDz2iR3RyyHKVz6DDIK9uAhWpCgFnuorhoKKnkGai0n6a/NtVbUSHmkj
ESpp80QWL/yaqjg8vGcaRKTRCqrsb/yD1va9UH9XMlFwSg5/hrZvJiOyRYDzYAbV
Tjo/kmDNqz6y31a7ee4AuuYi4wKBgQDQg88Fjb9JxT08Cm+o0LNLpUPtVFrOqQ0z
hTIvCG9RsrObcDvDPHt1+z3y5ykvE+bIfj00HRqrfMxwJxe8WvlmSaJ1hLQuBJpV
QSccuTgFQFL2SGDYHrunvVC1inSMANMqdv8nA9AXR5Rq6vGuYYRn39Czax8n+BDI
/Zs7DPFuaQKBgQDUfygZzjFEtgZUxrd2K0FgXbvxVAdTkyVzxJ9/Vd/zeM0yFNEs
eWZULrKX79l/H/Odciz/LCniPVIvFHe5OqSrBDi3HHIUhrWGq5N12xkyKnAojq0M
5YIZ5tgb5b7YKXYCNUfgWL9qqSLGCSce3+JYK2G6MGvtwtlLlnp+ELslxQKBgDPm
60wNmXTKZNCiJGMX99k3fO4BVk0kpUWSvQgaCGOEoNJrIGUbk/utGyFwSr8OLB7x
1Vg4el//Q4ATKwRWfMfqQkcQTi06NhRMkGjE7d3Ywg3NvFVvaPR62jEmEpaayfVD
A4X5m/1/csEeVCQ839FfU7qlSm8Pf1YYUmBje2EpAoGAOUWO/VFNin6XT6avC4M1
mHPtO/KJw6nyJQd4Y2b+xyp8nTgDWF6cYnLPgxU402sXs15fUUJZaaiZ0uSflN3/
VeR1XWyljgS286suf0BZxut2AfeRqniz2TfLZf6z8VBYoBNwI5ASZ3Oxe50Golqz
PTvWKsk9qSUpeNOkX9+Rz+M=
-----END PRIVATE KEY-----
`

// KeyFile is a service-account key file (the JSON a console download or
// `gcloud iam service-accounts keys create` produces).
type KeyFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// KeyFileJSON creates a user-managed key for the service account and
// returns its key file with token_uri pointing at baseURL + "/token", so
// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS) obtain
// tokens from the simulator unmodified.
func (s *Server) KeyFileJSON(email, baseURL string) ([]byte, error) {
	s.World.Lock()
	defer s.World.Unlock()
	sa := gcpworld.Of(s.World).ServiceAccounts.Lookup(email)
	if sa == nil {
		return nil, fmt.Errorf("key file: service account %s does not exist", email)
	}
	k, err := gcpworld.Of(s.World).AddServiceAccountKey(email)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return keyFileJSON(sa, k, baseURL)
}

// keyFileJSON renders a user-managed key as its key file, with the
// simulator at baseURL as token_uri.
func keyFileJSON(sa *gcpworld.ServiceAccount, k *gcpworld.ServiceAccountKey, baseURL string) ([]byte, error) {
	base := strings.TrimSuffix(baseURL, "/")
	kf := KeyFile{Type: "service_account", ProjectID: sa.Project, PrivateKeyID: k.ID,
		PrivateKey: strings.TrimPrefix(simPrivateKey, "\n"), ClientEmail: sa.Email, ClientID: sa.UniqueID,
		AuthURI: base + "/o/oauth2/auth", TokenURI: base + "/token",
		AuthProviderX509CertURL: base + "/oauth2/v1/certs",
		ClientX509CertURL:       base + "/robot/v1/metadata/x509/" + url.PathEscape(sa.Email),
		UniverseDomain:          "googleapis.com"}
	return json.MarshalIndent(kf, "", "  ")
}

// IssueToken mints an access token for a principal (a service account or a
// registered user) valid for ttl (default one hour), for clients that use a
// static token source.
func (s *Server) IssueToken(principal string, ttl time.Duration) (string, error) {
	s.World.Lock()
	defer s.World.Unlock()
	t, err := gcpworld.Of(s.World).IssueToken(principal, "static", "", ttl)
	if err != nil {
		return "", fmt.Errorf("issuing token for %s: %w", principal, err)
	}
	return t.Value, nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

func parseJWT(tok string) (jwtHeader, jwtClaims, error) {
	var h jwtHeader
	var c jwtClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return h, c, errors.New("not a JWT")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return h, c, fmt.Errorf("JWT header: %w", err)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return h, c, fmt.Errorf("JWT claims: %w", err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, c, fmt.Errorf("JWT header: %w", err)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return h, c, fmt.Errorf("JWT claims: %w", err)
	}
	if c.Iss == "" {
		return h, c, errors.New("JWT has no iss claim")
	}
	return h, c, nil
}

// selfSignedJWTLocked accepts a service-account JWT used directly as the
// bearer token (Google's self-signed JWT flow); the key it names must be
// enabled.
func (s *Server) selfSignedJWTLocked(tok string) (*gcpworld.Principal, error) {
	h, c, err := parseJWT(tok)
	if err != nil {
		return nil, gcpworld.ErrTokenInvalid
	}
	if c.Exp != 0 && !s.World.Now().Before(time.Unix(c.Exp, 0)) {
		return nil, gcpworld.ErrTokenInvalid
	}
	sa := gcpworld.Of(s.World).ServiceAccounts.Lookup(c.Iss)
	if sa == nil {
		return nil, gcpworld.ErrTokenInvalid
	}
	if sa.Disabled {
		return nil, gcpworld.ErrAccountDisabled
	}
	if k := sa.Key(h.Kid); h.Kid != "" && (k == nil || k.Disabled) {
		return nil, gcpworld.ErrTokenInvalid
	}
	return &gcpworld.Principal{Email: sa.Email, Kind: "serviceAccount",
		Token: &gcpworld.Token{Principal: sa.Email, Kind: "serviceAccount", Source: "jwt:" + h.Kid, KeyID: h.Kid}}, nil
}

// serveToken is Google's OAuth2 token endpoint for the JWT-bearer grant a
// service-account key file uses. The signature is not verified; the issuer
// must be an existing, enabled service account and the key id (if it names
// a key of the account) an enabled key, as Google requires.
func (s *Server) serveToken(w http.ResponseWriter, req *http.Request, body []byte) {
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if req.Method != http.MethodPost {
		oauthErr(405, "invalid_request", "token endpoint accepts POST only")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthErr(400, "invalid_request", "malformed form body")
		return
	}
	if gt := form.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthErr(400, "unsupported_grant_type", fmt.Sprintf("Invalid grant_type: %s", gt))
		return
	}
	h, c, err := parseJWT(form.Get("assertion"))
	if err != nil {
		oauthErr(400, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	s.World.LockAs(simhttp.Caller("gcp", req))
	defer s.World.Unlock()
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 60*time.Millisecond, 0.25).Round(time.Millisecond).String())
	sa := gcpworld.Of(s.World).ServiceAccounts.Lookup(c.Iss)
	if sa == nil {
		oauthErr(400, "invalid_grant", "Invalid grant: account not found")
		return
	}
	t, err := gcpworld.Of(s.World).IssueToken(sa.Email, "key:"+h.Kid, h.Kid, time.Hour)
	switch {
	case errors.Is(err, gcpworld.ErrAccountDisabled):
		oauthErr(400, "invalid_grant", "Invalid grant: account disabled")
		return
	case err != nil:
		oauthErr(400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": t.Value, "expires_in": s.World.ClientSeconds(time.Hour - time.Second), "token_type": "Bearer"})
}
