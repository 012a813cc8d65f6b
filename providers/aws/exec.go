package aws

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/firedrill-ir/firedrill/providers"
)

const (
	defaultCommandTimeout = 10 * time.Minute
	defaultMemoryTimeout  = 2 * time.Hour
	// deliveryGrace is how long past the execution timeout we keep polling:
	// SSM itself reports TimedOut, and its answer beats our guess.
	deliveryGrace = 2 * time.Minute
	// MemoryMarker tells readers of the SSM history (and the simulator's
	// agent model) what the script is.
	MemoryMarker = "firedrill:capture-memory"
)

// Available reports whether the SSM agent on the instance answers pings.
// Memory capture and run-command need the agent's egress, which is why a
// playbook captures before it isolates.
func (x *Provider) AgentAvailable(ctx context.Context, instanceID string) (bool, error) {
	p := x
	in := &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{
		{Key: awssdk.String("InstanceIds"), Values: []string{instanceID}}}}
	for {
		out, err := p.ssm.DescribeInstanceInformation(ctx, in)
		if err != nil {
			if isKind(err, providers.ErrNotFound) {
				return false, nil
			}
			return false, wrapErr("ssm:DescribeInstanceInformation", instanceID, err)
		}
		for _, ii := range out.InstanceInformationList {
			if awssdk.ToString(ii.InstanceId) == instanceID {
				return ii.PingStatus == ssmtypes.PingStatusOnline, nil
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return false, nil
		}
		in.NextToken = out.NextToken
	}
}

// terminal reports whether an invocation status is final.
func terminal(s ssmtypes.CommandInvocationStatus) bool {
	switch s {
	case ssmtypes.CommandInvocationStatusPending, ssmtypes.CommandInvocationStatusInProgress,
		ssmtypes.CommandInvocationStatusDelayed, ssmtypes.CommandInvocationStatusCancelling:
		return false
	}
	return s != ""
}

// RunCommand sends an AWS-RunShellScript and polls GetCommandInvocation on
// the Sleeper until it is final. Right after SendCommand the invocation may
// not exist yet (InvocationDoesNotExist); that counts as pending.
func (x *Provider) RunCommand(ctx context.Context, instanceID string, commands []string, opts providers.CommandOptions) (*providers.CommandResult, error) {
	p := x
	if len(commands) == 0 {
		return nil, opErr("RunCommand", instanceID, providers.ErrInvalid, "", "no commands")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	// SSM bounds: delivery timeout at least 30 s, execution at most 48 h.
	secs := int32(min(max(timeout/time.Second, 30), 48*60*60))
	in := &ssm.SendCommandInput{
		DocumentName: awssdk.String("AWS-RunShellScript"),
		InstanceIds:  []string{instanceID},
		Parameters: map[string][]string{
			"commands":         commands,
			"executionTimeout": {strconv.Itoa(int(secs))},
		},
		TimeoutSeconds: awssdk.Int32(secs),
	}
	if opts.Comment != "" {
		c := []rune(opts.Comment)
		if len(c) > 100 { // SSM's limit, in characters
			c = c[:100]
		}
		in.Comment = awssdk.String(string(c))
	}
	if opts.OutputBucket != "" {
		in.OutputS3BucketName = awssdk.String(opts.OutputBucket)
		if opts.OutputPrefix != "" {
			in.OutputS3KeyPrefix = awssdk.String(opts.OutputPrefix)
		}
	}
	sent, err := p.ssm.SendCommand(ctx, in)
	if err != nil {
		return nil, wrapErr("ssm:SendCommand", instanceID, err)
	}
	if sent.Command == nil || sent.Command.CommandId == nil {
		return nil, opErr("ssm:SendCommand", instanceID, providers.ErrFailed, "", "the answer carries no command id")
	}
	cmdID := awssdk.ToString(sent.Command.CommandId)
	p.log.Info("command sent", "instance", instanceID, "command", cmdID)
	res := &providers.CommandResult{ID: cmdID, Instance: instanceID, Status: string(sent.Command.Status)}
	if opts.OutputBucket != "" {
		res.OutputLocation = "s3://" + strings.TrimSuffix(opts.OutputBucket+"/"+opts.OutputPrefix, "/") + "/" + cmdID + "/" + instanceID + "/"
	}
	deadline := p.deadline(timeout + deliveryGrace)
	for {
		if err := p.sleepPoll(ctx, deadline); err != nil {
			return res, fmt.Errorf("waiting for command %s on %s: %w", cmdID, instanceID, err)
		}
		inv, err := p.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
			CommandId: awssdk.String(cmdID), InstanceId: awssdk.String(instanceID)})
		switch {
		case err == nil:
			res.Status = string(inv.Status)
			res.Stdout, res.Stderr = awssdk.ToString(inv.StandardOutputContent), awssdk.ToString(inv.StandardErrorContent)
			res.ExitCode = int(inv.ResponseCode)
			if u := awssdk.ToString(inv.StandardOutputUrl); u != "" {
				res.OutputLocation = u
			}
			if terminal(inv.Status) {
				if inv.Status != ssmtypes.CommandInvocationStatusSuccess {
					return res, opErr("ssm:GetCommandInvocation", cmdID, providers.ErrFailed, res.Status,
						fmt.Sprintf("command on %s ended %s (exit %d): %s", instanceID, res.Status, res.ExitCode,
							firstLine(res.Stderr, awssdk.ToString(inv.StatusDetails))))
				}
				p.log.Info("command finished", "instance", instanceID, "command", cmdID, "status", res.Status)
				return res, nil
			}
		case isKind(err, providers.ErrNotFound):
			// Not registered yet; keep polling.
		default:
			return res, wrapErr("ssm:GetCommandInvocation", cmdID, err)
		}
		if !p.sleeper.Now().Before(deadline) {
			return res, opErr("ssm:GetCommandInvocation", cmdID, providers.ErrTimeout, res.Status,
				fmt.Sprintf("command on %s not finished after %v", instanceID, timeout+deliveryGrace))
		}
	}
}

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			line, _, _ := strings.Cut(s, "\n")
			return line
		}
	}
	return ""
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// memoryScript dumps RAM with AVML (no kernel module, unlike LiME) and
// uploads it with the instance role. The image lands under dest; AVML writes
// to scratch first, so point scratch at a volume that is not evidence when
// one is attached. The script stops at the first failing step.
func memoryScript(dest, scratch string) []string {
	img := scratch + "/firedrill-memory.lime"
	return []string{
		"# " + MemoryMarker,
		"set -eu",
		"command -v avml >/dev/null 2>&1 || { echo 'avml is not installed' >&2; exit 127; }",
		"avml " + shellQuote(img),
		"sha256sum " + shellQuote(img),
		"aws s3 cp --only-show-errors " + shellQuote(img) + " " + shellQuote(dest),
		"rm -f " + shellQuote(img),
	}
}

