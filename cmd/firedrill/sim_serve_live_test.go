package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
)

// webhookSink records what sim serve pushes.
type webhookSink struct {
	mu     sync.Mutex
	bodies [][]byte
	at     []time.Time // when each body arrived, on the wall clock
	first  chan []byte
}

func newWebhookSink(t *testing.T) (*webhookSink, string) {
	s := &webhookSink{first: make(chan []byte, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.at = append(s.at, time.Now())
		if len(s.bodies) == 1 {
			s.first <- b
		}
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *webhookSink) all() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// liveRun is one 'sim serve --scenario' running in-process.
type liveRun struct {
	vars map[string]string
	logs *syncBuffer
	done chan struct{}
	err  error
	// stop is what SIGINT or SIGTERM does to the server.
	stop      context.CancelFunc
	card      string
	auditDir  string
	stateDir  string
	hooks     *webhookSink
	startedAt time.Time
}

// startLive starts a scenario live on free ports with a webhook sink, an
// audit directory and a scorecard file.
func startLive(t *testing.T, scenario string, speed float64) *liveRun {
	t.Helper()
	dir := t.TempDir()
	hooks, url := newWebhookSink(t)
	r := &liveRun{logs: &syncBuffer{}, done: make(chan struct{}), card: filepath.Join(dir, "card.json"),
		auditDir: filepath.Join(dir, "audit"), hooks: hooks, startedAt: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel() // ends the scenario early; the server stops cleanly
		select {
		case <-r.done:
		case <-time.After(2 * time.Minute):
			t.Error("sim serve did not stop within 2 minutes of its context's end")
		}
	})
	r.stop = cancel
	out := &syncBuffer{}
	ready := make(chan struct{})
	go func() {
		defer close(r.done)
		r.err = runSimServe(ctx, &simServeOptions{Scenario: scenario, Speed: speed, Addr: "127.0.0.1:0", Seed: 1,
			LogLevel: "warn", Webhooks: []string{url}, AuditDir: r.auditDir, Scorecard: r.card, Out: out, ErrOut: r.logs,
			ready: func(map[string]string) { close(ready) }})
	}()
	select {
	case <-ready:
	case <-r.done:
		t.Fatalf("sim serve exited early: %v\n%s", r.err, r.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("sim serve did not start within 60s")
	}
	r.vars = map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			r.vars[k] = v
		}
	}
	r.stateDir = filepath.Dir(r.vars["GOOGLE_APPLICATION_CREDENTIALS"])
	return r
}

// wait waits for the scenario to end and returns the scorecard written and
// the server's error.
func (r *liveRun) wait(t *testing.T) (*scoring.Scorecard, error) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the live scenario did not end within 5 minutes")
	}
	t.Logf("live scenario took %s of wall time", time.Since(r.startedAt).Round(time.Millisecond))
	data, rerr := os.ReadFile(r.card)
	require.NoError(t, rerr, "--scorecard must be written when the scenario ends; logs:\n%s", r.logs.String())
	card := &scoring.Scorecard{}
	require.NoError(t, json.Unmarshal(data, card))
	return card, r.err
}

// requireFails checks the server exited with the failing status and the
// scorecard carries the reason codes.
func requireFails(t *testing.T, card *scoring.Scorecard, err error, codes ...string) {
	t.Helper()
	var ee *exitError
	require.True(t, errors.As(err, &ee), "a failed scenario exits non-zero; got %v", err)
	require.Equal(t, exitDrillFails, ee.code)
	require.False(t, card.Pass)
	for _, c := range codes {
		require.Contains(t, card.ReasonCodes, c)
	}
}

func requirePython(t *testing.T) string {
	t.Helper()
	// CI installs python3-boto3 (.ci/run) and sets CI, which makes the
	// example's tests mandatory there.
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (apt-get install python3-boto3)", what)
		}
		t.Skip(what + " is not installed: the example responder cannot run")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("python3")
	}
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		missing("boto3")
	}
	return py
}

// exampleResponder is examples/aws_responder.py started before the
// scenario, with boto3 imported, waiting for the printed environment on
// stdin: at --speed 600 a second of Python start-up is ten minutes of
// incident.
type exampleResponder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

const exampleLauncher = `import json, os, runpy, sys
import boto3
os.environ.update(json.loads(sys.stdin.readline()))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
`

