// Package gcpsim serves the simulated Google Cloud on its real REST wire
// protocols: Compute Engine (/compute/v1), Cloud Logging (/v2/entries:list),
// Security Command Center v2 (/v2/.../findings), IAM (/v1/projects/.../
// serviceAccounts), Resource Manager project IAM policies
// (/v1|v3/projects/...:getIamPolicy) and an OAuth2 token endpoint (/token),
// all on one plain HTTP listener, so the official Go clients work with only
// option.WithEndpoint (and a token source or a key file whose token_uri
// points here), and gcloud with the configuration PrepareCLIConfig writes.
// Operations lists the served methods; any other answers 404 naming the
// method.
//
// Callers are identified from their bearer token. Every call is authorized
// against the project's IAM policy, may be hit by an injected fault, is
// answered in the googleapi error envelope on failure, carries its modelled
// latency in the X-Firedrill-Latency header, and lands in the audit log
// (Cloud Audit Logs) with a seeded delivery delay. Handlers run under the
// world lock and never wait on a clock.
package gcpsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// maxBody bounds request bodies so a bad client cannot exhaust memory.
const maxBody = 8 << 20

// Server is the simulated Google Cloud.
type Server struct {
	World  *world.World
	Faults *fault.Set
	Log    *slog.Logger
	// AuditLag is the mean delay before an audited call is visible to
	// entries:list. Admin Activity logs typically show up within a minute.
	AuditLag time.Duration
	// SlowOperations makes every compute operation answer RUNNING to this
	// many polls before DONE, for tests that watch progress (default 0:
	// the first poll is DONE, so SDK pollers never sleep).
	SlowOperations int
	// LoggingReadsPerMinute is the entries:list quota per project (Cloud
	// Logging allows 60 read requests a minute); 0 disables it.
	LoggingReadsPerMinute int
	routes                []*route
}

// Option configures a Server.
type Option func(*Server)

// WithLogger logs every request at Info level.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.Log = l } }

// WithFaults installs a fault-injection rule set.
// A nil set keeps the server's own (empty) one.
func WithFaults(f *fault.Set) Option {
	return func(s *Server) {
		if f != nil {
			s.Faults = f
		}
	}
}

// WithAuditLag sets the mean audit-log delivery delay.
func WithAuditLag(d time.Duration) Option { return func(s *Server) { s.AuditLag = d } }

// WithSlowOperations makes operations stay RUNNING for n polls.
func WithSlowOperations(n int) Option { return func(s *Server) { s.SlowOperations = n } }

