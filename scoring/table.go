package scoring

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Table writes the scorecard for a terminal: a header, then one aligned
// section per part of the score. Times are shown as offsets from the start
// of the drill (T+5m12s), which is what a reader compares; the JSON carries
// the absolute virtual timestamps. The timeline itself is left to the JSON.
func (s *Scorecard) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }

	p("scenario\t%s\n", s.Scenario)
	p("seed\t%d\n", s.Seed)
	p("clouds\t%s\n", joinOr(s.Clouds, "-"))
	p("playbooks\t%s\n", joinOr(s.Playbooks, "-"))
	p("simulated\t%s (%s → %s)\n", fmtDur(s.EndedAt.Sub(s.StartedAt)), s.StartedAt.Format(time.RFC3339), s.EndedAt.Format(time.RFC3339))
	for i, f := range s.Faults {
		label := ""
		if i == 0 {
			label = "faults"
		}
		p("%s\t%s\n", label, f)
	}
	p("outcome\t%s\n", s.Outcome)
	p("score\t%d/100\n", s.Score)
	p("\t= %s\n", s.Breakdown.terms())
	p("result\t%s\n", result(s.Verdict))
	for i, line := range wrap(s.ReasonCodes, 80) {
		label := ""
		if i == 0 {
			label = "reason codes"
		}
		p("%s\t%s\n", label, line)
	}

	if len(s.CloudsDetail) > 1 {
		p("\nCLOUD\tOUTCOME\tSCORE\tMTTD\tMTTC\tCONTAINED\tVERDICT\n")
		for _, c := range s.CloudsDetail {
			contained := "-"
			if c.Containment.ContainedAt != nil {
				contained = s.offset(*c.Containment.ContainedAt)
			}
			p("%s\t%s\t%d/100\t%s\t%s\t%s\t%s\n", c.Cloud, c.Outcome, c.Score, fmtSecs(c.Metrics.MTTDSeconds),
				fmtSecs(c.Metrics.MTTCSeconds), contained, c.Verdict)
		}
	}

	p("\nMETRIC\tVALUE\n")
	m := s.Metrics
	for _, r := range []struct {
		name string
		v    *float64
	}{
		{"MTTD (attack → first alert)", m.MTTDSeconds},
		{"MTTA (first alert → ack)", m.MTTASeconds},
		{"MTTC (first alert → every way in cut)", m.MTTCSeconds},
		{"MTTC declared (first alert → responder said so)", m.DeclaredMTTCSeconds},
		{"containment gap (declared → effective)", m.ContainmentGapSeconds},
		{"attack → contained", m.AttackToContainmentSeconds},
		{"telemetry latency (first action → first log)", m.TelemetryLatencySeconds},
		{"detection overhead (first log → first alert)", m.DetectionOverheadSeconds},
	} {
		p("%s\t%s\n", r.name, fmtSecs(r.v))
	}

	p("\nDETECTION\tTYPE\tAT\tLATENCY\n")
	if len(s.Detections) == 0 {
		p("(none)\t\t\t\n")
	}
	for _, d := range s.Detections {
		p("%s\t%s\t%s\t%s\n", d.Control, d.Type, s.offset(d.At), fmtSecs(d.LatencySeconds))
	}

	p("\nCONTROL\tOUTCOME\tWEIGHT\tWHY\n")
	for _, c := range s.Controls {
		p("%s\t%s\t%.1f\t%s\n", c.Control, c.Outcome, c.Weight, c.Reason)
	}

	p("\nEVIDENCE\tID\tSOURCE\tCAPTURED\tBEFORE LOSS\n")
	// Object keys and sources are clipped to keep rows within 100 columns;
	// the JSON has them whole.
	if len(s.Evidence) == 0 {
		p("(none)\t\t\t\t\n")
	}
	for _, e := range s.Evidence {
		captured := "-"
		if e.CapturedAt != nil {
			captured = s.offset(*e.CapturedAt)
		}
		before := yesNo(e.BeforeLoss)
		if e.LostAt != nil {
			before += " (lost " + s.offset(*e.LostAt) + ")"
		}
		p("%s\t%s\t%s\t%s\t%s\n", e.Kind, clip(shortID(e.ID), 26), clip(orDash(e.Source), 20), captured, before)
	}

	s.containmentTable(p)
	s.eradicationTable(p)
	s.collateralTable(p)

	p("\nSLO %s\tTARGET\tACTUAL\tMET\n", s.SLO.Profile)
	for _, t := range s.SLO.Targets {
		target := t.TargetSeconds
		p("%s (%s)\t%s\t%s\t%s\n", t.Name, t.Metric, fmtSecs(&target), fmtSecs(t.ActualSeconds), yesNo(t.Met))
	}
	for _, n := range s.SLO.Notes {
		prose(p, "note", n)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing scorecard table: %w", err)
	}
	return nil
}

