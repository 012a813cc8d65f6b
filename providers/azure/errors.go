package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/firedrill-ir/firedrill/providers"
)

// Error codes by kind; anything else is classified by HTTP status.
var (
	notFoundCodes = set("ResourceNotFound", "NotFound", "ResourceGroupNotFound", "SubscriptionNotFound",
		"RoleAssignmentNotFound", "LockNotFound", "BlobNotFound", "ContainerNotFound", "ParentResourceNotFound",
		"InvalidResourceReference", "PrincipalNotFound", "RoleDefinitionDoesNotExist")
	deniedCodes = set("AuthorizationFailed", "LinkedAuthorizationFailed", "InvalidAuthenticationToken",
		"ExpiredAuthenticationToken", "AuthenticationFailed", "AuthorizationPermissionMismatch",
		"InvalidAuthenticationInfo", "NoAuthenticationInformation", "InvalidAuthenticationTokenTenant")
	throttleCodes = set("TooManyRequests", "SubscriptionRequestsThrottled", "TenantRequestsThrottled", "ServerBusy")
	conflictCodes = set("ScopeLocked", "OperationNotAllowed", "Conflict", "AnotherOperationInProgress",
		"OperationPreempted", "PropertyChangeNotAllowed", "RetryableError")
	invalidCodes = set("InvalidParameter", "InvalidRequestContent", "InvalidRequestFormat", "BadRequest",
		"MissingApiVersionParameter", "LocationRequired", "SecurityRuleInvalidParameters", "SecurityRuleInvalidPriority", "SecurityRuleConflict",
		"LockLevelInvalid", "InvalidTagOperation", "UnsupportedQuery", "InvalidHeaderValue", "Md5Mismatch")
	unsupportedCodes = set("InvalidResourceType", "NoRegisteredProviderFound", "MethodNotAllowed", "UnsupportedHttpVerb")
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func classify(code string, status int) error {
	switch {
	case notFoundCodes[code]:
		return providers.ErrNotFound
	case deniedCodes[code]:
		return providers.ErrAccessDenied
	case throttleCodes[code]:
		return providers.ErrThrottled
	case conflictCodes[code]:
		return providers.ErrConflict
	case invalidCodes[code]:
		return providers.ErrInvalid
	case unsupportedCodes[code]:
		return providers.ErrUnsupported
	}
	switch status {
	case http.StatusNotFound:
		return providers.ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return providers.ErrAccessDenied
	case http.StatusTooManyRequests:
		return providers.ErrThrottled
	case http.StatusConflict, http.StatusPreconditionFailed:
		return providers.ErrConflict
	case http.StatusBadRequest:
		return providers.ErrInvalid
	}
	return nil
}

// wrapErr turns an SDK error into a *providers.OpError with the neutral kind
// derived from ARM's error code (x-ms-error-code) and status. The SDK error
// stays reachable with errors.As (*azcore.ResponseError).
func wrapErr(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) && op == "" {
		return err
	}
	code, status := "", 0
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code, status = re.ErrorCode, re.StatusCode
		err = &armError{re: re}
	}
	kind := classify(code, status)
	var af *azidentity.AuthenticationFailedError
	if kind == nil && errors.As(err, &af) {
		kind = providers.ErrAccessDenied
	}
	if kind == nil && errors.Is(err, context.DeadlineExceeded) {
		kind = providers.ErrTimeout
	}
	if kind == nil && errors.As(err, &oe) {
		kind = oe.Kind
		code = oe.Code
	}
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: code, Err: err}
}

// armError is an ARM error as a line: azcore's own text spans a dozen
// lines and names the endpoint's host, which a drill's loopback port makes
// differ from run to run; the error is still reachable with errors.As.
type armError struct{ re *azcore.ResponseError }

func (e *armError) Error() string {
	msg := ""
	if r := e.re.RawResponse; r != nil && r.Body != nil {
		var body struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if b, err := io.ReadAll(r.Body); err == nil {
			r.Body = io.NopCloser(bytes.NewReader(b))
			if json.Unmarshal(b, &body) == nil {
				msg = body.Error.Message
			}
		}
	}
	out := fmt.Sprintf("%s (HTTP %d)", e.re.ErrorCode, e.re.StatusCode)
	if r := e.re.RawResponse; r != nil && r.Request != nil {
		out = r.Request.Method + " " + r.Request.URL.Path + ": " + out
	}
	if msg != "" {
		out += ": " + msg
	}
	return out
}

func (e *armError) Unwrap() error { return e.re }

// opErr builds an error for a condition the provider itself detected.
func opErr(op, resource string, kind error, code, msg string) error {
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: code, Err: errors.New(msg)}
}

// isKind reports whether err classifies as kind.
func isKind(err error, kind error) bool {
	return err != nil && errors.Is(wrapErr("", "", err), kind)
}
