package gcpsim

import (
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// selfLinkBase prefixes every Compute selfLink, zone, network and source
// URL, as the real API answers them.
const selfLinkBase = "https://www.googleapis.com/compute/v1/"

func link(key string) string { return selfLinkBase + key }

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-07:00") }

// gceOp is a stored Compute operation.
type gceOp struct {
	done      *computepb.Operation // the terminal state
	doneAt    time.Time            // the operation is RUNNING before this
	pollsLeft int                  // slow mode: polls still answered RUNNING
}

type opTable struct{ ops map[string]*gceOp }

func (s *Server) opsLocked() *opTable {
	return s.World.ExtLocked("gcpsim.operations", func() any { return &opTable{ops: map[string]*gceOp{}} }).(*opTable)
}

// newOp records an operation on target and returns the RUNNING view the
// mutating call answers with. scope is "zones/<z>", "regions/<r>" or
// "global". fail, when set, makes the operation end DONE with an error and
// httpErrorStatusCode, which op.Wait turns into an API error. The operation
// is DONE at doneAt (zero: at once, so the first poll sees DONE).
func (c *call) newOp(opType, scope, targetKey string, targetID uint64, fail *gcpworld.Error, doneAt time.Time) *computepb.Operation {
	rng := c.w.IDRandLocked()
	name := fmt.Sprintf("operation-%d-%013x-%08x-%08x", c.now.UnixMilli(), rng.Uint64()&0xfffffffffffff, rng.Uint32(), rng.Uint32())
	key := fmt.Sprintf("projects/%s/%s/operations/%s", c.project, scope, name)
	if doneAt.IsZero() || doneAt.Before(c.now) {
		doneAt = c.now
	}
	op := &computepb.Operation{
		Kind: proto.String("compute#operation"), Id: proto.Uint64(gcpworld.Of(c.w).NumericID()), Name: proto.String(name),
		OperationType: proto.String(opType), TargetLink: proto.String(link(targetKey)),
		User: proto.String(c.caller.Email), Progress: proto.Int32(100),
		InsertTime: proto.String(ts(c.now)), StartTime: proto.String(ts(c.now)), EndTime: proto.String(ts(doneAt)),
		SelfLink: proto.String(link(key)), Status: computepb.Operation_DONE.Enum(),
	}
	if targetID != 0 {
		op.TargetId = proto.Uint64(targetID)
	}
	switch {
	case strings.HasPrefix(scope, "zones/"):
		op.Zone = proto.String(link(fmt.Sprintf("projects/%s/%s", c.project, scope)))
	case strings.HasPrefix(scope, "regions/"):
		op.Region = proto.String(link(fmt.Sprintf("projects/%s/%s", c.project, scope)))
	}
	if fail != nil {
		code := strings.ToUpper(fail.Reason)
		op.Error = &computepb.Error{Errors: []*computepb.Errors{{Code: proto.String(code), Message: proto.String(fail.Msg)}}}
		op.HttpErrorStatusCode = proto.Int32(int32(fail.Status))
		op.HttpErrorMessage = proto.String(strings.ToUpper(httpText(fail.Status)))
	}
	c.s.opsLocked().ops[key] = &gceOp{done: op, doneAt: doneAt, pollsLeft: c.s.SlowOperations}
	return runningView(op)
}

func runningView(op *computepb.Operation) *computepb.Operation {
	r := proto.Clone(op).(*computepb.Operation)
	r.Status = computepb.Operation_RUNNING.Enum()
	r.Progress = proto.Int32(0)
	r.EndTime = nil
	r.Error = nil
	r.HttpErrorStatusCode = nil
	r.HttpErrorMessage = nil
	return r
}

func httpText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 409:
		return "Conflict"
	case 412:
		return "Precondition Failed"
	}
	return "Internal Server Error"
}

// getOperation answers zonal, regional and global operation polls. Polls
// are not audited (Cloud Audit Logs do not record them either).
func getOperation(scopeKind string) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		c.noAudit = true
		scope := "global"
		if scopeKind != "global" {
			scope = scopeKind + "/" + c.vars[strings.TrimSuffix(scopeKind, "s")]
		}
		key := fmt.Sprintf("projects/%s/%s/operations/%s", c.project, scope, c.vars["operation"])
		op := c.s.opsLocked().ops[key]
		if op == nil {
			return nil, notFoundErr("compute", key)
		}
		if op.pollsLeft > 0 {
			op.pollsLeft--
			r := runningView(op.done)
			r.Progress = proto.Int32(50)
			return r, nil
		}
		if c.now.Before(op.doneAt) {
			r := runningView(op.done)
			total := op.doneAt.Sub(parseTS(op.done.GetStartTime()))
			if total > 0 {
				r.Progress = proto.Int32(int32(99 * float64(c.now.Sub(parseTS(op.done.GetStartTime()))) / float64(total)))
			}
			return r, nil
		}
		return op.done, nil
	}
}

func parseTS(s string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05.000-07:00", s)
	return t
}
