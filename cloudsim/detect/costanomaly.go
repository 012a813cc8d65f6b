package detect

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// CostAnomalyConfig tunes the cost anomaly model.
type CostAnomalyConfig struct {
	// Delay is the time from the first unexpected launch to the anomaly
	// being reported. AWS Cost Anomaly Detection works on billing data that
	// lags by hours and runs about three times a day, so it is a last line
	// of defence: default triangular 4 h / 6 h / 10 h.
	Delay Latency
	// Cadence is the wait until the next detection run when a run saw too
	// little spend to report (default 8 h, three runs a day).
	Cadence time.Duration
	// MinSpendUSD is the unexpected spend, up to the run, that makes an
	// anomaly (default $10): a few minutes of GPU time is noise.
	MinSpendUSD float64
	// Baseline: instances launched at or before it are the account's
	// normal spend (the seeded environment); later ones are unexpected.
	Baseline time.Time
	// HourlyUSD overrides on-demand prices per instance type.
	HourlyUSD map[string]float64
}

// onDemandUSD are us-east-1 Linux on-demand prices per hour (2025 list
// prices, rounded); unknown types cost defaultHourlyUSD.
var onDemandUSD = map[string]float64{
	"t3.micro": 0.0104, "t3.medium": 0.0416, "c5.xlarge": 0.17, "m5.xlarge": 0.192,
	"g4dn.xlarge": 0.526, "g4dn.12xlarge": 3.912, "g5.xlarge": 1.006, "g5.12xlarge": 5.672,
	"p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "p3.16xlarge": 24.48, "p4d.24xlarge": 32.77,
}

const defaultHourlyUSD = 0.10

// CostAnomaly models AWS Cost Anomaly Detection on EC2 spend: it reports
// once, hours after unexpected instances start, and only if they ran long
// enough to cost MinSpendUSD by the time of the run. Like CPUAlarm it is
// driven by the drill's telemetry controller through EvaluateLocked.
type CostAnomaly struct {
	cfg   CostAnomalyConfig
	due   time.Time // next detection run, once unexpected spend began
	fired bool
}

// NewCostAnomaly returns the model; zero config fields keep their defaults.
func NewCostAnomaly(cfg CostAnomalyConfig) *CostAnomaly {
	if cfg.Delay == (Latency{}) {
		cfg.Delay = Latency{Min: 4 * time.Hour, Mode: 6 * time.Hour, Max: 10 * time.Hour}
	}
	if cfg.Cadence <= 0 {
		cfg.Cadence = 8 * time.Hour
	}
	if cfg.MinSpendUSD == 0 {
		cfg.MinSpendUSD = 10
	}
	return &CostAnomaly{cfg: cfg}
}

// HourlyUSD returns the modelled on-demand price of an instance type.
func (c *CostAnomaly) HourlyUSD(typ string) float64 {
	if p, ok := c.cfg.HourlyUSD[typ]; ok {
		return p
	}
	return OnDemandUSD(typ)
}

// OnDemandUSD is the modelled on-demand hourly price of an instance type.
func OnDemandUSD(typ string) float64 {
	if p, ok := onDemandUSD[typ]; ok {
		return p
	}
	return defaultHourlyUSD
}

// unexpected lists instances launched after the baseline, by launch time.
func (c *CostAnomaly) unexpected(w *world.World) []*world.Instance {
	var out []*world.Instance
	for _, id := range w.Instances.Keys() {
		if i := w.Instances.Lookup(id); i.LaunchTime.After(c.cfg.Baseline) {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].LaunchTime.Before(out[b].LaunchTime) })
	return out
}

// SpendLocked is the unexpected instances' cost up to t.
func (c *CostAnomaly) SpendLocked(w *world.World, t time.Time) float64 {
	total := 0.0
	for _, i := range c.unexpected(w) {
		end := t
		if !i.TerminatedAt.IsZero() && i.TerminatedAt.Before(end) {
			end = i.TerminatedAt
		}
		if end.After(i.LaunchTime) {
			total += end.Sub(i.LaunchTime).Hours() * c.HourlyUSD(i.Type)
		}
	}
	return total
}

// EvaluateLocked returns the anomaly alert once it is visible at now (at
// most once per model). Call it with the world locked.
func (c *CostAnomaly) EvaluateLocked(w *world.World, now time.Time) []Alert {
	if c.fired {
		return nil
	}
	un := c.unexpected(w)
	if len(un) == 0 {
		return nil
	}
	if c.due.IsZero() {
		c.due = un[0].LaunchTime.Add(c.cfg.Delay.Draw(w.StreamLocked("detector/cost-anomaly")))
	}
	for !c.due.After(now) {
		spend := c.SpendLocked(w, c.due)
		if spend < c.cfg.MinSpendUSD {
			c.due = c.due.Add(c.cfg.Cadence)
			continue
		}
		c.fired = true
		regions := map[string]bool{}
		var types []string
		for _, i := range un {
			regions[i.Region] = true
			if !slices.Contains(types, i.Type) {
				types = append(types, i.Type)
			}
		}
		return []Alert{{Control: ControlCostAnomaly, Type: "CostAnomaly:AmazonEC2", Resource: un[0].Account, At: c.due,
			Detail: map[string]string{"spend_usd": fmt.Sprintf("%.2f", spend), "instances": fmt.Sprint(len(un)),
				"regions": strings.Join(world.SortedKeys(regions), ","), "instance_types": strings.Join(types, ","),
				"first_launch": un[0].LaunchTime.UTC().Format(time.RFC3339)}}}
	}
	return nil
}
