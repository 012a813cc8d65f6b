package responder

import (
	"errors"
	"fmt"
	"strings"

	"github.com/firedrill-ir/firedrill/providers"
)

// Capability names, as actions declare them (ActionSpec.Requires) and as
// skip reasons name them.
const (
	CapCompute       = "compute"
	CapNetwork       = "network"
	CapIdentity      = "identity"
	CapAudit         = "audit"
	CapStorage       = "storage"
	CapRunCommand    = "run-command"
	CapMemoryCapture = "memory capture"
	CapRevoke        = "session revocation"
)

// capabilityError says an action cannot run because the cloud (or its
// provider) lacks a capability. It is a providers.ErrUnsupported, so the
// engine skips the step and names the documented fallback instead of
// failing the case.
type capabilityError struct{ capability string }

func (e *capabilityError) Error() string {
	return fmt.Sprintf("this cloud has no %s capability: %v", e.capability, providers.ErrUnsupported)
}

func (e *capabilityError) Unwrap() error { return providers.ErrUnsupported }

// documentedFallbacks is what an incident responder does instead when a
// cloud cannot do a step (shared/notes/ir-semantics.md §1, §3.2, §3.6). The
// skip reason quotes it, so a drill's timeline says what a human should do
// rather than merely that automation could not.
var documentedFallbacks = map[string]map[string]string{
	providers.CloudGCP: {
		CapRunCommand: "GCP has no first-party run-command; collect volatile state (processes, connections) over SSH " +
			"through IAP/OS Login or an OS Config patch-job ExecStep before isolating, and rely on the disk snapshots",
		CapMemoryCapture: "GCP has no first-party run-command to run AVML; capture memory over SSH through IAP/OS Login " +
			"before isolating (suspend keeps memory but not readable); VM Threat Detection scans memory for miners",
		CapStorage: "artifacts are kept in the case record with their SHA-256 until Cloud Storage evidence is wired",
	},
	providers.CloudAzure: {
		CapRevoke: "Azure cannot revoke a managed identity's issued tokens (cached about 24 h); delete the identity's " +
			"role assignments instead (remove_role_assignments), which ARM checks on every call",
	},
}

// unsupportedReason renders a skip reason for an unsupported step: the
// error, and the cloud's documented fallback when the error names a
// capability that has one.
func (r *Responder) unsupportedReason(err error) string {
	reason := err.Error()
	var ce *capabilityError
	if errors.As(err, &ce) {
		if fb := documentedFallbacks[r.cloud()][ce.capability]; fb != "" {
			reason += "; documented fallback: " + fb
		}
	}
	return reason
}

// capabilityGap checks an action's declared capabilities against the
// provider before the step starts, so a step the cloud cannot do is skipped
// without a start event or a cloud call.
func (r *Responder) capabilityGap(s *Step) error {
	if r.p == nil {
		return nil
	}
	for _, c := range registry[s.Action].Requires {
		if Lacks(r.p, c) {
			return &capabilityError{capability: c}
		}
	}
	return nil
}

// Lacks reports whether p lacks a capability: a nil capability interface,
// or a Capabilities flag that says the cloud cannot.
func Lacks(p providers.Provider, capability string) bool {
	caps := p.Capabilities()
	switch capability {
	case CapCompute:
		return p.Compute() == nil
	case CapNetwork:
		return p.Network() == nil
	case CapIdentity:
		return p.Identity() == nil
	case CapAudit:
		return p.Audit() == nil
	case CapStorage:
		return p.Storage() == nil
	case CapRunCommand:
		return p.Exec() == nil || !caps.CanRunCommand
	case CapMemoryCapture:
		return p.Exec() == nil || !caps.CanCaptureMemory
	case CapRevoke:
		return p.Identity() == nil || !caps.CanRevokeSessions
	}
	return false
}

// CapabilityFacts exposes a provider's capabilities to CEL and templates
// as facts.capabilities.<snake_case flag>.
func CapabilityFacts(c providers.Capabilities) map[string]any {
	return map[string]any{
		"can_revoke_sessions":          c.CanRevokeSessions,
		"can_run_command":              c.CanRunCommand,
		"can_capture_memory":           c.CanCaptureMemory,
		"can_protect_from_scaling":     c.CanProtectFromScaling,
		"can_protect_from_termination": c.CanProtectFromTermination,
		"can_hibernate":                c.CanHibernate,
		"can_disable_access_keys":      c.CanDisableAccessKeys,
		"needs_two_step_isolation":     c.NeedsTwoStepIsolation,
		"audit_delay":                  c.AuditDelay.String(),
	}
}

// need returns a capability or a capabilityError when the cloud lacks it.
func need[T any](cap T, what string) (T, error) {
	if any(cap) == nil {
		var zero T
		return zero, &capabilityError{capability: what}
	}
	return cap, nil
}

// joinAny renders a list fact for messages.
func joinAny(v []any) string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ", ")
}
