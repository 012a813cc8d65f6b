package responder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/timeline"
)

// ActionFunc performs one attempt of a step. It reads parameters and facts
// from x, acts only through x.Provider() (never on a simulator directly, so
// the same action works live), records artifacts with x.AddEvidence, and
// returns its output, which becomes facts.steps.<id>.
type ActionFunc func(ctx context.Context, x *StepRun) (map[string]any, error)

// ActionSpec describes an action for the loader (parameters) and the plan
// (whether it changes the cloud).
type ActionSpec struct {
	Name string
	Doc  string
	// Mutates: the action changes the account's configuration or the
	// resource (evidence written to the evidence bucket does not count).
	// Remediation checks must not mutate; dry-run plans mark these.
	Mutates  bool
	Params   []string
	Required []string
	// Requires names capabilities (Cap* constants) the action cannot run
	// without; on a cloud that lacks one the step is skipped before it
	// starts, with the cloud's documented fallback as the reason.
	Requires []string
	Run      ActionFunc
}

var registry = map[string]ActionSpec{}

func register(a ActionSpec) {
	if _, dup := registry[a.Name]; dup {
		panic("responder: action registered twice: " + a.Name)
	}
	slices.Sort(a.Params)
	registry[a.Name] = a
}

// ActionNames lists the registered actions, sorted.
func ActionNames() []string { return slices.Sorted(maps.Keys(registry)) }

// Action returns a registered action's description.
func Action(name string) (ActionSpec, bool) {
	a, ok := registry[name]
	return a, ok
}

// errBadParams marks parameter errors: they are not retried.
var errBadParams = errors.New("bad parameters")

// StepRun is one attempt of a step as an action sees it.
type StepRun struct {
	r       *Responder
	c       *Case
	Step    *Step
	Attempt int
	// Params are the step's parameters with templates rendered.
	Params map[string]any

	evidence []EvidenceRecord
	setFacts map[string]any
}

// Provider is the cloud the action acts on.
func (x *StepRun) Provider() providers.Provider { return x.r.p }

// CaseID is the case's id.
func (x *StepRun) CaseID() string { return x.c.ID }

// Resource is the resource the case is about (the instance id).
func (x *StepRun) Resource() string { return x.c.Resource }

// Now is the clock's time.
func (x *StepRun) Now() time.Time { return x.r.clk.Now() }

// Fact reads a fact by path, e.g. Fact("instance", "identity", "role_name").
func (x *StepRun) Fact(path ...string) (any, bool) {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return lookupFact(x.c.facts, path)
}

// FactString reads a string fact ("" when missing).
func (x *StepRun) FactString(path ...string) string {
	v, _ := x.Fact(path...)
	s, _ := v.(string)
	return s
}

// SetFact sets a top-level fact (facts.<key>) for later steps and
// decisions; it is journaled with the step so a re-run restores it.
func (x *StepRun) SetFact(key string, v any) {
	x.c.mu.Lock()
	x.c.facts[key] = deepCopy(v)
	x.c.mu.Unlock()
	if x.setFacts == nil {
		x.setFacts = map[string]any{}
	}
	x.setFacts[key] = deepCopy(v)
}

// EvidenceBucket is where artifacts are stored.
func (x *StepRun) EvidenceBucket() (string, error) {
	if b := x.String("bucket", ""); b != "" {
		return b, nil
	}
	if x.r.opts.EvidenceBucket == "" {
		if x.Provider().Storage() == nil {
			return "", nil // artifacts stay in the case record (storeArtifact)
		}
		return "", fmt.Errorf("%w: no evidence bucket (set Options.EvidenceBucket or params.bucket)", errBadParams)
	}
	return x.r.opts.EvidenceBucket, nil
}

// AddEvidence enters an artifact into the manifest and onto the timeline.
// The event is stamped with the collection time (a snapshot captures the
// disk when it starts, even though it completes minutes later), which is
// what "captured before loss" is judged on.
func (x *StepRun) AddEvidence(e EvidenceRecord) {
	if e.CollectedAt.IsZero() {
		e.CollectedAt = x.Now()
	}
	e.Retention = x.r.opts.Retention
	e.RetainUntil = e.CollectedAt.Add(e.Retention).UTC()
	e.Step = x.Step.ID
	x.c.mu.Lock()
	x.c.evidence = append(x.c.evidence, e)
	x.c.mu.Unlock()
	x.evidence = append(x.evidence, e)
	x.r.emit(x.c, timeline.Event{Kind: timeline.Evidence, At: e.CollectedAt, Name: x.Step.ID,
		Message: fmt.Sprintf("%s %s from %s at %s", e.Kind, e.ID, e.Source, e.Location),
		Detail: map[string]string{"kind": e.Kind, "id": e.ID, "sha256": e.SHA256, "location": e.Location,
			"source": e.Source, "state": e.State, "collected_by": e.CollectedBy, "size": strconv.FormatInt(e.Size, 10),
			"retain_until": e.RetainUntil.Format(time.RFC3339), "phase": x.Step.Phase}})
}

