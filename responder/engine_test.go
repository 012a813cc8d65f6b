package responder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/timeline"
)

// stubProvider has no capabilities: engine tests use test actions only.
type stubProvider struct{}

func (stubProvider) Cloud() string            { return "aws" }
func (stubProvider) Target() providers.Target { return providers.Target{Cloud: "aws"} }

// testCalls counts test_wait attempts per step, to assert idempotency and
// drive "fail the first n attempts".
var testCalls = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// resetCalls forgets counts, so -count=N runs start clean.
func resetCalls() {
	testCalls.Lock()
	defer testCalls.Unlock()
	testCalls.n = map[string]int{}
}

func calls(key string) int {
	testCalls.Lock()
	defer testCalls.Unlock()
	return testCalls.n[key]
}

func init() {
	// test_wait sleeps d on the clock, fails its first fail attempts, and
	// sets facts.<fact> = value when asked.
	action.Register(ActionSpec{Name: "test_wait", Params: []string{"d", "fail", "fact", "value"}, Run: func(ctx context.Context, x *action.Run) (map[string]any, error) {
		key := x.CaseID() + "/" + x.StepID
		testCalls.Lock()
		testCalls.n[key]++
		n := testCalls.n[key]
		testCalls.Unlock()
		d, err := x.Params.Duration("d", 0)
		if err != nil {
			return nil, err
		}
		if err := x.Sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("waiting %v: %w", d, err)
		}
		fail, err := x.Params.Int("fail", 0)
		if err != nil {
			return nil, err
		}
		if n <= fail {
			return nil, fmt.Errorf("attempt %d: %w", n, providers.ErrThrottled)
		}
		if f := x.Params.String("fact", ""); f != "" {
			x.SetFact(f, x.Params["value"])
		}
		return map[string]any{"attempt": n}, nil
	}})
}

var epoch = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func testPlaybook(t *testing.T, body string) *Playbook {
	t.Helper()
	pb, err := LoadPlaybook("test.yaml", []byte(`id: test
title: Test
clouds: [aws]
severity: high
triggers: {alarms: [{metric: CPUUtilization, threshold: 95}]}
`+body))
	require.NoError(t, err)
	return pb
}

// respond runs one case on a fresh virtual clock and returns it with the
// timeline.
func respond(t *testing.T, pb *Playbook, caseID string, opts func(*Options)) (*Case, []timeline.Event, error) {
	t.Helper()
	resetCalls()
	clk := clock.NewVirtual(epoch, 1)
	tl := timeline.New(clk)
	o := Options{Clock: clk, Timeline: tl, Provider: stubProvider{}, Playbook: pb, CaseID: caseID}
	if opts != nil {
		opts(&o)
	}
	r, err := New(o)
	require.NoError(t, err)
	var c *Case
	var rerr error
	clk.Go(context.Background(), "test", func(ctx context.Context) {
		c, rerr = r.Respond(ctx, Trigger{Kind: TriggerManual, Type: "test", Resource: providers.Ref("aws", providers.KindVM, "i-1")})
	})
	require.NoError(t, clk.Run(context.Background()))
	return c, tl.Events(), rerr
}

func find(events []timeline.Event, kind, name string) timeline.Event {
	for _, e := range events {
		if e.Kind == kind && e.Name == name {
			return e
		}
	}
	return timeline.Event{}
}

func all(events []timeline.Event, kind, name string) []timeline.Event {
	var out []timeline.Event
	for _, e := range events {
		if e.Kind == kind && (name == "" || e.Name == name) {
			out = append(out, e)
		}
	}
	return out
}

