package awsworld

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Run-command (SSM) model. A command sent to an instance is one Command per
// instance, keyed by CommandKey. Its status moves with modelled time through
// scheduled changes: Pending until the agent picks it up, InProgress while it
// runs, then a terminal state. The agent needs outbound HTTPS to reach SSM:
// an instance whose security groups no longer allow egress tcp/443, or that
// is not running, never picks the command up and it ends DeliveryTimedOut —
// the reason a responder must capture memory before isolating the network.
// Output is generated when the command completes, from the world as it is
// then (processes, active flows), so it is consistent with what happened.

// CommandKey is the key of one instance's invocation in World.Commands.
func CommandKey(commandID, instance string) string { return commandID + "/" + instance }

// Command invocation statuses, as SSM names them.
const (
	CmdPending    = "Pending"
	CmdInProgress = "InProgress"
	CmdSuccess    = "Success"
	CmdFailed     = "Failed"
	CmdTimedOut   = "TimedOut"
)

// CommandTiming models how long run-command steps take.
type CommandTiming struct {
	// Delivery is how long the agent takes to pick up a command (jittered ±50%).
	Delivery time.Duration
	// Run is the execution time of an ordinary shell command (jittered ±50%).
	Run time.Duration
	// MemoryPerGiB is the capture-and-upload time of a memory image per GiB
	// of instance memory (AVML/LiME to S3 runs at roughly 50 MB/s).
	MemoryPerGiB time.Duration
	// Retry is how often an offline agent is checked for again.
	Retry time.Duration
	// DeliveryTimeout is SendCommand's default TimeoutSeconds.
	DeliveryTimeout time.Duration
	// ExecutionTimeout is AWS-RunShellScript's default ssmExecutionTimeout.
	ExecutionTimeout time.Duration
}

// DefaultCommandTiming follows observed SSM behaviour: commands start within
// a couple of seconds and both timeouts default to one hour.
var DefaultCommandTiming = CommandTiming{
	Delivery: 1500 * time.Millisecond, Run: 2 * time.Second, MemoryPerGiB: 20 * time.Second,
	Retry: 30 * time.Second, DeliveryTimeout: time.Hour, ExecutionTimeout: time.Hour,
}

// ssmEndpointIP stands for the regional SSM/S3 endpoints the agent talks to:
// an egress rule must allow tcp/443 to it for the agent to be online.
var ssmEndpointIP = net.ParseIP("52.94.133.131")

// CommandSpec is one SendCommand target.
type CommandSpec struct {
	ID, Document, Instance     string
	Account, Region            string
	Params                     map[string][]string
	Comment                    string
	OutputBucket, OutputPrefix string
	DeliveryTimeout            time.Duration // 0: the default
	RequestedBy                string
	Timing                     *CommandTiming // nil: DefaultCommandTiming
}

// SSMReachable reports whether the instance's agent can reach SSM now,
// and if not, why.
func (s *State) SSMReachable(inst *world.Instance) (bool, string) {
	switch {
	case inst == nil:
		return false, "instance does not exist"
	case !inst.SSMAgent:
		return false, "the SSM agent is not installed or registered"
	case inst.State != world.StateRunning:
		return false, "instance is " + inst.State
	case !s.EgressAllows(inst, "tcp", 443, ssmEndpointIP):
		return false, "security groups do not allow outbound HTTPS to the SSM endpoints"
	}
	return true, ""
}

// EgressAllows evaluates the outbound rules of every security group on
// the instance's network interfaces: is a packet of proto to ip:port allowed?
// An instance modelled without ENIs is treated as having the default group's
// allow-all egress.
func (s *State) EgressAllows(inst *world.Instance, proto string, port int, ip net.IP) bool {
	var groups []string
	for _, id := range inst.ENIs {
		if eni := s.w.ENIs.Lookup(id); eni != nil {
			groups = append(groups, eni.Groups...)
		}
	}
	if len(inst.ENIs) == 0 {
		return true
	}
	for _, gid := range groups {
		sg := s.SecurityGroups.Lookup(gid)
		if sg == nil {
			continue
		}
		for _, r := range sg.Egress {
			if ssmRuleAllows(r, proto, port, ip) {
				return true
			}
		}
	}
	return false
}