// keepInCase stores an artifact in the case record (see storeArtifact).
func (x *StepRun) keepInCase(ctx context.Context, name string, body []byte) *providers.Evidence {
	loc := fmt.Sprintf("case://%s/%s/%s", x.CaseID(), strings.TrimPrefix(x.Resource(), "/"), name)
	sum := sha256.Sum256(body)
	by := "unknown"
	if idp := x.Provider().Identity(); idp != nil {
		if ci, err := idp.CallerIdentity(ctx); err == nil {
			by = ci.ARN
		}
	}
	x.c.mu.Lock()
	if x.c.artifacts == nil {
		x.c.artifacts = map[string][]byte{}
	}
	x.c.artifacts[loc] = slices.Clone(body)
	x.c.mu.Unlock()
	return &providers.Evidence{Kind: providers.EvidenceMetadata, ID: loc, Location: loc, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(body)), CollectedBy: by, CollectedAt: x.Now(), State: "completed"}
}

// evidenceTags protect and label artifacts: the case, and a retain-until
// date that lifecycle rules and people honour.
func (x *StepRun) evidenceTags() map[string]string {
	return map[string]string{
		"firedrill:evidence": "true",
		"firedrill:case":     x.c.ID,
		"retain-until":       x.Now().Add(x.r.opts.Retention).UTC().Format("2006-01-02"),
	}
}

// renderParams renders string parameters containing {{…}} against the
// case (text/template, missing keys are errors).
func (x *StepRun) renderParams() (map[string]any, error) {
	params := x.Step.Params
	if over := x.Step.CloudParams[x.r.cloud()]; len(over) > 0 {
		params = maps.Clone(params)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, over)
	}
	if len(params) == 0 {
		return map[string]any{}, nil
	}
	var data *MessageData
	out := make(map[string]any, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		s, ok := v.(string)
		if !ok || !strings.Contains(s, "{{") {
			out[k] = v
			continue
		}
		if data == nil {
			d := x.r.messageData(x.c)
			data = &d
		}
		rs, err := render(x.Step.ID+".params."+k, s, *data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadParams, err)
		}
		out[k] = rs
	}
	return out, nil
}

// String reads a string parameter.
func (x *StepRun) String(name, def string) string {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return def
	}
	return fmt.Sprint(v)
}

// Bool reads a boolean parameter.
func (x *StepRun) Bool(name string, def bool) (bool, error) {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return def, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		pb, err := strconv.ParseBool(b)
		if err != nil {
			return false, fmt.Errorf("%w: %s: %q is not a boolean", errBadParams, name, b)
		}
		return pb, nil
	}
	return false, fmt.Errorf("%w: %s: %v is not a boolean", errBadParams, name, v)
}

// Int reads an integer parameter.
func (x *StepRun) Int(name string, def int) (int, error) {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return def, nil
	}
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		return int(n), nil
	case string:
		i, err := strconv.Atoi(n)
		if err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %s: %v is not an integer", errBadParams, name, v)
}

// Duration reads a duration parameter ("30m").
func (x *StepRun) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return def, nil
	}
	d, err := time.ParseDuration(fmt.Sprint(v))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s: %v is not a duration such as 30m", errBadParams, name, v)
	}
	return d, nil
}

// Strings reads a list parameter (a single string counts as one item).
func (x *StepRun) Strings(name string) ([]string, error) {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch l := v.(type) {
	case string:
		return []string{l}, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s: %v is not a list of strings", errBadParams, name, v)
}

// StringMap reads a map parameter.
func (x *StepRun) StringMap(name string) (map[string]string, error) {
	v, ok := x.Params[name]
	if !ok || v == nil {
		return nil, nil
	}
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]any:
		for k, e := range m {
			out[k] = fmt.Sprint(e)
		}
	case map[string]string:
		maps.Copy(out, m)
	default:
		return nil, fmt.Errorf("%w: %s: %v is not a map", errBadParams, name, v)
	}
	return out, nil
}

