package world

import (
	"testing"
	"time"
)

// TestIAMPropagationKnob: a policy change is read back at once and
// authorizes only after the drawn delay; with a zero knob it authorizes at
// once; a later change that arrives first is not undone by an earlier one.
func TestIAMPropagationKnob(t *testing.T) {
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	for _, tc := range []struct {
		name       string
		knob       Latency
		wantAtOnce Decision
	}{
		{"default 2-10 s", DefaultKnobs().IAMPropagation, Allowed},
		{"zero: immediate", Latency{}, ExplicitDeny},
		{"fixed 30 s", Latency{Min: 30 * time.Second, Max: 30 * time.Second}, Allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNetFixture(t)
			w := f.w
			w.Lock()
			k := w.KnobsLocked()
			k.IAMPropagation = tc.knob
			must(t, w.SetKnobsLocked(k))
			r := w.AddRoleLocked("111122223333", "app", "")
			r.Policies["base"] = allow // seeded directly: no propagation
			p := &Principal{Kind: "session", Role: r}
			decide := func() Decision {
				d, err := w.AuthorizeLocked(p, Request{Action: "ec2:DescribeInstances"})
				must(t, err)
				return d
			}
			must(t, w.IAMChangeLocked("role", "app", func() error { return w.PutInlinePolicyLocked("role", "app", "revoke", deny) }))
			if doc, err := w.InlinePolicyLocked("role", "app", "revoke"); err != nil || doc != deny {
				t.Fatalf("readers see %q, %v", doc, err)
			}
			if got := decide(); got != tc.wantAtOnce {
				t.Fatalf("at once: %v, want %v", got, tc.wantAtOnce)
			}
			w.Unlock()
			f.clk.t = f.clk.t.Add(tc.knob.Max + time.Second)
			w.Lock()
			defer w.Unlock()
			if got := decide(); got != ExplicitDeny {
				t.Fatalf("after %s: %v, want ExplicitDeny", tc.knob.Max, got)
			}
			if w.prop != nil && len(w.prop.iam.m) != 0 {
				t.Fatalf("the lag is kept after every change arrived: %v", w.prop.iam)
			}
		})
	}
}

// TestPropagationNewestChangeWins: two changes of one entity whose delays
// cross: the later change, arriving first, ends the lag (authorization
// reads the live state again), and the earlier one arriving afterwards
// does not bring the old state back.
func TestPropagationNewestChangeWins(t *testing.T) {
	f := newNetFixture(t)
	w := f.w
	w.Lock()
	lags := NewLags[string]("test")
	start := f.clk.t
	lags.propagateLocked(w, "k", "v0", "v1", Latency{Min: 10 * time.Second, Max: 10 * time.Second})
	f.clk.t = start.Add(time.Second)
	lags.propagateLocked(w, "k", "v1", "v2", Latency{Min: 2 * time.Second, Max: 2 * time.Second})
	if got, _ := lags.Seen("k"); got != "v0" {
		t.Fatalf("seen %q, want v0", got)
	}
	w.Unlock()
	for _, step := range []struct {
		at   time.Duration
		want string
		lag  bool
	}{{2 * time.Second, "v0", true}, {3 * time.Second, "", false}, {11 * time.Second, "", false}} {
		f.clk.t = start.Add(step.at)
		w.Lock()
		got, lagging := lags.Seen("k")
		w.Unlock()
		if lagging != step.lag || got != step.want {
			t.Fatalf("at +%s: seen %q (lagging %v), want %q (%v)", step.at, got, lagging, step.want, step.lag)
		}
	}
}

// TestAccessKeyPropagation: a deactivated or deleted key authenticates
// until the change arrives; ListAccessKeys-style reads see it at once.
func TestAccessKeyPropagation(t *testing.T) {
	for _, del := range []bool{false, true} {
		f := newNetFixture(t)
		w := f.w
		w.Lock()
		w.AddUserLocked("111122223333", "ci")
		k, err := w.AddAccessKeyLocked("ci")
		must(t, err)
		must(t, w.AccessKeyChangeLocked(k.ID, func() error {
			if del {
				return w.DeleteAccessKeyLocked("ci", k.ID)
			}
			return w.UpdateAccessKeyLocked("ci", k.ID, "Inactive")
		}))
		if _, ok := w.AccessKeys[k.ID]; ok == del {
			t.Fatalf("delete=%v: listed=%v", del, ok)
		}
		if _, err := w.AuthenticateLocked(k.ID, ""); err != nil {
			t.Fatalf("delete=%v: at once the key should still authenticate: %v", del, err)
		}
		w.Unlock()
		f.clk.t = f.clk.t.Add(DefaultKnobs().IAMPropagation.Max)
		w.Lock()
		if _, err := w.AuthenticateLocked(k.ID, ""); err == nil {
			t.Fatalf("delete=%v: the key authenticates after the change propagated", del)
		}
		w.Unlock()
	}
}

// TestDirectMutationsConverge: the world's mutators called directly, as
// seeding and harnesses do, act at once; only wire changes propagate.
func TestDirectMutationsConverge(t *testing.T) {
	f := newNetFixture(t)
	w := f.w
	w.Lock()
	defer w.Unlock()
	w.AddUserLocked("111122223333", "ci", "arn:aws:iam::aws:policy/AdministratorAccess")
	k, err := w.AddAccessKeyLocked("ci")
	must(t, err)
	p, err := w.AuthenticateLocked(k.ID, "")
	must(t, err)
	must(t, w.AttachPolicyLocked("user", "ci", "arn:aws:iam::aws:policy/AWSDenyAll"))
	if d, _ := w.AuthorizeLocked(p, Request{Action: "s3:ListAllMyBuckets"}); d != ExplicitDeny {
		t.Fatalf("a direct attach authorizes %v, want ExplicitDeny at once", d)
	}
	must(t, w.UpdateAccessKeyLocked("ci", k.ID, "Inactive"))
	if _, err := w.AuthenticateLocked(k.ID, ""); err == nil {
		t.Fatal("a directly deactivated key still authenticates")
	}
}