func ssmRuleAllows(r Rule, proto string, port int, ip net.IP) bool {
	if r.Protocol != "-1" && r.Protocol != "all" && !strings.EqualFold(r.Protocol, proto) && r.Protocol != ProtocolNumber(proto) {
		return false
	}
	if r.Protocol != "-1" && r.Protocol != "all" && (port < r.FromPort || port > r.ToPort) {
		return false
	}
	for _, c := range r.CIDRs {
		if _, n, err := net.ParseCIDR(c); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// SendCommand queues a command on one instance and schedules its
// progress. The caller has validated the instance and document.
func (s *State) SendCommand(spec CommandSpec) *Command {
	tm := DefaultCommandTiming
	if spec.Timing != nil {
		tm = *spec.Timing
	}
	if spec.DeliveryTimeout <= 0 {
		spec.DeliveryTimeout = tm.DeliveryTimeout
	}
	now := s.w.Now()
	c := &Command{ID: spec.ID, Instance: spec.Instance, Document: spec.Document, Account: spec.Account,
		Region: spec.Region, Params: spec.Params, Comment: spec.Comment, RequestedAt: now,
		Status: CmdPending, StatusDetails: CmdPending, OutputBucket: spec.OutputBucket,
		OutputPrefix: strings.Trim(spec.OutputPrefix, "/"), ExitCode: -1, RequestedBy: spec.RequestedBy}
	s.Commands.Put(CommandKey(c.ID, c.Instance), c)
	deadline := now.Add(spec.DeliveryTimeout)
	var deliver func(at time.Time)
	deliver = func(at time.Time) {
		inst := s.w.Instances.Lookup(c.Instance)
		if inst == nil || inst.State == world.StateTerminated || inst.State == world.StateShuttingDown {
			s.finishCommand(c, at, CmdFailed, "Undeliverable", "the managed node is no longer available")
			return
		}
		if ok, _ := s.SSMReachable(inst); !ok {
			if !at.Before(deadline) {
				s.finishCommand(c, deadline, CmdTimedOut, "DeliveryTimedOut", "")
				return
			}
			next := at.Add(tm.Retry)
			if next.After(deadline) {
				next = deadline
			}
			s.w.ScheduleLocked(next, "ssm.deliver "+c.ID, deliver)
			return
		}
		c.Status, c.StatusDetails, c.StartedAt = CmdInProgress, CmdInProgress, at
		run := s.w.JitterLocked(world.PurposeDuration, tm.Run, 0.5)
		if ssmIsMemoryCapture(c) {
			gib := inst.MemoryGiB
			if gib <= 0 {
				gib = 1
			}
			run = s.w.JitterLocked(world.PurposeDuration, time.Duration(gib)*tm.MemoryPerGiB, 0.1)
		}
		execDeadline := at.Add(ssmExecutionTimeout(c, tm.ExecutionTimeout))
		s.scheduleCompletion(c, at.Add(run), execDeadline, tm.Retry)
	}
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, tm.Delivery, 0.5)), "ssm.deliver "+c.ID, deliver)
	return c
}

// scheduleCompletion finishes the command at done; if the instance stopped
// meanwhile the command fails, and if the agent lost its network path it
// cannot report or upload, so it keeps trying until the execution timeout.
func (s *State) scheduleCompletion(c *Command, done, execDeadline time.Time, retry time.Duration) {
	if done.After(execDeadline) {
		done = execDeadline
	}
	s.w.ScheduleLocked(done, "ssm.complete "+c.ID, func(at time.Time) {
		inst := s.w.Instances.Lookup(c.Instance)
		if inst == nil || inst.State != world.StateRunning {
			s.finishCommand(c, at, CmdFailed, "Failed", "the instance stopped before the command finished")
			return
		}
		if !at.Before(execDeadline) {
			s.finishCommand(c, execDeadline, CmdTimedOut, "ExecutionTimedOut", "")
			return
		}
		if ok, _ := s.SSMReachable(inst); !ok {
			s.scheduleCompletion(c, at.Add(retry), execDeadline, retry)
			return
		}
		s.execute(c, inst, at)
	})
}

