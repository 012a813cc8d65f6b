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

	verdict := "FAIL"
	if s.Pass {
		verdict = "PASS"
	}
	p("scenario\t%s\n", s.Scenario)
	p("seed\t%d\n", s.Seed)
	p("clouds\t%s\n", joinOr(s.Clouds, "-"))
	p("playbooks\t%s\n", joinOr(s.Playbooks, "-"))
	p("simulated\t%s (%s → %s)\n", fmtDur(s.EndedAt.Sub(s.StartedAt)), s.StartedAt.Format(time.RFC3339), s.EndedAt.Format(time.RFC3339))
	p("outcome\t%s\n", s.Outcome)
	p("score\t%d/100 (containment %g + evidence %g + timeliness %g + outcome %g − penalties %g)\n",
		s.Score, s.Breakdown.Containment, s.Breakdown.Evidence, s.Breakdown.Timeliness, s.Breakdown.Outcome, s.Breakdown.Penalties)
	p("result\t%s (SLO met: %s, containment verified: %s)\n", verdict, yesNo(s.SLO.Met), yesNo(s.Containment.Verified))

	if len(s.CloudsDetail) > 1 {
		p("\nCLOUD\tOUTCOME\tSCORE\tMTTD\tMTTC\tCONTAINED\tRESULT\n")
		for _, c := range s.CloudsDetail {
			res := "FAIL"
			if c.Pass {
				res = "PASS"
			}
			contained := "-"
			if c.Containment.ContainedAt != nil {
				contained = s.offset(*c.Containment.ContainedAt)
			}
			p("%s\t%s\t%d/100\t%s\t%s\t%s\t%s (verified: %s)\n", c.Cloud, c.Outcome, c.Score, fmtSecs(c.Metrics.MTTDSeconds),
				fmtSecs(c.Metrics.MTTCSeconds), contained, res, yesNo(c.Containment.Verified))
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
		{"MTTC (first alert → contained)", m.MTTCSeconds},
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
		p("%s\t%s\t%s\t%s\t%s\n", e.Kind, shortID(e.ID), orDash(e.Source), captured, before)
	}

	c := s.Containment
	p("\nCONTAINMENT\n")
	p("verified\t%s\n", yesNo(c.Verified))
	contained := "never"
	if c.ContainedAt != nil {
		contained = s.offset(*c.ContainedAt)
	}
	p("contained at\t%s %s\n", contained, strings.Join(c.ContainedResources, " "))
	a := c.AttackerActionsAfterContainment
	p("attacker actions after\t%d succeeded, %d denied, %d failed\n", a.Succeeded, a.Denied, a.Failed)
	pa := c.PersistenceActionsAfterContainment
	p("persistence actions after\t%d succeeded, %d denied, %d failed (not held against containment)\n", pa.Succeeded, pa.Denied, pa.Failed)
	p("unblockable calls after\t%d (need no permission; prove nothing)\n", c.UnblockableActionsAfterContainment)
	for _, o := range c.ByOperation {
		counted := ""
		if !o.Counted {
			counted = " (not counted)"
		}
		p("  %s %s\t%d succeeded, %d denied, %d failed%s\n", orDash(o.Credential), o.Operation, o.Succeeded, o.Denied, o.Failed, counted)
	}
	checked := ""
	if !c.Checked {
		checked = " (not checked)"
	}
	p("surviving flows\t%d%s\n", c.SurvivingFlows, checked)
	p("valid stolen credentials\t%d%s\n", c.ValidStolenCredentials, checked)
	p("valid persistence keys\t%d%s\n", c.ValidPersistenceKeys, checked)
	p("attacker instances running\t%d%s\n", c.AttackerInstancesRunning, checked)
	for _, r := range c.Reasons {
		p("  why not verified\t%s\n", r)
	}
	for _, n := range c.Notes {
		p("  note\t%s\n", n)
	}

	p("\nSLO %s\tTARGET\tACTUAL\tMET\n", s.SLO.Profile)
	for _, t := range s.SLO.Targets {
		target := t.TargetSeconds
		p("%s (%s)\t%s\t%s\t%s\n", t.Name, t.Metric, fmtSecs(&target), fmtSecs(t.ActualSeconds), yesNo(t.Met))
	}
	for _, n := range s.SLO.Notes {
		p("note\t%s\n", n)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing scorecard table: %w", err)
	}
	return nil
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

// shortID keeps long object keys readable in a table: the last two path
// segments of a key longer than 40 characters. The JSON has the full id.
func shortID(id string) string {
	if len(id) <= 40 || !strings.Contains(id, "/") {
		return id
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return "…/" + strings.Join(parts, "/")
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