// New returns a server over w.
func New(w *world.World, opts ...Option) *Server {
	s := &Server{World: w, Faults: &fault.Set{}, AuditLag: 40 * time.Second, LoggingReadsPerMinute: 60,
		Log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	s.routes = allRoutes()
	return s
}

// allRoutes is the route table: every REST method the simulator serves.
func allRoutes() []*route {
	var out []*route
	for _, rs := range [][]*route{computeRoutes(), computeListRoutes(), loggingRoutes(), sccRoutes(), iamRoutes(), resourceManagerRoutes()} {
		out = append(out, rs...)
	}
	return out
}

// route is one REST method: an HTTP verb and a path template whose "{x}"
// segments (optionally "{x}:verb") bind variables.
type route struct {
	verb     string
	segs     []string
	service  string // "compute", "logging", "securitycenter", "iam"
	method   string // REST method id for audit and faults, e.g. "instances.setTags"
	perm     string // IAM permission checked
	readOnly bool
	latency  time.Duration
	handle   func(c *call) (any, *apiError)
}

func r(verb, path, service, method, perm string, ro bool, lat time.Duration, h func(c *call) (any, *apiError)) *route {
	return &route{verb: verb, segs: strings.Split(strings.Trim(path, "/"), "/"), service: service, method: method,
		perm: perm, readOnly: ro, latency: lat, handle: h}
}

func (rt *route) match(verb string, segs []string) (map[string]string, bool) {
	if verb != rt.verb || len(segs) != len(rt.segs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range rt.segs {
		s := segs[i]
		if !strings.HasPrefix(p, "{") {
			if p != s {
				return nil, false
			}
			continue
		}
		name, suffix, _ := strings.Cut(strings.TrimPrefix(p, "{"), "}")
		if suffix != "" {
			v, ok := strings.CutSuffix(s, suffix)
			if !ok || v == "" {
				return nil, false
			}
			s = v
		} else if strings.Contains(s, ":") && rt.service != "iam" {
			return nil, false
		}
		if s == "" {
			return nil, false
		}
		vars[name] = s
	}
	return vars, true
}

// call is one request as a handler sees it, with the world locked.
type call struct {
	s         *Server
	w         *world.World
	req       *http.Request
	body      []byte
	query     url.Values
	vars      map[string]string
	rt        *route
	now       time.Time
	caller    *gcpworld.Principal
	sourceIP  string
	userAgent string
	requestID string
	stale     time.Duration
	enumInts  bool

	// Filled by handlers for the audit log.
	project      string
	resourceName string
	resourceType string
	labels       map[string]string
	auditMethod  string // overrides the default methodName
	extraLatency time.Duration
	faults       fault.Effects
	// noAudit skips the audit record (operation polls are not audited).
	noAudit bool
}

// hidden reports whether a resource created at created is not yet visible
// under an injected eventual-consistency window.
func (c *call) hidden(created time.Time) bool {
	return c.stale > 0 && c.now.Sub(created) < c.stale
}

// resource names what the call touched, for the audit log.
func (c *call) resource(typ, name string, labels map[string]string) {
	c.resourceType, c.resourceName, c.labels = typ, name, labels
}

// ServeHTTP authenticates, routes, authorizes, injects faults, performs and
// audits one call.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, &apiError{code: 413, status: "INVALID_ARGUMENT", message: "request body unreadable or larger than 8 MiB", reason: "badRequest"})
		return
	}
	if req.URL.Path == "/token" {
		s.serveToken(w, req, body)
		return
	}
	segs := strings.Split(strings.Trim(req.URL.EscapedPath(), "/"), "/")
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	var rt *route
	var vars map[string]string
	for _, cand := range s.routes {
		if v, ok := cand.match(req.Method, segs); ok {
			rt, vars = cand, v
			break
		}
	}
	if rt == nil {
		writeError(w, unserved(req.Method, req.URL.Path))
		s.Log.Info("gcp request", "method", req.Method, "path", req.URL.Path, "status", 404)
		return
	}
	c := &call{s: s, w: s.World, req: req, body: body, query: req.URL.Query(), vars: vars, rt: rt,
		sourceIP: simhttp.SourceIP(req), userAgent: req.UserAgent(), project: vars["project"]}
	c.enumInts = strings.Contains(c.query.Get("$alt"), "enum-encoding=int")

	s.World.LockAs(simhttp.Caller("gcp", req))
	defer s.World.Unlock()
	c.now = s.World.Now()
	c.requestID = s.requestIDLocked()
	latency := s.World.JitterLocked(world.PurposeLatency, rt.latency, 0.25).Round(time.Millisecond)

	result, apiErr := s.perform(c)
	if !c.noAudit && (c.caller != nil || apiErr == nil) {
		s.auditLocked(c, apiErr)
	}
	latency = c.faults.Scale(latency) + c.extraLatency
	// Log before answering, so a call's log line exists once its client
	// has the response.
	attrs := []any{"service", rt.service, "method", rt.method, "latency", latency}
	if c.caller != nil {
		attrs = append(attrs, "caller", c.caller.Email)
	}
	if apiErr != nil {
		attrs = append(attrs, "status", apiErr.code, "error", apiErr.reason)
	}
	s.Log.Info("gcp request", attrs...)
	w.Header().Set(simhttp.LatencyHeader, latency.String())
	if apiErr != nil {
		apiErr.legacy = apiErr.legacy || rt.service == "compute"
		writeError(w, apiErr)
	} else {
		s.writeResult(w, c, result)
	}
}

