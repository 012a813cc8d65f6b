package gcp

import (
	"context"
	"errors"
	"strings"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/firedrill-ir/firedrill/providers"
)

// errorInfo extracts the HTTP status and the most specific reason of a
// Google API error. Compute answers the legacy googleapi form (reasons in
// errors[], which makes gax drop ErrorInfo details), the newer APIs answer
// ErrorInfo (apierror.Reason()); both are read (wire-protocols §3.4).
func errorInfo(err error) (status int, reason string) {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		status = ge.Code
		for _, e := range ge.Errors {
			if e.Reason != "" {
				reason = e.Reason
				break
			}
		}
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) {
		if status == 0 {
			status = ae.HTTPCode()
		}
		if reason == "" {
			reason = ae.Reason()
		}
		if reason == "" && ae.GRPCStatus() != nil {
			reason = ae.GRPCStatus().Code().String()
		}
	}
	return status, reason
}

var (
	throttleReasons = map[string]bool{"rateLimitExceeded": true, "userRateLimitExceeded": true, "RATE_LIMIT_EXCEEDED": true,
		"quotaExceeded": true, "RESOURCE_EXHAUSTED": true, "ResourceExhausted": true}
	conflictReasons = map[string]bool{"conditionNotMet": true, "resourceNotReady": true, "resourceInUseByAnotherResource": true,
		"alreadyExists": true, "FAILED_PRECONDITION": true, "FailedPrecondition": true, "ALREADY_EXISTS": true, "RESOURCE_NOT_READY": true}
)

// classify maps an HTTP status and reason to a neutral error kind.
func classify(status int, reason string) error {
	switch {
	case throttleReasons[reason] || status == 429:
		return providers.ErrThrottled
	case status == 404 || reason == "notFound":
		return providers.ErrNotFound
	case status == 401 || status == 403:
		return providers.ErrAccessDenied
	case status == 409 || status == 412 || conflictReasons[reason]:
		return providers.ErrConflict
	case status == 400:
		return providers.ErrInvalid
	case status == 501:
		return providers.ErrUnsupported
	}
	return nil
}

// retryable reports throttling and transient server errors. The Go
// clients retry none of the throttles (429, 403 rateLimitExceeded) and only
// 503/504 on reads, with wall-clock sleeps that the provider disables.
func retryable(err error) bool {
	status, reason := errorInfo(err)
	if throttleReasons[reason] || status == 429 {
		return true
	}
	switch status {
	case 500, 502, 503, 504:
		return true
	}
	return false
}

// wrapErr turns a client error into a *providers.OpError naming the
// operation and resource; the Google error stays reachable with errors.As.
func wrapErr(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return err
	}
	status, reason := errorInfo(err)
	kind := classify(status, reason)
	if kind == nil && (errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "context deadline exceeded")) {
		kind = providers.ErrTimeout
	}
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: reason, Err: err}
}

// opErr builds an error for a condition the provider detected itself.
func opErr(op, resource string, kind error, code, msg string) error {
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: code, Err: errors.New(msg)}
}

// isKind reports whether err classifies as kind.
func isKind(err error, kind error) bool { return err != nil && errors.Is(wrapErr("", "", err), kind) }
