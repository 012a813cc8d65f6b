// Package vm holds the responder's actions on virtual machines: record,
// protect from termination and scaling, capture volatile state and memory
// through the cloud's agent, snapshot disks, tag, stop, and the checks
// that verify each after containment.
package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
)

var vmOnly = []providers.Kind{providers.KindVM}

func init() {
	action.RegisterDescriber(action.Describer{Kind: providers.KindVM, Needs: action.Need[providers.InstanceDescriber](),
		EvidenceKind: action.KindInstanceMetadata, Describe: describeVM})
	reg := func(s action.Spec) {
		s.Domain = "vm"
		if s.Kinds == nil {
			s.Kinds = vmOnly
		}
		action.Register(s)
	}
	reg(action.Spec{Name: "describe_instance", Doc: "record the instance (NICs, disks, identity, scaling group, tags) as facts.instance and as evidence",
		Params: []string{"store", "bucket"}, Needs: []action.Capability{action.Need[providers.InstanceDescriber]()}, Run: describeInstance})
	reg(action.Spec{Name: "protect_termination", Mutates: true, Doc: "block API termination, make shutdown stop, keep every disk on termination",
		Needs: []action.Capability{action.Need[providers.TerminationProtector]()}, Run: protectTermination})
	reg(action.Spec{Name: "protect_scaling", Mutates: true,
		Doc: "take the instance out of its scaling group's hands (mode: protect, standby or detach); load_balanced_mode " +
			"instead when describe found a group that replaces members failing a load balancer's health check",
		Params: []string{"mode", "load_balanced_mode", "decrement_desired"},
		Needs:  []action.Capability{action.Need[providers.ScalingProtector]()}, Run: protectScaling})
	reg(action.Spec{Name: "capture_processes", Doc: "run `ps aux` through the agent and store the output as evidence",
		Params: []string{"bucket", "command", "timeout"}, Needs: []action.Capability{action.Need[providers.CommandRunner]()},
		Run: captureCommand(action.KindProcessList, "ps aux", "processes.txt")})
	reg(action.Spec{Name: "capture_connections", Doc: "run `ss -tanp` through the agent and store the output as evidence",
		Params: []string{"bucket", "command", "timeout"}, Needs: []action.Capability{action.Need[providers.CommandRunner]()},
		Run: captureCommand(action.KindConnections, "ss -tanp", "connections.txt")})
	reg(action.Spec{Name: "capture_memory", Doc: "dump RAM through the agent into the evidence bucket (needs the agent's egress: before isolation)",
		Params: []string{"bucket", "timeout", "require_agent"},
		Needs:  []action.Capability{action.Need[providers.CommandRunner](), action.Need[providers.MemoryCapturer]()}, Run: captureMemory})
	reg(action.Spec{Name: "snapshot_disks", Mutates: true,
		Doc:    "crash-consistent snapshots of every disk, tagged as evidence; done once each has started (its point in time is fixed), or with wait_for: completed once each has completed",
		Params: []string{"wait", "wait_for"}, Needs: []action.Capability{action.Need[providers.DiskSnapshotter]()}, Run: snapshotDisks})
	reg(action.Spec{Name: "tag_resource", Mutates: true, Doc: "quarantine tags on the instance (and its disks)",
		Params: []string{"tags", "include_disks"}, Needs: []action.Capability{action.Need[providers.Tagger]()}, Run: tagResource})
	reg(action.Spec{Name: "stop_instance", Mutates: true, Doc: "stop (or hibernate) the instance",
		Params: []string{"hibernate"}, Needs: []action.Capability{action.Need[providers.InstanceStopper]()}, Run: stopInstance})
	reg(action.Spec{Name: "check_scale_in_protected", Doc: "verify the scaling group cannot terminate the instance",
		Needs: []action.Capability{action.Need[providers.InstanceDescriber]()}, Run: checkScaleInProtected})
	reg(action.Spec{Name: "check_evidence_preserved", Doc: "verify every disk has an evidence snapshot, waiting up to wait for each to complete",
		Params: []string{"wait"}, Needs: []action.Capability{action.Need[providers.DiskSnapshotter]()}, Run: checkEvidencePreserved})
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
	warnings := []any{}
	for _, w := range inst.Warnings {
		warnings = append(warnings, w)
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
		"shutdown_behavior": inst.ShutdownBehavior, "identity": map[string]any{}, "warnings": warnings}
	if inst.ScalingHealthCheck != "" {
		f["scaling_health_check"] = inst.ScalingHealthCheck
	}
	if id := inst.Identity; id != nil {
		f["identity"] = map[string]any{"profile_arn": id.ProfileARN, "association_id": id.AssociationID,
			"role_name": id.RoleName, "role_arn": id.RoleARN}
	}
	return f
}