func init() {
	register(ActionSpec{Name: "describe_instance", Doc: "record the instance (NICs, disks, identity, scaling group, tags) as facts.instance and as evidence",
		Params: []string{"store", "bucket"}, Run: describeInstance})
	register(ActionSpec{Name: "protect_termination", Mutates: true, Doc: "block API termination, make shutdown stop, keep every disk on termination",
		Run: protectTermination})
	register(ActionSpec{Name: "protect_scaling", Mutates: true, Doc: "take the instance out of its scaling group's hands (protect, standby or detach)",
		Params: []string{"mode", "decrement_desired"}, Run: protectScaling})
	register(ActionSpec{Name: "capture_processes", Doc: "run `ps aux` through the agent and store the output as evidence",
		Params: []string{"bucket", "command", "timeout"}, Requires: []string{CapRunCommand}, Run: captureCommand(KindProcessList, "ps aux", "processes.txt")})
	register(ActionSpec{Name: "capture_connections", Doc: "run `ss -tanp` through the agent and store the output as evidence",
		Params: []string{"bucket", "command", "timeout"}, Requires: []string{CapRunCommand}, Run: captureCommand(KindConnections, "ss -tanp", "connections.txt")})
	register(ActionSpec{Name: "capture_memory", Doc: "dump RAM through the agent into the evidence bucket (needs the agent's egress: before isolation)",
		Params: []string{"bucket", "timeout", "require_agent"}, Requires: []string{CapRunCommand, CapMemoryCapture}, Run: captureMemory})
	register(ActionSpec{Name: "snapshot_disks", Mutates: true, Doc: "crash-consistent snapshots of every disk, tagged as evidence, waited to completion",
		Params: []string{"wait"}, Run: snapshotDisks})
	register(ActionSpec{Name: "isolate_network", Mutates: true, Doc: "two-step per-interface isolation into a forensics-only group (cuts tracked flows)",
		Params: []string{"allow_cidrs", "detach_public_ips"}, Run: isolateNetwork})
	register(ActionSpec{Name: "detach_identity", Mutates: true, Doc: "replace the instance identity with a deny-all one, or remove it",
		Params: []string{"mode", "replacement_profile", "fallback_remove"}, Run: detachIdentity})
	register(ActionSpec{Name: "revoke_sessions", Mutates: true, Doc: "deny every session of the role issued before now (stolen credentials included)",
		Params: []string{"role"}, Requires: []string{CapRevoke}, Run: revokeSessions})
	register(ActionSpec{Name: "remove_role_assignments", Mutates: true,
		Doc:    "Azure: delete every role assignment of the instance identity (its tokens cannot be revoked; this denies them)",
		Params: []string{"principal"}, Run: removeRoleAssignments})
	register(ActionSpec{Name: "tag_resource", Mutates: true, Doc: "quarantine tags on the instance (and its disks)",
		Params: []string{"tags", "include_disks"}, Run: tagResource})
	register(ActionSpec{Name: "stop_instance", Mutates: true, Doc: "stop (or hibernate) the instance",
		Params: []string{"hibernate"}, Run: stopInstance})
	register(ActionSpec{Name: "query_audit", Doc: "query the audit log, summarise into facts and store the extract as evidence",
		Params: []string{"role", "access_key", "resource", "principal", "operations", "lookback", "exclude_self", "max", "bucket"},
		Run:    queryAudit})
	register(ActionSpec{Name: "notify", Doc: "send a communication-plan template to roles",
		Params: []string{"template", "roles"}, Required: []string{"template", "roles"}, Run: notifyAction})
	register(ActionSpec{Name: "check_isolated", Doc: "verify every interface is in the forensic group only", Run: checkIsolated})
	register(ActionSpec{Name: "check_identity_detached", Doc: "verify the instance no longer runs as its original identity", Run: checkIdentityDetached})
	register(ActionSpec{Name: "check_scale_in_protected", Doc: "verify the scaling group cannot terminate the instance", Run: checkScaleInProtected})
	register(ActionSpec{Name: "check_evidence_preserved", Doc: "verify every disk has a completed evidence snapshot", Run: checkEvidencePreserved})
	register(ActionSpec{Name: "swap_security_groups", Mutates: true, Doc: "NAIVE: one instance-level swap to a no-rule group (leaves tracked flows up)",
		Params: []string{"group_name"}, Run: swapSecurityGroups})
}

// InstanceFacts is how a described instance appears to predicates and
// templates (facts.instance.*): snake_case keys, lists of NICs and disks.
func InstanceFacts(inst *providers.Instance) map[string]any {
	nics := []any{}
	for _, n := range inst.NICs {
		groups := []any{}
		for _, g := range n.Groups {
			groups = append(groups, g)
		}
		nics = append(nics, map[string]any{"id": n.ID, "private_ip": n.PrivateIP, "public_ip": n.PublicIP, "groups": groups, "primary": n.Primary})
	}
	disks := []any{}
	for _, d := range inst.Disks {
		disks = append(disks, map[string]any{"id": d.ID, "device": d.Device, "size_gib": d.SizeGiB,
			"delete_on_termination": d.DeleteOnTermination, "encrypted": d.Encrypted})
	}
	tags := map[string]any{}
	for k, v := range inst.Tags {
		tags[k] = v
	}
	f := map[string]any{"id": inst.ID, "name": inst.Name, "state": inst.State, "type": inst.Type, "account": inst.Account,
		"region": inst.Region, "zone": inst.Zone, "vpc": inst.VPC, "subnet": inst.Subnet, "private_ip": inst.PrivateIP,
		"public_ip": inst.PublicIP, "launch_time": inst.LaunchTime.UTC().Format(time.RFC3339), "tags": tags, "nics": nics,
		"disks": disks, "scaling_group": inst.ScalingGroup, "scaling_lifecycle": inst.ScalingLifecycle,
		"scale_in_protected": inst.ScaleInProtected, "termination_protected": inst.TerminationProtected,
		"shutdown_behavior": inst.ShutdownBehavior, "identity": map[string]any{}}
	if id := inst.Identity; id != nil {
		f["identity"] = map[string]any{"profile_arn": id.ProfileARN, "association_id": id.AssociationID,
			"role_name": id.RoleName, "role_arn": id.RoleARN}
	}
	return f
}

