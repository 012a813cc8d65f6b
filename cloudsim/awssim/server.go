// Package awssim serves the simulated AWS on its real wire protocols. One
// http.Handler answers every service: requests are routed on the service
// name in the SigV4 credential scope, the caller is the principal behind the
// access key, and each operation is a small handler over the world model.
package awssim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// DefaultAccount is the account anonymous requests are attributed to.
const DefaultAccount = "111122223333"

// LatencyHeader carries an operation's modelled latency to the client-side
// transport, which charges it on the virtual clock in drill mode.
const LatencyHeader = simhttp.LatencyHeader

// maxBody bounds request bodies so a bad client cannot exhaust memory.
const maxBody = 64 << 20

// Op is one operation of a service.
type Op struct {
	// Action is the IAM action checked; default "<service>:<Name>".
	Action string
	// Latency is the modelled base latency; default by verb (see latencyFor).
	Latency time.Duration
	// Resources returns the ARNs authorization is evaluated against.
	Resources func(c *Call) []string
	// Public operations skip authorization (sts:GetCallerIdentity).
	Public bool
	// Handle performs the call with the world locked.
	Handle func(c *Call) (any, error)
}

// Service is one AWS service behind the shared listener.
type Service struct {
	Name        string // SigV4 signing name
	EventSource string // CloudTrail eventSource, e.g. "ec2.amazonaws.com"
	proto       protocol
	Ops         map[string]*Op
	// Route names the operation of a REST request and its path variables.
	Route func(r *http.Request) (op string, vars map[string]string)
	// ActionPrefix overrides the IAM action prefix (CloudWatch is "cloudwatch").
	ActionPrefix string
}

// Server is the simulated AWS.
type Server struct {
	World     *world.World
	Faults    *fault.Set
	Log       *slog.Logger
	AuditLag  time.Duration // mean CloudTrail delivery delay
	services  map[string]*Service
	verifySig bool
}

// Option configures a Server.
type Option func(*Server)

// WithLogger logs each request at Info level.
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

// WithoutSignatureCheck accepts requests without verifying SigV4 signatures
// (the caller is still taken from the access key).
func WithoutSignatureCheck() Option { return func(s *Server) { s.verifySig = false } }

// New returns a server over w with every service registered.
func New(w *world.World, opts ...Option) *Server {
	s := &Server{World: w, Faults: &fault.Set{}, AuditLag: 5 * time.Minute,
		services: map[string]*Service{}, verifySig: true,
		Log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	for _, svc := range allServices() {
		s.services[svc.Name] = svc
	}
	return s
}

// Services lists the signing names served, sorted.
func (s *Server) Services() []string { return world.SortedKeys(s.services) }

// Operations lists a service's operation names, sorted.
func (s *Server) Operations(service string) []string {
	if svc := s.services[service]; svc != nil {
		return world.SortedKeys(svc.Ops)
	}
	return nil
}

var credRe = regexp.MustCompile(`Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request`)

// sigv4 is what the Authorization header (or presigned query) says, with
// the session token that travels beside it (X-Amz-Security-Token, as a
// header or, presigned, in the query).
type sigv4 struct {
	akid, date, region, service string
	signedHeaders, signature    string
	token                       string
	presigned                   bool
}

func parseAuth(r *http.Request) (sigv4, bool) {
	h := r.Header.Get("Authorization")
	if m := credRe.FindStringSubmatch(h); m != nil {
		a := sigv4{akid: m[1], date: m[2], region: m[3], service: m[4], token: r.Header.Get("X-Amz-Security-Token")}
		for _, part := range strings.Split(h, ",") {
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, "SignedHeaders="); ok {
				a.signedHeaders = v
			}
			if v, ok := strings.CutPrefix(part, "Signature="); ok {
				a.signature = v
			}
		}
		return a, true
	}
	q := r.URL.Query()
	if c := q.Get("X-Amz-Credential"); c != "" {
		parts := strings.Split(c, "/")
		if len(parts) == 5 {
			return sigv4{akid: parts[0], date: parts[1], region: parts[2], service: parts[3],
				signedHeaders: q.Get("X-Amz-SignedHeaders"), signature: q.Get("X-Amz-Signature"),
				token: q.Get("X-Amz-Security-Token"), presigned: true}, true
		}
	}
	return sigv4{}, false
}

