package awssim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// What a live scenario pushes and exports from AWS: a GuardDuty finding as
// the EventBridge event GuardDuty emits, CloudTrail records as the
// {"Records":[...]} files a trail delivers to S3.
func init() {
	simcloud.Extend(CloudAWS, func(d *simcloud.Driver) {
		d.Live = &simcloud.Live{Push: guardDutyEvent, AuditFile: cloudTrailFile, AuditExt: ".json"}
	})
}

// guardDutyEvent is the EventBridge event of a GuardDuty finding: source
// aws.guardduty, detail-type "GuardDuty Finding", detail the finding as
// GetFindings returns it.
func guardDutyEvent(w *world.World, f *world.Finding, at time.Time) (simcloud.Push, bool, error) {
	det := awsworld.Of(w).Detectors.Lookup(f.Detector)
	if det == nil {
		return simcloud.Push{}, false, nil
	}
	detail := gdRender(w, det, f)
	ev := map[string]any{
		"version": "0", "id": eventID(f.ID, at), "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
		"account": f.Account, "time": at.UTC().Format(time.RFC3339), "region": f.Region, "resources": []string{},
		"detail": detail,
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding the EventBridge event of finding %s: %w", f.ID, err)
	}
	return simcloud.Push{Kind: "eventbridge", ContentType: "application/json", Body: body}, true, nil
}

// eventID is a stable UUID-shaped id for the event of a finding delivery.
func eventID(findingID string, at time.Time) string {
	h := fmt.Sprintf("%016x%016x", fnv64(findingID), uint64(at.UnixNano()))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// cloudTrailFile is one CloudTrail log file: {"Records":[...]} of the
// records a trail delivers (none while every trail is stopped: an attacker's
// StopLogging blinds the SIEM as it would in AWS), or nil when there are none.
func cloudTrailFile(w *world.World, records []*world.AuditEvent) ([]byte, error) {
	st := awsworld.Of(w)
	out := make([]ctRecord, 0, len(records))
	for _, ev := range records {
		if st.Trailed(ev) {
			out = append(out, cloudTrailRecord(w, ev))
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(map[string]any{"Records": out})
	if err != nil {
		return nil, fmt.Errorf("encoding CloudTrail records: %w", err)
	}
	return data, nil
}