func describeInstance(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	inst, err := comp.DescribeInstance(ctx, x.Resource())
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", x.Resource(), err)
	}
	facts := InstanceFacts(inst)
	x.SetFact("instance", facts)
	out := map[string]any{"state": inst.State, "disks": len(inst.Disks), "nics": len(inst.NICs),
		"scaling_group": inst.ScalingGroup, "warnings": len(inst.Warnings)}
	store, err := x.Bool("store", true)
	if err != nil {
		return nil, err
	}
	if !store {
		return out, nil
	}
	bucket, err := x.EvidenceBucket()
	if err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(facts, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the instance record: %w", err)
	}
	ev, err := storeArtifact(ctx, x, bucket, "instance-metadata.json", body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(EvidenceRecord{Kind: KindInstanceMetadata, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256,
		Size: ev.Size, Source: inst.ID, State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return out, nil
}

// storeArtifact writes an artifact under firedrill/cases/<case>/<resource>/.
// On a cloud whose provider has no evidence storage (GCP today) the
// artifact is kept in the case record instead, with its SHA-256, so the
// metadata and audit extracts — evidence in their own right — are not lost
// for want of a bucket; the manifest location says where it is
// (case://<case>/<resource>/<name>).
func storeArtifact(ctx context.Context, x *StepRun, bucket, name string, body []byte) (*providers.Evidence, error) {
	st := x.Provider().Storage()
	if st == nil {
		return x.keepInCase(ctx, name, body), nil
	}
	key := fmt.Sprintf("firedrill/cases/%s/%s/%s", x.CaseID(), strings.TrimPrefix(x.Resource(), "/"), name)
	ev, err := st.PutEvidenceObject(ctx, bucket, key, body, x.evidenceTags())
	if err != nil {
		return nil, fmt.Errorf("storing %s: %w", name, err)
	}
	return ev, nil
}

func protectTermination(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	res, err := comp.ProtectFromTermination(ctx, x.Resource())
	if err != nil {
		return nil, fmt.Errorf("protecting %s from termination: %w", x.Resource(), err)
	}
	prev := map[string]any{}
	for k, v := range res.PreviousDeleteOnTermination {
		prev[k] = v
	}
	return map[string]any{"protected": true, "previous_delete_on_termination": prev}, nil
}

func protectScaling(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	opts := providers.ScalingOptions{}
	switch m := x.String("mode", "protect"); m {
	case "protect":
		opts.Mode = providers.ScalingProtect
	case "standby":
		opts.Mode = providers.ScalingStandby
	case "detach":
		opts.Mode = providers.ScalingDetach
	default:
		return nil, fmt.Errorf("%w: mode %q (expected protect, standby or detach)", errBadParams, m)
	}
	if opts.DecrementDesired, err = x.Bool("decrement_desired", false); err != nil {
		return nil, err
	}
	res, err := comp.ProtectFromScaling(ctx, x.Resource(), opts)
	if err != nil {
		return nil, fmt.Errorf("protecting %s from scaling: %w", x.Resource(), err)
	}
	return map[string]any{"group": res.Group, "previous_state": res.PreviousState, "was_protected": res.WasProtected,
		"lifecycle_state": res.LifecycleState}, nil
}

func captureCommand(kind, defCommand, file string) ActionFunc {
	return func(ctx context.Context, x *StepRun) (map[string]any, error) {
		ex, err := need(x.Provider().Exec(), CapRunCommand)
		if err != nil {
			return nil, err
		}
		bucket, err := x.EvidenceBucket()
		if err != nil {
			return nil, err
		}
		timeout, err := x.Duration("timeout", 5*time.Minute)
		if err != nil {
			return nil, err
		}
		cmd := x.String("command", defCommand)
		res, err := ex.RunCommand(ctx, x.Resource(), []string{cmd}, providers.CommandOptions{Timeout: timeout,
			Comment: "firedrill " + x.CaseID() + " " + kind})
		if err != nil {
			return nil, fmt.Errorf("running %q on %s: %w", cmd, x.Resource(), err)
		}
		ev, err := storeArtifact(ctx, x, bucket, file, []byte(res.Stdout))
		if err != nil {
			return nil, err
		}
		x.AddEvidence(EvidenceRecord{Kind: kind, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
			Source: x.Resource(), State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		out := map[string]any{"command_id": res.ID, "lines": len(lines) - 1, "sha256": ev.SHA256}
		if kind == KindConnections {
			remotes := []any{}
			for _, l := range lines[1:] {
				if f := strings.Fields(l); len(f) >= 6 {
					remotes = append(remotes, f[5])
				}
			}
			out["remotes"] = remotes
		}
		if kind == KindProcessList {
			out["top_cpu"] = topCPU(lines)
		}
		return out, nil
	}
}

// topCPU returns the command of the busiest process in `ps aux` output:
// a miner is rarely subtle about it.
func topCPU(lines []string) string {
	best, bestCPU := "", -1.0
	for _, l := range lines[min(1, len(lines)):] {
		f := strings.Fields(l)
		if len(f) < 11 {
			continue
		}
		cpu, err := strconv.ParseFloat(f[2], 64)
		if err == nil && cpu > bestCPU {
			best, bestCPU = strings.Join(f[10:], " "), cpu
		}
	}
	return best
}

func captureMemory(ctx context.Context, x *StepRun) (map[string]any, error) {
	ex, err := need(x.Provider().Exec(), CapRunCommand)
	if err != nil {
		return nil, err
	}
	if !x.Provider().Capabilities().CanCaptureMemory {
		return nil, &capabilityError{capability: CapMemoryCapture}
	}
	bucket, err := x.EvidenceBucket()
	if err != nil {
		return nil, err
	}
	timeout, err := x.Duration("timeout", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	requireAgent, err := x.Bool("require_agent", true)
	if err != nil {
		return nil, err
	}
	if requireAgent {
		ok, err := ex.Available(ctx, x.Resource())
		if err != nil {
			return nil, fmt.Errorf("checking the agent on %s: %w", x.Resource(), err)
		}
		if !ok {
			return nil, fmt.Errorf("the agent on %s is offline (isolated already, or not installed): memory cannot be captured: %w",
				x.Resource(), providers.ErrFailed)
		}
	}
	ev, err := ex.CaptureMemory(ctx, x.Resource(), bucket, providers.MemoryOptions{CaseID: x.CaseID(), Timeout: timeout,
		Prefix: "firedrill/cases/" + x.CaseID() + "/memory"})
	if err != nil {
		return nil, fmt.Errorf("capturing memory of %s: %w", x.Resource(), err)
	}
	x.AddEvidence(EvidenceRecord{Kind: KindMemory, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: x.Resource(), State: ev.State, CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return map[string]any{"location": ev.Location, "sha256": ev.SHA256, "bytes": ev.Size}, nil
}

func snapshotDisks(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	wait, err := x.Duration("wait", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	started, err := comp.SnapshotDisks(ctx, x.Resource(), x.evidenceTags())
	if err != nil {
		return nil, fmt.Errorf("snapshotting %s: %w", x.Resource(), err)
	}
	ids := make([]string, len(started))
	for i, e := range started {
		ids[i] = e.ID
	}
	done, err := comp.WaitForSnapshots(ctx, ids, wait)
	if err != nil {
		return nil, fmt.Errorf("waiting for snapshots %s: %w", strings.Join(ids, ","), err)
	}
	sort.Slice(done, func(i, j int) bool { return done[i].Source < done[j].Source })
	covered := map[string]bool{}
	snaps := []any{}
	for _, e := range done {
		covered[e.Source] = true
		x.AddEvidence(EvidenceRecord{Kind: KindDiskSnapshot, ID: e.ID, Location: e.Location, Size: e.Size, Source: e.Source,
			State: e.State, CollectedBy: e.CollectedBy, CollectedAt: e.CollectedAt})
		snaps = append(snaps, map[string]any{"id": e.ID, "volume": e.Source})
	}
	// Every disk recorded by describe_instance must be covered.
	if disks, ok := x.Fact("instance", "disks"); ok {
		var missing []string
		for _, d := range disks.([]any) {
			if id, _ := d.(map[string]any)["id"].(string); id != "" && !covered[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("no snapshot of volume(s) %s: %w", strings.Join(missing, ", "), providers.ErrFailed)
		}
	}
	return map[string]any{"snapshots": snaps, "count": len(snaps)}, nil
}

func isolateNetwork(ctx context.Context, x *StepRun) (map[string]any, error) {
	nw, err := need(x.Provider().Network(), "network")
	if err != nil {
		return nil, err
	}
	allow, err := x.Strings("allow_cidrs")
	if err != nil {
		return nil, err
	}
	detach, err := x.Bool("detach_public_ips", true)
	if err != nil {
		return nil, err
	}
	res, err := nw.Isolate(ctx, x.Resource(), providers.IsolateOptions{AllowCIDRs: allow, CaseID: x.CaseID(), DetachPublicIPs: detach})
	if err != nil {
		return nil, fmt.Errorf("isolating %s: %w", x.Resource(), err)
	}
	nics := []any{}
	for _, n := range res.NICs {
		prev := []any{}
		for _, g := range n.PreviousGroups {
			prev = append(prev, g)
		}
		nics = append(nics, map[string]any{"id": n.ID, "previous_groups": prev})
	}
	detached := []any{}
	for _, a := range res.DetachedAddresses {
		detached = append(detached, a)
	}
	x.SetFact("isolation", map[string]any{"forensic_group": res.ForensicGroup, "transition_group": res.TransitionGroup})
	return map[string]any{"forensic_group": res.ForensicGroup, "transition_group": res.TransitionGroup, "nics": nics,
		"detached_addresses": detached}, nil
}

func detachIdentity(ctx context.Context, x *StepRun) (map[string]any, error) {
	idp, err := need(x.Provider().Identity(), "identity")
	if err != nil {
		return nil, err
	}
	mode := providers.DetachReplace
	switch m := x.String("mode", "replace"); m {
	case "replace":
	case "remove":
		mode = providers.DetachRemove
	default:
		return nil, fmt.Errorf("%w: mode %q (expected replace or remove)", errBadParams, m)
	}
	fallback, err := x.Bool("fallback_remove", true)
	if err != nil {
		return nil, err
	}
	profile := x.String("replacement_profile", "")
	used := "replace"
	if mode == providers.DetachRemove {
		used = "remove"
	}
	var res *providers.IdentityDetachment
	var replaceErr error
	if mode == providers.DetachReplace && profile == "" {
		replaceErr = errors.New("no replacement_profile given")
	} else {
		res, err = idp.DetachInstanceIdentity(ctx, x.Resource(), mode, profile)
		if err != nil {
			if mode == providers.DetachRemove || !(errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrInvalid)) {
				return nil, fmt.Errorf("detaching the identity of %s: %w", x.Resource(), err)
			}
			replaceErr = err
		}
	}
	if replaceErr != nil {
		// A missing deny-all profile must not leave the stolen role
		// attached: removing it is the documented fallback.
		if !fallback {
			return nil, fmt.Errorf("replacing the identity of %s: %w", x.Resource(), replaceErr)
		}
		used = "remove"
		res, err = idp.DetachInstanceIdentity(ctx, x.Resource(), providers.DetachRemove, "")
		if err != nil {
			return nil, fmt.Errorf("removing the identity of %s after replace failed (%v): %w", x.Resource(), replaceErr, err)
		}
	}
	roles := []any{}
	for _, r := range res.Roles {
		roles = append(roles, r)
	}
	if len(res.Roles) > 0 {
		x.SetFact("identity_roles", roles)
	}
	out := map[string]any{"mode": used, "previous_profile": res.PreviousProfileARN, "new_profile": res.NewProfileARN, "roles": roles}
	if replaceErr != nil {
		out["replace_error"] = replaceErr.Error()
	}
	return out, nil
}

// rolesToRevoke: the role parameter, else the roles detach_identity found,
// else the role describe_instance recorded.
func rolesToRevoke(x *StepRun) ([]string, error) {
	if r := x.String("role", ""); r != "" {
		return []string{r}, nil
	}
	if v, ok := x.Fact("identity_roles"); ok {
		var out []string
		for _, r := range v.([]any) {
			out = append(out, fmt.Sprint(r))
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if r := x.FactString("instance", "identity", "role_name"); r != "" {
		return []string{r}, nil
	}
	return nil, nil
}

func revokeSessions(ctx context.Context, x *StepRun) (map[string]any, error) {
	idp, err := need(x.Provider().Identity(), "identity")
	if err != nil {
		return nil, err
	}
	if !x.Provider().Capabilities().CanRevokeSessions {
		return nil, &capabilityError{capability: CapRevoke}
	}
	roles, err := rolesToRevoke(x)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return map[string]any{"roles": []any{}, "note": "the instance had no identity"}, nil
	}
	revoked := []any{}
	var before time.Time
	var affected []string
	var policies []string
	for _, role := range roles {
		res, err := idp.RevokeRoleSessions(ctx, role, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("revoking sessions of role %s: %w", role, err)
		}
		revoked = append(revoked, role)
		before = res.Before
		affected = append(affected, res.Affected...)
		policies = append(policies, res.PolicyName)
	}
	x.SetFact("revoked_roles", revoked)
	out := map[string]any{"roles": revoked, "before": before.UTC().Format(time.RFC3339),
		"blast_radius": "every session of these roles issued before the cut-off is denied, the healthy fleet's included, until it refreshes"}
	if len(affected) > 0 {
		// An all-or-nothing revoke (GCP disables the service account):
		// every other workload running as it loses its credentials too.
		// The case records who, and the playbook tells their owners.
		self := x.FactString("instance", "id")
		if self == "" {
			self = x.Resource()
		}
		others := []any{}
		all := []any{}
		for _, a := range slices.Sorted(slices.Values(affected)) {
			all = append(all, a)
			if a != self && a != x.Resource() {
				others = append(others, a)
			}
		}
		x.SetFact("blast_radius", map[string]any{"identities": revoked, "affected": all, "others": others,
			"count": len(others), "revocation": strings.Join(policies, "; ")})
		out["blast_radius"] = fmt.Sprintf("all-or-nothing revoke: %d other workload(s) lose their credentials too: %s",
			len(others), joinAny(others))
		out["other_workloads"] = others
	}
	return out, nil
}

// removeRoleAssignments is the documented fallback where a cloud cannot
// revoke issued tokens (Azure managed identities, ir-semantics §3.2): it
// deletes every role assignment of the instance identity's principal. ARM
// authorizes each call against the current assignments, so a token stolen
// from the metadata service is denied from the next call on, though it
// stays cryptographically valid for about 24 hours. On Azure the provider's
// RevokeRoleSessions is exactly this. Other clouds revoke sessions
// (revoke_sessions) and have no role assignments to delete.
func removeRoleAssignments(ctx context.Context, x *StepRun) (map[string]any, error) {
	if c := x.Provider().Cloud(); c != providers.CloudAzure {
		return nil, fmt.Errorf("role assignments are Azure's authorization model; %s revokes sessions instead (revoke_sessions): %w",
			c, providers.ErrUnsupported)
	}
	idp, err := need(x.Provider().Identity(), CapIdentity)
	if err != nil {
		return nil, err
	}
	principals, err := rolesToRevoke(x)
	if err != nil {
		return nil, err
	}
	if p := x.String("principal", ""); p != "" {
		principals = []string{p}
	}
	if len(principals) == 0 {
		return map[string]any{"principals": []any{}, "removed": 0, "note": "the instance had no identity"}, nil
	}
	done := []any{}
	removed := 0
	for _, p := range principals {
		res, err := idp.RevokeRoleSessions(ctx, p, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("removing the role assignments of %s: %w", p, err)
		}
		if n, ok := strings.CutPrefix(res.PolicyName, "role-assignments-removed:"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				removed += v
			}
		}
		done = append(done, p)
	}
	x.SetFact("revoked_roles", done)
	return map[string]any{"principals": done, "removed": removed,
		"note": "the identity's tokens stay valid about 24 h but no longer authorize anything"}, nil
}

func tagResource(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	tags := map[string]string{
		"firedrill:quarantine": "do-not-delete",
		"firedrill:case":       x.CaseID(),
		"security-status":      "quarantined",
		"isolated-at":          x.Now().UTC().Format(time.RFC3339),
	}
	extra, err := x.StringMap("tags")
	if err != nil {
		return nil, err
	}
	maps.Copy(tags, extra)
	resources := []string{x.Resource()}
	withDisks, err := x.Bool("include_disks", true)
	if err != nil {
		return nil, err
	}
	if disks, ok := x.Fact("instance", "disks"); ok && withDisks {
		for _, d := range disks.([]any) {
			if id, _ := d.(map[string]any)["id"].(string); id != "" {
				resources = append(resources, id)
			}
		}
	}
	if err := comp.Tag(ctx, resources, tags); err != nil {
		return nil, fmt.Errorf("tagging %s: %w", strings.Join(resources, ","), err)
	}
	res := []any{}
	for _, r := range resources {
		res = append(res, r)
	}
	return map[string]any{"resources": res, "tags": len(tags)}, nil
}

func stopInstance(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	hib, err := x.Bool("hibernate", false)
	if err != nil {
		return nil, err
	}
	if err := comp.Stop(ctx, x.Resource(), providers.StopOptions{Hibernate: hib}); err != nil {
		return nil, fmt.Errorf("stopping %s: %w", x.Resource(), err)
	}
	return map[string]any{"stopped": true, "hibernate": hib}, nil
}

// auditRecord is the extract of an audit event stored as evidence.
type auditRecord struct {
	ID        string   `json:"id"`
	Time      string   `json:"time"`
	Operation string   `json:"operation"`
	Service   string   `json:"service"`
	Principal string   `json:"principal"`
	AccessKey string   `json:"access_key_id,omitempty"`
	SourceIP  string   `json:"source_ip,omitempty"`
	ErrorCode string   `json:"error_code,omitempty"`
	Resources []string `json:"resources,omitempty"`
}

func queryAudit(ctx context.Context, x *StepRun) (map[string]any, error) {
	au, err := need(x.Provider().Audit(), "audit")
	if err != nil {
		return nil, err
	}
	lookback, err := x.Duration("lookback", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	maxN, err := x.Int("max", 1000)
	if err != nil {
		return nil, err
	}
	ops, err := x.Strings("operations")
	if err != nil {
		return nil, err
	}
	excludeSelf, err := x.Bool("exclude_self", true)
	if err != nil {
		return nil, err
	}
	now := x.Now()
	q := providers.AuditQuery{Start: now.Add(-lookback), End: now, AccessKeyID: x.String("access_key", ""),
		Resource: x.String("resource", ""), Principal: x.String("principal", "")}
	role := x.String("role", "")
	if len(ops) == 1 && q.AccessKeyID == "" && q.Resource == "" && q.Principal == "" {
		q.Operation = ops[0]
	}
	events, err := au.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("querying the audit log: %w", err)
	}
	self := ""
	if excludeSelf {
		if idp := x.Provider().Identity(); idp != nil {
			if ci, err := idp.CallerIdentity(ctx); err == nil {
				self = ci.ARN
			}
		}
	}
	var kept []providers.AuditEvent
	for _, e := range events {
		if self != "" && e.Principal == self {
			continue
		}
		if role != "" && !principalIsRole(x.Provider().Cloud(), e.Principal, role) {
			continue
		}
		if len(ops) > 0 && !slices.Contains(ops, e.Operation) {
			continue
		}
		kept = append(kept, e)
		if len(kept) >= maxN {
			break
		}
	}
	opsCount := map[string]any{}
	principals, ips, sessions, created := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	denied := 0
	recs := make([]auditRecord, 0, len(kept))
	for _, e := range kept {
		n, _ := opsCount[e.Operation].(int)
		opsCount[e.Operation] = n + 1
		principals[e.Principal] = true
		if e.SourceIP != "" {
			ips[e.SourceIP] = true
		}
		if i := strings.Index(e.Principal, ":assumed-role/"); i >= 0 {
			parts := strings.Split(e.Principal[i+len(":assumed-role/"):], "/")
			if len(parts) == 2 {
				sessions[parts[1]] = true
			}
		}
		if e.ErrorCode != "" {
			denied++
		} else if strings.HasPrefix(e.Operation, "Create") || e.Operation == "RunInstances" {
			created[e.Operation] = true
		}
		recs = append(recs, auditRecord{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339), Operation: e.Operation,
			Service: e.Service, Principal: e.Principal, AccessKey: e.AccessKeyID, SourceIP: e.SourceIP,
			ErrorCode: e.ErrorCode, Resources: e.Resources})
	}
	summary := map[string]any{"events": len(kept), "operations": opsCount, "principals": sortedAny(principals),
		"source_ips": sortedAny(ips), "sessions": sortedAny(sessions), "created": sortedAny(created), "errors": denied}
	bucket, err := x.EvidenceBucket()
	if err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(map[string]any{"query": map[string]any{"start": q.Start.UTC().Format(time.RFC3339),
		"end": q.End.UTC().Format(time.RFC3339), "role": role, "access_key": q.AccessKeyID, "resource": q.Resource,
		"principal": q.Principal, "operations": ops}, "events": recs}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the audit extract: %w", err)
	}
	ev, err := storeArtifact(ctx, x, bucket, "audit-"+x.Step.ID+".json", body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(EvidenceRecord{Kind: KindAuditLog, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: "audit log", State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return summary, nil
}

// principalIsRole reports whether an audit event's caller acted as the
// instance identity: on AWS a session of the role
// (arn:…:assumed-role/<role>/<session>), on Azure the managed identity's
// object id, on GCP the service account's email.
func principalIsRole(cloud, principal, role string) bool {
	if cloud == providers.CloudAWS {
		return strings.Contains(principal, ":assumed-role/"+role+"/")
	}
	return strings.EqualFold(principal, role) || strings.HasSuffix(strings.ToLower(principal), "/"+strings.ToLower(role))
}

func sortedAny(set map[string]bool) []any {
	out := []any{}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, k)
	}
	return out
}

func notifyAction(_ context.Context, x *StepRun) (map[string]any, error) {
	roles, err := x.Strings("roles")
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if _, ok := x.r.pb.Communication.Role(r); !ok {
			return nil, fmt.Errorf("%w: unknown role %q", errBadParams, r)
		}
	}
	n, err := x.r.notify(x.c, x.String("template", ""), roles, "step:"+x.Step.ID, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadParams, err)
	}
	return map[string]any{"template": n.Template, "contacts": len(n.Contacts)}, nil
}

func describeNow(ctx context.Context, x *StepRun) (*providers.Instance, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	inst, err := comp.DescribeInstance(ctx, x.Resource())
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", x.Resource(), err)
	}
	return inst, nil
}

func checkIsolated(ctx context.Context, x *StepRun) (map[string]any, error) {
	group := x.FactString("isolation", "forensic_group")
	if group == "" {
		return nil, fmt.Errorf("no isolation was recorded in this case: %w", providers.ErrFailed)
	}
	inst, err := describeNow(ctx, x)
	if err != nil {
		return nil, err
	}
	// Security groups and NSGs are exclusive per interface: only the
	// forensic one may remain. GCP network tags are additive and the
	// quarantine tag's priority-0 deny rules win over every allow, so the
	// tag being present is isolation.
	additive := x.Provider().Cloud() == providers.CloudGCP
	for _, n := range inst.NICs {
		has := slices.ContainsFunc(n.Groups, func(g string) bool { return strings.EqualFold(g, group) })
		if !has || (!additive && len(n.Groups) != 1) {
			return nil, fmt.Errorf("interface %s is in %s, not only %s: %w", n.ID, strings.Join(n.Groups, ","), group, providers.ErrFailed)
		}
	}
	return map[string]any{"isolated": true, "interfaces": len(inst.NICs)}, nil
}

func checkIdentityDetached(ctx context.Context, x *StepRun) (map[string]any, error) {
	inst, err := describeNow(ctx, x)
	if err != nil {
		return nil, err
	}
	orig := x.FactString("instance", "identity", "profile_arn")
	origRole := x.FactString("instance", "identity", "role_name")
	still := ""
	switch {
	case inst.Identity == nil:
	case orig != "" && inst.Identity.ProfileARN == orig:
		still = orig
	case orig == "" && origRole != "" && inst.Identity.RoleName == origRole:
		// GCP: a service account, not a profile.
		still = origRole
	}
	if still != "" {
		// Still attached, but cut if the case revoked the identity
		// itself (GCP: the service account is disabled, so the metadata
		// server mints no token for it).
		revoked, _ := x.Fact("revoked_roles")
		list, _ := revoked.([]any)
		if !slices.ContainsFunc(list, func(v any) bool { return fmt.Sprint(v) == inst.Identity.RoleName }) {
			return nil, fmt.Errorf("the instance still runs as %s: %w", still, providers.ErrFailed)
		}
		return map[string]any{"detached": false, "revoked": true, "identity": inst.Identity.RoleName}, nil
	}
	now := ""
	if inst.Identity != nil {
		now = inst.Identity.ProfileARN
	}
	return map[string]any{"detached": true, "profile": now}, nil
}

func checkScaleInProtected(ctx context.Context, x *StepRun) (map[string]any, error) {
	inst, err := describeNow(ctx, x)
	if err != nil {
		return nil, err
	}
	if inst.ScalingGroup != "" && !inst.ScaleInProtected && inst.ScalingLifecycle != "Standby" {
		return nil, fmt.Errorf("%s can still be terminated by scaling group %s: %w", inst.ID, inst.ScalingGroup, providers.ErrFailed)
	}
	return map[string]any{"protected": true, "group": inst.ScalingGroup, "lifecycle": inst.ScalingLifecycle}, nil
}

// evidenceTagged reports whether a snapshot carries the evidence tag,
// under the key each cloud allows: GCE labels take no ':' (the provider
// writes firedrill-evidence).
func evidenceTagged(tags map[string]string) bool {
	for _, k := range []string{"firedrill:evidence", "firedrill-evidence", "firedrill_evidence"} {
		if tags[k] == "true" {
			return true
		}
	}
	return false
}

func checkEvidencePreserved(ctx context.Context, x *StepRun) (map[string]any, error) {
	comp, err := need(x.Provider().Compute(), "compute")
	if err != nil {
		return nil, err
	}
	byVolume := map[string]string{}
	for _, e := range x.c.Evidence() {
		if e.Kind == KindDiskSnapshot {
			byVolume[e.Source] = e.ID
		}
	}
	disks, _ := x.Fact("instance", "disks")
	list, _ := disks.([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("no disks were recorded for %s: %w", x.Resource(), providers.ErrFailed)
	}
	var ids, missing []string
	for _, d := range list {
		vol, _ := d.(map[string]any)["id"].(string)
		if s, ok := byVolume[vol]; ok {
			ids = append(ids, s)
		} else {
			missing = append(missing, vol)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no evidence snapshot of %s: %w", strings.Join(missing, ", "), providers.ErrFailed)
	}
	got, err := comp.WaitForSnapshots(ctx, ids, 0)
	if err != nil {
		return nil, fmt.Errorf("re-reading the evidence snapshots: %w", err)
	}
	for _, e := range got {
		if e.State != "completed" {
			return nil, fmt.Errorf("snapshot %s is %s: %w", e.ID, e.State, providers.ErrFailed)
		}
		if !evidenceTagged(e.Tags) {
			return nil, fmt.Errorf("snapshot %s lost its evidence tag: %w", e.ID, providers.ErrFailed)
		}
	}
	return map[string]any{"snapshots": len(got)}, nil
}
