package awsworld

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// TestIAMPropagationKnob: a policy change is read back at once and
// authorizes only after the drawn delay; with a zero knob it authorizes at
// once; a later change that arrives first is not undone by an earlier one.
func TestIAMPropagationKnob(t *testing.T) {
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	for _, tc := range []struct {
		name       string
		knob       world.Latency
		wantAtOnce world.Decision
	}{
		{"default 2-10 s", world.DefaultKnobs().IAMPropagation, world.Allowed},
		{"zero: immediate", world.Latency{}, world.ExplicitDeny},
		{"fixed 30 s", world.Latency{Min: 30 * time.Second, Max: 30 * time.Second}, world.Allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNetFixture(t)
			w := f.w
			w.Lock()
			k := w.KnobsLocked()
			k.IAMPropagation = tc.knob
			must(t, w.SetKnobsLocked(k))
			r := Of(w).AddRole("111122223333", "app", "")
			r.Policies["base"] = allow // seeded directly: no propagation
			p := &Principal{Kind: "session", Role: r}
			decide := func() world.Decision {
				d, err := Of(w).Authorize(p, world.Request{Action: "ec2:DescribeInstances"})
				must(t, err)
				return d
			}
			must(t, Of(w).IAMChange("role", "app", func() error { return Of(w).PutInlinePolicy("role", "app", "revoke", deny) }))
			if doc, err := Of(w).InlinePolicy("role", "app", "revoke"); err != nil || doc != deny {
				t.Fatalf("readers see %q, %v", doc, err)
			}
			if got := decide(); got != tc.wantAtOnce {
				t.Fatalf("at once: %v, want %v", got, tc.wantAtOnce)
			}
			w.Unlock()
			f.clk.t = f.clk.t.Add(tc.knob.Max + time.Second)
			w.Lock()
			defer w.Unlock()
			if got := decide(); got != world.ExplicitDeny {
				t.Fatalf("after %s: %v, want ExplicitDeny", tc.knob.Max, got)
			}
			for key := range Of(w).iamLags.All() {
				t.Fatalf("the lag of %s is kept after every change arrived", key)
			}
		})
	}
}

// TestAccessKeyPropagation: a deactivated or deleted key authenticates
// until the change arrives; ListAccessKeys-style reads see it at once.
func TestAccessKeyPropagation(t *testing.T) {
	for _, del := range []bool{false, true} {
		f := newNetFixture(t)
		w := f.w
		w.Lock()
		Of(w).AddUser("111122223333", "ci")
		k, err := Of(w).AddAccessKey("ci")
		must(t, err)
		must(t, Of(w).AccessKeyChange(k.ID, func() error {
			if del {
				return Of(w).DeleteAccessKey("ci", k.ID)
			}
			return Of(w).UpdateAccessKey("ci", k.ID, "Inactive")
		}))
		if _, ok := Of(w).AccessKeys.Get(k.ID); ok == del {
			t.Fatalf("delete=%v: listed=%v", del, ok)
		}
		if _, err := Of(w).Authenticate(k.ID, ""); err != nil {
			t.Fatalf("delete=%v: at once the key should still authenticate: %v", del, err)
		}
		w.Unlock()
		f.clk.t = f.clk.t.Add(world.DefaultKnobs().IAMPropagation.Max)
		w.Lock()
		if _, err := Of(w).Authenticate(k.ID, ""); err == nil {
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
	Of(w).AddUser("111122223333", "ci", "arn:aws:iam::aws:policy/AdministratorAccess")
	k, err := Of(w).AddAccessKey("ci")
	must(t, err)
	p, err := Of(w).Authenticate(k.ID, "")
	must(t, err)
	must(t, Of(w).AttachPolicy("user", "ci", "arn:aws:iam::aws:policy/AWSDenyAll"))
	if d, _ := Of(w).Authorize(p, world.Request{Action: "s3:ListAllMyBuckets"}); d != world.ExplicitDeny {
		t.Fatalf("a direct attach authorizes %v, want ExplicitDeny at once", d)
	}
	must(t, Of(w).UpdateAccessKey("ci", k.ID, "Inactive"))
	if _, err := Of(w).Authenticate(k.ID, ""); err == nil {
		t.Fatal("a directly deactivated key still authenticates")
	}
}
