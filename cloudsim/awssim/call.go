package awssim

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Call is one API request as a handler sees it. Handlers run with the world
// lock held (see Server.ServeHTTP): they read and mutate World directly and
// must not block.
type Call struct {
	Service   string // SigV4 signing name: "ec2", "iam", "s3", …
	Op        string // operation name: "DescribeInstances"
	Region    string
	RequestID string
	Now       time.Time
	Caller    *awsworld.Principal
	World     *world.World
	Req       *http.Request
	Body      []byte
	Form      Form              // query protocols: the decoded form
	PathVars  map[string]string // REST protocols: path template variables
	SourceIP  string
	UserAgent string

	// Resources and Params are recorded in the audit log; handlers add to them.
	Resources []world.AuditResource
	Params    map[string]string
	// Extra latency a handler wants charged beyond the operation's model.
	ExtraLatency time.Duration
	// Faults are the injected faults' effects on this call (latency).
	Faults fault.Effects
	// StaleWindow is set by an eventual-consistency fault: resources created
	// less than this long ago are not yet visible to the call.
	StaleWindow time.Duration
}

// Hidden reports whether a resource created at created is not yet visible to
// this call under an injected eventual-consistency window.
func (c *Call) Hidden(created time.Time) bool {
	return c.StaleWindow > 0 && c.Now.Sub(created) < c.StaleWindow
}

// Account is the caller's account (or the world's default for anonymous calls).
func (c *Call) Account() string {
	if c.Caller != nil && c.Caller.Account != "" {
		return c.Caller.Account
	}
	return DefaultAccount
}

// Touch records a resource the call acted on, for the audit log.
func (c *Call) Touch(typ, name string) {
	c.Resources = append(c.Resources, world.AuditResource{Type: typ, Name: name})
}

// Param records a request parameter worth keeping in the audit log.
func (c *Call) Param(k, v string) {
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Params[k] = v
}

// APIError is an error answered to the client in its protocol's envelope.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Sender distinguishes client faults from server faults (awsQuery Type).
	Sender bool
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Errf builds a client-side APIError.
func Errf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Sender: status < 500}
}

// Form is a decoded query-protocol request body with the flattened list
// conventions of ec2Query ("Name.N") and awsQuery ("Name.member.N").
type Form url.Values

// Get returns the first value of key.
func (f Form) Get(key string) string { return url.Values(f).Get(key) }

// Fingerprint identifies the request's parameters, the named ones (a client
// token) left out, so a retried call can be told from a different one.
func (f Form) Fingerprint(except ...string) string {
	params := make(map[string]string, len(f))
	for k, v := range f {
		params[k] = strings.Join(v, "\x00")
	}
	return world.Fingerprint(params, except...)
}

// Has reports whether key is present.
func (f Form) Has(key string) bool { _, ok := f[key]; return ok }

// Bool parses a boolean field, reporting whether it was present.
func (f Form) Bool(key string) (bool, bool) {
	v, ok := f[key]
	if !ok || len(v) == 0 {
		return false, false
	}
	return strings.EqualFold(v[0], "true"), true
}

// Int parses an integer field with a default.
func (f Form) Int(key string, def int) (int, error) {
	v := f.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, Errf(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected an integer.", v, key)
	}
	return n, nil
}

// List returns the scalar list under prefix: "prefix.1", "prefix.2", … or
// "prefix.member.1", … ordered by index.
func (f Form) List(prefix string) []string {
	var out []string
	for _, sub := range f.indexed(prefix) {
		if v, ok := f[sub]; ok && len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

// Structs returns the structure list under prefix, each as a Form whose keys
// are relative to the element ("Filter.1.Name" -> "Name").
func (f Form) Structs(prefix string) []Form {
	var out []Form
	for _, sub := range f.indexed(prefix) {
		elem := Form{}
		for k, v := range f {
			if strings.HasPrefix(k, sub+".") {
				elem[strings.TrimPrefix(k, sub+".")] = v
			}
		}
		out = append(out, elem)
	}
	return out
}

// Struct returns the nested structure under prefix ("Prefix.X" -> "X").
func (f Form) Struct(prefix string) Form {
	elem := Form{}
	for k, v := range f {
		if strings.HasPrefix(k, prefix+".") {
			elem[strings.TrimPrefix(k, prefix+".")] = v
		}
	}
	return elem
}

// indexed returns the distinct "prefix.N" or "prefix.member.N" roots present,
// ordered by N.
func (f Form) indexed(prefix string) []string {
	seen := map[int]string{}
	for k := range f {
		for _, p := range []string{prefix + ".member.", prefix + "."} {
			if !strings.HasPrefix(k, p) {
				continue
			}
			rest := strings.TrimPrefix(k, p)
			num := rest
			if i := strings.IndexByte(rest, '.'); i >= 0 {
				num = rest[:i]
			}
			n, err := strconv.Atoi(num)
			if err != nil {
				continue
			}
			seen[n] = p + num
			break
		}
	}
	idx := make([]int, 0, len(seen))
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = seen[n]
	}
	return out
}

// Filters decodes EC2-style filters: Filter.N.Name / Filter.N.Value.M.
func (f Form) Filters() map[string][]string {
	out := map[string][]string{}
	for _, flt := range f.Structs("Filter") {
		name := flt.Get("Name")
		out[name] = append(out[name], flt.List("Value")...)
	}
	return out
}

// Tags decodes a Tag.N.Key / Tag.N.Value list (or Tags.member.N.…).
func (f Form) Tags(prefix string) world.Tags {
	tags := world.Tags{}
	for _, t := range f.Structs(prefix) {
		tags[t.Get("Key")] = t.Get("Value")
	}
	return tags
}