// describeVM is the VM describer: facts.instance (kept as the VM's alias of
// facts.resource) and the instance record as evidence.
func describeVM(ctx context.Context, x *action.Run) (map[string]any, []byte, error) {
	d, err := action.Get[providers.InstanceDescriber](x)
	if err != nil {
		return nil, nil, err
	}
	inst, err := d.DescribeInstance(ctx, x.ResourceID())
	if err != nil {
		return nil, nil, fmt.Errorf("describing %s: %w", x.ResourceID(), err)
	}
	facts := InstanceFacts(inst)
	x.SetFact("instance", facts)
	body, err := json.MarshalIndent(facts, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the instance record: %w", err)
	}
	return facts, body, nil
}

func describeInstance(ctx context.Context, x *action.Run) (map[string]any, error) {
	facts, body, err := describeVM(ctx, x)
	if err != nil {
		return nil, err
	}
	x.SetFact("resource", action.ResourceFacts(x.Resource(), facts))
	disks, _ := facts["disks"].([]any)
	nics, _ := facts["nics"].([]any)
	warnings, _ := facts["warnings"].([]any)
	out := map[string]any{"state": facts["state"], "disks": len(disks), "nics": len(nics),
		"scaling_group": facts["scaling_group"], "warnings": len(warnings)}
	store, err := x.Params.Bool("store", true)
	if err != nil || !store {
		return out, err
	}
	ev, err := x.StoreArtifact(ctx, "instance-metadata.json", body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(action.Evidence{Kind: action.KindInstanceMetadata, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256,
		Size: ev.Size, Source: x.ResourceID(), State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return out, nil
}

func protectTermination(ctx context.Context, x *action.Run) (map[string]any, error) {
	tp, err := action.Get[providers.TerminationProtector](x)
	if err != nil {
		return nil, err
	}
	res, err := tp.ProtectFromTermination(ctx, x.ResourceID())
	if err != nil {
		return nil, fmt.Errorf("protecting %s from termination: %w", x.ResourceID(), err)
	}
	prev := map[string]any{}
	for k, v := range res.PreviousDeleteOnTermination {
		prev[k] = v
	}
	return map[string]any{"protected": true, "previous_delete_on_termination": prev}, nil
}

func protectScaling(ctx context.Context, x *action.Run) (map[string]any, error) {
	sp, err := action.Get[providers.ScalingProtector](x)
	if err != nil {
		return nil, err
	}
	opts := providers.ScalingOptions{}
	if opts.Mode, err = scalingMode("mode", x.Params.String("mode", "protect")); err != nil {
		return nil, err
	}
	// Scale-in protection does not stop a group from replacing a member
	// that fails its load balancer's health check, which isolation makes
	// it fail: where describe found such a group, the playbook's
	// load_balanced_mode (standby, detach) applies.
	var lbMode string
	if m := x.Params.String("load_balanced_mode", ""); m != "" {
		lb, err := scalingMode("load_balanced_mode", m)
		if err != nil {
			return nil, err
		}
		if x.FactString("instance", "scaling_health_check") == providers.ScalingHealthLoadBalancer {
			opts.Mode, lbMode = lb, m
		}
	}
	if opts.DecrementDesired, err = x.Params.Bool("decrement_desired", false); err != nil {
		return nil, err
	}
	res, err := sp.ProtectFromScaling(ctx, x.ResourceID(), opts)
	if err != nil {
		return nil, fmt.Errorf("protecting %s from scaling: %w", x.ResourceID(), err)
	}
	out := map[string]any{"group": res.Group, "previous_state": res.PreviousState, "was_protected": res.WasProtected,
		"lifecycle_state": res.LifecycleState}
	if lbMode != "" {
		out["mode"] = lbMode
		out["why"] = "the group replaces members that fail its load balancer's health check, scale-in protection or not"
	}
	return out, nil
}

// scalingMode reads a protect_scaling mode parameter.
func scalingMode(param, m string) (providers.ScalingMode, error) {
	switch m {
	case "protect":
		return providers.ScalingProtect, nil
	case "standby":
		return providers.ScalingStandby, nil
	case "detach":
		return providers.ScalingDetach, nil
	}
	return 0, action.BadParams("%s %q (expected protect, standby or detach)", param, m)
}

func captureCommand(kind, defCommand, file string) action.Func {
	return func(ctx context.Context, x *action.Run) (map[string]any, error) {
		ex, err := action.Get[providers.CommandRunner](x)
		if err != nil {
			return nil, err
		}
		timeout, err := x.Params.Duration("timeout", 5*time.Minute)
		if err != nil {
			return nil, err
		}
		if _, err := x.EvidenceBucket(); err != nil {
			return nil, err
		}
		cmd := x.Params.String("command", defCommand)
		res, err := ex.RunCommand(ctx, x.ResourceID(), []string{cmd}, providers.CommandOptions{Timeout: timeout,
			Comment: "firedrill " + x.CaseID() + " " + kind})
		if err != nil {
			return nil, fmt.Errorf("running %q on %s: %w", cmd, x.ResourceID(), err)
		}
		ev, err := x.StoreArtifact(ctx, file, []byte(res.Stdout))
		if err != nil {
			return nil, err
		}
		x.AddEvidence(action.Evidence{Kind: kind, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
			Source: x.ResourceID(), State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		out := map[string]any{"command_id": res.ID, "lines": len(lines) - 1, "sha256": ev.SHA256}
		if kind == action.KindConnections {
			remotes := []any{}
			for _, l := range lines[1:] {
				if f := strings.Fields(l); len(f) >= 6 {
					remotes = append(remotes, f[5])
				}
			}
			out["remotes"] = remotes
		}
		if kind == action.KindProcessList {
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

func captureMemory(ctx context.Context, x *action.Run) (map[string]any, error) {
	ex, err := action.Get[providers.CommandRunner](x)
	if err != nil {
		return nil, err
	}
	mc, err := action.Get[providers.MemoryCapturer](x)
	if err != nil {
		return nil, err
	}
	bucket, err := x.EvidenceBucket()
	if err != nil {
		return nil, err
	}
	timeout, err := x.Params.Duration("timeout", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	requireAgent, err := x.Params.Bool("require_agent", true)
	if err != nil {
		return nil, err
	}
	if requireAgent {
		ok, err := ex.AgentAvailable(ctx, x.ResourceID())
		if err != nil {
			return nil, fmt.Errorf("checking the agent on %s: %w", x.ResourceID(), err)
		}
		if !ok {
			return nil, fmt.Errorf("the agent on %s is offline (isolated already, or not installed): memory cannot be captured: %w",
				x.ResourceID(), providers.ErrFailed)
		}
	}
	ev, err := mc.CaptureMemory(ctx, x.ResourceID(), bucket, providers.MemoryOptions{CaseID: x.CaseID(), Timeout: timeout,
		Prefix: "firedrill/cases/" + x.CaseID() + "/memory"})
	if err != nil {
		return nil, fmt.Errorf("capturing memory of %s: %w", x.ResourceID(), err)
	}
	x.AddEvidence(action.Evidence{Kind: action.KindMemory, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: x.ResourceID(), State: ev.State, CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return map[string]any{"location": ev.Location, "sha256": ev.SHA256, "bytes": ev.Size}, nil
}

// snapshotDisks starts a snapshot of every disk. A snapshot's point in
// time is fixed when it starts, so waiting for it to complete (tens of
// minutes for large disks) delays nothing the evidence needs; wait_for:
// completed waits anyway, for playbooks that copy snapshots elsewhere.
func snapshotDisks(ctx context.Context, x *action.Run) (map[string]any, error) {
	ds, err := action.Get[providers.DiskSnapshotter](x)
	if err != nil {
		return nil, err
	}
	wait, err := x.Params.Duration("wait", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	waitFor := x.Params.String("wait_for", "started")
	if waitFor != "started" && waitFor != "completed" {
		return nil, action.BadParams("wait_for %q (expected started or completed)", waitFor)
	}
	started, err := ds.SnapshotDisks(ctx, x.ResourceID(), x.EvidenceTags())
	if err != nil {
		return nil, fmt.Errorf("snapshotting %s: %w", x.ResourceID(), err)
	}
	done := started
	if waitFor == "completed" {
		ids := make([]string, len(started))
		for i, e := range started {
			ids[i] = e.ID
		}
		if done, err = ds.WaitForSnapshots(ctx, ids, wait); err != nil {
			return nil, fmt.Errorf("waiting for snapshots %s: %w", strings.Join(ids, ","), err)
		}
	}
	sort.Slice(done, func(i, j int) bool { return done[i].Source < done[j].Source })
	covered := map[string]bool{}
	snaps := []any{}
	for _, e := range done {
		covered[e.Source] = true
		x.AddEvidence(action.Evidence{Kind: action.KindDiskSnapshot, ID: e.ID, Location: e.Location, Size: e.Size, Source: e.Source,
			State: e.State, CollectedBy: e.CollectedBy, CollectedAt: e.CollectedAt})
		snaps = append(snaps, map[string]any{"id": e.ID, "volume": e.Source})
	}
	// Every disk recorded by describe_instance must be covered.
	if missing := uncovered(x, covered); len(missing) > 0 {
		return nil, fmt.Errorf("no snapshot of volume(s) %s: %w", strings.Join(missing, ", "), providers.ErrFailed)
	}
	return map[string]any{"snapshots": snaps, "count": len(snaps)}, nil
}

// diskIDs are the disks describe_instance recorded.
func diskIDs(x *action.Run) []string {
	disks, _ := x.Fact("instance", "disks")
	list, _ := disks.([]any)
	var out []string
	for _, d := range list {
		if m, ok := d.(map[string]any); ok {
			if id, _ := m["id"].(string); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

func uncovered(x *action.Run, covered map[string]bool) []string {
	var missing []string
	for _, id := range diskIDs(x) {
		if !covered[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

func tagResource(ctx context.Context, x *action.Run) (map[string]any, error) {
	tg, err := action.Get[providers.Tagger](x)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{
		"firedrill:quarantine": "do-not-delete",
		"firedrill:case":       x.CaseID(),
		"security-status":      "quarantined",
		"isolated-at":          x.Now().UTC().Format(time.RFC3339),
	}
	extra, err := x.Params.StringMap("tags")
	if err != nil {
		return nil, err
	}
	maps.Copy(tags, extra)
	resources := []string{x.ResourceID()}
	withDisks, err := x.Params.Bool("include_disks", true)
	if err != nil {
		return nil, err
	}
	if withDisks {
		resources = append(resources, diskIDs(x)...)
	}
	if err := tg.Tag(ctx, resources, tags); err != nil {
		return nil, fmt.Errorf("tagging %s: %w", strings.Join(resources, ","), err)
	}
	res := []any{}
	for _, r := range resources {
		res = append(res, r)
	}
	return map[string]any{"resources": res, "tags": len(tags)}, nil
}

func stopInstance(ctx context.Context, x *action.Run) (map[string]any, error) {
	st, err := action.Get[providers.InstanceStopper](x)
	if err != nil {
		return nil, err
	}
	hib, err := x.Params.Bool("hibernate", false)
	if err != nil {
		return nil, err
	}
	if err := st.StopInstance(ctx, x.ResourceID(), providers.StopOptions{Hibernate: hib}); err != nil {
		return nil, fmt.Errorf("stopping %s: %w", x.ResourceID(), err)
	}
	return map[string]any{"stopped": true, "hibernate": hib}, nil
}

// DescribeNow re-reads the case's instance for a check. An instance that
// no longer exists (or is terminating) fails the check: a check must not
// pass on nothing (a terminated instance has no interface left to be in
// the wrong group, and no identity).
func DescribeNow(ctx context.Context, x *action.Run) (*providers.Instance, error) {
	d, err := action.Get[providers.InstanceDescriber](x)
	if err != nil {
		return nil, err
	}
	inst, err := d.DescribeInstance(ctx, x.ResourceID())
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return nil, fmt.Errorf("resource gone: %s no longer exists: %w", x.ResourceID(), providers.ErrFailed)
	case err != nil:
		return nil, fmt.Errorf("describing %s: %w", x.ResourceID(), err)
	case inst.Gone:
		return nil, fmt.Errorf("resource gone: %s is %s: %w", x.ResourceID(), inst.State, providers.ErrFailed)
	}
	return inst, nil
}

func checkScaleInProtected(ctx context.Context, x *action.Run) (map[string]any, error) {
	inst, err := DescribeNow(ctx, x)
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

func checkEvidencePreserved(ctx context.Context, x *action.Run) (map[string]any, error) {
	ds, err := action.Get[providers.DiskSnapshotter](x)
	if err != nil {
		return nil, err
	}
	byVolume := map[string]string{}
	for _, e := range x.CaseEvidence() {
		if e.Kind == action.KindDiskSnapshot {
			byVolume[e.Source] = e.ID
		}
	}
	disks := diskIDs(x)
	if len(disks) == 0 {
		return nil, fmt.Errorf("no disks were recorded for %s: %w", x.ResourceID(), providers.ErrFailed)
	}
	var ids, missing []string
	for _, vol := range disks {
		if s, ok := byVolume[vol]; ok {
			ids = append(ids, s)
		} else {
			missing = append(missing, vol)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no evidence snapshot of %s: %w", strings.Join(missing, ", "), providers.ErrFailed)
	}
	wait, err := x.Params.Duration("wait", 45*time.Minute)
	if err != nil {
		return nil, err
	}
	// Snapshots were only waited for until they started: completion is
	// checked here, long after containment.
	got, err := ds.WaitForSnapshots(ctx, ids, wait)
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
