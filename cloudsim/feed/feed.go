// Package feed delivers what a served simulated cloud produces to outside
// tooling: findings pushed to webhooks in each cloud's own envelope
// (EventBridge events, Event Grid events, Pub/Sub push messages) and audit
// logs exported continuously as files a SIEM can tail.
package feed

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Webhooks posts each pushed finding to every URL, in order, from one
// goroutine, retrying a failed delivery a few times as the clouds' push
// services do.
type Webhooks struct {
	URLs   []string
	Client *http.Client
	Logger *slog.Logger
	// Retries is how many times a failed delivery is tried again (default
	// 3), Backoff the wait before the first retry (doubling; default 1 s).
	Retries int
	Backoff time.Duration

	queue     chan delivery
	start     sync.Once
	done      chan struct{}
	mu        sync.Mutex
	delivered int
	closed    bool
}

type delivery struct {
	cloud string
	push  simcloud.Push
}

// Push queues a finding's delivery; it never blocks (a full queue drops
// the delivery with a warning).
func (h *Webhooks) Push(cloud string, p simcloud.Push) {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	select {
	case h.queue <- delivery{cloud, p}:
	default:
		h.Logger.Warn("webhook queue full: finding not delivered", "cloud", cloud, "envelope", p.Kind)
	}
}

// Delivered is how many deliveries succeeded (2xx) so far.
func (h *Webhooks) Delivered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.delivered
}

func (h *Webhooks) init() {
	h.start.Do(func() {
		h.queue, h.done = make(chan delivery, 1024), make(chan struct{})
		if h.Client == nil {
			h.Client = &http.Client{Timeout: 10 * time.Second}
		}
		if h.Logger == nil {
			h.Logger = slog.New(slog.DiscardHandler)
		}
		if h.Retries == 0 {
			h.Retries = 3
		}
		if h.Backoff == 0 {
			h.Backoff = time.Second
		}
		go h.run()
	})
}

func (h *Webhooks) run() {
	defer close(h.done)
	for d := range h.queue {
		for _, url := range h.URLs {
			h.deliver(url, d)
		}
	}
}

// Close delivers what is queued, waiting at most until ctx is done.
func (h *Webhooks) Close(ctx context.Context) {
	h.init()
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.queue)
	}
	h.mu.Unlock()
	select {
	case <-h.done:
	case <-ctx.Done():
	}
}

func (h *Webhooks) deliver(url string, d delivery) {
	wait := h.Backoff
	for try := 0; ; try++ {
		err := h.post(url, d.push)
		if err == nil {
			h.mu.Lock()
			h.delivered++
			h.mu.Unlock()
			h.Logger.Info("finding pushed", "cloud", d.cloud, "envelope", d.push.Kind, "url", url)
			return
		}
		if try >= h.Retries {
			h.Logger.Warn("finding not delivered", "cloud", d.cloud, "envelope", d.push.Kind, "url", url, "err", err)
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
}

func (h *Webhooks) post(url string, p simcloud.Push) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(p.Body))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", p.ContentType)
	req.Header.Set("User-Agent", "firedrill-sim/"+p.Kind)
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// AuditExporter writes every audit record, once it is delivered (visible
// to log queries), to a new file under Dir/<cloud>/ in the cloud's export
// format: CloudTrail {"Records":[...]} files, Azure Activity Log
// {"records":[...]} files, GCP LogEntry JSON lines. Files are written
// whole (a temporary name, then renamed), so a tailer never reads half a
// file.
type AuditExporter struct {
	Dir    string
	World  *world.World
	Now    func() time.Time
	Logger *slog.Logger

	exported map[string]bool
	files    int
}

// Run exports every interval of wall time until ctx is done, then once
// more.
func (x *AuditExporter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := x.Export(); err != nil {
				x.Logger.Warn("exporting audit logs", "err", err)
			}
			return
		case <-t.C:
			if err := x.Export(); err != nil {
				x.Logger.Warn("exporting audit logs", "err", err)
			}
		}
	}
}

// Export writes the records delivered since the last export, one file per
// cloud that has new ones.
func (x *AuditExporter) Export() error {
	if x.exported == nil {
		x.exported = map[string]bool{}
	}
	now := x.Now()
	x.World.Lock()
	byCloud := map[string][]*world.AuditEvent{}
	for _, a := range x.World.Audit {
		if x.exported[a.ID] || a.DeliverAt.After(now) {
			continue
		}
		cloud := simcloud.AuditCloud(a)
		if d, ok := simcloud.Get(cloud); !ok || d.Live == nil || d.Live.AuditFile == nil {
			continue
		}
		x.exported[a.ID] = true
		byCloud[cloud] = append(byCloud[cloud], a)
	}
	files := map[string][]byte{}
	for _, cloud := range world.SortedKeys(byCloud) {
		d, _ := simcloud.Get(cloud)
		data, err := d.Live.AuditFile(x.World, byCloud[cloud])
		if err != nil {
			x.World.Unlock()
			return fmt.Errorf("rendering %s audit records: %w", cloud, err)
		}
		if data == nil {
			continue // nothing the cloud delivers (e.g. every trail stopped)
		}
		x.files++
		name := fmt.Sprintf("%s_%06d_%s%s", cloud, x.files, now.UTC().Format("20060102T150405Z"), d.Live.AuditExt)
		files[filepath.Join(x.Dir, cloud, name)] = data
	}
	x.World.Unlock()
	for _, path := range world.SortedKeys(files) {
		if err := writeWhole(path, files[path]); err != nil {
			return err
		}
		x.Logger.Debug("audit records exported", "file", path)
	}
	return nil
}

// writeWhole writes data under a temporary name and renames it into place.
func writeWhole(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s into place: %w", path, err)
	}
	return nil
}