func TestIndependentStepsOverlapInVirtualTime(t *testing.T) {
	pb := testPlaybook(t, `
evidence:
  - {id: a, action: test_wait, params: {d: 10s}}
  - {id: b, action: test_wait, params: {d: 10s}}
containment:
  - {id: c, action: test_wait, needs: [a, b], params: {d: 5s}}
`)
	c, ev, err := respond(t, pb, "overlap", nil)
	require.NoError(t, err)
	require.Equal(t, epoch, find(ev, timeline.StepStart, "a").At)
	require.Equal(t, epoch, find(ev, timeline.StepStart, "b").At, "b must not wait for a")
	require.Equal(t, epoch.Add(10*time.Second), find(ev, timeline.StepStart, "c").At)
	require.Equal(t, epoch.Add(15*time.Second), find(ev, timeline.StepFinish, "c").At, "two 10s steps in parallel then 5s: 15s, not 25s")
	contained := find(ev, timeline.Contained, "")
	require.Equal(t, epoch.Add(15*time.Second), contained.At)
	require.True(t, c.Contained)
	require.Equal(t, "evidence", find(ev, timeline.StepStart, "a").Detail["phase"])
	require.Equal(t, "containment", find(ev, timeline.StepStart, "c").Detail["phase"])
}

func TestStepTimeoutIsChargedOnTheClock(t *testing.T) {
	pb := testPlaybook(t, `
containment:
  - {id: slow, action: test_wait, timeout: 1m, params: {d: 10m}}
  - {id: after_slow, action: test_wait, needs: [slow]}
  - {id: anyway, action: test_wait, after: [slow]}
`)
	c, ev, err := respond(t, pb, "timeout", nil)
	require.ErrorContains(t, err, "1 step(s) failed: slow")
	e := find(ev, timeline.StepError, "slow")
	require.Equal(t, epoch.Add(time.Minute), e.At)
	require.Contains(t, e.Detail["error"], "timed out after 1m0s")
	skip := find(ev, timeline.StepSkip, "after_slow")
	require.Equal(t, "needs slow, which failed", skip.Detail["reason"])
	require.NotZero(t, find(ev, timeline.StepFinish, "anyway").Seq, "after: runs even when the earlier step failed")
	require.False(t, c.Contained)
	require.Zero(t, find(ev, timeline.Contained, "").Seq)
	require.Contains(t, find(ev, timeline.StepError, "containment").Message, "slow")
}

func TestRetriesBackOffOnTheClock(t *testing.T) {
	pb := testPlaybook(t, `
containment:
  - {id: flaky, action: test_wait, retries: 3, backoff: 10s, params: {fail: 2}}
`)
	c, ev, err := respond(t, pb, "retry", nil)
	require.NoError(t, err)
	retries := all(ev, timeline.StepRetry, "flaky")
	require.Len(t, retries, 2)
	require.Equal(t, epoch, retries[0].At)
	require.Equal(t, "10s", retries[0].Detail["backoff"])
	require.Equal(t, epoch.Add(10*time.Second), retries[1].At)
	require.Equal(t, "20s", retries[1].Detail["backoff"], "backoff doubles")
	fin := find(ev, timeline.StepFinish, "flaky")
	require.Equal(t, epoch.Add(30*time.Second), fin.At)
	require.Equal(t, "3", fin.Detail["attempts"])
	rec, _ := c.Step("flaky")
	require.Equal(t, 3, rec.Attempts)

	// Retries run out: the step fails after retries+1 attempts.
	pb = testPlaybook(t, `
containment:
  - {id: flaky, action: test_wait, retries: 1, backoff: 1s, params: {fail: 5}}
`)
	_, ev, err = respond(t, pb, "retry-out", nil)
	require.Error(t, err)
	require.Len(t, all(ev, timeline.StepRetry, "flaky"), 1)
	require.Equal(t, "2", find(ev, timeline.StepError, "flaky").Detail["attempts"])
}

