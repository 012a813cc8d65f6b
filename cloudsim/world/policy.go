package world

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy is a parsed IAM-style policy document.
type Policy struct {
	Version   string
	Statement []Statement
}

// Statement is one policy statement. Action, Resource and Principal (and
// their Not… forms) accept a string or a list on the wire; they are
// normalised to lists here.
type Statement struct {
	Sid          string
	Effect       string
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Principal    []string // "*" or ARNs; only for resource policies
	NotPrincipal []string // only for resource policies
	Condition    map[string]map[string][]string
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
		Sid          string
		Effect       string
		Action       stringList
		NotAction    stringList
		Resource     stringList
		NotResource  stringList
		Principal    principalField
		NotPrincipal principalField
		Condition    map[string]map[string]stringList
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
		// IAM rejects a statement carrying an element and its negation
		// ("IAM JSON policy elements: NotAction / NotResource / NotPrincipal":
		// each is used instead of its positive form).
		for _, pair := range []struct {
			name    string
			pos, ng int
		}{{"Action", len(rs.Action), len(rs.NotAction)}, {"Resource", len(rs.Resource), len(rs.NotResource)},
			{"Principal", len(rs.Principal), len(rs.NotPrincipal)}} {
			if pair.pos > 0 && pair.ng > 0 {
				return nil, fmt.Errorf("policy Statement[%d]: %s and Not%s cannot be used together", i, pair.name, pair.name)
			}
		}
		st := Statement{Sid: rs.Sid, Effect: rs.Effect, Action: rs.Action, NotAction: rs.NotAction,
			Resource: rs.Resource, NotResource: rs.NotResource, Principal: rs.Principal, NotPrincipal: rs.NotPrincipal,
			Condition: map[string]map[string][]string{}}
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

// Context holds a request's condition keys. A key may carry several values
// (aws:TagKeys, aws:CalledVia): the ForAnyValue:/ForAllValues: set
// operators test those. Keys are looked up case-insensitively, as IAM does
// ("IAM JSON policy elements: Condition": condition key names are not
// case-sensitive).
type Context map[string][]string

// Set replaces key's values.
func (c Context) Set(key string, values ...string) { c[key] = values }

// Values returns key's values and whether the key is present.
func (c Context) Values(key string) ([]string, bool) {
	if v, ok := c[key]; ok {
		return v, true
	}
	for _, k := range SortedKeys(c) {
		if strings.EqualFold(k, key) {
			return c[k], true
		}
	}
	return nil, false
}

// Request is what an authorization decision is made about.
type Request struct {
	Action string // "ec2:StopInstances"
	// Resources are ARNs; empty means the action is not resource-scoped in
	// the simulator. A request naming several resources is decided per
	// resource (see Explain).
	Resources []string
	Context   Context
}

// Decision is the outcome of evaluating policies.
type Decision int

// Decisions, in IAM's evaluation order.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allowed"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate applies a set of identity policies: an explicit deny wins, then an
// allow, otherwise the request is implicitly denied.
func Evaluate(policies []*Policy, req Request) Decision {
	d, _ := Explain(policies, req)
	return d
}

// Explain is Evaluate that also names the resource that decided a denial
// ("" when the request is not resource-scoped). A request on several
// resources (StopInstances on three instances) is authorized per resource,
// as AWS does ("Policy evaluation logic"; EC2 fails the whole call with
// UnauthorizedOperation when one resource is not allowed): an explicit deny
// on any resource denies the request, and an allow must cover every one.
func Explain(policies []*Policy, req Request) (Decision, string) {
	resources := req.Resources
	if len(resources) == 0 {
		resources = []string{""}
	}
	d, at := Allowed, ""
	for _, r := range resources {
		switch evaluateResource(policies, req.Action, r, req.Context) {
		case ExplicitDeny:
			return ExplicitDeny, r
		case ImplicitDeny:
			if d == Allowed {
				d, at = ImplicitDeny, r
			}
		}
	}
	return d, at
}

// evaluateResource decides one action on one resource ("" for none): any
// applicable Deny statement wins over any applicable Allow; with neither, the
// request is implicitly denied ("Policy evaluation logic: Determining
// whether a request is allowed or denied within an account").
func evaluateResource(policies []*Policy, action, resource string, ctx Context) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		for _, st := range p.Statement {
			if !st.applies(action, resource, ctx) {
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

func (st Statement) applies(action, resource string, ctx Context) bool {
	if len(st.Action) > 0 && !anyWildcard(st.Action, action, true) {
		return false
	}
	// NotAction: the statement covers every action except those listed
	// ("IAM JSON policy elements: NotAction").
	if len(st.NotAction) > 0 && anyWildcard(st.NotAction, action, true) {
		return false
	}
	// A request the simulator does not scope to a resource ("") is not
	// narrowed by Resource or NotResource.
	if resource != "" {
		if len(st.Resource) > 0 && !anyWildcard(st.Resource, resource, false) {
			return false
		}
		// NotResource: every resource except those listed ("IAM JSON
		// policy elements: NotResource").
		if len(st.NotResource) > 0 && anyWildcard(st.NotResource, resource, false) {
			return false
		}
	}
	return conditionsHold(st.Condition, ctx)
}

// PrincipalMatches reports whether a resource-policy statement's Principal
// element names arn: the ARN itself, "*", or its account (an account
// principal delegates to every identity of the account).
func (st Statement) PrincipalMatches(arn, account string) bool {
	return principalListed(st.Principal, arn, account)
}

func principalListed(list []string, arn, account string) bool {
	for _, p := range list {
		if p == "*" || p == arn || (account != "" && (p == account || p == "arn:aws:iam::"+account+":root")) {
			return true
		}
	}
	return false
}

// AppliesToPrincipal reports whether a resource-policy statement covers a
// caller known by arns (its own ARN first, then the role its session
// belongs to) in account, through Principal or NotPrincipal.
//
// NotPrincipal covers everyone it does not exclude, and it excludes a caller
// only when it lists both the caller's own ARN (the assumed-role session ARN
// for a session, not the role's) and the caller's account: a NotPrincipal
// naming only user/Bob still applies to Bob, because the account he acts
// through is not excluded ("IAM JSON policy elements: NotPrincipal").
func (st Statement) AppliesToPrincipal(arns []string, account string) bool {
	if len(st.NotPrincipal) > 0 {
		if len(arns) == 0 {
			return true
		}
		self := slices.Contains(st.NotPrincipal, "*") || slices.Contains(st.NotPrincipal, arns[0])
		acct := account == "" || slices.Contains(st.NotPrincipal, "*") ||
			slices.Contains(st.NotPrincipal, account) || slices.Contains(st.NotPrincipal, "arn:aws:iam::"+account+":root")
		return !(self && acct)
	}
	for _, a := range arns {
		if st.PrincipalMatches(a, account) {
			return true
		}
	}
	return false
}

// anyWildcard reports whether s matches one of the patterns, with IAM's
// wildcards: "*" any run of characters (slashes and colons included) and
// "?" any one character. Actions compare case-insensitively, resources
// case-sensitively ("IAM JSON policy elements: Action / Resource").
func anyWildcard(patterns []string, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a pattern of literal characters, "*" and
// "?", without backtracking blow-up (the classic greedy-star algorithm).
func wildcardMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// conditionOp is a parsed condition operator name such as
// "ForAnyValue:StringNotLikeIfExists".
type conditionOp struct {
	set      string // "", "ForAnyValue" or "ForAllValues"
	base     string // the positive operator: "StringLike"
	negated  bool   // StringNotLike, NotIpAddress, …
	ifExists bool
}

// negatedOps maps each negated operator to the positive one it negates.
var negatedOps = map[string]string{
	"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
	"StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
	"NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
}

// positiveOps are the operators valueMatches knows.
var positiveOps = map[string]bool{
	"StringEquals": true, "StringEqualsIgnoreCase": true, "StringLike": true,
	"NumericEquals": true, "NumericLessThan": true, "NumericLessThanEquals": true,
	"NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"DateEquals": true, "DateLessThan": true, "DateLessThanEquals": true,
	"DateGreaterThan": true, "DateGreaterThanEquals": true,
	"Bool": true, "BinaryEquals": true, "IpAddress": true, "ArnEquals": true, "ArnLike": true,
}

func parseConditionOp(name string) (conditionOp, bool) {
	var op conditionOp
	if set, rest, ok := strings.Cut(name, ":"); ok {
		if set != "ForAnyValue" && set != "ForAllValues" {
			return op, false
		}
		op.set, name = set, rest
	}
	// "You can add IfExists to the end of any condition operator name
	// except the Null condition" ("IAM JSON policy elements: Condition
	// operators").
	if base, ok := strings.CutSuffix(name, "IfExists"); ok && base != "Null" {
		op.ifExists, name = true, base
	}
	if pos, ok := negatedOps[name]; ok {
		op.negated, name = true, pos
	}
	if !positiveOps[name] && name != "Null" {
		return op, false
	}
	op.base = name
	return op, true
}

// conditionsHold evaluates a Condition block: every operator, and every key
// under it, must hold (a logical AND); the values listed for one key are
// alternatives (a logical OR), except under a negated operator, where the
// key matches only when none of them does (a logical NOR) ("IAM JSON policy
// elements: Condition": creating a condition with multiple context keys or
// values). An operator the simulator does not know never holds, so a
// statement using it is inert rather than over-broad.
func conditionsHold(cond map[string]map[string][]string, ctx Context) bool {
	for name, kv := range cond {
		op, ok := parseConditionOp(name)
		if !ok {
			return false
		}
		for key, want := range kv {
			got, present := ctx.Values(key)
			if !op.holds(got, present && len(got) > 0, want) {
				return false
			}
		}
	}
	return true
}

// holds decides one key under one operator, given the request's values for
// it (got, when present) and the policy's values (want).
func (op conditionOp) holds(got []string, present bool, want []string) bool {
	if op.base == "Null" {
		// Null: "true" means the key must be absent, "false" present.
		for _, w := range want {
			if b, err := strconv.ParseBool(w); err == nil && b == !present {
				return true
			}
		}
		return false
	}
	if !present || (op.set == "ForAllValues" && len(got) == 1 && got[0] == "") {
		switch {
		case op.ifExists:
			// IfExists: a missing key makes the condition true.
			return true
		case op.set == "ForAllValues":
			// ForAllValues is true when the request has no value for the
			// key or an empty one ("Multivalued context keys").
			return true
		case op.set == "ForAnyValue":
			// ForAnyValue is false when the key is missing.
			return false
		default:
			// A missing key does not match, so a condition that requires
			// the key not to match (StringNotLike, ArnNotLike, …) is true
			// and every other one false ("IAM JSON policy elements:
			// Condition operators").
			return op.negated
		}
	}
	// one reports whether a single request value satisfies the operator:
	// it matches one of the policy values, or for a negated operator none.
	one := func(v string) bool {
		hit := slices.ContainsFunc(want, func(w string) bool { return valueMatches(op.base, v, w) })
		return hit != op.negated
	}
	if op.set == "ForAllValues" || (op.set == "" && op.negated) {
		// ForAllValues: every request value must satisfy the operator. A
		// plain negated operator likewise holds only if no request value
		// matches any policy value.
		return !slices.ContainsFunc(got, func(v string) bool { return !one(v) })
	}
	// ForAnyValue: at least one request value satisfies the operator; a
	// plain positive operator on a multivalued key reads the same way.
	return slices.ContainsFunc(got, one)
}

// valueMatches applies a positive operator to one request value and one
// policy value.
func valueMatches(op, got, want string) bool {
	switch op {
	case "StringEquals", "BinaryEquals":
		return got == want
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(got, want)
	case "StringLike":
		return wildcardMatch(want, got)
	case "ArnEquals", "ArnLike":
		return arnMatches(want, got)
	case "Bool":
		return strings.EqualFold(got, want)
	case "IpAddress":
		return ipMatches(want, got)
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compares(strings.TrimPrefix(op, "Numeric"), cmpFloat(g, w))
	case "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		g, err1 := parseIAMTime(got)
		w, err2 := parseIAMTime(want)
		if err1 != nil || err2 != nil {
			return false
		}
		return compares(strings.TrimPrefix(op, "Date"), g.Compare(w))
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compares reads a comparison suffix ("LessThanEquals") against c, the sign
// of request value minus policy value.
func compares(rel string, c int) bool {
	switch rel {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThan":
		return c > 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// arnMatches compares an ARN with ArnEquals/ArnLike: each of the six
// colon-separated components is matched separately and may hold "*" and
// "?" ("IAM JSON policy elements: Condition operators", ARN condition
// operators). A value that is not an ARN does not match, nor does a
// pattern of fewer components, except "*".
func arnMatches(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(ap) != 6 {
		return false
	}
	if len(pp) != 6 {
		return pattern == "*"
	}
	for i := range pp {
		if !wildcardMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// ipMatches tests an address against a CIDR block or a single address
// (IpAddress takes either, IPv4 or IPv6).
func ipMatches(cidr, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	if !strings.Contains(cidr, "/") {
		want, err := netip.ParseAddr(cidr)
		return err == nil && want == addr
	}
	pfx, err := netip.ParsePrefix(cidr)
	return err == nil && pfx.Contains(addr)
}

// parseIAMTime reads a date condition value: one of the W3C profiles of ISO
// 8601 or epoch seconds ("IAM JSON policy elements: Condition operators",
// date condition operators).
func parseIAMTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not an IAM date: %q", s)
}

// IAMTime formats t the way IAM condition values and console policies do.
func IAMTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
