package detect

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// FieldKind is the type of a detector setting in a scenario.
type FieldKind string

// Setting kinds.
const (
	FieldLatency  FieldKind = "latency"  // {min, mode, max} durations; unset keeps the model's default
	FieldNumber   FieldKind = "number"   // a float
	FieldInt      FieldKind = "integer"  // a whole number
	FieldDuration FieldKind = "duration" // such as 5m
)

// Field is one setting a detector accepts, with its default (as a scenario
// would write it; none for latencies, whose default is the model's).
type Field struct {
	Name    string
	Kind    FieldKind
	Default string
	Doc     string
}

// Config is a detector as a scenario configures it: on or off, and its
// settings with defaults applied (Latency, float64, int, time.Duration by
// the field's kind).
type Config struct {
	Name    string
	Enabled bool
	Values  map[string]any
}

// Latency returns a latency setting; the zero value keeps the default.
func (c *Config) Latency(name string) Latency { l, _ := c.Values[name].(Latency); return l }

// Number returns a number setting.
func (c *Config) Number(name string) float64 { f, _ := c.Values[name].(float64); return f }

// Int returns an integer setting.
func (c *Config) Int(name string) int { n, _ := c.Values[name].(int); return n }

// Duration returns a duration setting.
func (c *Config) Duration(name string) time.Duration {
	d, _ := c.Values[name].(time.Duration)
	return d
}

// Evaluator is a detector model the drill's telemetry controller drives on
// its tick (levels such as CPU or spend, not events).
type Evaluator interface {
	EvaluateLocked(w *world.World, now time.Time) []Alert
}

// Spec is a managed detector a scenario can turn on by name.
type Spec struct {
	// Name is the key under a scenario's detectors ("cpu_alarm").
	Name string
	// Control is the control's name on the timeline and the scorecard
	// ("cpu-alarm").
	Control string
	// Clouds are the clouds it watches; a scenario may only turn it on if
	// it seeds one of them.
	Clouds []string
	Doc    string
	Fields []Field
	// Check validates settings together; it returns the offending field.
	Check func(c *Config) (field string, err error)
	// Install sets the detector up in a seeded world, on or off as c says
	// (it takes the world lock itself): the cloud-side switch (a GuardDuty
	// detector, a Defender plan, a project's SCC), the observer that raises
	// findings, or the evaluator it returns for the telemetry tick.
	Install func(w *world.World, c *Config, start time.Time) Evaluator
	// OwnsFinding says whether a world finding is this detector's.
	OwnsFinding func(w *world.World, f *world.Finding) bool
}

// Field returns a setting's spec.
func (s *Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

var (
	regMu sync.RWMutex
	specs []*Spec
)

// Register adds detectors; a name registered twice is a defect. The
// registration order is the order in which drills install them and
// scorecards list them.
func Register(ss ...*Spec) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, s := range ss {
		for _, have := range specs {
			if have.Name == s.Name {
				panic(fmt.Sprintf("detect: detector %q registered twice", s.Name))
			}
		}
		specs = append(specs, s)
	}
}

// Specs lists the registered detectors in registration order.
func Specs() []*Spec {
	regMu.RLock()
	defer regMu.RUnlock()
	return slices.Clone(specs)
}

