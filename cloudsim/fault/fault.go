// Package fault injects failures into the simulated clouds: throttling with
// each protocol's real envelope, server errors, extra latency and eventual
// consistency, scoped per cloud, service, operation and principal. The wire
// front ends ask a Set which effects apply to each call.
package fault

import (
	"fmt"
	"path"
	"strings"
	"sync"
	"time"
)

// Kind is what a rule does to a matching call.
type Kind string

// Fault kinds.
const (
	Throttle Kind = "throttle" // the protocol's throttling error (retryable)
	Error5xx Kind = "5xx"      // an internal server error (retryable)
	Latency  Kind = "latency"  // extra modelled latency
	Stale    Kind = "stale"    // resources younger than Window are not yet visible
)

// Rule scopes one fault. Empty match fields match anything; fields accept
// path.Match globs ("Describe*", "arn:aws:iam::*:user/attacker").
type Rule struct {
	Cloud     string `yaml:"cloud" json:"cloud,omitempty"`
	Service   string `yaml:"service" json:"service,omitempty"`
	Operation string `yaml:"operation" json:"operation,omitempty"`
	Principal string `yaml:"principal" json:"principal,omitempty"`
	// Actor is the class of caller in a drill ("responder", "attacker",
	// "background/alice"; "client" for any other client).
	Actor string `yaml:"actor" json:"actor,omitempty"`
	Kind  Kind   `yaml:"kind" json:"kind"`
	// Rate, when above 0, makes the rule fire on each matching call with
	// that probability (0 < Rate <= 1), drawn from the caller's own random
	// stream (Target.Draw).
	Rate    float64       `yaml:"rate" json:"rate,omitempty"`
	Times   int           `yaml:"times" json:"times,omitempty"` // affect at most this many calls; 0 = no limit
	Every   int           `yaml:"every" json:"every,omitempty"` // affect every Nth matching call; 0 or 1 = each
	Latency time.Duration `yaml:"latency" json:"latency,omitempty"`
	// Factor multiplies the call's modelled latency (latency rules; with
	// Latency both apply).
	Factor float64       `yaml:"factor" json:"factor,omitempty"`
	Window time.Duration `yaml:"window" json:"window,omitempty"`
	Status int           `yaml:"status" json:"status,omitempty"` // for 5xx: 500, 502, 503 (default 500)

	seen, fired int
}

// Validate reports a rule that cannot do anything sensible.
func (r *Rule) Validate() error {
	switch r.Kind {
	case Throttle, Error5xx:
	case Latency:
		if r.Latency <= 0 && r.Factor <= 0 {
			return fmt.Errorf("fault rule %s: a latency or a factor must be positive", r.describe())
		}
		if r.Factor < 0 {
			return fmt.Errorf("fault rule %s: factor %g is negative", r.describe(), r.Factor)
		}
	case Stale:
		if r.Window <= 0 {
			return fmt.Errorf("fault rule %s: window must be positive", r.describe())
		}
	default:
		return fmt.Errorf("fault rule %s: kind %q: expected throttle, 5xx, latency or stale", r.describe(), r.Kind)
	}
	if r.Rate < 0 || r.Rate > 1 {
		return fmt.Errorf("fault rule %s: rate %g is not a probability (0 to 1)", r.describe(), r.Rate)
	}
	for _, p := range []string{r.Cloud, r.Service, r.Operation, r.Principal, r.Actor} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("fault rule %s: bad pattern %q: %w", r.describe(), p, err)
		}
	}
	return nil
}

func (r *Rule) describe() string {
	return strings.Join([]string{or(r.Cloud), or(r.Service), or(r.Operation), or(r.Principal), or(r.Actor)}, "/")
}

func or(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// Target identifies a call.
type Target struct {
	Cloud, Service, Operation, Principal string
	// Actor is the caller's class in a drill (see Rule.Actor).
	Actor string
	// Draw returns the next number in [0, 1) of the caller's own random
	// stream, for rules with a Rate; nil fires them on every match.
	Draw func() float64
}

// Effects is what applies to one call.
type Effects struct {
	Throttle     bool
	Error        int // HTTP status of an injected server error, 0 if none
	ExtraLatency time.Duration
	// LatencyFactor multiplies the call's modelled latency (0 = 1).
	LatencyFactor float64
	StaleWindow   time.Duration
}

// Scale applies the latency effects to a call's modelled latency.
func (e Effects) Scale(d time.Duration) time.Duration {
	if e.LatencyFactor > 0 {
		d = time.Duration(float64(d) * e.LatencyFactor)
	}
	return d + e.ExtraLatency
}

// Set is a concurrency-safe list of rules.
type Set struct {
	mu    sync.Mutex
	rules []*Rule
}

// Add validates and appends a rule.
func (s *Set) Add(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &r)
	return nil
}

// Clear removes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Apply returns the effects of every rule matching t, counting the call
// against each rule's budget. A nil Set applies nothing.
func (s *Set) Apply(t Target) Effects {
	var eff Effects
	if s == nil {
		return eff
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if !r.matches(t) {
			continue
		}
		r.seen++
		if r.Every > 1 && r.seen%r.Every != 0 {
			continue
		}
		if r.Times > 0 && r.fired >= r.Times {
			continue
		}
		if r.Rate > 0 && t.Draw != nil && t.Draw() >= r.Rate {
			continue
		}
		r.fired++
		switch r.Kind {
		case Throttle:
			eff.Throttle = true
		case Error5xx:
			eff.Error = r.Status
			if eff.Error == 0 {
				eff.Error = 500
			}
		case Latency:
			eff.ExtraLatency += r.Latency
			if r.Factor > 0 {
				if eff.LatencyFactor == 0 {
					eff.LatencyFactor = 1
				}
				eff.LatencyFactor *= r.Factor
			}
		case Stale:
			if r.Window > eff.StaleWindow {
				eff.StaleWindow = r.Window
			}
		}
	}
	return eff
}

func (r *Rule) matches(t Target) bool {
	return glob(r.Cloud, t.Cloud) && glob(r.Service, t.Service) &&
		glob(r.Operation, t.Operation) && glob(r.Principal, t.Principal) && glob(r.Actor, t.Actor)
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok || strings.EqualFold(pattern, s)
}