// ServeHTTP routes, authenticates, authorizes, injects faults, performs and
// audits one call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "request body unreadable or larger than 64 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	auth, signed := parseAuth(r)
	svc := s.serviceFor(r, auth, signed)
	if svc == nil {
		s.writeUnknownService(w, r, auth.service)
		return
	}
	c := &Call{Service: svc.Name, Region: auth.region, Req: r, Body: body,
		SourceIP: simhttp.SourceIP(r), UserAgent: r.UserAgent(), World: s.World}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if err := s.decode(svc, c); err != nil {
		s.World.LockAs(simhttp.Caller("aws", r))
		c.RequestID = s.requestIDLocked()
		s.World.Unlock()
		svc.proto.writeError(w, c, err)
		return
	}

	s.World.LockAs(simhttp.Caller("aws", r))
	defer s.World.Unlock()
	c.Now = s.World.Now()
	c.RequestID = s.requestIDLocked()
	op := svc.Ops[c.Op]
	latency := s.latencyLocked(svc, c.Op, op)

	result, apiErr := s.perform(svc, op, c, auth, signed, body)
	if op != nil || c.Caller != nil {
		s.auditLocked(svc, c, apiErr)
	}
	latency = c.Faults.Scale(latency) + c.ExtraLatency
	// Log before answering, so the log line of a call is written by the time
	// its client has the response (operators and tests read them in order).
	s.logCall(c, apiErr, latency)
	w.Header().Set(LatencyHeader, latency.String())
	if apiErr != nil {
		svc.proto.writeError(w, c, apiErr)
	} else {
		svc.proto.writeResult(w, c, result)
	}
}

// perform runs the checks and the handler; it returns the handler's result
// or the error to answer with.
func (s *Server) perform(svc *Service, op *Op, c *Call, auth sigv4, signed bool, body []byte) (any, *APIError) {
	codes := svc.proto.codes()
	if op == nil {
		e := codes.unknownOp
		name := c.Op
		if name == "" { // a REST path no operation of the service has
			name = c.Req.Method + " " + c.Req.URL.Path
		}
		e.Message = fmt.Sprintf("%s: operation %q of %s is not supported by the firedrill simulator", e.Message, name, svc.Name)
		return nil, &e
	}
	if signed {
		p, err := awsworld.Of(s.World).Authenticate(auth.akid, auth.token)
		if err != nil {
			e := codes.unknownKey
			switch {
			case errors.Is(err, awsworld.ErrExpiredToken):
				e = codes.expired
			case errors.Is(err, awsworld.ErrInvalidSessionToken) && codes.badToken.Code != "":
				e = codes.badToken
			}
			return nil, &e
		}
		c.Caller = p
		if s.verifySig && !verifySignature(c.Req, body, auth, p.Secret) {
			e := codes.badSignature
			return nil, &e
		}
		awsworld.Of(s.World).TouchAccessKey(auth.akid, svc.Name, c.Region, c.Now) // GetAccessKeyLastUsed
	} else if svc.Name != "s3" {
		return nil, &APIError{Status: 403, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Sender: true}
	} else {
		c.Caller = &awsworld.Principal{Kind: "anonymous", ARN: "*", Account: ""}
	}
	eff := s.Faults.Apply(s.World.FaultTargetLocked("aws", svc.Name, c.Op, c.Caller.ARN))
	c.Faults = eff
	c.StaleWindow = eff.StaleWindow
	if eff.Throttle {
		e := codes.throttle
		return nil, &e
	}
	if eff.Error != 0 {
		e := codes.internal
		e.Status = eff.Error
		return nil, &e
	}
	if !op.Public && c.Caller.Kind != "anonymous" {
		if e := s.authorizeLocked(svc, op, c); e != nil {
			return nil, e
		}
	}
	result, err := op.Handle(c)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return nil, ae
		}
		e := codes.internal
		e.Message = err.Error()
		return nil, &e
	}
	return result, nil
}

func (s *Server) authorizeLocked(svc *Service, op *Op, c *Call) *APIError {
	action := op.Action
	if action == "" {
		prefix := svc.Name
		if svc.ActionPrefix != "" {
			prefix = svc.ActionPrefix
		}
		action = prefix + ":" + c.Op
	}
	var resources []string
	if op.Resources != nil {
		resources = op.Resources(c)
	}
	d, at, err := awsworld.Of(s.World).Explain(c.Caller, world.Request{Action: action, Resources: resources,
		Context: awsworld.Of(s.World).RequestContext(c.Caller, c.SourceIP)})
	if err != nil {
		return Errf(500, svc.proto.codes().internal.Code, "evaluating policies: %v", err)
	}
	if d == world.Allowed {
		return nil
	}
	e := svc.proto.codes().denied
	why := "because no identity-based policy allows the " + action + " action"
	if d == world.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	res := "*"
	if at != "" {
		res = at // the resource the caller may not act on, of several
	}
	e.Message = fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", c.Caller.ARN, action, res, why)
	return &e
}

// serviceFor picks the service from the SigV4 scope, or for unsigned
// requests (anonymous S3, presigned URLs) from the request's shape.
func (s *Server) serviceFor(r *http.Request, auth sigv4, signed bool) *Service {
	if signed {
		return s.services[auth.service]
	}
	if r.Header.Get("X-Amz-Target") == "" && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return s.services["s3"]
	}
	return nil
}

// decode fills the operation name and the form or path variables.
func (s *Server) decode(svc *Service, c *Call) *APIError {
	r := c.Req
	if svc.Route != nil {
		c.Op, c.PathVars = svc.Route(r)
		c.Form = Form(r.URL.Query())
		return nil
	}
	form := url.Values{}
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		parsed, err := url.ParseQuery(string(c.Body))
		if err != nil {
			return Errf(400, svc.proto.codes().badRequest.Code, "malformed form body: %v", err)
		}
		for k, v := range parsed {
			form[k] = v
		}
	}
	c.Form = Form(form)
	c.Op = svc.proto.operation(r, c.Form)
	return nil
}

