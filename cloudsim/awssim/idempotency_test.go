package awssim_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// dropFirstResponse delivers the first request whose body contains match
// to the server, then loses the response as a reset connection would: the
// call happened, the client does not know it, and the SDK retries it.
type dropFirstResponse struct {
	next    http.RoundTripper
	match   []byte
	mu      sync.Mutex
	dropped int
	sent    int
}

func (d *dropFirstResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := d.next.RoundTrip(r)
	if err != nil || !bytes.Contains(body, d.match) {
		return resp, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent++
	if d.dropped > 0 {
		return resp, nil
	}
	d.dropped++
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

func (f *ec2Fixture) instanceCount() int {
	n := 0
	f.locked(func(w *world.World) { n = w.Instances.Len() })
	return n
}

// TestRunInstancesHonoursClientToken: RunInstances is idempotent on its
// ClientToken ("Ensuring idempotency in Amazon EC2 API requests"). A retry
// after a dropped connection (the SDK resends the token it filled in)
// answers the same reservation and instances and launches nothing more; the
// same token with other parameters is IdempotentParameterMismatch.
func TestRunInstancesHonoursClientToken(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	in := func(typ ec2types.InstanceType, token string) *ec2.RunInstancesInput {
		r := &ec2.RunInstancesInput{ImageId: aws.String("ami-0abc"), InstanceType: typ,
			MinCount: aws.Int32(2), MaxCount: aws.Int32(2), SubnetId: aws.String(f.subnet), SecurityGroupIds: []string{f.appSG}}
		if token != "" {
			r.ClientToken = aws.String(token)
		}
		return r
	}

	t.Run("a retry after a dropped connection launches once", func(t *testing.T) {
		before := f.instanceCount()
		drop := &dropFirstResponse{next: http.DefaultTransport, match: []byte("Action=RunInstances")}
		cfg := f.env.Admin.Copy()
		cfg.HTTPClient = &http.Client{Transport: drop}
		out, err := ec2.NewFromConfig(cfg).RunInstances(ctx, in(ec2types.InstanceTypeC54xlarge, ""))
		require.NoError(t, err, "the SDK retried the reset connection")
		require.Equal(t, 2, drop.sent, "the call reached the simulator twice")
		require.Len(t, out.Instances, 2)
		require.Equal(t, before+2, f.instanceCount(), "launched once")
		f.locked(func(w *world.World) {
			for _, i := range out.Instances {
				require.NotNil(t, w.Instances.Lookup(aws.ToString(i.InstanceId)))
			}
		})
	})

	t.Run("same token, same parameters: same reservation", func(t *testing.T) {
		first, err := f.ec2.RunInstances(ctx, in(ec2types.InstanceTypeT3Micro, "launch-1"))
		require.NoError(t, err)
		n := f.instanceCount()
		again, err := f.ec2.RunInstances(ctx, in(ec2types.InstanceTypeT3Micro, "launch-1"))
		require.NoError(t, err)
		require.Equal(t, n, f.instanceCount())
		require.Equal(t, aws.ToString(first.ReservationId), aws.ToString(again.ReservationId))
		require.Equal(t, ids(first.Instances), ids(again.Instances))
	})

	t.Run("same token, other parameters: IdempotentParameterMismatch", func(t *testing.T) {
		n := f.instanceCount()
		_, err := f.ec2.RunInstances(ctx, in(ec2types.InstanceTypeP316xlarge, "launch-1"))
		require.Equal(t, "IdempotentParameterMismatch", ec2ErrCode(err))
		require.Equal(t, n, f.instanceCount())
	})

	t.Run("other tokens launch", func(t *testing.T) {
		n := f.instanceCount()
		_, err := f.ec2.RunInstances(ctx, in(ec2types.InstanceTypeT3Micro, "launch-2"))
		require.NoError(t, err)
		_, err = f.ec2.RunInstances(ctx, in(ec2types.InstanceTypeT3Micro, ""))
		require.NoError(t, err)
		require.Equal(t, n+4, f.instanceCount())
	})
}

func ids(insts []ec2types.Instance) []string {
	var out []string
	for _, i := range insts {
		out = append(out, aws.ToString(i.InstanceId))
	}
	return out
}

// TestCreateDetectorHonoursClientToken: GuardDuty's CreateDetector takes an
// idempotency token too; its retry answers the detector it created rather
// than "a detector already exists".
func TestCreateDetectorHonoursClientToken(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	drop := &dropFirstResponse{next: http.DefaultTransport, match: []byte("clientToken")}
	cfg := f.env.Admin.Copy()
	cfg.HTTPClient = &http.Client{Transport: drop}
	out, err := guardduty.NewFromConfig(cfg).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	require.NoError(t, err, "the retry answers the first call's detector")
	require.Equal(t, 2, drop.sent)
	f.locked(func(w *world.World) {
		require.Equal(t, 1, awsworld.Of(w).Detectors.Len())
		require.NotNil(t, awsworld.Of(w).Detectors.Lookup(aws.ToString(out.DetectorId)))
	})
	_, err = guardduty.NewFromConfig(f.env.Admin).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	require.Equal(t, "BadRequestException", errCode(err), "a new create still finds the detector")
}