// containmentTable writes the ways in and what the attacker did after the
// declaration.
func (s *Scorecard) containmentTable(p func(string, ...any)) {
	c := s.Containment
	p("\nCONTAINMENT\n")
	p("verified\t%s\n", yesNo(c.Verified))
	contained := "never: a way in is still open, or was never checked"
	if c.ContainedAt != nil {
		contained = s.offset(*c.ContainedAt) + " (every way in cut)"
	}
	declared := "never"
	if c.DeclaredAt != nil {
		declared = s.offset(*c.DeclaredAt)
	}
	p("contained at\t%s\n", contained)
	p("declared at\t%s\n", declared)
	var res []string
	for _, r := range c.ContainedResources {
		res = append(res, shortID(r))
	}
	for i, line := range wrap(res, 80) {
		label := ""
		if i == 0 {
			label = "contained"
		}
		p("%s\t%s\n", label, line)
	}
	if len(c.Paths) > 0 {
		p("\nPATH\tSTATUS\tPROBES\tLAST OPEN\tCUT AT\n")
	}
	for _, pr := range c.Paths {
		p("%s\t%s\t%d\t%s\t%s\n", pr.ID, pr.Status, pr.Probes, s.offsetOr(pr.LastSuccessAt), s.offsetOr(pr.CutAt))
	}
	// The attacker's calls after the declaration: a success there means
	// the declaration came before the cut.
	a, pa := c.AttackerActionsAfterContainment, c.PersistenceActionsAfterContainment
	p("\nATTACKER CALLS AFTER DECLARED\tOK\tDENIED\tFAILED\n")
	p("all that need a permission\t%d\t%d\t%d\n", a.Succeeded, a.Denied, a.Failed)
	p("  with planted credentials\t%d\t%d\t%d\n", pa.Succeeded, pa.Denied, pa.Failed)
	unblockable := false
	for _, o := range c.ByOperation {
		mark := ""
		if !o.Counted {
			mark, unblockable = "*", true
		}
		p("  %s %s%s\t%d\t%d\t%d\n", orDash(o.Credential), o.Operation, mark, o.Succeeded, o.Denied, o.Failed)
	}
	if unblockable {
		p("  * needs no permission: proves nothing, not counted\n")
	}
	p("\n")
	if !c.Checked {
		p("final check\tnot recorded or unreadable\n")
	}
	for _, r := range c.Reasons {
		prose(p, "why not verified", r)
	}
	for _, n := range c.Notes {
		prose(p, "note", n)
	}
}

// eradicationTable writes what the attacker planted and whether it is gone.
func (s *Scorecard) eradicationTable(p func(string, ...any)) {
	e := s.Eradication
	scope := "in scope"
	if !e.InScope {
		scope = "out of scope: reported, not scored"
	}
	p("\nERADICATION\t%s, verified: %s\n", scope, yesNo(e.Verified))
	if len(e.Items) > 0 {
		p("ARTIFACT\tKIND\tSTATUS\tCOST\n")
	}
	for _, it := range e.Items {
		p("%s\t%s\t%s\t$%.2f\n", shortID(it.Resource), it.Kind, it.Status, it.CostUSD)
	}
	if e.CostUSD > 0 {
		p("attacker compute cost\t$%.2f (on demand, until removed)\n", e.CostUSD)
	}
	for _, r := range e.Reasons {
		prose(p, "  why not verified", r)
	}
}

