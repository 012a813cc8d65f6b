package awssim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Log delivery to S3: CloudTrail trails and VPC flow logs write their log
// files into a bucket some minutes after the events. The files are written
// when the bucket is next read (before the S3 call that reads it is
// served), each with the time it was delivered, so what a reader sees is
// what the service would have delivered by then; nothing is drawn from a
// random stream, so delivery never shifts another id.

// deliverLogsLocked writes the trail and flow-log files due in bucket b.
func deliverLogsLocked(w *world.World, b *world.Bucket, now time.Time) {
	st := awsworld.Of(w)
	for _, name := range st.Trails.Keys() {
		t := st.Trails.Lookup(name)
		if t.S3Bucket != b.Name {
			continue
		}
		evs := st.DueTrailEvents(t, now)
		if len(evs) == 0 {
			continue
		}
		// One file per region and delivery minute, as CloudTrail batches.
		type batch struct {
			region, first string // first: the first event's id, naming the file
			at            time.Time
			recs          []ctRecord
		}
		var batches []*batch
		for _, ev := range evs {
			if ev.Service == "s3.amazonaws.com" && s3DataEvents[ev.Operation] {
				continue // a trail logs management events unless given data event selectors
			}
			at := ev.DeliverAt.Truncate(time.Minute)
			if n := len(batches); n == 0 || batches[n-1].region != ev.Region || !batches[n-1].at.Equal(at) {
				batches = append(batches, &batch{region: ev.Region, first: ev.ID, at: at})
			}
			bt := batches[len(batches)-1]
			bt.recs = append(bt.recs, cloudTrailRecord(w, ev))
		}
		for _, bt := range batches {
			body, err := json.Marshal(map[string]any{"Records": bt.recs})
			if err != nil {
				continue // unreachable: records hold strings, bools and maps of strings
			}
			stamp := bt.at.UTC().Format("20060102T1504Z")
			prefix := t.S3KeyPrefix
			if prefix != "" && !strings.HasSuffix(prefix, "/") {
				prefix += "/"
			}
			key := fmt.Sprintf("%sAWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", prefix, t.Account, bt.region,
				bt.at.UTC().Format("2006/01/02"), t.Account, bt.region, stamp, logFileSuffix(t.ARN+bt.first))
			putLogFileLocked(b, key, body, bt.at)
		}
	}
	for _, id := range st.FlowLogs.Keys() {
		f := st.FlowLogs.Lookup(id)
		if bucket, _ := f.Bucket(); bucket != b.Name {
			continue
		}
		for _, file := range st.DueFlowLogFiles(f, now) {
			body := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
				strings.Join(file.Records, "\n") + "\n"
			putLogFileLocked(b, file.Key+".gz", []byte(body), file.Delivered)
		}
	}
}

// logFileSuffix is the random-looking tail of a log file's name, derived
// from what the file is.
func logFileSuffix(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(sum[:12]), "-_")
}

// putLogFileLocked stores a gzipped log file as a new object version.
func putLogFileLocked(b *world.Bucket, key string, data []byte, at time.Time) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	gz := buf.Bytes()
	v := &world.ObjectVersion{Key: key, VersionID: world.NullVersion, ETag: world.ETagOf(gz),
		ContentType: "application/x-gzip", Data: gz, LastModified: at}
	if b.Versioning == "Enabled" {
		sum := sha256.Sum256([]byte(b.Name + "/" + key))
		v.VersionID = base64.RawURLEncoding.EncodeToString(sum[:24])
	}
	if b.Objects == nil {
		b.Objects = map[string][]*world.ObjectVersion{}
	}
	b.Objects[key] = append(b.Objects[key], v)
}