func (s *State) finishCommand(c *Command, at time.Time, status, details, errMsg string) {
	c.Status, c.StatusDetails, c.CompleteAt, c.Error = status, details, at, errMsg
	if status == CmdTimedOut || details == "Undeliverable" {
		c.ExitCode = -1
	}
}

func ssmExecutionTimeout(c *Command, def time.Duration) time.Duration {
	if v := c.Params["ssmExecutionTimeout"]; len(v) > 0 {
		var secs int
		if _, err := fmt.Sscanf(v[0], "%d", &secs); err == nil && secs > 0 {
			return time.Duration(secs) * time.Second
		}
	}
	return def
}

func ssmIsMemoryCapture(c *Command) bool {
	for _, line := range c.Params["commands"] {
		l := strings.ToLower(line)
		if strings.Contains(l, "avml") || strings.Contains(l, "lime") || strings.Contains(l, "firedrill:capture-memory") {
			return true
		}
	}
	return false
}

// execute produces the command's output from the world at time at and
// uploads artifacts.
func (s *State) execute(c *Command, inst *world.Instance, at time.Time) {
	var out strings.Builder
	var errs []string
	exit := 0
	if ssmIsMemoryCapture(c) {
		if msg, err := s.captureMemory(c, inst, at); err != nil {
			errs = append(errs, err.Error())
			exit = 1
		} else {
			out.WriteString(msg)
		}
	} else {
		for _, script := range c.Params["commands"] {
			for _, line := range strings.Split(script, "\n") {
				out.WriteString(s.w.GuestShellLocked(inst, strings.TrimSpace(line), at))
			}
		}
	}
	c.Output = out.String()
	c.ExitCode = exit
	c.Error = strings.Join(errs, "\n")
	if c.OutputBucket != "" {
		base := ssmOutputPrefix(c) + "/awsrunShellScript/0.awsrunShellScript/"
		// Output upload failures do not fail the command, as with the agent.
		_ = s.w.PutObjectAtLocked(c.OutputBucket, base+"stdout", "text/plain", []byte(c.Output), at)
		if c.Error != "" {
			_ = s.w.PutObjectAtLocked(c.OutputBucket, base+"stderr", "text/plain", []byte(c.Error), at)
		}
	}
	if exit != 0 {
		s.finishCommand(c, at, CmdFailed, CmdFailed, c.Error)
		c.ExitCode = exit
		return
	}
	c.Status, c.StatusDetails, c.CompleteAt = CmdSuccess, CmdSuccess, at
}

func ssmOutputPrefix(c *Command) string {
	p := c.ID + "/" + c.Instance
	if c.OutputPrefix != "" {
		p = c.OutputPrefix + "/" + p
	}
	return p
}

// MemoryImageKey is where a memory capture lands in the output bucket.
func MemoryImageKey(c *Command) string { return ssmOutputPrefix(c) + "/memory.lime" }

func (s *State) captureMemory(c *Command, inst *world.Instance, at time.Time) (string, error) {
	if c.OutputBucket == "" {
		return "", fmt.Errorf("memory capture needs an output destination: set OutputS3BucketName")
	}
	gib := inst.MemoryGiB
	if gib <= 0 {
		gib = 1
	}
	key := MemoryImageKey(c)
	if err := s.w.PutObjectAtLocked(c.OutputBucket, key, "application/octet-stream", world.MemoryImage(inst, at, gib), at); err != nil {
		return "", fmt.Errorf("upload of s3://%s/%s failed: %w", c.OutputBucket, key, err)
	}
	return fmt.Sprintf("avml: captured %d GiB of physical memory from %s\nupload: s3://%s/%s complete\n",
		gib, inst.ID, c.OutputBucket, key), nil
}