func startExample(t *testing.T, args ...string) *exampleResponder {
	t.Helper()
	py := requirePython(t)
	script := filepath.Join("..", "..", "examples", "aws_responder.py")
	e := &exampleResponder{out: &syncBuffer{}}
	e.cmd = exec.Command(py, append([]string{"-c", exampleLauncher, script}, args...)...)
	e.cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	var err error
	e.stdin, err = e.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, e.cmd.Start())
	t.Cleanup(func() { _ = e.cmd.Process.Kill() })
	return e
}

// run hands the responder the environment and waits for it.
func (e *exampleResponder) run(t *testing.T, r *liveRun) {
	t.Helper()
	env, err := json.Marshal(r.vars)
	require.NoError(t, err)
	_, err = e.stdin.Write(append(env, '\n'))
	require.NoError(t, err)
	err = e.cmd.Wait()
	t.Logf("responder:\n%s", e.out.String())
	require.NoError(t, err)
}

// The whole loop on AWS: the attack plays, GuardDuty's finding arrives as an
// EventBridge event, the example boto3 responder contains and eradicates,
// the attacker's own probes verify it, and CloudTrail files are exported.
func TestSimServeLiveAWSExampleResponderPasses(t *testing.T) {
	resp := startExample(t, "--hunt", "20")
	time.Sleep(2 * time.Second) // let Python import boto3
	r := startLive(t, "aws-ec2-cryptomining", 600)
	resp.run(t, r)
	card, err := r.wait(t)
	require.True(t, card.Containment.Verified, "contained: %v", card.ReasonCodes)
	require.True(t, card.Eradication.Verified, "eradicated: %v", card.ReasonCodes)
	require.NoError(t, err, "the example responder passes the scenario: %v", card.ReasonCodes)
	require.NotNil(t, card.Metrics.MTTASeconds, "acknowledged by its first call after the finding")
	require.NotEmpty(t, card.Evidence, "its tagged snapshots count as evidence")

	var ev struct {
		Source     string         `json:"source"`
		DetailType string         `json:"detail-type"`
		Detail     map[string]any `json:"detail"`
	}
	pushes := r.hooks.all()
	require.NotEmpty(t, pushes, "the GuardDuty finding is pushed to --webhook")
	require.NoError(t, json.Unmarshal(pushes[0], &ev))
	require.Equal(t, "aws.guardduty", ev.Source)
	require.Equal(t, "GuardDuty Finding", ev.DetailType)
	require.NotEmpty(t, ev.Detail["type"])

	files, err := filepath.Glob(filepath.Join(r.auditDir, "aws", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "CloudTrail files are exported to --audit-dir")
	var trail struct{ Records []map[string]any }
	data, err := os.ReadFile(files[len(files)-1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &trail))
	require.NotEmpty(t, trail.Records)
}

func TestSimServeLiveAWSNaiveResponderFails(t *testing.T) {
	resp := startExample(t, "--naive")
	time.Sleep(2 * time.Second) // let Python import boto3
	r := startLive(t, "aws-ec2-cryptomining", 600)
	resp.run(t, r)
	card, err := r.wait(t)
	requireFails(t, card, err, "path_open:stolen_credential", "path_open:planted_credential", "artifact_present:vm")
}

// findingResource reads the compromised resource out of a pushed
// finding's envelope: a Defender alert's Event Grid event, an SCC
// finding's Pub/Sub push message.
func findingResource(t *testing.T, cloud string, body []byte) string {
	t.Helper()
	switch cloud {
	case "aws":
		var ev struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
			Detail     struct {
				Type     string `json:"type"`
				Resource struct {
					InstanceDetails struct {
						InstanceID string `json:"instanceId"`
					} `json:"instanceDetails"`
				} `json:"resource"`
			} `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(body, &ev), "an EventBridge event: %s", body)
		require.Equal(t, "aws.guardduty", ev.Source)
		require.Equal(t, "GuardDuty Finding", ev.DetailType)
		require.NotEmpty(t, ev.Detail.Type)
		return ev.Detail.Resource.InstanceDetails.InstanceID
	case "azure":
		var evs []struct {
			EventType string `json:"eventType"`
			Data      struct {
				Properties struct {
					ResourceIdentifiers []struct {
						AzureResourceID string `json:"azureResourceId"`
					} `json:"resourceIdentifiers"`
				} `json:"properties"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &evs), "an Event Grid schema array: %s", body)
		require.Len(t, evs, 1)
		require.Equal(t, "Microsoft.Security.SecurityAlert", evs[0].EventType)
		require.NotEmpty(t, evs[0].Data.Properties.ResourceIdentifiers)
		return evs[0].Data.Properties.ResourceIdentifiers[0].AzureResourceID
	case "gcp":
		var push struct {
			Message struct {
				Data      []byte `json:"data"`
				MessageID string `json:"messageId"`
			} `json:"message"`
			Subscription string `json:"subscription"`
		}
		require.NoError(t, json.Unmarshal(body, &push), "a Pub/Sub push message: %s", body)
		require.NotEmpty(t, push.Message.MessageID)
		require.Contains(t, push.Subscription, "/subscriptions/")
		var msg struct {
			Finding struct {
				ResourceName string `json:"resourceName"`
				Category     string `json:"category"`
			} `json:"finding"`
		}
		require.NoError(t, json.Unmarshal(push.Message.Data, &msg), "data is an SCC NotificationMessage: %s", push.Message.Data)
		require.NotEmpty(t, msg.Finding.Category)
		return strings.TrimPrefix(msg.Finding.ResourceName, "//compute.googleapis.com/")
	}
	t.Fatalf("no envelope for %s", cloud)
	return ""
}

