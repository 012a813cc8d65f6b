package providers

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Providers wrap every cloud error in an *OpError whose Kind is
// one of these, so playbooks branch on errors.Is(err, ErrNotFound) instead of
// on cloud-specific codes. The original SDK error stays reachable through
// errors.As.
var (
	// ErrNotFound: the resource does not exist (or no longer exists).
	ErrNotFound = errors.New("not found")
	// ErrAccessDenied: the credentials are not allowed to do this, or are
	// invalid, inactive or expired.
	ErrAccessDenied = errors.New("access denied")
	// ErrThrottled: the cloud rate-limited the call and retries ran out.
	ErrThrottled = errors.New("throttled")
	// ErrConflict: the resource is in a state that forbids the call
	// (protected, wrong instance state, already exists, concurrent change).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is malformed or has a bad parameter.
	ErrInvalid = errors.New("invalid request")
	// ErrUnsupported: the cloud (or this endpoint) does not offer the call.
	ErrUnsupported = errors.New("unsupported")
	// ErrTimeout: a wait for cloud-side work ran past its deadline.
	ErrTimeout = errors.New("timed out")
	// ErrFailed: cloud-side work (a command, a snapshot) finished unsuccessfully.
	ErrFailed = errors.New("failed")
)

// OpError is a failed provider operation: which call, on which resource, what
// kind of failure, the cloud's own error code, and the underlying error.
type OpError struct {
	Op       string // e.g. "ec2:StopInstances"
	Resource string // e.g. "i-0abc…"; may be empty
	Kind     error  // one of the Err* kinds above, or nil if unclassified
	Code     string // the cloud's error code, e.g. "IncorrectInstanceState"
	Err      error
}

func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Resource != "" {
		b.WriteString(" ")
		b.WriteString(e.Resource)
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is / errors.As.
func (e *OpError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Code returns the cloud error code carried by err, or "".
func Code(err error) string {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}
