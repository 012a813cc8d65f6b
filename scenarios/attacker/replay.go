package attacker

import (
	"context"
	"slices"
	"sort"

	"github.com/firedrill-ir/firedrill/timeline"
)

// Verification by replay: a hand-picked probe per credential is not enough
// (a deny on ec2:* alone would silence a describe probe while the stolen
// session can still create access keys), so every distinct operation a
// credential succeeded with is tried again at each keep-access round and
// at the final check, in a form that changes nothing: a dry run where the
// API has one, the same read, or the same call on a resource that does not
// exist, whose "not found" proves the call was authorized.

// use is one operation a credential succeeded with.
type use struct {
	Cloud, Credential, Operation string
	// Resource and Region are those of the first success, for replays
	// that read the same thing again.
	Resource, Region string
}

// ReplayFunc tries an operation again with a credential without changing
// anything; authorized reports whether the cloud let the call through
// (an error such as "not found" can still mean authorized), code is the
// cloud's answer.
type ReplayFunc func(ctx context.Context, env *Env, u use, c *Credential) (authorized bool, code string, err error)

var replays = map[string]map[string]ReplayFunc{}

// registerReplay adds the replay of an operation in a cloud.
func registerReplay(cloud, operation string, f ReplayFunc) {
	if replays[cloud] == nil {
		replays[cloud] = map[string]ReplayFunc{}
	}
	replays[cloud][operation] = f
}

// replayable reports whether a recorded action is one to replay later: a
// success with a credential the attacker holds (not on-host effects, not
// calls that need no permission, not the replays themselves).
func replayable(a Action, outcome string) bool {
	switch {
	case outcome != timeline.Succeeded, a.Credential == "", a.Credential == "host", a.Credential == "none",
		a.Detail["requires_permission"] == "false", a.Detail["replay"] == "true":
		return false
	}
	return replays[a.Cloud][a.Operation] != nil
}

// noteUse remembers a replayable success, once per (cloud, credential,
// operation).
func (e *Env) noteUse(a Action) {
	for _, u := range e.State.used {
		if u.Cloud == a.Cloud && u.Credential == a.Credential && u.Operation == a.Operation {
			return
		}
	}
	e.State.used = append(e.State.used, use{Cloud: a.Cloud, Credential: a.Credential, Operation: a.Operation,
		Resource: a.Resource, Region: a.Detail["region"]})
}

// replay tries again every operation the credential labelled cred
// succeeded with in cloud; it reports whether any is still authorized.
func (e *Env) replay(ctx context.Context, cloud, cred string, c *Credential, r Round) bool {
	var uses []use
	for _, u := range e.State.used {
		if u.Cloud == cloud && u.Credential == cred &&
			!e.State.probed[use{Cloud: u.Cloud, Credential: u.Credential, Operation: u.Operation}] {
			uses = append(uses, u)
		}
	}
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].Operation < uses[j].Operation })
	open := false
	for _, u := range uses {
		authorized, code, err := replays[cloud][u.Operation](ctx, e, u, c)
		outcome, _ := Classify(err)
		if authorized {
			outcome = timeline.Succeeded
		}
		d := map[string]string{"operation": u.Operation, "correlation_id": e.CorrelationID, "credential": cred,
			"replay": "true"}
		if code != "" {
			d["error_code"] = code
		}
		if u.Region != "" {
			d["region"] = u.Region
		}
		if r.Final {
			d["check"] = "final"
		}
		msg := ""
		if err != nil {
			msg = ErrorMessage(err)
		}
		e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.AttackAction, Name: r.Technique,
			Cloud: cloud, Resource: u.Resource, Outcome: outcome, Message: msg, Detail: d})
		open = open || outcome == timeline.Succeeded
	}
	return open
}

// replayAuthorized reads a replay's answer: nil, or one of the codes that
// mean the call got past authorization, is authorized.
func replayAuthorized(err error, authorizedCodes ...string) (bool, string, error) {
	if err == nil {
		return true, "", nil
	}
	_, code := Classify(err)
	return slices.Contains(authorizedCodes, code), code, err
}
