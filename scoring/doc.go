// Package scoring turns one drill timeline into a scorecard: timing metrics,
// the detections, the outcome of each control on the ladder, the evidence and
// whether it was captured before it was lost, whether containment held
// against the attacker, the SLO results and a 0-100 score.
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
//   - mttc_seconds: first alert → the first contained event.
//   - attack_to_containment_seconds: attack start → the first contained.
//   - telemetry_latency_seconds: first attack.action → telemetry.first_log.
//   - detection_overhead_seconds: telemetry.first_log → first alert, the part
//     of MTTD that detection logic adds over the cloud's logging floor.
//
// # Clouds
//
// Every event carries the cloud it happened in. clouds_detail scores each
// cloud of the drill on its own events alone, with the same formula: its
// own attack start, first alert, acknowledgement and containment, the
// attacker's actions in that cloud after that cloud was contained, and that
// cloud's final check. With several clouds the top-level result is the
// incident as a whole: detection and acknowledgement are the first in any
// cloud, the incident is contained when its last cloud is (mttc runs to
// that), containment is verified only if it is in every cloud, and the
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
// # Containment verification
//
// Verified is true only when all of these hold: a contained event exists; no
// counted attack.action after the first contained event succeeded; the last
// verified event (the runner's end-of-drill check) exists and reports
// surviving_flows = 0 and valid_stolen_credentials = 0. Reasons lists every
// condition that failed.
//
// Not counted against containment, but reported: calls that need no
// permission (Detail requires_permission=false, e.g. sts:GetCallerIdentity,
// which no policy can deny), and use of persistence credentials the attacker
// created for itself (Detail credential=persistence-key): removing those is
// eradication, found by the investigation, and shows up in Notes together
// with the check's valid_persistence_keys and attacker_instances_running.
// Unpermissioned calls are ignored by the guardrails control too.
//
// # Reason codes
//
// reason_codes (top level, per cloud, and in containment) say why a drill
// did not pass as stable strings a CI gate can match, where reasons are
// prose that may be reworded (reasons.go has the list): the containment
// failures (containment_not_declared, containment_not_checked,
// containment_check_unreadable, actions_after_containment, flow_survived,
// stolen_credential_valid), which ways in the attacker's successful
// actions after containment went through (flow_used_after_containment:
// on-host over a connection isolation left up;
// stolen_credential_used_after_containment: a stolen credential never
// cut; other_access_used_after_containment), then slo_missed:<target> for
// each SLO target missed. With several clouds the incident's codes are
// each cloud's prefixed with the cloud ("azure:flow_survived"), then its
// own SLO codes. An empty list means the drill passed.
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
//	score = 40 × containment verified (1 or 0)
//	      + 20 × evidence items captured before loss / all evidence items
//	      + 20 × SLO targets met / SLO targets
//	      + 20 × ladder weight of the overall outcome
//	      − 2 per step.error event (at most 10)
//	      − 10 when containment was declared but not verified
//
// clamped to [0, 100] and rounded to the nearest integer. Without evidence
// items the evidence term is 0; retries are not penalised (they are how a
// responder copes with a throttling cloud).
package scoring
