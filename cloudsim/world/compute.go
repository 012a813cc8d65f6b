package world

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// ComputeErrorKind classifies a compute or network failure so that each
// wire front end can answer with its own cloud's error code.
type ComputeErrorKind string

// Compute error kinds.
const (
	KindNotFound           ComputeErrorKind = "NotFound"
	KindIncorrectState     ComputeErrorKind = "IncorrectState"
	KindNotPermitted       ComputeErrorKind = "NotPermitted" // termination/stop protection
	KindDuplicate          ComputeErrorKind = "Duplicate"
	KindMultipleInterfaces ComputeErrorKind = "MultipleInterfaces"
	KindInvalid            ComputeErrorKind = "Invalid"
	KindBlocked            ComputeErrorKind = "Blocked" // a flow the security groups do not permit
)

// ComputeError is a failed compute, storage or network operation.
type ComputeError struct {
	Kind     ComputeErrorKind
	Resource string // "instance", "volume", "snapshot", "security-group", …
	ID       string
	Msg      string
}

func (e *ComputeError) Error() string { return e.Msg }

// ComputeErrorOf returns the *ComputeError inside err, if any.
func ComputeErrorOf(err error) (*ComputeError, bool) {
	var ce *ComputeError
	ok := errors.As(err, &ce)
	return ce, ok
}

// Modelled durations the clouds share.
const (
	// SnapshotBase and SnapshotPerGiB model how long a block snapshot takes
	// to complete: about 2 min plus 10 s per GiB (jittered per use).
	SnapshotBase   = 2 * time.Minute
	SnapshotPerGiB = 10 * time.Second
	// TerminatedVisibility is how long a terminated instance stays visible
	// to Describe calls, as in EC2.
	TerminatedVisibility = time.Hour
)

// NotFound is the failure of an operation on a resource that does not exist.
func NotFound(resource, id string) *ComputeError {
	return &ComputeError{Kind: KindNotFound, Resource: resource, ID: id,
		Msg: fmt.Sprintf("The %s '%s' does not exist", resource, id)}
}

// RootVolume returns the instance's boot volume ID ("" if none).
func (i *Instance) RootVolume() string {
	if len(i.BlockDevices) == 0 {
		return ""
	}
	return i.BlockDevices[0].VolumeID
}

// Visible reports whether Describe calls still list the instance: a
// terminated instance disappears an hour after termination.
func (i *Instance) Visible(now time.Time) bool {
	return i.State != StateTerminated || now.Sub(i.TerminatedAt) < TerminatedVisibility
}

// InstancesOfLocked returns the instances of an account and region by launch
// time, then ID, so listings are deterministic.
func (w *World) InstancesOfLocked(account, region string) []*Instance {
	var out []*Instance
	for _, i := range w.Instances.All() {
		if i.Account == account && (region == "" || i.Region == region) {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].LaunchTime.Before(out[b].LaunchTime) })
	return out
}
