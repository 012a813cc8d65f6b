package azureworld

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Azure action Run Command. One command at a time per VM; the RunCommand
// handler on the VM fetches the script and reports results over HTTPS to
// Azure (the AzureCloud service tag), so a VM whose NSG denies outbound 443
// there never runs it and the operation fails once ARM gives up waiting for
// the VM agent. Output is the last 4096 bytes of stdout and of stderr.
// Memory capture (AVML) uploads the image to a blob with the VM's managed
// identity (azcopy login --identity), so it also needs that identity and
// its Storage Blob Data role: after the identity is removed, capture fails.

// Run Command statuses, as the ARM operation reports them.
const (
	OpInProgress = "InProgress"
	OpSucceeded  = "Succeeded"
	OpFailed     = "Failed"
)

// RunCommandOutputLimit is how much of each output stream Run Command
// returns.
const RunCommandOutputLimit = 4096

// RunCommandTiming models Run Command durations.
type RunCommandTiming struct {
	Delivery     time.Duration // handler picks the script up (jittered ±50%)
	Run          time.Duration // an ordinary script (jittered ±50%)
	MemoryPerGiB time.Duration // AVML capture and upload per GiB of RAM
	Retry        time.Duration // how often an unreachable agent is retried
	AgentTimeout time.Duration // ARM gives up on an unreachable agent
	MaxRuntime   time.Duration // Run Command's 90-minute cap
}

// DefaultRunCommandTiming: action Run Command typically takes 20-40 s
// even for `echo`, runs at most 90 minutes, and a VM that cannot reach Azure
// fails the operation after about 15 minutes.
var DefaultRunCommandTiming = RunCommandTiming{
	Delivery: 20 * time.Second, Run: 3 * time.Second, MemoryPerGiB: 25 * time.Second,
	Retry: 30 * time.Second, AgentTimeout: 15 * time.Minute, MaxRuntime: 90 * time.Minute,
}

// RunCommand is one Run Command invocation.
type RunCommand struct {
	ID, VM, CommandID       string
	Script                  []string
	RequestedBy             string
	Requested, Started      time.Time
	Done                    time.Time
	Status                  string
	Stdout, Stderr          string
	ErrorCode, ErrorMessage string
}

// AgentReachable reports whether the VM agent can reach Azure
// now, and if not, why.
func (s *State) AgentReachable(vm *VM) (bool, string) {
	if vm == nil || vm.Deleted {
		return false, "the VM does not exist"
	}
	if vm.PowerState != "running" {
		return false, "the VM is " + vm.PowerState
	}
	inst := s.w.Instances.Lookup(vm.ID)
	if inst == nil || len(inst.ENIs) == 0 {
		return false, "the VM has no network interface"
	}
	eni := s.w.ENIs.Lookup(inst.ENIs[0])
	ok, rule := s.NSGDecision(s.nsgOf(eni), s.w.VPCs.Lookup(eni.VPC), "Outbound", "tcp", eni.PrivateIP, 50000, RunCommandEndpoint, 443)
	if !ok {
		return false, fmt.Sprintf("security rule %s denies outbound HTTPS to Azure (AzureCloud:443)", rule)
	}
	return true, ""
}

// StartRunCommand queues a command; it fails at once if another
// command is still running on the VM or the VM is not running.
func (s *State) StartRunCommand(vm *VM, commandID string, script []string, by string, tm *RunCommandTiming) (*RunCommand, error) {
	if vm.PowerState != "running" {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("Operation 'runCommand' is not allowed on VM '%s' since the VM is %s.", vm.Name, vm.PowerState)}
	}
	for _, rc := range s.RunCommands.All() {
		if strings.EqualFold(rc.VM, vm.ID) && rc.Status == OpInProgress {
			return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
				Msg: "Run command extension execution is in progress. Please wait for completion before invoking a run command."}
		}
	}
	t := DefaultRunCommandTiming
	if tm != nil {
		t = *tm
	}
	now := s.w.Now()
	rc := &RunCommand{ID: s.w.GUIDLocked(), VM: vm.ID, CommandID: commandID, Script: script, RequestedBy: by,
		Requested: now, Status: OpInProgress}
	s.RunCommands.Put(rc.ID, rc)
	agentDeadline := now.Add(t.AgentTimeout)
	var deliver func(at time.Time)
	deliver = func(at time.Time) {
		v := s.VM(rc.VM)
		if ok, why := s.AgentReachable(v); !ok {
			if v == nil || v.Deleted {
				s.failRunCommand(rc, at, "NotFound", "The VM was deleted before the command ran.")
				return
			}
			if !at.Before(agentDeadline) {
				s.failRunCommand(rc, agentDeadline, "VMAgentStatusCommunicationError",
					fmt.Sprintf("VM '%s' has not reported status for VM agent or extensions. Verify that the OS is up and healthy, the VM has a running VM agent, and that it can establish outbound connections to Azure storage. (%s)", v.Name, why))
				return
			}
			s.w.ScheduleLocked(minTime(at.Add(t.Retry), agentDeadline), "azure-runcommand.deliver "+rc.ID, deliver)
			return
		}
		rc.Started = at
		run := s.w.JitterLocked(world.PurposeDuration, t.Run, 0.5)
		if azureIsMemoryCapture(rc.Script) {
			gib := max(s.w.Instances.Lookup(v.ID).MemoryGiB, 1)
			run = s.w.JitterLocked(world.PurposeDuration, time.Duration(gib)*t.MemoryPerGiB, 0.1)
		}
		s.scheduleRunCompletion(rc, at.Add(run), at.Add(t.MaxRuntime), t.Retry)
	}
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, t.Delivery, 0.5)), "azure-runcommand.deliver "+rc.ID, deliver)
	return rc, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *State) scheduleRunCompletion(rc *RunCommand, done, deadline time.Time, retry time.Duration) {
	s.w.ScheduleLocked(minTime(done, deadline), "azure-runcommand.complete "+rc.ID, func(at time.Time) {
		v := s.VM(rc.VM)
		if v == nil || v.Deleted || v.PowerState != "running" {
			s.failRunCommand(rc, at, "VMAgentStatusCommunicationError", "The VM stopped before the command finished.")
			return
		}
		if !at.Before(deadline) {
			s.failRunCommand(rc, deadline, "RunCommandTimeout", "The script did not complete within 90 minutes.")
			return
		}
		if ok, _ := s.AgentReachable(v); !ok {
			s.scheduleRunCompletion(rc, at.Add(retry), deadline, retry)
			return
		}
		s.executeRunCommand(rc, v, at)
	})
}