func TestRerunOfACaseDoesNotRepeatDoneSteps(t *testing.T) {
	pb := testPlaybook(t, `
evidence:
  - {id: one, action: test_wait, params: {d: 1s, fact: marker, value: set-by-one}}
containment:
  - {id: two, action: test_wait, needs: [one]}
`)
	resetCalls()
	clk := clock.NewVirtual(epoch, 1)
	tl := timeline.New(clk)
	j := NewMemoryJournal()
	r, err := New(Options{Clock: clk, Timeline: tl, Provider: stubProvider{}, Playbook: pb, CaseID: "rerun", Journal: j})
	require.NoError(t, err)
	var first, second *Case
	clk.Go(context.Background(), "test", func(ctx context.Context) {
		trig := Trigger{Kind: TriggerManual, Type: "test", Resource: providers.Ref("aws", providers.KindVM, "i-1")}
		first, _ = r.Respond(ctx, trig)
		second, _ = r.Respond(ctx, trig)
	})
	require.NoError(t, clk.Run(context.Background()))
	require.Equal(t, 1, calls("rerun/one"), "a journaled step is not repeated")
	require.Equal(t, 1, calls("rerun/two"))
	require.Equal(t, 2, j.Len())
	require.Equal(t, first.ID, second.ID)
	require.Len(t, all(tl.Events(), timeline.StepSkip, ""), 2)
	require.Equal(t, "journal", find(tl.Events(), timeline.StepSkip, "one").Detail["reason"])
	require.Equal(t, "set-by-one", second.Facts()["marker"], "facts set by a journaled step are restored")
	rec, _ := second.Step("one")
	require.True(t, rec.FromJournal)
}

const decisionBody = `
evidence:
  - {id: facts, action: test_wait, params: {fact: env, value: prod}}
outcomes: [{id: stop}, {id: keep}]
decisions:
  - {id: prod, question: Is it production?, predicate: 'facts.env == "prod"', yes: keep, no: stop}
containment:
  - {id: halt, action: test_wait, needs: [facts], when: stop}
  - {id: watch, action: test_wait, needs: [facts], when: [keep]}
`

func TestDecisionTreeChoosesStepsWithCEL(t *testing.T) {
	c, ev, err := respond(t, testPlaybook(t, decisionBody), "decide", nil)
	require.NoError(t, err)
	d := find(ev, timeline.Decision, "prod")
	require.Equal(t, "yes", d.Detail["answer"])
	require.Equal(t, `facts.env == "prod"`, d.Detail["predicate"])
	require.Equal(t, `{"env":"prod"}`, d.Detail["inputs"])
	require.Equal(t, "keep", d.Detail["next"])
	require.Equal(t, "keep", c.Outcome)
	require.NotZero(t, find(ev, timeline.StepFinish, "watch").Seq)
	require.Contains(t, find(ev, timeline.StepSkip, "halt").Detail["reason"], `decision outcome is "keep"`)
	require.Less(t, find(ev, timeline.StepFinish, "facts").Seq, d.Seq, "the decision sees the facts gathered before it")
	require.True(t, c.Contained, "steps skipped by the outcome do not block containment")

	// The other branch.
	other := testPlaybook(t, decisionBody)
	other.Evidence[0].Params["value"] = "dev"
	c, ev, err = respond(t, other, "decide-dev", nil)
	require.NoError(t, err)
	require.Equal(t, "no", find(ev, timeline.Decision, "prod").Detail["answer"])
	require.Equal(t, "stop", c.Outcome)
	require.NotZero(t, find(ev, timeline.StepFinish, "halt").Seq)
}

type humanDecider struct{ answer bool }

func (h humanDecider) Decide(_ context.Context, req DecisionRequest) (bool, error) {
	if req.Node.ID != "prod" {
		return false, errors.New("unexpected node")
	}
	return h.answer, nil
}

func TestDeciderOverridesThePredicate(t *testing.T) {
	c, ev, err := respond(t, testPlaybook(t, decisionBody), "human", func(o *Options) { o.Decider = humanDecider{answer: false} })
	require.NoError(t, err)
	require.Equal(t, "stop", c.Outcome, "the human said no although the predicate says yes")
	require.Equal(t, "decider", find(ev, timeline.Decision, "prod").Detail["decided_by"])
}