// collateralTable writes the legitimate work the response broke, one row
// per activity: how many of its actions were denied, by how many of its
// principals, when it first broke and when it worked again.
func (s *Scorecard) collateralTable(p func(string, ...any)) {
	c := s.Collateral
	if c.DeniedLegitimateActions == 0 {
		return
	}
	p("\nCOLLATERAL\t%d legitimate action(s) denied after the response began (−%g)\n", c.DeniedLegitimateActions,
		s.Breakdown.CollateralPenalty)
	p("ACTIVITY\tPRINCIPAL\tDENIED\tFIRST\tRESTORED\n")
	for _, a := range c.Activities {
		restored := "not by the end"
		if a.RestoredAt != nil {
			restored = s.offset(*a.RestoredAt)
		}
		by := ""
		if len(a.Principals) > 1 || (len(a.Principals) == 1 && a.Principals[0] != a.Principal) {
			by = fmt.Sprintf(" by %d", len(a.Principals))
		}
		p("%s\t%s\t%d%s\t%s\t%s\n", a.Activity, clip(a.Principal, 24), a.Denied, by, s.offset(a.FirstDeniedAt), restored)
	}
}

// proseWidth is where the table wraps sentences, so that a row with its
// label fits 100 columns.
const proseWidth = 64

// prose writes a labelled sentence wrapped at proseWidth, the label on
// its first line only.
func prose(p func(string, ...any), label, text string) {
	line := ""
	flush := func() {
		p("%s\t%s\n", label, line)
		label, line = "", ""
	}
	for _, w := range strings.Fields(text) {
		w = clip(w, proseWidth) // a resource id longer than a line
		if line != "" && len(line)+1+len(w) > proseWidth {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		flush()
	}
}

// terms spells the score formula out with this drill's numbers.
func (b ScoreBreakdown) terms() string {
	t := fmt.Sprintf("contain %g + eradicate %g + evidence %g + timing %g + ladder %g", b.Containment,
		b.Eradication, b.Evidence, b.Timeliness, b.Outcome)
	if b.Scale != 0 && b.Scale != 1 {
		t = "(" + t + fmt.Sprintf(") × %.3g", b.Scale)
	}
	return t + fmt.Sprintf(" − penalties %g", b.Penalties)
}

// result is the verdict line: PASS, or FAIL with the verdict.
func result(verdict string) string {
	if verdict == VerdictPass {
		return "PASS"
	}
	return "FAIL: " + strings.ReplaceAll(verdict, "_", " ")
}

// wrap joins words with ", " into lines of at most width characters (a
// longer word gets a line of its own).
func wrap(words []string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+2+len(w) <= width:
			cur += ", " + w
		default:
			lines = append(lines, cur+",")
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// offsetOr is offset, or "-" for no time.
func (s *Scorecard) offsetOr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return s.offset(*t)
}

// offset formats t as time since the drill started.
func (s *Scorecard) offset(t time.Time) string { return "T+" + fmtDur(t.Sub(s.StartedAt)) }

// fmtDur prints whole seconds above a minute and milliseconds below, so the
// table neither hides a sub-second latency nor drowns minutes in digits.
func fmtDur(d time.Duration) string {
	if d < time.Minute && d > -time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func fmtSecs(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmtDur(time.Duration(*v * float64(time.Second)))
}

// shortID keeps long object keys readable in a table: the last path
// segment of a key longer than 26 characters. The JSON has the full id.
func shortID(id string) string {
	if len(id) <= 26 || !strings.Contains(id, "/") {
		return id
	}
	return "…/" + id[strings.LastIndex(id, "/")+1:]
}

// clip shortens s to n characters by cutting its middle, where long ids
// are least telling (prefixes name the kind, suffixes tell ids apart).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}
