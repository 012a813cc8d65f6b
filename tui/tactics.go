package tui

import (
	"slices"
	"strings"
)

// Tactics are ATT&CK enterprise tactics in kill-chain order, the order the
// picker's tactic filter cycles through.
var tacticOrder = []string{
	"Reconnaissance", "Resource Development", "Initial Access", "Execution", "Persistence",
	"Privilege Escalation", "Defense Evasion", "Credential Access", "Discovery", "Lateral Movement",
	"Collection", "Command and Control", "Exfiltration", "Impact",
}

// techniqueTactics maps the ATT&CK techniques the catalog uses (and the
// cloud techniques it is likely to use next) to their tactics. Scenarios
// name techniques, not tactics; a small static map keeps the picker's
// filter offline and free of an ATT&CK dataset dependency. Sub-techniques
// not listed fall back to their parent.
var techniqueTactics = map[string][]string{
	"T1190":     {"Initial Access"},
	"T1496":     {"Impact"},
	"T1552":     {"Credential Access"},
	"T1552.005": {"Credential Access"},
	"T1578":     {"Defense Evasion"},
	"T1578.002": {"Defense Evasion"},
	"T1098":     {"Persistence", "Privilege Escalation"},
	"T1098.001": {"Persistence", "Privilege Escalation"},
	"T1098.003": {"Persistence", "Privilege Escalation"},
	"T1078":     {"Initial Access", "Persistence", "Privilege Escalation", "Defense Evasion"},
	"T1078.004": {"Initial Access", "Persistence", "Privilege Escalation", "Defense Evasion"},
	"T1136":     {"Persistence"},
	"T1136.003": {"Persistence"},
	"T1528":     {"Credential Access"},
	"T1530":     {"Collection"},
	"T1537":     {"Exfiltration"},
	"T1562":     {"Defense Evasion"},
	"T1562.007": {"Defense Evasion"},
	"T1562.008": {"Defense Evasion"},
	"T1580":     {"Discovery"},
	"T1526":     {"Discovery"},
	"T1087":     {"Discovery"},
	"T1087.004": {"Discovery"},
	"T1069":     {"Discovery"},
	"T1069.003": {"Discovery"},
	"T1485":     {"Impact"},
	"T1486":     {"Impact"},
	"T1651":     {"Execution"},
	"T1059":     {"Execution"},
	"T1059.009": {"Execution"},
	"T1110":     {"Credential Access"},
	"T1525":     {"Persistence"},
	"T1535":     {"Defense Evasion"},
}

// tacticsOf returns the tactics of technique ids in kill-chain order, each
// once. Unknown techniques contribute nothing.
func tacticsOf(ids []string) []string {
	seen := map[string]bool{}
	for _, id := range ids {
		ts, ok := techniqueTactics[id]
		if !ok {
			if base, _, found := strings.Cut(id, "."); found {
				ts = techniqueTactics[base]
			}
		}
		for _, t := range ts {
			seen[t] = true
		}
	}
	var out []string
	for _, t := range tacticOrder {
		if seen[t] {
			out = append(out, t)
		}
	}
	return out
}

// hasTactic reports whether tactic is among ts.
func hasTactic(ts []string, tactic string) bool { return slices.Contains(ts, tactic) }