func TestDecisionOnMissingFactIsRecordedNotGuessed(t *testing.T) {
	pb := testPlaybook(t, decisionBody)
	pb.Evidence[0].Params["fact"] = "other"
	c, ev, err := respond(t, pb, "missing", nil)
	require.NoError(t, err)
	d := find(ev, timeline.Decision, "prod")
	require.Equal(t, timeline.Failed, d.Outcome)
	require.Contains(t, d.Detail["error"], "no such key")
	require.Equal(t, `{"env":null}`, d.Detail["inputs"])
	require.Equal(t, "", c.Outcome)
	require.Len(t, all(ev, timeline.StepSkip, ""), 2, "both outcome-dependent steps are skipped")
}

func TestReadPathsListsTheFactsAPredicateUses(t *testing.T) {
	_, paths, err := compilePredicate(`has(facts.instance.tags.env) && facts.instance.tags["env"] == "prod" || facts.instance.scaling_group != ""`)
	require.NoError(t, err)
	var got []string
	for _, p := range paths {
		got = append(got, p.String())
	}
	require.Equal(t, []string{"instance.scaling_group", "instance.tags.env"}, got)
	facts := map[string]any{"instance": map[string]any{"tags": map[string]any{"env": "prod"}, "scaling_group": "web"}}
	in := decisionInputs(facts, paths)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(in), &m))
	require.Equal(t, map[string]any{"instance.scaling_group": "web", "instance.tags.env": "prod"}, m)
}

func TestCommunicationPlanRendersTemplates(t *testing.T) {
	pb := testPlaybook(t, `
containment:
  - {id: c, action: test_wait, params: {d: 2m}}
  - {id: page, action: notify, params: {template: hi, roles: [lead]}}
communication:
  roles: [{id: lead, name: Lead, contacts: [lead@example.com], channel: "#ir"}]
  notify:
    - {severity: high, on: ack, roles: [lead], within: 1m, template: hi}
    - {severity: high, on: contained, roles: [lead], within: 1m, template: done}
    - {severity: critical, on: ack, roles: [lead], template: hi}
  templates:
    - {id: hi, subject: '{{.CaseID}} opened on {{.Resource}}', body: 'trigger {{.Trigger.Type}}'}
    - {id: done, subject: '{{.CaseID}} contained', body: 'outcome {{.Outcome}}'}
`)
	c, ev, err := respond(t, pb, "IR-7", nil)
	require.NoError(t, err)
	notes := all(ev, timeline.Notify, "")
	require.Len(t, notes, 3, "the critical-only rule does not fire for a high case")
	require.Equal(t, "IR-7 opened on i-1\ntrigger test", notes[0].Message)
	require.Equal(t, "false", notes[0].Detail["late"])
	require.Equal(t, "lead@example.com", notes[0].Detail["contacts"])
	var done timeline.Event
	for _, n := range notes {
		if n.Name == "done" {
			done = n
		}
	}
	require.Equal(t, "true", done.Detail["late"], "contained after 2m, the rule wanted 1m")
	require.Len(t, c.Notifications(), 3)
}

func TestDryRunPlansAndCallsNothing(t *testing.T) {
	pb, _ := PlaybookByID("ec2-cryptomining")
	c, ev, err := respond(t, pb, "dry", func(o *Options) { o.DryRun = true; o.Provider = nil })
	require.NoError(t, err)
	require.NotEmpty(t, c.Plan)
	require.Len(t, all(ev, timeline.StepSkip, ""), len(pb.Steps()))
	require.Zero(t, len(all(ev, timeline.StepStart, "")))
	order := map[string]int{}
	for _, p := range c.Plan {
		order[p.ID] = p.Order
	}
	require.Less(t, order["protect_termination"], order["capture_memory"])
	require.Less(t, order["capture_memory"], order["isolate"])
	require.Less(t, order["detach_identity"], order["revoke_sessions"])
	require.Less(t, order["stop"], order["q_role_calls"], "investigation follows containment")
}