func TestSimServeLiveNobodyRespondingFails(t *testing.T) {
	for _, tc := range []struct {
		cloud, scenario string
		codes           []string
	}{
		{"aws", "aws-ec2-cryptomining", []string{"containment_not_declared", "path_open:stolen_credential"}},
		{"azure", "azure-vm-cryptomining", []string{"containment_not_declared", "path_open:stolen_credential"}},
		{"gcp", "gcp-vm-cryptomining", []string{"containment_not_declared", "path_open:backdoor_rule"}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			r := startLive(t, tc.scenario, 3600)
			select {
			case first := <-r.hooks.first:
				require.NotEmpty(t, findingResource(t, tc.cloud, first), "the pushed finding names the compromised VM")
			case <-time.After(time.Minute):
				t.Fatal("no finding pushed within a minute")
			}
			card, err := r.wait(t)
			requireFails(t, card, err, tc.codes...)
			require.NotNil(t, card.Metrics.MTTDSeconds, "detected from the findings the clouds raised")
			require.Nil(t, card.Metrics.MTTASeconds, "nobody acknowledged")
			requireAuditExported(t, r, tc.cloud)
		})
	}
}

// Stopped early (SIGINT, SIGTERM), the server still checks containment,
// writes the scorecard and removes the temporary directory it made.
func TestSimServeLiveStopsCleanly(t *testing.T) {
	r := startLive(t, "gcp-vm-cryptomining", 60)
	key := r.vars["GOOGLE_APPLICATION_CREDENTIALS"]
	require.FileExists(t, key, "the GCP key file is written to a temporary state directory")
	r.stop()
	card, err := r.wait(t)
	requireFails(t, card, err, "containment_not_declared")
	require.NoDirExists(t, filepath.Dir(key), "the temporary state directory is removed on exit")
}

func TestSimServeLiveFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		opts simServeOptions
		want string
	}{
		{simServeOptions{Scenario: "aws-ec2-cryptomining", Speed: 0.5}, "--speed 0.5: expected a number from 1"},
		{simServeOptions{Scenario: "aws-ec2-cryptomining", Speed: 7200}, "--speed 7200"},
		{simServeOptions{Scenario: "no-such-scenario", Speed: 60}, "no-such-scenario"},
		{simServeOptions{Scenario: "aws-ec2-cryptomining", Speed: 60, cloudSet: true, Cloud: "gcp"}, "drop --cloud"},
		{simServeOptions{Cloud: "aws", Scorecard: "card.json", Speed: defaultSpeed}, "--scorecard needs --scenario"},
		{simServeOptions{Cloud: "aws", Speed: 600}, "--speed needs --scenario"},
		{simServeOptions{Cloud: "aws", Speed: defaultSpeed, Addr: "0.0.0.0:0"}, "add --insecure-bind"},
	} {
		o := tc.opts
		if o.Addr == "" {
			o.Addr = "127.0.0.1:0"
		}
		o.LogLevel, o.Out, o.ErrOut = "info", io.Discard, io.Discard
		err := runSimServe(context.Background(), &o)
		var ue *usageError
		require.ErrorAs(t, err, &ue, tc.want)
		require.Contains(t, err.Error(), tc.want)
	}
}

