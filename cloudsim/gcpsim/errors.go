package gcpsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// apiError is a failure in Google's JSON error envelope.
//
// Compute Engine (legacy=true) answers the googleapi form with an
// "errors" array of {message, domain, reason}; the newer APIs (Logging,
// Security Command Center, IAM) answer the google.rpc.Status form with a
// "details" ErrorInfo instead. Clients see *googleapi.Error either way, but
// gax's apierror.Reason() is only filled from ErrorInfo, and gax drops the
// details whenever "errors" is present: provider code has to read both
// (wire-protocols §3.4), and the simulator reproduces the split.
type apiError struct {
	code    int
	status  string // canonical code name, e.g. NOT_FOUND
	message string
	reason  string // googleapi reason (legacy) or ErrorInfo reason
	domain  string
	legacy  bool
	meta    map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.code, e.reason, e.message) }

type errorItem struct {
	Message string `json:"message"`
	Domain  string `json:"domain"`
	Reason  string `json:"reason"`
}

type errorDetail struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type errorBody struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Errors  []errorItem   `json:"errors,omitempty"`
	Status  string        `json:"status,omitempty"`
	Details []errorDetail `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	b := errorBody{Code: e.code, Message: e.message, Status: e.status}
	domain := e.domain
	if e.legacy {
		if domain == "" {
			domain = "global"
		}
		b.Errors = []errorItem{{Message: e.message, Domain: domain, Reason: e.reason}}
	} else if e.reason != "" {
		if domain == "" {
			domain = "googleapis.com"
		}
		b.Details = []errorDetail{{Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: e.reason, Domain: domain, Metadata: e.meta}}
	}
	buf, _ := json.Marshal(map[string]any{"error": b})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.code)
	_, _ = w.Write(buf)
}

func serviceHost(service string) string {
	switch service {
	case "compute":
		return "compute.googleapis.com"
	case "logging":
		return "logging.googleapis.com"
	case "securitycenter":
		return "securitycenter.googleapis.com"
	case "iam":
		return "iam.googleapis.com"
	}
	return service + ".googleapis.com"
}

// throttled is the quota error of each API. Neither is retried by the Go
// clients (they retry only 503/504 on reads), so callers must back off.
func throttled(service string) *apiError {
	if service == "compute" {
		return &apiError{code: 429, status: "RESOURCE_EXHAUSTED", reason: "rateLimitExceeded", domain: "usageLimits", legacy: true,
			message: "Rate Limit Exceeded"}
	}
	return &apiError{code: 429, status: "RESOURCE_EXHAUSTED", reason: "RATE_LIMIT_EXCEEDED", domain: "googleapis.com",
		message: fmt.Sprintf("Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service '%s'.", serviceHost(service)),
		meta:    map[string]string{"service": serviceHost(service), "quota_limit": "ReadRequestsPerMinutePerProject"}}
}

func denied(service, perm, resource string) *apiError {
	if service == "compute" {
		return &apiError{code: 403, status: "PERMISSION_DENIED", reason: "forbidden", legacy: true,
			message: fmt.Sprintf("Required '%s' permission for '%s'", perm, resource)}
	}
	return &apiError{code: 403, status: "PERMISSION_DENIED", reason: "IAM_PERMISSION_DENIED", domain: "iam.googleapis.com",
		message: fmt.Sprintf("Permission '%s' denied on resource '%s' (or it may not exist).", perm, resource),
		meta:    map[string]string{"permission": perm, "resource": resource}}
}

func notFoundErr(service, resource string) *apiError {
	if service == "compute" {
		return &apiError{code: 404, status: "NOT_FOUND", reason: "notFound", legacy: true,
			message: fmt.Sprintf("The resource '%s' was not found", resource)}
	}
	return &apiError{code: 404, status: "NOT_FOUND", message: fmt.Sprintf("Resource '%s' was not found", resource)}
}

func badRequest(service, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if service == "compute" {
		return &apiError{code: 400, status: "INVALID_ARGUMENT", reason: "invalid", legacy: true, message: msg}
	}
	return &apiError{code: 400, status: "INVALID_ARGUMENT", message: msg}
}

// fromWorld renders a world.GCPError in the Compute envelope.
func fromWorld(err error) *apiError {
	var ge *gcpworld.Error
	if errors.As(err, &ge) {
		return &apiError{code: ge.Status, status: statusName(ge.Status), reason: ge.Reason, legacy: true, message: ge.Msg}
	}
	return &apiError{code: 500, status: "INTERNAL", reason: "backendError", legacy: true, message: err.Error()}
}

func statusName(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ALREADY_EXISTS"
	case 412:
		return "FAILED_PRECONDITION"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}
