package scoring

import (
	"slices"
	"strings"
)

// Reason codes: why a drill did not pass, as stable strings tests and CI
// gates can match (the reasons' text may change; these do not). With
// several clouds the incident's codes are its clouds' prefixed with the
// cloud ("azure:path_open:network_flow").
const (
	// CodeNotDeclared: the responder never declared containment.
	CodeNotDeclared = "containment_not_declared"
	// CodeNotChecked: the runner recorded no containment check.
	CodeNotChecked = "containment_not_checked"
	// CodeBadCheck: the containment check's answer was unreadable.
	CodeBadCheck = "containment_check_unreadable"
	// CodePathOpen, suffixed ":<kind>" (stolen_credential,
	// planted_credential, network_flow, backdoor_rule, policy_grant,
	// launched_compute): a way in of that kind was still open at the final
	// check.
	CodePathOpen = "path_open"
	// CodeFlowUsed: with containment not verified, on-host actions
	// succeeded after the declaration over a connection the isolation left
	// up (the tracked flow of a one-step group swap, an NSG without
	// flushConnection, a firewall without access-config churn).
	CodeFlowUsed = "flow_used_after_containment"
	// CodeStolenCredentialUsed: with containment not verified, calls with
	// a stolen credential succeeded after the declaration (a role session
	// never revoked, a managed identity whose role assignments stayed, a
	// service account never disabled).
	CodeStolenCredentialUsed = "stolen_credential_used_after_containment"
	// CodePlantedCredentialUsed: likewise with a credential the attacker
	// created for itself.
	CodePlantedCredentialUsed = "planted_credential_used_after_containment"
	// CodeOtherActionsUsed: likewise with no known credential class.
	CodeOtherActionsUsed = "other_access_used_after_containment"
	// CodeArtifactPresent, suffixed ":<kind>" (access_key, network_rule,
	// vm, …): something the attacker
	// planted was still there at the end, with eradication in scope.
	CodeArtifactPresent = "artifact_present"
	// CodeArtifactUnknown, suffixed ":<kind>": the final check could not
	// tell whether a planted thing is gone (not implemented for its kind).
	CodeArtifactUnknown = "artifact_unknown"
	// CodeEradicationNotChecked: no final check reported artifacts.
	CodeEradicationNotChecked = "eradication_not_checked"
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
func (c *Containment) addCode(code string) { c.ReasonCodes = addOnce(c.ReasonCodes, code) }

// fail records a reason eradication is not verified, with its code.
func (e *Eradication) fail(code, reason string) {
	e.Reasons = append(e.Reasons, reason)
	e.ReasonCodes = addOnce(e.ReasonCodes, code)
}

func addOnce(codes []string, code string) []string {
	if slices.Contains(codes, code) {
		return codes
	}
	return append(codes, code)
}

// credentialCode names the way in an attacker action used, from its
// credential label.
func credentialCode(cred string) string {
	switch {
	case cred == credHost:
		return CodeFlowUsed
	case cred == credPersistence || strings.HasPrefix(cred, "planted"):
		return CodePlantedCredentialUsed
	case strings.HasPrefix(cred, "stolen"):
		return CodeStolenCredentialUsed
	}
	return CodeOtherActionsUsed
}