// requireAuditExported checks --audit-dir holds the cloud's audit records in
// its export format.
func requireAuditExported(t *testing.T, r *liveRun, cloud string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(r.auditDir, cloud, cloud+"_*"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "%s audit records are exported to --audit-dir", cloud)
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	switch cloud {
	case "aws", "azure":
		key := map[string]string{"aws": "Records", "azure": "records"}[cloud]
		var doc map[string][]map[string]any
		require.NoError(t, json.Unmarshal(data, &doc))
		require.NotEmpty(t, doc[key], "a %s file holds {%q: [...]}", cloud, key)
	case "gcp":
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		require.NotEmpty(t, lines)
		for _, l := range lines {
			var entry struct {
				LogName      string         `json:"logName"`
				ProtoPayload map[string]any `json:"protoPayload"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &entry), "one LogEntry a line: %s", l)
			require.NotEmpty(t, entry.LogName)
		}
	}
}

// vmFinding waits for a pushed finding about a VM and returns the VM as
// the cloud names it (GCP also reports the stolen service account).
func vmFinding(t *testing.T, r *liveRun, cloud string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, b := range r.hooks.all() {
			if res := findingResource(t, cloud, b); strings.Contains(res, "nstances/") || strings.Contains(res, "virtualMachines/") {
				return res
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no finding about a VM pushed within 2 minutes")
	return ""
}

// firedrill respond, run against a live scenario with nothing but the
// export lines, acts on the scenario's clock and cuts every way in on
// Azure and GCP, as the boto3 example does on AWS.
func TestSimServeLiveFiredrillRespondContains(t *testing.T) {
	for _, tc := range []struct{ cloud, scenario string }{
		{"azure", "azure-vm-cryptomining"},
		{"gcp", "gcp-vm-cryptomining"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			clearCloudEnv(t)
			r := startLive(t, tc.scenario, 60)
			for k, v := range r.vars {
				t.Setenv(k, v)
			}
			res := vmFinding(t, r, tc.cloud)
			_, stderr, code := cli(t, "respond", "--cloud", tc.cloud, "--resource", res, "--execute", "--yes")
			require.Equal(t, 0, code, "respond: %s", stderr)
			require.Contains(t, stderr, "acting on its clock")
			r.stop() // as SIGTERM: the attacker tries every way in, then the scorecard
			card, _ := r.wait(t)
			require.True(t, card.Containment.Verified, "%v", card.Containment.Reasons)
			require.True(t, card.Eradication.Verified, "%+v", card.Eradication.Items)
			for _, p := range card.Containment.Paths {
				require.Equal(t, "cut", p.Status, "%s", p.ID)
			}
		})
	}
}

// A finding is pushed when the simulated cloud raises it, not later: the
// EventBridge event of the first GuardDuty finding arrives at the wall time
// its createdAt falls on the scenario's clock, and createdAt lies within the
// scenario's modelled GuardDuty latency (3 to 12 minutes) after the miner
// starts (3 minutes in) plus CloudTrail/DNS log delivery.
func TestSimServeLivePushArrivesWhenTheFindingIsRaised(t *testing.T) {
	const speed = 60
	r := startLive(t, "aws-ec2-cryptomining", speed)
	var first []byte
	select {
	case first = <-r.hooks.first:
	case <-time.After(2 * time.Minute):
		t.Fatal("no finding pushed within 2 minutes")
	}
	r.hooks.mu.Lock()
	arrived := r.hooks.at[0]
	r.hooks.mu.Unlock()
	var ev struct {
		Time   time.Time `json:"time"`
		Detail struct {
			CreatedAt time.Time `json:"createdAt"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(first, &ev))
	intoIncident := ev.Detail.CreatedAt.Sub(runner.Start)
	require.GreaterOrEqual(t, intoIncident, 6*time.Minute, "miner at 3m + GuardDuty's 3m minimum")
	require.LessOrEqual(t, intoIncident, 20*time.Minute, "miner at 3m + 12m maximum + log delivery")
	require.Equal(t, ev.Detail.CreatedAt.Unix(), ev.Time.Unix(), "the event is the finding's creation")
	wantWall := time.Duration(float64(intoIncident) / speed)
	gotWall := arrived.Sub(r.startedAt)
	// startedAt is taken before the server seeds and starts its clock.
	require.InDelta(t, wantWall.Seconds(), gotWall.Seconds(), 3, "pushed at %s of wall time, raised at %s", gotWall, wantWall)
}