// CaptureMemory runs an AVML capture through SSM, then finds the image in
// the bucket and hashes the stored bytes: the digest in the evidence record
// is of what was actually preserved, not of what the agent claims.
func (x *Provider) CaptureMemory(ctx context.Context, instanceID, bucket string, opts providers.MemoryOptions) (*providers.Evidence, error) {
	p := x
	if bucket == "" {
		return nil, opErr("CaptureMemory", instanceID, providers.ErrInvalid, "", "no evidence bucket")
	}
	base := strings.Trim(opts.Prefix, "/")
	if base == "" {
		base = "firedrill/memory"
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultMemoryTimeout
	}
	started := p.sleeper.Now().UTC()
	prefix := fmt.Sprintf("%s/%s/%s", base, instanceID, started.Format("20060102T150405Z"))
	dest := fmt.Sprintf("s3://%s/%s/memory.lime", bucket, prefix)
	res, err := x.RunCommand(ctx, instanceID, memoryScript(dest, "/var/tmp"), providers.CommandOptions{
		OutputBucket: bucket, OutputPrefix: prefix, Timeout: timeout, Comment: "firedrill memory capture " + opts.CaseID,
	})
	if err != nil {
		return nil, fmt.Errorf("capturing memory of %s: %w", instanceID, err)
	}
	key, err := x.findImage(ctx, bucket, prefix, res.ID, instanceID)
	if err != nil {
		return nil, err
	}
	info, err := p.HashObject(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("hashing the memory image of %s: %w", instanceID, err)
	}
	if claimed := sha256Token(res.Stdout); claimed != "" && claimed != info.SHA256 {
		return nil, opErr("CaptureMemory", instanceID, providers.ErrFailed, "",
			fmt.Sprintf("stored image s3://%s/%s hashes to %s but the agent read %s", bucket, key, info.SHA256, claimed))
	}
	ev := &providers.Evidence{
		Kind: providers.EvidenceMemory, ID: key, Source: instanceID, Location: "s3://" + bucket + "/" + key,
		SHA256: info.SHA256, Size: info.Size, CollectedBy: p.collector(ctx), CollectedAt: p.sleeper.Now(),
		State: "completed", Tags: map[string]string{"firedrill:command": res.ID},
	}
	if opts.CaseID != "" {
		ev.Tags["firedrill:case"] = opts.CaseID
	}
	p.log.Info("memory captured", "instance", instanceID, "location", ev.Location, "bytes", ev.Size)
	return ev, nil
}

// findImage locates the .lime object under prefix: the script's own upload
// (prefix/memory.lime) or one under the command's output folder
// (prefix/<command>/<instance>/…), preferring the latter's exact match.
func (x *Provider) findImage(ctx context.Context, bucket, prefix, cmdID, instanceID string) (string, error) {
	p := x
	var images []string
	lp := s3.NewListObjectsV2Paginator(p.s3, &s3.ListObjectsV2Input{Bucket: awssdk.String(bucket), Prefix: awssdk.String(prefix + "/")})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			return "", wrapErr("s3:ListObjectsV2", "s3://"+bucket+"/"+prefix, err)
		}
		for _, o := range page.Contents {
			if k := awssdk.ToString(o.Key); strings.HasSuffix(k, ".lime") {
				images = append(images, k)
			}
		}
	}
	for _, k := range images {
		if strings.Contains(k, "/"+cmdID+"/"+instanceID+"/") {
			return k, nil
		}
	}
	if len(images) == 1 {
		return images[0], nil
	}
	return "", opErr("CaptureMemory", instanceID, providers.ErrNotFound, "",
		fmt.Sprintf("expected one memory image under s3://%s/%s/, found %d", bucket, prefix, len(images)))
}

// sha256Token returns the first 64-hex-digit word of sha256sum output.
func sha256Token(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) == 64 && strings.Trim(strings.ToLower(f), "0123456789abcdef") == "" {
			return strings.ToLower(f)
		}
	}
	return ""
}
