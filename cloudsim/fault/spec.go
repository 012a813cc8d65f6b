package fault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SpecHelp describes the --faults syntax, for command help.
const SpecHelp = `comma-separated: throttle=P% and errors=P% (each matching call throttled or
answered 500 with probability P), latency=Nx (modelled latency times N) or
latency=D (plus D, e.g. 2s); each optionally @[cloud:]service[/operation]
(globs: @ec2, @aws:iam/Create*, @gcp:*); actor=responder (default),
attacker, background or all says whose calls suffer`

// ParseSpec reads a fault spec such as "throttle=20%,errors=5%,latency=10x"
// into rules (see SpecHelp). Rules apply to the responder's calls unless
// the spec says actor=…; a scenario's faults: block is the same rules in
// YAML.
func ParseSpec(spec string) ([]Rule, error) {
	var rules []Rule
	actor := "responder"
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("fault spec %q: %q is not key=value", spec, item)
		}
		if key == "actor" {
			a, err := ActorPattern(val)
			if err != nil {
				return nil, fmt.Errorf("fault spec %q: %w", spec, err)
			}
			actor = a
			continue
		}
		val, scope, _ := strings.Cut(val, "@")
		r, err := specRule(key, val)
		if err != nil {
			return nil, fmt.Errorf("fault spec %q: %s: %w", spec, item, err)
		}
		if scope != "" {
			r.Cloud, r.Service, r.Operation = Scope(scope)
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("fault spec %q: no fault given (throttle=20%%, errors=5%%, latency=10x, …)", spec)
	}
	for i := range rules {
		rules[i].Actor = actor
		if err := rules[i].Validate(); err != nil {
			return nil, fmt.Errorf("fault spec %q: %w", spec, err)
		}
	}
	return rules, nil
}

func specRule(key, val string) (Rule, error) {
	switch key {
	case "throttle", "errors":
		rate, err := Rate(val)
		if err != nil {
			return Rule{}, err
		}
		kind := Throttle
		if key == "errors" {
			kind = Error5xx
		}
		return Rule{Kind: kind, Rate: rate}, nil
	case "latency":
		if f, ok := strings.CutSuffix(val, "x"); ok {
			n, err := strconv.ParseFloat(f, 64)
			if err != nil || n <= 0 {
				return Rule{}, fmt.Errorf("expected a positive factor such as 10x, got %q", val)
			}
			return Rule{Kind: Latency, Factor: n}, nil
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return Rule{}, fmt.Errorf("expected a factor (10x) or a positive duration (2s), got %q", val)
		}
		return Rule{Kind: Latency, Latency: d}, nil
	}
	return Rule{}, fmt.Errorf("unknown fault %q (throttle, errors, latency, actor)", key)
}

// Rate reads a probability written as a percentage ("20%") or a fraction
// ("0.2").
func Rate(s string) (float64, error) {
	v, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(v, 64)
	if err == nil && pct {
		f /= 100
	}
	if err != nil || f <= 0 || f > 1 {
		return 0, fmt.Errorf("expected a rate such as 20%% or 0.2, got %q", s)
	}
	return f, nil
}

// Scope splits "[cloud:]service[/operation]".
func Scope(s string) (cloud, service, operation string) {
	if c, rest, ok := strings.Cut(s, ":"); ok {
		cloud, s = c, rest
	}
	service, operation, _ = strings.Cut(s, "/")
	return cloud, service, operation
}

// ActorPattern turns a spec's actor (responder, attacker, background, all,
// or a glob) into a Rule.Actor pattern.
func ActorPattern(a string) (string, error) {
	switch a {
	case "all", "*":
		return "", nil
	case "background":
		return "background/*", nil
	case "":
		return "", fmt.Errorf("actor is empty (responder, attacker, background, all)")
	}
	return a, nil
}

// String describes a rule for a scorecard: "throttle 20% of responder
// calls to aws:ec2/Describe*".
func (r Rule) String() string {
	var what string
	switch r.Kind {
	case Throttle:
		what = "throttle"
	case Error5xx:
		what = "server errors on"
	case Latency:
		what = "latency"
		if r.Factor > 0 {
			what += fmt.Sprintf(" x%g", r.Factor)
		}
		if r.Latency > 0 {
			what += " +" + r.Latency.String()
		}
		what += " on"
	case Stale:
		what = fmt.Sprintf("stale reads (%s) on", r.Window)
	default:
		what = string(r.Kind)
	}
	share := "all"
	if r.Rate > 0 {
		share = strconv.FormatFloat(r.Rate*100, 'f', -1, 64) + "% of"
	}
	who := "every actor's"
	if r.Actor != "" {
		who = r.Actor
	}
	out := fmt.Sprintf("%s %s %s calls", what, share, who)
	if r.Cloud != "" || r.Service != "" || r.Operation != "" {
		out += " to " + or(r.Cloud) + ":" + or(r.Service) + "/" + or(r.Operation)
	}
	return out
}