func (s *Server) writeUnknownService(w http.ResponseWriter, r *http.Request, name string) {
	msg := "request is missing a SigV4 Authorization header"
	if name != "" {
		msg = fmt.Sprintf("service %q is not served by the firedrill simulator (served: %s)", name, strings.Join(s.Services(), ", "))
	}
	body := document("Response", "", E("Errors", E("Error", T("Code", "UnknownService"), T("Message", msg))))
	writeBody(w, http.StatusBadRequest, "text/xml", body)
	s.Log.Info("aws request", "method", r.Method, "path", r.URL.Path, "error", msg)
}

// requestIDLocked draws a UUID-shaped request id from the seeded generator.
func (s *Server) requestIDLocked() string {
	return s.World.UUIDLocked()
}

// latencyLocked models how long the call takes in the cloud.
func (s *Server) latencyLocked(svc *Service, name string, op *Op) time.Duration {
	base := latencyFor(name)
	if op != nil && op.Latency > 0 {
		base = op.Latency
	}
	return s.World.JitterLocked(world.PurposeLatency, base, 0.25).Round(time.Millisecond)
}

// latencyFor is the default latency by verb, from typical AWS API timings.
func latencyFor(op string) time.Duration {
	switch {
	case strings.HasPrefix(op, "Describe"), strings.HasPrefix(op, "List"), strings.HasPrefix(op, "Get"), strings.HasPrefix(op, "Head"):
		return 90 * time.Millisecond
	case strings.HasPrefix(op, "Lookup"):
		return 400 * time.Millisecond
	case strings.HasPrefix(op, "Run"), strings.HasPrefix(op, "Create"):
		return 350 * time.Millisecond
	}
	return 180 * time.Millisecond
}

func isReadOnly(op string) bool {
	for _, p := range []string{"Describe", "List", "Get", "Head", "Lookup"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// auditLocked appends the call to the audit log with CloudTrail's delivery
// delay; denied and failed calls are recorded with their error code.
func (s *Server) auditLocked(svc *Service, c *Call, apiErr *APIError) {
	ev := &world.AuditEvent{
		ID: c.RequestID, Time: c.Now, Cloud: "aws", Region: c.Region, Account: c.Account(),
		Service: svc.EventSource, Operation: c.Op, SourceIP: c.SourceIP, UserAgent: c.UserAgent,
		Resources: c.Resources, ReadOnly: isReadOnly(c.Op), RequestID: c.RequestID, Params: c.Params,
		DeliverAt: c.Now.Add(s.World.JitterLocked(world.PurposeDelivery, s.AuditLag, 0.4)),
	}
	if c.Caller != nil {
		ev.PrincipalARN, ev.PrincipalID, ev.AccessKeyID = c.Caller.ARN, c.Caller.ID, c.Caller.AccessKeyID
		ev.IdentityType, ev.UserName = c.Caller.IdentityType(), c.Caller.Name
	}
	if apiErr != nil {
		ev.ErrorCode, ev.ErrorMessage = recordedErrorCode(svc, apiErr), apiErr.Message
	}
	s.World.RecordAuditLocked(ev)
}

// ec2ServerErrors are the EC2 error codes the EC2 API reference lists as
// server errors; every other EC2 error is a client error.
var ec2ServerErrors = map[string]bool{"InternalError": true, "InsufficientInstanceCapacity": true,
	"InsufficientHostCapacity": true, "InsufficientReservedInstanceCapacity": true, "InsufficientCapacity": true,
	"InsufficientAddressCapacity": true, "ServiceUnavailable": true, "Unavailable": true}

// recordedErrorCode is the errorCode CloudTrail writes for a failed call.
// EC2 answers a bare code on the wire (UnauthorizedOperation) but its
// CloudTrail records carry the fault side: "Client.UnauthorizedOperation",
// "Client.DryRunOperation", "Client.RequestLimitExceeded",
// "Server.InternalError", which is what detections match on. IAM, STS and
// S3 record the code they answer (AccessDenied).
func recordedErrorCode(svc *Service, e *APIError) string {
	if _, ok := svc.proto.(ec2Query); !ok {
		return e.Code
	}
	if ec2ServerErrors[e.Code] {
		return "Server." + e.Code
	}
	return "Client." + e.Code
}

func (s *Server) logCall(c *Call, apiErr *APIError, latency time.Duration) {
	attrs := []any{"service", c.Service, "op", c.Op, "region", c.Region, "latency", latency}
	if c.Caller != nil {
		attrs = append(attrs, "caller", c.Caller.ARN)
	}
	if apiErr != nil {
		attrs = append(attrs, "status", apiErr.Status, "error", apiErr.Code)
	}
	s.Log.Info("aws request", attrs...)
}
