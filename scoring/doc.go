// Package scoring turns one drill timeline into a scorecard: timing metrics,
// the detections, the outcome of each control on the ladder, the evidence and
// whether it was captured before it was lost, whether every way in the
// attacker held was cut (by its own probes) and what it planted removed,
// the harm the response did to legitimate work, the SLO results, a verdict
// and a 0-100 score. The responder's belief (its contained event) is
// reported beside the facts, never trusted.
//
// Scoring is a pure function of the timeline (plus the scenario's SLO and the
// list of enabled controls): it reads no clock and no cloud, so the same
// timeline always gives the same scorecard, byte for byte. Everything scoring
// needs must therefore be an event; the contract is in package timeline.
//
// # Timing metrics
//
// All durations are reported as seconds (floats, rounded to the millisecond);
// a metric whose events never happened is null, never zero.
//
//   - attack start: the first attack.step or attack.action, whichever is
//     earlier (a technique normally opens with its step event).
//   - mttd_seconds: attack start → the first alert at or after it.
//   - mtta_seconds: first alert → the first responder.ack (clamped at 0: an
//     ack stamped before the alert is counted as immediate).
//   - mttc_seconds: first alert → effective containment (below): when the
//     attacker's probes found every way in cut.
//   - declared_mttc_seconds: first alert → the responder's first contained
//     event; containment_gap_seconds: effective minus declared (positive
//     when the responder declared before its changes took effect: IAM
//     propagation, a tracked flow, a key it had not found yet).
//   - attack_to_containment_seconds: attack start → effective containment.
//   - telemetry_latency_seconds: first attack.action → telemetry.first_log.
//   - detection_overhead_seconds: telemetry.first_log → first alert, the part
//     of MTTD that detection logic adds over the cloud's logging floor.
//
// # Clouds
//
// Every event carries the cloud it happened in. clouds_detail scores each
// cloud of the drill on its own events alone, with the same formula: its
// own attack start, first alert, acknowledgement and declaration, the
// attacker's probes and actions in that cloud, and that cloud's final
// check. With several clouds the top-level result is the incident as a
// whole: detection and acknowledgement are the first in any cloud, the
// incident is contained when its last cloud is (mttc runs to that, and is
// null while any cloud has a way in open), containment and eradication
// are verified only if they are in every cloud, and the paths, items,
// counts, reasons and notes are the clouds' together, prefixed with their
// cloud. With one cloud the top level equals its single detail.
//
// # Outcome ladder
//
// Each control gets one outcome, weighted Prevented 1.0 > Responded 0.9 >
// Detected 0.8 > Alerted 0.6 > Logged 0.3 > Missed 0:
//
//   - guardrails (the environment's preventive controls: IAM, SCPs):
//     Prevented when at least one attack action was denied and none succeeded
//     before the first contained event (or at all, without containment);
//     Missed otherwise.
//   - each detector control (guardduty, cpu-alarm, cost-anomaly, …: those
//     that alerted plus those the scenario enabled): Detected when it alerted
//     and a responder acknowledged the case at or after that alert (the alert
//     was actioned), Alerted when it alerted but nobody acknowledged after it,
//     Logged when it did not alert but audit records of the attack were
//     delivered (telemetry.first_log), Missed otherwise.
//   - responder: Responded when containment was verified; Detected when it
//     acknowledged a case but containment was not verified; Alerted when
//     alerts existed but it never acknowledged; Logged when only audit
//     records existed; Missed otherwise.
//
// The overall outcome is the best outcome across controls.
//
// # Evidence before loss
//
// Each evidence event becomes an item; its source (Detail "source": the
// volume of a snapshot, the instance of a memory image) is looked up in the
// resource.lost events. An item is before_loss when its source was never lost
// or was lost after the capture (timeline order).
//
// A lost resource of the incident that no preserving evidence names as its
// source is listed as an item of its own, with before_loss false and lost_at
// set, so that lost evidence is visible: a volume is preserved by a
// disk_snapshot, an instance by a memory image (a process list does not
// preserve an instance); other kinds by any evidence. The incident's
// resources are those alerts point at, the attacker compromised on the host
// (attack.action with credential host or none), the responder contained or
// took evidence from, and volumes of those instances (resource.lost Detail
// "instance"); a healthy instance scaled in once the compromised one was
// protected is not evidence loss.
//
// # Containment: the attacker's ways in
//
// The attacker keeps a list of ways in (access paths): stolen credentials,
// credentials it planted, its network flows, backdoor rules, policy grants
// and compute it launched. Its keep-access rounds probe each one
// (attack.path events, Outcome succeeded = open, denied = cut, failed =
// inconclusive: the cloud answered with throttling or a server error, which
// says nothing about the path and changes nothing), replaying
// harmlessly every operation a credential ever succeeded with, and the
// runner's final check probes them once more (the verified event, Detail
// "paths": each path's final status and, for planted things, whether the
// artifact still exists).
//
// containment.paths lists each way in with its probes, its last open
// probe (last_success_at) and the first probe of the run of cut answers
// that lasted to the end (cut_at). Effective containment is the latest
// cut_at, or the attacker's last successful action that needed a
// permission if that came later (it had access then, whatever the probes
// said); without probe history it is the declaration. It is null while a
// way in is open at the final check.
//
// Verified is true only when the responder declared containment, the final
// check was recorded and readable, and it found every path cut. Each open
// path fails it with path_open:<kind>. The attacker's actions after the
// declaration are counted (attacker_actions_after_containment, of which
// persistence_actions_after_containment used planted credentials, and
// by_operation); calls that need no permission (Detail
// requires_permission=false, e.g. sts:GetCallerIdentity) are counted apart
// and prove nothing. Successes after the declaration are a note, not a
// failure: they moved effective containment, which the SLO judges.
//
// A final check recorded before access paths existed (counts only) stands
// in with one open path per kind it counted.
//
// # Eradication
//
// Each path with an artifact (an access key, a network rule, a VM) is an
// eradication item: removed, present, or unknown when the cloud's check
// cannot tell (not implemented, said so rather than passed). Eradication
// is verified when the final check reported artifacts and none is present
// or unknown; cost_usd is what the attacker's launched compute cost until
// removed. A scenario with expect.eradication: out_of_scope still reports
// the items, but they decide neither the verdict nor the score.
//
// # Collateral
//
// Background activity is the legitimate work a response must keep
// working: users and CI principals calling with their own credentials, the
// clients of a web tier connecting to the healthy members of its VM group,
// the group's other VMs calling with their own identity. Each round is a
// background.action event per principal that acted (Detail principal, and
// Detail activity naming the activity's own principal when a member of a
// group acted for it). A round the cloud refused is denied: an API
// refusal, a connection no healthy member would accept (the web tier is
// down for its users), a metadata service that no longer hands a member a
// credential. Failed rounds (errors, throttling) are not the response's
// doing and do not count.
//
// A round denied after the responder's first step, by a principal whose
// work had succeeded before, is collateral damage: counted in
// collateral.denied_legitimate_actions (principals lists who) and
// penalised, never a verdict. collateral.activities groups the damage by
// activity (cloud, activity technique, principal): denied, the principals
// denied, first_denied_at and last_denied_at, and restored_at, when every
// principal it broke that kept acting had worked again (a VM that left its
// group is not waited for; if none kept acting, the activity's next
// success), null while one was still denied at the activity's last round.
//
// # Verdict
//
// verdict is the first that applies of not_contained (containment not
// verified), contained_not_eradicated (eradication in scope and not
// verified), slo_missed (a target missed), else pass; pass is verdict ==
// pass and decides the CLI's exit code (3 otherwise).
//
// # Reason codes
//
// reason_codes (top level, per cloud, and in containment and eradication)
// say why a drill did not pass as stable strings a CI gate can match,
// where reasons are prose that may be reworded (reasons.go has the list):
// containment failures (containment_not_declared, containment_not_checked,
// containment_check_unreadable, path_open:<kind>); with containment not
// verified, which ways the attacker's successes after the declaration went
// through (flow_used_after_containment, stolen_credential_used_after_containment,
// planted_credential_used_after_containment,
// other_access_used_after_containment); with eradication in scope,
// artifact_present:<kind>, artifact_unknown:<kind> or
// eradication_not_checked; then slo_missed:<target> for each SLO target
// missed. With several clouds the incident's codes are each cloud's
// prefixed with the cloud ("azure:path_open:network_flow"), then its own
// SLO codes. An empty list means the drill passed.
//
// # SLO profiles
//
// Targets compare detect = MTTD, investigate = MTTA, contain = MTTC:
//
//   - "1-10-60" (CrowdStrike, the default when none is given): 1 min, 10 min,
//     60 min.
//   - "5/5/5" (Sysdig): 5 s, 5 min, 5 min. The 5 s detect target is below
//     the floor of cloud telemetry (CloudTrail delivers in about 5 minutes,
//     GuardDuty publishes findings in about 5 minutes), so it cannot be met by
//     a cloud-log-based detector; the scorecard says so instead of hiding it.
//   - "custom": the scenario's own MTTD/MTTA/MTTC; a zero duration means no
//     target for that phase.
//
// A target whose metric is null (never detected, never contained) is not met.
//
// # Score (0-100)
//
//	score = ( 35 × containment verified (1 or 0)
//	        + 10 × eradication items removed / items (10 with none; 0 unchecked)
//	        + 15 × evidence items captured before loss / all evidence items
//	        + 20 × SLO targets met / SLO targets
//	        + 20 × ladder weight of the overall outcome ) × scale
//	      − 2 per step.error event (at most 10)
//	      − 10 when containment was declared but not verified
//	      − 1 per denied legitimate action (at most 20)
//
// where scale is 100/90 when eradication is out of scope (its term is not
// on offer) and 1 otherwise; clamped to [0, 100] and rounded to the nearest
// integer. Without evidence items the evidence term is 0; retries are not
// penalised (they are how a responder copes with a throttling cloud). The
// collateral penalty grows with the damage over the range drills produce
// (a group's members are each counted, every round they are denied), so
// that denying everything for everyone costs more than the blast radius a
// cloud's own revocation method has.
package scoring
