package gcpworld

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// TestDisablingRevokesEveryToken: disabling a service account rejects every
// token it holds at once (the documented default) and refuses new ones;
// re-enabling brings the unexpired tokens back.
func TestDisablingRevokesEveryToken(t *testing.T) {
	w := world.New(clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), 7)
	w.Lock()
	defer w.Unlock()
	g := Of(w)
	g.AddProject("prod", "us-central1")
	sa, err := g.AddServiceAccount("prod", "web", "web tier")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.IssueToken(sa.Email, "static", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(tok.Value); err != nil {
		t.Fatal(err)
	}
	disable := func(d bool) {
		if err := g.ServiceAccountChange(sa.Email, func() error { return g.SetServiceAccountDisabled(sa.Email, d) }); err != nil {
			t.Fatal(err)
		}
	}
	disable(true)
	if _, err := g.Authenticate(tok.Value); !errors.Is(err, ErrAccountDisabled) {
		t.Fatalf("a token of a disabled account authenticates: %v", err)
	}
	if _, err := g.IssueToken(sa.Email, "static", "", time.Hour); !errors.Is(err, ErrAccountDisabled) {
		t.Fatalf("a disabled account gets a token: %v", err)
	}
	disable(false)
	if _, err := g.Authenticate(tok.Value); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
}

// TestFingerprintsAreCanonicalBase64: clients that hold a fingerprint as
// bytes (gcloud) decode and re-encode it; only a canonical encoding of 8
// bytes survives the round trip unchanged.
func TestFingerprintsAreCanonicalBase64(t *testing.T) {
	w := world.New(clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), 7)
	w.Lock()
	defer w.Unlock()
	for range 500 {
		fp := Of(w).Fingerprint()
		raw, err := base64.URLEncoding.DecodeString(fp)
		if err != nil || len(raw) != 8 {
			t.Fatalf("fingerprint %q: %d bytes, %v", fp, len(raw), err)
		}
		if again := base64.URLEncoding.EncodeToString(raw); again != fp {
			t.Fatalf("fingerprint %q re-encodes as %q", fp, again)
		}
	}
}
