// Package azuresim serves the simulated Azure: Azure Resource Manager and a
// minimal Entra ID (AAD discovery and client-credential token endpoints)
// and blob data plane, all on one TLS listener. The real azcore/azidentity
// clients work against it with only the cloud configuration and the
// transport changed. The caller of every ARM request is read back from the
// bearer token, authorized against the role assignments at call time, and
// recorded in the Activity Log with its outcome.
//
// Handlers run under the world lock and never wait on a clock; each
// response carries its modelled latency in simhttp.LatencyHeader so that
// drill mode charges it on the virtual clock. Long-running operations
// answer terminal on the first status poll, except Run Command, whose
// status honestly stays InProgress while the script runs (providers poll
// it on their own clock).
package azuresim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// maxBody bounds request bodies.
const maxBody = 16 << 20

// Server is the simulated Azure.
type Server struct {
	World  *world.World
	Faults *fault.Set
	Log    *slog.Logger
	// ActivityLogLag is the mean Activity Log delivery delay (~30 s).
	ActivityLogLag time.Duration
	// RunCommand overrides the Run Command timing model.
	RunCommand *azureworld.RunCommandTiming
	// PageSize is how many items one page of a list holds (default 100).
	PageSize int
	routes   []*route // the ARM route table (armRoutes)
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

// WithRunCommandTiming overrides the Run Command timing model.
func WithRunCommandTiming(t azureworld.RunCommandTiming) Option {
	return func(s *Server) { s.RunCommand = &t }
}

// WithPageSize sets how many items one page of an ARM list holds.
func WithPageSize(n int) Option { return func(s *Server) { s.PageSize = n } }

// New returns a server over w.
func New(w *world.World, opts ...Option) *Server {
	s := &Server{World: w, Faults: &fault.Set{}, ActivityLogLag: 30 * time.Second,
		Log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	s.routes = compileRoutes(s.armRoutes())
	return s
}

// armError is an error answered in ARM's envelope.
type armError struct {
	Status  int
	Code    string
	Message string
	Headers map[string]string
}

func (e *armError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *armError {
	return &armError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// call is one ARM request as a handler sees it.
type call struct {
	s        *Server
	w        *world.World
	r        *http.Request
	base     string // https://host, for absolute status URLs
	path     string // cleaned path, original case
	segs     []string
	lsegs    []string
	query    url.Values
	body     []byte
	now      time.Time
	token    *azureworld.Token
	claims   *azureworld.TokenClaims
	reqID    string
	sourceIP string

	sub       string
	location  string
	namespace string // e.g. Microsoft.Compute, for audit and faults
	action    string
	scope     string
	readOnly  bool
	resources []world.AuditResource
	params    map[string]string
	latency   time.Duration
	// filterAction, set on a list whose scope the caller cannot read,
	// narrows it to the items the caller can read with that action.
	filterAction string
	// vars are the route's path variables: as sent, except the canonical
	// subscription, resource group and scopes (see canonicalVars).
	vars map[string]string
}

// response is what a handler answers.
type response struct {
	status  int
	body    any
	headers map[string]string
}

func ok(body any) *response { return &response{status: http.StatusOK, body: body} }

var multiSlash = regexp.MustCompile(`/{2,}`)

// ServeHTTP dispatches to Entra ID, the cloud metadata, Microsoft Graph,
// the blob data plane or ARM.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeARMError(w, errf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is unreadable or larger than 16 MiB."), "")
		return
	}
	p, segs, lsegs := splitPath(r.URL.Path)
	switch {
	case len(lsegs) >= 2 && (lsegs[1] == "oauth2" || lsegs[1] == "v2.0" || lsegs[0] == "adfs"):
		s.serveAAD(w, r, segs, body)
		return
	case len(lsegs) == 2 && lsegs[0] == "metadata" && lsegs[1] == "endpoints":
		s.serveMetadata(w, r)
		return
	case len(lsegs) >= 1 && lsegs[0] == "v1.0":
		s.serveGraph(w, r, lsegs, body)
		return
	case len(lsegs) >= 1 && lsegs[0] != "subscriptions" && lsegs[0] != "providers" && lsegs[0] != "tenants" && s.isStorageAccount(lsegs[0]):
		s.serveBlob(w, r, segs, body)
		return
	}
	s.serveARM(w, r, p, segs, lsegs, body)
}

// splitPath cleans a request path and splits it into segments as sent and
// lower-cased (for case-insensitive matching).
func splitPath(path string) (p string, segs, lsegs []string) {
	p = multiSlash.ReplaceAllString(path, "/")
	segs = strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	lsegs = make([]string, len(segs))
	for i, sg := range segs {
		lsegs[i] = strings.ToLower(sg)
	}
	return p, segs, lsegs
}

func (s *Server) isStorageAccount(name string) bool {
	s.World.Lock()
	defer s.World.Unlock()
	return azureworld.Of(s.World).Storage.Lookup(name) != nil
}

// requestIDLocked draws a GUID from the seeded generator.
func (s *Server) requestIDLocked() string { return s.World.GUIDLocked() }

func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, p string, segs, lsegs []string, body []byte) {
	s.World.LockAs(simhttp.Caller("azure", r))
	defer s.World.Unlock()
	c := &call{s: s, w: s.World, r: r, base: baseURL(r), path: p, segs: segs, lsegs: lsegs, query: r.URL.Query(),
		body: body, now: s.World.Now(), reqID: s.requestIDLocked(), sourceIP: simhttp.SourceIP(r)}
	resp, aerr := s.performARM(c)
	if c.token != nil && c.action != "" {
		s.auditLocked(c, aerr)
	}
	lat := s.World.JitterLocked(world.PurposeLatency, c.latency, 0.25).Round(time.Millisecond)
	w.Header().Set(simhttp.LatencyHeader, lat.String())
	w.Header().Set("x-ms-request-id", c.reqID)
	w.Header().Set("x-ms-correlation-request-id", c.reqID)
	w.Header().Set("x-ms-routing-request-id", "WESTEUROPE:"+c.now.UTC().Format("20060102T150405Z")+":"+c.reqID)
	// Log before answering, so a call's log line exists once its client
	// has the response.
	if aerr != nil {
		s.Log.Info("azure request", "method", r.Method, "path", p, "status", aerr.Status, "error", aerr.Code, "latency", lat)
		writeARMError(w, aerr, c.reqID)
		return
	}
	s.Log.Info("azure request", "method", r.Method, "path", p, "status", resp.status, "action", c.action, "latency", lat)
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	writeJSON(w, resp.status, resp.body)
}

// performARM authenticates, routes, injects faults, authorizes and runs.
func (s *Server) performARM(c *call) (*response, *armError) {
	c.latency = 120 * time.Millisecond
	if c.query.Get("api-version") == "" {
		return nil, errf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	auth := c.r.Header.Get("Authorization")
	raw, found := strings.CutPrefix(auth, "Bearer ")
	if !found || raw == "" {
		return nil, &armError{Status: http.StatusUnauthorized, Code: "AuthenticationFailed",
			Message: "Authentication failed. The 'Authorization' header is missing.",
			Headers: map[string]string{"WWW-Authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`}}
	}
	tok, claims, err := azureworld.Of(s.World).AuthenticateToken(raw, c.now)
	if err != nil {
		code := "InvalidAuthenticationToken"
		if tok != nil {
			code = "ExpiredAuthenticationToken"
		}
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return nil, errf(http.StatusUnauthorized, code, "%s", msg)
	}
	if tok.SourceIP == "" {
		tok.SourceIP = c.sourceIP
	}
	c.token, c.claims = tok, claims
	rt, aerr := s.resolve(c)
	if aerr != nil {
		return nil, aerr
	}
	c.action, c.namespace = rt.action, rt.namespace
	c.readOnly = strings.HasSuffix(strings.ToLower(rt.action), "/read")
	if rt.latency > 0 {
		c.latency = rt.latency
	} else if !c.readOnly {
		c.latency = 250 * time.Millisecond
	}
	eff := s.Faults.Apply(s.World.FaultTargetLocked("azure", rt.namespace, rt.action, tok.ObjectID))
	c.latency = eff.Scale(c.latency)
	if eff.Throttle {
		return nil, &armError{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
			Message: "The request is being throttled as the limit has been reached for operation type - " + opType(c.readOnly) + "_ObservationWindow_00:05:00. For more information, see - https://aka.ms/srpthrottlinglimits",
			Headers: map[string]string{"retry-after-ms": "1000", "Retry-After": "1", "x-ms-ratelimit-remaining-subscription-reads": "0"}}
	}
	if eff.Error != 0 {
		code := "InternalServerError"
		if eff.Error == http.StatusServiceUnavailable {
			code = "ServiceUnavailable"
		}
		return nil, errf(eff.Error, code, "Encountered internal server error. Diagnostic information: timestamp '%s', subscription id '%s', tracking id '%s'.",
			c.now.UTC().Format("20060102T150405Z"), c.sub, c.reqID)
	}
	// ARM routes are control-plane actions; blob data actions are the data
	// plane's (serveBlob).
	if !rt.anyCaller && !azureworld.Of(s.World).Authorize(tok.ObjectID, rt.action, c.scope, false) {
		if !rt.filtered {
			return nil, c.authorizationFailed()
		}
		c.filterAction = rt.action
	}
	resp, err := rt.handle(c)
	if err != nil {
		if ae, ok := err.(*armError); ok {
			return nil, ae
		}
		return nil, mapWorldError(err)
	}
	return resp, nil
}

func opType(readOnly bool) string {
	if readOnly {
		return "Read"
	}
	return "Write"
}

// mapWorldError turns a world error into ARM's code for it.
func mapWorldError(err error) *armError {
	if ce, ok := world.ComputeErrorOf(err); ok {
		switch ce.Kind {
		case world.KindNotFound:
			return errf(http.StatusNotFound, "NotFound", "%s", ce.Msg)
		case world.KindIncorrectState, world.KindNotPermitted:
			return errf(http.StatusConflict, "OperationNotAllowed", "%s", ce.Msg)
		case world.KindDuplicate:
			return errf(http.StatusConflict, "Conflict", "%s", ce.Msg)
		case world.KindInvalid:
			return errf(http.StatusBadRequest, "InvalidParameter", "%s", ce.Msg)
		}
	}
	return errf(http.StatusInternalServerError, "InternalServerError", "%v", err)
}

// auditLocked records the call for the Activity Log (reads are kept in the
// world's log for detectors but the Activity Log does not list them, as
// Azure's does not).
func (s *Server) auditLocked(c *call, aerr *armError) {
	p := azureworld.Of(s.World).Principals.Lookup(c.token.ObjectID)
	name, kind := c.token.AppID, "ServicePrincipal"
	if p != nil {
		name = p.DisplayName
		if p.Kind == azureworld.ManagedIdentity {
			kind = "ManagedIdentity"
		}
	}
	params := map[string]string{"httpMethod": c.r.Method, "tokenIssuedAt": c.token.IssuedAt.UTC().Format(time.RFC3339),
		"tokenSource": c.token.Source, "appId": c.token.AppID, "tenantId": c.token.Tenant}
	for k, v := range c.params {
		params[k] = v
	}
	if c.token.ResourceID != "" {
		params["xms_mirid"] = c.token.ResourceID
	}
	res := c.resources
	if len(res) == 0 && c.scope != "" {
		res = []world.AuditResource{{Type: resourceTypeOf(c.scope), Name: c.scope}}
	}
	ev := &world.AuditEvent{ID: c.reqID, RequestID: c.reqID, Time: c.now,
		DeliverAt: c.now.Add(s.World.JitterLocked(world.PurposeDelivery, s.ActivityLogLag, 0.4)),
		Cloud:     "azure", Account: c.subOrScope(), Region: c.location, Service: c.namespace, Operation: c.action,
		PrincipalARN: c.token.ObjectID, PrincipalID: c.token.ObjectID, UserName: name, IdentityType: kind,
		AccessKeyID: c.token.ID, SourceIP: c.sourceIP, UserAgent: c.r.UserAgent(), Resources: res,
		ReadOnly: c.readOnly, Params: params}
	if aerr != nil {
		ev.ErrorCode, ev.ErrorMessage = aerr.Code, aerr.Message
		ev.Params["statusCode"] = strconv.Itoa(aerr.Status)
	}
	s.World.RecordAuditLocked(ev)
}

func (c *call) subOrScope() string {
	if c.sub != "" {
		return c.sub
	}
	if len(c.lsegs) >= 2 && c.lsegs[0] == "subscriptions" {
		return c.segs[1]
	}
	return ""
}

// resourceTypeOf names the ARM type of a resource id ("Microsoft.Compute/virtualMachines").
func resourceTypeOf(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") && i+1 < len(segs) {
			typ := segs[i+1]
			for j := i + 2; j < len(segs); j += 2 {
				typ += "/" + segs[j]
			}
			return typ
		}
	}
	if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
		return "Microsoft.Resources/resourceGroups"
	}
	return "Microsoft.Resources/subscriptions"
}

func writeARMError(w http.ResponseWriter, e *armError, reqID string) {
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("x-ms-error-code", e.Code)
	if reqID != "" {
		w.Header().Set("x-ms-request-id", reqID)
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":{"code":"InternalServerError","message":%q}}`, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// decodeBody unmarshals the request JSON.
func (c *call) decodeBody(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return errf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return errf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%v'.", err)
	}
	return nil
}

func (c *call) touch(typ, name string) {
	c.resources = append(c.resources, world.AuditResource{Type: typ, Name: name})
}

func (c *call) param(k, v string) {
	if c.params == nil {
		c.params = map[string]string{}
	}
	c.params[k] = v
}

func timeStr(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
