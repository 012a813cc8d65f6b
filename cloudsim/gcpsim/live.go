package gcpsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// What a live scenario pushes and exports from GCP: a Security Command
// Center finding as the Pub/Sub push message of an SCC notification config,
// audit logs as LogEntry JSON lines, as a logging sink to Cloud Storage
// writes them.
func init() {
	simcloud.Extend(CloudGCP, func(d *simcloud.Driver) {
		d.Live = &simcloud.Live{Push: sccPush, AuditFile: logEntryLines, AuditExt: ".jsonl"}
	})
}

// Names of the notification config and the push subscription a live
// scenario delivers SCC findings through.
const (
	liveNotificationConfig = "firedrill-findings"
	liveSubscription       = "firedrill-findings-push"
)

// sccPush is the Pub/Sub push request of an SCC notification: data is the
// NotificationMessage JSON (notificationConfigName, finding, resource),
// base64-encoded.
func sccPush(w *world.World, f *world.Finding, at time.Time) (simcloud.Push, bool, error) {
	svc, ok := strings.CutPrefix(f.Detector, SCCDetectorPrefix)
	p := gcpworld.Of(w).Projects.Lookup(f.Account)
	if !ok || p == nil {
		return simcloud.Push{}, false, nil
	}
	res := findingResult(p, SourceID(p, svc), f, nil) // as created: nobody has muted it yet
	enc := protojson.MarshalOptions{}
	finding, err := enc.Marshal(res.Finding)
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding SCC finding %s: %w", f.ID, err)
	}
	resource, err := enc.Marshal(res.Resource)
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding the resource of SCC finding %s: %w", f.ID, err)
	}
	msg, err := json.Marshal(map[string]any{
		"notificationConfigName": fmt.Sprintf("projects/%s/locations/global/notificationConfigs/%s", p.ID, liveNotificationConfig),
		"finding":                json.RawMessage(finding), "resource": json.RawMessage(resource)})
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding the SCC notification of finding %s: %w", f.ID, err)
	}
	id := fmt.Sprint(fnvID(f.ID) % 1e16)
	body, err := json.Marshal(map[string]any{
		"message": map[string]any{"data": base64.StdEncoding.EncodeToString(msg), "messageId": id, "message_id": id,
			"publishTime": at.UTC().Format(time.RFC3339Nano), "publish_time": at.UTC().Format(time.RFC3339Nano),
			"attributes": map[string]string{"notificationConfigName": liveNotificationConfig}},
		"subscription": fmt.Sprintf("projects/%s/subscriptions/%s", p.ID, liveSubscription)})
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding the Pub/Sub push of finding %s: %w", f.ID, err)
	}
	return simcloud.Push{Kind: "pubsub", ContentType: "application/json", Body: body}, true, nil
}

func fnvID(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// logEntryLines writes audit records as LogEntry JSON, one per line.
func logEntryLines(_ *world.World, records []*world.AuditEvent) ([]byte, error) {
	var buf bytes.Buffer
	for _, ev := range records {
		b, err := protojson.Marshal(logEntry(ev))
		if err != nil {
			return nil, fmt.Errorf("encoding log entry %s: %w", ev.ID, err)
		}
		// protojson varies its whitespace; a line must be one object.
		if err := json.Compact(&buf, b); err != nil {
			return nil, fmt.Errorf("compacting log entry %s: %w", ev.ID, err)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}