func (s *State) failRunCommand(rc *RunCommand, at time.Time, code, msg string) {
	rc.Status, rc.Done, rc.ErrorCode, rc.ErrorMessage = OpFailed, at, code, msg
}

func azureIsMemoryCapture(script []string) bool {
	for _, l := range script {
		low := strings.ToLower(l)
		if strings.Contains(low, "avml") || strings.Contains(low, "firedrill:capture-memory") {
			return true
		}
	}
	return false
}

// executeRunCommand produces the output from the world at time
// at. A script's non-zero exit still completes the operation (Run Command
// reports the script's output, not its exit status).
func (s *State) executeRunCommand(rc *RunCommand, vm *VM, at time.Time) {
	inst := s.w.Instances.Lookup(vm.ID)
	var out, errs strings.Builder
	if azureIsMemoryCapture(rc.Script) {
		msg, err := s.captureMemory(rc, vm, inst, at)
		if err != nil {
			errs.WriteString(err.Error() + "\n")
		} else {
			out.WriteString(msg)
		}
	} else {
		for _, line := range rc.Script {
			for _, l := range strings.Split(line, "\n") {
				out.WriteString(s.w.GuestShellLocked(inst, strings.TrimSpace(l), at))
			}
		}
	}
	rc.Stdout, rc.Stderr = out.String(), errs.String()
	rc.Status, rc.Done = OpSucceeded, at
}

// Tail returns the last n bytes of s, as Run Command truncates output.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// BlobTarget finds the first https://<account>.blob.core.windows.net/
// <container>/<blob> URL in a script.
func BlobTarget(script []string) (account, container, blob string, ok bool) {
	for _, line := range script {
		for _, f := range strings.Fields(line) {
			f = strings.Trim(f, `'"`)
			u, err := url.Parse(f)
			if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Host, ".blob.core.windows.net") {
				continue
			}
			acct := strings.TrimSuffix(u.Host, ".blob.core.windows.net")
			c, b, found := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
			if found && c != "" && b != "" {
				return acct, c, b, true
			}
		}
	}
	return "", "", "", false
}

// ContainerScope is the RBAC scope of a blob container.
func ContainerScope(sa *StorageAccount, container string) string {
	return sa.ID() + "/blobServices/default/containers/" + container
}

func (s *State) captureMemory(rc *RunCommand, vm *VM, inst *world.Instance, at time.Time) (string, error) {
	acct, container, blob, ok := BlobTarget(rc.Script)
	if !ok {
		return "", fmt.Errorf("avml: no upload destination: expected an https://<account>.blob.core.windows.net/<container>/<blob> URL")
	}
	if vm.IdentityType == "None" || vm.PrincipalID == "" {
		return "", fmt.Errorf("azcopy: failed to perform login command: no managed identity is assigned to this VM (IMDS returned 400 Identity not found)")
	}
	sa := s.Storage.Lookup(acct)
	if sa == nil || s.w.Buckets.Lookup(acct+"/"+container) == nil {
		return "", fmt.Errorf("azcopy: upload to https://%s.blob.core.windows.net/%s failed: ContainerNotFound", acct, container)
	}
	if !s.Authorize(vm.PrincipalID, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", ContainerScope(sa, container), true) {
		return "", fmt.Errorf("azcopy: upload failed: 403 AuthorizationPermissionMismatch: the managed identity of %s may not write blobs to %s/%s", vm.Name, acct, container)
	}
	gib := max(inst.MemoryGiB, 1)
	if err := s.w.PutObjectAtLocked(acct+"/"+container, blob, "application/octet-stream", world.MemoryImage(inst, at, gib), at); err != nil {
		return "", fmt.Errorf("azcopy: upload failed: %w", err)
	}
	v, _ := s.w.GetObjectLocked(acct+"/"+container, blob, "")
	sum := ""
	if v != nil {
		sum = azSHA256Hex(v.Data)
	}
	return fmt.Sprintf("avml: captured %d GiB of physical memory from %s\n%s  /var/tmp/firedrill-memory.lime\nazcopy: 1 transfer completed to https://%s.blob.core.windows.net/%s/%s\n",
		gib, vm.Name, sum, acct, container, blob), nil
}

func azSHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
