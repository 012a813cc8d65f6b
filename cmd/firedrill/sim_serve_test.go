package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/internal/reqbody"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSim runs 'sim serve' in-process on a free port and returns the
// variables it exported.
func startSim(t *testing.T, seed uint64) (map[string]string, *syncBuffer) {
	return startSimCloud(t, "aws", seed)
}

func startSimCloud(t *testing.T, cloud string, seed uint64) (map[string]string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runSimServe(ctx, &simServeOptions{Cloud: cloud, Addr: "127.0.0.1:0", Seed: seed, LogLevel: "info",
			StateDir: t.TempDir(), Out: out, ErrOut: logs, ready: func(a map[string]string) { ready <- a }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("sim serve exited early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("sim serve did not start within 30s")
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
	}
	want := map[string][]string{
		"aws":   {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"},
		"azure": {"FIREDRILL_AZURE_ENDPOINT", "FIREDRILL_AZURE_CA", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID"},
		"gcp":   {"FIREDRILL_GCP_ENDPOINT", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"},
	}
	clouds := []string{cloud}
	if cloud == "all" {
		clouds = simClouds
	}
	for _, c := range clouds {
		for _, k := range want[c] {
			require.NotEmpty(t, vars[k], "sim serve must export %s; stdout was:\n%s", k, out.String())
		}
	}
	return vars, logs
}

func TestSimServeExportsWorkingAdminCredentials(t *testing.T) {
	vars, logs := startSim(t, 7)
	cfg := aws.Config{Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL"]),
		HTTPClient:  &http.Client{Transport: reqbody.Buffered(nil, 0)},
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], "")}
	ctx := context.Background()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Contains(t, *id.Arn, ":user/")

	out, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	require.NoError(t, err)
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	require.GreaterOrEqual(t, n, 3, "the demo environment has an autoscaling group of instances")
	require.Contains(t, logs.String(), "op=DescribeInstances", "requests are logged on stderr")
}

func TestSimServeIsDeterministicPerSeed(t *testing.T) {
	a, _ := startSim(t, 99)
	b, _ := startSim(t, 99)
	c, _ := startSim(t, 100)
	require.Equal(t, a["AWS_ACCESS_KEY_ID"], b["AWS_ACCESS_KEY_ID"])
	require.Equal(t, a["AWS_SECRET_ACCESS_KEY"], b["AWS_SECRET_ACCESS_KEY"])
	require.NotEqual(t, a["AWS_ACCESS_KEY_ID"], c["AWS_ACCESS_KEY_ID"])
}

func TestSimServeRejectsUnknownCloud(t *testing.T) {
	err := runSimServe(context.Background(), &simServeOptions{Cloud: "oracle", Addr: "127.0.0.1:0", LogLevel: "info"})
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), `"oracle"`)
	err = runSimServe(context.Background(), &simServeOptions{Cloud: "aws", Addr: "localhost", LogLevel: "info"})
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "expected host:port")
	err = runSimServe(context.Background(), &simServeOptions{Cloud: "aws", Addr: "127.0.0.1:0", LogLevel: "info", Faults: "errors=200%"})
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "--faults:")
}

// TestAWSCLIAgainstSimServe drives the real AWS CLI against the simulator.
// CI installs the CLI (.ci/run) and sets CI, which makes the test mandatory.
func TestAWSCLIAgainstSimServe(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the AWS CLI is required in CI (apt-get install awscli): %v", err)
		}
		t.Skip("AWS CLI not installed; CI installs it and runs this test")
	}
	vars, _ := startSim(t, 3)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"--endpoint-url", vars["AWS_ENDPOINT_URL"], "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+vars["AWS_ACCESS_KEY_ID"],
			"AWS_SECRET_ACCESS_KEY="+vars["AWS_SECRET_ACCESS_KEY"], "AWS_DEFAULT_REGION="+vars["AWS_REGION"],
			"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "aws %s: %s", strings.Join(args, " "), stderr.String())
		m := map[string]any{}
		if len(bytes.TrimSpace(out)) > 0 && out[0] == '{' {
			require.NoError(t, json.Unmarshal(out, &m), "aws %s printed %s", strings.Join(args, " "), out)
		} else {
			m["text"] = string(out)
		}
		return m
	}
	require.Contains(t, run("sts", "get-caller-identity")["Arn"], ":user/")
	require.NotEmpty(t, run("ec2", "describe-instances")["Reservations"])
	require.NotEmpty(t, run("ec2", "describe-security-groups")["SecurityGroups"])
	require.NotEmpty(t, run("iam", "list-users")["Users"])
	require.Contains(t, run("s3", "ls")["text"], "firedrill-demo")
	require.Contains(t, run("cloudtrail", "lookup-events"), "Events")
	require.NotEmpty(t, run("guardduty", "list-detectors")["DetectorIds"])
	require.NotEmpty(t, run("autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"])
	require.Len(t, run("cloudwatch", "describe-alarms")["MetricAlarms"], 3, "one CPU alarm per demo instance")
	require.NotEmpty(t, run("ssm", "describe-instance-information")["InstanceInformationList"])
}
