package runner

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// conditionPoll is how often a `when` step re-checks its condition.
const conditionPoll = 30 * time.Second

// startAttack starts one actor per attack step. A step that waits for
// another waits on that step's wait group, so `after` chains keep the
// scenario's order whatever the techniques' durations.
func (d *drill) startAttack(ctx context.Context) {
	reg := attacker.Builtin()
	done := map[string]clock.WaitGroup{}
	for _, st := range d.sc.Steps {
		wg := d.clk.NewWaitGroup()
		wg.Add(1)
		done[st.ID] = wg
	}
	for _, st := range d.sc.Steps {
		tech, ok := reg.Get(st.Technique)
		if !ok { // the loader validated this; a mismatch is a bug
			d.err = fmt.Errorf("step %s: unknown technique %q", st.ID, st.Technique)
			done[st.ID].Done()
			continue
		}
		d.clk.Go(ctx, "attack:"+st.ID, func(ctx context.Context) {
			defer done[st.ID].Done()
			if err := d.waitForStep(ctx, st, done); err != nil {
				return // the drill ended first
			}
			if !d.clk.Now().Before(d.end) {
				return
			}
			d.atk.StartStep(st.ID, tech)
			// Techniques record their own actions and outcomes; an error
			// here only means the step did not get what it wanted, which
			// the timeline already says.
			_ = tech.Run(ctx, d.atk, tech.Resolve(st.Params))
		})
	}
}

// waitForStep blocks until the step may start.
func (d *drill) waitForStep(ctx context.Context, st scenarios.Step, done map[string]clock.WaitGroup) error {
	switch {
	case st.At != nil:
		return d.sleepUntil(ctx, Start.Add(*st.At))
	case st.After != "":
		if err := done[st.After].Wait(ctx); err != nil {
			return fmt.Errorf("waiting for step %s: %w", st.After, err)
		}
	case st.When != "":
		for !d.condition(st.When) {
			if !d.clk.Now().Add(conditionPoll).Before(d.end) {
				return fmt.Errorf("condition %s never held", st.When)
			}
			if err := d.clk.Sleep(ctx, conditionPoll); err != nil {
				return fmt.Errorf("waiting for condition %s: %w", st.When, err)
			}
		}
	}
	if st.Delay > 0 {
		return d.clk.Sleep(ctx, st.Delay)
	}
	return nil
}

// condition evaluates a scenario condition against the timeline.
func (d *drill) condition(name string) bool {
	kind := map[string]string{"first_alert": timeline.Alert, "responder_ack": timeline.Ack, "contained": timeline.Contained}[name]
	for _, e := range d.tl.Events() {
		if e.Kind == kind && !e.At.After(d.clk.Now()) {
			return true
		}
	}
	return false
}

// startBackground starts one actor per background activity: legitimate
// users making ordinary calls at a jittered cadence from their own
// addresses, so the audit log is not only the attack.
func (d *drill) startBackground(ctx context.Context) {
	for i, b := range d.sc.Dynamics.Background {
		name := fmt.Sprintf("background:%d:%s", i, b.User)
		d.w.Lock()
		var key [2]string
		for _, k := range d.w.UserKeysLocked(b.User) {
			if k.Status == "Active" {
				key = [2]string{k.ID, k.Secret}
				break
			}
		}
		d.w.Unlock()
		if key[0] == "" {
			continue // a user without an active key makes no calls
		}
		cfg := d.sdkConfig(key[0], key[1], b.SourceIP, "firedrill-background", "background/"+b.User)
		rng := d.clk.Rand(name)
		d.clk.Go(ctx, name, func(ctx context.Context) {
			// Users do not all start on the hour.
			next := d.clk.Now().Add(time.Duration(rng.Int64N(int64(b.Every))))
			for n := 0; next.Before(d.end); n++ {
				if err := d.sleepUntil(ctx, next); err != nil {
					return
				}
				for _, call := range b.Calls {
					backgroundCall(ctx, cfg, call, b.User, n)
				}
				// ±20% jitter around the cadence.
				jitter := time.Duration((rng.Float64()*0.4 - 0.2) * float64(b.Every))
				next = next.Add(b.Every + jitter)
			}
		})
	}
}

// sdkConfig is an SDK configuration for a legitimate principal.
func (d *drill) sdkConfig(akid, secret, sourceIP, ua, actor string) aws.Config {
	return aws.Config{
		Region:       d.env.Region,
		BaseEndpoint: aws.String(d.url),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		HTTPClient: &http.Client{Transport: &simhttp.Mark{SourceIP: sourceIP, UserAgent: ua, Actor: actor,
			Next: &simhttp.Transport{Base: d.base, Clock: d.clk, Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}}},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// backgroundCall makes one ordinary call. Errors are ignored: background
// users are not scored, they only leave their records in the audit log.
func backgroundCall(ctx context.Context, cfg aws.Config, call, user string, n int) {
	s3c := func() *s3.Client { return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }) }
	switch call {
	case "ec2:DescribeInstances":
		_, _ = ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	case "ec2:DescribeSecurityGroups":
		_, _ = ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	case "s3:ListBuckets":
		_, _ = s3c().ListBuckets(ctx, &s3.ListBucketsInput{})
	case "s3:GetObject":
		out, err := s3c().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("firedrill-demo-app-data"), Key: aws.String("config/app.json")})
		if err == nil {
			_ = out.Body.Close()
		}
	case "s3:PutObject":
		_, _ = s3c().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("firedrill-demo-app-data"),
			Key:  aws.String(fmt.Sprintf("deploy/%s-%03d.json", user, n)),
			Body: bytes.NewReader([]byte(fmt.Sprintf(`{"build":%d}`, n)))})
	case "sts:GetCallerIdentity":
		_, _ = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	case "iam:ListUsers":
		_, _ = iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{})
	}
}
