package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/firedrill-ir/firedrill/providers"
)

const (
	defaultCommandTimeout = 20 * time.Minute
	defaultMemoryTimeout  = 2 * time.Hour
	// MemoryMarker tells readers of the command (and the simulator) what
	// the script is.
	MemoryMarker = "firedrill:capture-memory"
)

// Available reports whether the VM agent is Ready and the VM running: Run
// Command needs the agent's outbound HTTPS to Azure, which is why a
// playbook captures before it isolates.
func (x *Provider) AgentAvailable(ctx context.Context, instanceID string) (bool, error) {
	p := x
	ref, err := p.parseVM("Available", instanceID)
	if err != nil {
		return false, err
	}
	out, err := p.vms.InstanceView(ctx, ref.rg, ref.name, nil)
	if err != nil {
		if isKind(err, providers.ErrNotFound) {
			return false, nil
		}
		return false, wrapErr("compute:VirtualMachines.InstanceView", ref.id, err)
	}
	iv := out.VirtualMachineInstanceView
	if powerState(&iv) != "running" || iv.VMAgent == nil {
		return false, nil
	}
	for _, s := range iv.VMAgent.Statuses {
		if str(s.DisplayStatus) == "Ready" {
			return true, nil
		}
	}
	return false, nil
}

// RunCommand runs a shell script with action Run Command (RunShellScript)
// and polls the operation on the Sleeper until it finishes. Run Command
// returns the last 4096 bytes of stdout and of stderr; it does not report
// the script's exit code, so ExitCode is 0 when the operation succeeded.
func (x *Provider) RunCommand(ctx context.Context, instanceID string, commands []string, opts providers.CommandOptions) (*providers.CommandResult, error) {
	p := x
	if len(commands) == 0 {
		return nil, opErr("RunCommand", instanceID, providers.ErrInvalid, "", "no commands")
	}
	ref, err := p.parseVM("RunCommand", instanceID)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	poller, err := p.vms.BeginRunCommand(ctx, ref.rg, ref.name, armcompute.RunCommandInput{
		CommandID: to.Ptr("RunShellScript"), Script: to.SliceOfPtrs(commands...)}, nil)
	if err != nil {
		return nil, wrapErr("compute:VirtualMachines.BeginRunCommand", ref.id, err)
	}
	p.log.Info("command sent", "instance", ref.id)
	res := &providers.CommandResult{Instance: ref.id, Status: "InProgress", ExitCode: -1}
	out, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginRunCommand", ref.id, timeout)
	if err != nil {
		res.Status = "Failed"
		if isKind(err, providers.ErrTimeout) {
			res.Status = "TimedOut"
		}
		return res, &providers.OpError{Op: "compute:VirtualMachines.BeginRunCommand", Resource: ref.id,
			Kind: providers.ErrFailed, Code: providers.Code(err), Err: err}
	}
	res.Status, res.ExitCode = "Succeeded", 0
	for _, s := range out.Value {
		stdout, stderr := splitRunCommandMessage(str(s.Message))
		res.Stdout += stdout
		res.Stderr += stderr
	}
	p.log.Info("command finished", "instance", ref.id, "status", res.Status)
	return res, nil
}

// splitRunCommandMessage splits "Enable succeeded: \n[stdout]\n…\n[stderr]\n…".
func splitRunCommandMessage(msg string) (stdout, stderr string) {
	_, rest, ok := strings.Cut(msg, "[stdout]\n")
	if !ok {
		return msg, ""
	}
	stdout, stderr, _ = strings.Cut(rest, "\n[stderr]\n")
	return stdout, stderr
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// memoryScript dumps RAM with AVML (no kernel module) and uploads it with
// the VM's managed identity via azcopy. It stops at the first failing step.
func memoryScript(dest string) []string {
	img := "/var/tmp/firedrill-memory.lime"
	return []string{
		"# " + MemoryMarker,
		"set -eu",
		"command -v avml >/dev/null 2>&1 || { echo 'avml is not installed' >&2; exit 127; }",
		"avml " + shellQuote(img),
		"sha256sum " + shellQuote(img),
		"azcopy login --identity >/dev/null",
		"azcopy copy " + shellQuote(img) + " " + shellQuote(dest),
		"rm -f " + shellQuote(img),
	}
}

// splitBucket reads "account/container".
func splitBucket(op, bucket string) (string, string, error) {
	acct, container, ok := strings.Cut(bucket, "/")
	if !ok || acct == "" || container == "" || strings.Contains(container, "/") {
		return "", "", opErr(op, bucket, providers.ErrInvalid, "", "an Azure evidence bucket is \"<storage account>/<container>\"")
	}
	return acct, container, nil
}

// CaptureMemory runs an AVML capture through Run Command, uploading the
// image to bucket ("<storage account>/<container>") with the VM's managed
// identity, then hashes the stored blob: the digest in the evidence record
// is of what was preserved. It needs the VM's identity (capture before
// detaching it) and outbound HTTPS (capture before isolating).
func (x *Provider) CaptureMemory(ctx context.Context, instanceID, bucket string, opts providers.MemoryOptions) (*providers.Evidence, error) {
	p := x
	acct, container, err := splitBucket("CaptureMemory", bucket)
	if err != nil {
		return nil, err
	}
	ref, err := p.parseVM("CaptureMemory", instanceID)
	if err != nil {
		return nil, err
	}
	base := strings.Trim(opts.Prefix, "/")
	if base == "" {
		base = "firedrill/memory"
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultMemoryTimeout
	}
	key := fmt.Sprintf("%s/%s/%s/memory.lime", base, ref.name, p.sleeper.Now().UTC().Format("20060102T150405Z"))
	dest := fmt.Sprintf("https://%s.blob.core.windows.net/%s/%s", acct, container, key)
	res, err := x.RunCommand(ctx, instanceID, memoryScript(dest), providers.CommandOptions{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("capturing memory of %s: %w", ref.id, err)
	}
	if strings.TrimSpace(res.Stderr) != "" && !strings.Contains(res.Stdout, "transfer completed") {
		return nil, opErr("CaptureMemory", ref.id, providers.ErrFailed, "", "the capture script failed: "+firstLine(res.Stderr))
	}
	info, err := p.HashObject(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("hashing the memory image of %s: %w", ref.id, err)
	}
	if claimed := sha256Token(res.Stdout); claimed != "" && claimed != info.SHA256 {
		return nil, opErr("CaptureMemory", ref.id, providers.ErrFailed, "",
			fmt.Sprintf("stored image %s hashes to %s but the VM read %s", dest, info.SHA256, claimed))
	}
	ev := &providers.Evidence{Kind: providers.EvidenceMemory, ID: key, Source: ref.id, Location: dest, SHA256: info.SHA256,
		Size: info.Size, CollectedBy: p.collector(ctx), CollectedAt: p.sleeper.Now(), State: "completed", Tags: map[string]string{}}
	if opts.CaseID != "" {
		ev.Tags["firedrill:case"] = opts.CaseID
	}
	p.log.Info("memory captured", "instance", ref.id, "location", dest, "bytes", ev.Size)
	return ev, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func sha256Token(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) == 64 && strings.Trim(strings.ToLower(f), "0123456789abcdef") == "" {
			return strings.ToLower(f)
		}
	}
	return ""
}
