package scoring

import (
	"slices"
	"strings"
)

// Reason codes: why a drill did not pass, as stable strings tests and CI
// gates can match (the reasons' text may change; these do not). With
// several clouds the incident's codes are its clouds' prefixed with the
// cloud ("azure:flow_survived").
const (
	// CodeNotDeclared: the responder never declared containment.
	CodeNotDeclared = "containment_not_declared"
	// CodeActionsAfterContainment: counted attacker actions succeeded after
	// containment was declared.
	CodeActionsAfterContainment = "actions_after_containment"
	// CodeFlowUsed: among them, on-host actions over a connection the
	// isolation left up (the tracked flow of a one-step group swap, an NSG
	// without flushConnection, a firewall without access-config churn).
	CodeFlowUsed = "flow_used_after_containment"
	// CodeStolenCredentialUsed: among them, calls with a stolen credential
	// the response did not cut (a role session never revoked, a managed
	// identity whose role assignments stayed, a service account never
	// disabled).
	CodeStolenCredentialUsed = "stolen_credential_used_after_containment"
	// CodeOtherActionsUsed: among them, actions of no known credential
	// class.
	CodeOtherActionsUsed = "other_access_used_after_containment"
	// CodeNotChecked: the runner recorded no containment check.
	CodeNotChecked = "containment_not_checked"
	// CodeBadCheck: the containment check's counts were unreadable.
	CodeBadCheck = "containment_check_unreadable"
	// CodeFlowSurvived: an attacker connection was still up at the end.
	CodeFlowSurvived = "flow_survived"
	// CodeStolenCredentialValid: a stolen credential still worked at the
	// end.
	CodeStolenCredentialValid = "stolen_credential_valid"
	// CodeSLOMissed, suffixed ":detect", ":investigate" or ":contain": a
	// target of the SLO profile was missed.
	CodeSLOMissed = "slo_missed"
)

// fail records a reason containment is not verified, with its code.
func (c *Containment) fail(code, reason string) {
	c.Reasons = append(c.Reasons, reason)
	c.addCode(code)
}

// addCode adds a reason code once.
func (c *Containment) addCode(code string) {
	if !slices.Contains(c.ReasonCodes, code) {
		c.ReasonCodes = append(c.ReasonCodes, code)
	}
}

// credentialCode names the way in an attacker action used, from its
// credential label.
func credentialCode(cred string) string {
	switch {
	case cred == credHost:
		return CodeFlowUsed
	case strings.HasPrefix(cred, "stolen"):
		return CodeStolenCredentialUsed
	}
	return CodeOtherActionsUsed
}