func (s *Server) perform(c *call) (any, *apiError) {
	p, err := s.authenticateLocked(c.req)
	if err != nil {
		return nil, err
	}
	c.caller = p
	eff := s.Faults.Apply(s.World.FaultTargetLocked("gcp", c.rt.service, c.rt.method, p.Email))
	c.faults = eff
	c.stale = eff.StaleWindow
	if eff.Throttle {
		return nil, throttled(c.rt.service)
	}
	if eff.Error != 0 {
		return nil, &apiError{code: eff.Error, status: "UNAVAILABLE", reason: "backendError", domain: "global",
			message: "The service is currently unavailable."}
	}
	if c.rt.perm != "" {
		if c.project != "" && gcpworld.Of(s.World).Projects.Lookup(c.project) == nil {
			return nil, notFoundErr(c.rt.service, fmt.Sprintf("projects/%s", c.project))
		}
		if !gcpworld.Of(s.World).Allowed(c.project, p.Member(), c.rt.perm) {
			return nil, denied(c.rt.service, c.rt.perm, c.permResource())
		}
	}
	return c.rt.handle(c)
}

// permResource names the resource in a permission-denied message.
func (c *call) permResource() string {
	switch {
	case c.vars["instance"] != "":
		return fmt.Sprintf("projects/%s/zones/%s/instances/%s", c.project, c.vars["zone"], c.vars["instance"])
	case c.project != "":
		return "projects/" + c.project
	}
	return "*"
}

// authenticateLocked resolves the bearer token: a token the simulator
// issued, or a self-signed service-account JWT (which Google also accepts
// as an access token for its APIs).
func (s *Server) authenticateLocked(req *http.Request) (*gcpworld.Principal, *apiError) {
	h := req.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, &apiError{code: 401, status: "UNAUTHENTICATED", reason: "required", domain: "global", legacy: true,
			message: "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential."}
	}
	p, err := gcpworld.Of(s.World).Authenticate(tok)
	if errors.Is(err, gcpworld.ErrTokenInvalid) && strings.Count(tok, ".") == 2 {
		p, err = s.selfSignedJWTLocked(tok)
	}
	if err != nil {
		msg := "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
		if errors.Is(err, gcpworld.ErrAccountDisabled) {
			msg = "Request had invalid authentication credentials: the service account is disabled."
		}
		return nil, &apiError{code: 401, status: "UNAUTHENTICATED", reason: "authError", domain: "global", legacy: true, message: msg}
	}
	return p, nil
}

// requestIDLocked draws a request id from the seeded generator.
func (s *Server) requestIDLocked() string {
	rng := s.World.IDRandLocked()
	return fmt.Sprintf("%016x%08x", rng.Uint64(), rng.Uint32())
}

// writeResult renders proto messages as proto3 JSON (int64 as strings,
// lowerCamel names, Any with @type) and anything else with encoding/json.
// Proto JSON output is compacted: protojson deliberately varies whitespace.
func (s *Server) writeResult(w http.ResponseWriter, c *call, result any) {
	var buf []byte
	var err error
	switch v := result.(type) {
	case proto.Message:
		buf, err = protojson.MarshalOptions{UseEnumNumbers: c.enumInts}.Marshal(v)
		if err == nil {
			var out bytes.Buffer
			if cerr := json.Compact(&out, buf); cerr == nil {
				buf = out.Bytes()
			}
		}
	case nil:
		buf = []byte("{}")
	default:
		buf, err = json.Marshal(v)
	}
	if err != nil {
		writeError(w, &apiError{code: 500, status: "INTERNAL", reason: "backendError", message: "encoding response: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

// decode parses a proto3-JSON request body into m; an empty body is an
// empty message.
func (c *call) decode(m proto.Message) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(c.body, m); err != nil {
		return &apiError{code: 400, status: "INVALID_ARGUMENT", reason: "parseError", domain: "global",
			message: fmt.Sprintf("Invalid JSON payload received. %v", err)}
	}
	return nil
}

// decodeJSON parses a JSON request body into v, for the APIs whose
// messages the discovery clients define (IAM, Resource Manager).
func (c *call) decodeJSON(v any) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return &apiError{code: 400, status: "INVALID_ARGUMENT", reason: "parseError", domain: "global",
			message: fmt.Sprintf("Invalid JSON payload received. %v", err)}
	}
	return nil
}
