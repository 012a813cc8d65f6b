package gcpsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// logFilter is a parsed Cloud Logging query (also used for the SCC filter,
// which shares its comparison syntax). Supported: comparisons
// `field OP value` with = != : > < >= <= (":" is "has", a case-insensitive
// substring), bare values (global search), log_id("…"), NOT / "-", AND
// (explicit or implicit), OR, and parentheses. As in the Logging query
// language, OR binds tighter than AND: `a AND b OR c` is `a AND (b OR c)`.
type logFilter interface {
	match(get func(string) (string, bool)) bool
}

type andF []logFilter
type orF []logFilter
type notF struct{ f logFilter }
type cmpF struct{ field, op, value string }
type trueF struct{}

func (f andF) match(g func(string) (string, bool)) bool {
	for _, x := range f {
		if !x.match(g) {
			return false
		}
	}
	return true
}

func (f orF) match(g func(string) (string, bool)) bool {
	for _, x := range f {
		if x.match(g) {
			return true
		}
	}
	return false
}

func (f notF) match(g func(string) (string, bool)) bool { return !f.f.match(g) }
func (trueF) match(func(string) (string, bool)) bool    { return true }

var globalFields = []string{"logName", "protoPayload.methodName", "protoPayload.resourceName",
	"protoPayload.authenticationInfo.principalEmail", "resource.type", "category", "resource_name"}

func (f cmpF) match(g func(string) (string, bool)) bool {
	if f.field == "" { // global search
		for _, fld := range globalFields {
			if v, ok := g(fld); ok && strings.Contains(strings.ToLower(v), strings.ToLower(f.value)) {
				return true
			}
		}
		return false
	}
	if f.field == "log_id" {
		v, ok := g("logName")
		return ok && strings.HasSuffix(v, "/logs/"+strings.ReplaceAll(f.value, "/", "%2F"))
	}
	got, ok := g(f.field)
	if !ok {
		return f.op == "!="
	}
	want := f.value
	if f.field == "logName" || f.field == "log_name" {
		want = strings.ReplaceAll(want, "%2f", "%2F")
		if strings.Contains(want, "/logs/") {
			pre, post, _ := strings.Cut(want, "/logs/")
			want = pre + "/logs/" + strings.ReplaceAll(post, "/", "%2F")
		}
	}
	switch f.op {
	case ":":
		return want == "*" || strings.Contains(strings.ToLower(got), strings.ToLower(want))
	case "=":
		return compare(f.field, got, want) == 0
	case "!=":
		return compare(f.field, got, want) != 0
	case ">":
		return compare(f.field, got, want) > 0
	case "<":
		return compare(f.field, got, want) < 0
	case ">=":
		return compare(f.field, got, want) >= 0
	case "<=":
		return compare(f.field, got, want) <= 0
	}
	return false
}

var severityRank = map[string]int{"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400,
	"ERROR": 500, "CRITICAL": 600, "ALERT": 700, "EMERGENCY": 800}

// compare orders two values as times, severities, numbers or strings.
func compare(field, a, b string) int {
	if field == "severity" {
		ra, oka := severityRank[strings.ToUpper(a)]
		rb, okb := severityRank[strings.ToUpper(b)]
		if oka && okb {
			return ra - rb
		}
	}
	if ta, ok := parseFilterTime(a); ok {
		if tb, ok := parseFilterTime(b); ok {
			return ta.Compare(tb)
		}
	}
	if na, err := strconv.ParseFloat(a, 64); err == nil {
		if nb, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case na < nb:
				return -1
			case na > nb:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}

// parseFilterTime accepts RFC 3339 timestamps and, for SCC, milliseconds
// since the epoch (13+ digits).
func parseFilterTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if len(s) >= 12 {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), true
		}
	}
	return time.Time{}, false
}

type token struct {
	kind string // "word", "str", "op", "(", ")"
	val  string
}

func lexFilter(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		ch := rune(s[i])
		switch {
		case unicode.IsSpace(ch):
			i++
		case ch == '(' || ch == ')':
			out = append(out, token{string(ch), string(ch)})
			i++
		case ch == '"':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			out = append(out, token{"str", b.String()})
			i = j + 1
		case strings.ContainsRune("=!<>:", ch):
			op := string(ch)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			} else if ch == '!' {
				return nil, fmt.Errorf("unexpected '!' at offset %d", i)
			}
			if op == "=~" || op == "!~" {
				return nil, fmt.Errorf("regular-expression operators are not supported by the simulator")
			}
			out = append(out, token{"op", op})
			i += len(op)
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("()=!<>:\"", rune(s[j])) {
				j++
			}
			out = append(out, token{"word", s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	pos  int
}

func parseLogFilter(s string) (logFilter, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return trueF{}, nil
	}
	p := &filterParser{toks: toks}
	f, err := p.and()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].val)
	}
	return f, nil
}

func (p *filterParser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *filterParser) and() (logFilter, error) {
	var parts andF
	for {
		t := p.peek()
		if t == nil || t.kind == ")" {
			break
		}
		if t.kind == "word" && t.val == "AND" {
			p.pos++
			continue
		}
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		parts = append(parts, f)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

func (p *filterParser) or() (logFilter, error) {
	f, err := p.unary()
	if err != nil {
		return nil, err
	}
	parts := orF{f}
	for {
		t := p.peek()
		if t == nil || t.kind != "word" || t.val != "OR" {
			break
		}
		p.pos++
		g, err := p.unary()
		if err != nil {
			return nil, err
		}
		parts = append(parts, g)
	}
	if len(parts) == 1 {
		return f, nil
	}
	return parts, nil
}

func (p *filterParser) unary() (logFilter, error) {
	t := p.peek()
	if t == nil {
		return nil, fmt.Errorf("unexpected end of filter")
	}
	if t.kind == "word" && t.val == "NOT" {
		p.pos++
		f, err := p.unary()
		return notF{f}, err
	}
	if t.kind == "word" && strings.HasPrefix(t.val, "-") && len(t.val) > 1 {
		t.val = t.val[1:]
		f, err := p.unary()
		return notF{f}, err
	}
	if t.kind == "(" {
		p.pos++
		f, err := p.and()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c == nil || c.kind != ")" {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return f, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (logFilter, error) {
	t := p.peek()
	if t.kind == "op" || t.kind == ")" {
		return nil, fmt.Errorf("unexpected %q", t.val)
	}
	p.pos++
	if t.kind == "word" && (t.val == "log_id" || t.val == "log_name") {
		if c := p.peek(); c != nil && c.kind == "(" {
			p.pos++
			arg := p.peek()
			if arg == nil || arg.kind != "str" {
				return nil, fmt.Errorf("log_id() takes a quoted log id")
			}
			p.pos++
			if c := p.peek(); c == nil || c.kind != ")" {
				return nil, fmt.Errorf("missing ')' after log_id argument")
			}
			p.pos++
			return cmpF{field: "log_id", op: "=", value: arg.val}, nil
		}
	}
	op := p.peek()
	if t.kind == "str" || op == nil || op.kind != "op" {
		return cmpF{op: ":", value: t.val}, nil // bare value: global search
	}
	p.pos++
	v := p.peek()
	if v == nil || (v.kind != "word" && v.kind != "str") {
		return nil, fmt.Errorf("missing value after %s %s", t.val, op.val)
	}
	p.pos++
	return cmpF{field: t.val, op: op.val, value: v.val}, nil
}
