package awsworld

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// StartInstance starts a stopped instance: it is pending at once and
// running after a modelled boot time, as EC2 does. It returns the previous
// state. Starting a pending or running instance is a no-op; a terminated
// or shutting-down one cannot be started (IncorrectInstanceState), and
// neither can one still stopping.
func (s *State) StartInstance(instanceID string) (string, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return "", world.NotFound("instance", instanceID)
	}
	prev := inst.State
	switch inst.State {
	case world.StatePending, world.StateRunning:
		return prev, nil
	case world.StateStopped:
	default:
		return prev, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' is not in a state from which it can be started.", instanceID)}
	}
	now := s.w.Now()
	inst.State = world.StatePending
	inst.StateReason = ""
	s.bootLater(instanceID, now)
	return prev, nil
}

// UserData returns an instance's user data (the raw bytes, not base64),
// as RunInstances or ModifyInstanceAttribute set it.
func (s *State) UserData(instanceID string) string { return s.userData[instanceID] }

// SetUserData sets an instance's user data; EC2 allows it only while the
// instance is stopped (ModifyInstanceAttribute), launches set it directly.
func (s *State) SetUserData(instanceID, data string) {
	if s.userData == nil {
		s.userData = map[string]string{}
	}
	if data == "" {
		delete(s.userData, instanceID)
		return
	}
	s.userData[instanceID] = data
}

// ---- VPC flow logs -----------------------------------------------------------

// FlowLog publishes the flows of a VPC's (or a subnet's, or an interface's)
// network interfaces as flow-log records to an S3 bucket.
type FlowLog struct {
	ID, Account, Region string
	ResourceID          string // vpc-…, subnet-… or eni-…
	TrafficType         string // "ACCEPT", "REJECT", "ALL"
	DestinationType     string // "s3"
	Destination         string // arn:aws:s3:::bucket[/prefix]
	CreatedAt           time.Time
	Tags                world.Tags
	// delivered is the end of the last aggregation window written.
	delivered time.Time
}

// FlowLogWindow is the aggregation interval of flow-log records (EC2's
// default MaxAggregationInterval, 600 seconds); a window's log file is
// delivered FlowLogDelay after it closes.
const (
	FlowLogWindow = 10 * time.Minute
	FlowLogDelay  = 5 * time.Minute
)

// Bucket is the S3 bucket the flow log delivers to, and the key prefix.
func (f *FlowLog) Bucket() (bucket, prefix string) {
	rest := strings.TrimPrefix(f.Destination, "arn:aws:s3:::")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix
}

// AddFlowLog creates a flow log. Its id is drawn from the "aws/flow-logs"
// stream, so adding one to an environment leaves every other id as it was.
func (s *State) AddFlowLog(account, region, resourceID, trafficType, bucketARN string) *FlowLog {
	r := s.w.StreamLocked("aws/flow-logs")
	now := s.w.Now()
	fl := &FlowLog{ID: fmt.Sprintf("fl-%x%016x", r.Uint64()&0xf, r.Uint64()), Account: account, Region: region,
		ResourceID: resourceID, TrafficType: trafficType, DestinationType: "s3", Destination: bucketARN,
		CreatedAt: now, Tags: world.Tags{}, delivered: now.Truncate(FlowLogWindow)}
	s.FlowLogs.Put(fl.ID, fl)
	return fl
}

// FlowLogFile is one delivered log file: its key and records.
type FlowLogFile struct {
	Key       string
	Records   []string
	Delivered time.Time
}

// DueFlowLogFiles returns the log files of f whose windows closed and were
// delivered by now, and marks them written. Each record is the default
// (version 2) format: version account-id interface-id srcaddr dstaddr
// srcport dstport protocol packets bytes start end action log-status.
func (s *State) DueFlowLogFiles(f *FlowLog, now time.Time) []FlowLogFile {
	var out []FlowLogFile
	_, prefix := f.Bucket()
	for end := f.delivered.Add(FlowLogWindow); !end.Add(FlowLogDelay).After(now); end = end.Add(FlowLogWindow) {
		start := end.Add(-FlowLogWindow)
		f.delivered = end
		recs := s.flowRecords(f, start, end)
		if len(recs) == 0 {
			continue
		}
		stamp := end.UTC().Format("20060102T1504Z")
		key := fmt.Sprintf("%sAWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_%s_%s_%08x.log", prefix, f.Account, f.Region,
			end.UTC().Format("2006/01/02"), f.Account, f.Region, f.ID, stamp, hash32(f.ID+stamp))
		out = append(out, FlowLogFile{Key: key, Records: recs, Delivered: end.Add(FlowLogDelay)})
	}
	return out
}

// flowRecords renders the records of the flows on f's interfaces that were
// up during [start, end): one per direction, accepted (the simulator opens
// only the flows the network admits).
func (s *State) flowRecords(f *FlowLog, start, end time.Time) []string {
	if f.TrafficType == "REJECT" {
		return nil
	}
	var recs []string
	for _, fl := range s.w.Flows {
		if !fl.Started.Before(end) || (!fl.Ended.IsZero() && fl.Ended.Before(start)) {
			continue
		}
		eni := s.w.ENIs.Lookup(fl.ENI)
		if eni == nil || eni.Account != f.Account || (f.ResourceID != eni.VPC && f.ResourceID != eni.Subnet && f.ResourceID != eni.ID) {
			continue
		}
		from, to := start, end
		if fl.Started.After(from) {
			from = fl.Started
		}
		if !fl.Ended.IsZero() && fl.Ended.Before(to) {
			to = fl.Ended
		}
		h := hash32(fl.ID + from.String())
		pkts := 4 + int(h%400)
		bytes := pkts * (60 + int(h>>9)%1400)
		proto := ProtocolNumber(fl.Protocol)
		local, remote := eni.PrivateIP, fl.RemoteIP
		out := fmt.Sprintf("2 %s %s %s %s %d %d %s %d %d %d %d ACCEPT OK", f.Account, eni.ID, local, remote,
			fl.LocalPort, fl.RemotePort, proto, pkts, bytes, from.Unix(), to.Unix())
		in := fmt.Sprintf("2 %s %s %s %s %d %d %s %d %d %d %d ACCEPT OK", f.Account, eni.ID, remote, local,
			fl.RemotePort, fl.LocalPort, proto, pkts*3/4+1, bytes/2+40, from.Unix(), to.Unix())
		if fl.Direction == "ingress" {
			out, in = in, out
		}
		recs = append(recs, out, in)
	}
	sort.Strings(recs)
	return recs
}

// hash32 is a stable 32-bit digest for values that must be deterministic
// without drawing from any random stream (traffic volumes, file suffixes).
func hash32(s string) uint32 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint32(sum[:4])
}