// Lookup returns a detector by its scenario name.
func Lookup(name string) (*Spec, bool) {
	for _, s := range Specs() {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Names lists the registered detectors' scenario names.
func Names() []string {
	var out []string
	for _, s := range Specs() {
		out = append(out, s.Name)
	}
	return out
}

// FindingControl says which detector raised a world finding: its control
// and the cloud it watches ("" and "" when none claims it).
func FindingControl(w *world.World, f *world.Finding) (control, cloud string) {
	for _, s := range Specs() {
		if s.OwnsFinding != nil && s.OwnsFinding(w, f) {
			return s.Control, s.Clouds[0]
		}
	}
	return "", ""
}

// inCloud stamps alerts of a model that does not say its cloud with the
// one cloud its detector watches.
type inCloud struct {
	Evaluator
	cloud string
}

func (e inCloud) EvaluateLocked(w *world.World, now time.Time) []Alert {
	out := e.Evaluator.EvaluateLocked(w, now)
	for i := range out {
		if out[i].Cloud == "" {
			out[i].Cloud = e.cloud
		}
	}
	return out
}

// The built-in detectors: the three clouds' managed threat detection, the
// CPU metric alarms and AWS Cost Anomaly Detection.
func init() {
	lat := func(name, doc string) Field { return Field{Name: name, Kind: FieldLatency, Doc: doc} }
	Register(
		&Spec{Name: "guardduty", Control: "guardduty", Clouds: []string{"aws"}, Doc: "Amazon GuardDuty",
			Fields: []Field{lat("latency", "finding latency (default 3m/5m/12m)")},
			Install: func(w *world.World, c *Config, _ time.Time) Evaluator {
				w.Lock()
				for _, id := range awsworld.Of(w).Detectors.Keys() {
					awsworld.Of(w).Detectors.Lookup(id).Enabled = c.Enabled
				}
				w.Unlock()
				if c.Enabled {
					w.AddObserver(NewGuardDuty(GuardDutyConfig{FindingLatency: c.Latency("latency")}))
				}
				return nil
			},
			OwnsFinding: func(w *world.World, f *world.Finding) bool { return awsworld.Of(w).Detectors.Lookup(f.Detector) != nil }},
		&Spec{Name: "defender", Control: "defender", Clouds: []string{"azure"}, Doc: "Microsoft Defender for Cloud",
			Fields: []Field{lat("mining_latency", "miner behaviour alert"), lat("domain_latency", "mining-domain alert"),
				lat("token_latency", "token used outside Azure alert")},
			Install: func(w *world.World, c *Config, _ time.Time) Evaluator {
				w.Lock()
				plans := &azureworld.Of(w).DefenderPlans
				for _, sub := range plans.Keys() {
					plans.Put(sub, c.Enabled)
				}
				w.Unlock()
				if c.Enabled {
					w.AddObserver(NewDefender(DefenderConfig{MiningLatency: c.Latency("mining_latency"),
						DomainLatency: c.Latency("domain_latency"), TokenLatency: c.Latency("token_latency")}))
				}
				return nil
			},
			OwnsFinding: func(_ *world.World, f *world.Finding) bool { return strings.HasPrefix(f.Detector, "defender/") }},
		&Spec{Name: "scc", Control: "scc", Clouds: []string{"gcp"}, Doc: "Security Command Center (Event and VM Threat Detection)",
			Fields: []Field{lat("etd_latency", "Event Threat Detection"), lat("vmtd_latency", "VM Threat Detection")},
			Install: func(w *world.World, c *Config, _ time.Time) Evaluator {
				w.Lock()
				for _, p := range gcpworld.Of(w).Projects.All() {
					p.SCC = c.Enabled
				}
				w.Unlock()
				if c.Enabled {
					w.AddObserver(NewSCC(SCCConfig{ETDLatency: c.Latency("etd_latency"), VMTDLatency: c.Latency("vmtd_latency")}))
				}
				return nil
			},
			OwnsFinding: func(_ *world.World, f *world.Finding) bool { return strings.HasPrefix(f.Detector, "scc/") }},
		&Spec{Name: "cpu_alarm", Control: ControlCPUAlarm, Clouds: []string{"aws", "azure"},
			Doc: "a CPU metric alarm on each web VM (CloudWatch, Azure Monitor)",
			Fields: []Field{{Name: "threshold", Kind: FieldNumber, Default: "95", Doc: "percent"},
				{Name: "period", Kind: FieldDuration, Default: "5m", Doc: "a whole number of minutes"},
				{Name: "evaluation_periods", Kind: FieldInt, Default: "2"}},
			Check: checkCPUAlarm, Install: installCPUAlarm},
		&Spec{Name: "cost_anomaly", Control: ControlCostAnomaly, Clouds: []string{"aws"}, Doc: "AWS Cost Anomaly Detection",
			Fields: []Field{{Name: "after", Kind: FieldDuration, Default: "4h", Doc: "earliest report after the unexpected spend starts"},
				{Name: "min_spend_usd", Kind: FieldNumber, Default: "10"}},
			Check: func(c *Config) (string, error) {
				if c.Number("min_spend_usd") < 0 {
					return "min_spend_usd", fmt.Errorf("must not be negative")
				}
				return "", nil
			},
			Install: func(_ *world.World, c *Config, start time.Time) Evaluator {
				if !c.Enabled {
					return nil
				}
				after := c.Duration("after")
				return inCloud{NewCostAnomaly(CostAnomalyConfig{Baseline: start, MinSpendUSD: c.Number("min_spend_usd"),
					Delay: Latency{Min: after, Mode: after + after/3, Max: 2 * after}}), "aws"}
			}},
	)
}

func checkCPUAlarm(c *Config) (string, error) {
	if t := c.Number("threshold"); t <= 0 || t >= 100 {
		return "threshold", fmt.Errorf("%v must be a percentage between 0 and 100", t)
	}
	if p := c.Duration("period"); p%time.Minute != 0 || p == 0 {
		return "period", fmt.Errorf("%q must be a whole number of minutes (CloudWatch periods are multiples of 60s)", p)
	}
	if c.Int("evaluation_periods") < 1 {
		return "evaluation_periods", fmt.Errorf("must be at least 1")
	}
	return "", nil
}

// installCPUAlarm configures every seeded CPU alarm (CloudWatch alarms and
// Azure metric alerts live side by side in the world) or removes them all.
func installCPUAlarm(w *world.World, c *Config, _ time.Time) Evaluator {
	w.Lock()
	defer w.Unlock()
	if !c.Enabled {
		w.Alarms = nil
		return nil
	}
	for _, a := range w.Alarms {
		a.Threshold, a.Period, a.EvaluationPeriods = c.Number("threshold"), c.Duration("period"), c.Int("evaluation_periods")
		a.Description = fmt.Sprintf("CPU above %.0f%% for %s (cryptomining trigger)", a.Threshold, time.Duration(a.EvaluationPeriods)*a.Period)
	}
	return NewCPUAlarm(CPUAlarmConfig{})
}
