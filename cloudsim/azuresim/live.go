package azuresim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// What a live scenario pushes and exports from Azure: a Defender for Cloud
// alert as an Event Grid event (Event Grid schema: a JSON array), the
// Activity Log as {"records":[...]} files, as an Event Hub or storage
// export of the subscription's activity delivers them.
func init() {
	simcloud.Extend(CloudAzure, func(d *simcloud.Driver) {
		d.Live = &simcloud.Live{Push: defenderEvent, AuditFile: activityLogFile, AuditExt: ".json"}
	})
}

// defenderEvent is the Event Grid event of a Defender for Cloud alert; data
// is the alert as the alerts API returns it.
func defenderEvent(w *world.World, f *world.Finding, at time.Time) (simcloud.Push, bool, error) {
	sub, ok := strings.CutPrefix(f.Detector, azureworld.DefenderDetector(""))
	if !ok || sub == "" {
		return simcloud.Push{}, false, nil
	}
	alert := alertJSON(f, sub)
	ev := []map[string]any{{
		"id": f.ID, "topic": "/subscriptions/" + sub, "subject": alert["id"],
		"eventType": "Microsoft.Security.SecurityAlert", "eventTime": timeStr(at),
		"data": alert, "dataVersion": "1", "metadataVersion": "1",
	}}
	body, err := json.Marshal(ev)
	if err != nil {
		return simcloud.Push{}, false, fmt.Errorf("encoding the Event Grid event of alert %s: %w", f.ID, err)
	}
	return simcloud.Push{Kind: "eventgrid", ContentType: "application/json", Body: body,
		Headers: map[string]string{"aeg-event-type": "Notification"}}, true, nil
}

// activityLogFile is one Activity Log export file: {"records":[...]},
// each record as the Activity Log API returns it.
func activityLogFile(w *world.World, records []*world.AuditEvent) ([]byte, error) {
	s := &Server{World: w}
	out := make([]map[string]any, 0, len(records))
	for _, ev := range records {
		out = append(out, s.activityEventJSON(ev))
	}
	data, err := json.Marshal(map[string]any{"records": out})
	if err != nil {
		return nil, fmt.Errorf("encoding Activity Log records: %w", err)
	}
	return data, nil
}
