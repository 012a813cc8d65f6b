package world

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// Policy is a parsed IAM-style policy document.
type Policy struct {
	Version   string
	Statement []Statement
}

// Statement is one policy statement. Action, Resource and Principal accept a
// string or a list on the wire; they are normalised to lists here.
type Statement struct {
	Sid       string
	Effect    string
	Action    []string
	NotAction []string
	Resource  []string
	Principal []string // "*" or ARNs; only for resource policies
	Condition map[string]map[string][]string
}

// stringList accepts "x" or ["x","y"] in JSON.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("expected a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// principalField accepts "*", {"AWS": "arn"} or {"AWS": ["arn", …]}.
type principalField []string

func (p *principalField) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		*p = []string{star}
		return nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("Principal: expected \"*\" or an object: %w", err)
	}
	for _, k := range SortedKeys(m) {
		*p = append(*p, m[k]...)
	}
	return nil
}

// ParsePolicy parses a JSON policy document, naming what is malformed.
func ParsePolicy(doc string) (*Policy, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("policy is not valid JSON: %w", err)
	}
	type rawStmt struct {
		Sid       string
		Effect    string
		Action    stringList
		NotAction stringList
		Resource  stringList
		Principal principalField
		Condition map[string]map[string]stringList
	}
	var stmts []rawStmt
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var one rawStmt
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("policy Statement: %w", err)
		}
		stmts = []rawStmt{one}
	} else if err := json.Unmarshal(raw.Statement, &stmts); err != nil {
		return nil, fmt.Errorf("policy Statement: %w", err)
	}
	p := &Policy{Version: raw.Version}
	for i, rs := range stmts {
		if rs.Effect != "Allow" && rs.Effect != "Deny" {
			return nil, fmt.Errorf("policy Statement[%d].Effect: expected Allow or Deny, got %q", i, rs.Effect)
		}
		if len(rs.Action) == 0 && len(rs.NotAction) == 0 {
			return nil, fmt.Errorf("policy Statement[%d]: Action or NotAction is required", i)
		}
		st := Statement{Sid: rs.Sid, Effect: rs.Effect, Action: rs.Action, NotAction: rs.NotAction,
			Resource: rs.Resource, Principal: rs.Principal, Condition: map[string]map[string][]string{}}
		for op, kv := range rs.Condition {
			st.Condition[op] = map[string][]string{}
			for k, v := range kv {
				st.Condition[op][k] = v
			}
		}
		p.Statement = append(p.Statement, st)
	}
	return p, nil
}

// Request is what an authorization decision is made about.
type Request struct {
	Action    string   // "ec2:StopInstances"
	Resources []string // ARNs; empty means the action is not resource-scoped
	Context   map[string]string
}

// Decision is the outcome of evaluating policies.
type Decision int

// Decisions, in IAM's evaluation order.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

// Evaluate applies a set of identity policies: an explicit deny wins, then an
// allow, otherwise the request is implicitly denied.
func Evaluate(policies []*Policy, req Request) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		for _, st := range p.Statement {
			if !st.matches(req) {
				continue
			}
			if st.Effect == "Deny" {
				return ExplicitDeny
			}
			d = Allowed
		}
	}
	return d
}

func (st Statement) matches(req Request) bool {
	if len(st.Action) > 0 && !anyGlob(st.Action, req.Action, true) {
		return false
	}
	if len(st.NotAction) > 0 && anyGlob(st.NotAction, req.Action, true) {
		return false
	}
	if len(st.Resource) > 0 && len(req.Resources) > 0 {
		hit := false
		for _, r := range req.Resources {
			if anyGlob(st.Resource, r, false) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return conditionsHold(st.Condition, req.Context)
}

// PrincipalMatches reports whether a resource-policy statement names arn.
func (st Statement) PrincipalMatches(arn, account string) bool {
	for _, p := range st.Principal {
		if p == "*" || p == arn || p == account || p == "arn:aws:iam::"+account+":root" {
			return true
		}
	}
	return false
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if p == "*" || p == s {
			return true
		}
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

// conditionsHold evaluates the condition operators firedrill models. An
// unknown operator never matches, so a statement using it is inert rather
// than over-broad.
func conditionsHold(cond map[string]map[string][]string, ctx map[string]string) bool {
	for op, kv := range cond {
		for key, want := range kv {
			got, present := ctx[key]
			if !present {
				// IAM: a condition on a missing key does not match, except
				// for the ...IfExists variants.
				if strings.HasSuffix(op, "IfExists") {
					continue
				}
				return false
			}
			if !conditionHolds(strings.TrimSuffix(op, "IfExists"), got, want) {
				return false
			}
		}
	}
	return true
}

func conditionHolds(op, got string, want []string) bool {
	for _, w := range want {
		if conditionValueHolds(op, got, w) {
			return true
		}
	}
	return false
}

func conditionValueHolds(op, got, want string) bool {
	switch op {
	case "StringEquals", "ArnEquals":
		return got == want
	case "StringNotEquals", "ArnNotEquals":
		return got != want
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(got, want)
	case "StringLike", "ArnLike":
		return anyGlob([]string{want}, got, false)
	case "StringNotLike", "ArnNotLike":
		return !anyGlob([]string{want}, got, false)
	case "Bool":
		return strings.EqualFold(got, want)
	case "DateLessThan", "DateGreaterThan", "DateLessThanEquals", "DateGreaterThanEquals":
		g, err1 := parseIAMTime(got)
		wt, err2 := parseIAMTime(want)
		if err1 != nil || err2 != nil {
			return false
		}
		switch op {
		case "DateLessThan":
			return g.Before(wt)
		case "DateGreaterThan":
			return g.After(wt)
		case "DateLessThanEquals":
			return !g.After(wt)
		default:
			return !g.Before(wt)
		}
	}
	return false
}

func parseIAMTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an IAM date: %q", s)
}

// IAMTime formats t the way IAM condition values and console policies do.
func IAMTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
